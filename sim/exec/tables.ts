// The executor's view of a machine: every block of every program flattened into typed arrays
// (struct of arrays), so the hot loop reads numbers by index and allocates nothing.
// Global block order: the kernel's blocks first, then each process's, each in flat order.

import { HwtraceError } from '../../arch/common/errors.js';
import type { LoweredProgram } from '../lower/lower.js';
import type { Machine } from '../machine.js';
import { type Block, Term } from '../program/model.js';

/** How a conditional branch is decided (ExecTables.rule). */
export const Rule = { BIAS: 0, LOOP: 1, SCHED: 2 } as const;

const TWO32 = 4294967296;

export interface ExecTables {
  blocks: number;
  /** Address of the first / last instruction, and of the fall-through point. */
  start: Float64Array;
  last: Float64Array;
  end: Float64Array;
  /** Instructions in the block (body + terminator). */
  count: Int32Array;
  /** Terminator kind (Term). */
  term: Uint8Array;
  /** COND/JUMP: target block; CALL: callee's entry block; otherwise -1. */
  target: Int32Array;
  /** The block after this one in its function (where FALL, COND not-taken, calls… continue), or -1. */
  next: Int32Array;
  /** COND: Rule; BIAS: taken when a uniform u32 < threshold; LOOP: trips in [tripMin, tripMin + tripSpan). */
  rule: Uint8Array;
  threshold: Float64Array;
  tripMin: Int32Array;
  tripSpan: Int32Array;
  /** IND_JUMP/IND_CALL: candidates choiceBlock[choiceFirst[b] …], picked with cumulative u32 thresholds choiceCum. */
  choiceFirst: Int32Array;
  choiceBlock: Int32Array;
  choiceCum: Float64Array;
  /** Owning process, or -1 for kernel blocks. */
  owner: Int32Array;
  /** Code version (image id) of the block's bytes. */
  version: Int32Array;
  /** Index into `lengths` of each block's first instruction (one extra entry at the end). */
  insnFirst: Int32Array;
  lengths: Uint8Array;
  /** Entry block of each process's main, of the system-call and interrupt vectors. */
  mainEntry: Int32Array;
  syscallEntry: number;
  irqEntry: number;
  /** Deepest call chain of any user program / of the kernel. */
  userDepth: number;
  kernelDepth: number;
}

/** Flattens a machine. Refuses terminators this executor does not run (hypercalls: VM workloads). */
export function buildTables(m: Machine): ExecTables {
  const units: Array<{ lp: LoweredProgram; owner: number; version: number }> = [
    { lp: m.kernel, owner: -1, version: 0 },
    ...m.processes.map((lp, i) => ({ lp, owner: i, version: m.images[i + 1]!.id })),
  ];
  const unitBase: number[] = [];
  let blocks = 0;
  let insns = 0;
  for (const u of units) {
    unitBase.push(blocks);
    blocks += u.lp.blockStart.length;
    insns += u.lp.lengths.length;
  }
  let choices = 0;
  for (const u of units) for (const f of u.lp.program.functions) for (const b of f.blocks) choices += (b.term === Term.IND_JUMP ? b.targets!.length : b.term === Term.IND_CALL ? b.callees!.length : 0);

  const t: ExecTables = {
    blocks,
    start: new Float64Array(blocks), last: new Float64Array(blocks), end: new Float64Array(blocks),
    count: new Int32Array(blocks), term: new Uint8Array(blocks), target: new Int32Array(blocks).fill(-1),
    next: new Int32Array(blocks).fill(-1), rule: new Uint8Array(blocks), threshold: new Float64Array(blocks),
    tripMin: new Int32Array(blocks), tripSpan: new Int32Array(blocks), choiceFirst: new Int32Array(blocks),
    choiceBlock: new Int32Array(choices), choiceCum: new Float64Array(choices),
    owner: new Int32Array(blocks), version: new Int32Array(blocks),
    insnFirst: new Int32Array(blocks + 1), lengths: new Uint8Array(insns),
    mainEntry: new Int32Array(m.processes.length),
    syscallEntry: unitBase[0]! + m.kernel.firstBlock[m.model.kernel.syscallVector]!,
    irqEntry: unitBase[0]! + m.kernel.firstBlock[m.model.kernel.irqVector]!,
    userDepth: Math.max(0, ...m.model.processes.map((p) => p.callDepth)),
    kernelDepth: m.model.kernel.callDepth,
  };

  let ci = 0;
  let li = 0;
  units.forEach((u, ui) => {
    const { lp } = u;
    const base = unitBase[ui]!;
    const entry = (fn: number): number => base + lp.firstBlock[fn]!;
    if (u.owner >= 0) t.mainEntry[u.owner] = entry(lp.program.entry);
    let g = base;
    lp.program.functions.forEach((f, fi) => {
      f.blocks.forEach((b: Block, bi) => {
        t.start[g] = lp.blockStart[g - base]!;
        t.last[g] = lp.blockLast[g - base]!;
        t.end[g] = lp.blockEnd[g - base]!;
        const first = lp.insnStart[g - base]!;
        const count = lp.insnStart[g - base + 1]! - first;
        t.count[g] = count;
        t.insnFirst[g] = li;
        t.lengths.set(lp.lengths.subarray(first, first + count), li);
        li += count;
        t.term[g] = b.term;
        t.owner[g] = u.owner;
        t.version[g] = u.version;
        if (bi + 1 < f.blocks.length) t.next[g] = g + 1;
        t.choiceFirst[g] = ci;
        switch (b.term) {
          case Term.COND: {
            t.target[g] = entry(fi) + b.target!;
            const c = b.cond!;
            if (c.rule === 'bias') {
              t.rule[g] = Rule.BIAS;
              t.threshold[g] = Math.round(c.p * TWO32);
            } else if (c.rule === 'loop') {
              t.rule[g] = Rule.LOOP;
              t.tripMin[g] = c.min;
              t.tripSpan[g] = c.max - c.min + 1;
            } else {
              t.rule[g] = Rule.SCHED;
            }
            break;
          }
          case Term.JUMP: t.target[g] = entry(b.targetFn ?? fi) + b.target!; break;
          case Term.CALL: t.target[g] = entry(b.callees![0]!); break;
          case Term.IND_JUMP:
          case Term.IND_CALL: {
            const cands = b.term === Term.IND_JUMP ? b.targets!.map((x) => entry(fi) + x) : b.callees!.map((x) => entry(x));
            const w = b.weights ?? cands.map(() => 1);
            const total = w.reduce((a, x) => a + x, 0);
            let acc = 0;
            cands.forEach((c, i) => {
              acc += w[i]!;
              t.choiceBlock[ci] = c;
              t.choiceCum[ci] = i === cands.length - 1 ? TWO32 : Math.floor((acc / total) * TWO32);
              ci++;
            });
            break;
          }
          case Term.HYPERCALL:
            throw new HwtraceError('bad_program', `${lp.program.name}: hypercalls need a VM workload, which this executor does not run yet`);
          default: break;
        }
        g++;
      });
    });
  });
  t.insnFirst[blocks] = li;
  return t;
}
