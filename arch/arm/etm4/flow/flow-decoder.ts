// ETMv4/ETE instruction-flow decoder: packets (from Etm4PacketDecoder) plus memory (a CodeView)
// in, OpenCSD-named generic elements out, as OpenCSD's TrcPktDecodeEtmV4I produces them.
//
// Packets become elements of the P0 stack; commits (immediate when MAXSPEC = 0, else Commit
// packets and cycle-count commit fields) resolve them oldest first: atoms walk the code (A64,
// A32 or T32) to the next waypoint (cached per start address), exceptions walk to their return
// address, addresses and contexts update the PE state. Cancel and mispredict act on the newest
// elements; Discard, Overflow and bad packets drop the stack and resynchronise (A-sync, then
// Trace Info). Addresses are kept exactly as 64-bit values: body + top (address64.ts).

import type { CodeView } from '../../../common/codeview.js';
import type { DecodeError } from '../../../common/errors.js';
import { WpSub, WpType, type A64ClassifyOptions } from '../../isa-a64/classify.js';
import type { Etm4Config } from '../config.js';
import type { Etm4Packet } from '../packet.js';
import type { Etm4PacketSink } from '../decoder.js';
import { PacketType as T, isErrorPacketType, isUnsupportedPacketType } from '../packet-types.js';
import { addrBody, addrTop } from '../address64.js';
import { Elem, FlowElement } from './elements.js';
import { etmFlowTransition, type EtmFlowState } from './lifecycle.js';
import { P0, P0Stack, isP0, survivesCancel } from './p0-stack.js';
import { ISA_A32, ISA_A64, ISA_T32, RangeWalker } from './range-walker.js';

/** The instruction set of an address: IS1 is T32; IS0 is A64 in AArch64, else A32. */
function isaOf(is: number, sf: number): number {
  return is === 1 ? ISA_T32 : sf ? ISA_A64 : ISA_A32;
}

export interface FlowElementSink {
  element(e: FlowElement): void;
}

export interface EtmFlowOptions {
  /** Code memory of the traced core. */
  memory: CodeView;
  /** Memory context for a PE context (a corpus's per-process images); default: always 0. */
  memoryContext?: (contextId: number, vmid: number, el: number) => number;
  /** Trace ID printed in elements (default: the configuration's). */
  traceId?: number;
  /** Receives the packet decoder's errors and the flow decoder's own. */
  error?: (e: DecodeError) => void;
}

const RS_DEPTH = 16;
/** Reasons, indices into NO_SYNC_REASONS. */
const R_INIT = 0;
const R_OVERFLOW = 2;
const R_DISCARD = 3;
const R_BAD_PACKET = 4;
const R_COMMIT_OVERRUN = 4;

export class Etm4FlowDecoder implements Etm4PacketSink {
  state: EtmFlowState = 'NO_SYNC';
  readonly traceId: number;
  /** Instructions in output ranges, and elements output. */
  instructions = 0;
  elements = 0;
  errors = 0;

  private readonly e = new FlowElement();
  private readonly stack = new P0Stack();
  private readonly walkers = new Map<number, RangeWalker>();
  /** The walkers of the current memory context by instruction set (made when first needed). */
  private readonly isaWalkers: (RangeWalker | undefined)[] = [undefined, undefined, undefined];
  /** The walker of the last walk. */
  private w: RangeWalker;
  private readonly classify: A64ClassifyOptions;
  private readonly maxSpec: number;
  private readonly ete: boolean;
  private readonly rsEnabled: boolean;
  private readonly memCtxOf: ((cid: number, vmid: number, el: number) => number) | undefined;

  // PE state. pc is the body of the 64-bit address, pcTop its top (address64.ts).
  private pc = 0;
  private pcTop = 0;
  /** ISA_A64, ISA_A32 or ISA_T32. */
  private isa = ISA_A64;
  private needAddr = true;
  private el = 0;
  private security = 0;
  private sf = 1;
  private vmid = 0;
  private cid = 0;
  private memCtx = 0;
  /** A VMID / context ID has been traced since the last sync. */
  private vmidValid = false;
  private cidValid = false;
  /**
   * pc is where the last walk found no memory (ADDR_NACC): atoms wait for an address, but an
   * exception or Q element still walks from there (execution did continue at pc), as OpenCSD does.
   */
  private pcIsNacc = false;
  /** pc is the instruction after a taken indirect branch whose target is not known yet. */
  private pcAfterBranch = false;
  private noSyncReason = R_INIT;
  // Speculation.
  private specDepth = 0;
  private excPendingAddr = -1;
  private lastIdx = 0;
  // Return stack.
  private readonly rs = new Float64Array(RS_DEPTH);
  private readonly rsAddrTop = new Uint16Array(RS_DEPTH);
  private readonly rsIsa = new Uint8Array(RS_DEPTH);
  private rsHead = 0;
  private rsCount = 0;
  private rsPopPending = false;

  constructor(
    readonly config: Etm4Config,
    private readonly sink: FlowElementSink,
    private readonly opts: EtmFlowOptions,
  ) {
    this.traceId = opts.traceId ?? config.traceId;
    this.maxSpec = config.maxSpec;
    this.ete = config.ete;
    this.rsEnabled = config.returnStack;
    this.memCtxOf = opts.memoryContext;
    const idr2 = config.registers.TRCIDR2;
    this.classify = { wfxWaypoints: (idr2 & 0x80000000) !== 0 && config.fullVersion >= 0x43, tstartWaypoint: true };
    this.w = this.pick();
    this.e.id = this.traceId;
  }

  /** Range-cache statistics over all memory contexts. */
  cacheStats(): { hits: number; misses: number } {
    let hits = 0;
    let misses = 0;
    for (const w of this.walkers.values()) {
      hits += w.hits;
      misses += w.misses;
    }
    return { hits, misses };
  }

  error(err: DecodeError): void {
    this.opts.error?.(err);
  }

  packet(p: Etm4Packet): void {
    const idx = p.index;
    this.lastIdx = idx;
    // Sync loss is reported at the next packet, with its index (as OpenCSD does).
    if (this.state === 'NO_SYNC') this.noSync(this.noSyncReason, idx);
    const t = p.type;
    if (this.state === 'DECODE') {
      this.decode(p, t, idx);
      return;
    }
    if (this.state === 'WAIT_SYNC') {
      if (t === T.ASYNC && p.synced) this.state = etmFlowTransition(this.state, 'ASYNC');
    } else if (this.state === 'WAIT_TINFO') {
      if (t === T.EVENT && this.ete) {
        // ETE: events are output while waiting for the sync Trace Info (as OpenCSD 1.8.0 does).
        const e = this.e;
        e.type = Elem.EVENT;
        e.idx = idx;
        e.reason = p.event;
        this.out();
      } else if (t === T.TRACE_INFO) {
        this.state = etmFlowTransition(this.state, 'TINFO');
        this.rsCount = 0;
        this.rsPopPending = false;
        this.needAddr = true;
        this.stack.clear();
        this.specDepth = 0;
        this.excPendingAddr = -1;
        // Elements the trace unit holds uncommitted from before the sync point.
        for (let i = 0; i < p.specDepth; i++) this.stack.push(P0.UNSEEN, idx, 0, 0, 0, 0);
        this.specDepth = p.specDepth;
      }
    }
  }

  /** End of trace: flush non-speculative elements, drop the rest, EO_TRACE. */
  end(): void {
    const st = this.stack;
    while (st.count > 0) {
      const s = st.slot(0);
      const k = st.kind[s]!;
      if (k >= P0.TS && k <= P0.MARKER) this.nonP0(s, k);
      st.dropOldest();
    }
    const e = this.e;
    e.type = Elem.EO_TRACE;
    e.idx = this.lastIdx;
    this.out();
  }

  // ---------------------------------------------------------------------------------------------

  private decode(p: Etm4Packet, t: number, idx: number): void {
    const st = this.stack;
    switch (t) {
      case T.ATOM_F1:
      case T.ATOM_F2:
      case T.ATOM_F3:
      case T.ATOM_F4:
      case T.ATOM_F5:
      case T.ATOM_F6:
        if (st.count === 0 && this.maxSpec === 0 && this.excPendingAddr < 0) {
          // Nothing older waits and nothing is speculative: the atoms commit now (the common
          // case: MAXSPEC = 0 on most ETMv4 cores). Same result as push + commit, less work.
          let bits = p.atomBits;
          for (let n = p.atomCount; n > 0; n--) {
            this.atom((bits & 1) === 1, idx);
            bits >>>= 1;
          }
          return;
        }
        st.push(P0.ATOM, idx, 0, p.atomBits, p.atomCount, 0);
        this.specDepth += p.atomCount;
        break;
      case T.ADDR_MATCH:
      case T.ADDR_S_IS0:
      case T.ADDR_S_IS1:
      case T.ADDR_L_32IS0:
      case T.ADDR_L_32IS1:
      case T.ADDR_L_64IS0:
      case T.ADDR_L_64IS1:
        this.address(p, idx);
        break;
      case T.ADDR_CTXT_L_32IS0:
      case T.ADDR_CTXT_L_32IS1:
      case T.ADDR_CTXT_L_64IS0:
      case T.ADDR_CTXT_L_64IS1:
        this.context(p, idx);
        this.address(p, idx);
        break;
      case T.CTXT:
        this.context(p, idx);
        break;
      case T.EXCEPT:
        this.excPendingAddr = st.push(P0.EXCEPT, idx, NaN, p.excType, p.excAddrInterp, 0);
        this.specDepth++;
        break;
      case T.PE_RESET:
      case T.TRANS_FAIL:
        st.push(P0.EXCEPT, idx, NaN, p.excType, 0, 0);
        if (t === T.TRANS_FAIL) st.push(P0.MEMTRANS, idx, 0, 3, 0, 0);
        this.specDepth++;
        break;
      case T.EXCEPT_RTN:
        st.push(P0.EXCEPT_RET, idx, 0, 0, 0, 0);
        break;
      case T.TRACE_ON:
        st.push(P0.TRACE_ON, idx, 0, 0, 0, 0);
        break;
      case T.TIMESTAMP:
        st.push(P0.TS, idx, p.timestamp, 0, p.ccValid ? 1 : 0, p.cycleCount);
        break;
      case T.CCNT_F1:
      case T.CCNT_F2:
      case T.CCNT_F3:
        st.push(P0.CC, idx, 0, 0, 0, p.cycleCount);
        if (p.commitValid) this.commit(p.commit);
        break;
      case T.COMMIT:
        this.commit(p.commit);
        break;
      case T.CANCEL_F1:
      case T.CANCEL_F1_MISPRED:
      case T.CANCEL_F2:
      case T.CANCEL_F3:
      case T.MISPREDICT:
        if (p.cancel > 0 && !this.cancel(p.cancel, idx)) return;
        if ((t === T.CANCEL_F1_MISPRED || t === T.MISPREDICT) && !this.mispredict(idx)) return;
        if (p.atomCount > 0) {
          st.push(P0.ATOM, idx, 0, p.atomBits, p.atomCount, 0);
          this.specDepth += p.atomCount;
        }
        break;
      case T.SRC_ADDR_MATCH:
      case T.SRC_ADDR_S_IS0:
      case T.SRC_ADDR_S_IS1:
      case T.SRC_ADDR_L_32IS0:
      case T.SRC_ADDR_L_32IS1:
      case T.SRC_ADDR_L_64IS0:
      case T.SRC_ADDR_L_64IS1:
        st.push(P0.SRC_ADDR, idx, p.addressBody, p.addressTop, p.addrIs, 0);
        this.specDepth++;
        break;
      case T.EVENT:
        st.push(P0.EVENT, idx, 0, p.event, 0, 0);
        break;
      case T.TS_MARKER:
        st.push(P0.MARKER, idx, 0, 0, 0, 0);
        break;
      case T.Q:
        st.push(P0.Q, idx, p.qType === 0xc || p.qType === 0xf ? NaN : p.addressBody, p.qCount, p.addrIs, p.addressTop);
        this.specDepth++;
        break;
      case T.TRANS_ST:
        if ((this.config.registers.TRCIDR0 & 0x40000000) === 0) {
          st.push(P0.TSTART, idx, 0, 0, 0, 0);
          this.specDepth++;
        } else st.push(P0.MEMTRANS, idx, 0, 1, 0, 0);
        break;
      case T.TRANS_COMMIT:
        st.push(P0.MEMTRANS, idx, 0, 2, 0, 0);
        break;
      case T.ITE:
        st.push(P0.ITE, idx, 0, 0, 0, 0);
        break;
      case T.DISCARD:
        this.reset(R_DISCARD);
        return;
      case T.OVERFLOW:
        this.reset(R_OVERFLOW);
        return;
      case T.ASYNC:
      case T.IGNORE:
      case T.TRACE_INFO:
        break;
      default:
        if (isErrorPacketType(t) || isUnsupportedPacketType(t) || t === T.NOTSYNC) {
          this.reset(R_BAD_PACKET);
          return;
        }
    }
    if (this.excPendingAddr < 0 && this.specDepth > this.maxSpec) this.commit(this.specDepth - this.maxSpec);
  }

  private address(p: Etm4Packet, idx: number): void {
    const a = addrBody(p.addrHi, p.addrLoBits);
    const top = addrTop(p.addrHi);
    const st = this.stack;
    if (this.excPendingAddr >= 0) {
      // The address after an Exception packet is its preferred return address.
      const s = this.excPendingAddr;
      st.a[s] = a;
      st.c[s] = st.c[s]! | (p.addrIs << 4);
      st.d[s] = top;
      this.excPendingAddr = -1;
      return;
    }
    if (st.count === 0 && this.maxSpec === 0) {
      // Nothing older waits to be resolved: the address applies now (as push + resolve would).
      this.setAddress(a, top, p.addrIs);
      return;
    }
    st.push(P0.ADDR, idx, a, top, p.addrIs, 0);
  }

  /** An address element resolved: execution continues there. */
  private setAddress(a: number, top: number, is: number): void {
    this.pc = a;
    this.pcTop = top;
    this.isa = isaOf(is, this.sf);
    this.needAddr = false;
    this.pcIsNacc = false;
    this.pcAfterBranch = false;
    this.rsPopPending = false;
  }

  private context(p: Etm4Packet, idx: number): void {
    if (!p.ctxtUpdated) return;
    const info = p.el | (p.ns << 2) | (p.sf << 3) | (p.nse << 4) | (p.vmidUpdated ? 0x20 : 0) | (p.cidUpdated ? 0x40 : 0) | (p.addrIs << 7);
    this.stack.push(P0.CTXT, idx, 0, p.vmid, info, p.contextId);
  }

  // --- resolution ------------------------------------------------------------------------------

  private commit(n: number): void {
    const st = this.stack;
    while (n > 0 && st.count > 0) {
      const s = st.slot(0);
      const k = st.kind[s]!;
      if (k === P0.ATOM) {
        let bits = st.b[s]!;
        let cnt = st.c[s]!;
        const idx = st.idx[s]!;
        while (cnt > 0 && n > 0) {
          this.atom((bits & 1) === 1, idx);
          bits >>>= 1;
          cnt--;
          n--;
          this.specDepth--;
        }
        if (cnt > 0) {
          st.b[s] = bits;
          st.c[s] = cnt;
          return;
        }
        st.dropOldest();
        continue;
      }
      st.dropOldest();
      if (isP0(k)) {
        n--;
        this.specDepth--;
        if (k === P0.EXCEPT) this.exception(st.idx[s]!, st.a[s]!, st.d[s]!, st.b[s]!, st.c[s]!);
        else if (k === P0.Q) this.qElement(st.idx[s]!, st.a[s]!, st.d[s]!, st.b[s]!, st.c[s]!);
        else if (k === P0.TSTART) this.memtrans(st.idx[s]!, 1);
        else if (k === P0.SRC_ADDR) this.sourceAddress(st.idx[s]!, st.a[s]!, st.b[s]!);
      } else this.nonP0(s, k);
    }
    if (n > 0) {
      this.flowError('commit_overrun', this.lastIdx, `commit of ${n} more P0 elements than the decoder holds`);
      this.reset(R_COMMIT_OVERRUN);
    }
  }

  /** Cancels the n newest P0 elements (timing and marker elements survive). False after a reset. */
  private cancel(n: number, idx: number): boolean {
    const st = this.stack;
    const DEAD = 255;
    for (let i = st.count - 1; i >= 0 && n > 0; i--) {
      const s = st.slot(i);
      const k = st.kind[s]!;
      if (k === P0.ATOM) {
        const c = st.c[s]!;
        const take = Math.min(c, n);
        n -= take;
        this.specDepth -= take;
        if (take === c) st.kind[s] = DEAD;
        else {
          st.c[s] = c - take;
          st.b[s] = st.b[s]! % 2 ** (c - take);
        }
      } else if (isP0(k)) {
        n--;
        this.specDepth--;
        st.kind[s] = DEAD;
      } else if (!survivesCancel(k)) st.kind[s] = DEAD;
    }
    this.compact(DEAD);
    if (n > 0) {
      this.flowError('cancel_overrun', idx, `cancel of ${n} more P0 elements than are uncommitted`);
      this.reset(R_COMMIT_OVERRUN);
      return false;
    }
    return true;
  }

  /** Flips the newest atom; address elements after it are dropped. False after a reset. */
  private mispredict(idx: number): boolean {
    const st = this.stack;
    for (let i = st.count - 1; i >= 0; i--) {
      const s = st.slot(i);
      const k = st.kind[s]!;
      if (k === P0.ATOM) {
        const bit = 2 ** (st.c[s]! - 1);
        const b = st.b[s]!;
        st.b[s] = Math.floor(b / bit) % 2 === 1 ? b - bit : b + bit;
        this.compact(255);
        return true;
      }
      if (k === P0.ADDR) st.kind[s] = 255;
    }
    this.compact(255);
    this.flowError('mispredict_no_atom', idx, 'mispredict with no uncommitted atom');
    this.reset(R_COMMIT_OVERRUN);
    return false;
  }

  private compact(dead: number): void {
    const st = this.stack;
    for (let i = st.count - 1; i >= 0; i--) if (st.kind[st.slot(i)] === dead) st.removeAt(i);
  }

  private nonP0(s: number, k: number): void {
    const st = this.stack;
    const e = this.e;
    e.idx = st.idx[s]!;
    switch (k) {
      case P0.ADDR:
        this.setAddress(st.a[s]!, st.b[s]!, st.c[s]!);
        return;
      case P0.CTXT: {
        const info = st.c[s]!;
        this.el = info & 3;
        const ns = (info >> 2) & 1;
        const nse = (info >> 4) & 1;
        this.security = nse ? (ns ? 3 : 2) : ns;
        this.sf = (info >> 3) & 1;
        if (info & 0x20) {
          this.vmid = st.b[s]!;
          this.vmidValid = true;
        }
        if (info & 0x40) {
          this.cid = st.d[s]!;
          this.cidValid = true;
        }
        this.isa = isaOf(info >> 7, this.sf);
        this.selectMemory();
        e.type = Elem.PE_CONTEXT;
        e.isa = this.isa;
        e.el = this.el;
        e.security = this.security;
        e.sf = this.sf;
        e.vmid = this.vmid;
        e.ctxid = this.cid;
        e.vmidValid = this.vmidValid;
        e.ctxidValid = this.cidValid;
        this.out();
        return;
      }
      case P0.TRACE_ON:
        e.type = Elem.TRACE_ON;
        e.reason = 0;
        this.out();
        return;
      case P0.TS:
        e.type = Elem.TIMESTAMP;
        e.ts = st.a[s]!;
        e.ccValid = st.c[s] === 1;
        e.cc = st.d[s]!;
        this.out();
        return;
      case P0.CC:
        e.type = Elem.CYCLE_COUNT;
        e.cc = st.d[s]!;
        this.out();
        return;
      case P0.EVENT:
        e.type = Elem.EVENT;
        e.reason = st.b[s]!;
        this.out();
        return;
      case P0.MARKER:
        e.type = Elem.SYNC_MARKER;
        this.out();
        return;
      case P0.EXCEPT_RET:
        e.type = Elem.EXCEPTION_RET;
        this.out();
        return;
      case P0.MEMTRANS:
        this.memtrans(st.idx[s]!, st.b[s]!);
        return;
      case P0.ITE:
        e.type = Elem.INSTRUMENTATION;
        this.out();
        return;
    }
  }

  private memtrans(idx: number, kind: number): void {
    const e = this.e;
    e.type = Elem.MEMTRANS;
    e.idx = idx;
    e.reason = kind;
    this.out();
  }

  /** One committed atom: walk to the next waypoint and follow it. */
  private atom(taken: boolean, idx: number): void {
    if (this.needAddr) {
      // A taken indirect branch whose target matched the return stack sends no address.
      if (!(this.rsPopPending && this.rsCount > 0)) return;
      this.popReturn();
    }
    const w = this.pick();
    const start = this.pc;
    w.walk(this.memCtx, 0, start);
    if (!w.found) {
      this.nacc(idx, start, w.n, w.end);
      return;
    }
    this.rangeOut(idx, start, taken);
    this.follow(taken);
  }

  /**
   * ETE source address: execution ran from the current address to the branch at `src`, which
   * was taken (IHI 0064 ETE, "Source Address packets"): one range ending with that branch.
   */
  private sourceAddress(idx: number, src: number, srcTop: number): void {
    if (this.needAddr && !(this.rsPopPending && this.rsCount > 0)) {
      // Where execution came from is unknown: the range starts at the branch itself.
      this.pc = src;
      this.pcTop = srcTop;
      this.needAddr = false;
      this.pcAfterBranch = false;
    } else if (this.needAddr) this.popReturn();
    if (src < this.pc || srcTop !== this.pcTop) {
      this.needAddr = true;
      return;
    }
    const w = this.pick();
    const start = this.pc;
    w.walkThrough(this.memCtx, 0, start, src);
    if (!w.found) {
      this.nacc(idx, start, w.n, w.end);
      return;
    }
    this.rangeOut(idx, start, true);
    this.follow(true);
  }

  /** The walker for the current instruction set, remembered for rangeOut/follow. */
  private pick(): RangeWalker {
    this.w = this.isaWalkers[this.isa] ?? (this.isaWalkers[this.isa] = this.walkerFor(this.memCtx, this.isa));
    return this.w;
  }

  /** Outputs the walker's result as an INSTR_RANGE from `start`. */
  private rangeOut(idx: number, start: number, taken: boolean): void {
    const w = this.w;
    this.instrRange(idx, start, w.end, w.n, w.type, w.sub, w.cond, w.size, taken);
  }

  /** Outputs an INSTR_RANGE of `n` instructions [start, end) in the current ISA and address top. */
  private instrRange(idx: number, start: number, end: number, n: number, type: number, sub: number, cond: boolean, size: number, taken: boolean): void {
    const e = this.e;
    e.type = Elem.INSTR_RANGE;
    e.idx = idx;
    e.start = start;
    e.end = end;
    e.startTop = e.endTop = this.pcTop;
    e.n = n;
    e.isa = this.isa;
    e.lastType = type;
    e.lastSub = sub;
    e.lastCond = cond;
    e.lastSize = size;
    e.taken = taken;
    this.instructions += n;
    this.out();
  }

  /** Follows the waypoint that ended the walker's range. */
  private follow(taken: boolean): void {
    const w = this.w;
    if (!taken) {
      this.pc = w.end;
      return;
    }
    if (w.type === WpType.BR) {
      if (w.link) this.pushReturn(w.end);
      this.pc = w.target;
      // BLX immediate: A32 ↔ T32.
      if (w.exchange) this.isa = this.isa === ISA_T32 ? ISA_A32 : ISA_T32;
    } else if (w.type === WpType.BR_INDIRECT) {
      if (w.link) this.pushReturn(w.end);
      // The target is unknown until an address (or the return stack) gives it: nothing is
      // walked from here, not even an exception's range (see exception()).
      this.needAddr = true;
      this.pc = w.end;
      this.pcIsNacc = false;
      this.pcAfterBranch = true;
      this.rsPopPending = this.rsEnabled;
      if (this.ete && w.sub === WpSub.ERET) {
        this.e.type = Elem.EXCEPTION_RET;
        this.out();
      }
    } else this.pc = w.end;
  }

  /** A range that ran into unreadable memory: the part before the gap, then ADDR_NACC. */
  private nacc(idx: number, start: number, n: number, at: number): void {
    if (n > 0) this.instrRange(idx, start, at, n, WpType.OTHER, 0, false, this.w.size, true);
    const e = this.e;
    e.idx = idx;
    e.type = Elem.ADDR_NACC;
    e.start = at;
    e.startTop = this.pcTop;
    e.el = this.el;
    e.security = this.security;
    this.out();
    this.needAddr = true;
    this.pc = at;
    this.pcIsNacc = true;
    this.pcAfterBranch = false;
  }

  /**
   * An Exception element (IHI 0064, Exception instruction trace packet): the instructions from
   * where the previous P0 element left execution (its target, or the next instruction when not
   * taken) up to, not including, the preferred exception return address executed, then the
   * exception was taken. E1:E0 = 0b10: the return address is the target of the last branch, so
   * nothing ran in between.
   *
   * Where that start is unknown — a taken indirect branch whose target no address packet (or
   * return stack entry) gave — no range is output: the instructions ran from an unknown address.
   * OpenCSD walks from the instruction after the branch instead, which invents code that did not
   * run (ete-ete_ip: 9131 A32 instructions between a BX LR and an SVC; see the snapshot test).
   */
  private exception(idx: number, ret: number, retTop: number, num: number, interp: number): void {
    if (this.needAddr && this.rsPopPending && this.rsCount > 0) this.popReturn();
    const atTarget = (interp & 3) === 2;
    if ((!this.needAddr || this.pcIsNacc) && !atTarget && !Number.isNaN(ret) && retTop === this.pcTop && ret > this.pc) {
      const w = this.pick();
      const start = this.pc;
      w.walkTo(this.memCtx, 0, start, ret);
      if (!w.found && w.end !== ret) this.nacc(idx, start, w.n, w.end);
      else if (w.n > 0) this.rangeOut(idx, start, true);
    }
    const e = this.e;
    e.type = Elem.EXCEPTION;
    e.idx = idx;
    e.num = num;
    e.reason = interp & 3;
    e.end = Number.isNaN(ret) ? 0 : ret;
    e.endTop = Number.isNaN(ret) ? 0 : retTop;
    this.out();
    // The vector address follows in the next address packet.
    this.needAddr = true;
    this.pcIsNacc = false;
    this.pcAfterBranch = false;
    this.rsPopPending = false;
  }

  /**
   * Q element: `count` instructions ran from the current address, path not traced. When they
   * reach a waypoint exactly at the count the range is complete (INSTR_RANGE, taken); otherwise
   * I_RANGE_NOPATH from the current address to the Q address. Either way the Q address (when
   * given) is where execution continues.
   */
  private qElement(idx: number, addr: number, addrTop: number, count: number, is: number): void {
    const e = this.e;
    if (this.needAddr && this.pcAfterBranch) {
      // The count is known, where the instructions started is not (a taken indirect branch with
      // no target address): no path, from the instruction after the branch as OpenCSD prints it.
      e.type = Elem.I_RANGE_NOPATH;
      e.idx = idx;
      e.start = this.pc;
      e.startTop = this.pcTop;
      e.end = Number.isNaN(addr) ? this.pc : addr;
      e.endTop = Number.isNaN(addr) ? this.pcTop : addrTop;
      e.n = count;
      this.instructions += count;
      this.out();
    } else if (!this.needAddr || this.pcIsNacc) {
      const w = this.pick();
      const start = this.pc;
      w.walkCount(this.memCtx, 0, start, count);
      e.idx = idx;
      if (w.n === count && (w.found || (w.end === addr && addrTop === this.pcTop))) {
        this.rangeOut(idx, start, true);
        if (w.found && w.link) this.pushReturn(w.end);
      } else if (!w.found && w.n < count) {
        this.nacc(idx, start, w.n, w.end);
      } else {
        e.type = Elem.I_RANGE_NOPATH;
        e.start = start;
        e.startTop = this.pcTop;
        e.end = Number.isNaN(addr) ? start : addr;
        e.endTop = Number.isNaN(addr) ? this.pcTop : addrTop;
        e.n = count;
        this.instructions += count;
        this.out();
      }
    }
    if (Number.isNaN(addr)) this.needAddr = true;
    else {
      this.pc = addr;
      this.pcTop = addrTop;
      this.isa = isaOf(is, this.sf);
      this.needAddr = false;
      this.pcIsNacc = false;
      this.pcAfterBranch = false;
    }
  }

  // --- helpers ---------------------------------------------------------------------------------

  private pushReturn(a: number): void {
    if (!this.rsEnabled) return;
    this.rsHead = (this.rsHead + 1) % RS_DEPTH;
    this.rs[this.rsHead] = a;
    this.rsAddrTop[this.rsHead] = this.pcTop;
    this.rsIsa[this.rsHead] = this.isa;
    if (this.rsCount < RS_DEPTH) this.rsCount++;
  }

  private popReturn(): void {
    this.pc = this.rs[this.rsHead]!;
    this.pcTop = this.rsAddrTop[this.rsHead]!;
    this.isa = this.rsIsa[this.rsHead]!;
    this.rsHead = (this.rsHead + RS_DEPTH - 1) % RS_DEPTH;
    this.rsCount--;
    this.rsPopPending = false;
    this.needAddr = false;
    this.pcAfterBranch = false;
  }

  private selectMemory(): void {
    const f = this.memCtxOf;
    if (f === undefined) return;
    const m = f(this.cid, this.vmid, this.el);
    if (m !== this.memCtx) {
      this.memCtx = m;
      this.isaWalkers.fill(undefined);
    }
  }

  /** The walker (and range cache) of a memory context (≥ -1) and instruction set (ISA_A64...). */
  private walkerFor(ctx: number, isa: number): RangeWalker {
    const key = (ctx + 1) * 4 + isa;
    let w = this.walkers.get(key);
    if (w === undefined) {
      w = new RangeWalker(this.opts.memory, this.classify, isa);
      this.walkers.set(key, w);
    }
    return w;
  }

  /** Drops all state; the NO_SYNC element goes out with the next packet (OpenCSD's index). */
  private reset(reason: number): void {
    this.stack.clear();
    this.specDepth = 0;
    this.excPendingAddr = -1;
    this.needAddr = true;
    this.rsCount = 0;
    this.rsPopPending = false;
    this.vmidValid = this.cidValid = false;
    this.pcIsNacc = false;
    this.pcAfterBranch = false;
    this.state = etmFlowTransition(this.state, 'RESET');
    this.noSyncReason = reason;
  }

  private noSync(reason: number, idx: number): void {
    const e = this.e;
    e.type = Elem.NO_SYNC;
    e.idx = idx;
    e.reason = reason;
    this.out();
    this.state = etmFlowTransition(this.state, 'NO_SYNC_SENT');
  }

  private flowError(code: string, idx: number, message: string): void {
    this.errors++;
    this.opts.error?.({ code, offset: idx, traceId: this.traceId, message });
  }

  private out(): void {
    this.elements++;
    this.sink.element(this.e);
  }
}
