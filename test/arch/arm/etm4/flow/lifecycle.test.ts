// The flow decoder's lifecycle machine: every declared transition, and refusal of the rest.
import t from 'tap';
import { etmFlowLifecycle, etmFlowTransition, type EtmFlowEvent, type EtmFlowState } from '../../../../../arch/arm/etm4/flow/lifecycle.js';

const STATES: EtmFlowState[] = ['NO_SYNC', 'WAIT_SYNC', 'WAIT_TINFO', 'DECODE'];
const EVENTS: EtmFlowEvent[] = ['RESET', 'NO_SYNC_SENT', 'ASYNC', 'TINFO'];
// [state][event] → next state, or undefined when the transition is not allowed.
const TABLE: Record<EtmFlowState, Partial<Record<EtmFlowEvent, EtmFlowState>>> = {
  NO_SYNC: { RESET: 'NO_SYNC', NO_SYNC_SENT: 'WAIT_SYNC' },
  WAIT_SYNC: { RESET: 'NO_SYNC', ASYNC: 'WAIT_TINFO' },
  WAIT_TINFO: { RESET: 'NO_SYNC', ASYNC: 'WAIT_TINFO', TINFO: 'DECODE' },
  DECODE: { RESET: 'NO_SYNC', ASYNC: 'DECODE', TINFO: 'DECODE' },
};

t.test('starts in NO_SYNC', async (t) => {
  t.equal(etmFlowLifecycle.initialState.value, 'NO_SYNC');
});

t.test('transition table', async (t) => {
  for (const s of STATES) {
    for (const ev of EVENTS) {
      const want = TABLE[s][ev];
      if (want === undefined) t.throws(() => etmFlowTransition(s, ev), `${s} --${ev}--> refused`);
      else t.equal(etmFlowTransition(s, ev), want, `${s} --${ev}--> ${want}`);
    }
  }
});
