// The execution-event interface between the simulator (sim/) and the trace units (arch/x86/pt,
// arch/arm/etm4). The simulator retires instructions block by block and calls an ExecSink;
// a trace unit implements ExecSink and turns the calls into packets, as a CPU's trace logic
// watches its retirement stream. Everything is passed as numbers (addresses as canonical
// sign-extended numbers, contexts as interned ContextTable ids, time as core cycles), so a call
// costs no allocation.
//
// Order of calls for one executed block:
//   block(...)                       the block's instructions retired (its last one may be a branch)
//   then at most one of:
//     branch(...)                    the last instruction was a control transfer
//     contextSwitch(...)             the last instruction wrote CR3 / CONTEXTIDR (not a branch)
//     codeWrite(...)                 the last instruction modified code (JIT / SMC workloads)
//   or, when the block was cut short by an asynchronous event:
//     interrupt(...)                 taken before the instruction at `next` (which did not retire)
// A block that ends in none of these falls through to the next address.
// `begin` comes once before everything, `end` once after. Between two calls nothing retires
// that the calls do not describe, so a trace unit can follow the exact instruction flow.

import type { Addr } from './address.js';

/**
 * Control transfers reported by ExecSink.branch. Values are stable (they are stored in test
 * recordings). For Intel PT each is a branch (TNT, TIP or far transfer). For ETMv4 each is a
 * waypoint (an atom) except SYSCALL and HYPERCALL: SVC and HVC are not branch instructions, the
 * trace shows them as exceptions whose preferred return address is `next`.
 */
export const Xfer = {
  /** Conditional direct branch, not taken: flow continues at `next`. x86 Jcc; A64 B.cond/CBZ/CBNZ/TBZ/TBNZ. */
  COND_NOT_TAKEN: 1,
  /** Conditional direct branch, taken: flow continues at `to`. */
  COND_TAKEN: 2,
  /** Direct unconditional jump. x86 JMP rel; A64 B. */
  JUMP: 3,
  /** Direct call; the return address is `next`. x86 CALL rel32; A64 BL. */
  CALL: 4,
  /** Indirect jump (jump tables, tail calls through pointers). x86 JMP r/m64; A64 BR. */
  IND_JUMP: 5,
  /** Indirect call; the return address is `next`. x86 CALL r/m64; A64 BLR. */
  IND_CALL: 6,
  /**
   * Near return to `to`. The simulator's calls and returns always pair up within one thread of
   * execution: `to` equals the `next` of the matching CALL/IND_CALL of the same context, but a
   * return may also be the first one a trace unit sees after a context switch (its call was made
   * before the process was last switched out), so a return stack must compare targets.
   */
  RETURN: 7,
  /** System call: synchronous far transfer from user to kernel. x86 SYSCALL; A64 SVC (an exception; preferred return address = `next`). */
  SYSCALL: 8,
  /** Return from a system call to user. x86 SYSRET; A64 ERET. */
  SYSRET: 9,
  /** Return from an interrupt or exception. x86 IRET; A64 ERET. */
  IRET: 10,
  /** Hypercall from a guest (VM workloads, later). x86 VMCALL; A64 HVC. */
  HYPERCALL: 11,
  /** VM entry: the hypervisor resumes a guest (VM workloads, later). x86 VMRESUME/VMLAUNCH; A64 ERET to EL1. */
  VM_ENTRY: 12,
} as const;
export type XferKind = (typeof Xfer)[keyof typeof Xfer];

/** Names of the Xfer kinds, for listings and test messages. */
export const XFER_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(Xfer).map(([name, value]) => [value, name.toLowerCase()]),
);

/** True for kinds that change privilege or address space at once (PT: far transfers; ETM: exceptions/returns). */
export function isFarTransfer(kind: number): boolean {
  return kind >= Xfer.SYSCALL;
}

/** Causes of ExecSink.interrupt (asynchronous events). */
export const Cause = {
  /** Periodic timer interrupt (x86 local APIC timer; A64 IRQ from the generic timer). */
  TIMER_IRQ: 1,
  /** VM exit on an external interrupt (VM workloads, later). */
  VM_EXIT: 2,
} as const;

/** The clock the simulator runs on. Time in every event is core cycles since `begin`. */
export interface ClockConfig {
  /** Core clock in Hz; CYC packets (PT) and cycle counts (ETMv4) count these. */
  coreHz: number;
  /** x86 TSC frequency in Hz (TSC packets). */
  tscHz: number;
  /** x86 crystal / ART frequency in Hz (MTC, TMA's CTC); CPUID.15H gives tscHz/crystalHz = EBX/EAX. */
  crystalHz: number;
  /** Arm generic timer (CNTVCT) frequency in Hz; ETMv4 timestamps count these. */
  timerHz: number;
  /** Value of the TSC / generic timer at cycle 0. */
  timeBase: number;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/**
 * The value of a counter running at `hz` after `cycle` core cycles: timeBase + ⌊cycle·hz/coreHz⌋,
 * exactly (monotonic, deterministic). cycle·hz passes 2^53 within seconds of simulated time, so
 * the ratio is reduced and the division split; BigInt only for ratios too large for that.
 */
export function counterAt(clock: ClockConfig, hz: number, cycle: number): number {
  const g = gcd(hz, clock.coreHz);
  const num = hz / g;
  const den = clock.coreHz / g;
  const whole = Math.floor(cycle / den);
  const rest = cycle - whole * den;
  if (rest * num <= Number.MAX_SAFE_INTEGER) return clock.timeBase + whole * num + Math.floor((rest * num) / den);
  return clock.timeBase + whole * num + Number((BigInt(rest) * BigInt(num)) / BigInt(den));
}

/**
 * What a trace unit implements. All calls are synchronous; all arguments are numbers. `cycle` is
 * the core-cycle count when the event happens: for `block` when its first instruction starts,
 * for the other calls when the reported instruction retires (= when the next one starts).
 */
export interface ExecSink {
  /** Execution starts at `ip` in context `ctx` (tracing may start here: PT PSB+/TIP.PGE, ETM TraceOn). */
  begin(ctx: number, ip: Addr, cycle: number): void;

  /**
   * `count` instructions retired, straight-line from `start`, in context `ctx`. The last one may be
   * a branch reported by the following `branch` call. No branch is hidden inside the run.
   */
  block(start: Addr, count: number, ctx: number, cycle: number): void;

  /**
   * The block's last instruction, at `from`, transferred control. `kind` is an Xfer value; `next`
   * is the address after the instruction (fall-through and return address); `to` is where
   * execution continues (== `next` for COND_NOT_TAKEN); `toCtx` is the context there (differs from
   * the block's context only for far transfers: system calls, their returns, exception returns).
   */
  branch(kind: number, from: Addr, next: Addr, to: Addr, toCtx: number, cycle: number): void;

  /**
   * An asynchronous event (a Cause) interrupted execution before the instruction at `next`, which
   * has not executed and will be resumed later (PT: FUP `next` + TIP `to`; ETMv4: exception with
   * preferred return address `next`). `vector` is the architectural vector or exception number
   * (x86 IDT vector; A64: 0 = IRQ). Execution continues at `to` in context `toCtx`.
   */
  interrupt(cause: number, vector: number, next: Addr, to: Addr, toCtx: number, cycle: number): void;

  /**
   * The block's last instruction, at `at`, switched address space: MOV CR3 (PT: PIP) or
   * MSR CONTEXTIDR_EL1 (ETMv4: context on the next address). From `next` on, instructions run in
   * context `ctx`. Not a branch: `next` is the fall-through address.
   */
  contextSwitch(at: Addr, next: Addr, ctx: number, cycle: number): void;

  /**
   * The block's last instruction, at `at`, changed code bytes: [addr, addr+length) in address
   * space `space` now holds code version `version` (see the simulator's images). JIT and
   * self-modifying workloads only; `static` and `multiproc` never call it. Not a branch.
   */
  codeWrite(at: Addr, next: Addr, space: number, addr: Addr, length: number, version: number, cycle: number): void;

  /** Execution stopped before the instruction at `next` (the run's instruction budget was used up). */
  end(next: Addr, cycle: number): void;
}

/**
 * Where a trace unit reports its sync points (PT: each PSB; ETMv4: each A-sync), so the ground
 * truth can mark where every trace segment starts. `stream` identifies the trace stream (PT: the
 * CPU; ETM: the trace ID) and `offset` is the byte offset of the sync packet in that stream.
 * The segment starts with the next block the executor reports, so call it while handling
 * `begin`, `branch`, `interrupt`, `contextSwitch` or `codeWrite` — never inside `block`: the
 * executor records a block's truth just before calling `block`, so a sync made there would
 * place the segment after that block.
 */
export interface SyncSink {
  sync(stream: number, offset: number): void;
}

/**
 * Where the simulator records the ground truth (implemented by corpora/truth's TruthWriter; the
 * interface lives here because sim/ and corpora/ may not import each other).
 */
export interface TruthSink {
  /**
   * Declares a truth block: instructions at `start` with these byte `lengths`, run in context
   * `ctx`, from code version `version`. Returns its id (0, 1, 2… in call order). `lengths` may
   * be a view into the caller's tables: copy it to keep it.
   */
  defineBlock(start: Addr, lengths: Uint8Array, ctx: number, version: number): number;
  /** Block `id` executed, its first instruction starting at `cycle` (non-decreasing). */
  record(id: number, cycle: number): void;
}

/** An ExecSink that ignores everything: a base class for sinks that only need a few events. */
export class NullExecSink implements ExecSink {
  begin(_ctx: number, _ip: Addr, _cycle: number): void {}
  block(_start: Addr, _count: number, _ctx: number, _cycle: number): void {}
  branch(_kind: number, _from: Addr, _next: Addr, _to: Addr, _toCtx: number, _cycle: number): void {}
  interrupt(_cause: number, _vector: number, _next: Addr, _to: Addr, _toCtx: number, _cycle: number): void {}
  contextSwitch(_at: Addr, _next: Addr, _ctx: number, _cycle: number): void {}
  codeWrite(_at: Addr, _next: Addr, _space: number, _addr: Addr, _length: number, _version: number, _cycle: number): void {}
  end(_next: Addr, _cycle: number): void {}
}
