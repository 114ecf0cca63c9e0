// The packets that reset or check the flow decoder's state: PSB+ (initialises on the first
// sync, is checked later), OVF (where flow resumes) and the timing packets (PtClock).

import { PT_END, PT_ERROR, PtPacketDecoder } from '../decoder.js';
import {
  PT_CBR, PT_FUP, PT_MODE_EXEC, PT_MODE_TSX, PT_OVF, PT_PIP, PT_PSB, PT_PSBEND, PT_STOP, PT_TIP, PT_TIP_PGD, PT_TIP_PGE, PT_TNT_64,
  PT_TNT_8, PT_TSC, PT_VMCS, PT_CYC, PT_MTC, PT_TMA, PT_PAD, PT_MNT,
} from '../opcodes.js';
import type { PtPacket } from '../packet.js';
import { flowErrorMessage } from './errors.js';
import { BIND_IP, BIND_NOW } from './event-queue.js';
import { EV_ASYNC, EV_HAS_TIME, EV_NR, EV_STATUS_UPDATE, FlowEvent } from './sink.js';
import { PtFlowCore, isFlowPacket, modeBits, P_OVF, P_ERROR, P_BOUND, FAIL_GO_ON, FAIL_SYNC, BIND_FUP } from './flow-core.js';

export abstract class PtFlowPsb extends PtFlowCore {
  // Packets ---------------------------------------------------------------------------------

  /** The next packet: one held back after an OVF, or a new one (-> type, PT_END, PT_ERROR). */
  protected nextPacket(): number {
    if (this.held !== null) {
      const h = this.held;
      this.held = null;
      Object.assign(this.pk.packet, h);
      return h.type;
    }
    return this.pk.next();
  }

  protected packetError(): void {
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
  protected psbPlus(first: boolean): boolean {
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
        case PT_FUP: {
          // BDM70: PSB+ may carry a FUP before the TIP.PGE that enables tracing. While tracing
          // is disabled, libipt ignores a FUP that a TIP.PGE follows (past status packets).
          if (this.errata.bdm70 && !this.enabled && Number.isNaN(fup)) {
            const bdm70 = this.bdm70Applies(p.offset + this.base + p.size);
            if (bdm70 === 1) continue;
            if (bdm70 < 0) {
              this.dropQueuedFrom(mark);
              this.fail(this.scanCode, psbOff, Number.NaN, flowErrorMessage(this.scanCode), first ? FAIL_SYNC : FAIL_GO_ON);
              return false;
            }
          }
          this.lastIp.update(p.ipc, p.lo, p.hi);
          fup = this.lastIp.ip;
          continue;
        }
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
          // A TIP, TIP.PGE, TIP.PGD or TNT.64 has no place in PSB+: libipt rejects it by its opcode.
          if (this.peekErrCode === 'bad_packet' && isFlowPacket(this.trace, this.peekOff)) {
            this.peekErrCode = 'bad_context';
            this.peekErrMsg = flowErrorMessage('bad_context');
          }
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
   * BDM70: does a TIP.PGE follow at `off`, past the packets a PSB+ may hold and PSBEND? 1: yes,
   * 0: no (another packet, or the end of the trace), -1: a packet does not decode (scanCode).
   */
  protected bdm70Applies(off: number): number {
    const s = (this.scanner ??= new PtPacketDecoder({ noSync: true, trig: this.trig }));
    s.restart(this.trace, off, true);
    for (;;) {
      switch (s.next()) {
        case PT_TIP_PGE:
          return 1;
        case PT_PAD: case PT_TSC: case PT_CBR: case PT_PSBEND: case PT_PIP: case PT_MODE_EXEC: case PT_MODE_TSX:
        case PT_VMCS: case PT_TMA: case PT_MTC: case PT_CYC: case PT_MNT:
          continue;
        case PT_ERROR:
          if (s.error!.code === 'eos') return 0;
          this.scanCode = s.error!.code;
          return -1;
        default:
          return 0;
      }
    }
  }

  /**
   * A timing packet in PSB+; false after its error: libipt's PSB+ fails at the PSB, a sync
   * error on the first sync, later the error of the query whose read-ahead met the PSB.
   */
  protected psbTiming(type: number, p: PtPacket, mark: number, psbOff: number, first: boolean): boolean {
    const code = this.timing(type, p);
    if (code === '') return true;
    this.dropQueuedFrom(mark);
    if (first) this.fail(code, psbOff, Number.NaN, flowErrorMessage(code), FAIL_SYNC);
    else this.timingError(code, psbOff, false);
    return false;
  }

  /** The status events of a PSB+ (queued from `mark` on) take the FUP's IP (NaN: none) and the time at its end. */
  protected finishPsbEvents(mark: number, fup: number): void {
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
  protected dropQueuedFrom(mark: number): void {
    this.queue.length = Math.min(this.queue.length, mark);
  }

  /**
   * An OVF: packets were lost. State is reset except timing; the flow resumes at the FUP that
   * follows (only timing packets may come between) or stays disabled until a TIP.PGE. Events
   * still waiting for an IP are dropped. APL11: a TIP.PGD right after the OVF is dropped too.
   */
  protected overflow(): void {
    const pk = this.pk;
    const p = pk.packet;
    this.pendingMode = 0;
    // Events still waiting for their FUP are dropped. Those libipt has fetched already (bound to
    // an IP or an instruction) it holds: it meets the OVF once they are done.
    this.queue.drop(BIND_FUP);
    this.fupWaiting = 0;
    this.cfeAsync = false;
    this.asyncFrom = this.fupPending = Number.NaN;
    this.fupDisabled = false;
    this.clock.overflow();
    this.peekOff = this.ovfOff = p.offset + this.base;
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
        case PT_FUP: {
          this.lastIp.update(p.ipc, p.lo, p.hi);
          this.peek = P_OVF;
          this.peekOff = p.offset + this.base;
          this.peekIp = this.lastIp.ip;
          // APL12: the overflow may have resolved with tracing disabled and still sent the FUP;
          // libipt looks ahead for what tells, and then drops the FUP.
          const disabled = this.errata.apl12 ? this.apl12Disabled(this.peekOff + p.size) : 0;
          if (disabled < 0) this.overflowError(this.peekOff, this.scanCode);
          else if (disabled === 1) this.peekIp = Number.NaN;
          return;
        }
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

  /** An OVF that resolves in a way libipt rejects: bad_context at the packet, reported like an event. */
  protected overflowError(offset: number, code = 'bad_context'): void {
    this.peek = P_ERROR;
    this.peekErrOff = offset;
    this.peekErrCode = code;
    this.peekErrMsg = flowErrorMessage(code);
    this.eventError = true;
  }

  /**
   * APL12's look-ahead from `off`, after the FUP that followed an OVF: 1 when the packets say
   * tracing is disabled (a TIP.PGE or TraceStop comes first, or a PSB+ without a FUP), 0 when
   * they say it is enabled (TNT, TIP, TIP.PGD) or cannot tell (OVF, the end), -1 when a packet
   * does not decode (its code in scanCode).
   */
  protected apl12Disabled(off: number): number {
    const s = (this.scanner ??= new PtPacketDecoder({ noSync: true, trig: this.trig }));
    s.restart(this.trace, off, true);
    let inPsb = false;
    let psbFup = false;
    for (;;) {
      switch (s.next()) {
        case PT_TIP_PGE: case PT_STOP:
          if (!inPsb) return 1;
          break;
        case PT_TNT_8: case PT_TNT_64: case PT_TIP: case PT_TIP_PGD: case PT_OVF:
          if (!inPsb) return 0;
          break;
        case PT_PSB:
          inPsb = true;
          break;
        case PT_FUP:
          if (inPsb && s.packet.ipc !== 0) psbFup = true;
          break;
        case PT_PSBEND:
          if (!inPsb) {
            this.scanCode = 'bad_context';
            return -1;
          }
          return psbFup ? 0 : 1;
        case PT_ERROR:
          if (s.error!.code !== 'eos') {
            this.scanCode = s.error!.code;
            return -1;
          }
          return inPsb && !psbFup ? 1 : 0;
        case PT_END:
          return inPsb && !psbFup ? 1 : 0;
      }
    }
  }

  /** A timing packet (TSC, TMA, MTC, CYC, CBR): '' or libipt's error for it. */
  protected timing(type: number, p: PtPacket): string {
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
  protected timingError(code: string, offset: number, event: boolean): void {
    this.peek = P_ERROR;
    this.peekOff = this.peekErrOff = offset;
    this.peekErrCode = code;
    this.peekErrMsg = flowErrorMessage(code);
    this.eventError = event;
  }
}
