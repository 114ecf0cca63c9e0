// The PT flow decoder's state and what every part of it shares: the flow state, the events
// waiting for their place in the flow and their delivery, errors and the lifecycle. The parts
// build on it: flow-psb.ts (PSB+, OVF, timing packets), flow-reader.ts (the read-ahead),
// flow-walker.ts (the walk through the code), flow-decoder.ts (lifecycle, queries, events in
// the flow).

import { X86Class, isFarClass } from '../../isa/classify.js';
import { PtPacketDecoder } from '../decoder.js';
import { PtLastIp } from '../last-ip.js';
import {
  EXM_PTW, EXT_PTW, EXT_TMA, EXT_TNT_64, IP_PAYLOAD_SIZE, OPC_EXT, OPC_FUP, OPC_MODE, OPC_MTC, OPC_PAD, OPC_TIP,
  OPC_TIP_PGD, OPC_TIP_PGE, OPC_TSC, OPM_TIP, OPC_CYC, OPM_CYC,
} from '../opcodes.js';
import type { PtPacket } from '../packet.js';
import type { PtBlockCache } from './block-cache.js';
import { flowErrorMessage } from './errors.js';
import type { PtImage } from './image.js';
import { type FlowState, flowTransition } from './lifecycle.js';
import { FlowReturnStack } from './return-stack.js';
import { type PtAddrFilter, type PtCpu, type PtErrata, NO_ERRATA, cpuErrata, hasAddrFilter } from './errata.js';
import { BIND_IP, BIND_NOW, BIND_PIP, BIND_PTWRITE, BIND_VMCS, FlowEventQueue } from './event-queue.js';
import { EV_HAS_TIME, EV_NR, FlowEvent, type FlowSink } from './sink.js';
import { PtClock, type PtTimeConfig } from './time.js';

// What the read-ahead stopped at.
export const P_TNT = 1;
export const P_TIP = 2;
export const P_PGE = 3;
export const P_PGD = 4;
/** A complete FUP … TIP / TIP.PGD asynchronous event. */
export const P_ASYNC = 5;
/** An OVF, resolved: flow resumes at peekIp, or tracing is disabled (peekIp NaN). */
export const P_OVF = 6;
export const P_END = 7;
export const P_ERROR = 8;
/** A FUP that events (MODE.TSX, EXSTOP, MWAIT, CFE) bind to: the walk stops at its IP (asyncFrom). */
export const P_BOUND = 9;

/** fail(): an error in the flow; a failed sync; an error that ends decoding. */
export const FAIL_GO_ON = 0;
export const FAIL_SYNC = 1;
export const FAIL_END = 2;
/** An error in the flow met while tracing is disabled (no_enable): reported as `idle`. */
export const FAIL_IDLE = 3;
/** An error fetching the next event (a bad event packet, an event in the wrong state): reported as `fetch`. */
export const FAIL_FETCH = 4;

/** Queue binding for events that wait for their FUP (internal to the read-ahead). */
export const BIND_FUP = 7;

export interface PtFlowOptions {
  /** Continue at the next PSB after an error (ptxed --resync-on-error). */
  resyncOnError?: boolean;
  /** Timing configuration (ptxed --mtc-freq, --nom-freq, --cpuid-0x15.*). */
  time?: PtTimeConfig;
  /** Context id for a CR3 / NR / bitness, given in ranges; called only when one of them changes. */
  contextOf?: (cr3: number, nr: boolean, bitness: number) => number;
  /** The CPU the trace was recorded on: switches on libipt 2.0.5's errata workarounds (ptxed --cpu). */
  cpu?: PtCpu;
  /** IA32_RTIT_CTL.ADDRn_CFG and IA32_RTIT_ADDRn_A/B (ptxed --filter:addrN_*); used with SKL014. */
  filter?: PtAddrFilter;
  /** Timing updates as TICK events at branches (libipt's enable_tick_events, ptxed --event:tick). */
  tick?: boolean;
  /** MODE.Exec IF bit as IFLAGS events (Event Trace CPUs, ptxed 2.1 --event:iflags). */
  iflags?: boolean;
  /** Read TRIG packets (libipt 2.2). Off by default: 0xd9 is an unknown opcode, as for libipt 2.0.5. */
  trig?: boolean;
  /**
   * Follow libipt's block decoder where it differs from its instruction decoder (ptxed's default,
   * --block-decoder): erratum BDM64 is checked at the end of a block only, not after the direct
   * calls and jumps a block goes through.
   */
  blockDecoder?: boolean;
}

export interface PtFlowStats {
  instructions: number;
  ranges: number;
  errors: number;
  /** Runs classified with iced-x86 (code seen for the first time). */
  fills: number;
}

export abstract class PtFlowCore {
  readonly stats: PtFlowStats = { instructions: 0, ranges: 0, errors: 0, fills: 0 };
  state: FlowState = 'unsynced';

  protected trace: Uint8Array = new Uint8Array(0);
  protected pk!: PtPacketDecoder;
  /** Stream offset of the packet decoder's buffer start. */
  protected base = 0;
  protected readonly lastIp = new PtLastIp();
  protected readonly stack = new FlowReturnStack();
  protected readonly resync: boolean;
  protected readonly contextOf: (cr3: number, nr: boolean, bitness: number) => number;
  /** The errata workarounds in effect (all off without `cpu`). */
  readonly errata: Readonly<PtErrata>;
  protected readonly filter: PtAddrFilter | undefined;
  protected readonly tick: boolean;
  /** PtFlowOptions.blockDecoder. */
  protected readonly blockDecoder: boolean;
  protected readonly iflags: boolean;
  protected readonly trig: boolean;

  // Flow state.
  protected ip = 0;
  protected enabled = false;
  protected cr3 = Number.NaN;
  protected nr = false;
  protected bitness: 16 | 32 | 64 = 64;
  protected ctx = 0;
  /** The current VMCS base (NaN: unknown); selects memory with the CR3. */
  protected vmcs = Number.NaN;
  /** Inside a TSX transaction: ranges are speculative. */
  protected speculative = false;
  /** The last MODE.Exec IF bit (-1: none yet), for IFLAGS. */
  protected iflag = -1;
  /** Where flow would resume after the last disable (libipt's decoder IP), for `resumed`. */
  protected resumeIp = Number.NaN;
  /** Events read ahead, waiting for their place in the flow. */
  protected readonly queue = new FlowEventQueue();
  /** Queued events waiting for their FUP. */
  protected fupWaiting = 0;
  /** Time of the last event reported (libipt compares ticks with it). */
  protected lastEventTime = 0;
  /** Event Trace: EVD data for the next CFE (NaN: none). */
  protected evdCr2 = Number.NaN;
  protected evdVmxq = Number.NaN;
  protected evdVmxr = Number.NaN;
  /** Time from the timing packets read so far (libipt's query-decoder time). */
  readonly clock: PtClock;
  /** MODE.Exec seen: applied at the next TIP / TIP.PGE (0: none), with its IF bit. */
  protected pendingMode = 0;
  protected pendingIflag = 0;
  /** The FUP that CFE events wait for starts an asynchronous branch. */
  protected cfeAsync = false;
  /** A later PSB+ disagreed with the flow: bad_status_update there, at this offset (-1: none). */
  protected statusErrorOff = -1;

  // TNT cache: `tntCount` bits, the oldest at bit tntCount-1 of (tntHi:tntLo).
  protected tntLo = 0;
  protected tntHi = 0;
  protected tntCount = 0;

  // The packet the read-ahead stopped at.
  protected peek = 0;
  protected peekOff = 0;
  protected peekIp = 0;
  protected peekLo = 0;
  protected peekHi = 0;
  protected peekBits = 0;
  /** Offset after the peek packet. */
  protected peekEnd = 0;
  /** P_ASYNC: the FUP's IP; peekIp holds the TIP's (NaN when suppressed); asyncDisable for TIP.PGD. */
  protected asyncFrom = Number.NaN;
  /** A FUP while tracing whose TIP did not follow at once: the next TIP (or TIP.PGD) completes it. */
  protected fupPending = Number.NaN;
  /** A FUP while disabled whose TIP did not follow: libipt's query still waits for it, and a TIP.PGE does not fit. */
  protected fupDisabled = false;
  protected asyncDisable = false;
  protected asyncCr3 = Number.NaN;
  protected asyncNr = false;
  protected asyncVmcs = Number.NaN;
  /** MODE.Exec read between the FUP and the TIP of an asynchronous event (0: none). */
  protected asyncMode = 0;
  /** P_ERROR: the packet decoder's error. */
  protected peekErrCode = '';
  protected peekErrMsg = '';
  /** peek P_TIP / P_TNT is a packet that does not decode (peekErrCode): the flow fails when it takes it. */
  protected peekBad = false;
  /** The error code readAheadError found, and the packet decoder it looks ahead with. */
  protected scanCode = '';
  protected scanner: PtPacketDecoder | null = null;
  /** Direct branches walked (flow-walker.ts checks now and then that trace is still consumed). */
  protected directRuns = 0;
  protected loopMark = -1;
  /**
   * The walk's last instruction was a branch (libipt checks BDM64 after branches only); with
   * blockDecoder one that ended a libipt block (it needed trace).
   */
  protected afterBranch = false;
  /** Where fastWalk() goes on after a run that took packets (flow-walker.ts packetRun()). */
  protected walkIp = 0;
  /** Offset of the last OVF read (libipt stands there while it holds an event from before it). */
  protected ovfOff = 0;
  /** A packet read after an OVF that is not FUP: processed by the next read-ahead. */
  protected held: PtPacket | null = null;
  /** Offset of the first event packet (PIP, MODE, PSB, …) the last read-ahead applied; -1 none. */
  protected aheadEventOff = -1;
  /** peek P_ERROR came from an event (reported at the next instruction, like events), at peekErrOff. */
  protected eventError = false;
  protected peekErrOff = 0;
  /** While an event is reported: libipt's position after fetching it (-1: the usual rule). */
  protected eventOff = -1;
  /** The instruction whose query read ahead last (NaN: none since the last sync or event). */
  protected queryIp = Number.NaN;

  // The current section, for the lookup of the next run.
  protected secStart = 0;
  protected secEnd = 0;
  protected secIndex = -1;
  protected cache: PtBlockCache | null = null;
  /** No other section visible in this address space overlaps the current one. */
  protected secAlone = false;
  // The section left last, when it was alone: calls and returns go back and forth between two
  // sections (user code and the kernel), and this one needs no search.
  protected altStart = 0;
  protected altEnd = 0;
  protected altIndex = -1;
  protected altCache: PtBlockCache | null = null;

  protected done = false;
  /** Offset of the PSB of the last sync (-1: none yet). */
  protected syncOff = -1;
  /** Offset of the last sync error (ptxed's `sync`, from 0): no retry at or before it. */
  protected syncErrorOff = 0;
  /** An error was reported: the walk stops until the next sync. */
  protected broken = false;

  constructor(
    protected readonly image: PtImage,
    protected readonly sink: FlowSink,
    options: PtFlowOptions = {},
  ) {
    this.resync = options.resyncOnError === true;
    this.contextOf = options.contextOf ?? (() => 0);
    this.errata = options.cpu ? (cpuErrata(options.cpu) ?? NO_ERRATA) : NO_ERRATA;
    // libipt's time calibration takes the SKL168 workaround from the CPU's errata.
    this.clock = new PtClock({ ...options.time, skl168: options.time?.skl168 === true || this.errata.skl168 });
    this.filter = hasAddrFilter(options.filter) ? options.filter : undefined;
    this.tick = options.tick === true;
    this.blockDecoder = options.blockDecoder === true;
    this.iflags = options.iflags === true;
    this.trig = options.trig === true;
  }

  /** The address space code is read in now (PtxedPosition.codeSpace). */
  get codeSpace(): { readonly cr3: number; readonly vmcs: number } {
    return { cr3: this.cr3, vmcs: this.vmcs };
  }

  /** The trace offset of the next packet the flow will consume (libipt's decoder position). */
  get offset(): number {
    if (this.eventOff >= 0) return this.eventOff;
    if (this.tntCount > 0) return this.aheadEventOff >= 0 ? this.aheadEventOff : this.peekOff;
    // With the TNT cache empty libipt has fetched the next event, and read on past timing packets.
    const q = this.queue;
    const held = this.headBind();
    if ((held === BIND_PIP || held === BIND_VMCS) && q.end[q.head]! > 0) return this.skipTiming(q.end[q.head]!);
    const peek = this.peek;
    if (peek === P_BOUND) return this.boundEnd();
    if (peek === P_PGD || peek === P_ASYNC) return this.skipTiming(this.peekEnd);
    return peek === P_OVF ? this.ovfOff : this.peekOff;
  }

  /**
   * libipt's position while it holds an event bound to the FUP (or PSBEND) of peek P_BOUND: it
   * consumes that packet with the last event bound to it, so while another waits it stands at it.
   */
  protected boundEnd(): number {
    const q = this.queue;
    const at = this.asyncFrom;
    let n = 0;
    for (let k = 0; k < q.length && n < 2; k++) {
      const i = (q.head + k) % q.ip.length;
      if ((q.bind[i] === BIND_IP || q.bind[i] === BIND_PTWRITE) && q.ip[i] === at) n++;
    }
    return n >= 2 ? this.peekOff : this.skipTiming(this.peekEnd);
  }

  /**
   * The offset of the first packet from `off` on that libipt's read-ahead stops at: past PAD,
   * CYC, MTC, TSC, TMA, and a FUP no event waits for (it decodes that as it reads).
   */
  protected skipTiming(off: number): number {
    const b = this.trace;
    let o = off;
    while (o < b.length) {
      const h = b[o]!;
      if (h === OPC_PAD) o++;
      else if ((h & OPM_CYC) === OPC_CYC) {
        // CYC: more bytes while the Exp bit (bit 2 of the header, bit 0 after) is set.
        let x = h & 4;
        o++;
        while (x !== 0 && o < b.length) x = b[o++]! & 1;
      } else if (h === OPC_MTC) o += 2;
      else if (h === OPC_TSC) o += 8;
      else if (h === OPC_EXT && b[o + 1] === EXT_TMA) o += 7;
      else if ((h & OPM_TIP) === OPC_FUP && IP_PAYLOAD_SIZE[h >>> 5]! >= 0 && this.fupWaiting === 0) o += 1 + IP_PAYLOAD_SIZE[h >>> 5]!;
      else break;
    }
    return Math.min(o, b.length);
  }

  // Lifecycle -------------------------------------------------------------------------------

  protected go(event: Parameters<typeof flowTransition>[1]): void {
    this.state = flowTransition(this.state, event);
  }

  /** A fresh packet decoder from `offset` (it searches the first PSB itself). */
  protected startAt(offset: number): void {
    this.base = offset;
    this.pk = new PtPacketDecoder({ trig: this.trig });
    this.pk.push(this.trace.subarray(offset));
    this.pk.end();
    this.held = null;
  }

  protected resetFlow(): void {
    this.enabled = false;
    this.tntCount = 0;
    this.stack.clear();
    this.lastIp.reset();
    this.pendingMode = 0;
    this.fupWaiting = 0;
    this.statusErrorOff = -1;
    this.queue.clear();
    this.asyncFrom = this.fupPending = Number.NaN;
    this.fupDisabled = false;
    this.queryIp = Number.NaN;
    this.resumeIp = Number.NaN;
    this.evdCr2 = this.evdVmxq = this.evdVmxr = Number.NaN;
    this.forgetSection();
  }

  protected forgetSection(): void {
    this.secIndex = this.altIndex = -1;
    this.secStart = this.secEnd = this.altStart = this.altEnd = 0;
    this.secAlone = false;
  }

  // Events ----------------------------------------------------------------------------------

  /** Reports an event now. */
  protected emit(kind: number, ip: number, value: number, extra: number, flags: number): void {
    const time = this.clockNow();
    this.lastEventTime = time;
    this.sink.event(kind, ip, value, extra, this.clockHasTime() ? flags | EV_HAS_TIME : flags, time);
  }

  /** Queues an event for its place in the flow (reported at once when the queue is full). */
  protected enqueue(kind: number, ip: number, value: number, extra: number, flags: number, bind: number, end = 0): void {
    if (!this.queue.push(kind, ip, value, extra, this.clockHasTime() ? flags | EV_HAS_TIME : flags, this.clockNow(), bind, end)) {
      this.apply(kind, value, flags);
      this.emit(kind, ip, value, extra, flags);
    }
  }

  /** An event's effect on the flow state, when it is reported. */
  protected apply(kind: number, value: number, flags: number): void {
    switch (kind) {
      case FlowEvent.PAGING:
        this.cr3 = value;
        this.nr = (flags & EV_NR) !== 0;
        this.ctx = this.contextOf(this.cr3, this.nr, this.bitness);
        this.forgetSection();
        return;
      case FlowEvent.VMCS:
        this.vmcs = value;
        this.forgetSection();
        return;
      case FlowEvent.EXEC_MODE:
        this.changeMode(value);
        return;
      case FlowEvent.TSX:
        this.speculative = value === 1;
        return;
      default:
    }
  }

  /** Reports queued entry `i` (the head) and drops it. */
  protected reportHead(ip: number): void {
    const q = this.queue;
    const i = q.head;
    const kind = q.kind[i]!;
    const value = q.value[i]!;
    const flags = q.flags[i]!;
    const at = Number.isNaN(q.ip[i]!) ? ip : q.ip[i]!;
    this.apply(kind, value, flags);
    this.lastEventTime = q.time[i]!;
    const end = q.end[i]!;
    if (end > 0) this.eventOff = this.skipTiming(end);
    this.sink.event(kind, at, value, q.extra[i]!, flags, q.time[i]!);
    this.eventOff = -1;
    q.shift();
  }

  /** Reports the queued events due when the flow is at `ip` (NaN: tracing disabled, all but the waiting ones). */
  protected deliver(ip: number): void {
    const q = this.queue;
    while (q.length !== 0) {
      const b = q.bind[q.head]!;
      if (b === BIND_FUP) return;
      if (b !== BIND_NOW && !Number.isNaN(ip)) {
        if (b !== BIND_IP || q.ip[q.head] !== ip) return;
      }
      this.reportHead(Number.NaN);
    }
  }

  /** After a PTWRITE instruction at `ip`: a PTW event waiting for one is reported, then the events after it. */
  protected afterPtwrite(ip: number): void {
    const q = this.queue;
    if (q.length === 0 || q.bind[q.head] !== BIND_PTWRITE) return;
    this.reportHead(ip);
    this.deliver(ip);
  }

  /**
   * After an instruction of class `cls` (OTHER for VMPTRLD): a VMCS event waiting for VMPTRLD, a
   * VM entry or a far branch, and a paging event waiting for MOV CR3, a VM entry or a far branch,
   * are reported (at most one of each, as libipt binds them), then what they held back.
   */
  protected bindPaging(cls: number, ip: number): void {
    const q = this.queue;
    const far = cls === X86Class.VM_ENTRY || isFarClass(cls);
    let vmcs = false;
    let pip = false;
    while (q.length !== 0) {
      const b = q.bind[q.head]!;
      if (b === BIND_VMCS && !vmcs && (far || cls === X86Class.OTHER)) vmcs = true;
      else if (b === BIND_PIP && !pip && (far || cls === X86Class.MOV_CR3)) pip = true;
      else break;
      this.reportHead(Number.NaN);
    }
    if (vmcs || pip) this.deliver(ip);
  }

  /**
   * Whether libipt holds a queued event waiting for an IP or an instruction: it fetches nothing
   * after it until then (events waiting for their FUP it has not fetched as events yet).
   */
  protected holdsEvent(earlier = false): boolean {
    const q = this.queue;
    // (`earlier`: not counting those bound to the FUP the read-ahead stopped at.)
    const fup = earlier && this.peek === P_BOUND ? this.asyncFrom : Number.NaN;
    for (let k = 0; k < q.length; k++) {
      const i = (q.head + k) % q.ip.length;
      const b = q.bind[i]!;
      if (b !== BIND_NOW && b !== BIND_FUP && !((b === BIND_IP || b === BIND_PTWRITE) && q.ip[i] === fup)) return true;
    }
    return false;
  }

  /** The binding of the oldest queued event (-1: none). */
  protected headBind(): number {
    return this.queue.length === 0 ? -1 : this.queue.bind[this.queue.head]!;
  }

  /** Whether a TICK is due at `time` (it moved since the last event and no event holds it back). */
  protected tickDue(time: number): boolean {
    if (time === this.lastEventTime) return false;
    const held = this.headBind();
    return held !== BIND_PTWRITE && held !== BIND_PIP && held !== BIND_VMCS;
  }

  /** A TICK after the branch ending at `next`, when the time moved since the last event. */
  protected tickAt(next: number, time: number): void {
    if (this.tickDue(time)) this.emitTick(next, time);
  }

  protected emitTick(next: number, time: number): void {
    this.lastEventTime = time;
    this.sink.event(FlowEvent.TICK, next, 0, Number.NaN, this.clockHasTime() ? EV_HAS_TIME : 0, time);
  }

  protected finish(): void {
    this.done = true;
    if (this.state !== 'ended') this.go('END');
  }

  /**
   * Reports an error; stops, or resyncs at the next PSB after `offset`. FAIL_SYNC: the sync
   * failed (ptxed's `sync error`); with resyncOnError ptxed tries the next PSB unless the error
   * is not past the last sync error (it is stuck). FAIL_END: decoding ends.
   */
  protected fail(code: string, offset: number, ip: number, message: string = flowErrorMessage(code), how = FAIL_GO_ON): void {
    this.stats.errors++;
    this.broken = true;
    const e = { code, offset, ip, message, sync: how === FAIL_SYNC, idle: how === FAIL_IDLE, fetch: how === FAIL_FETCH };
    this.sink.error(e);
    this.go('ERROR');
    if (!this.resync || how === FAIL_END || (how === FAIL_SYNC && offset <= this.syncErrorOff)) {
      this.done = true;
      return;
    }
    if (how === FAIL_SYNC) this.syncErrorOff = offset;
    // libipt searches the next PSB from its position, skipping the PSB it last synced at.
    // (Never at or before that PSB again: decoding always moves on.)
    const from = offset <= this.syncOff ? this.syncOff + 16 : offset;
    this.startAt(Math.min(from, this.trace.length));
  }

  /** The error for a query that found `peek` instead of what it wanted. */
  protected failQuery(ip: number, indirect = false): void {
    // The end of the trace, also inside a last packet cut short: libipt's query returns pte_eos,
    // which ends decoding without an error.
    if (this.peek === P_END || (this.peek === P_ERROR && this.peekErrCode === 'eos')) {
      this.finish();
      return;
    }
    // An event's error waits for the TNT bits and for the events before it: until then the
    // query itself does not match.
    if (this.peek === P_ERROR && !(this.eventError && (this.tntCount > 0 || this.holdsEvent()))) {
      this.fail(this.peekErrCode, this.peekOff, ip, this.peekErrMsg);
      return;
    }
    const peek = this.peek;
    if ((peek === P_PGD || peek === P_PGE || peek === P_ASYNC || peek === P_BOUND) && this.skipTiming(this.peekEnd) >= this.trace.length && !this.holdsEvent(true)) {
      // libipt holds the event it fetched and finds the end of the trace (pte_eos, not printed).
      // (Holding an earlier event, it has not fetched this one: the query does not match.)
      this.finish();
      return;
    }
    let off = this.errOff();
    // An indirect query after a fetched event takes a TNT.8 it finds there into its empty cache
    // and looks on: libipt stands after it.
    if (indirect && this.tntCount === 0 && this.headBind() !== BIND_PIP && this.headBind() !== BIND_VMCS && (peek === P_PGD || peek === P_ASYNC || peek === P_BOUND)) {
      const b = this.trace[off];
      // (TNT.8: an even header byte other than PAD and the extended opcode.)
      if (b !== undefined && (b & 1) === 0 && b !== OPC_PAD && b !== OPC_EXT) off++;
    }
    this.fail('bad_query', off, ip);
  }

  /**
   * The decoder position libipt would report: with TNT bits left it has not fetched the events
   * read after the TNT packet yet, so it stands at the first of them.
   */
  protected errOff(): number {
    // While it holds an event waiting for its instruction, libipt stands after that event's packet.
    const held = this.headBind();
    if ((held === BIND_PIP || held === BIND_VMCS) && this.queue.end[this.queue.head]! > 0) return this.queue.end[this.queue.head]!;
    if (this.tntCount > 0) return this.aheadEventOff >= 0 ? this.aheadEventOff : this.peekOff;
    // With the TNT cache empty libipt has fetched a pending event already and stands after it.
    const peek = this.peek;
    // (It has read on past timing packets.)
    if (peek === P_BOUND) return this.boundEnd();
    if (peek === P_OVF) return this.ovfOff;
    // Holding an event bound to the FUP's IP (a TSX abort), libipt has not fetched the
    // asynchronous branch after it: it stands at its TIP.
    if (peek === P_ASYNC && this.headBind() === BIND_IP) return this.peekOff;
    return peek === P_PGD || peek === P_PGE || peek === P_ASYNC ? this.skipTiming(this.peekEnd) : this.peekOff;
  }

  /** Switches the execution mode (the block caches are per mode). */
  protected changeMode(mode: number): void {
    if (mode === this.bitness) return;
    this.bitness = mode as 16 | 32 | 64;
    this.ctx = this.contextOf(this.cr3, this.nr, this.bitness);
    this.forgetSection();
  }

  /** A MODE.Exec bound to a branch target or enable at `ip`: libipt reports it every time. */
  protected execMode(mode: number, ip: number): void {
    this.changeMode(mode);
    this.emit(FlowEvent.EXEC_MODE, ip, mode, Number.NaN, 0);
  }

  /** The time an event read now carries (clock line: the timing helper's). */
  protected clockNow(): number {
    return this.clock.time;
  }

  /** Whether that time is wall-clock time (a TSC was seen). */
  protected clockHasTime(): boolean {
    return this.clock.hasTime;
  }

  /** A MODE.Exec waiting for this TIP / TIP.PGE to `ip`: reported (and IFLAGS when asked for). */
  protected takeMode(ip: number): void {
    if (this.pendingMode === 0) return;
    this.execMode(this.pendingMode, ip);
    this.pendingMode = 0;
    this.takeIflag(ip);
  }

  protected takeIflag(ip: number): void {
    if (!this.iflags || this.pendingIflag === this.iflag) return;
    this.iflag = this.pendingIflag;
    this.emit(FlowEvent.IFLAGS, ip, this.iflag, Number.NaN, 0);
  }

  /** Tracing stops (TIP.PGD with IP `ip`, NaN when suppressed); flow would resume at `resume`. */
  protected disable(ip: number, resume: number): void {
    this.enabled = false;
    this.resumeIp = resume;
    this.go('DISABLE');
    this.emit(FlowEvent.DISABLED, ip, 0, Number.NaN, 0);
  }
}

/** MODE.Exec CS.L / CS.D → bitness (64, 32, 16); (1,1) is reserved: treated as 64. */
export function modeBits(csl: number, csd: number): number {
  return csl ? 64 : csd ? 32 : 16;
}

/**
 * A packet at `off` that does not decode, as libipt's read-ahead sees it from its opcode: P_TIP
 * or P_TNT (TIP, TNT.64: decoded by the query that takes it), P_ERROR (TIP.PGE, TIP.PGD, MODE,
 * PTW: decoded when the event is fetched), 0 (decoded as it is read: a FUP too).
 */
export function deferredError(b: Uint8Array, off: number): number {
  const h = b[off]!;
  const low = h & OPM_TIP;
  const ext = h === OPC_EXT ? b[off + 1] ?? 0 : -1;
  if (low === OPC_TIP) return P_TIP;
  if (ext === EXT_TNT_64) return P_TNT;
  if (low === OPC_TIP_PGE || low === OPC_TIP_PGD || h === OPC_MODE || (ext & EXM_PTW) === EXT_PTW) return P_ERROR;
  return 0;
}

/** The packet at `off` is a TIP, TIP.PGE, TIP.PGD or TNT.64 (by its opcode). */
export function isFlowPacket(b: Uint8Array, off: number): boolean {
  const low = b[off]! & OPM_TIP;
  const d = deferredError(b, off);
  return d === P_TIP || d === P_TNT || low === OPC_TIP_PGE || low === OPC_TIP_PGD;
}
