// Small ExecSinks: a tee to drive several consumers from one run, and a recorder that logs every
// event as numbers (for tests, determinism checks and trace-unit unit tests).

import type { Addr } from '../arch/common/address.js';
import type { ExecSink } from '../arch/common/events.js';

/** Forwards every event to each of `sinks`, in order. */
export class TeeSink implements ExecSink {
  constructor(private readonly sinks: readonly ExecSink[]) {}
  begin(ctx: number, ip: Addr, cycle: number): void {
    for (const s of this.sinks) s.begin(ctx, ip, cycle);
  }
  block(start: Addr, count: number, ctx: number, cycle: number): void {
    for (const s of this.sinks) s.block(start, count, ctx, cycle);
  }
  branch(kind: number, from: Addr, next: Addr, to: Addr, toCtx: number, cycle: number): void {
    for (const s of this.sinks) s.branch(kind, from, next, to, toCtx, cycle);
  }
  interrupt(cause: number, vector: number, next: Addr, to: Addr, toCtx: number, cycle: number): void {
    for (const s of this.sinks) s.interrupt(cause, vector, next, to, toCtx, cycle);
  }
  contextSwitch(at: Addr, next: Addr, ctx: number, cycle: number): void {
    for (const s of this.sinks) s.contextSwitch(at, next, ctx, cycle);
  }
  codeWrite(at: Addr, next: Addr, space: number, addr: Addr, length: number, version: number, cycle: number): void {
    for (const s of this.sinks) s.codeWrite(at, next, space, addr, length, version, cycle);
  }
  end(next: Addr, cycle: number): void {
    for (const s of this.sinks) s.end(next, cycle);
  }
}

/** Event codes in a RecordingSink log (the first number of each record). */
export const Ev = { BEGIN: 1, BLOCK: 2, BRANCH: 3, INTERRUPT: 4, CONTEXT: 5, CODE_WRITE: 6, END: 7 } as const;

/** Numbers per record: the code, then the event's arguments, padded to this width. */
export const EV_WIDTH = 8;

/**
 * Logs every event as a fixed-width record of numbers: [code, ...arguments]. Meant for tests of
 * bounded size: it keeps everything in memory.
 */
export class RecordingSink implements ExecSink {
  private buf = new Float64Array(EV_WIDTH * 1024);
  private n = 0;

  private add(code: number, a = 0, b = 0, c = 0, d = 0, e = 0, f = 0, g = 0): void {
    if (this.n + EV_WIDTH > this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    const p = this.n;
    const r = this.buf;
    r[p] = code; r[p + 1] = a; r[p + 2] = b; r[p + 3] = c; r[p + 4] = d; r[p + 5] = e; r[p + 6] = f; r[p + 7] = g;
    this.n += EV_WIDTH;
  }

  begin(ctx: number, ip: Addr, cycle: number): void { this.add(Ev.BEGIN, ctx, ip, cycle); }
  block(start: Addr, count: number, ctx: number, cycle: number): void { this.add(Ev.BLOCK, start, count, ctx, cycle); }
  branch(kind: number, from: Addr, next: Addr, to: Addr, toCtx: number, cycle: number): void { this.add(Ev.BRANCH, kind, from, next, to, toCtx, cycle); }
  interrupt(cause: number, vector: number, next: Addr, to: Addr, toCtx: number, cycle: number): void { this.add(Ev.INTERRUPT, cause, vector, next, to, toCtx, cycle); }
  contextSwitch(at: Addr, next: Addr, ctx: number, cycle: number): void { this.add(Ev.CONTEXT, at, next, ctx, cycle); }
  codeWrite(at: Addr, next: Addr, space: number, addr: Addr, length: number, version: number, cycle: number): void { this.add(Ev.CODE_WRITE, at, next, space, addr, length, version, cycle); }
  end(next: Addr, cycle: number): void { this.add(Ev.END, next, cycle); }

  /** Number of events recorded. */
  get length(): number {
    return this.n / EV_WIDTH;
  }

  /** Event `i` as [code, ...arguments] (a copy). */
  event(i: number): number[] {
    return Array.from(this.buf.subarray(i * EV_WIDTH, (i + 1) * EV_WIDTH));
  }

  /** The whole log (a view). */
  log(): Float64Array {
    return this.buf.subarray(0, this.n);
  }
}
