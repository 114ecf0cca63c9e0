// What the flow decoder reports: straight-line runs of instructions (no per-instruction work),
// events as libipt reports them (ptxed shows them in brackets), and errors as libipt names them.

import type { DecodeError } from '../../../common/errors.js';

/** Event kinds: libipt's pt_event types (2.0.5), and the Event Trace ones of libipt 2.1. */
export const FlowEvent = {
  /** Tracing enabled at `ip` (TIP.PGE, or the FUP of the first PSB+ as a status update). */
  ENABLED: 0,
  /** Tracing disabled. Sync (TIP.PGD): `ip` is the TIP.PGD's IP (NaN when suppressed). With EV_ASYNC (FUP + TIP.PGD): `ip` is where (the FUP), `extra` the TIP.PGD's IP. */
  DISABLED: 1,
  /** Tracing enabled again at the IP where it was disabled (libipt's `resumed`). */
  RESUMED: 2,
  /** Asynchronous branch (FUP + TIP): from `ip` to `extra` (NaN when suppressed). */
  INTERRUPT: 3,
  /** PIP: `value` the CR3; EV_NR in flags for VMX non-root; EV_ASYNC with `ip` where it applies. */
  PAGING: 4,
  /** VMCS: `value` the VMCS base; EV_ASYNC with `ip` where it applies. */
  VMCS: 5,
  /** OVF: flow resumes at `ip`, or tracing stays disabled (NaN). */
  OVERFLOW: 6,
  /** MODE.Exec: `value` the bitness (16, 32, 64; 0 unknown), effective at `ip`. */
  EXEC_MODE: 7,
  /** MODE.TSX at `ip`: `value` 0 commit / 1 begin / 2 abort. */
  TSX: 8,
  /** TraceStop. */
  STOPPED: 9,
  /** EXSTOP at `ip` (NaN when the packet has no FUP). */
  EXSTOP: 10,
  /** PTWRITE at `ip`: payload low 32 bits in `value`, high 32 bits in `extra`. */
  PTWRITE: 11,
  /** MWAIT at `ip`: hints (EAX) in `value`, extensions (ECX) in `extra`. */
  MWAIT: 12,
  /** PWRE: `value` = state | sub-state << 4 | hw << 8 (libipt's resolved thread C-state). */
  PWRE: 13,
  /** PWRX: `value` = last | deepest << 4 | wake << 8 (wake bits: 1 interrupt, 4 store, 8 autonomous). */
  PWRX: 14,
  /** A timing update near `ip` (libipt's enable_tick_events). */
  TICK: 15,
  /** CBR: `value` the core:bus ratio. */
  CBR: 16,
  /** MNT: payload low 32 bits in `value`, high 32 bits in `extra`. */
  MNT: 17,
  // Event Trace (CFE / EVD, libipt 2.1+).
  /** MODE.Exec IF (with the `iflags` option): `value` 1 interrupts enabled / 0 disabled, at `ip`. */
  IFLAGS: 18,
  /** CFE INTR: `value` the vector, `extra` CR2 from an EVD page-fault address (NaN: none), at `ip`. */
  CFE_INTERRUPT: 19,
  /** CFE IRET at `ip`. */
  IRET: 20,
  /** CFE SMI at `ip`. */
  SMI: 21,
  /** CFE RSM at `ip`. */
  RSM: 22,
  /** CFE SIPI: `value` the vector. */
  SIPI: 23,
  /** CFE INIT at `ip`. */
  INIT: 24,
  /** CFE VMENTRY at `ip`. */
  VMENTRY: 25,
  /** CFE VMEXIT at `ip`: `value` the exit reason (EVD vmxr, NaN none), `extra` the qualification (EVD vmxq, NaN none). */
  VMEXIT: 26,
  /** CFE SHUTDOWN at `ip`. */
  SHUTDOWN: 27,
  /** CFE UINTR: `value` the vector, at `ip`. */
  UINTR: 28,
  /** CFE UIRET at `ip`. */
  UIRET: 29,
  /** The trace ended while tracing was enabled, at `ip` (libipt's pts_eos status; ptxed prints `[end of trace]`). */
  END_OF_TRACE: 30,
} as const;

// Event flags (the `flags` argument of FlowSink.event).
/** A status update (from PSB+): libipt sets pt_event.status_update; ptxed does not print these. */
export const EV_STATUS_UPDATE = 1;
/** The asynchronous variant (libipt's ptev_async_disabled / async_paging / async_vmcs). */
export const EV_ASYNC = 2;
/** PAGING: the CPU was in VMX non-root operation (PIP.NR). */
export const EV_NR = 4;
/** The event has a wall-clock time (a TSC was seen); `time` is valid. */
export const EV_HAS_TIME = 8;

export interface FlowSink {
  /**
   * `count` instructions run straight from `start` (in section `section` of the decoder's image,
   * mode `bitness`); the last one ends at `end`. `ctx` is the context id the decoder was given
   * for the current CR3 and mode; `time` the time libipt's query decoder preserved at its last
   * query (pt_insn_time() for every instruction of the run but the last, whose own query reads
   * on: it has the decoder's `clock.queryTime` at the next report). `speculative`: inside a
   * TSX transaction (ptxed prints `? ` before these instructions); undefined = false.
   */
  range(start: number, end: number, count: number, ctx: number, section: number, bitness: number, time: number, speculative?: boolean): void;
  /**
   * An event at `ip` (NaN when none or suppressed); what `value` and `extra` hold per kind is
   * documented at FlowEvent. `flags`: EV_* bits. `time`: the time when the event was reported.
   * The extra arguments may be left out by implementers that do not need them.
   */
  event(kind: number, ip: number, value: number, extra?: number, flags?: number, time?: number): void;
  /**
   * A decode error; `ip` is NaN when there is none; `sync`: it came from synchronising (ptxed's
   * `sync error`); `idle`: it came from asking for the next instruction while tracing was
   * disabled (libipt's pt_insn_next leaves the last instruction in place then; ptxed prints it);
   * `fetch`: it came from fetching the next event (libipt's pt_insn_event / pt_blk_event fails
   * then, and ptxed does not print the event that call was reporting).
   */
  error(e: DecodeError & { ip: number; sync?: boolean; idle?: boolean; fetch?: boolean }): void;
}

/** Names of FlowEvent kinds, index = kind. */
export const FLOW_EVENT_NAMES = [
  'enabled', 'disabled', 'resumed', 'interrupt', 'paging', 'vmcs', 'overflow', 'exec_mode', 'tsx', 'stopped', 'exstop', 'ptwrite',
  'mwait', 'pwre', 'pwrx', 'tick', 'cbr', 'mnt', 'iflags', 'cfe_interrupt', 'iret', 'smi', 'rsm', 'sipi', 'init', 'vmentry',
  'vmexit', 'shutdown', 'uintr', 'uiret', 'end_of_trace',
] as const;
