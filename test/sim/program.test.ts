import t from 'tap';
import { Rng } from '../../sim/rng.js';
import { DEFAULT_PROGRAM_SPEC, type ProgramSpec, generateProgram } from '../../sim/program/generate.js';
import { type Program, Term, blockInsns, validateProgram } from '../../sim/program/model.js';
import { VECTOR_EL0_IRQ, VECTOR_EL0_SYNC, buildKernel } from '../../sim/workloads/kernel.js';
import { defaultWorkloadSpec } from '../../sim/workloads/spec.js';

const gen = (seed: number, spec: ProgramSpec = DEFAULT_PROGRAM_SPEC, main = true) =>
  generateProgram(spec, new Rng(seed), { name: 'p', kernel: false, syscalls: true, main });

t.test('same spec and seed give the same program; another seed another', async (t) => {
  t.equal(JSON.stringify(gen(5).program), JSON.stringify(gen(5).program));
  t.not(JSON.stringify(gen(5).program), JSON.stringify(gen(6).program));
});

/** Deepest nesting of loop back edges (each loop covers [target, latch]). */
function loopNesting(p: Program): number {
  let max = 0;
  for (const f of p.functions) {
    const depth = new Array<number>(f.blocks.length).fill(0);
    f.blocks.forEach((b, i) => {
      if (b.term === Term.COND && b.cond?.rule === 'loop') for (let k = b.target!; k <= i; k++) max = Math.max(max, ++depth[k]!);
    });
  }
  return max;
}

t.test('generated programs follow the structural rules the executor relies on', async (t) => {
  for (let seed = 1; seed <= 30; seed++) {
    const spec: ProgramSpec = { ...DEFAULT_PROGRAM_SPEC, functions: 20, callDepth: 1 + (seed % 5), loopDepth: seed % 3 };
    const g = gen(seed, spec);
    const p = g.program;
    t.equal(validateProgram(p), g.callDepth);
    if (g.callDepth > spec.callDepth) t.fail(`seed ${seed}: call depth ${g.callDepth} > ${spec.callDepth}`);
    if (loopNesting(p) > spec.loopDepth) t.fail(`seed ${seed}: loop nesting ${loopNesting(p)} > ${spec.loopDepth}`);
    p.functions.forEach((f, fi) => {
      const lastBlock = f.blocks[f.blocks.length - 1]!;
      if (fi === 0) t.same([lastBlock.term, lastBlock.target], [Term.JUMP, 0], 'main loops forever');
      else t.equal(lastBlock.term, Term.RET, `${f.name} returns`);
      f.blocks.forEach((b, bi) => {
        const where = `seed ${seed} ${f.name}#${bi}`;
        if (b.body > spec.blockSize[1] || blockInsns(b) < 1) t.fail(`${where}: body ${b.body}`);
        if (b.term === Term.COND && b.cond!.rule === 'bias' && !(b.target! > bi)) t.fail(`${where}: if-branch goes backwards`);
        if (b.term === Term.COND && b.cond!.rule === 'loop' && !(b.target! <= bi)) t.fail(`${where}: loop edge goes forwards`);
        if (b.term === Term.JUMP && fi !== 0 && !(b.target! > bi)) t.fail(`${where}: jump goes backwards`);
        for (const c of b.callees ?? []) if (!(g.level[c]! > g.level[fi]!)) t.fail(`${where}: calls ${c} on level ${g.level[c]}, not deeper than ${g.level[fi]}`);
        if (b.term === Term.IND_JUMP || b.term === Term.IND_CALL) {
          const n = (b.targets ?? b.callees)!.length;
          if (b.term === Term.IND_JUMP && (n < spec.indirectFanout[0] || n > spec.indirectFanout[1])) t.fail(`${where}: ${n} cases`);
          if (b.weights!.length !== n) t.fail(`${where}: weights`);
        }
      });
    });
  }
  t.pass('checked 30 programs');
});

t.test('the branch mix is honoured: a disabled kind never appears, an enabled one does', async (t) => {
  const only = (mix: Partial<ProgramSpec['branchMix']>): ProgramSpec => ({
    ...DEFAULT_PROGRAM_SPEC,
    branchMix: { fall: 1, cond: 0, jump: 0, loop: 0, call: 0, indirectCall: 0, indirectJump: 0, syscall: 0, ...mix },
  });
  const terms = (p: Program): Set<number> => new Set(p.functions.flatMap((f) => f.blocks.map((b) => b.term)));
  t.same([...terms(gen(1, only({})).program)].sort(), [Term.FALL, Term.JUMP, Term.RET].sort(), 'straight code only');
  const withSwitch = terms(gen(1, only({ indirectJump: 5 })).program);
  t.ok(withSwitch.has(Term.IND_JUMP));
  t.notOk(withSwitch.has(Term.CALL));
  t.ok(terms(gen(1, only({ call: 5 })).program).has(Term.CALL));
  t.ok(terms(gen(1, only({ syscall: 5 })).program).has(Term.SYSCALL));
  const noSys = generateProgram(only({ syscall: 5 }), new Rng(1), { name: 'k', kernel: true, syscalls: false, main: true });
  t.notOk(terms(noSys.program).has(Term.SYSCALL), 'no system calls when the program may not make them');
});

t.test('function cost stays near the cap', async (t) => {
  const g = gen(3, { ...DEFAULT_PROGRAM_SPEC, functionCost: 500 });
  for (let f = 1; f < g.cost.length; f++) if (g.cost[f]! > 500 * 3) t.fail(`function ${f} costs ${g.cost[f]}`);
  t.pass();
});

t.test('bad specs are refused with the field named', async (t) => {
  const bad: Array<[Partial<ProgramSpec>, RegExp]> = [
    [{ functions: -1 }, /functions/],
    [{ blockSize: [5, 2] }, /blockSize/],
    [{ loopTrips: [0, 3] }, /loopTrips/],
    [{ indirectFanout: [1, 3] }, /indirectFanout/],
    [{ callDepth: 0 }, /callDepth/],
    [{ biasedFraction: 2 }, /biasedFraction/],
    [{ branchMix: { ...DEFAULT_PROGRAM_SPEC.branchMix, cond: -1 } }, /branchMix.cond/],
  ];
  for (const [patch, re] of bad) t.throws(() => gen(1, { ...DEFAULT_PROGRAM_SPEC, ...patch }), re, JSON.stringify(patch));
});

t.test('validateProgram refuses broken programs', async (t) => {
  const base = (): Program => ({
    name: 'x', kernel: false, entry: 0,
    functions: [
      { name: 'a', blocks: [{ body: 1, term: Term.CALL, callees: [1] }, { body: 1, term: Term.RET }] },
      { name: 'b', blocks: [{ body: 2, term: Term.RET }] },
    ],
  });
  t.equal(validateProgram(base()), 1);
  const rec = base();
  rec.functions[1]!.blocks[0] = { body: 1, term: Term.CALL, callees: [0] };
  rec.functions[1]!.blocks.push({ body: 0, term: Term.RET });
  t.throws(() => validateProgram(rec), /recursive/);
  const noNext = base();
  noNext.functions[1]!.blocks[0] = { body: 1, term: Term.FALL };
  t.throws(() => validateProgram(noNext), /no next block/);
  const empty = base();
  empty.functions[1]!.blocks.unshift({ body: 0, term: Term.FALL });
  t.throws(() => validateProgram(empty), /at least one body instruction/);
  const fwdLoop = base();
  fwdLoop.functions[0]!.blocks.unshift({ body: 1, term: Term.COND, target: 2, cond: { rule: 'loop', min: 1, max: 2 } });
  t.throws(() => validateProgram(fwdLoop), /backwards/);
  const badTarget = base();
  badTarget.functions[0]!.blocks.unshift({ body: 1, term: Term.COND, target: 9, cond: { rule: 'bias', p: 0.5 } });
  t.throws(() => validateProgram(badTarget), /not a block/);
  const badWeights = base();
  badWeights.functions[0]!.blocks[0] = { body: 1, term: Term.IND_CALL, callees: [1], weights: [0] };
  t.throws(() => validateProgram(badWeights), /weights/);
});

t.test('the kernel has vectors at the A64 EL0 offsets and entries that end in SYSRET / IRET', async (t) => {
  const k = buildKernel(defaultWorkloadSpec('multiproc').kernel, new Rng(9));
  const fns = k.program.functions;
  t.equal(fns[k.syscallVector]!.placeAt, VECTOR_EL0_SYNC);
  t.equal(fns[k.irqVector]!.placeAt, VECTOR_EL0_IRQ);
  const sysEntry = fns[fns[k.syscallVector]!.blocks[0]!.targetFn!]!;
  t.equal(sysEntry.blocks.at(-1)!.term, Term.SYSRET);
  t.same(sysEntry.blocks[0]!.callees, k.syscallTable);
  const irqEntry = fns[fns[k.irqVector]!.blocks[0]!.targetFn!]!;
  t.same(irqEntry.blocks.map((b) => b.term), [Term.CALL, Term.COND, Term.CTX_SWITCH, Term.IRET]);
  t.equal(irqEntry.blocks[1]!.cond!.rule, 'sched');
  t.ok(k.callDepth >= 1);
});
