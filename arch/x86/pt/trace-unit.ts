// The Intel PT trace unit: watches the simulator's retirement events (ExecSink) and writes the
// packet stream a CPU with IA32_RTIT_CTL programmed as `PtTraceOptions` would write (SDM Vol. 3,
// "Intel Processor Trace"). What it sends, and when:
//
// - Conditional branches and compressed returns: TNT bits, oldest first, up to 6 per TNT-8,
//   flushed before any packet that must keep its place after them (TIP, FUP, PIP, MODE, PSB…).
// - Indirect jumps and calls, uncompressed returns, far transfers (SYSCALL, SYSRET, IRET): TIP.
// - Interrupts: FUP with the IP of the instruction that did not retire, then TIP to the handler.
// - OS/User and CR3 filtering (ContextEn): a transfer into a context that is not traced sends
//   TIP.PGD with its IP suppressed (after the FUP if asynchronous); one into a traced context
//   sends MODE.Exec and TIP.PGE with the target.
// - MOV CR3: PIP with the new CR3, after the TNT bits of the branches before it. Sent on every
//   MOV CR3 while TraceEn is set, also while ContextEn is clear (a kernel MOV CR3 under user-only
//   tracing), so a decoder learns which address space the next TIP.PGE is in. libipt applies a
//   PIP that arrives while tracing is enabled at the next MOV CR3 it decodes, and one that
//   arrives while it is disabled at once.
// - PSB+ after every `psbFreq` bytes, between two instructions: PSB, TSC, TMA, CBR, VMCS (in a
//   guest), PIP, MODE.Exec, FUP with the next IP when packets are enabled, PSBEND. The return
//   stack is emptied there, so a decoder starting at any PSB can follow every compressed RET.
// - Timing: TSC (PSB+, optionally every `tscPeriod` cycles) with TMA when MTC is on; MTC each
//   time CTC bit `mtcFreq` toggles; CYC (cycle-accurate mode) before the packets it times.
// - The run's end (TraceEn cleared at the instruction budget): FUP with the next IP and a
//   TIP.PGD, so a decoder stops exactly where execution stopped.
//
// All per-event work is on numbers and typed arrays; output goes to the ChunkSink in chunks.

import type { Addr } from '../../common/address.js';
import { type ClockConfig, type ExecSink, type SyncSink, Xfer } from '../../common/events.js';
import { HwtraceError } from '../../common/errors.js';
import { ByteBuffer, type ChunkSink } from '../../common/stream.js';
import { PtEncoder } from './encoder.js';
import {
  PT_CBR, PT_CYC, PT_FUP, PT_MODE_EXEC, PT_MTC, PT_PIP, PT_PSB, PT_PSBEND, PT_TIP, PT_TIP_PGD, PT_TIP_PGE, PT_TMA,
  PT_TSC, PT_VMCS,
} from './opcodes.js';
import { PtPacket } from './packet.js';
import { PtReturnStack } from './return-stack.js';
import { PtCounter, ptCoreBusRatio } from './trace-clock.js';
import { type PtTraceConfig, type PtTraceOptions, resolvePtTraceConfig } from './trace-config.js';
import { PtContextCache, type PtContextSource } from './trace-contexts.js';

/** What the unit needs from the system it traces; a simulator Machine has both fields. */
export interface PtSystem {
  clock: ClockConfig;
  contexts: PtContextSource;
}

const TWO32 = 4294967296;
/** Branches per TNT-8 packet. */
const TNT8_MAX = 6;

export class PtTraceUnit implements ExecSink {
  readonly config: PtTraceConfig;
  private readonly buf: ByteBuffer;
  private readonly enc: PtEncoder;
  private readonly pkt = new PtPacket();
  private readonly ctxs: PtContextCache;
  private readonly stack = new PtReturnStack();
  private readonly retc: boolean;
  private readonly chunkSize: number;

  /** Bytes already handed to the output sink. */
  private flushed = 0;
  /** Stream offset at which the next PSB+ is due. */
  private nextPsbAt = 0;
  private psbs = 0;

  // Pending TNT bits: the oldest in the most significant position.
  private tntBits = 0;
  private tntCount = 0;

  // Where execution is.
  private ctx = -1;
  /** PacketEn: BranchEn and ContextEn (there is no IP filtering). */
  private en = false;
  private started = false;
  private ended = false;
  private finished = false;

  // Timing.
  private readonly tscClock: PtCounter;
  private readonly ctcClock: PtCounter;
  private readonly cbr: number;
  /** The TSC / crystal ratio, for TMA's fast counter. */
  private readonly tscPerCtc: PtCounter;
  /** Earliest cycle at which an MTC or a periodic TSC is due (Infinity: never). */
  private timeDue = Infinity;
  private nextMtcCycle = Infinity;
  /** CTC value of the next MTC (a multiple of 2^mtcFreq). */
  private nextMtcCtc = 0;
  private nextTscCycle = Infinity;
  private lastCycCycle = 0;
  private readonly cycMin: number;

  constructor(system: PtSystem, options: PtTraceOptions, private readonly out: ChunkSink, private readonly syncSink: SyncSink | null = null) {
    const c = (this.config = resolvePtTraceConfig(options));
    this.ctxs = new PtContextCache(system.contexts, c);
    this.retc = !c.disRetc;
    this.chunkSize = c.chunkSize;
    this.buf = new ByteBuffer(c.chunkSize + 256);
    this.enc = new PtEncoder(this.buf);
    const clock = system.clock;
    this.tscClock = new PtCounter(clock.timeBase, clock.tscHz, clock.coreHz);
    this.ctcClock = new PtCounter(clock.timeBase, clock.crystalHz, clock.coreHz);
    this.tscPerCtc = new PtCounter(0, clock.tscHz, clock.crystalHz);
    this.cbr = ptCoreBusRatio(clock);
    this.cycMin = c.cycThresh === 0 ? 1 : 2 ** (c.cycThresh - 1);
  }

  /** Bytes of trace written so far (handed out or buffered). */
  get bytes(): number {
    return this.flushed + this.buf.length;
  }

  /** PSB+ sequences written so far. */
  get psbCount(): number {
    return this.psbs;
  }

  // ExecSink --------------------------------------------------------------------------------

  begin(ctx: number, ip: Addr, cycle: number): void {
    if (this.started) throw new HwtraceError('internal', 'PtTraceUnit.begin called twice');
    this.started = true;
    this.ctx = ctx;
    this.en = this.config.branchEn && this.ctxs.enabled(ctx);
    this.lastCycCycle = cycle;
    const c = this.config;
    if (c.mtcEn) {
      const step = 2 ** c.mtcFreq;
      this.nextMtcCtc = (Math.floor(this.ctcClock.at(cycle) / step) + 1) * step;
      this.nextMtcCycle = this.ctcClock.cycleOf(this.nextMtcCtc);
    }
    if (c.tscEn && c.tscPeriod > 0) this.nextTscCycle = cycle + c.tscPeriod;
    this.timeDue = Math.min(this.nextMtcCycle, this.nextTscCycle);
    // TraceEn set: a PSB+ (packets were not enabled yet, so no FUP), then the enable.
    this.psb(ip, cycle, false);
    if (this.en) this.enable(ip, ctx);
    this.afterEvent(ip, cycle);
  }

  block(_start: Addr, _count: number, _ctx: number, _cycle: number): void {}

  branch(kind: number, _from: Addr, next: Addr, to: Addr, toCtx: number, cycle: number): void {
    if (cycle >= this.timeDue) this.timing(cycle);
    if (kind > Xfer.RETURN) this.transfer(Number.NaN, to, toCtx, cycle);
    else if (this.en) {
      switch (kind) {
        case Xfer.COND_NOT_TAKEN:
          this.tnt(0, cycle);
          break;
        case Xfer.COND_TAKEN:
          this.tnt(1, cycle);
          break;
        case Xfer.JUMP:
          break;
        case Xfer.CALL:
          // A direct call to the next instruction is the idiom for reading the IP; libipt's
          // stack does not push it, so a RET to its address must not be compressed either.
          if (to !== next) this.stack.push(next);
          break;
        case Xfer.IND_JUMP:
          this.tip(PT_TIP, to, cycle);
          break;
        case Xfer.IND_CALL:
          this.tip(PT_TIP, to, cycle);
          this.stack.push(next);
          break;
        default: // Xfer.RETURN
          if (this.retc && this.stack.popIf(to)) this.tnt(1, cycle);
          else this.tip(PT_TIP, to, cycle);
      }
    }
    this.afterEvent(to, cycle);
  }

  interrupt(_cause: number, _vector: number, next: Addr, to: Addr, toCtx: number, cycle: number): void {
    if (cycle >= this.timeDue) this.timing(cycle);
    this.transfer(next, to, toCtx, cycle);
    this.afterEvent(to, cycle);
  }

  contextSwitch(_at: Addr, next: Addr, ctx: number, cycle: number): void {
    if (cycle >= this.timeDue) this.timing(cycle);
    const was = this.en;
    this.flushTnt(cycle);
    this.cyc(cycle);
    this.pip(ctx);
    this.ctx = ctx;
    this.en = this.config.branchEn && this.ctxs.enabled(ctx);
    // With a CR3 filter, MOV CR3 can switch tracing off or on; it is not a branch, so the
    // disable carries no IP and the enable names the next instruction.
    if (was && !this.en) this.enc.ipSuppressed(PT_TIP_PGD);
    else if (!was && this.en) this.enable(next, ctx);
    this.afterEvent(next, cycle);
  }

  codeWrite(_at: Addr, _next: Addr, _space: number, _addr: Addr, _length: number, _version: number, _cycle: number): void {}

  end(next: Addr, cycle: number): void {
    if (this.ended) return;
    this.ended = true;
    if (cycle >= this.timeDue) this.timing(cycle);
    if (this.en) {
      // TraceEn cleared before `next` executes: FUP at it and TIP.PGD, as for a WRMSR that stops tracing.
      this.flushTnt(cycle);
      this.cyc(cycle);
      this.enc.ip(PT_FUP, next);
      this.enc.ipSuppressed(PT_TIP_PGD);
      this.en = false;
    }
  }

  /** Writes out everything buffered and ends the output stream; call after `end` (again: no effect). */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.flushTnt(0);
    this.flush();
    this.out.end();
  }

  // Packets ---------------------------------------------------------------------------------

  /** A far transfer (sync: `fup` NaN) or an interrupt (`fup` = the interrupted instruction) to `to` in `toCtx`. */
  private transfer(fup: number, to: Addr, toCtx: number, cycle: number): void {
    const was = this.en;
    const fromCtx = this.ctx;
    this.ctx = toCtx;
    const now = (this.en = this.config.branchEn && this.ctxs.enabled(toCtx));
    if (was) {
      this.flushTnt(cycle);
      this.cyc(cycle);
      if (!Number.isNaN(fup)) this.enc.ip(PT_FUP, fup);
      if (now) {
        if (this.ctxs.mode(toCtx) !== this.ctxs.mode(fromCtx)) this.modeExec(toCtx);
        this.enc.ip(PT_TIP, to);
      } else {
        // Leaving the traced context: the target is not revealed.
        this.enc.ipSuppressed(PT_TIP_PGD);
      }
    } else if (now) {
      this.cyc(cycle);
      this.enable(to, toCtx);
    }
  }

  /** PacketEn rises at `ip`: MODE.Exec, then TIP.PGE. */
  private enable(ip: Addr, ctx: number): void {
    this.modeExec(ctx);
    this.enc.ip(PT_TIP_PGE, ip);
  }

  private tip(type: number, to: Addr, cycle: number): void {
    this.flushTnt(cycle);
    this.cyc(cycle);
    this.enc.ip(type, to);
  }

  private tnt(bit: number, cycle: number): void {
    this.tntBits = (this.tntBits << 1) | bit;
    if (++this.tntCount === TNT8_MAX) this.flushTnt(cycle);
  }

  /** Sends the pending TNT bits as one TNT-8. */
  private flushTnt(cycle: number): void {
    const n = this.tntCount;
    if (n === 0) return;
    this.cyc(cycle);
    this.buf.push(((1 << n) | this.tntBits) << 1);
    this.tntBits = 0;
    this.tntCount = 0;
  }

  private modeExec(ctx: number): void {
    const p = this.pkt;
    const mode = this.ctxs.mode(ctx);
    p.type = PT_MODE_EXEC;
    p.csl = mode === 64 ? 1 : 0;
    p.csd = mode === 32 ? 1 : 0;
    p.iflag = 0;
    this.enc.encode(p);
  }

  private pip(ctx: number): void {
    const p = this.pkt;
    p.type = PT_PIP;
    p.cr3 = this.ctxs.cr3(ctx);
    p.nr = this.ctxs.nr(ctx);
    this.enc.encode(p);
  }

  /** A CYC with the cycles since the last one, when cycle-accurate mode is on and enough passed. */
  private cyc(cycle: number): void {
    if (!this.config.cycEn) return;
    const n = cycle - this.lastCycCycle;
    if (n < this.cycMin) return;
    this.lastCycCycle = cycle;
    const p = this.pkt;
    p.type = PT_CYC;
    p.lo = n % TWO32;
    p.hi = Math.floor(n / TWO32);
    this.enc.encode(p);
  }

  /** TSC at `cycle`, and TMA (CTC and fast counter at the same instant) when MTC is on. */
  private tsc(cycle: number): void {
    const p = this.pkt;
    const tsc = this.tscClock.at(cycle);
    p.type = PT_TSC;
    p.lo = tsc % TWO32;
    p.hi = Math.floor(tsc / TWO32) % 0x1000000;
    this.enc.encode(p);
    if (this.config.mtcEn) {
      const ctc = this.ctcClock.at(cycle);
      // The fast counter counts TSC ticks since CTC last incremented: TSC = TSC(CTC edge) + FC.
      const edge = this.tscClock.base + this.tscPerCtc.at(ctc - this.ctcClock.base);
      p.type = PT_TMA;
      p.ctc = ctc % 0x10000;
      p.fc = Math.min(0x1ff, Math.max(0, tsc - edge));
      this.enc.encode(p);
    }
    if (this.config.tscPeriod > 0) {
      this.nextTscCycle = cycle + this.config.tscPeriod;
      this.timeDue = Math.min(this.nextMtcCycle, this.nextTscCycle);
    }
  }

  /** MTCs for every CTC period that ended by `cycle`, and a periodic TSC if one is due. */
  private timing(cycle: number): void {
    if (cycle >= this.nextMtcCycle) {
      const step = 2 ** this.config.mtcFreq;
      const p = this.pkt;
      do {
        this.cyc(cycle);
        p.type = PT_MTC;
        p.ctc = Math.floor(this.nextMtcCtc / step) % 256;
        this.enc.encode(p);
        this.nextMtcCtc += step;
        this.nextMtcCycle = this.ctcClock.cycleOf(this.nextMtcCtc);
      } while (cycle >= this.nextMtcCycle);
    }
    if (cycle >= this.nextTscCycle) {
      this.cyc(cycle);
      this.tsc(cycle);
    }
    this.timeDue = Math.min(this.nextMtcCycle, this.nextTscCycle);
  }

  /** PSB+ at the current position; `ip` is the next instruction to execute. */
  private psb(ip: Addr, cycle: number, fup: boolean): void {
    this.flushTnt(cycle);
    this.cyc(cycle);
    const offset = this.flushed + this.buf.length;
    if (this.syncSink !== null) this.syncSink.sync(this.config.cpu, offset);
    this.enc.simple(PT_PSB);
    const c = this.config;
    const p = this.pkt;
    if (c.tscEn) this.tsc(cycle);
    p.type = PT_CBR;
    p.ratio = this.cbr;
    this.enc.encode(p);
    const ctx = this.ctx;
    if (this.ctxs.nr(ctx)) {
      p.type = PT_VMCS;
      p.vmcs = this.ctxs.vmcs(ctx);
      this.enc.encode(p);
    }
    this.pip(ctx);
    this.modeExec(ctx);
    if (fup) this.enc.ip(PT_FUP, ip);
    this.enc.simple(PT_PSBEND);
    this.stack.clear();
    this.nextPsbAt = offset + c.psbFreq;
    this.psbs++;
  }

  /** After each event: a PSB+ if one is due, and output handed on in chunks. */
  private afterEvent(ip: Addr, cycle: number): void {
    if (this.flushed + this.buf.length >= this.nextPsbAt) this.psb(ip, cycle, this.en);
    if (this.buf.length >= this.chunkSize) this.flush();
  }

  private flush(): void {
    if (this.buf.length === 0) return;
    this.out.write(this.buf.view());
    this.flushed += this.buf.length;
    this.buf.clear();
  }
}
