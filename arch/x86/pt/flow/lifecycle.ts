// The flow decoder's coarse lifecycle as a declared state machine. Only transitions between
// these states go through it (a sync, an enable or disable, an overflow, an error); the work per
// packet and per instruction is plain code in the decoder.
//
//   unsynced  --SYNC_ENABLED-->  tracing      --DISABLE-->  disabled
//   unsynced  --SYNC_DISABLED--> disabled     --ENABLE-->   tracing
//   unsynced/tracing/disabled --OVERFLOW--> overflow   --RESUME--> tracing, --OVERFLOW_DISABLED--> disabled
//   any --ERROR--> unsynced (resync at the next PSB); any --END--> ended

import { createMachine } from '@xstate/fsm';

export type FlowState = 'unsynced' | 'disabled' | 'tracing' | 'overflow' | 'ended';
export type FlowLifecycleEvent = 'SYNC_ENABLED' | 'SYNC_DISABLED' | 'ENABLE' | 'DISABLE' | 'OVERFLOW' | 'RESUME' | 'OVERFLOW_DISABLED' | 'ERROR' | 'END';

export const flowLifecycle = createMachine<object, { type: FlowLifecycleEvent }>({
  id: 'pt-flow',
  initial: 'unsynced',
  states: {
    unsynced: { on: { SYNC_ENABLED: 'tracing', SYNC_DISABLED: 'disabled', OVERFLOW: 'overflow', ERROR: 'unsynced', END: 'ended' } },
    disabled: { on: { ENABLE: 'tracing', OVERFLOW: 'overflow', ERROR: 'unsynced', END: 'ended', SYNC_ENABLED: 'tracing', SYNC_DISABLED: 'disabled' } },
    tracing: { on: { DISABLE: 'disabled', OVERFLOW: 'overflow', ERROR: 'unsynced', END: 'ended', SYNC_ENABLED: 'tracing', SYNC_DISABLED: 'disabled' } },
    overflow: { on: { RESUME: 'tracing', OVERFLOW_DISABLED: 'disabled', ERROR: 'unsynced', END: 'ended' } },
    ended: {},
  },
});

/** The state after `event` in `state`; throws on a transition the machine does not declare (a decoder bug). */
export function flowTransition(state: FlowState, event: FlowLifecycleEvent): FlowState {
  const next = flowLifecycle.transition(state, event);
  if (!next.changed && !(flowLifecycle.config.states[state]?.on as Record<string, unknown> | undefined)?.[event]) {
    throw new Error(`pt flow lifecycle: no transition for ${event} in state ${state}`);
  }
  return next.value as FlowState;
}
