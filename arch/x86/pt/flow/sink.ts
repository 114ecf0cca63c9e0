// What the flow decoder reports: straight-line runs of instructions (no per-instruction work),
// events as ptxed shows them, and errors as libipt names them.

import type { DecodeError } from '../../../common/errors.js';

/** Event kinds (ptxed's bracketed lines). */
export const FlowEvent = {
  ENABLED: 0,
  DISABLED: 1,
  RESUMED: 2,
  INTERRUPT: 3,
  PAGING: 4,
  VMCS: 5,
  OVERFLOW: 6,
  EXEC_MODE: 7,
  TSX: 8,
  STOPPED: 9,
  EXSTOP: 10,
  PTWRITE: 11,
} as const;

export interface FlowSink {
  /**
   * `count` instructions run straight from `start` (in section `section` of the decoder's image,
   * mode `bitness`); the last one ends at `end`. `ctx` is the context id the decoder was given
   * for the current CR3 and mode; `time` the last TSC (0 before any).
   */
  range(start: number, end: number, count: number, ctx: number, section: number, bitness: number, time: number): void;
  /**
   * An event at `ip` (NaN when none). `value`: PAGING the CR3, VMCS the base, EXEC_MODE the
   * bitness, TSX 0 commit / 1 begin / 2 abort, PTWRITE the payload (low 53 bits).
   */
  event(kind: number, ip: number, value: number): void;
  /** A decode error; `ip` is NaN when there is none. */
  error(e: DecodeError & { ip: number }): void;
}

/** Names of FlowEvent kinds, index = kind. */
export const FLOW_EVENT_NAMES = [
  'enabled', 'disabled', 'resumed', 'interrupt', 'paging', 'vmcs', 'overflow', 'exec_mode', 'tsx', 'stopped', 'exstop', 'ptwrite',
] as const;
