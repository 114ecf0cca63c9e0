// Lowering: lays a program out at a base address and turns every block into machine code for
// one instruction set, through an ISA backend (x86.ts, a64.ts). Layout is iterative because
// x86 branch lengths depend on their displacement: branches start short (rel8) and grow to
// rel32 until every one reaches its target. Each block keeps its model instruction count, so
// the same program executes the same block sequence on both ISAs.

import type { Addr } from '../../arch/common/address.js';
import { HwtraceError } from '../../arch/common/errors.js';
import type { Rng } from '../rng.js';
import { type Block, type Program, Term, flatBlockIndex, hasTermInstruction } from '../program/model.js';

export type Isa = 'x86' | 'a64';

/** Per-block encoding choices a backend makes once (condition code, register, branch form…). */
export interface TermPlan {
  /** Backend-specific variant number (e.g. x86 condition code, A64 conditional-branch form). */
  variant: number;
  /** A register or operand choice. */
  reg: number;
  /** A second operand choice (bit number, displacement, …). */
  extra: number;
  /** Use the short form (x86 rel8); the layout clears it when the target is out of reach. */
  short: boolean;
  /** Length of a terminator whose length does not depend on layout (0 when it does). */
  len: number;
}

/** What lowering needs from an instruction set. */
export interface IsaBackend {
  readonly isa: Isa;
  /** Functions start at a multiple of this. */
  readonly functionAlign: number;
  /** Fills bytes that are never executed (padding between functions). */
  fill(out: Uint8Array, from: number, to: number): void;
  /** Chooses the byte length of each body instruction of a block. */
  bodyLengths(count: number, rng: Rng): Uint8Array;
  /** Chooses the encoding of a block's terminator. */
  planTerm(block: Block, rng: Rng): TermPlan;
  /** Length of the terminator instruction as planned. */
  termLength(block: Block, plan: TermPlan): number;
  /**
   * Whether the planned terminator at `at` reaches `target`; if not, adjusts `plan` (e.g. to a
   * long form) and returns false so layout runs again. Throws when no form can reach.
   */
  fitTerm(block: Block, plan: TermPlan, at: Addr, target: Addr): boolean;
  /** Writes a block's body instructions with the chosen lengths at `at` (offset `off` in `out`). */
  emitBody(out: Uint8Array, off: number, at: Addr, lengths: Uint8Array, block: Block, rng: Rng): void;
  /** Writes the terminator; `target` is the direct target address (NaN for none). */
  emitTerm(out: Uint8Array, off: number, at: Addr, block: Block, plan: TermPlan, target: Addr): void;
}

/** A program lowered to machine code at a fixed base address. Block arrays use the flat block order (functions in order, blocks in order). */
export interface LoweredProgram {
  isa: Isa;
  program: Program;
  base: Addr;
  /** The code image: `bytes[i]` is at `base + i`. */
  bytes: Uint8Array;
  /** First block of each function in flat order. */
  firstBlock: Int32Array;
  /** Address of each function's entry. */
  funcStart: Float64Array;
  /** Address of each block's first instruction. */
  blockStart: Float64Array;
  /** Address of each block's last instruction (its terminator, or last body instruction for FALL). */
  blockLast: Float64Array;
  /** Address just after each block (its fall-through address). */
  blockEnd: Float64Array;
  /** Index into `lengths` of each block's first instruction; one extra entry at the end. */
  insnStart: Int32Array;
  /** Byte length of every instruction, blocks in flat order. */
  lengths: Uint8Array;
}

function alignUp(v: number, a: number): number {
  return Math.ceil(v / a) * a;
}

/** Direct target address of a block's terminator, or NaN when it has none. */
function directTarget(fn: number, b: Block, firstBlock: Int32Array, blockStart: Float64Array, funcStart: Float64Array): Addr {
  switch (b.term) {
    case Term.COND: return blockStart[firstBlock[fn]! + b.target!]!;
    case Term.JUMP: return blockStart[firstBlock[b.targetFn ?? fn]! + b.target!]!;
    case Term.CALL: return funcStart[b.callees![0]!]!;
    default: return Number.NaN;
  }
}

/**
 * Lowers `program` at `base` with `backend`. `rng` drives every encoding choice (registers,
 * lengths, forms), so the result is deterministic for a given seed.
 */
export function lowerProgram(program: Program, backend: IsaBackend, base: Addr, rng: Rng): LoweredProgram {
  const { total, firstBlock } = flatBlockIndex(program);
  const blocks: Block[] = [];
  const blockFn = new Int32Array(total);
  program.functions.forEach((f, fi) => f.blocks.forEach((b) => { blockFn[blocks.length] = fi; blocks.push(b); }));

  // Choices made once, before layout.
  const bodyLens = blocks.map((b) => backend.bodyLengths(b.body, rng));
  const plans = blocks.map((b) => backend.planTerm(b, rng));

  const funcStart = new Float64Array(program.functions.length);
  const blockStart = new Float64Array(total);
  let size = 0;
  for (let pass = 0; ; pass++) {
    if (pass > 64) throw new HwtraceError('lowering', `layout of ${program.name} did not settle`);
    let off = 0;
    let bi = 0;
    program.functions.forEach((f, fi) => {
      if (f.placeAt !== undefined) {
        if (off > f.placeAt) throw new HwtraceError('lowering', `${program.name}: function ${f.name} must start at +0x${f.placeAt.toString(16)} but code before it ends at +0x${off.toString(16)}`);
        off = f.placeAt;
      } else {
        off = alignUp(off, backend.functionAlign);
      }
      funcStart[fi] = base + off;
      for (let k = 0; k < f.blocks.length; k++, bi++) {
        blockStart[bi] = base + off;
        let len = 0;
        for (const l of bodyLens[bi]!) len += l;
        if (hasTermInstruction(blocks[bi]!.term)) len += backend.termLength(blocks[bi]!, plans[bi]!);
        off += len;
      }
    });
    size = off;
    let settled = true;
    for (let i = 0; i < total; i++) {
      const b = blocks[i]!;
      const target = directTarget(blockFn[i]!, b, firstBlock, blockStart, funcStart);
      if (Number.isNaN(target)) continue;
      const at = blockStart[i]! + bodyLens[i]!.reduce((a, l) => a + l, 0);
      if (!backend.fitTerm(b, plans[i]!, at, target)) settled = false;
    }
    if (settled) break;
  }

  const bytes = new Uint8Array(size);
  const blockLast = new Float64Array(total);
  const blockEnd = new Float64Array(total);
  const insnStart = new Int32Array(total + 1);
  let insnCount = 0;
  for (let i = 0; i < total; i++) insnCount += blocks[i]!.body + (hasTermInstruction(blocks[i]!.term) ? 1 : 0);
  const lengths = new Uint8Array(insnCount);
  let cursor = 0; // fill padding as we go: everything between the end of one block and the next start
  let li = 0;
  for (let i = 0; i < total; i++) {
    const b = blocks[i]!;
    const start = blockStart[i]!;
    const off = start - base;
    if (off > cursor) backend.fill(bytes, cursor, off);
    insnStart[i] = li;
    const bl = bodyLens[i]!;
    backend.emitBody(bytes, off, start, bl, b, rng);
    let pos = off;
    let last = start;
    for (const l of bl) {
      lengths[li++] = l;
      last = base + pos;
      pos += l;
    }
    if (hasTermInstruction(b.term)) {
      const plan = plans[i]!;
      const tlen = backend.termLength(b, plan);
      const target = directTarget(blockFn[i]!, b, firstBlock, blockStart, funcStart);
      backend.emitTerm(bytes, pos, base + pos, b, plan, target);
      lengths[li++] = tlen;
      last = base + pos;
      pos += tlen;
    }
    blockLast[i] = last;
    blockEnd[i] = base + pos;
    cursor = pos;
  }
  if (size > cursor) backend.fill(bytes, cursor, size);
  insnStart[total] = li;
  return { isa: backend.isa, program, base, bytes, firstBlock, funcStart, blockStart, blockLast, blockEnd, insnStart, lengths };
}
