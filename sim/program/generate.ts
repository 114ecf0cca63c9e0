// Program generator: builds a random but structured program from a spec and a seeded PRNG.
// Functions are generated as nested regions (straight code, if, if/else, counted loops, calls,
// indirect calls, switches through jump tables, system calls), so the control-flow graph is
// reducible: forward branches always make progress and every backward branch is a counted loop
// back edge. Calls only go to functions on a deeper call level, so there is no recursion and the
// call depth is bounded. The generator also estimates each function's cost (expected
// instructions per call) and keeps it under a cap by shortening loops and skipping expensive
// callees, so a run visits the whole program instead of spending itself in one hot nest.

import { HwtraceError } from '../../arch/common/errors.js';
import type { Rng } from '../rng.js';
import { type Block, type Func, type Program, Term, relocateFunctions, validateProgram } from './model.js';

/** Relative weights of the region kinds the generator emits (0 disables one). */
export interface BranchMix {
  /** Straight-line block that falls through. */
  fall: number;
  /** if (cond) { … }: a biased conditional branch over a region. */
  cond: number;
  /** if (cond) { … } else { … }: the then-part ends in a direct jump over the else-part. */
  jump: number;
  /** Counted loop: a conditional back edge with a trip count. */
  loop: number;
  /** Direct call. */
  call: number;
  /** Indirect call through a pointer, to one of a set of functions. */
  indirectCall: number;
  /** switch: an indirect jump through a table to one of several cases. */
  indirectJump: number;
  /** System call (user programs only, when a kernel is present). */
  syscall: number;
}

/** What a generated program looks like. All ranges are inclusive [min, max]. */
export interface ProgramSpec {
  /** Functions besides main. */
  functions: number;
  blocksPerFunction: [number, number];
  /** Body (non-branch) instructions per block. */
  blockSize: [number, number];
  branchMix: BranchMix;
  /** Fraction of if-branches that are strongly biased (taken ≤ 10% or ≥ 90% of the time). */
  biasedFraction: number;
  /** Deepest loop nesting within a function. */
  loopDepth: number;
  loopTrips: [number, number];
  /** Deepest call chain below main. */
  callDepth: number;
  /** Candidates per indirect call / cases per switch. */
  indirectFanout: [number, number];
  /** Cap on a function's expected instructions per call (loops and callees are trimmed to fit). */
  functionCost: number;
}

export const DEFAULT_PROGRAM_SPEC: ProgramSpec = {
  functions: 32,
  blocksPerFunction: [3, 24],
  blockSize: [1, 9],
  branchMix: { fall: 2, cond: 5, jump: 2, loop: 2, call: 3, indirectCall: 0.6, indirectJump: 0.6, syscall: 0.05 },
  biasedFraction: 0.7,
  loopDepth: 2,
  loopTrips: [1, 24],
  callDepth: 5,
  indirectFanout: [2, 6],
  functionCost: 20000,
};

const REGIONS = ['fall', 'cond', 'jump', 'loop', 'call', 'indirectCall', 'indirectJump', 'syscall'] as const;
type Region = (typeof REGIONS)[number];

/** Options that depend on where the program runs rather than on its shape. */
export interface GenerateOptions {
  name: string;
  kernel: boolean;
  /** Emit system calls (needs a kernel in the system). */
  syscalls: boolean;
  /** Give the program a main function (function 0) that loops forever; otherwise the entry is function 0 too but returns. */
  main: boolean;
}

function checkRange(r: [number, number], what: string, min = 0): void {
  if (!Array.isArray(r) || r.length !== 2 || !Number.isInteger(r[0]) || !Number.isInteger(r[1]) || r[0] < min || r[1] < r[0]) {
    throw new HwtraceError('bad_spec', `${what} must be [min, max] integers with ${min} ≤ min ≤ max, got ${JSON.stringify(r)}`);
  }
}

/** Refuses a spec the generator cannot honour, naming the field. */
export function checkProgramSpec(s: ProgramSpec): void {
  if (!Number.isInteger(s.functions) || s.functions < 0 || s.functions > 100000) throw new HwtraceError('bad_spec', `functions must be an integer in [0, 100000], got ${s.functions}`);
  checkRange(s.blocksPerFunction, 'blocksPerFunction', 1);
  checkRange(s.blockSize, 'blockSize', 0);
  checkRange(s.loopTrips, 'loopTrips', 1);
  checkRange(s.indirectFanout, 'indirectFanout', 2);
  if (!Number.isInteger(s.loopDepth) || s.loopDepth < 0) throw new HwtraceError('bad_spec', `loopDepth must be a non-negative integer, got ${s.loopDepth}`);
  if (!Number.isInteger(s.callDepth) || s.callDepth < 1) throw new HwtraceError('bad_spec', `callDepth must be a positive integer, got ${s.callDepth}`);
  if (!(s.biasedFraction >= 0 && s.biasedFraction <= 1)) throw new HwtraceError('bad_spec', `biasedFraction must be in [0, 1], got ${s.biasedFraction}`);
  if (!(s.functionCost >= 10)) throw new HwtraceError('bad_spec', `functionCost must be at least 10, got ${s.functionCost}`);
  let total = 0;
  for (const k of REGIONS) {
    const w = s.branchMix[k];
    if (!(typeof w === 'number' && w >= 0)) throw new HwtraceError('bad_spec', `branchMix.${k} must be a non-negative number, got ${String(w)}`);
    total += w;
  }
  if (!(total > 0)) throw new HwtraceError('bad_spec', 'branchMix needs at least one positive weight');
}

/** Builds one function's blocks region by region. */
class FunctionBuilder {
  readonly blocks: Block[] = [];

  constructor(
    private readonly spec: ProgramSpec,
    private readonly rng: Rng,
    /** Functions this one may call, with their expected costs. */
    private readonly callable: readonly number[],
    private readonly costOf: readonly number[],
    private readonly syscalls: boolean,
  ) {}

  private body(min = this.spec.blockSize[0]): number {
    return this.rng.range(Math.max(min, this.spec.blockSize[0]), Math.max(min, this.spec.blockSize[1]));
  }

  private push(b: Block): number {
    this.blocks.push(b);
    return this.blocks.length - 1;
  }

  /** A straight block that falls through; returns its cost. */
  private plain(): number {
    const body = this.body(1);
    this.push({ body, term: Term.FALL });
    return body;
  }

  private bias(): number {
    const r = this.rng;
    if (r.chance(this.spec.biasedFraction)) return r.chance(0.5) ? 0.01 + 0.09 * r.float() : 0.9 + 0.09 * r.float();
    return 0.1 + 0.8 * r.float();
  }

  private weights(n: number): number[] {
    return Array.from({ length: n }, () => (1 + this.rng.below(4)) ** 2);
  }

  /** Callees that fit in `budget`, in index order. */
  private affordable(budget: number): number[] {
    return this.callable.filter((f) => this.costOf[f]! <= budget);
  }

  private choose(n: number, level: number, budget: number): Region {
    const mix = this.spec.branchMix;
    const canCall = this.affordable(budget).length > 0;
    const w = REGIONS.map((k): number => {
      switch (k) {
        case 'cond': return n >= 2 ? mix.cond : 0;
        case 'jump': return n >= 3 ? mix.jump : 0;
        case 'loop': return level < this.spec.loopDepth && budget > 20 ? mix.loop : 0;
        case 'call': return canCall ? mix.call : 0;
        case 'indirectCall': return canCall ? mix.indirectCall : 0;
        case 'indirectJump': return n >= 4 ? mix.indirectJump : 0;
        case 'syscall': return this.syscalls ? mix.syscall : 0;
        default: return mix.fall;
      }
    });
    if (!w.some((x) => x > 0)) return 'fall';
    return REGIONS[this.rng.weighted(w)]!;
  }

  /**
   * Appends regions totalling about `n` blocks at loop nesting `level`, keeping the expected
   * cost under `budget`. Returns the expected instructions executed per pass.
   */
  seq(n: number, level: number, budget: number): number {
    let cost = 0;
    while (n > 0) {
      const left = Math.max(0, budget - cost);
      switch (this.choose(n, level, left)) {
        case 'cond': {
          const k = this.rng.range(1, Math.min(n - 1, 6));
          const body = this.body();
          const p = this.bias();
          const c = this.push({ body, term: Term.COND, cond: { rule: 'bias', p } });
          const thenCost = this.seq(k, level, left);
          this.blocks[c]!.target = this.blocks.length;
          cost += body + 1 + (1 - p) * thenCost;
          n -= 1 + k;
          break;
        }
        case 'jump': {
          const k1 = this.rng.range(1, Math.max(1, Math.min(n - 2, 4)));
          const k2 = this.rng.range(1, Math.max(1, Math.min(n - 1 - k1, 4)));
          const body = this.body();
          const p = this.bias();
          const c = this.push({ body, term: Term.COND, cond: { rule: 'bias', p } });
          const thenCost = this.seq(k1, level, left);
          const jb = this.body(0);
          const j = this.push({ body: jb, term: Term.JUMP });
          this.blocks[c]!.target = this.blocks.length;
          const elseCost = this.seq(k2, level, left);
          this.blocks[j]!.target = this.blocks.length;
          cost += body + 1 + (1 - p) * (thenCost + jb + 1) + p * elseCost;
          n -= 2 + k1 + k2;
          break;
        }
        case 'loop': {
          const k = this.rng.range(0, Math.min(n - 1, 6));
          const head = this.blocks.length;
          const bodyCost = this.seq(k, level + 1, left / 2);
          const lb = this.body();
          const perTrip = bodyCost + lb + 1;
          const [tmin, tmax] = this.spec.loopTrips;
          const max = Math.max(1, Math.min(tmax, Math.floor(left / perTrip)));
          const min = Math.min(tmin, max);
          this.push({ body: lb, term: Term.COND, target: head, cond: { rule: 'loop', min, max } });
          cost += ((min + max) / 2) * perTrip;
          n -= k + 1;
          break;
        }
        case 'call': {
          const body = this.body();
          const pool = this.affordable(left - body - 1);
          if (pool.length === 0) {
            cost += this.plain();
            n -= 1;
            break;
          }
          const callee = this.rng.pick(pool);
          this.push({ body, term: Term.CALL, callees: [callee] });
          cost += body + 1 + this.costOf[callee]!;
          n -= 1;
          break;
        }
        case 'indirectCall': {
          const body = this.body();
          const pool = this.affordable(left - body - 1);
          if (pool.length === 0) {
            cost += this.plain();
            n -= 1;
            break;
          }
          const want = this.rng.range(this.spec.indirectFanout[0], this.spec.indirectFanout[1]);
          const callees: number[] = [];
          for (let i = 0; i < want && pool.length > 0; i++) callees.push(pool.splice(this.rng.below(pool.length), 1)[0]!);
          const weights = this.weights(callees.length);
          const total = weights.reduce((a, b) => a + b, 0);
          this.push({ body, term: Term.IND_CALL, callees, weights });
          cost += body + 1 + callees.reduce((a, f, i) => a + (weights[i]! / total) * this.costOf[f]!, 0);
          n -= 1;
          break;
        }
        case 'indirectJump': {
          const cases = this.rng.range(this.spec.indirectFanout[0], Math.max(this.spec.indirectFanout[0], Math.min(this.spec.indirectFanout[1], Math.floor((n - 1) / 2))));
          const body = this.body();
          const sw = this.push({ body, term: Term.IND_JUMP });
          const weights = this.weights(cases);
          const total = weights.reduce((a, b) => a + b, 0);
          const targets: number[] = [];
          const exits: number[] = [];
          let avg = 0;
          let room = n - 1 - (cases - 1);
          for (let i = 0; i < cases; i++) {
            const k = Math.max(1, Math.min(3, Math.floor(room / (cases - i))));
            room -= k;
            targets.push(this.blocks.length);
            let cc = this.seq(k, level, left);
            if (i < cases - 1) {
              const jb = this.body(0);
              exits.push(this.push({ body: jb, term: Term.JUMP }));
              cc += jb + 1;
            }
            avg += (weights[i]! / total) * cc;
          }
          const join = this.blocks.length;
          for (const e of exits) this.blocks[e]!.target = join;
          Object.assign(this.blocks[sw]!, { targets, weights });
          cost += body + 1 + avg;
          n -= join - sw;
          break;
        }
        case 'syscall': {
          const body = this.body();
          this.push({ body, term: Term.SYSCALL });
          cost += body + 1;
          n -= 1;
          break;
        }
        default: {
          cost += this.plain();
          n -= 1;
        }
      }
    }
    return cost;
  }
}

/** Call level of function i (1-based among the non-main functions): 1 = called by main. */
function levelOf(i: number, count: number, depth: number): number {
  return 1 + Math.floor(((i - 1) * depth) / Math.max(1, count));
}

export interface GeneratedProgram {
  program: Program;
  /** Expected instructions per call of each function (main: per iteration of its loop). */
  cost: number[];
  /** Call level of each function (main 0; the functions main may call start at 1). */
  level: number[];
  /** Deepest call chain (validated). */
  callDepth: number;
}

/**
 * Generates a program. With `main`, function 0 is main: an endless loop that calls into the
 * rest; functions 1..n are on call levels 1..callDepth and only call deeper levels. Without
 * `main`, the program is just functions 0..n-1 (a library, e.g. kernel services).
 */
export function generateProgram(spec: ProgramSpec, rng: Rng, opts: GenerateOptions): GeneratedProgram {
  checkProgramSpec(spec);
  const n = spec.functions;
  const funcs: Func[] = new Array<Func>(n + 1);
  const cost = new Array<number>(n + 1).fill(0);
  const level = Array.from({ length: n + 1 }, (_, i) => (i === 0 ? 0 : levelOf(i, n, spec.callDepth)));
  // Deepest functions first, so every callee's cost is known when its callers are built.
  const order = Array.from({ length: n }, (_, i) => n - i);
  if (opts.main) order.push(0);
  else if (n === 0) throw new HwtraceError('bad_spec', `program ${opts.name} needs at least one function`);
  for (const f of order) {
    const callable: number[] = [];
    for (let g = 1; g <= n; g++) if (level[g]! > level[f]!) callable.push(g);
    const fb = new FunctionBuilder(spec, rng, callable, cost, opts.syscalls);
    const isMain = f === 0;
    const nb = rng.range(spec.blocksPerFunction[0], spec.blocksPerFunction[1]) + (isMain ? 4 : 0);
    const cap = isMain ? spec.functionCost * 4 : spec.functionCost;
    let c = fb.seq(Math.max(0, nb - 1), 0, cap);
    const tailBody = rng.range(spec.blockSize[0], spec.blockSize[1]);
    fb.blocks.push(isMain ? { body: tailBody, term: Term.JUMP, target: 0 } : { body: tailBody, term: Term.RET });
    c += tailBody + 1;
    cost[f] = c;
    funcs[f] = { name: isMain ? 'main' : `f${f}`, blocks: fb.blocks };
  }
  // Without main, functions 1..n become 0..n-1.
  const functions = opts.main ? funcs : relocateFunctions(funcs.slice(1), -1);
  const program: Program = { name: opts.name, kernel: opts.kernel, functions, entry: 0 };
  const callDepth = validateProgram(program);
  return { program, cost: opts.main ? cost : cost.slice(1), level: opts.main ? level : level.slice(1), callDepth };
}
