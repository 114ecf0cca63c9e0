// The program model: what a simulated program is, independent of any instruction set.
// A program is a list of functions; a function is a list of basic blocks in layout order; a block
// is `body` ordinary instructions followed by a terminator. Lowering turns each block into real
// x86-64 or A64 bytes with the same instruction count, and the executor walks the blocks,
// deciding every branch from this model (never from the bytes).

import { HwtraceError } from '../../arch/common/errors.js';

/** How a block ends. Kinds marked "continues" resume at the next block of the same function. */
export const Term = {
  /** No control transfer: the last body instruction is followed by the next block (continues). */
  FALL: 0,
  /** Conditional branch to `target` (taken) or the next block (not taken). */
  COND: 1,
  /** Direct jump to `target` (in `targetFn` when set: a tail jump to another function's block). */
  JUMP: 2,
  /** Direct call of function `callees[0]`; returns to the next block (continues). */
  CALL: 3,
  /** Indirect jump (a jump table) to one of `targets`, chosen with `weights`. */
  IND_JUMP: 4,
  /** Indirect call of one of `callees`, chosen with `weights`; returns to the next block (continues). */
  IND_CALL: 5,
  /** Return to the caller. */
  RET: 6,
  /** System call into the kernel's system-call entry; the kernel returns to the next block (continues). */
  SYSCALL: 7,
  /** Kernel: return to user space after a system call. */
  SYSRET: 8,
  /** Kernel: return from an interrupt to the interrupted instruction. */
  IRET: 9,
  /** Kernel: switch to the next process's address space (MOV CR3 / MSR CONTEXTIDR_EL1); continues. */
  CTX_SWITCH: 10,
  /** Hypercall (VM workloads, later); continues. */
  HYPERCALL: 11,
} as const;
export type TermKind = (typeof Term)[keyof typeof Term];

export const TERM_NAMES: readonly string[] = Object.keys(Term).map((k) => k.toLowerCase());

/** True for terminators after which execution resumes at the next block of the function. */
export function continuesToNext(term: number): boolean {
  return term === Term.FALL || term === Term.COND || term === Term.CALL || term === Term.IND_CALL ||
    term === Term.SYSCALL || term === Term.CTX_SWITCH || term === Term.HYPERCALL;
}

/** True when the terminator is an instruction of its own (everything but FALL). */
export function hasTermInstruction(term: number): boolean {
  return term !== Term.FALL;
}

/** How the executor decides a conditional branch. */
export type CondRule =
  /** Taken with probability `p` each time (an if/else with a bias). */
  | { rule: 'bias'; p: number }
  /** The back edge of a counted loop: the loop body runs a trip count drawn from [min, max] per entry. */
  | { rule: 'loop'; min: number; max: number }
  /** The scheduler's test: taken when the current process keeps running, not taken when it is switched out. */
  | { rule: 'sched' };

export interface Block {
  /** Ordinary (non-branch) instructions before the terminator. */
  body: number;
  term: TermKind;
  /** COND / JUMP: the target block index (in `targetFn`, default this function). */
  target?: number;
  /** JUMP only: the function of the target block (a tail jump). */
  targetFn?: number;
  /** IND_JUMP: candidate target blocks of this function. */
  targets?: number[];
  /** CALL: [callee]; IND_CALL: candidate callees (function indices). */
  callees?: number[];
  /** IND_JUMP / IND_CALL: relative weights of the candidates (default all 1). */
  weights?: number[];
  /** COND: how the outcome is decided. */
  cond?: CondRule;
}

export interface Func {
  name: string;
  blocks: Block[];
  /** Byte offset from the program's base where lowering must place the function (e.g. an A64 vector entry). */
  placeAt?: number;
}

export interface Program {
  name: string;
  /** Runs in the kernel (CPL 0 / EL1). */
  kernel: boolean;
  functions: Func[];
  /** Function where execution starts (user programs: main, which never returns). */
  entry: number;
}

/** Instructions in a block: its body plus the terminator instruction, if any. */
export function blockInsns(b: Block): number {
  return b.body + (hasTermInstruction(b.term) ? 1 : 0);
}

function fail(p: Program, where: string, message: string): never {
  throw new HwtraceError('bad_program', `program ${p.name}, ${where}: ${message}`);
}

/**
 * Checks the structural rules the executor relies on: targets exist, every block that continues
 * has a next block, every block has at least one instruction, and the call graph has no cycles
 * (so call depth is bounded and every return matches a call). Returns the deepest call chain
 * from any function (0 = no calls).
 */
export function validateProgram(p: Program): number {
  const nf = p.functions.length;
  if (nf === 0) fail(p, 'functions', 'a program needs at least one function');
  if (!Number.isInteger(p.entry) || p.entry < 0 || p.entry >= nf) fail(p, 'entry', `function ${p.entry} does not exist`);
  const callees: number[][] = [];
  p.functions.forEach((f, fi) => {
    const nb = f.blocks.length;
    if (nb === 0) fail(p, `function ${f.name}`, 'has no blocks');
    const out: number[] = [];
    f.blocks.forEach((b, bi) => {
      const where = `function ${f.name} block ${bi}`;
      if (!Number.isInteger(b.body) || b.body < 0) fail(p, where, `body ${b.body} is not a count`);
      if (blockInsns(b) === 0) fail(p, where, 'a fall-through block needs at least one body instruction');
      if (continuesToNext(b.term) && bi === nb - 1) fail(p, where, `${TERM_NAMES[b.term]} at the end of the function has no next block`);
      const fnOk = (x: number | undefined): x is number => x !== undefined && Number.isInteger(x) && x >= 0 && x < nf;
      switch (b.term) {
        case Term.COND: {
          if (b.target === undefined || b.target < 0 || b.target >= nb) fail(p, where, `target ${b.target} is not a block`);
          const c = b.cond;
          if (c === undefined) fail(p, where, 'a conditional branch needs a rule');
          if (c.rule === 'bias' && !(c.p >= 0 && c.p <= 1)) fail(p, where, `bias ${c.p} is not a probability`);
          if (c.rule === 'loop' && !(Number.isInteger(c.min) && c.min >= 1 && c.max >= c.min)) fail(p, where, `trip range [${c.min}, ${c.max}] is invalid`);
          if (c.rule === 'loop' && b.target > bi) fail(p, where, 'a loop back edge must branch backwards');
          break;
        }
        case Term.JUMP: {
          const tf = b.targetFn ?? fi;
          if (!fnOk(tf)) fail(p, where, `target function ${tf} does not exist`);
          const tn = p.functions[tf]!.blocks.length;
          if (b.target === undefined || b.target < 0 || b.target >= tn) fail(p, where, `target ${b.target} is not a block`);
          break;
        }
        case Term.CALL:
        case Term.IND_CALL: {
          const cs = b.callees ?? [];
          if (cs.length === 0 || (b.term === Term.CALL && cs.length !== 1)) fail(p, where, 'callee list has the wrong length');
          for (const c of cs) if (!fnOk(c)) fail(p, where, `callee ${c} does not exist`);
          out.push(...cs);
          break;
        }
        case Term.IND_JUMP: {
          const ts = b.targets ?? [];
          if (ts.length === 0) fail(p, where, 'an indirect jump needs targets');
          for (const t of ts) if (!Number.isInteger(t) || t < 0 || t >= nb) fail(p, where, `target ${t} is not a block`);
          break;
        }
        default:
          break;
      }
      const w = b.weights;
      const n = b.term === Term.IND_JUMP ? b.targets?.length : b.term === Term.IND_CALL ? b.callees?.length : undefined;
      if (w !== undefined && (w.length !== n || w.some((x) => !(x > 0)))) fail(p, where, 'weights must be positive, one per candidate');
    });
    callees.push(out);
  });
  // Depth of the call graph by memoised DFS; a cycle (recursion) is refused.
  const depth = new Array<number>(nf).fill(-1);
  const onPath = new Uint8Array(nf);
  const visit = (f: number): number => {
    if (depth[f]! >= 0) return depth[f]!;
    if (onPath[f]) fail(p, `function ${p.functions[f]!.name}`, 'is recursive; call depth must be bounded');
    onPath[f] = 1;
    let d = 0;
    for (const c of callees[f]!) d = Math.max(d, 1 + visit(c));
    onPath[f] = 0;
    depth[f] = d;
    return d;
  };
  let max = 0;
  for (let f = 0; f < nf; f++) max = Math.max(max, visit(f));
  return max;
}

/**
 * Copies of `funcs` with every function reference (callees, tail-jump targets) moved by `delta`,
 * for placing functions generated on their own into a bigger program.
 */
export function relocateFunctions(funcs: readonly Func[], delta: number): Func[] {
  return funcs.map((f) => ({
    ...f,
    blocks: f.blocks.map((b) => {
      const c: Block = { ...b };
      if (b.callees) c.callees = b.callees.map((x) => x + delta);
      if (b.targetFn !== undefined) c.targetFn = b.targetFn + delta;
      return c;
    }),
  }));
}

/** Number of blocks in the whole program, and each function's first block in that flat order. */
export function flatBlockIndex(p: Program): { total: number; firstBlock: Int32Array } {
  const firstBlock = new Int32Array(p.functions.length);
  let total = 0;
  p.functions.forEach((f, i) => {
    firstBlock[i] = total;
    total += f.blocks.length;
  });
  return { total, firstBlock };
}
