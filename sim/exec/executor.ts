// The executor: runs a machine block by block, deciding every branch from the program model and
// the PRNG, advancing the cycle clock, recording the ground truth and reporting each step to an
// ExecSink (a trace unit). The common case — a whole block with no interrupt due — is a short
// path over typed arrays; interrupts cutting a block, resuming mid-block and the final partial
// block take a slower path. Memory does not grow with the instruction count.

import type { Addr } from '../../arch/common/address.js';
import { HwtraceError } from '../../arch/common/errors.js';
import { Cause, type ExecSink, type TruthSink, Xfer } from '../../arch/common/events.js';
import { Rng } from '../rng.js';
import type { Machine } from '../machine.js';
import { Term } from '../program/model.js';
import { type ExecTables, Rule, buildTables } from './tables.js';

/** Interrupt vector of the timer: x86 Linux's LOCAL_TIMER_VECTOR; A64 IRQs have no number. */
export const TIMER_VECTOR = { x86: 0xec, a64: 0 } as const;

const TWO32 = 4294967296;

/** A TruthSink that records nothing. */
class NoTruth implements TruthSink {
  private n = 0;
  defineBlock(): number {
    return this.n++;
  }
  record(): void {}
}

export interface ExecutorOptions {
  /** Receives the execution events (a trace unit, a tee, a recorder…). */
  sink: ExecSink;
  /** Receives the ground truth; omit to record none. */
  truth?: TruthSink;
  /** Instructions to execute in total (the run stops exactly there). */
  limit: number;
}

/** Counts of what happened, for summaries and tests. */
export interface ExecStats {
  instructions: number;
  blocks: number;
  /** Branches by Xfer kind (index = kind). */
  branches: number[];
  interrupts: number;
  contextSwitches: number;
  /** Distinct truth blocks defined. */
  truthBlocks: number;
}

export class Executor {
  readonly tables: ExecTables;
  private readonly sink: ExecSink;
  private readonly truth: TruthSink;
  private readonly rng: Rng;
  readonly limit: number;

  // Clock.
  private readonly cost: Int32Array;
  private readonly cpi: number;
  private readonly penalty: number;
  private readonly stallThreshold: number;
  private readonly stallCycles: number;
  private readonly period: number;
  private readonly vector: number;

  // Ground-truth block ids per (block, address space): kernel blocks run in every process's context.
  private readonly truthSlot: Int32Array;
  private readonly truthIds: Int32Array;
  private readonly partialIds = new Map<string, number>();
  private truthBlocks = 0;

  // Per-block and per-process state.
  private readonly loopLeft: Int32Array;
  private readonly stack: Int32Array;
  private readonly savedSp: Int32Array;
  private readonly resumeBlock: Int32Array;
  private readonly resumeIndex: Int32Array;
  private readonly userCtx: Int32Array;
  private readonly kernelCtx: Int32Array;
  private readonly kernelStack: number;
  private readonly processes: number;
  private readonly slice: number;

  // Where execution is.
  private b = 0;
  private k = 0;
  private cycle = 0;
  private executed = 0;
  private cur = 0;
  private kctx = 0;
  private kernelMode = false;
  private sp = 0;
  private deadline = Infinity;
  private ticks = 0;
  private switchDue = false;
  private started = false;
  private ended = false;

  private readonly branchCounts = new Float64Array(16);
  private blocksRun = 0;
  private interrupts = 0;
  private switches = 0;

  constructor(readonly machine: Machine, opts: ExecutorOptions) {
    if (!(Number.isSafeInteger(opts.limit) && opts.limit >= 0)) throw new HwtraceError('bad_option', `instruction limit must be a non-negative integer, got ${opts.limit}`);
    const t = (this.tables = buildTables(machine));
    this.sink = opts.sink;
    this.truth = opts.truth ?? new NoTruth();
    this.limit = opts.limit;
    this.rng = new Rng(machine.model.execSeed);
    const spec = machine.model.spec;
    const c = spec.clock;
    this.cpi = c.cpi;
    this.penalty = c.takenPenalty;
    this.stallThreshold = Math.round(c.stallRate * TWO32);
    this.stallCycles = c.stallCycles;
    this.period = spec.timerPeriod;
    this.vector = TIMER_VECTOR[machine.isa];
    this.cost = new Int32Array(t.blocks);
    for (let b = 0; b < t.blocks; b++) this.cost[b] = Math.max(1, Math.round(t.count[b]! * c.cpi));

    const P = (this.processes = machine.processes.length);
    this.slice = spec.schedSlice;
    this.truthSlot = new Int32Array(t.blocks);
    let slots = 0;
    for (let b = 0; b < t.blocks; b++) {
      this.truthSlot[b] = slots;
      slots += t.owner[b]! < 0 ? P : 1;
    }
    this.truthIds = new Int32Array(slots).fill(-1);

    this.loopLeft = new Int32Array(t.blocks);
    const userDepth = t.userDepth + 1;
    this.kernelStack = P * userDepth;
    this.stack = new Int32Array(this.kernelStack + t.kernelDepth + 1);
    this.savedSp = new Int32Array(P);
    this.resumeBlock = new Int32Array(P);
    this.resumeIndex = new Int32Array(P);
    for (let p = 0; p < P; p++) {
      this.savedSp[p] = p * userDepth;
      this.resumeBlock[p] = t.mainEntry[p]!;
    }
    this.userCtx = machine.userCtx;
    this.kernelCtx = machine.kernelCtx;
  }

  /** Instructions executed so far. */
  get instructions(): number {
    return this.executed;
  }

  /** Core cycles elapsed so far. */
  get cycles(): number {
    return this.cycle;
  }

  /** True once the instruction limit is reached. */
  get done(): boolean {
    return this.executed >= this.limit;
  }

  get stats(): ExecStats {
    return {
      instructions: this.executed,
      blocks: this.blocksRun,
      branches: Array.from(this.branchCounts),
      interrupts: this.interrupts,
      contextSwitches: this.switches,
      truthBlocks: this.truthBlocks,
    };
  }

  private start(): void {
    this.started = true;
    this.cur = 0;
    this.kctx = this.kernelCtx[0]!;
    this.b = this.resumeBlock[0]!;
    this.sp = this.savedSp[0]!;
    this.deadline = this.period > 0 ? this.period : Infinity;
    this.sink.begin(this.userCtx[0]!, this.tables.start[this.b]!, 0);
  }

  /**
   * Runs about `max` more instructions: whole blocks until at least that many have executed,
   * or exactly up to the limit, whichever comes first. Returns the instructions executed so far.
   * Calling it in steps gives the same events as one call (a block is only ever cut at the limit).
   */
  run(max: number = Infinity): number {
    if (this.ended) return this.executed;
    if (!this.started) this.start();
    const stop = Math.min(this.limit, this.executed + max);
    const t = this.tables;
    const { start, last, end, count, term, target, next, rule, threshold, tripMin, tripSpan, choiceFirst, choiceBlock, choiceCum, owner } = t;
    const cost = this.cost;
    const sink = this.sink;
    const truth = this.truth;
    const rng = this.rng;
    const truthSlot = this.truthSlot;
    const truthIds = this.truthIds;
    const loopLeft = this.loopLeft;
    const stack = this.stack;
    const branches = this.branchCounts;
    const penalty = this.penalty;
    const stallThreshold = this.stallThreshold;
    const stallCycles = this.stallCycles;

    while (this.executed < stop) {
      const b = this.b;
      const n = count[b]!;
      const own = owner[b]!;
      const ctx = own >= 0 ? this.userCtx[own]! : this.kctx;
      if (this.k === 0 && (this.kernelMode || this.cycle + cost[b]! <= this.deadline) && this.executed + n <= this.limit) {
        const slot = truthSlot[b]! + (own >= 0 ? 0 : this.cur);
        let id = truthIds[slot]!;
        if (id < 0) id = truthIds[slot] = this.defineTruth(b, 0, n, ctx);
        truth.record(id, this.cycle);
        sink.block(start[b]!, n, ctx, this.cycle);
        this.executed += n;
        this.cycle += cost[b]!;
        this.blocksRun++;
        if (stallThreshold > 0 && rng.nextU32() < stallThreshold) this.cycle += stallCycles;
      } else if (!this.partialBlock(ctx)) {
        continue; // interrupted or stopped: the loop picks up wherever execution now is
      }

      // The block retired up to and including its last instruction: perform its terminator.
      const kind = term[b]!;
      if (kind === Term.FALL) {
        this.b = next[b]!;
      } else if (kind === Term.COND) {
        const r = rule[b]!;
        let taken: boolean;
        if (r === Rule.BIAS) {
          taken = rng.nextU32() < threshold[b]!;
        } else if (r === Rule.LOOP) {
          let left = loopLeft[b]!;
          if (left === 0) left = tripMin[b]! + (tripSpan[b]! > 1 ? rng.below(tripSpan[b]!) : 0);
          left--;
          loopLeft[b] = left;
          taken = left > 0;
        } else {
          taken = !this.switchDue;
        }
        const x = taken ? Xfer.COND_TAKEN : Xfer.COND_NOT_TAKEN;
        const to = taken ? target[b]! : next[b]!;
        sink.branch(x, last[b]!, end[b]!, start[to]!, ctx, this.cycle);
        branches[x]!++;
        if (taken) this.cycle += penalty;
        this.b = to;
      } else if (kind === Term.JUMP) {
        const to = target[b]!;
        sink.branch(Xfer.JUMP, last[b]!, end[b]!, start[to]!, ctx, this.cycle);
        branches[Xfer.JUMP]!++;
        this.cycle += penalty;
        this.b = to;
      } else if (kind === Term.CALL) {
        const to = target[b]!;
        stack[this.sp++] = next[b]!;
        sink.branch(Xfer.CALL, last[b]!, end[b]!, start[to]!, ctx, this.cycle);
        branches[Xfer.CALL]!++;
        this.cycle += penalty;
        this.b = to;
      } else if (kind === Term.RET) {
        const to = stack[--this.sp]!;
        sink.branch(Xfer.RETURN, last[b]!, end[b]!, start[to]!, ctx, this.cycle);
        branches[Xfer.RETURN]!++;
        this.cycle += penalty;
        this.b = to;
      } else if (kind === Term.IND_JUMP || kind === Term.IND_CALL) {
        const u = rng.nextU32();
        let i = choiceFirst[b]!;
        while (u >= choiceCum[i]!) i++;
        const to = choiceBlock[i]!;
        const x = kind === Term.IND_JUMP ? Xfer.IND_JUMP : Xfer.IND_CALL;
        if (x === Xfer.IND_CALL) stack[this.sp++] = next[b]!;
        sink.branch(x, last[b]!, end[b]!, start[to]!, ctx, this.cycle);
        branches[x]!++;
        this.cycle += penalty;
        this.b = to;
      } else {
        this.systemTerminator(b, kind, ctx);
      }
    }
    return this.executed;
  }

  /** System calls, returns to user space and address-space switches (rare: kept off the hot path). */
  private systemTerminator(b: number, kind: number, ctx: number): void {
    const t = this.tables;
    const cur = this.cur;
    switch (kind) {
      case Term.SYSCALL: {
        this.resumeBlock[cur] = t.next[b]!;
        this.resumeIndex[cur] = 0;
        this.enterKernel();
        const to = t.syscallEntry;
        this.sink.branch(Xfer.SYSCALL, t.last[b]!, t.end[b]!, t.start[to]!, this.kctx, this.cycle);
        this.branchCounts[Xfer.SYSCALL]!++;
        this.b = to;
        break;
      }
      case Term.SYSRET:
      case Term.IRET: {
        const rb = this.resumeBlock[cur]!;
        const rk = this.resumeIndex[cur]!;
        this.kernelMode = false;
        this.sp = this.savedSp[cur]!;
        const x = kind === Term.SYSRET ? Xfer.SYSRET : Xfer.IRET;
        this.sink.branch(x, t.last[b]!, t.end[b]!, this.insnAddr(rb, rk), this.userCtx[cur]!, this.cycle);
        this.branchCounts[x]!++;
        this.b = rb;
        this.k = rk;
        break;
      }
      case Term.CTX_SWITCH: {
        const next = (cur + 1) % this.processes;
        this.cur = next;
        this.kctx = this.kernelCtx[next]!;
        this.switchDue = false;
        this.switches++;
        this.sink.contextSwitch(t.last[b]!, t.end[b]!, this.kctx, this.cycle);
        this.b = t.next[b]!;
        break;
      }
      default:
        throw new HwtraceError('internal', `executor: terminator ${kind} at block ${b} (context ${ctx}) is not supported`);
    }
  }

  private enterKernel(): void {
    this.savedSp[this.cur] = this.sp;
    this.sp = this.kernelStack;
    this.kernelMode = true;
  }

  /** Address of instruction `index` of block `b`. */
  private insnAddr(b: number, index: number): Addr {
    const t = this.tables;
    let a = t.start[b]!;
    const first = t.insnFirst[b]!;
    for (let i = 0; i < index; i++) a += t.lengths[first + i]!;
    return a;
  }

  private defineTruth(b: number, from: number, n: number, ctx: number): number {
    const t = this.tables;
    const first = t.insnFirst[b]! + from;
    this.truthBlocks++;
    return this.truth.defineBlock(this.insnAddr(b, from), t.lengths.subarray(first, first + n), ctx, t.version[b]!);
  }

  /**
   * The slow path for block `this.b` from instruction `this.k`: resumes a block cut by an
   * interrupt, takes a timer interrupt that falls inside the block, or stops at the limit.
   * Returns true when the block ran to its end (the caller then performs its terminator).
   */
  private partialBlock(ctx: number): boolean {
    const t = this.tables;
    const b = this.b;
    const from = this.k;
    const rest = t.count[b]! - from;
    let run = rest;
    let irq = false;
    if (!this.kernelMode && this.deadline !== Infinity) {
      // Taken before the first instruction that would start at or after the deadline.
      const before = Math.max(0, Math.ceil((this.deadline - this.cycle) / this.cpi));
      if (before < rest) {
        run = before;
        irq = true;
      }
    }
    let stopped = false;
    if (this.executed + run > this.limit) {
      run = this.limit - this.executed;
      irq = false;
      stopped = true;
    }
    if (run > 0) {
      const whole = from === 0 && run === rest;
      let id: number;
      if (whole) {
        const slot = this.truthSlot[b]! + (t.owner[b]! >= 0 ? 0 : this.cur);
        id = this.truthIds[slot]!;
        if (id < 0) id = this.truthIds[slot] = this.defineTruth(b, 0, run, ctx);
      } else {
        const key = `${b}:${from}:${run}:${ctx}`;
        id = this.partialIds.get(key) ?? -1;
        if (id < 0) {
          id = this.defineTruth(b, from, run, ctx);
          this.partialIds.set(key, id);
        }
      }
      this.truth.record(id, this.cycle);
      this.sink.block(this.insnAddr(b, from), run, ctx, this.cycle);
      this.executed += run;
      this.cycle += whole ? this.cost[b]! : Math.max(1, Math.round(run * this.cpi));
      this.blocksRun++;
    }
    if (irq) {
      this.interrupt(b, from + run);
      return false;
    }
    if (stopped) {
      this.k = from + run;
      return false;
    }
    this.k = 0;
    return true;
  }

  /** Takes the timer interrupt before instruction `index` of block `b`. */
  private interrupt(b: number, index: number): void {
    const cur = this.cur;
    this.resumeBlock[cur] = b;
    this.resumeIndex[cur] = index;
    this.enterKernel();
    do this.deadline += this.period; while (this.deadline <= this.cycle);
    this.ticks++;
    if (this.processes > 1 && this.ticks % this.slice === 0) this.switchDue = true;
    this.interrupts++;
    const to = this.tables.irqEntry;
    this.sink.interrupt(Cause.TIMER_IRQ, this.vector, this.insnAddr(b, index), this.tables.start[to]!, this.kctx, this.cycle);
    this.b = to;
    this.k = 0;
  }

  /** Address of the next instruction to execute. */
  get nextAddress(): Addr {
    return this.insnAddr(this.b, this.k);
  }

  /** Ends the run (once): reports `end` with the next instruction's address. Runs nothing more. */
  finish(): void {
    if (this.ended) return;
    if (!this.started) this.start();
    this.ended = true;
    this.sink.end(this.nextAddress, this.cycle);
  }
}
