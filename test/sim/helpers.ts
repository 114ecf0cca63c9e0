// Test helpers for the simulator: a sink that checks every invariant a trace unit relies on
// while the executor runs, and walks the exact instruction flow.

import type { Addr } from '../../arch/common/address.js';
import { type ExecSink, Xfer } from '../../arch/common/events.js';
import { ALL_SPACES } from '../../sim/images.js';
import type { Machine } from '../../sim/machine.js';
import { buildTables } from '../../sim/exec/tables.js';

export interface Checked {
  instructions: number;
  blocks: number;
  branches: Map<number, number>;
  interrupts: number;
  switches: number;
  /** Every executed instruction's address, when asked to keep them. */
  addresses: number[];
  /** Context of each executed instruction, when asked to keep them. */
  contexts: number[];
  errors: string[];
}

/**
 * Follows the events and checks them against the machine: blocks start where the previous
 * transfer went, branch targets are block starts, calls and returns pair up per thread (each
 * process's user stack and the kernel stack), interrupts come from user mode and IRET resumes
 * the interrupted instruction, contexts change only at far transfers and context switches,
 * cycles never go back.
 */
export class CheckingSink implements ExecSink {
  readonly r: Checked = { instructions: 0, blocks: 0, branches: new Map(), interrupts: 0, switches: 0, addresses: [], contexts: [], errors: [] };
  /** Instruction length by address, per address space (kernel: ALL_SPACES). */
  private readonly len = new Map<number, Map<number, number>>();
  private readonly starts = new Map<number, Set<number>>();
  private readonly kernelCtx: Set<number>;
  private expected = Number.NaN;
  private lastInsn = Number.NaN;
  private ctx = -1;
  private cycle = 0;
  private readonly stacks = new Map<string, number[]>();
  private readonly resume = new Map<number, number>();
  private readonly irqEntry: number;
  private readonly syscallEntry: number;

  constructor(private readonly m: Machine, private readonly keep = false) {
    const t = buildTables(m);
    for (let b = 0; b < t.blocks; b++) {
      const space = t.owner[b]! < 0 ? ALL_SPACES : t.owner[b]!;
      let lens = this.len.get(space);
      if (!lens) this.len.set(space, (lens = new Map()));
      let starts = this.starts.get(space);
      if (!starts) this.starts.set(space, (starts = new Set()));
      starts.add(t.start[b]!);
      let a = t.start[b]!;
      for (let i = t.insnFirst[b]!; i < t.insnFirst[b + 1]!; i++) {
        lens.set(a, t.lengths[i]!);
        a += t.lengths[i]!;
      }
    }
    this.kernelCtx = new Set(Array.from(m.kernelCtx));
    // A process that has not run yet is first entered at its main.
    for (let p = 0; p < t.mainEntry.length; p++) this.resume.set(p, t.start[t.mainEntry[p]!]!);
    this.irqEntry = t.start[t.irqEntry]!;
    this.syscallEntry = t.start[t.syscallEntry]!;
  }

  private err(msg: string): void {
    if (this.r.errors.length < 20) this.r.errors.push(`${msg} (after ${this.r.instructions} instructions)`);
  }

  private space(ctx: number): number {
    return this.kernelCtx.has(ctx) ? ALL_SPACES : this.m.ctxSpace[ctx]!;
  }

  private lengthAt(ctx: number, a: Addr): number {
    return this.len.get(this.space(ctx))?.get(a) ?? 0;
  }

  private isStart(ctx: number, a: Addr): boolean {
    return this.starts.get(this.space(ctx))?.has(a) ?? false;
  }

  private thread(ctx: number): number[] {
    const key = this.kernelCtx.has(ctx) ? 'kernel' : `user${this.m.ctxSpace[ctx]}`;
    let s = this.stacks.get(key);
    if (!s) this.stacks.set(key, (s = []));
    return s;
  }

  private time(cycle: number, what: string): void {
    if (!(cycle >= this.cycle) || !Number.isInteger(cycle)) this.err(`${what}: cycle ${cycle} before ${this.cycle}`);
    this.cycle = cycle;
  }

  begin(ctx: number, ip: Addr, cycle: number): void {
    this.ctx = ctx;
    this.expected = ip;
    this.time(cycle, 'begin');
    if (!this.isStart(ctx, ip)) this.err(`begin at ${ip}, not a block start`);
  }

  block(start: Addr, count: number, ctx: number, cycle: number): void {
    this.time(cycle, 'block');
    if (start !== this.expected) this.err(`block at ${start.toString(16)}, expected ${this.expected.toString(16)}`);
    if (ctx !== this.ctx) this.err(`block in context ${ctx}, current context is ${this.ctx}`);
    if (!(count >= 1)) this.err(`block of ${count} instructions`);
    let a = start;
    for (let i = 0; i < count; i++) {
      const l = this.lengthAt(ctx, a);
      if (l === 0) {
        this.err(`no instruction at ${a.toString(16)} in context ${ctx}`);
        return;
      }
      if (this.keep) {
        this.r.addresses.push(a);
        this.r.contexts.push(ctx);
      }
      this.lastInsn = a;
      a += l;
    }
    this.expected = a;
    this.r.instructions += count;
    this.r.blocks++;
  }

  branch(kind: number, from: Addr, next: Addr, to: Addr, toCtx: number, cycle: number): void {
    this.time(cycle, 'branch');
    this.r.branches.set(kind, (this.r.branches.get(kind) ?? 0) + 1);
    if (from !== this.lastInsn || next !== this.expected) this.err(`branch kind ${kind} from ${from.toString(16)}/${next.toString(16)}, last instruction ${this.lastInsn.toString(16)}`);
    const near = kind <= Xfer.RETURN;
    if (near && toCtx !== this.ctx) this.err(`near branch kind ${kind} changes context ${this.ctx} → ${toCtx}`);
    if (kind === Xfer.COND_NOT_TAKEN && to !== next) this.err('not-taken branch goes elsewhere');
    if (kind === Xfer.CALL || kind === Xfer.IND_CALL) this.thread(this.ctx).push(next);
    if (kind === Xfer.RETURN) {
      const want = this.thread(this.ctx).pop();
      if (want !== to) this.err(`return to ${to.toString(16)}, call was from ${want?.toString(16)}`);
    }
    if (kind === Xfer.SYSCALL) {
      if (this.kernelCtx.has(this.ctx) || !this.kernelCtx.has(toCtx) || to !== this.syscallEntry) this.err('system call not from user into the entry');
      this.resume.set(this.m.ctxSpace[this.ctx]!, next);
      if (this.thread(toCtx).length !== 0) this.err('kernel stack not empty on entry');
    }
    if (kind === Xfer.SYSRET || kind === Xfer.IRET) {
      if (!this.kernelCtx.has(this.ctx) || this.kernelCtx.has(toCtx)) this.err('return to user not from kernel');
      if (this.m.ctxSpace[toCtx] !== this.m.ctxSpace[this.ctx]) this.err('return to user of another process than the kernel switched to');
      const want = this.resume.get(this.m.ctxSpace[toCtx]!);
      if (want !== to) this.err(`${kind === Xfer.IRET ? 'IRET' : 'SYSRET'} to ${to.toString(16)}, resume point ${want?.toString(16)}`);
      if (this.thread(this.ctx).length !== 0) this.err('kernel stack not empty on exit');
    } else if (!this.isStart(toCtx, to)) {
      this.err(`branch kind ${kind} to ${to.toString(16)}, not a block start`);
    }
    this.ctx = toCtx;
    this.expected = to;
  }

  interrupt(_cause: number, _vector: number, next: Addr, to: Addr, toCtx: number, cycle: number): void {
    this.time(cycle, 'interrupt');
    this.r.interrupts++;
    if (next !== this.expected) this.err(`interrupt at ${next.toString(16)}, next instruction is ${this.expected.toString(16)}`);
    if (this.kernelCtx.has(this.ctx)) this.err('interrupt taken in kernel mode');
    if (to !== this.irqEntry || !this.kernelCtx.has(toCtx) || this.m.ctxSpace[toCtx] !== this.m.ctxSpace[this.ctx]) this.err('interrupt not into the kernel entry of the same process');
    this.resume.set(this.m.ctxSpace[this.ctx]!, next);
    this.ctx = toCtx;
    this.expected = to;
  }

  contextSwitch(at: Addr, next: Addr, ctx: number, cycle: number): void {
    this.time(cycle, 'contextSwitch');
    this.r.switches++;
    if (at !== this.lastInsn || next !== this.expected) this.err('context switch is not the last instruction of the block');
    if (!this.kernelCtx.has(ctx) || !this.kernelCtx.has(this.ctx)) this.err('context switch outside the kernel');
    this.ctx = ctx;
  }

  codeWrite(): void {
    this.err('static workloads never write code');
  }

  end(next: Addr, cycle: number): void {
    this.time(cycle, 'end');
    if (next !== this.expected) this.err(`end at ${next.toString(16)}, expected ${this.expected.toString(16)}`);
  }
}
