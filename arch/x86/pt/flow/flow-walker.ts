// The walk: from one control-flow instruction to the next through the block cache (one lookup
// per straight-line run), TNT bits at conditional branches and compressed returns, direct
// branches followed, the rest (events due, indirect transfers, errors) handed to the decoder.

import { X86Class, isFarClass } from '../../isa/classify.js';
import { addrFiltered } from './errata.js';
import { BIND_VMCS } from './event-queue.js';
import { isVmptrld } from './event-kinds.js';
import { P_ASYNC, P_BOUND, P_PGD, P_PGE, P_TNT } from './flow-core.js';
import { PtFlowReader } from './flow-reader.js';

/** beforeRun() results. */
export const GO = 0;
export const AGAIN = 1;
export const STOP = 2;

export abstract class PtFlowWalker extends PtFlowReader {
  /** Before the run at `ip` with the TNT cache empty: GO, AGAIN (continue at this.ip) or STOP. */
  protected abstract beforeRun(ip: number): number;
  /** tntBit taking a new TNT packet. */
  protected abstract tntBitSlow(at: number, next: number): number;
  /** Takes the TIP of an indirect or far transfer; false when the walk stops. */
  protected abstract indirect(at: number, next: number, resume: number, far?: boolean): boolean;

  // Tracing enabled: the walk ----------------------------------------------------------------

  /** Finds the section of `ip`; false (after reporting nomap) when there is none. */
  protected enterSection(ip: number): boolean {
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
  protected tntBit(at: number, next: number): number {
    if (this.tntCount === 0) return this.tntBitSlow(at, next);
    const n = --this.tntCount;
    // The last bit: libipt now fetches the event read after the TNT packet.
    if (n === 0) this.tntEmptied(at);
    return n >= 32 ? (this.tntHi >>> (n - 32)) & 1 : (this.tntLo >>> n) & 1;
  }

  protected walk(): void {
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
  protected disablesAt(to: number): boolean {
    if (this.peekIp === to) return true;
    return Number.isNaN(this.peekIp) && this.errata.skl014 && this.filter !== undefined && !addrFiltered(this.filter, to);
  }

  /**
   * A VMCS waits for a VMPTRLD: if the run from `ip` (`n` instructions) has one before its last
   * instruction, reports the run up to and including it, binds the VMCS there and returns the IP
   * after it; NaN when there is none.
   */
  protected vmptrldIn(ip: number, n: number): number {
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
}
