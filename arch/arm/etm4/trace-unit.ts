// The ETMv4 trace unit model: watches the simulator's retirement stream (ExecSink) and writes
// the instruction-trace packets an ETMv4.0 (Cortex-A53 style) would, for one trace ID:
//
// - A-sync + Trace Info at the start (then Trace On) and every 2^TRCSYNCPR bytes, followed by a
//   timestamp (TRCCONFIGR.TS) and an Address with Context packet for the next instruction, so a
//   decoder can start there. Each A-sync is reported to the SyncSink with its byte offset.
// - One atom per waypoint (every branch instruction: E taken, N not taken; ERET is one too),
//   packed into Atom F1–F6 packets (atom-packer.ts); pending atoms go out before any other packet.
// - Indirect branches (BR, BLR, RET, ERET): the target address, compressed against the 3-entry
//   history (exact match / short / long) by the packet encoder; with the return stack on, a
//   branch to the address on top of the stack has none (return-stack.ts).
// - Exceptions (IRQ, SVC, HVC): Exception packet, the preferred return address (address of the
//   first instruction not executed), then the address where execution continues (the vector).
// - ERET: E atom, target address, then an Exception Return packet, as an A53 does.
// - Context (EL, NS, SF, VMID, CONTEXTIDR) when it changes: the next address packet is an
//   Address with Context packet (a CONTEXTIDR_EL1 write or an exception level change).
// - Cycle counts (TRCCONFIGR.CCI) after the atom that ends a run of ≥ threshold cycles;
//   timestamps from the generic timer at sync points and, optionally, every N cycles.
//
// Per event the unit does a few typed-array and integer operations and allocates nothing; bytes
// go to the ChunkSink in chunks of `chunkSize`.

import { addrHi, addrLo, type Addr } from '../../common/address.js';
import { HwtraceError } from '../../common/errors.js';
import { type ClockConfig, type ExecSink, type SyncSink, Xfer, counterAt } from '../../common/events.js';
import { ByteBuffer, type ChunkSink } from '../../common/stream.js';
import { AtomPacker } from './atom-packer.js';
import type { Etm4Config } from './config.js';
import { Etm4PacketEncoder } from './encoder.js';
import type { Etm4PacketSpec } from './packet-spec.js';
import { EtmReturnStack } from './return-stack.js';
import { type ContextLookup, EtmContextFields } from './trace-context.js';
import { type EtmTraceOptions, etmTraceConfig, resolveEtmTraceOptions } from './trace-config.js';

/** ETMv4 exception type numbers (IHI 0064, Exception packet, Armv8-A). */
export const EtmException = {
  /** SVC, HVC or SMC. */
  CALL: 0x02,
  TRAP: 0x03,
  IRQ: 0x0e,
  FIQ: 0x0f,
} as const;

export interface EtmTraceUnitInit {
  /** TRCCONFIGR-style options; missing fields take DEFAULT_ETM_TRACE_OPTIONS. */
  options?: Partial<EtmTraceOptions>;
  /** Context id → Arm context (the machine's ContextTable). */
  contexts: ContextLookup;
  /** The run's clock: timestamps count the generic timer (timerHz). */
  clock: ClockConfig;
  /** Receives the trace bytes of this trace ID. */
  out: ChunkSink;
  /** Told the byte offset of every A-sync (stream = trace ID). */
  sync?: SyncSink;
  /** Bytes per chunk written to `out` (default 64 KiB). */
  chunkSize?: number;
}

/** What a run produced, for summaries and tests. */
export interface EtmTraceStats {
  bytes: number;
  instructions: number;
  /** A-sync points (including the first). */
  syncs: number;
  atoms: number;
  atomPackets: number;
  addresses: number;
  exceptions: number;
  timestamps: number;
  cycleCounts: number;
  /** Indirect branches traced with no address thanks to the return stack. */
  returnStackHits: number;
  /**
   * Instructions after the last P0 element (waypoint or exception): they executed, but no
   * trace element covers them, so no decoder can know of them. Set by `end`.
   */
  untracedTail: number;
}

const TRACE_ON: Etm4PacketSpec = { kind: 'traceOn' };
const EXCEPTION_RETURN: Etm4PacketSpec = { kind: 'exceptionReturn' };

export class EtmTraceUnit implements ExecSink {
  readonly options: Readonly<EtmTraceOptions>;
  /** The packet-layer configuration a decoder of this stream needs. */
  readonly config: Etm4Config;
  readonly traceId: number;

  private readonly out: ByteBuffer;
  private readonly enc: Etm4PacketEncoder;
  private readonly atoms: AtomPacker;
  private readonly rs = new EtmReturnStack();
  private readonly ctx: EtmContextFields;
  private readonly sink: ChunkSink;
  private readonly syncSink: SyncSink | undefined;
  private readonly clock: ClockConfig;
  private readonly chunkSize: number;

  // Configuration, flattened for the hot path.
  private readonly rsOn: boolean;
  private readonly ccOn: boolean;
  private readonly tsOn: boolean;
  private readonly cidOn: boolean;
  private readonly vmidOn: boolean;
  private readonly period: number;
  private readonly tsInterval: number;
  private readonly ccThreshold: number;
  private readonly ccMax: number;

  // Reused packet specs (no allocation per packet).
  private readonly tinfo: { kind: 'traceInfo'; info?: number; cyct?: number };
  private readonly addrCtxt: Extract<Etm4PacketSpec, { kind: 'addrContext' }>;
  private readonly ccF2: Extract<Etm4PacketSpec, { kind: 'ccntF2' }> = { kind: 'ccntF2', count: 0 };
  private readonly ccF3: Extract<Etm4PacketSpec, { kind: 'ccntF3' }> = { kind: 'ccntF3', count: 0 };

  // State.
  /** Bytes already handed to the sink. */
  private flushed = 0;
  /** Stream offset at which the next A-sync is due. */
  private nextSync = Infinity;
  private curCtx = -1;
  /** Context last traced in a context packet (-1: none since the last sync). */
  private tracedCtx = -1;
  private lastTs = 0;
  private lastTsCycle = 0;
  private lastCcCycle = 0;
  private sinceP0 = 0;
  private begun = false;
  private ended = false;
  private finished = false;

  // Counters.
  private instructions = 0;
  private syncs = 0;
  private atomCount = 0;
  private addresses = 0;
  private exceptions = 0;
  private timestamps = 0;
  private cycleCounts = 0;
  private rsHits = 0;
  private tail = 0;

  constructor(init: EtmTraceUnitInit) {
    const o = (this.options = Object.freeze(resolveEtmTraceOptions(init.options)));
    this.config = etmTraceConfig(o);
    this.traceId = o.traceId;
    this.chunkSize = init.chunkSize ?? 1 << 16;
    if (!(Number.isInteger(this.chunkSize) && this.chunkSize >= 64)) throw new HwtraceError('bad_option', `ETM chunk size ${this.chunkSize} must be an integer ≥ 64`);
    this.out = new ByteBuffer(this.chunkSize + 256);
    this.enc = new Etm4PacketEncoder(this.config, this.out);
    this.atoms = new AtomPacker(this.out);
    this.ctx = new EtmContextFields(init.contexts);
    this.sink = init.out;
    this.syncSink = init.sync;
    this.clock = init.clock;
    this.rsOn = o.returnStack;
    this.ccOn = o.cycleCounts;
    this.tsOn = o.timestamps;
    this.cidOn = o.contextId;
    this.vmidOn = o.vmid;
    this.period = o.syncPeriod === 0 ? Infinity : 2 ** o.syncPeriod;
    this.tsInterval = o.timestamps && o.timestampInterval > 0 ? o.timestampInterval : Infinity;
    this.ccThreshold = o.ccThreshold;
    this.ccMax = 2 ** this.config.ccSize - 1;
    this.tinfo = o.cycleCounts ? { kind: 'traceInfo', info: 1, cyct: o.ccThreshold } : { kind: 'traceInfo', info: 0 };
    this.addrCtxt = { kind: 'addrContext', is: 0, wide: true, hi: 0, lo: 0, el: 0, sf: 1, ns: 1, nse: 0 };
    if (o.vmid) this.addrCtxt.vmid = 0;
    if (o.contextId) this.addrCtxt.contextId = 0;
  }

  // --- ExecSink ------------------------------------------------------------------------------

  begin(ctx: number, ip: Addr, cycle: number): void {
    if (this.begun) throw new HwtraceError('internal', 'EtmTraceUnit.begin called twice');
    this.begun = true;
    this.setContext(ctx);
    this.lastCcCycle = cycle;
    this.lastTsCycle = cycle;
    this.synchronise(ip, cycle, true);
    this.spill();
  }

  block(_start: Addr, count: number, _ctx: number, _cycle: number): void {
    this.instructions += count;
    this.sinceP0 += count;
  }

  branch(kind: number, _from: Addr, next: Addr, to: Addr, toCtx: number, cycle: number): void {
    this.sinceP0 = 0;
    switch (kind) {
      case Xfer.COND_NOT_TAKEN:
        this.atom(0, cycle);
        break;
      case Xfer.COND_TAKEN:
      case Xfer.JUMP:
        this.atom(1, cycle);
        break;
      case Xfer.CALL:
        this.atom(1, cycle);
        if (this.rsOn) this.rs.push(next);
        break;
      case Xfer.IND_JUMP:
      case Xfer.RETURN:
        this.atom(1, cycle);
        this.indirect(to);
        break;
      case Xfer.IND_CALL:
        this.atom(1, cycle);
        if (this.rsOn) this.rs.push(next);
        this.indirect(to);
        break;
      case Xfer.SYSCALL:
      case Xfer.HYPERCALL:
        // SVC / HVC are not branches: an exception whose preferred return address is `next`.
        this.exception(EtmException.CALL, next, to, toCtx);
        break;
      case Xfer.SYSRET:
      case Xfer.IRET:
      case Xfer.VM_ENTRY:
        // ERET: an indirect-branch waypoint, its target (in the new context), then the
        // Exception Return packet.
        this.atom(1, cycle);
        this.setContext(toCtx);
        this.atoms.flush();
        this.address(to);
        this.enc.encode(EXCEPTION_RETURN);
        break;
      default:
        throw new HwtraceError('internal', `EtmTraceUnit: unknown transfer kind ${kind}`);
    }
    this.after(to, cycle);
  }

  interrupt(_cause: number, _vector: number, next: Addr, to: Addr, toCtx: number, cycle: number): void {
    this.sinceP0 = 0;
    this.exception(EtmException.IRQ, next, to, toCtx);
    this.after(to, cycle);
  }

  contextSwitch(_at: Addr, next: Addr, ctx: number, cycle: number): void {
    // MSR CONTEXTIDR_EL1: not a waypoint; the new context goes out with the next address.
    this.setContext(ctx);
    this.after(next, cycle);
  }

  codeWrite(_at: Addr, next: Addr, _space: number, _addr: Addr, _length: number, _version: number, cycle: number): void {
    // Instruction trace does not show stores; the decoder must learn of new code elsewhere.
    this.after(next, cycle);
  }

  end(_next: Addr, cycle: number): void {
    if (this.ended) return;
    this.ended = true;
    this.tail = this.sinceP0;
    this.atoms.flush();
    if (this.ccOn && cycle - this.lastCcCycle >= this.ccThreshold) this.cycleCount(cycle);
  }

  // --- output --------------------------------------------------------------------------------

  /** Ends the trace (if `end` was not called) and hands every byte to the sink, then ends it. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.atoms.flush();
    if (this.out.length > 0) {
      this.sink.write(this.out.view());
      this.flushed += this.out.length;
      this.out.clear();
    }
    this.sink.end();
  }

  /** Trace bytes produced so far (written to the sink or pending). */
  get bytes(): number {
    return this.flushed + this.out.length;
  }

  get stats(): EtmTraceStats {
    return {
      bytes: this.bytes,
      instructions: this.instructions,
      syncs: this.syncs,
      atoms: this.atomCount,
      atomPackets: this.atoms.packets,
      addresses: this.addresses,
      exceptions: this.exceptions,
      timestamps: this.timestamps,
      cycleCounts: this.cycleCounts,
      returnStackHits: this.rsHits,
      untracedTail: this.tail,
    };
  }

  // --- packets -------------------------------------------------------------------------------

  private atom(e: number, cycle: number): void {
    this.atoms.add(e);
    this.atomCount++;
    if (this.ccOn && cycle - this.lastCcCycle >= this.ccThreshold) {
      this.atoms.flush();
      this.cycleCount(cycle);
    }
  }

  private indirect(to: Addr): void {
    if (this.rsOn && this.rs.matchesTop(to)) {
      this.rs.pop();
      this.rsHits++;
      return;
    }
    this.atoms.flush();
    this.address(to);
  }

  /** Exception packet, preferred return address (old context), target address (new context). */
  private exception(type: number, ret: Addr, to: Addr, toCtx: number): void {
    this.atoms.flush();
    this.enc.exception(type, 1);
    this.exceptions++;
    this.address(ret);
    this.setContext(toCtx);
    this.address(to);
  }

  /** An address packet for `a` in the current context: with the context when it changed. */
  private address(a: Addr): void {
    this.addresses++;
    if (this.curCtx !== this.tracedCtx && this.contextDiffers(this.curCtx, this.tracedCtx)) {
      this.addressWithContext(a);
      return;
    }
    this.tracedCtx = this.curCtx;
    this.enc.address(addrHi(a), addrLo(a), 0);
  }

  private addressWithContext(a: Addr): void {
    const c = this.curCtx;
    const f = this.ctx;
    const p = this.addrCtxt;
    const info = f.info[c]!;
    p.hi = addrHi(a);
    p.lo = addrLo(a);
    p.el = info & 3;
    p.nse = (info >> 3) & 1;
    p.sf = (info >> 4) & 1;
    p.ns = (info >> 5) & 1;
    if (this.vmidOn) p.vmid = f.vmid[c]!;
    if (this.cidOn) p.contextId = f.cid[c]!;
    this.enc.encode(p);
    this.tracedCtx = c;
  }

  private contextDiffers(a: number, b: number): boolean {
    if (b < 0) return true;
    const f = this.ctx;
    return f.info[a] !== f.info[b] || (this.cidOn && f.cid[a] !== f.cid[b]) || (this.vmidOn && f.vmid[a] !== f.vmid[b]);
  }

  private setContext(ctx: number): void {
    if (ctx === this.curCtx) return;
    this.ctx.load(ctx);
    this.curCtx = ctx;
  }

  /** A-sync, Trace Info, [timestamp], [Trace On], Address with Context of the next instruction. */
  private synchronise(next: Addr, cycle: number, traceOn: boolean): void {
    this.atoms.flush();
    const offset = this.bytes;
    this.enc.async();
    this.syncs++;
    this.syncSink?.sync(this.traceId, offset);
    this.enc.traceInfo(this.tinfo);
    this.rs.flush();
    if (this.tsOn) this.timestamp(cycle, true);
    if (traceOn) this.enc.encode(TRACE_ON);
    this.addresses++;
    this.addressWithContext(next);
    this.nextSync = offset + this.period;
  }

  private timestamp(cycle: number, full: boolean): void {
    const v = counterAt(this.clock, this.clock.timerHz, cycle);
    if (this.ccOn) {
      this.enc.timestampUpdate(full ? 0 : this.lastTs, v, Math.min(cycle - this.lastCcCycle, this.ccMax));
      this.lastCcCycle = cycle;
    } else {
      this.enc.timestampUpdate(full ? 0 : this.lastTs, v);
    }
    this.lastTs = v;
    this.lastTsCycle = cycle;
    this.timestamps++;
  }

  /** A cycle count of the cycles since the last one (at least the threshold), shortest format. */
  private cycleCount(cycle: number): void {
    const n = Math.min(cycle - this.lastCcCycle, this.ccMax) - this.ccThreshold;
    if (n <= 3) {
      this.ccF3.count = n;
      this.enc.encode(this.ccF3);
    } else if (n <= 15) {
      this.ccF2.count = n;
      this.enc.encode(this.ccF2);
    } else {
      this.enc.ccntF1(n, undefined);
    }
    this.lastCcCycle = cycle;
    this.cycleCounts++;
  }

  /** After each event that may emit packets: timestamp and sync when due, hand out full chunks. */
  private after(next: Addr, cycle: number): void {
    if (cycle - this.lastTsCycle >= this.tsInterval) {
      this.atoms.flush();
      this.timestamp(cycle, false);
    }
    if (this.flushed + this.out.length >= this.nextSync) this.synchronise(next, cycle, false);
    if (this.out.length >= this.chunkSize) this.spill();
  }

  private spill(): void {
    this.sink.write(this.out.view());
    this.flushed += this.out.length;
    this.out.clear();
  }
}
