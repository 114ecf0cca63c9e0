// The walk: from one control-flow instruction to the next through the block cache (one lookup
// per straight-line run), TNT bits at conditional branches and compressed returns, direct
// branches followed, the rest (events due, indirect transfers, errors) handed to the decoder.

import { X86Class, isFarClass } from '../../isa/classify.js';
import type { PtBlockCache } from './block-cache.js';
import { addrFiltered } from './errata.js';
import { BIND_VMCS } from './event-queue.js';
import { isVmptrld } from './event-kinds.js';
import { P_ASYNC, P_BOUND, P_PGD, P_PGE, P_TNT } from './flow-core.js';
import { PtFlowReader } from './flow-reader.js';
import { RunField, RunKind } from './run-table.js';
import { FlowEvent } from './sink.js';

/** beforeRun() results. */
export const GO = 0;
export const AGAIN = 1;
export const STOP = 2;

/** Direct branches between checks that the walk still consumes trace (2^20 - 1, a mask). */
const LOOP_CHECK = 0xfffff;

/** Instructions libipt walks at most looking for a TSX abort's IP (erratum BDM64). */
const BDM64_STEPS = 256;

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
    let i: number;
    let cache: PtBlockCache;
    let alone = true;
    if (ip >= this.altStart && ip < this.altEnd) {
      i = this.altIndex;
      cache = this.altCache!;
    } else {
      i = this.image.find(this.cr3, ip, this.vmcs);
      if (i < 0) {
        this.fail('nomap', this.peekOff, ip);
        return false;
      }
      cache = this.image.cache(i, this.bitness);
      alone = this.image.alone(i, this.cr3, this.vmcs);
    }
    // A section alone in its range is the one find() gives for any address in it.
    if (this.secAlone) {
      this.altIndex = this.secIndex;
      this.altStart = this.secStart;
      this.altEnd = this.secEnd;
      this.altCache = this.cache;
    } else {
      this.altStart = this.altEnd = 0;
    }
    const s = this.image.sections[i]!;
    this.secIndex = i;
    this.secStart = s.start;
    this.secEnd = s.end;
    this.cache = cache;
    this.secAlone = alone;
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
    // Every other round is fastWalk()'s: it walks on while it can, this loop takes one run.
    let fast = true;
    this.afterBranch = false;
    for (;;) {
      // Events wait until the TNT bits before them are used up (libipt: pts_event_pending is
      // signalled only with an empty TNT cache).
      if (this.broken) return;
      if (fast) {
        const done = stats.instructions;
        ip = this.fastWalk(ip);
        if (Number.isNaN(ip)) return;
        // An event due after fastWalk()'s runs came with a query: its last run ended in a branch.
        if (stats.instructions !== done) this.afterBranch = true;
        fast = false;
        continue;
      }
      fast = true;
      let peek = 0;
      if (this.tntCount === 0) {
        peek = this.peek;
        if (peek >= P_PGE && peek !== P_PGD || this.queue.length !== 0) {
          // Rare: events to report, an event IP to stop at, an overflow, an error, the end.
          if (peek === P_ASYNC && this.afterBranch && this.errata.bdm64 && ip !== this.asyncFrom && this.bdm64Applies(ip)) ip = this.asyncFrom;
          const r = this.beforeRun(ip);
          if (r === STOP) return;
          this.afterBranch = false;
          if (r === AGAIN) {
            ip = this.ip;
            continue;
          }
          peek = this.peek;
        }
      }
      // Written so that a NaN IP (never expected) goes to enterSection and its nomap, not into the cache.
      if (!(ip >= this.secStart && ip < this.secEnd)) {
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
          this.afterBranch = false;
          ip = this.asyncFrom;
          continue;
        }
      }
      let cls = cache.cls[last]!;
      const lastIp = start + last;
      let len = cache.length[last]!;
      let target = cache.target[last]!;
      if (cls === X86Class.TRUNCATED) {
        // Cut by the section's end: libipt reads the rest from the section mapped right after.
        const joined = this.image.joined(this.secIndex, lastIp, this.cr3, this.vmcs, this.bitness);
        if (joined !== null) {
          cls = joined.cls;
          len = joined.length;
          target = joined.target;
        }
      }
      if (cls >= X86Class.INVALID) {
        // The run up to the undecodable instruction, then the error at it.
        if (n > 1) {
          sink.range(ip, lastIp, n - 1, this.ctx, this.secIndex, this.bitness, this.clock.queryTime, this.speculative);
          stats.instructions += n - 1;
          stats.ranges++;
        }
        this.fail('bad_insn', this.peekOff, lastIp);
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
      this.afterBranch = cls === X86Class.JUMP || cls === X86Class.CALL ? !this.blockDecoder : cls !== X86Class.OTHER && cls !== X86Class.MOV_CR3 && cls !== X86Class.PTWRITE;
      switch (cls) {
        case X86Class.COND_JUMP: {
          if (this.tntCount === 0 && this.peek === P_PGD && !Number.isNaN(this.peekIp)) {
            this.disable(this.peekIp, Number.NaN);
            this.readAhead();
            return;
          }
          const bit = this.tntBit(lastIp, next);
          if (bit < 0) {
            this.tntFailed(bit, lastIp);
            return;
          }
          ip = bit === 1 ? target : next;
          break;
        }
        case X86Class.JUMP:
        case X86Class.CALL: {
          if ((++this.directRuns & LOOP_CHECK) === 0 && this.endlessLoop(lastIp)) return;
          const to = target;
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
              this.fail('bad_retcomp', this.bitErrorOffset(), lastIp);
              return;
            }
            const to = this.stack.pop();
            if (Number.isNaN(to)) {
              this.fail('retstack_empty', this.bitErrorOffset(), lastIp);
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

  /** tntBit() gave `bit` < 0 at the branch at `lastIp`: the error it stands for (none for -3). */
  /**
   * Every 2^20 direct branches: has the walk taken a packet since the last check? Code that only
   * branches directly (jmp $) runs forever without trace; libipt's decoder would too. Here it is
   * an error (`loop`) at the branch at `ip`, and decoding goes on at the next PSB. True: stop.
   */
  protected endlessLoop(ip: number): boolean {
    const at = this.peekOff * 128 + this.tntCount;
    if (at !== this.loopMark) {
      this.loopMark = at;
      return false;
    }
    this.fail('loop', this.peekOff, ip);
    return true;
  }

  /**
   * Where libipt stands when the TNT bit just taken is wrong for its instruction: it has not
   * fetched the events read after the TNT packet yet (at the first of them while bits are left).
   */
  protected bitErrorOffset(): number {
    return this.tntCount > 0 && this.aheadEventOff >= 0 ? this.aheadEventOff : this.peekOff;
  }

  protected tntFailed(bit: number, lastIp: number): void {
    if (bit === -2) this.fail(this.peekErrCode, this.peekOff, lastIp, this.peekErrMsg);
    else if (bit === -1) this.failQuery(lastIp);
  }

  /**
   * The walk's common case, its state in locals: runs while no event is due and no VMCS waits
   * for a VMPTRLD, following the run table's links instead of the per-offset maps. Conditional
   * branches, direct jumps and calls and compressed returns with TNT bits in hand stay in the
   * inner loop; a new TNT packet, an indirect or far transfer (taken as walk() does) or a new
   * section reloads what they may change. Every run is reported exactly as walk() does.
   * Returns the IP where walk() takes over (a run left untouched, or one walk() must check
   * first); NaN when the walk stops.
   */
  protected fastWalk(ip0: number): number {
    const sink = this.sink;
    const stack = this.stack;
    const clock = this.clock;
    let ip = ip0;
    // `| 0`: int32 in registers for V8, not tagged values checked at every use.
    let tc = this.tntCount | 0;
    // Counted here, added to the statistics at every section round (int32: no overflow there).
    let insns = 0;
    let runs = 0;
    section: for (;;) {
      this.stats.instructions += insns;
      this.stats.ranges += runs;
      insns = runs = 0;
      const q = this.queue;
      // With the TNT cache empty a run may start only when beforeRun() would have nothing to do.
      if ((tc === 0 && this.eventDue()) || (q.length !== 0 && q.bind[q.head] === BIND_VMCS)) break;
      if (!(ip >= this.secStart && ip < this.secEnd) && !this.enterSection(ip)) {
        ip = Number.NaN;
        break;
      }
      const start = this.secStart;
      const cache = this.cache!;
      const table = cache.runs;
      const size = table.codeSize;
      const ctx = this.ctx;
      const sec = this.secIndex;
      const bitness = this.bitness;
      const spec = this.speculative;
      let id = table.at(ip - start) | 0;
      // The table grows only in the section loop: a link not made yet is made there.
      const rt = table.rec;
      for (;;) {
        const head = rt[id + RunField.HEAD]!;
        const kind = head & RunField.KIND_MASK;
        const n = head >> RunField.KIND_BITS;
        if (kind === RunKind.COND && tc !== 0) {
          // The hot path: the bit picks the link without a branch.
          sink.range(start + rt[id + RunField.START]!, start + rt[id + RunField.NEXT]!, n, ctx, sec, bitness, clock.queryTime, spec);
          insns = (insns + n) | 0;
          runs = (runs + 1) | 0;
          // The decoder's state stays current: a sink may ask for the offset (ptxed --offset).
          this.tntCount = --tc;
          const bit = tc >= 32 ? (this.tntHi >>> (tc - 32)) & 1 : (this.tntLo >>> tc) & 1;
          if (tc === 0) {
            // The last bit: libipt now fetches the event read after the TNT packet. When that
            // fails, what is next changed: the section loop looks again.
            if (this.tntEmptied(start + rt[id + RunField.LAST]!)) {
              ip = bit === 1 ? cache.target[rt[id + RunField.LAST]!]! : start + rt[id + RunField.NEXT]!;
              continue section;
            }
          }
          const to = rt[id + RunField.FALL - bit]!;
          if (to !== 0) {
            id = to;
            continue;
          }
          ip = bit === 1 ? cache.target[rt[id + RunField.LAST]!]! : start + rt[id + RunField.NEXT]!;
          if (bit === 1) table.taken(id);
          else table.fall(id);
          continue section;
        }
        if (kind === RunKind.COND && this.peek === P_TNT && q.length === 0) {
          // The next common case (tc is 0): the branch takes the next TNT packet.
          const last = rt[id + RunField.LAST]!;
          const next = start + rt[id + RunField.NEXT]!;
          sink.range(start + rt[id + RunField.START]!, next, n, ctx, sec, bitness, clock.queryTime, spec);
          insns = (insns + n) | 0;
          runs = (runs + 1) | 0;
          let bit: number;
          const refill = this.refillTnt8(start + last) ? 1 : this.refillAfterCyc(start + last);
          if (refill > 0) {
            // A TNT-8 (after a short CYC, perhaps) came next: only the bits (and the time) moved.
            tc = (this.tntCount - 1) | 0;
            this.tntCount = tc;
            bit = tc >= 32 ? (this.tntHi >>> (tc - 32)) & 1 : (this.tntLo >>> tc) & 1;
            if (tc === 0 && this.tntEmptied(start + last)) {
              ip = bit === 1 ? cache.target[last]! : next;
              continue section;
            }
          } else {
            bit = refill === 0 ? this.tntBitSlow(start + last, next) : -2;
            tc = this.tntCount | 0;
            if (bit < 0) {
              this.tntFailed(bit, start + last);
              ip = Number.NaN;
              break section;
            }
          }
          let to = rt[id + RunField.FALL - bit]!;
          if (to === 0) to = bit === 1 ? table.taken(id) : table.fall(id);
          if (to !== 0 && q.length === 0 && this.secIndex === sec && table.rec === rt) {
            id = to;
            continue;
          }
          ip = bit === 1 ? cache.target[last]! : next;
          continue section;
        }
        if (tc === 0 && this.eventDue()) {
          ip = start + rt[id + RunField.START]!;
          break section;
        }
        if (kind === RunKind.JUMP || kind === RunKind.CALL) {
          // A target in another section, or a TIP.PGD that may disable at it: walk()'s.
          const target = rt[id + RunField.TARGET]!;
          if (target < 0 || (tc === 0 && this.peek === P_PGD)) {
            ip = start + rt[id + RunField.START]!;
            break section;
          }
          const next = rt[id + RunField.NEXT]!;
          if ((++this.directRuns & LOOP_CHECK) === 0 && this.endlessLoop(start + rt[id + RunField.LAST]!)) {
            ip = Number.NaN;
            break section;
          }
          sink.range(start + rt[id + RunField.START]!, start + next, n, ctx, sec, bitness, clock.queryTime, spec);
          insns = (insns + n) | 0;
          runs = (runs + 1) | 0;
          if (kind === RunKind.CALL && target !== next) stack.push(start + next);
          const to = rt[id + RunField.TAKEN]!;
          if (to !== 0) {
            id = to;
            continue;
          }
          table.taken(id);
          ip = start + target;
          continue section;
        }
        if (kind === RunKind.OTHER) {
          sink.range(start + rt[id + RunField.START]!, start + rt[id + RunField.NEXT]!, n, ctx, sec, bitness, clock.queryTime, spec);
          insns = (insns + n) | 0;
          runs = (runs + 1) | 0;
          const to = rt[id + RunField.FALL]!;
          if (to !== 0) {
            id = to;
            continue;
          }
          table.fall(id);
          ip = start + rt[id + RunField.NEXT]!;
          continue section;
        }
        if (kind === RunKind.RETURN && tc !== 0) {
          const bit = tc > 32 ? (this.tntHi >>> (tc - 33)) & 1 : (this.tntLo >>> (tc - 1)) & 1;
          // A failing compressed return is walk()'s to report.
          if (bit === 0 || stack.depth === 0) {
            ip = start + rt[id + RunField.START]!;
            break section;
          }
          sink.range(start + rt[id + RunField.START]!, start + rt[id + RunField.NEXT]!, n, ctx, sec, bitness, clock.queryTime, spec);
          insns = (insns + n) | 0;
          runs = (runs + 1) | 0;
          this.tntCount = --tc;
          let changed = false;
          if (tc === 0) {
            changed = this.tntEmptied(start + rt[id + RunField.LAST]!);
          }
          ip = stack.pop();
          if (changed) continue section;
          const to = ip - start;
          if (!(to >= 0 && to < size)) continue section;
          const known = table.known(to);
          if (known === 0) continue section;
          id = known;
          continue;
        }
        // What is left takes packets: packetRun(), kept out of this loop so that V8 inlines
        // the small calls above (its budget is per function, this loop's is nearly spent).
        const to = this.packetRun(id, rt);
        tc = this.tntCount | 0;
        if (to > 0) {
          id = to;
          continue;
        }
        ip = this.walkIp;
        if (to === 0) continue section;
        break section;
      }
    }
    this.stats.instructions += insns;
    this.stats.ranges += runs;
    return ip;
  }

  /**
   * fastWalk()'s runs that take packets: a conditional branch or a return with the TNT cache
   * empty, an indirect or far transfer. The decoder's methods read on and may change everything
   * fastWalk()'s section loop loaded. Returns the id of the run to go on with in the same table
   * `rt`; 0: go on at `walkIp` from the section loop; -1: leave fastWalk() at `walkIp` (NaN: the
   * walk stops). Every run is reported exactly as walk() does.
   */
  private packetRun(id: number, rt: Int32Array): number {
    const start = this.secStart;
    const cache = this.cache!;
    const table = cache.runs;
    const sec = this.secIndex;
    const ctx = this.ctx;
    const spec = this.speculative;
    const q = this.queue;
    const head = rt[id + RunField.HEAD]!;
    const kind = head & RunField.KIND_MASK;
    const n = head >> RunField.KIND_BITS;
    const cls = rt[id + RunField.CLS]!;
    const far = isFarClass(cls);
    this.walkIp = start + rt[id + RunField.START]!;
    if (kind === RunKind.SLOW && !(cls === X86Class.IND_JUMP || cls === X86Class.IND_CALL || (far && q.length === 0))) return -1;
    // The bit is in the next TNT packet (walk() checks for a TIP.PGD at a branch first).
    if (kind === RunKind.COND && this.peek === P_PGD) return -1;
    const last = rt[id + RunField.LAST]!;
    const lastIp = start + last;
    const next = start + rt[id + RunField.NEXT]!;
    this.sink.range(this.walkIp, next, n, ctx, sec, this.bitness, this.clock.queryTime, spec);
    this.stats.instructions += n;
    this.stats.ranges++;
    this.walkIp = Number.NaN;
    if (kind === RunKind.COND || (kind === RunKind.RETURN && this.peek === P_TNT)) {
      const bit = this.tntBit(lastIp, next);
      if (bit < 0) {
        this.tntFailed(bit, lastIp);
        return -1;
      }
      if (kind === RunKind.COND) {
        // Usually nothing but the TNT cache changed: on along the link.
        let to = rt[id + RunField.FALL - bit]!;
        if (to === 0) to = bit === 1 ? table.taken(id) : table.fall(id);
        this.walkIp = bit === 1 ? cache.target[last]! : next;
        return to !== 0 && q.length === 0 && this.secIndex === sec && table.rec === rt ? to : 0;
      }
      if (bit === 0) {
        this.fail('bad_retcomp', this.bitErrorOffset(), lastIp);
        return -1;
      }
      const ip = this.stack.pop();
      if (Number.isNaN(ip)) {
        this.fail('retstack_empty', this.bitErrorOffset(), lastIp);
        return -1;
      }
      this.walkIp = ip;
      const to = ip - start;
      return to >= 0 && to < table.codeSize && q.length === 0 && this.secIndex === sec && table.rec === rt ? table.known(to) : 0;
    }
    // An indirect or far transfer (or a return that is not compressed): its TIP.
    const call = cls === X86Class.IND_CALL || cls === X86Class.FAR_CALL || cls === X86Class.SYSCALL || cls === X86Class.INT || cls === X86Class.VM_EXIT;
    if (cls === X86Class.IND_CALL) this.stack.push(next);
    if (!this.indirect(lastIp, next, call ? next : Number.NaN, far)) return -1;
    const ip = this.ip;
    this.walkIp = ip;
    // Usually the target is code seen before in this section, and only the packets moved.
    const to = ip - start;
    const same = q.length === 0 && this.secIndex === sec && this.cache === cache && this.ctx === ctx && this.speculative === spec && table.rec === rt;
    return same && to >= 0 && to < table.codeSize ? table.known(to) : 0;
  }

  /**
   * Erratum BDM64 (a wrong branch packet may come before a TSX abort's): with the abort's FUP+TIP
   * next and the walk at `ip` after a branch, libipt (pt_insn/pt_blk postpone_tsx) takes the
   * flow to the abort's IP when `ip` cannot reach it: the branch is taken to have gone there.
   */
  private bdm64Applies(ip: number): boolean {
    const q = this.queue;
    let abort = false;
    for (let k = 0; k < q.length; k++) {
      const i = (q.head + k) % q.ip.length;
      if (q.kind[i] === FlowEvent.TSX && q.value[i] === 2 && q.ip[i] === this.asyncFrom) abort = true;
    }
    return abort && !this.reaches(ip, this.asyncFrom);
  }

  /**
   * Does straight-line code, direct jumps and calls included, lead from `from` to `to` within 256
   * instructions (libipt's pt_insn_range_is_contiguous, its BDM64 limit)? Any other branch, or
   * code that is not there or does not decode, ends the search: false.
   */
  private reaches(from: number, to: number): boolean {
    let ip = from;
    for (let steps = BDM64_STEPS; ip !== to; steps--) {
      if (steps === 0) return false;
      const i = this.image.find(this.cr3, ip, this.vmcs);
      if (i < 0) return false;
      const cache = this.image.cache(i, this.bitness);
      const off = ip - this.image.sections[i]!.start;
      if (cache.runCount[off] === 0) cache.fill(off);
      const cls = cache.cls[off]!;
      if (cls === X86Class.OTHER || cls === X86Class.MOV_CR3 || cls === X86Class.PTWRITE) ip += cache.length[off]!;
      else if ((cls === X86Class.JUMP || cls === X86Class.CALL) && !Number.isNaN(cache.target[off]!)) ip = cache.target[off]!;
      else return false;
    }
    return true;
  }

  /** With the TNT cache empty: has beforeRun() something to do before the next run? */
  private eventDue(): boolean {
    const peek = this.peek;
    return (peek >= P_PGE && peek !== P_PGD) || this.queue.length !== 0;
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
