// The read-ahead: packets up to the next one the flow consumes (TNT, TIP, TIP.PGE, TIP.PGD, a
// whole FUP…TIP asynchronous event, a FUP that events bind to), applying or queueing the others.

import { PT_END, PT_ERROR, PtPacketDecoder } from '../decoder.js';
import {
  PT_CBR, PT_EXSTOP, PT_FUP, PT_MODE_EXEC, PT_MODE_TSX, PT_OVF, PT_PIP, PT_PSB, PT_PTW, PT_STOP, PT_TIP,
  PT_TIP_PGD, PT_TIP_PGE, PT_TNT_64, PT_TNT_8, PT_TSC, PT_VMCS, PT_CYC, PT_MTC, PT_TMA, PT_PAD, PT_MNT,
  PT_MWAIT, PT_PWRE, PT_PWRX, PT_CFE, PT_EVD,
} from '../opcodes.js';
import { flowErrorMessage } from './errors.js';
import { BIND_IP, BIND_NOW, BIND_PIP, BIND_PTWRITE, BIND_VMCS } from './event-queue.js';
import { cfeEventKind, cfeIsAsync } from './event-kinds.js';
import { EV_NR, FlowEvent } from './sink.js';
import { modeBits, P_TNT, P_TIP, P_PGE, P_PGD, P_ASYNC, P_OVF, P_END, P_ERROR, P_BOUND, BIND_FUP, deferredError } from './flow-core.js';
import { PtFlowPsb } from './flow-psb.js';

const TWO32 = 4294967296;

/** Event packets libipt's read-ahead stops at (besides PIP, MODE.Exec and PSB, which note it themselves). */
const EVENT_PACKET = new Uint8Array(32);
for (const t of [PT_VMCS, PT_CBR, PT_MODE_TSX, PT_EXSTOP, PT_MWAIT, PT_PTW, PT_PWRE, PT_PWRX, PT_MNT, PT_STOP, PT_OVF]) EVENT_PACKET[t] = 1;

export abstract class PtFlowReader extends PtFlowPsb {
  /**
   * Reads packets up to the next one the flow consumes, applying the others; sets `peek`.
   * Events are queued for their place in the flow. Called right after the flow took the
   * packet in `peek`: libipt's query preserves the time there (latch). The event packet it
   * stops at, or the last one on the way, libipt fetches (and latches at) once the TNT bits
   * are used up (mark; latchMark when they are already).
   */
  protected readAhead(): void {
    const c = this.clock;
    c.latch();
    if (!this.readTnt8()) this.readPackets();
    const peek = this.peek;
    if (peek === P_ASYNC || peek === P_PGE || peek === P_PGD || peek === P_OVF) c.mark();
    if (this.tntCount === 0) this.tntEmptied(this.queryIp);
  }

  /**
   * The TNT cache is used up (its last bit taken by the instruction at `at`): libipt fetches the
   * next event now, reading ahead past it. What goes wrong there (the event does not decode, does
   * not fit, or the read-ahead after it fails) names this instruction; it is reported once the
   * instruction is done (its own errors come first), as an event error. True when that turned
   * `peek` into the error.
   */
  protected tntEmptied(at: number): boolean {
    this.clock.latchMark();
    // Usually a TNT or TIP is next: nothing to fetch. (Kept small: V8 inlines it into the walk.)
    const peek = this.peek;
    if (this.queue.length !== 0 || peek === P_TNT || peek === P_TIP) return false;
    return this.fetchAfterTnt(at);
  }

  /** tntEmptied() when an event or error may be next. */
  private fetchAfterTnt(at: number): boolean {
    const peek = this.peek;
    if ((peek === P_ERROR && this.eventError) || (peek === P_PGE && this.enabled)) {
      this.queryIp = at;
      return false;
    }
    if (peek !== P_PGD && peek !== P_ASYNC && peek !== P_BOUND) return false;
    const off = this.readAheadError(this.peekEnd);
    if (off < 0) return false;
    this.queryIp = at;
    this.peek = P_ERROR;
    this.peekOff = this.peekErrOff = off;
    this.peekErrCode = this.scanCode;
    this.peekErrMsg = flowErrorMessage(this.scanCode);
    this.eventError = true;
    return true;
  }

  /**
   * Where libipt stands when it rejects a TIP.PGE while tracing: after it (it has read on past
   * timing packets), or at it when a MODE.Exec before it was the event it fetched.
   */
  protected enableErrorOffset(): number {
    return this.pendingMode !== 0 ? this.peekOff : this.skipTiming(this.peekEnd);
  }

  /**
   * libipt's read-ahead from `off` (status and timing packets, up to the next flow or event
   * packet): the offset of the packet it fails at (its code in scanCode), or -1.
   */
  protected readAheadError(off: number): number {
    const s = (this.scanner ??= new PtPacketDecoder({ noSync: true, trig: this.trig }));
    s.restart(this.trace, off, true);
    for (;;) {
      const t = s.next();
      switch (t) {
        case PT_PAD: case PT_MTC: case PT_TSC: case PT_TMA: case PT_CYC:
          continue;
        case PT_ERROR: {
          const e = s.error!;
          const at = e.offset;
          if (e.code === 'eos' || (e.code === 'bad_packet' && deferredError(this.trace, at))) return -1;
          this.scanCode = e.code;
          return at;
        }
        default:
          return -1;
      }
    }
  }

  /** readPackets() when the next packet is a TNT-8 (the common case, kept small to inline). */
  private readTnt8(): boolean {
    if (this.held !== null || !this.pk.nextTnt8()) return false;
    const p = this.pk.packet;
    this.aheadEventOff = -1;
    this.eventError = false;
    this.peekBad = false;
    this.peek = P_TNT;
    this.peekOff = p.offset + this.base;
    this.peekLo = p.lo;
    this.peekHi = 0;
    this.peekBits = p.bits;
    return true;
  }

  /**
   * tntBit()'s refill in the common case, for the walk's hot loop: the TNT packet in `peek` is
   * taken by the branch at `at` and the packet after it is a TNT-8 too, so nothing but the bits
   * move (no event, timing packet, error or tick). False, with nothing changed, when that is not
   * so: refillAfterCyc() or tntBitSlow() then. Kept small: V8 inlines it into the walk, and
   * judges that by the size of what it inlines itself.
   */
  protected refillTnt8(at: number): boolean {
    const bits = this.peekBits;
    const lo = this.peekLo;
    const hi = this.peekHi;
    if (this.tick || this.peekBad || bits === 0 || this.held !== null || !this.readTnt8()) return false;
    this.queryIp = at;
    this.tntLo = lo;
    this.tntHi = hi;
    this.tntCount = bits;
    this.clock.latch();
    return true;
  }

  /**
   * refillTnt8() with cycle-accurate timing: a CYC of one or two bytes between the TNT packet in
   * `peek` and a TNT-8, so only the bits and the time move. 1: done; 0: not so, nothing changed,
   * tntBitSlow() does the whole of it; -1: the CYC failed (libipt's read-ahead stops there),
   * `peek` is the error as tntBitSlow() leaves it when it returns -2.
   */
  protected refillAfterCyc(at: number): number {
    const bits = this.peekBits;
    if (this.tick || this.peekBad || bits === 0 || this.held !== null) return 0;
    const pk = this.pk;
    if (!pk.nextCycBeforeTnt8()) return 0;
    // The TNT is taken (its time preserved) before the CYC after it moves the time.
    this.queryIp = at;
    this.tntLo = this.peekLo;
    this.tntHi = this.peekHi;
    this.tntCount = bits;
    this.clock.latch();
    const p = pk.packet;
    const code = this.clock.cyc(p.lo, p.hi);
    if (code !== '') {
      this.aheadEventOff = -1;
      this.peekBad = false;
      this.timingError(code, p.offset + this.base, false);
      return -1;
    }
    this.readTnt8();
    return 1;
  }

  protected readPackets(): void {
    const pk = this.pk;
    const p = pk.packet;
    this.aheadEventOff = -1;
    this.peek = 0;
    this.eventError = false;
    this.peekBad = false;
    for (;;) {
      const t = this.nextPacket();
      if (t === PT_CYC) {
        // The most common packet with cycle-accurate timing (before most TNTs), taken first.
        const code = this.clock.cyc(p.lo, p.hi);
        if (code === '') continue;
        this.timingError(code, p.offset + this.base, false);
        return;
      }
      // With TNT bits in hand libipt stands at the first event packet read after them.
      if (t >= 0 && EVENT_PACKET[t] === 1 && this.aheadEventOff < 0) this.aheadEventOff = p.offset + this.base;
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
          if (t === PT_TIP_PGE && this.fupDisabled) {
            // libipt's query for the TIP of a FUP read while disabled meets the enable instead.
            this.peek = P_ERROR;
            this.peekOff = this.peekErrOff = p.offset + this.base;
            this.peekErrCode = 'bad_context';
            this.peekErrMsg = flowErrorMessage('bad_context');
            return;
          }
          if (t === PT_TIP_PGE && p.ipc === 0) {
            // An enable must say where: libipt rejects the packet when it fetches the event.
            this.peek = P_ERROR;
            this.peekOff = this.peekErrOff = p.offset + this.base;
            this.peekErrCode = 'bad_packet';
            this.peekErrMsg = flowErrorMessage('bad_packet');
            this.eventError = true;
            return;
          }
          this.lastIp.update(p.ipc, p.lo, p.hi);
          if (t !== PT_TIP_PGE && !Number.isNaN(this.fupPending)) {
            // The TIP of an earlier FUP: an asynchronous branch (or disable) from the FUP's IP.
            this.peek = P_ASYNC;
            this.peekOff = p.offset + this.base;
            this.peekEnd = this.peekOff + p.size;
            this.asyncFrom = this.fupPending;
            this.fupPending = Number.NaN;
            this.asyncDisable = t === PT_TIP_PGD;
            this.asyncCr3 = this.asyncVmcs = Number.NaN;
            this.asyncMode = 0;
            this.peekIp = p.ipc === 0 ? Number.NaN : this.lastIp.ip;
            return;
          }
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
          if (p.ipc === 0) {
            // An asynchronous branch needs its source: libipt's read-ahead fails here.
            this.peek = P_ERROR;
            this.peekOff = p.offset + this.base;
            this.peekErrCode = 'ip_suppressed';
            this.peekErrMsg = flowErrorMessage('ip_suppressed');
            return;
          }
          this.asyncEvent(this.lastIp.ip, p.offset + this.base);
          // peek 0: a FUP while disabled that no TIP completed; the packet after it is held.
          if (this.peek === 0) continue;
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
          this.readError();
          return;
        default:
          // PAD, TRIG.
          continue;
      }
    }
  }

  /**
   * A packet that does not decode, met by the read-ahead. libipt's read-ahead only looks at the
   * opcode of flow and event packets and decodes them when it takes them: a bad TIP or TNT.64
   * fails the query that takes it, a bad event packet (TIP.PGE, TIP.PGD, MODE, PTW) fails
   * when the event is fetched. Other packets it decodes as it reads ahead: the query fails.
   */
  private readError(): void {
    this.packetError();
    if (this.peekErrCode !== 'bad_packet') return;
    const off = this.peekOff;
    const deferred = deferredError(this.trace, off);
    if (deferred === P_TIP || deferred === P_TNT) {
      this.peek = deferred;
      this.peekBad = true;
      this.peekIp = 0;
      this.peekBits = 0;
    } else if (deferred !== 0) {
      this.eventError = true;
      this.peekErrOff = off;
    }
  }

  /** An event packet: queued as bound (BIND_FUP waits for the next FUP, while tracing or not). */
  protected eventPacket(kind: number, value: number, extra: number, bind: number): void {
    if (bind === BIND_FUP) this.fupWaiting++;
    this.enqueue(kind, Number.NaN, value, extra, 0, bind);
  }

  /** Event Trace CFE: IP=1 binds to the FUP after it, IP=0 to the next FUP + TIP (SDM). */
  protected cfe(type: number, vector: number, ip: boolean): void {
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
  protected boundFup(ip: number, offset: number, size: number): boolean {
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
      // peek 0: no TIP followed; the read-ahead goes on (the next TIP completes the event).
      return this.peek !== 0;
    }
    if (q.bind[q.last] === BIND_PTWRITE) return false;
    this.peek = P_BOUND;
    this.peekOff = offset;
    this.peekEnd = offset + size;
    this.asyncFrom = ip;
    return true;
  }

  /** After a FUP while tracing: the rest of the asynchronous event, up to its TIP or TIP.PGD. */
  protected asyncEvent(from: number, offset: number): void {
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
          this.fupDisabled = false;
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
          // libipt queues the FUP's event for the next TIP and reads on as if the FUP had not
          // been there (while disabled that TIP never comes). peek 0: the packet is held.
          if (this.enabled) this.fupPending = from;
          else this.fupDisabled = true;
          this.held = p.clone();
          this.peek = 0;
          return;
      }
    }
  }
}
