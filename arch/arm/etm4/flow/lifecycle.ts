// The flow decoder's lifecycle as a declared state machine, as OpenCSD's TrcPktDecodeEtmV4I
// runs it: NO_SYNC (report why sync was lost) → WAIT_SYNC (ignore packets until an A-sync) →
// WAIT_TINFO (ignore packets until a Trace Info, the decoder sync point) → DECODE. Only these
// transitions go through the machine; the per-packet work is plain code in the decoder.

import { createMachine } from '@xstate/fsm';

export type EtmFlowState = 'NO_SYNC' | 'WAIT_SYNC' | 'WAIT_TINFO' | 'DECODE';
/** RESET: start, bad packet, overflow, discard; NO_SYNC_SENT: the NO_SYNC element is out. */
export type EtmFlowEvent = 'RESET' | 'NO_SYNC_SENT' | 'ASYNC' | 'TINFO';

export const etmFlowLifecycle = createMachine<object, { type: EtmFlowEvent }>({
  id: 'etm-flow',
  initial: 'NO_SYNC',
  states: {
    NO_SYNC: { on: { NO_SYNC_SENT: 'WAIT_SYNC', RESET: 'NO_SYNC' } },
    WAIT_SYNC: { on: { ASYNC: 'WAIT_TINFO', RESET: 'NO_SYNC' } },
    WAIT_TINFO: { on: { TINFO: 'DECODE', ASYNC: 'WAIT_TINFO', RESET: 'NO_SYNC' } },
    DECODE: { on: { RESET: 'NO_SYNC', ASYNC: 'DECODE', TINFO: 'DECODE' } },
  },
});

/** The state after `event`; throws on a transition the machine does not declare (a decoder bug). */
export function etmFlowTransition(state: EtmFlowState, event: EtmFlowEvent): EtmFlowState {
  const on = etmFlowLifecycle.config.states[state]?.on as Record<string, unknown> | undefined;
  if (on?.[event] === undefined) throw new Error(`etm flow lifecycle: no transition for ${event} in state ${state}`);
  return etmFlowLifecycle.transition(state, event).value as EtmFlowState;
}
