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
// - An error is reported with the trace offset and IP; decoding stops, or with resyncOnError
//   starts over at the next PSB after the error.

import { formatAddr } from '../../../common/address.js';
import { X86Class, isFarClass } from '../../isa/classify.js';
import { PT_END, PT_ERROR, PtPacketDecoder } from '../decoder.js';
import { PtLastIp } from '../last-ip.js';
import {
  PT_CBR, PT_EXSTOP, PT_FUP, PT_MODE_EXEC, PT_MODE_TSX, PT_OVF, PT_PIP, PT_PSB, PT_PSBEND, PT_PTW, PT_STOP, PT_TIP,
  PT_TIP_PGD, PT_TIP_PGE, PT_TNT_64, PT_TNT_8, PT_TSC, PT_VMCS, PT_CYC, PT_MTC, PT_TMA, PT_PAD, PT_MNT,
} from '../opcodes.js';
import type { PtPacket } from '../packet.js';
import type { PtBlockCache } from './block-cache.js';
import { flowErrorMessage } from './errors.js';
import type { PtImage } from './image.js';
import { type FlowState, flowTransition } from './lifecycle.js';
import { FlowReturnStack } from './return-stack.js';
import { FlowEvent, type FlowSink } from './sink.js';
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

const TWO32 = 4294967296;

export interface PtFlowOptions {
  /** Continue at the next PSB after an error (ptxed --resync-on-error). */
  resyncOnError?: boolean;
  /** Timing configuration (ptxed --mtc-freq, --nom-freq, --cpuid-0x15.*). */
  time?: PtTimeConfig;
  /** Context id for a CR3 / NR / bitness, given in ranges; called only when one of them changes. */
  contextOf?: (cr3: number, nr: boolean, bitness: number) => number;
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

  // Flow state.
  private ip = 0;
  private enabled = false;
  private cr3 = Number.NaN;
  private nr = false;
  private bitness: 16 | 32 | 64 = 64;
  private ctx = 0;
  /** Time from the timing packets read so far (libipt's query-decoder time). */
  readonly clock: PtClock;
  /** PIP seen while tracing: applied at the next MOV CR3 (NaN: none). */
  private pendingCr3 = Number.NaN;
  private pendingNr = false;
  /** MODE.Exec seen: applied at the next TIP / TIP.PGE (0: none). */
  private pendingMode = 0;
  /** A FUP that belongs to the packet before it (PTW, EXSTOP, MODE.TSX), not an async branch. */
  private fupBound = false;

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
  /** P_ERROR: the packet decoder's error. */
  private peekErrCode = '';
  private peekErrMsg = '';
  /** A packet read after an OVF that is not FUP: processed by the next read-ahead. */
  private held: PtPacket | null = null;
  /** Offset of the first event packet (PIP, MODE, PSB, …) the last read-ahead applied; -1 none. */
  private aheadEventOff = -1;
  /** peek P_ERROR came from an event (reported at the next instruction, like events). */
  private eventError = false;

  // The current section, for the lookup of the next run.
  private secStart = 0;
  private secEnd = 0;
  private secCr3 = Number.NaN;
  private secIndex = -1;
  private cache: PtBlockCache | null = null;

  private done = false;
  /** Offset of the PSB of the last sync (-1: none yet). */
  private syncOff = -1;
  /** An error was reported: the walk stops until the next sync. */
  private broken = false;

  constructor(
    private readonly image: PtImage,
    private readonly sink: FlowSink,
    options: PtFlowOptions = {},
  ) {
    this.resync = options.resyncOnError === true;
    this.contextOf = options.contextOf ?? (() => 0);
    this.clock = new PtClock(options.time);
  }

  /** The trace offset of the next packet the flow will consume (libipt's decoder position). */
  get offset(): number {
    return this.peekOff;
  }

  /** Decodes a whole trace. */
  decode(trace: Uint8Array): void {
    this.trace = trace;
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
    this.pendingCr3 = Number.NaN;
    this.pendingMode = 0;
    this.fupBound = false;
    this.asyncFrom = Number.NaN;
    this.secIndex = -1;
    this.secStart = this.secEnd = 0;
  }

  /** Finds the next PSB and reads its PSB+. */
  private sync(): void {
    this.resetFlow();
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
    if (this.peek !== P_OVF) this.readAhead();
    // libipt processes the first pending event inside its sync: an error there ends decoding.
    if ((this.peek as number) === P_ERROR && this.eventError) this.fail(this.peekErrCode, this.peekOff, Number.NaN, this.peekErrMsg, true);
  }

  private finish(): void {
    this.done = true;
    if (this.state !== 'ended') this.go('END');
  }

  /** Reports an error; stops, or resyncs at the next PSB after `offset`. */
  private fail(code: string, offset: number, ip: number, message: string = flowErrorMessage(code), fatal = false): void {
    this.stats.errors++;
    this.broken = true;
    this.sink.error({ code, offset, ip, message });
    this.go('ERROR');
    if (!this.resync || fatal) {
      this.done = true;
      return;
    }
    // libipt searches the next PSB from its position, skipping the PSB it last synced at.
    const from = offset === this.syncOff ? offset + 16 : offset;
    this.startAt(Math.min(from, this.trace.length));
  }

  /** The error for a query that found `peek` instead of what it wanted. */
  private failQuery(ip: number): void {
    if (this.peek === P_END) {
      this.finish();
      return;
    }
    if (this.peek === P_ERROR) {
      this.fail(this.peekErrCode, this.peekOff, ip, this.peekErrMsg);
      return;
    }
    this.fail('bad_query', this.errOff(), ip);
  }

  /**
   * The decoder position libipt would report: with TNT bits left it has not fetched the events
   * read after the TNT packet yet, so it stands at the first of them.
   */
  private errOff(): number {
    if (this.tntCount > 0) return this.aheadEventOff >= 0 ? this.aheadEventOff : this.peekOff;
    // With the TNT cache empty libipt has fetched a pending event already and stands after it.
    const peek = this.peek;
    return peek === P_PGD || peek === P_PGE || peek === P_ASYNC ? this.peekEnd : this.peekOff;
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
   * and a FUP enables tracing at its IP. Later: checks. Returns false after an error.
   */
  private psbPlus(first: boolean): boolean {
    const pk = this.pk;
    const p = pk.packet;
    // libipt reports a bad PSB+ at the PSB; one met while syncing ends decoding.
    const psbOff = p.offset + this.base;
    this.lastIp.reset();
    let fup = Number.NaN;
    let mode = 0;
    let cr3 = Number.NaN;
    let nr = false;
    for (;;) {
      const t = pk.next();
      switch (t) {
        case PT_PSBEND:
          break;
        case PT_FUP:
          this.lastIp.update(p.ipc, p.lo, p.hi);
          fup = this.lastIp.ip;
          continue;
        case PT_PIP:
          cr3 = p.cr3;
          nr = p.nr === 1;
          continue;
        case PT_MODE_EXEC:
          mode = modeBits(p.csl, p.csd);
          continue;
        case PT_TSC: case PT_TMA: case PT_MTC: case PT_CYC: case PT_CBR:
          this.timing(t, p);
          continue;
        case PT_PAD: case PT_VMCS: case PT_MNT: case PT_MODE_TSX:
          continue;
        case PT_OVF:
          // OVF ends PSB+ (its status is dropped): flow resumes as after any overflow.
          this.overflow();
          return true;
        case PT_END:
          this.finish();
          return false;
        case PT_ERROR:
          this.packetError();
          this.fail(this.peekErrCode, psbOff, Number.NaN, this.peekErrMsg, first);
          return false;
        default:
          this.fail('bad_context', psbOff, first ? Number.NaN : this.ip, flowErrorMessage('bad_context'), first);
          return false;
      }
      break;
    }
    if (first) {
      if (!Number.isNaN(cr3)) {
        this.cr3 = cr3;
        this.nr = nr;
        this.sink.event(FlowEvent.PAGING, Number.NaN, cr3);
      }
      if (mode !== 0) {
        this.bitness = mode as 16 | 32 | 64;
        this.sink.event(FlowEvent.EXEC_MODE, Number.NaN, mode);
      }
      this.ctx = this.contextOf(this.cr3, this.nr, this.bitness);
      if (!Number.isNaN(fup)) {
        this.ip = fup;
        this.enabled = true;
        this.sink.event(FlowEvent.ENABLED, fup, 0);
        this.go('SYNC_ENABLED');
      } else {
        this.go('SYNC_DISABLED');
      }
      return true;
    }
    // A later PSB+: the execution mode must agree with the flow's.
    const expect = this.pendingMode !== 0 ? this.pendingMode : this.bitness;
    if (this.enabled && mode !== 0 && mode !== expect) {
      this.fail('bad_status_update', psbOff, this.ip);
      return false;
    }
    if (!this.enabled && !Number.isNaN(cr3) && cr3 !== this.cr3) this.setCr3(cr3, nr);
    return true;
  }

  private setCr3(cr3: number, nr: boolean): void {
    this.cr3 = cr3;
    this.nr = nr;
    this.ctx = this.contextOf(cr3, nr, this.bitness);
    this.sink.event(FlowEvent.PAGING, Number.NaN, cr3);
  }

  private setMode(mode: number): void {
    if (mode === this.bitness) return;
    this.bitness = mode as 16 | 32 | 64;
    this.ctx = this.contextOf(this.cr3, this.nr, this.bitness);
    this.secIndex = -1;
    this.secStart = this.secEnd = 0;
    this.sink.event(FlowEvent.EXEC_MODE, Number.NaN, mode);
  }

  /**
   * Reads packets up to the next one the flow consumes, applying the others; sets `peek`.
   */
  private readAhead(): void {
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
          if (this.fupBound) {
            this.fupBound = false;
            continue;
          }
          this.asyncEvent(this.lastIp.ip, p.offset + this.base);
          return;
        case PT_PIP:
          if (this.aheadEventOff < 0) this.aheadEventOff = p.offset + this.base;
          if (this.enabled) {
            this.pendingCr3 = p.cr3;
            this.pendingNr = p.nr === 1;
          } else {
            this.setCr3(p.cr3, p.nr === 1);
          }
          continue;
        case PT_MODE_EXEC:
          if (this.aheadEventOff < 0) this.aheadEventOff = p.offset + this.base;
          this.pendingMode = modeBits(p.csl, p.csd);
          continue;
        case PT_TSC: case PT_TMA: case PT_MTC: case PT_CYC: case PT_CBR:
          this.timing(t, p);
          continue;
        case PT_PSB:
          if (this.aheadEventOff < 0) this.aheadEventOff = p.offset + this.base;
          if (!this.psbPlus(false)) return;
          if (this.peek === P_OVF) return;
          continue;
        case PT_OVF:
          this.overflow();
          return;
        case PT_MODE_TSX:
          this.fupBound = this.enabled;
          this.sink.event(FlowEvent.TSX, Number.NaN, p.abrt ? 2 : p.intx ? 1 : 0);
          continue;
        case PT_EXSTOP:
          if (p.ipFlag) this.fupBound = true;
          this.sink.event(FlowEvent.EXSTOP, Number.NaN, 0);
          continue;
        case PT_PTW:
          if (p.ipFlag) this.fupBound = true;
          this.sink.event(FlowEvent.PTWRITE, Number.NaN, p.hi * TWO32 + p.lo);
          continue;
        case PT_STOP:
          this.sink.event(FlowEvent.STOPPED, Number.NaN, 0);
          continue;
        case PT_END:
          this.peek = P_END;
          this.peekOff = this.trace.length;
          return;
        case PT_ERROR:
          this.packetError();
          return;
        default:
          // PAD, VMCS, MNT, power and Event Trace packets.
          continue;
      }
    }
  }

  /** After a FUP while tracing: the rest of the asynchronous event, up to its TIP or TIP.PGD. */
  private asyncEvent(from: number, offset: number): void {
    const pk = this.pk;
    const p = pk.packet;
    this.asyncCr3 = Number.NaN;
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
        case PT_MODE_EXEC:
          this.pendingMode = modeBits(p.csl, p.csd);
          continue;
        case PT_TSC: case PT_TMA: case PT_MTC: case PT_CYC: case PT_CBR:
          this.timing(t, p);
          continue;
        case PT_PAD: case PT_VMCS: case PT_MNT:
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
          this.peekOff = p.offset + this.base;
          this.peekErrCode = 'bad_context';
          this.peekErrMsg = flowErrorMessage('bad_context');
          this.eventError = true;
          return;
      }
    }
  }

  /**
   * An OVF: packets were lost. State is reset except timing; the flow resumes at the FUP that
   * follows (only timing packets may come between) or stays disabled until a TIP.PGE.
   */
  private overflow(): void {
    const pk = this.pk;
    const p = pk.packet;
    this.tntCount = 0;
    this.pendingCr3 = Number.NaN;
    this.pendingMode = 0;
    this.fupBound = false;
    this.asyncFrom = Number.NaN;
    this.peekOff = p.offset + this.base;
    this.go('OVERFLOW');
    for (;;) {
      const t = this.nextPacket();
      switch (t) {
        case PT_TSC: case PT_TMA: case PT_MTC: case PT_CYC: case PT_CBR:
          this.timing(t, p);
          continue;
        case PT_PAD:
          continue;
        case PT_FUP:
          this.lastIp.update(p.ipc, p.lo, p.hi);
          this.peek = P_OVF;
          this.peekOff = p.offset + this.base;
          this.peekIp = this.lastIp.ip;
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

  /** A timing packet (TSC, TMA, MTC, CYC, CBR). */
  private timing(type: number, p: PtPacket): void {
    const c = this.clock;
    switch (type) {
      case PT_TSC: c.tsc(p.lo, p.hi); break;
      case PT_TMA: c.tma(p.ctc, p.fc); break;
      case PT_MTC: c.mtc(p.ctc); break;
      case PT_CYC: c.cyc(p.lo, p.hi); break;
      default: c.cbr(p.ratio);
    }
  }

  /** Applies a resolved OVF (peek P_OVF) and reads on. */
  private takeOverflow(): void {
    const resume = this.peekIp;
    this.sink.event(FlowEvent.OVERFLOW, resume, 0);
    if (Number.isNaN(resume)) {
      this.enabled = false;
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
    switch (this.peek) {
      case P_PGE: {
        const ip = this.peekIp;
        if (this.pendingMode !== 0) {
          this.setMode(this.pendingMode);
          this.pendingMode = 0;
        }
        this.ip = ip;
        this.enabled = true;
        this.go('ENABLE');
        this.sink.event(FlowEvent.ENABLED, ip, 0);
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
        this.fail(this.peekErrCode, this.peekOff, Number.NaN, this.peekErrMsg);
        return;
      default:
        this.fail('no_enable', this.peekOff, Number.NaN);
    }
  }

  private disable(ip: number): void {
    this.enabled = false;
    this.go('DISABLE');
    this.sink.event(FlowEvent.DISABLED, ip, 0);
  }

  // Tracing enabled: the walk ----------------------------------------------------------------

  /** Finds the section of `ip`; false (after reporting nomap) when there is none. */
  private enterSection(ip: number): boolean {
    const i = this.image.find(this.cr3, ip);
    if (i < 0) {
      this.fail('nomap', this.peekOff, ip);
      return false;
    }
    const s = this.image.sections[i]!;
    this.secIndex = i;
    this.secStart = s.start;
    this.secEnd = s.end;
    this.secCr3 = this.cr3;
    this.cache = this.image.cache(i, this.bitness);
    return true;
  }

  /** A TNT bit (1/0), or -1 when there is none (the caller reports why). */
  private tntBit(): number {
    if (this.tntCount === 0) {
      if (this.peek !== P_TNT) return -1;
      this.tntLo = this.peekLo;
      this.tntHi = this.peekHi;
      this.tntCount = this.peekBits;
      this.readAhead();
      if (this.broken) return -3;
      if ((this.peek as number) === P_ERROR) return -2;
    }
    const n = --this.tntCount;
    return n >= 32 ? (this.tntHi >>> (n - 32)) & 1 : (this.tntLo >>> n) & 1;
  }

  private walk(): void {
    const sink = this.sink;
    const stats = this.stats;
    let ip = this.ip;
    for (;;) {
      // Events wait until the TNT bits before them are used up (libipt: pts_event_pending is
      // signalled only with an empty TNT cache).
      if (this.broken) return;
      const peek = this.tntCount === 0 ? this.peek : 0;
      if (peek === P_ASYNC && ip === this.asyncFrom) {
        this.ip = ip;
        this.takeAsync();
        return;
      }
      if (peek === P_OVF) {
        this.takeOverflow();
        return;
      }
      if (peek === P_ERROR && this.eventError) {
        this.fail(this.peekErrCode, this.peekOff, ip, this.peekErrMsg);
        return;
      }
      if (ip < this.secStart || ip >= this.secEnd || this.cr3 !== this.secCr3) {
        if (!this.enterSection(ip)) return;
      }
      const cache = this.cache!;
      const start = this.secStart;
      let off = ip - start;
      let n = cache.runCount[off]!;
      if (n === 0) n = cache.fill(off);
      const last = cache.runLast[off]!;
      if (peek === P_ASYNC && this.asyncFrom > ip && this.asyncFrom <= start + last) {
        // The event's IP is inside this run: stop there if it is an instruction boundary.
        const stopAt = this.asyncFrom - start;
        let k = 0;
        while (off < stopAt) {
          off += cache.length[off]!;
          k++;
        }
        if (off === stopAt) {
          sink.range(ip, this.asyncFrom, k, this.ctx, this.secIndex, this.bitness, this.clock.time);
          stats.instructions += k;
          stats.ranges++;
          this.ip = this.asyncFrom;
          this.takeAsync();
          return;
        }
      }
      const cls = cache.cls[last]!;
      const lastIp = start + last;
      const len = cache.length[last]!;
      if (cls >= X86Class.INVALID) {
        // The run up to the undecodable instruction, then the error at it.
        if (n > 1) {
          sink.range(ip, lastIp, n - 1, this.ctx, this.secIndex, this.bitness, this.clock.time);
          stats.instructions += n - 1;
          stats.ranges++;
        }
        if (cls === X86Class.INVALID) this.fail('bad_insn', this.peekOff, lastIp);
        else this.fail('nomap', this.peekOff, lastIp + 0);
        return;
      }
      const next = lastIp + len;
      sink.range(ip, next, n, this.ctx, this.secIndex, this.bitness, this.clock.time);
      stats.instructions += n;
      stats.ranges++;
      switch (cls) {
        case X86Class.COND_JUMP: {
          if (this.tntCount === 0 && this.peek === P_PGD && !Number.isNaN(this.peekIp)) {
            this.disable(lastIp);
            this.readAhead();
            return;
          }
          const bit = this.tntBit();
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
          if (this.tntCount === 0 && this.peek === P_PGD && this.peekIp === to) {
            this.disable(lastIp);
            this.readAhead();
            return;
          }
          if (cls === X86Class.CALL && to !== next) this.stack.push(next);
          ip = to;
          break;
        }
        case X86Class.RETURN: {
          if (this.tntCount !== 0 || this.peek === P_TNT) {
            const bit = this.tntBit();
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
          if (!this.indirect(lastIp)) return;
          ip = this.ip;
          break;
        }
        case X86Class.IND_JUMP:
        case X86Class.IND_CALL:
          if (cls === X86Class.IND_CALL) this.stack.push(next);
          if (!this.indirect(lastIp)) return;
          ip = this.ip;
          break;
        case X86Class.MOV_CR3:
          if (!Number.isNaN(this.pendingCr3)) {
            this.setCr3(this.pendingCr3, this.pendingNr);
            this.pendingCr3 = Number.NaN;
          }
          if (this.peek === P_PGD && Number.isNaN(this.peekIp)) {
            this.disable(Number.NaN);
            this.readAhead();
            return;
          }
          ip = next;
          break;
        default:
          if (isFarClass(cls)) {
            if (!this.indirect(lastIp)) return;
            ip = this.ip;
            break;
          }
          // OTHER (a run cut by length) and PTWRITE.
          ip = next;
      }
    }
  }

  /** Takes the TIP (or TIP.PGD) of an indirect or far transfer at `at`; false when the walk stops. */
  private indirect(at: number): boolean {
    for (;;) {
      const peek = this.peek;
      if (peek === P_TIP) {
        if (this.pendingMode !== 0) {
          this.setMode(this.pendingMode);
          this.pendingMode = 0;
        }
        if (Number.isNaN(this.peekIp)) {
          this.fail('noip', this.peekOff, at);
          return false;
        }
        this.ip = this.peekIp;
        this.readAhead();
        if (this.broken) return false;
        if ((this.peek as number) === P_ERROR) {
          this.fail(this.peekErrCode, this.peekOff, at, this.peekErrMsg);
          return false;
        }
        return true;
      }
      if (this.tntCount === 0 && peek === P_PGD) {
        this.disable(this.peekIp);
        this.readAhead();
        return false;
      }
      if (this.tntCount === 0 && peek === P_TNT) {
        // libipt's indirect query takes a TNT into the empty cache and looks on for the TIP.
        this.tntLo = this.peekLo;
        this.tntHi = this.peekHi;
        this.tntCount = this.peekBits;
        this.readAhead();
        if (this.broken) return false;
        if ((this.peek as number) === P_ERROR) {
          this.fail(this.peekErrCode, this.peekOff, at, this.peekErrMsg);
          return false;
        }
        continue;
      }
      this.failQuery(at);
      return false;
    }
  }

  /** The flow reached the FUP of an asynchronous event: branch to the TIP's target or disable. */
  private takeAsync(): void {
    const to = this.peekIp;
    const from = this.asyncFrom;
    this.asyncFrom = Number.NaN;
    if (!Number.isNaN(this.asyncCr3)) {
      this.setCr3(this.asyncCr3, this.asyncNr);
      this.asyncCr3 = Number.NaN;
    }
    if (this.asyncDisable) {
      this.disable(from);
      this.readAhead();
      return;
    }
    this.sink.event(FlowEvent.INTERRUPT, from, 0);
    if (this.pendingMode !== 0) {
      this.setMode(this.pendingMode);
      this.pendingMode = 0;
    }
    if (Number.isNaN(to)) {
      this.fail('noip', this.peekOff, from);
      return;
    }
    this.ip = to;
    this.readAhead();
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
