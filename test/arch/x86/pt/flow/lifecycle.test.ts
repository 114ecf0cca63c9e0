// The flow decoder's lifecycle machine, as a table: every state × event, the declared next state
// or a refusal (a decoder bug if it ever happens).

import t from 'tap';
import { type FlowLifecycleEvent, type FlowState, flowLifecycle, flowTransition } from '../../../../../arch/x86/pt/flow/lifecycle.js';

const STATES: FlowState[] = ['unsynced', 'disabled', 'tracing', 'overflow', 'ended'];
const EVENTS: FlowLifecycleEvent[] = ['SYNC_ENABLED', 'SYNC_DISABLED', 'ENABLE', 'DISABLE', 'OVERFLOW', 'RESUME', 'OVERFLOW_DISABLED', 'ERROR', 'END'];

// Expected next state; '-' = not allowed.
const TABLE: Record<FlowState, Record<FlowLifecycleEvent, FlowState | '-'>> = {
  unsynced: { SYNC_ENABLED: 'tracing', SYNC_DISABLED: 'disabled', ENABLE: '-', DISABLE: '-', OVERFLOW: 'overflow', RESUME: '-', OVERFLOW_DISABLED: '-', ERROR: 'unsynced', END: 'ended' },
  disabled: { SYNC_ENABLED: 'tracing', SYNC_DISABLED: 'disabled', ENABLE: 'tracing', DISABLE: '-', OVERFLOW: 'overflow', RESUME: '-', OVERFLOW_DISABLED: '-', ERROR: 'unsynced', END: 'ended' },
  tracing: { SYNC_ENABLED: 'tracing', SYNC_DISABLED: 'disabled', ENABLE: '-', DISABLE: 'disabled', OVERFLOW: 'overflow', RESUME: '-', OVERFLOW_DISABLED: '-', ERROR: 'unsynced', END: 'ended' },
  overflow: { SYNC_ENABLED: '-', SYNC_DISABLED: '-', ENABLE: '-', DISABLE: '-', OVERFLOW: '-', RESUME: 'tracing', OVERFLOW_DISABLED: 'disabled', ERROR: 'unsynced', END: 'ended' },
  ended: { SYNC_ENABLED: '-', SYNC_DISABLED: '-', ENABLE: '-', DISABLE: '-', OVERFLOW: '-', RESUME: '-', OVERFLOW_DISABLED: '-', ERROR: '-', END: '-' },
};

t.test('every state × event', async (t) => {
  t.equal(flowLifecycle.initialState.value, 'unsynced');
  for (const s of STATES) {
    for (const e of EVENTS) {
      const want = TABLE[s][e];
      if (want === '-') t.throws(() => flowTransition(s, e), /no transition/, `${s} --${e}--> refused`);
      else t.equal(flowTransition(s, e), want, `${s} --${e}--> ${want}`);
    }
  }
});
