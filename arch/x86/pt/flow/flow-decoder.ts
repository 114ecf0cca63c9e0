// The Intel PT instruction-flow decoder: packets (PtPacketDecoder) + memory (PtImage) → runs of
// executed instructions, events and errors, with libipt's semantics (reference §2):
//
// - The packet stream is read ahead to the next packet the flow must consume (TNT, TIP, TIP.PGE,
//   TIP.PGD, or a whole FUP…TIP asynchronous event); status and timing packets on the way are
//   applied as they come (PIP while tracing is disabled at once, while enabled at the next
//   MOV CR3; MODE.Exec at the next TIP/TIP.PGE; PSB+ initialises on the first sync, is checked
//   later). Error offsets are the offset of that next packet, as libipt's decoder position.
// - The walk goes from one control-flow instruction to the next through the block cache (one
//   lookup per straight-line run), pops TNT bits at conditional branches and compressed returns
//   (64-entry return stack), takes TIPs at indirect and far transfers, applies an asynchronous
//   event (interrupt, async disable) when the flow reaches the FUP's IP.
// - Events are reported where libipt 2.0.5 reports them (its insn decoder, checked with the
//   library): event packets read ahead are queued (event-queue.ts) and reported once the TNT bits
//   before them are used up; those with a FUP (MODE.TSX, EXSTOP, MWAIT, CFE) when the flow reaches
//   its IP; PTW after its PTWRITE; PIP after the next MOV CR3 / VM entry / far branch, VMCS after
//   the next VMPTRLD / VM entry / far branch; PIP and VMCS between FUP and TIP after the branch
//   (VMCS first); MODE.Exec at every TIP / TIP.PGE it binds to; PSB+ content as status updates.
//   The `cpu` option switches on the errata workarounds that act here (SKL014 with `filter`,
//   SKD022, APL11/SKD010 after OVF); `tick` adds libipt's tick events at branches.
// - Time (time.ts, libipt's pt_time): timing packets drive PtClock as they are read; ranges carry
//   the time libipt's query decoder preserved at its last query (latch at each TNT / TIP taken,
//   mark + latchMark for an event fetched once the TNT bits are used up); events carry the
//   running time at their packet. Timing packets libipt rejects are errors where its query fails.
// - An error is reported with the trace offset and IP; decoding stops, or with resyncOnError
//   starts over at the next PSB after the error. `offset` is libipt's decoder position (ptxed's
//   --offset column).

import { formatAddr } from '../../../common/address.js';
import { X86Class, isFarClass } from '../../isa/classify.js';
import { PT_END, PT_ERROR, PtPacketDecoder } from '../decoder.js';
import { PtLastIp } from '../last-ip.js';
import {
  PT_CBR, PT_EXSTOP, PT_FUP, PT_MODE_EXEC, PT_MODE_TSX, PT_OVF, PT_PIP, PT_PSB, PT_PSBEND, PT_PTW, PT_STOP, PT_TIP,
  PT_TIP_PGD, PT_TIP_PGE, PT_TNT_64, PT_TNT_8, PT_TSC, PT_VMCS, PT_CYC, PT_MTC, PT_TMA, PT_PAD, PT_MNT,
  PT_MWAIT, PT_PWRE, PT_PWRX, PT_CFE, PT_EVD,
} from '../opcodes.js';
import type { PtPacket } from '../packet.js';
import type { PtBlockCache } from './block-cache.js';
import { flowErrorMessage } from './errors.js';
import type { PtImage } from './image.js';
import { type FlowState, flowTransition } from './lifecycle.js';
import { FlowReturnStack } from './return-stack.js';
import { type PtAddrFilter, type PtCpu, type PtErrata, NO_ERRATA, addrFiltered, cpuErrata, hasAddrFilter } from './errata.js';
import { BIND_IP, BIND_NOW, BIND_PIP, BIND_PTWRITE, BIND_VMCS, FlowEventQueue } from './event-queue.js';
import { cfeEventKind, cfeIsAsync, isVmptrld } from './event-kinds.js';
import { EV_ASYNC, EV_HAS_TIME, EV_NR, EV_STATUS_UPDATE, FlowEvent, type FlowSink } from './sink.js';
import { PtClock, type PtTimeConfig } from './time.js';

// What the read-ahead stopped at.
const P_TNT = 1;
const P_TIP = 2;
const P_PGE = 3;
const P_PGD = 4;
/** A complete FUP … TIP / TIP.PGD asynchronous event. */
const P_ASYNC = 5;
/** An OVF, resolved: flow resumes at peekIp, or tracing is disabled (peekIp NaN). */
const P_OVF = 6;
const P_END = 7;
const P_ERROR = 8;
/** A FUP that events (MODE.TSX, EXSTOP, MWAIT, CFE) bind to: the walk stops at its IP (asyncFrom). */
const P_BOUND = 9;

/** beforeRun() results. */
const GO = 0;
const AGAIN = 1;
const STOP = 2;

/** fail(): an error in the flow; a failed sync; an error that ends decoding. */
const FAIL_GO_ON = 0;
const FAIL_SYNC = 1;
const FAIL_END = 2;

/** Queue binding for events that wait for their FUP (internal to the read-ahead). */
const BIND_FUP = 7;

const TWO32 = 4294967296;

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
}

export interface PtFlowStats {
  instructions: number;
  ranges: number;
  errors: number;
  /** Runs classified with iced-x86 (code seen for the first time). */
  fills: number;
}

export class PtFlowDecoder {
  readonly stats: PtFlowStats = { instructions: 0, ranges: 0, errors: 0, fills: 0 };
  state: FlowState = 'unsynced';

  private trace: Uint8Array = new Uint8Array(0);
  private pk!: PtPacketDecoder;
  /** Stream offset of the packet decoder's buffer start. */
  private base = 0;
  private readonly lastIp = new PtLastIp();
  private readonly stack = new FlowReturnStack();
  private readonly resync: boolean;
  private readonly contextOf: (cr3: number, nr: boolean, bitness: number) => number;
  /** The errata workarounds in effect (all off without `cpu`). */
  readonly errata: Readonly<PtErrata>;
  private readonly filter: PtAddrFilter | undefined;
  private readonly tick: boolean;
  private readonly iflags: boolean;

  // Flow state.
  private ip = 0;
  private enabled = false;
  private cr3 = Number.NaN;
  private nr = false;
  private bitness: 16 | 32 | 64 = 64;
  private ctx = 0;
  /** The current VMCS base (NaN: unknown); selects memory with the CR3. */
  private vmcs = Number.NaN;
  /** Inside a TSX transaction: ranges are speculative. */
  private speculative = false;
  /** The last MODE.Exec IF bit (-1: none yet), for IFLAGS. */
  private iflag = -1;
  /** Where flow would resume after the last disable (libipt's decoder IP), for `resumed`. */
  private resumeIp = Number.NaN;
  /** Events read ahead, waiting for their place in the flow. */
  private readonly queue = new FlowEventQueue();
  /** Queued events waiting for their FUP. */
  private fupWaiting = 0;
  /** Time of the last event reported (libipt compares ticks with it). */
  private lastEventTime = 0;
  /** Event Trace: EVD data for the next CFE (NaN: none). */
  private evdCr2 = Number.NaN;
  private evdVmxq = Number.NaN;
  private evdVmxr = Number.NaN;
  /** Time from the timing packets read so far (libipt's query-decoder time). */
  readonly clock: PtClock;
  /** MODE.Exec seen: applied at the next TIP / TIP.PGE (0: none), with its IF bit. */
  private pendingMode = 0;
  private pendingIflag = 0;
  /** The FUP that CFE events wait for starts an asynchronous branch. */
  private cfeAsync = false;
  /** A later PSB+ disagreed with the flow: bad_status_update there, at this offset (-1: none). */
  private statusErrorOff = -1;

  // TNT cache: `tntCount` bits, the oldest at bit tntCount-1 of (tntHi:tntLo).
  private tntLo = 0;
  private tntHi = 0;
  private tntCount = 0;

  // The packet the read-ahead stopped at.
  private peek = 0;
  private peekOff = 0;
  private peekIp = 0;
  private peekLo = 0;
  private peekHi = 0;
  private peekBits = 0;
  /** Offset after the peek packet. */
  private peekEnd = 0;
  /** P_ASYNC: the FUP's IP; peekIp holds the TIP's (NaN when suppressed); asyncDisable for TIP.PGD. */
  private asyncFrom = Number.NaN;
  private asyncDisable = false;
  private asyncCr3 = Number.NaN;
  private asyncNr = false;
  private asyncVmcs = Number.NaN;
  /** MODE.Exec read between the FUP and the TIP of an asynchronous event (0: none). */
  private asyncMode = 0;
  /** P_ERROR: the packet decoder's error. */
  private peekErrCode = '';
  private peekErrMsg = '';
  /** A packet read after an OVF that is not FUP: processed by the next read-ahead. */
  private held: PtPacket | null = null;
  /** Offset of the first event packet (PIP, MODE, PSB, …) the last read-ahead applied; -1 none. */
  private aheadEventOff = -1;
  /** peek P_ERROR came from an event (reported at the next instruction, like events), at peekErrOff. */
  private eventError = false;
  private peekErrOff = 0;
  /** While an event is reported: libipt's position after fetching it (-1: the usual rule). */
  private eventOff = -1;
  /** The instruction whose query read ahead last (NaN: none since the last sync or event). */
  private queryIp = Number.NaN;

  // The current section, for the lookup of the next run.
  private secStart = 0;
  private secEnd = 0;
  private secIndex = -1;
  private cache: PtBlockCache | null = null;

  private done = false;
  /** Offset of the PSB of the last sync (-1: none yet). */
  private syncOff = -1;
  /** Offset of the last sync error (ptxed's `sync`, from 0): no retry at or before it. */
  private syncErrorOff = 0;
  /** An error was reported: the walk stops until the next sync. */
  private broken = false;

  constructor(
    private readonly image: PtImage,
    private readonly sink: FlowSink,
    options: PtFlowOptions = {},
  ) {
    this.resync = options.resyncOnError === true;
    this.contextOf = options.contextOf ?? (() => 0);
    this.errata = options.cpu ? (cpuErrata(options.cpu) ?? NO_ERRATA) : NO_ERRATA;
    // libipt's time calibration takes the SKL168 workaround from the CPU's errata.
    this.clock = new PtClock({ ...options.time, skl168: options.time?.skl168 === true || this.errata.skl168 });
    this.filter = hasAddrFilter(options.filter) ? options.filter : undefined;
    this.tick = options.tick === true;
    this.iflags = options.iflags === true;
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
    if (peek === P_PGD || peek === P_ASYNC || peek === P_BOUND) return this.skipTiming(this.peekEnd);
    return this.peekOff;
  }

  /**
   * The offset of the first packet from `off` on that libipt's read-ahead stops at: past PAD,
   * CYC, MTC, TSC and TMA (for the --offset column only).
   */
  private skipTiming(off: number): number {
    const b = this.trace;
    let o = off;
    while (o < b.length) {
      const h = b[o]!;
      if (h === 0x00) o++;
      else if ((h & 3) === 3) {
        // CYC: more bytes while the Exp bit (bit 2 of the header, bit 0 after) is set.
        let x = h & 4;
        o++;
        while (x !== 0 && o < b.length) x = b[o++]! & 1;
      } else if (h === 0x59) o += 2;
      else if (h === 0x19) o += 8;
      else if (h === 0x02 && b[o + 1] === 0x73) o += 7;
      else break;
    }
    return Math.min(o, b.length);
  }

  /** Decodes a whole trace. */
  decode(trace: Uint8Array): void {
    this.trace = trace;
    this.syncErrorOff = 0;
    this.startAt(0);
    while (!this.done) {
      if (this.state === 'unsynced') this.sync();
      else if (this.enabled) this.walk();
      else this.waitEnable();
    }
    this.stats.fills = 0;
    for (const s of this.image.sections) for (const c of s.caches) if (c) this.stats.fills += c.fills;
  }

  // Lifecycle -------------------------------------------------------------------------------

  private go(event: Parameters<typeof flowTransition>[1]): void {
    this.state = flowTransition(this.state, event);
  }

  /** A fresh packet decoder from `offset` (it searches the first PSB itself). */
  private startAt(offset: number): void {
    this.base = offset;
    this.pk = new PtPacketDecoder();
    this.pk.push(this.trace.subarray(offset));
    this.pk.end();
    this.held = null;
  }

  private resetFlow(): void {
    this.enabled = false;
    this.tntCount = 0;
    this.stack.clear();
    this.lastIp.reset();
    this.pendingMode = 0;
    this.fupWaiting = 0;
    this.statusErrorOff = -1;
    this.queue.clear();
    this.asyncFrom = Number.NaN;
    this.queryIp = Number.NaN;
    this.resumeIp = Number.NaN;
    this.evdCr2 = this.evdVmxq = this.evdVmxr = Number.NaN;
    this.forgetSection();
  }

  private forgetSection(): void {
    this.secIndex = -1;
    this.secStart = this.secEnd = 0;
  }

  // Events ----------------------------------------------------------------------------------

  /** Reports an event now. */
  private emit(kind: number, ip: number, value: number, extra: number, flags: number): void {
    const time = this.clockNow();
    this.lastEventTime = time;
    this.sink.event(kind, ip, value, extra, this.clockHasTime() ? flags | EV_HAS_TIME : flags, time);
  }

  /** Queues an event for its place in the flow (reported at once when the queue is full). */
  private enqueue(kind: number, ip: number, value: number, extra: number, flags: number, bind: number, end = 0): void {
    if (!this.queue.push(kind, ip, value, extra, this.clockHasTime() ? flags | EV_HAS_TIME : flags, this.clockNow(), bind, end)) {
      this.apply(kind, value, flags);
      this.emit(kind, ip, value, extra, flags);
    }
  }

  /** An event's effect on the flow state, when it is reported. */
  private apply(kind: number, value: number, flags: number): void {
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
  private reportHead(ip: number): void {
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
  private deliver(ip: number): void {
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
  private afterPtwrite(ip: number): void {
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
  private bindPaging(cls: number, ip: number): void {
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

  /** The binding of the oldest queued event (-1: none). */
  private headBind(): number {
    return this.queue.length === 0 ? -1 : this.queue.bind[this.queue.head]!;
  }

  /** Whether a TICK is due at `time` (it moved since the last event and no event holds it back). */
  private tickDue(time: number): boolean {
    if (time === this.lastEventTime) return false;
    const held = this.headBind();
    return held !== BIND_PTWRITE && held !== BIND_PIP && held !== BIND_VMCS;
  }

  /** A TICK after the branch ending at `next`, when the time moved since the last event. */
  private tickAt(next: number, time: number): void {
    if (this.tickDue(time)) this.emitTick(next, time);
  }

  private emitTick(next: number, time: number): void {
    this.lastEventTime = time;
    this.sink.event(FlowEvent.TICK, next, 0, Number.NaN, this.clockHasTime() ? EV_HAS_TIME : 0, time);
  }

  /** Finds the next PSB and reads its PSB+. */
  private sync(): void {
    this.resetFlow();
    // libipt starts a fresh query decoder at each sync: time and calibration too.
    this.clock.reset();
    this.broken = false;
    this.peek = 0;
    const pk = this.pk;
    for (;;) {
      const t = pk.next();
      if (t === PT_END) {
        this.finish();
        return;
      }
      if (t === PT_ERROR) {
        // Before a PSB is found nothing is decoded; the packet decoder resyncs by itself.
        continue;
      }
      if (t === PT_PSB) break;
    }
    this.syncOff = pk.packet.offset + this.base;
    if (!this.psbPlus(true)) return;
    if (this.peek !== P_OVF && this.peek !== P_ERROR) this.readAhead();
    // libipt processes the first pending event inside its sync: an error there ends decoding.
    if ((this.peek as number) === P_ERROR && this.eventError) this.fail(this.peekErrCode, this.peekErrOff, Number.NaN, this.peekErrMsg, FAIL_END);
    // So does an error in the read-ahead after the PSB+ (a bad packet, a timing packet it rejects).
    else if ((this.peek as number) === P_ERROR) this.fail(this.peekErrCode, this.peekOff, Number.NaN, this.peekErrMsg, FAIL_SYNC);
  }

  private finish(): void {
    this.done = true;
    if (this.state !== 'ended') this.go('END');
  }

  /**
   * Reports an error; stops, or resyncs at the next PSB after `offset`. FAIL_SYNC: the sync
   * failed (ptxed's `sync error`); with resyncOnError ptxed tries the next PSB unless the error
   * is not past the last sync error (it is stuck). FAIL_END: decoding ends.
   */
  private fail(code: string, offset: number, ip: number, message: string = flowErrorMessage(code), how = FAIL_GO_ON): void {
    this.stats.errors++;
    this.broken = true;
    const e = { code, offset, ip, message, sync: how === FAIL_SYNC };
    this.sink.error(e);
    this.go('ERROR');
    if (!this.resync || how === FAIL_END || (how === FAIL_SYNC && offset <= this.syncErrorOff)) {
      this.done = true;
      return;
    }
    if (how === FAIL_SYNC) this.syncErrorOff = offset;
    // libipt searches the next PSB from its position, skipping the PSB it last synced at.
    const from = offset === this.syncOff ? offset + 16 : offset;
    this.startAt(Math.min(from, this.trace.length));
  }

  /** The error for a query that found `peek` instead of what it wanted. */
  private failQuery(ip: number): void {
    // The end of the trace, also inside a last packet cut short: libipt's query returns pte_eos,
    // which ends decoding without an error.
    if (this.peek === P_END || (this.peek === P_ERROR && this.peekErrCode === 'eos')) {
      this.finish();
      return;
    }
    // An event's error waits for the TNT bits: with bits left the query itself does not match.
    if (this.peek === P_ERROR && !(this.eventError && this.tntCount > 0)) {
      this.fail(this.peekErrCode, this.peekOff, ip, this.peekErrMsg);
      return;
    }
    if (this.peek === P_PGD && this.peekEnd >= this.trace.length) {
      // libipt holds the TIP.PGD's event and finds the end of the trace (pte_eos, not printed).
      this.finish();
      return;
    }
    this.fail('bad_query', this.errOff(), ip);
  }

  /**
   * The decoder position libipt would report: with TNT bits left it has not fetched the events
   * read after the TNT packet yet, so it stands at the first of them.
   */
  private errOff(): number {
    // While it holds an event waiting for its instruction, libipt stands after that event's packet.
    const held = this.headBind();
    if ((held === BIND_PIP || held === BIND_VMCS) && this.queue.end[this.queue.head]! > 0) return this.queue.end[this.queue.head]!;
    if (this.tntCount > 0) return this.aheadEventOff >= 0 ? this.aheadEventOff : this.peekOff;
    // With the TNT cache empty libipt has fetched a pending event already and stands after it.
    const peek = this.peek;
    return peek === P_PGD || peek === P_PGE || peek === P_ASYNC || peek === P_BOUND ? this.peekEnd : this.peekOff;
  }

  // Packets ---------------------------------------------------------------------------------

  /** The next packet: one held back after an OVF, or a new one (-> type, PT_END, PT_ERROR). */
  private nextPacket(): number {
    if (this.held !== null) {
      const h = this.held;
      this.held = null;
      Object.assign(this.pk.packet, h);
      return h.type;
    }
    return this.pk.next();
  }

  private packetError(): void {
    const e = this.pk.error!;
    this.peek = P_ERROR;
    this.peekOff = e.offset + this.base;
    this.peekErrCode = e.code;
    this.peekErrMsg = flowErrorMessage(e.code);
  }

  /**
   * PSB+ after a PSB: status packets up to PSBEND (or an OVF). First sync: they set the state
   * and a FUP enables tracing at its IP. Later: checks. Returns false after an error. Its events
   * are queued as libipt's status updates, in packet order, at the FUP's IP.
   */
  private psbPlus(first: boolean): boolean {
    const pk = this.pk;
    const p = pk.packet;
    // libipt reports a bad PSB+ at the PSB; one met while syncing ends decoding.
    const psbOff = p.offset + this.base;
    this.lastIp.reset();
    this.clock.psb();
    let fup = Number.NaN;
    let mode = 0;
    let iflag = -1;
    const q = this.queue;
    const mark = q.length;
    for (;;) {
      const t = pk.next();
      switch (t) {
        case PT_PSBEND:
          this.clock.psbEnd();
          break;
        case PT_FUP:
          this.lastIp.update(p.ipc, p.lo, p.hi);
          fup = this.lastIp.ip;
          continue;
        case PT_PIP:
          this.enqueue(FlowEvent.PAGING, Number.NaN, p.cr3, Number.NaN, EV_STATUS_UPDATE | EV_ASYNC | (p.nr ? EV_NR : 0), BIND_NOW);
          continue;
        case PT_VMCS:
          this.enqueue(FlowEvent.VMCS, Number.NaN, p.vmcs, Number.NaN, EV_STATUS_UPDATE | EV_ASYNC, BIND_NOW);
          continue;
        case PT_MODE_EXEC:
          mode = modeBits(p.csl, p.csd);
          iflag = p.iflag;
          this.enqueue(FlowEvent.EXEC_MODE, Number.NaN, mode, Number.NaN, EV_STATUS_UPDATE, BIND_NOW);
          continue;
        case PT_MODE_TSX:
          this.enqueue(FlowEvent.TSX, Number.NaN, p.abrt ? 2 : p.intx ? 1 : 0, Number.NaN, EV_STATUS_UPDATE, BIND_NOW);
          continue;
        case PT_CBR:
          if (!this.psbTiming(t, p, mark, psbOff, first)) return false;
          this.enqueue(FlowEvent.CBR, Number.NaN, p.ratio, Number.NaN, EV_STATUS_UPDATE, BIND_NOW);
          continue;
        case PT_MNT:
          // libipt does not mark MNT as a status update, even inside PSB+.
          this.enqueue(FlowEvent.MNT, Number.NaN, p.lo, p.hi, 0, BIND_NOW);
          continue;
        case PT_TSC: case PT_TMA: case PT_MTC: case PT_CYC:
          if (!this.psbTiming(t, p, mark, psbOff, first)) return false;
          continue;
        case PT_PAD:
          continue;
        case PT_OVF:
          // OVF ends PSB+: its status events are reported first, then flow resumes as after
          // any overflow.
          this.finishPsbEvents(mark, fup);
          this.overflow();
          return true;
        case PT_END:
          this.dropQueuedFrom(mark);
          this.finish();
          return false;
        case PT_ERROR:
          this.dropQueuedFrom(mark);
          this.packetError();
          this.fail(this.peekErrCode, psbOff, Number.NaN, this.peekErrMsg, first ? FAIL_SYNC : FAIL_GO_ON);
          return false;
        default:
          this.dropQueuedFrom(mark);
          this.fail('bad_context', psbOff, first ? Number.NaN : this.ip, flowErrorMessage('bad_context'), first ? FAIL_SYNC : FAIL_GO_ON);
          return false;
      }
      break;
    }
    this.finishPsbEvents(mark, fup);
    if (this.iflags && iflag >= 0 && iflag !== this.iflag) {
      this.iflag = iflag;
      this.enqueue(FlowEvent.IFLAGS, fup, iflag, Number.NaN, EV_STATUS_UPDATE, BIND_NOW);
    }
    if (first) {
      if (!Number.isNaN(fup)) {
        this.ip = fup;
        this.enabled = true;
        this.go('SYNC_ENABLED');
      } else {
        this.go('SYNC_DISABLED');
      }
      return true;
    }
    // A later PSB+ with a FUP while tracing is disabled: libipt wanted a TIP.PGE first.
    if (!this.enabled && !Number.isNaN(fup)) {
      this.peek = P_ERROR;
      this.peekOff = this.peekErrOff = p.offset + this.base + p.size;
      this.peekErrCode = 'no_enable';
      this.peekErrMsg = flowErrorMessage('no_enable');
      this.eventError = true;
      return true;
    }
    // A later PSB+ while tracing: its events wait for the flow to reach the FUP's IP, and the
    // execution mode must agree with the flow's there (else libipt's bad_status_update, at its
    // position after PSBEND).
    if (this.enabled && !Number.isNaN(fup)) {
      for (let k = mark; k < q.length; k++) {
        const i = (q.head + k) % q.ip.length;
        if (q.bind[i] === BIND_NOW && q.kind[i] !== FlowEvent.MNT) q.bind[i] = BIND_IP;
      }
      const expect = this.pendingMode !== 0 ? this.pendingMode : this.bitness;
      this.statusErrorOff = mode !== 0 && mode !== expect ? p.offset + this.base + p.size : -1;
      if (this.statusErrorOff >= 0) this.dropQueuedFrom(mark);
      this.peek = P_BOUND;
      this.peekOff = p.offset + this.base;
      this.peekEnd = this.peekOff + p.size;
      this.asyncFrom = fup;
    }
    return true;
  }

  /**
   * A timing packet in PSB+; false after its error: libipt's PSB+ fails at the PSB, a sync
   * error on the first sync, later the error of the query whose read-ahead met the PSB.
   */
  private psbTiming(type: number, p: PtPacket, mark: number, psbOff: number, first: boolean): boolean {
    const code = this.timing(type, p);
    if (code === '') return true;
    this.dropQueuedFrom(mark);
    if (first) this.fail(code, psbOff, Number.NaN, flowErrorMessage(code), FAIL_SYNC);
    else this.timingError(code, psbOff, false);
    return false;
  }

  /** The status events of a PSB+ (queued from `mark` on) take the FUP's IP (NaN: none) and the time at its end. */
  private finishPsbEvents(mark: number, fup: number): void {
    const q = this.queue;
    const time = this.clockNow();
    const timed = this.clockHasTime() ? EV_HAS_TIME : 0;
    for (let k = mark; k < q.length; k++) {
      const i = (q.head + k) % q.ip.length;
      q.ip[i] = fup;
      q.time[i] = time;
      q.flags[i] = q.flags[i]! | timed;
    }
  }

  /** Drops the queued events from position `mark` on (a PSB+ that did not complete). */
  private dropQueuedFrom(mark: number): void {
    this.queue.length = Math.min(this.queue.length, mark);
  }

  /** Switches the execution mode (the block caches are per mode). */
  private changeMode(mode: number): void {
    if (mode === this.bitness) return;
    this.bitness = mode as 16 | 32 | 64;
    this.ctx = this.contextOf(this.cr3, this.nr, this.bitness);
    this.forgetSection();
  }

  /** A MODE.Exec bound to a branch target or enable at `ip`: libipt reports it every time. */
  private execMode(mode: number, ip: number): void {
    this.changeMode(mode);
    this.emit(FlowEvent.EXEC_MODE, ip, mode, Number.NaN, 0);
  }

  /**
   * Reads packets up to the next one the flow consumes, applying the others; sets `peek`.
   * Events are queued for their place in the flow. Called right after the flow took the
   * packet in `peek`: libipt's query preserves the time there (latch). The event packet it
   * stops at, or the last one on the way, libipt fetches (and latches at) once the TNT bits
   * are used up (mark; latchMark when they are already).
   */
  private readAhead(): void {
    const c = this.clock;
    c.latch();
    this.readPackets();
    const peek = this.peek;
    if (peek === P_ASYNC || peek === P_PGE || peek === P_PGD || peek === P_OVF) c.mark();
    if (this.tntCount === 0) c.latchMark();
  }

  private readPackets(): void {
    const pk = this.pk;
    const p = pk.packet;
    this.aheadEventOff = -1;
    this.peek = 0;
    this.eventError = false;
    for (;;) {
      const t = this.nextPacket();
      switch (t) {
        case PT_TNT_8:
        case PT_TNT_64:
          this.peek = P_TNT;
          this.peekOff = p.offset + this.base;
          this.peekLo = p.lo;
          this.peekHi = p.hi;
          this.peekBits = p.bits;
          return;
        case PT_TIP:
        case PT_TIP_PGE:
        case PT_TIP_PGD:
          this.lastIp.update(p.ipc, p.lo, p.hi);
          this.peek = t === PT_TIP ? P_TIP : t === PT_TIP_PGE ? P_PGE : P_PGD;
          this.peekOff = p.offset + this.base;
          this.peekEnd = this.peekOff + p.size;
          this.peekIp = p.ipc === 0 ? Number.NaN : this.lastIp.ip;
          return;
        case PT_FUP:
          this.lastIp.update(p.ipc, p.lo, p.hi);
          if (this.fupWaiting !== 0) {
            if (this.boundFup(this.lastIp.ip, p.offset + this.base, p.size)) return;
            continue;
          }
          this.asyncEvent(this.lastIp.ip, p.offset + this.base);
          return;
        case PT_PIP:
          if (this.aheadEventOff < 0) this.aheadEventOff = p.offset + this.base;
          this.enqueue(FlowEvent.PAGING, Number.NaN, p.cr3, Number.NaN, p.nr ? EV_NR : 0, this.enabled ? BIND_PIP : BIND_NOW, p.offset + this.base + p.size);
          this.clock.mark();
          continue;
        case PT_VMCS:
          this.enqueue(FlowEvent.VMCS, Number.NaN, p.vmcs, Number.NaN, 0, this.enabled ? BIND_VMCS : BIND_NOW, p.offset + this.base + p.size);
          continue;
        case PT_MODE_EXEC:
          if (this.aheadEventOff < 0) this.aheadEventOff = p.offset + this.base;
          this.pendingMode = modeBits(p.csl, p.csd);
          this.pendingIflag = p.iflag;
          continue;
        case PT_TSC: case PT_TMA: case PT_MTC: case PT_CYC: {
          // libipt's read-ahead stops at the packet with the error (its query fails).
          const code = this.timing(t, p);
          if (code === '') continue;
          this.timingError(code, p.offset + this.base, false);
          return;
        }
        case PT_CBR: {
          // CBR is an event for libipt: a bad one fails when it is fetched, at the packet.
          const code = this.timing(t, p);
          if (code !== '') {
            this.timingError(code, p.offset + this.base, true);
            return;
          }
          this.enqueue(FlowEvent.CBR, Number.NaN, p.ratio, Number.NaN, 0, BIND_NOW);
          this.clock.mark();
          continue;
        }
        case PT_PSB: {
          const firstEvent = this.aheadEventOff < 0;
          if (firstEvent) this.aheadEventOff = p.offset + this.base;
          if (!this.psbPlus(false)) return;
          // libipt reads PSB+ as one: it stands at the PSBEND.
          if (firstEvent) this.aheadEventOff = p.offset + this.base;
          this.clock.mark();
          if (this.peek === P_OVF || this.peek === P_BOUND || this.peek === P_ERROR) return;
          continue;
        }
        case PT_OVF:
          this.overflow();
          return;
        case PT_MODE_TSX:
          // While tracing, MODE.TSX binds to the FUP after it; while disabled it stands alone.
          this.eventPacket(FlowEvent.TSX, p.abrt ? 2 : p.intx ? 1 : 0, Number.NaN, this.enabled ? BIND_FUP : BIND_NOW);
          continue;
        case PT_EXSTOP:
          this.eventPacket(FlowEvent.EXSTOP, 0, Number.NaN, p.ipFlag ? BIND_FUP : BIND_NOW);
          continue;
        case PT_MWAIT:
          // MWAIT binds to the FUP of the EXSTOP that follows it.
          this.eventPacket(FlowEvent.MWAIT, p.hints, p.ext, BIND_FUP);
          continue;
        case PT_PTW:
          // A PTW reports after its PTWRITE instruction; with IP its FUP says which.
          this.eventPacket(FlowEvent.PTWRITE, p.lo, p.plc ? p.hi : 0, p.ipFlag ? BIND_FUP : this.enabled ? BIND_PTWRITE : BIND_NOW);
          continue;
        case PT_PWRE:
          this.enqueue(FlowEvent.PWRE, Number.NaN, p.state | (p.subState << 4) | (p.hw << 8), Number.NaN, 0, BIND_NOW);
          continue;
        case PT_PWRX:
          this.enqueue(FlowEvent.PWRX, Number.NaN, p.last | (p.deepest << 4) | (p.wake << 8), Number.NaN, 0, BIND_NOW);
          continue;
        case PT_MNT:
          this.enqueue(FlowEvent.MNT, Number.NaN, p.lo, p.hi, 0, BIND_NOW);
          continue;
        case PT_STOP:
          if (this.enabled) {
            // libipt: tracing is always disabled before it stops; a STOP while tracing is bad_context.
            this.peek = P_ERROR;
            this.peekOff = p.offset + this.base;
            this.peekErrOff = this.peekOff + p.size;
            this.peekErrCode = 'bad_context';
            this.peekErrMsg = flowErrorMessage('bad_context');
            this.eventError = true;
            return;
          }
          this.enqueue(FlowEvent.STOPPED, Number.NaN, 0, Number.NaN, 0, BIND_NOW);
          continue;
        case PT_EVD:
          if (p.evdType === 0) this.evdCr2 = p.hi * TWO32 + p.lo;
          else if (p.evdType === 1) this.evdVmxq = p.hi * TWO32 + p.lo;
          else if (p.evdType === 2) this.evdVmxr = p.hi * TWO32 + p.lo;
          continue;
        case PT_CFE:
          this.cfe(p.cfeType, p.vector, p.ipFlag === 1);
          continue;
        case PT_END:
          this.peek = P_END;
          this.peekOff = this.trace.length;
          return;
        case PT_ERROR:
          this.packetError();
          return;
        default:
          // PAD, TRIG.
          continue;
      }
    }
  }

  /** An event packet: queued as bound (BIND_FUP waits for the next FUP, while tracing or not). */
  private eventPacket(kind: number, value: number, extra: number, bind: number): void {
    if (bind === BIND_FUP) this.fupWaiting++;
    this.enqueue(kind, Number.NaN, value, extra, 0, bind);
  }

  /** Event Trace CFE: IP=1 binds to the FUP after it, IP=0 to the next FUP + TIP (SDM). */
  private cfe(type: number, vector: number, ip: boolean): void {
    const kind = cfeEventKind(type);
    if (kind < 0) return;
    let value = vector;
    let extra = Number.NaN;
    if (kind === FlowEvent.CFE_INTERRUPT) extra = this.evdCr2;
    else if (kind === FlowEvent.VMEXIT) {
      value = this.evdVmxr;
      extra = this.evdVmxq;
    }
    this.evdCr2 = this.evdVmxq = this.evdVmxr = Number.NaN;
    if (!this.enabled) {
      this.enqueue(kind, Number.NaN, value, extra, 0, BIND_NOW);
      return;
    }
    this.eventPacket(kind, value, extra, BIND_FUP);
    if (ip && cfeIsAsync(type)) this.cfeAsync = true;
    else if (!ip) this.cfeAsync = true;
  }

  /**
   * A FUP that queued events wait for: they take its IP. While tracing, the walk stops there
   * (P_BOUND; returns true), or, for a TSX abort or an asynchronous CFE, the FUP starts an
   * asynchronous branch (the TIP after it). While disabled they are reported at once.
   */
  private boundFup(ip: number, offset: number, size: number): boolean {
    const q = this.queue;
    let abort = this.cfeAsync;
    for (let k = q.length - this.fupWaiting; k < q.length; k++) {
      const i = (q.head + k) % q.ip.length;
      q.ip[i] = ip;
      if (q.bind[i] === BIND_FUP) {
        if (q.kind[i] === FlowEvent.TSX && q.value[i] === 2) abort = true;
        q.bind[i] = this.enabled ? (q.kind[i] === FlowEvent.PTWRITE ? BIND_PTWRITE : BIND_IP) : BIND_NOW;
      }
    }
    this.fupWaiting = 0;
    this.cfeAsync = false;
    if (!this.enabled) return false;
    if (abort) {
      this.asyncEvent(ip, offset);
      return true;
    }
    if (q.bind[q.last] === BIND_PTWRITE) return false;
    this.peek = P_BOUND;
    this.peekOff = offset;
    this.peekEnd = offset + size;
    this.asyncFrom = ip;
    return true;
  }

  /** After a FUP while tracing: the rest of the asynchronous event, up to its TIP or TIP.PGD. */
  private asyncEvent(from: number, offset: number): void {
    const pk = this.pk;
    const p = pk.packet;
    this.asyncCr3 = Number.NaN;
    this.asyncVmcs = Number.NaN;
    this.asyncMode = 0;
    for (;;) {
      const t = this.nextPacket();
      switch (t) {
        case PT_TIP:
        case PT_TIP_PGD:
          this.lastIp.update(p.ipc, p.lo, p.hi);
          this.peek = P_ASYNC;
          this.peekOff = p.offset + this.base;
          this.peekEnd = this.peekOff + p.size;
          this.asyncFrom = from;
          this.asyncDisable = t === PT_TIP_PGD;
          this.peekIp = p.ipc === 0 ? Number.NaN : this.lastIp.ip;
          return;
        case PT_PIP:
          this.asyncCr3 = p.cr3;
          this.asyncNr = p.nr === 1;
          continue;
        case PT_VMCS:
          this.asyncVmcs = p.vmcs;
          continue;
        case PT_MODE_EXEC:
          this.asyncMode = modeBits(p.csl, p.csd);
          this.pendingIflag = p.iflag;
          continue;
        case PT_TSC: case PT_TMA: case PT_MTC: case PT_CYC: case PT_CBR: {
          const code = this.timing(t, p);
          if (code === '') continue;
          this.timingError(code, p.offset + this.base, false);
          return;
        }
        case PT_PAD: case PT_MNT:
          continue;
        case PT_OVF:
          this.overflow();
          return;
        case PT_END:
          this.peek = P_END;
          this.peekOff = this.trace.length;
          return;
        case PT_ERROR:
          this.packetError();
          return;
        default:
          // A FUP with no TIP to complete it: libipt reports the packet that broke the event.
          this.peek = P_ERROR;
          this.peekOff = this.peekErrOff = p.offset + this.base;
          this.peekErrCode = 'bad_context';
          this.peekErrMsg = flowErrorMessage('bad_context');
          this.eventError = true;
          return;
      }
    }
  }

  /**
   * An OVF: packets were lost. State is reset except timing; the flow resumes at the FUP that
   * follows (only timing packets may come between) or stays disabled until a TIP.PGE. Events
   * still waiting for an IP are dropped. APL11: a TIP.PGD right after the OVF is dropped too.
   */
  private overflow(): void {
    const pk = this.pk;
    const p = pk.packet;
    this.pendingMode = 0;
    // Events that wait for an IP or an instruction are dropped.
    this.queue.keepOnly(BIND_NOW);
    this.fupWaiting = 0;
    this.cfeAsync = false;
    this.asyncFrom = Number.NaN;
    this.clock.overflow();
    this.peekOff = p.offset + this.base;
    const ovfEnd = this.peekOff + p.size;
    this.go('OVERFLOW');
    for (;;) {
      const t = this.nextPacket();
      switch (t) {
        case PT_TSC: case PT_TMA: case PT_MTC: case PT_CYC: case PT_CBR: {
          // libipt applies these when it fetches the OVF event: that fetch fails.
          const code = this.timing(t, p);
          if (code === '') continue;
          this.timingError(code, p.offset + this.base, true);
          return;
        }
        case PT_PAD:
          continue;
        case PT_FUP:
          this.lastIp.update(p.ipc, p.lo, p.hi);
          this.peek = P_OVF;
          this.peekOff = p.offset + this.base;
          this.peekIp = this.lastIp.ip;
          return;
        case PT_TIP_PGD:
          // APL11 (and SKD010's look-ahead in libipt 2.0.5): a TIP.PGD right after the OVF is dropped.
          if (this.errata.apl11 || this.errata.skd010) {
            this.lastIp.update(p.ipc, p.lo, p.hi);
            this.peek = P_OVF;
            this.peekIp = Number.NaN;
            return;
          }
          this.overflowError(ovfEnd);
          return;
        case PT_TIP: case PT_TNT_8: case PT_TNT_64:
          // Flow packets while the overflow resolves with tracing disabled: libipt's bad_context
          // (at its position after the OVF).
          this.overflowError(ovfEnd);
          return;
        case PT_END:
          this.peek = P_OVF;
          this.peekIp = Number.NaN;
          return;
        case PT_ERROR:
          this.peek = P_OVF;
          this.peekIp = Number.NaN;
          this.held = null;
          return;
        default:
          this.held = p.clone();
          this.peek = P_OVF;
          this.peekIp = Number.NaN;
          return;
      }
    }
  }

  /** The time an event read now carries (clock line: the timing helper's). */
  private clockNow(): number {
    return this.clock.time;
  }

  /** Whether that time is wall-clock time (a TSC was seen). */
  private clockHasTime(): boolean {
    return this.clock.hasTime;
  }

  /** An OVF that resolves in a way libipt rejects: bad_context at the packet, reported like an event. */
  private overflowError(offset: number): void {
    this.peek = P_ERROR;
    this.peekErrOff = offset;
    this.peekErrCode = 'bad_context';
    this.peekErrMsg = flowErrorMessage('bad_context');
    this.eventError = true;
  }

  /** A timing packet (TSC, TMA, MTC, CYC, CBR): '' or libipt's error for it. */
  private timing(type: number, p: PtPacket): string {
    const c = this.clock;
    switch (type) {
      case PT_TSC: return c.tsc(p.lo, p.hi);
      case PT_TMA: return c.tma(p.ctc, p.fc);
      case PT_MTC: return c.mtc(p.ctc);
      case PT_CYC: return c.cyc(p.lo, p.hi);
      default: return c.cbr(p.ratio);
    }
  }

  /**
   * A timing packet libipt rejects, at `offset`: the read-ahead stops there like at a packet
   * error, or (`event`, a CBR) like at an event whose fetch fails.
   */
  private timingError(code: string, offset: number, event: boolean): void {
    this.peek = P_ERROR;
    this.peekOff = this.peekErrOff = offset;
    this.peekErrCode = code;
    this.peekErrMsg = flowErrorMessage(code);
    this.eventError = event;
  }

  /** Applies a resolved OVF (peek P_OVF) and reads on. */
  private takeOverflow(): void {
    const resume = this.peekIp;
    this.queryIp = Number.NaN;
    this.deliver(Number.NaN);
    this.emit(FlowEvent.OVERFLOW, resume, 0, Number.NaN, 0);
    this.speculative = false;
    if (Number.isNaN(resume)) {
      this.enabled = false;
      this.resumeIp = Number.NaN;
      this.go('OVERFLOW_DISABLED');
    } else {
      this.enabled = true;
      this.ip = resume;
      this.go('RESUME');
    }
    this.readAhead();
  }

  // Tracing disabled --------------------------------------------------------------------------

  private waitEnable(): void {
    if (this.queue.length !== 0) this.deliver(Number.NaN);
    switch (this.peek) {
      case P_PGE: {
        const ip = this.peekIp;
        this.ip = ip;
        this.enabled = true;
        this.go('ENABLE');
        // libipt's `resumed`: tracing goes on where it stopped. It takes the TIP.PGE with the
        // last event bound to it (the MODE.Exec, when there is one).
        const end = this.skipTiming(this.peekEnd);
        this.eventOff = this.pendingMode !== 0 ? this.peekOff : end;
        this.emit(ip === this.resumeIp ? FlowEvent.RESUMED : FlowEvent.ENABLED, ip, 0, Number.NaN, 0);
        this.eventOff = end;
        this.takeMode(ip);
        this.eventOff = -1;
        this.readAhead();
        return;
      }
      case P_OVF:
        this.takeOverflow();
        return;
      case P_END:
        this.finish();
        return;
      case P_ERROR:
        this.fail(this.peekErrCode, this.eventError ? this.peekErrOff : this.peekOff, Number.NaN, this.peekErrMsg);
        return;
      default:
        this.fail('no_enable', this.peekOff, Number.NaN);
    }
  }

  /** A MODE.Exec waiting for this TIP / TIP.PGE to `ip`: reported (and IFLAGS when asked for). */
  private takeMode(ip: number): void {
    if (this.pendingMode === 0) return;
    this.execMode(this.pendingMode, ip);
    this.pendingMode = 0;
    this.takeIflag(ip);
  }

  private takeIflag(ip: number): void {
    if (!this.iflags || this.pendingIflag === this.iflag) return;
    this.iflag = this.pendingIflag;
    this.emit(FlowEvent.IFLAGS, ip, this.iflag, Number.NaN, 0);
  }

  /** Tracing stops (TIP.PGD with IP `ip`, NaN when suppressed); flow would resume at `resume`. */
  private disable(ip: number, resume: number): void {
    this.enabled = false;
    this.resumeIp = resume;
    this.go('DISABLE');
    this.emit(FlowEvent.DISABLED, ip, 0, Number.NaN, 0);
  }

  // Tracing enabled: the walk ----------------------------------------------------------------

  /** Finds the section of `ip`; false (after reporting nomap) when there is none. */
  private enterSection(ip: number): boolean {
    const i = this.image.find(this.cr3, ip, this.vmcs);
    if (i < 0) {
      this.fail('nomap', this.peekOff, ip);
      return false;
    }
    const s = this.image.sections[i]!;
    this.secIndex = i;
    this.secStart = s.start;
    this.secEnd = s.end;
    this.cache = this.image.cache(i, this.bitness);
    return true;
  }

  /**
   * A TNT bit (1/0) for the branch before `next`, or -1 when there is none (the caller reports
   * why), -2 after a packet error, -3 when the walk must stop.
   */
  private tntBit(at: number, next: number): number {
    if (this.tntCount === 0) return this.tntBitSlow(at, next);
    const n = --this.tntCount;
    // The last bit: libipt now fetches the event read after the TNT packet.
    if (n === 0) this.clock.latchMark();
    return n >= 32 ? (this.tntHi >>> (n - 32)) & 1 : (this.tntLo >>> n) & 1;
  }

  /** tntBit taking a new TNT packet. */
  private tntBitSlow(at: number, next: number): number {
    if (this.peek !== P_TNT) return -1;
    this.queryIp = at;
    this.tntLo = this.peekLo;
    this.tntHi = this.peekHi;
    this.tntCount = this.peekBits;
    // libipt's time for the bits of this packet is the time at the packet, before the
    // packets after it; its tick comes after the query, which a read-ahead error fails.
    const tick = this.tick && this.tickDue(this.clockNow());
    const time = this.clockNow();
    this.readAhead();
    if (this.broken) return -3;
    // libipt's query reads ahead after the TNT and keeps a truncated last packet (pte_eos) for
    // the next query: these bits are still used.
    if ((this.peek as number) === P_ERROR && !this.eventError && this.peekErrCode !== 'eos') return -2;
    if (tick) this.emitTick(next, time);
    const n = --this.tntCount;
    if (n === 0) this.clock.latchMark();
    return n >= 32 ? (this.tntHi >>> (n - 32)) & 1 : (this.tntLo >>> n) & 1;
  }

  /**
   * Before the run at `ip` with the TNT cache empty: queued events due here, and what `peek`
   * says happens here. GO: walk the run; AGAIN: continue at this.ip; STOP: the walk stops.
   */
  private beforeRun(ip: number): number {
    if (this.queue.length !== 0) {
      this.deliver(ip);
      if (this.broken) return STOP;
    }
    const peek = this.peek;
    if ((peek === P_ASYNC || peek === P_BOUND) && ip === this.asyncFrom) {
      this.ip = ip;
      if (peek === P_ASYNC) {
        this.takeAsync();
        return STOP;
      }
      if (this.statusErrorOff >= 0) {
        const off = this.statusErrorOff;
        this.statusErrorOff = -1;
        this.fail('bad_status_update', off, Number.isNaN(this.queryIp) ? ip : this.queryIp);
        return STOP;
      }
      this.readAhead();
      return AGAIN;
    }
    if (peek === P_OVF) {
      this.takeOverflow();
      return STOP;
    }
    if (peek === P_END && this.queue.length === 0) {
      // libipt reports the end of the trace as soon as its TNT bits and events are used up.
      this.emit(FlowEvent.END_OF_TRACE, ip, 0, Number.NaN, 0);
      this.finish();
      return STOP;
    }
    if (peek === P_ERROR && this.eventError) {
      // libipt fetches the event after the instruction that took the last packet: the error names that one.
      this.fail(this.peekErrCode, this.peekErrOff, Number.isNaN(this.queryIp) ? ip : this.queryIp, this.peekErrMsg);
      return STOP;
    }
    if (peek === P_PGE && this.queue.length === 0) {
      // An enable while tracing: libipt's bad_context when it takes the event.
      this.fail('bad_context', this.peekOff, this.queryIp);
      return STOP;
    }
    return GO;
  }

  private walk(): void {
    const sink = this.sink;
    const stats = this.stats;
    const queue = this.queue;
    let ip = this.ip;
    for (;;) {
      // Events wait until the TNT bits before them are used up (libipt: pts_event_pending is
      // signalled only with an empty TNT cache).
      if (this.broken) return;
      let peek = 0;
      if (this.tntCount === 0) {
        peek = this.peek;
        if (peek >= P_PGE && peek !== P_PGD || this.queue.length !== 0) {
          // Rare: events to report, an event IP to stop at, an overflow, an error, the end.
          const r = this.beforeRun(ip);
          if (r === STOP) return;
          if (r === AGAIN) {
            ip = this.ip;
            continue;
          }
          peek = this.peek;
        }
      }
      if (ip < this.secStart || ip >= this.secEnd) {
        if (!this.enterSection(ip)) return;
      }
      const cache = this.cache!;
      const start = this.secStart;
      let off = ip - start;
      let n = cache.runCount[off]!;
      if (n === 0) n = cache.fill(off);
      const last = cache.runLast[off]!;
      if ((peek === P_ASYNC || peek === P_BOUND) && this.asyncFrom > ip && this.asyncFrom <= start + last) {
        // The event's IP is inside this run: stop there if it is an instruction boundary.
        const stopAt = this.asyncFrom - start;
        let k = 0;
        let prev = off;
        while (off < stopAt) {
          prev = off;
          off += cache.length[off]!;
          k++;
        }
        if (off === stopAt) {
          this.queryIp = start + prev;
          sink.range(ip, this.asyncFrom, k, this.ctx, this.secIndex, this.bitness, this.clock.queryTime, this.speculative);
          stats.instructions += k;
          stats.ranges++;
          ip = this.asyncFrom;
          continue;
        }
      }
      const cls = cache.cls[last]!;
      const lastIp = start + last;
      const len = cache.length[last]!;
      if (cls >= X86Class.INVALID) {
        // The run up to the undecodable instruction, then the error at it.
        if (n > 1) {
          sink.range(ip, lastIp, n - 1, this.ctx, this.secIndex, this.bitness, this.clock.queryTime, this.speculative);
          stats.instructions += n - 1;
          stats.ranges++;
        }
        if (cls === X86Class.INVALID) this.fail('bad_insn', this.peekOff, lastIp);
        else this.fail('nomap', this.peekOff, lastIp + 0);
        return;
      }
      const next = lastIp + len;
      if (n > 1 && queue.length !== 0 && this.headBind() === BIND_VMCS) {
        const after = this.vmptrldIn(ip, n);
        if (!Number.isNaN(after)) {
          ip = after;
          continue;
        }
      }
      sink.range(ip, next, n, this.ctx, this.secIndex, this.bitness, this.clock.queryTime, this.speculative);
      stats.instructions += n;
      stats.ranges++;
      switch (cls) {
        case X86Class.COND_JUMP: {
          if (this.tntCount === 0 && this.peek === P_PGD && !Number.isNaN(this.peekIp)) {
            this.disable(this.peekIp, Number.NaN);
            this.readAhead();
            return;
          }
          const bit = this.tntBit(lastIp, next);
          if (bit < 0) {
            if (bit === -3) return;
            if (bit === -2) this.fail(this.peekErrCode, this.peekOff, lastIp, this.peekErrMsg);
            else this.failQuery(lastIp);
            return;
          }
          ip = bit === 1 ? cache.target[last]! : next;
          break;
        }
        case X86Class.JUMP:
        case X86Class.CALL: {
          const to = cache.target[last]!;
          if (this.tntCount === 0 && this.peek === P_PGD && this.disablesAt(to)) {
            this.disable(this.peekIp, to);
            this.readAhead();
            return;
          }
          if (cls === X86Class.CALL && to !== next) this.stack.push(next);
          ip = to;
          break;
        }
        case X86Class.RETURN: {
          if (this.tntCount !== 0 || this.peek === P_TNT) {
            const bit = this.tntBit(lastIp, next);
            if (bit === -3) return;
            if (bit === -2) {
              this.fail(this.peekErrCode, this.peekOff, lastIp, this.peekErrMsg);
              return;
            }
            if (bit === 0) {
              this.fail('bad_retcomp', this.peekOff, lastIp);
              return;
            }
            const to = this.stack.pop();
            if (Number.isNaN(to)) {
              this.fail('retstack_empty', this.peekOff, lastIp);
              return;
            }
            ip = to;
            break;
          }
          if (!this.indirect(lastIp, next, Number.NaN)) return;
          ip = this.ip;
          break;
        }
        case X86Class.IND_JUMP:
        case X86Class.IND_CALL:
          if (cls === X86Class.IND_CALL) this.stack.push(next);
          if (!this.indirect(lastIp, next, cls === X86Class.IND_CALL ? next : Number.NaN)) return;
          ip = this.ip;
          break;
        case X86Class.MOV_CR3:
          if (queue.length !== 0) this.bindPaging(cls, next);
          if (this.peek === P_PGD && Number.isNaN(this.peekIp)) {
            this.disable(Number.NaN, next);
            this.readAhead();
            return;
          }
          ip = next;
          break;
        case X86Class.PTWRITE:
          if (queue.length !== 0) this.afterPtwrite(lastIp);
          ip = next;
          break;
        default:
          if (isFarClass(cls)) {
            if (queue.length !== 0) this.bindPaging(cls, next);
            const isCall = cls === X86Class.FAR_CALL || cls === X86Class.SYSCALL || cls === X86Class.INT || cls === X86Class.VM_EXIT;
            if (!this.indirect(lastIp, next, isCall ? next : Number.NaN, true)) return;
            ip = this.ip;
            break;
          }
          // OTHER (a run cut by length).
          ip = next;
      }
    }
  }

  /**
   * A TIP.PGD is next: does it disable tracing at a direct branch to `to`? Yes when its IP is
   * `to`; with SKL014 also when its IP is suppressed and `to` is outside the address filter.
   */
  private disablesAt(to: number): boolean {
    if (this.peekIp === to) return true;
    return Number.isNaN(this.peekIp) && this.errata.skl014 && this.filter !== undefined && !addrFiltered(this.filter, to);
  }

  /**
   * A VMCS waits for a VMPTRLD: if the run from `ip` (`n` instructions) has one before its last
   * instruction, reports the run up to and including it, binds the VMCS there and returns the IP
   * after it; NaN when there is none.
   */
  private vmptrldIn(ip: number, n: number): number {
    const cache = this.cache!;
    const bytes = this.image.sections[this.secIndex]!.bytes;
    let off = ip - this.secStart;
    for (let k = 1; k < n; k++) {
      const len = cache.length[off]!;
      if (isVmptrld(bytes, off, len)) {
        const next = this.secStart + off + len;
        this.sink.range(ip, next, k, this.ctx, this.secIndex, this.bitness, this.clock.queryTime, this.speculative);
        this.stats.instructions += k;
        this.stats.ranges++;
        this.bindPaging(X86Class.OTHER, next);
        return next;
      }
      off += len;
    }
    return Number.NaN;
  }

  /**
   * Takes the TIP (or TIP.PGD) of an indirect or far transfer at `at` (the next instruction at
   * `next`; `resume`: where flow would resume if tracing stops here; `far`: a far transfer);
   * false when the walk stops.
   */
  private indirect(at: number, next: number, resume: number, far = false): boolean {
    for (;;) {
      const peek = this.peek;
      if (peek === P_TIP) {
        if (Number.isNaN(this.peekIp)) {
          this.takeMode(Number.NaN);
          this.fail('noip', this.peekOff, at);
          return false;
        }
        const time = this.clockNow();
        this.queryIp = at;
        this.ip = this.peekIp;
        this.takeMode(this.ip);
        this.readAhead();
        if (this.broken) return false;
        if ((this.peek as number) === P_ERROR && this.peekErrCode !== 'eos') {
          this.fail(this.peekErrCode, this.peekOff, at, this.peekErrMsg);
          return false;
        }
        if (this.tick) this.tickAt(next, time);
        return true;
      }
      // An IP-less TIP.PGD binds to far transfers only (libipt); at a near one it is a mismatch.
      if (this.tntCount === 0 && peek === P_PGD && (far || !Number.isNaN(this.peekIp))) {
        this.disable(this.peekIp, resume);
        this.readAhead();
        return false;
      }
      if (this.tntCount === 0 && peek === P_TNT) {
        // libipt's indirect query takes a TNT into the empty cache and looks on for the TIP.
        this.queryIp = at;
        this.tntLo = this.peekLo;
        this.tntHi = this.peekHi;
        this.tntCount = this.peekBits;
        this.readAhead();
        if (this.broken) return false;
        if ((this.peek as number) === P_ERROR && this.peekErrCode !== 'eos') {
          this.fail(this.peekErrCode, this.peekOff, at, this.peekErrMsg);
          return false;
        }
        continue;
      }
      if (this.tntCount === 0 && peek === P_PGE && this.queue.length === 0) {
        this.fail('bad_context', this.peekOff, this.queryIp);
        return false;
      }
      this.failQuery(at);
      return false;
    }
  }

  /**
   * The flow reached the FUP of an asynchronous event: events bound to that IP (a TSX abort, a
   * CFE), then the branch to the TIP's target (libipt's order: the branch, VMCS, paging, mode)
   * or the disable. SKD022: an asynchronous disable at VMLAUNCH/VMRESUME is a disable after it.
   */
  private takeAsync(): void {
    const to = this.peekIp;
    const from = this.asyncFrom;
    this.asyncFrom = Number.NaN;
    if (this.queue.length !== 0) this.deliver(from);
    if (this.asyncDisable) {
      if (this.errata.skd022 && this.vmEntryAt(from)) return;
      // A MODE.Exec from before the FUP binds to the TIP.PGD: libipt reports it first.
      this.takeMode(to);
      this.enabled = false;
      this.resumeIp = from;
      this.go('DISABLE');
      this.emit(FlowEvent.DISABLED, from, 0, to, EV_ASYNC);
      this.asyncEffects(to);
      this.pendingMode = this.asyncMode !== 0 ? this.asyncMode : this.pendingMode;
      this.readAhead();
      return;
    }
    this.emit(FlowEvent.INTERRUPT, from, 0, to, 0);
    this.asyncEffects(to);
    if (this.asyncMode !== 0) this.pendingMode = this.asyncMode;
    this.takeMode(to);
    if (Number.isNaN(to)) {
      this.fail('noip', this.peekOff, from);
      return;
    }
    this.ip = to;
    this.readAhead();
  }

  /** VMCS and PIP read between the FUP and the TIP: asynchronous events at `to`. */
  private asyncEffects(to: number): void {
    if (!Number.isNaN(this.asyncVmcs)) {
      this.apply(FlowEvent.VMCS, this.asyncVmcs, 0);
      this.emit(FlowEvent.VMCS, to, this.asyncVmcs, Number.NaN, EV_ASYNC);
      this.asyncVmcs = Number.NaN;
    }
    if (!Number.isNaN(this.asyncCr3)) {
      const flags = EV_ASYNC | (this.asyncNr ? EV_NR : 0);
      this.apply(FlowEvent.PAGING, this.asyncCr3, flags);
      this.emit(FlowEvent.PAGING, to, this.asyncCr3, Number.NaN, flags);
      this.asyncCr3 = Number.NaN;
    }
  }

  /** SKD022: the instruction at `ip` is a VM entry: it runs, then tracing is disabled (true). */
  private vmEntryAt(ip: number): boolean {
    if ((ip < this.secStart || ip >= this.secEnd) && !this.enterSection(ip)) return true;
    const off = ip - this.secStart;
    const cache = this.cache!;
    if (cache.runCount[off] === 0) cache.fill(off);
    if (cache.cls[off] !== X86Class.VM_ENTRY) return false;
    const next = ip + cache.length[off]!;
    this.sink.range(ip, next, 1, this.ctx, this.secIndex, this.bitness, this.clock.queryTime, this.speculative);
    this.stats.instructions++;
    this.stats.ranges++;
    this.disable(Number.NaN, Number.NaN);
    this.asyncEffects(Number.NaN);
    this.readAhead();
    return true;
  }
}

/** MODE.Exec CS.L / CS.D → bitness (64, 32, 16); (1,1) is reserved: treated as 64. */
function modeBits(csl: number, csd: number): number {
  return csl ? 64 : csd ? 32 : 16;
}

/** For messages. */
export function flowIp(ip: number): string {
  return Number.isNaN(ip) ? '0000000000000000' : formatAddr(ip);
}
