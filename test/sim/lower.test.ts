import t from 'tap';
import { Decoder, DecoderOptions, FlowControl } from 'iced-x86';
import { toRip } from '../../arch/x86/isa/encode.js';
import { readInsn } from '../../arch/arm/isa-a64/encode.js';
import { buildWorkload } from '../../sim/workloads/index.js';
import { KERNEL_BASE, USER_BASE, buildMachine } from '../../sim/machine.js';
import type { LoweredProgram } from '../../sim/lower/lower.js';
import { type Block, Term } from '../../sim/program/model.js';
import { VECTOR_EL0_IRQ, VECTOR_EL0_SYNC } from '../../sim/workloads/kernel.js';

const model = buildWorkload({ workload: 'multiproc', processes: 3 }, 42);
const x86 = buildMachine(model, 'x86');
const a64 = buildMachine(model, 'a64');
const programs = (m: typeof x86): LoweredProgram[] => [m.kernel, ...m.processes];

/** The model's direct target address of a block (NaN when none), from the lowered layout. */
function targetAddr(lp: LoweredProgram, fn: number, b: Block): number {
  if (b.term === Term.COND) return lp.blockStart[lp.firstBlock[fn]! + b.target!]!;
  if (b.term === Term.JUMP) return lp.blockStart[lp.firstBlock[b.targetFn ?? fn]! + b.target!]!;
  if (b.term === Term.CALL) return lp.funcStart[b.callees![0]!]!;
  return Number.NaN;
}

function* blocksOf(lp: LoweredProgram): Generator<[number, number, Block]> {
  let g = 0;
  for (let fi = 0; fi < lp.program.functions.length; fi++) for (const b of lp.program.functions[fi]!.blocks) yield [g++, fi, b];
}

const X86_FLOW: Record<number, FlowControl> = {
  [Term.COND]: FlowControl.ConditionalBranch, [Term.JUMP]: FlowControl.UnconditionalBranch, [Term.CALL]: FlowControl.Call,
  [Term.IND_JUMP]: FlowControl.IndirectBranch, [Term.IND_CALL]: FlowControl.IndirectCall, [Term.RET]: FlowControl.Return,
  [Term.SYSCALL]: FlowControl.Call, [Term.SYSRET]: FlowControl.Return, [Term.IRET]: FlowControl.Return, [Term.CTX_SWITCH]: FlowControl.Next,
};

t.test('x86: every block decodes back (iced-x86) to its model: count, lengths, branch kind and target', async (t) => {
  const hist = new Array<number>(16).fill(0);
  let problems = 0;
  for (const lp of programs(x86)) {
    for (const [g, fi, b] of blocksOf(lp)) {
      const start = lp.blockStart[g]!;
      const off = start - lp.base;
      const d = new Decoder(64, lp.bytes.subarray(off, lp.blockEnd[g]! - lp.base), DecoderOptions.None);
      d.ip = toRip(start);
      const first = lp.insnStart[g]!;
      const n = lp.insnStart[g + 1]! - first;
      let i = 0;
      let last = start;
      while (d.canDecode) {
        const ins = d.decode();
        const isTerm = i === b.body;
        const want = isTerm ? X86_FLOW[b.term]! : FlowControl.Next;
        const bad = ins.length !== lp.lengths[first + i] || ins.flowControl !== want ||
          (isTerm && !Number.isNaN(targetAddr(lp, fi, b)) && ins.nearBranchTarget !== toRip(targetAddr(lp, fi, b)));
        if (bad && problems++ < 10) t.fail(`${lp.program.name} block ${g} insn ${i}: ${ins.toString()} (len ${ins.length}, flow ${ins.flowControl})`);
        if (!isTerm) hist[ins.length]!++;
        last = Number(BigInt.asIntN(64, ins.ip));
        ins.free();
        i++;
      }
      d.free();
      if (i !== n || n !== b.body + (b.term === Term.FALL ? 0 : 1) || last !== lp.blockLast[g]) {
        if (problems++ < 10) t.fail(`${lp.program.name} block ${g}: ${i} instructions decoded, ${n} expected`);
      }
    }
  }
  t.equal(problems, 0, 'no mismatches');
  for (let len = 1; len <= 15; len++) t.ok(hist[len]! > 0, `${hist[len]} body instructions of ${len} bytes`);
  const total = hist.reduce((a, b) => a + b, 0);
  const mean = hist.reduce((a, c, len) => a + c * len, 0) / total;
  t.ok(mean > 3 && mean < 5.5, `mean body instruction length ${mean.toFixed(2)} bytes`);
});

/** OpenCSD's A64 waypoint classes (coresight.md §b). */
function a64Class(w: number): number {
  if ((w & 0x7c000000) === 0x14000000) return (w & 0x80000000) ? Term.CALL : Term.JUMP;
  if ((w & 0xff000010) === 0x54000000 || (w & 0x7c000000) === 0x34000000) return Term.COND;
  if (((w & 0xffdffc1f) >>> 0) === 0xd61f0000) return (w & 0x00200000) ? Term.IND_CALL : Term.IND_JUMP;
  if (((w & 0xfffffc1f) >>> 0) === 0xd65f0000) return Term.RET;
  if (w === 0xd69f03e0) return Term.IRET; // ERET also ends system calls
  if (((w & 0xfffff0ff) >>> 0) === 0xd50330df) return -2; // ISB would consume an atom
  return -1; // not a waypoint
}

function a64Target(w: number, at: number): number {
  const sx = (v: number, bits: number): number => (v >= 2 ** (bits - 1) ? v - 2 ** bits : v);
  if ((w & 0x7c000000) === 0x14000000) return at + 4 * sx(w & 0x3ffffff, 26);
  if ((w & 0x7e000000) === 0x36000000) return at + 4 * sx((w >>> 5) & 0x3fff, 14);
  return at + 4 * sx((w >>> 5) & 0x7ffff, 19);
}

t.test('A64: waypoints exactly at terminators (OpenCSD masks), with the model\'s targets', async (t) => {
  let problems = 0;
  const seen = new Set<string>();
  for (const lp of programs(a64)) {
    for (const [g, fi, b] of blocksOf(lp)) {
      const start = lp.blockStart[g]!;
      const n = b.body + (b.term === Term.FALL ? 0 : 1);
      t.equal(lp.blockEnd[g]! - start, 4 * n);
      for (let i = 0; i < n; i++) {
        const at = start + 4 * i;
        const w = readInsn(lp.bytes, at - lp.base);
        const cls = a64Class(w);
        const isTerm = i === b.body;
        let want = isTerm ? (b.term === Term.SYSRET ? Term.IRET : b.term) : -1;
        if (isTerm && (b.term === Term.SYSCALL || b.term === Term.CTX_SWITCH)) want = -1; // SVC and MSR are not waypoints
        if (cls !== want && problems++ < 10) t.fail(`${lp.program.name} block ${g} insn ${i}: ${w.toString(16)} class ${cls}, want ${want}`);
        if (isTerm && b.term === Term.COND) seen.add(((w >>> 24) & 0x7e).toString(16));
        const tgt = targetAddr(lp, fi, b);
        if (isTerm && !Number.isNaN(tgt) && a64Target(w, at) !== tgt && problems++ < 10) t.fail(`block ${g}: target ${a64Target(w, at)} != ${tgt}`);
        if (isTerm && b.term === Term.SYSCALL && w !== 0xd4000001) t.fail('SYSCALL is SVC #0');
        if (isTerm && b.term === Term.CTX_SWITCH && ((w & 0xffffffe0) >>> 0) !== 0xd518d020) t.fail('CTX_SWITCH writes CONTEXTIDR_EL1');
      }
    }
  }
  t.equal(problems, 0, 'no mismatches');
  t.ok(seen.size >= 3, `conditional branches use several forms (B.cond, CBZ/CBNZ, TBZ/TBNZ): ${[...seen].join(',')}`);
});

t.test('both ISAs lower each block to the same number of instructions', async (t) => {
  const px = programs(x86), pa = programs(a64);
  for (let u = 0; u < px.length; u++) {
    t.same(Array.from(px[u]!.insnStart), Array.from(pa[u]!.insnStart), px[u]!.program.name);
  }
});

t.test('layout: user code at 0x400000, kernel at the kernel base, vectors at VBAR+0x400/0x480', async (t) => {
  for (const m of [x86, a64]) {
    t.equal(m.kernel.base, KERNEL_BASE[m.isa]);
    t.equal(m.kernel.funcStart[model.kernel.syscallVector], KERNEL_BASE[m.isa] + VECTOR_EL0_SYNC);
    t.equal(m.kernel.funcStart[model.kernel.irqVector], KERNEL_BASE[m.isa] + VECTOR_EL0_IRQ);
    for (const p of m.processes) t.equal(p.base, USER_BASE, 'shared user addresses by default');
    for (const lp of programs(m)) {
      for (let f = 1; f < lp.funcStart.length; f++) if (lp.funcStart[f]! <= lp.funcStart[f - 1]!) t.fail('functions in order');
      for (const fs of lp.funcStart) if (lp.program.kernel === false && (fs - lp.base) % 16 !== 0) t.fail('functions are 16-byte aligned');
    }
  }
  t.equal(KERNEL_BASE.x86, -0x7f000000, '0xffffffff81000000 as a canonical number');
  t.equal(KERNEL_BASE.a64, -0x7ffff0000000, '0xffff800010000000 as a canonical number');
});

t.test('lowering is deterministic and independent of the other ISA', async (t) => {
  const again = buildMachine(buildWorkload({ workload: 'multiproc', processes: 3 }, 42), 'x86');
  for (let i = 0; i < x86.images.length; i++) t.same(again.images[i]!.bytes, x86.images[i]!.bytes, x86.images[i]!.name);
});
