import type { Addr } from './address.js';

/** What a flow decoder emits: one straight-line run of instructions, [start, end). */
export interface InstrRange {
  start: Addr;
  /** Exclusive: the address after the last instruction. */
  end: Addr;
  /** Instructions in the run. */
  count: number;
  /** Interned ExecContext id. */
  ctx: number;
  /** Time of the run's first instruction (architecture time units, e.g. TSC ticks). */
  time: number;
  /** Trace segment (stretch between two sync points) the run was decoded from. */
  segment: number;
}
