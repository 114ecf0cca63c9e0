// Body instructions for lowered x86-64 blocks: ordinary (non-branch) instructions of every length
// from 1 to 15 bytes, encoded with iced-x86 into a pool that lowering copies from. Nothing here
// is RIP-relative, so a pooled encoding is valid at any address.

import { Code, Instruction, MemoryOperand, Register } from 'iced-x86';
import { HwtraceError } from '../../common/errors.js';
import { GPR64, encodeInstruction } from './encode.js';

/** The longest legal x86 instruction. */
export const MAX_INSN_LENGTH = 15;

/** Pre-encoded body instructions grouped by byte length (index 1..15). */
export interface BodyPool {
  byLength: Uint8Array[][];
}

/** A uniform 32-bit random source (the simulator passes its seeded PRNG). */
export type U32Source = () => number;

const GPR32: readonly Register[] = [
  Register.EAX, Register.ECX, Register.EDX, Register.EBX, Register.EBP, Register.ESI, Register.EDI,
  Register.R8D, Register.R9D, Register.R10D, Register.R11D, Register.R12D, Register.R13D, Register.R14D, Register.R15D,
];
const LOW32: readonly Register[] = [Register.EAX, Register.ECX, Register.EDX, Register.EBX, Register.ESI, Register.EDI];
const LOW64: readonly Register[] = [Register.RAX, Register.RCX, Register.RDX, Register.RBX, Register.RSI, Register.RDI];
const LOW8: readonly Register[] = [Register.AL, Register.CL, Register.DL, Register.BL];
const XMM: readonly Register[] = [Register.XMM0, Register.XMM1, Register.XMM2, Register.XMM3, Register.XMM4, Register.XMM5];
const YMM: readonly Register[] = [Register.YMM0, Register.YMM1, Register.YMM2, Register.YMM3, Register.YMM4, Register.YMM5];

class Operands {
  constructor(private readonly next: U32Source) {}
  pick<T>(list: readonly T[]): T {
    return list[this.next() % list.length]!;
  }
  imm8(): number {
    return (this.next() & 0x7f) - 0x40;
  }
  imm32(): number {
    return (this.next() | 0x01000000) & 0x7fffffff; // never fits in 8 bits, so the long form is kept
  }
  disp32(): bigint {
    return BigInt((this.next() & 0x0fffffff) | 0x10000000);
  }
  /** [base + disp8] */
  mem8(): MemoryOperand {
    return new MemoryOperand(this.pick(LOW64), Register.None, 1, BigInt((this.next() & 0x78) + 8), 1, false, Register.None);
  }
  /** [base + index*scale + disp32], optionally with 32-bit addressing and a segment override. */
  memSib32(addr32 = false, seg: Register = Register.None): MemoryOperand {
    const regs = addr32 ? LOW32 : LOW64;
    const scale = 1 << (this.next() & 3);
    // iced's displSize is the address size for a displacement that needs 32 bits: 4 or 8.
    return new MemoryOperand(this.pick(regs), this.pick(regs), scale, this.disp32(), addr32 ? 4 : 8, false, seg);
  }
  /** [base + disp32] */
  mem32(): MemoryOperand {
    return new MemoryOperand(this.pick(LOW64), Register.None, 1, this.disp32(), 8, false, Register.None);
  }
}

type Template = (o: Operands) => Instruction;

// One entry per instruction shape; the comment gives its usual length.
const TEMPLATES: readonly Template[] = [
  () => Instruction.create(Code.Nopd), // 1: 90
  (o) => Instruction.createReg(Code.Push_r64, o.pick(LOW64)), // 1
  (o) => Instruction.createReg(Code.Pop_r64, o.pick(LOW64)), // 1
  () => Instruction.create(Code.Cdq), // 1
  () => Instruction.create(Code.Cwde), // 1
  () => Instruction.create(Code.Clc), // 1
  (o) => Instruction.createRegReg(Code.Xchg_r32_EAX, o.pick(LOW32.slice(1)), Register.EAX), // 1
  (o) => Instruction.createRegReg(Code.Mov_rm32_r32, o.pick(LOW32), o.pick(LOW32)), // 2
  (o) => Instruction.createRegReg(Code.Xor_r32_rm32, o.pick(LOW32), o.pick(LOW32)), // 2
  (o) => Instruction.createRegReg(Code.Add_rm32_r32, o.pick(GPR32), o.pick(GPR32)), // 2-3
  (o) => Instruction.createRegReg(Code.Cmp_rm32_r32, o.pick(LOW32), o.pick(LOW32)), // 2
  (o) => Instruction.createReg(Code.Dec_rm32, o.pick(GPR32)), // 2-3
  (o) => Instruction.createRegReg(Code.Sub_rm64_r64, o.pick(GPR64), o.pick(GPR64)), // 3
  (o) => Instruction.createRegReg(Code.Test_rm64_r64, o.pick(GPR64), o.pick(GPR64)), // 3
  (o) => Instruction.createRegReg(Code.Mov_rm64_r64, o.pick(GPR64), o.pick(GPR64)), // 3
  (o) => Instruction.createRegMem(Code.Mov_r32_rm32, o.pick(LOW32), o.mem8()), // 3
  (o) => Instruction.createRegReg(Code.Movzx_r32_rm8, o.pick(LOW32), o.pick(LOW8)), // 3
  (o) => Instruction.createRegReg(Code.Imul_r32_rm32, o.pick(LOW32), o.pick(LOW32)), // 3
  (o) => Instruction.createRegReg(Code.Pxor_xmm_xmmm128, o.pick(XMM), o.pick(XMM)), // 4
  (o) => Instruction.createRegI32(Code.Shl_rm64_imm8, o.pick(GPR64), 1 + (o.imm8() & 31)), // 4
  (o) => Instruction.createRegI32(Code.Add_rm64_imm8, o.pick(GPR64), o.imm8()), // 4
  (o) => Instruction.createRegMem(Code.Mov_r64_rm64, o.pick(LOW64), o.mem8()), // 4
  (o) => Instruction.createRegReg(Code.Cmovne_r64_rm64, o.pick(GPR64), o.pick(GPR64)), // 4
  (o) => Instruction.createRegReg(Code.Popcnt_r64_rm64, o.pick(LOW64), o.pick(LOW64)), // 5
  (o) => Instruction.createRegU32(Code.Mov_r32_imm32, o.pick(LOW32), o.imm32()), // 5
  (o) => Instruction.createRegI32(Code.Add_EAX_imm32, Register.EAX, o.imm32()), // 5
  (o) => Instruction.createRegRegReg(Code.VEX_Vaddps_ymm_ymm_ymmm256, o.pick(YMM), o.pick(YMM), o.pick(YMM)), // 4-5
  (o) => Instruction.createRegMem(Code.Lea_r64_m, o.pick(LOW64), new MemoryOperand(o.pick(LOW64), o.pick(LOW64), 2, BigInt(o.imm8() & 0x3f), 1, false, Register.None)), // 5
  (o) => Instruction.createRegI32(Code.Add_rm32_imm32, o.pick(LOW32.slice(1)), o.imm32()), // 6
  (o) => Instruction.createRegMem(Code.Mov_r32_rm32, o.pick(LOW32), o.mem32()), // 6
  (o) => Instruction.createRegI32(Code.Mov_rm64_imm32, o.pick(LOW64), o.imm32()), // 7
  (o) => Instruction.createRegI32(Code.Add_rm64_imm32, o.pick(LOW64.slice(1)), o.imm32()), // 7
  (o) => Instruction.createRegMem(Code.Mov_r64_rm64, o.pick(LOW64), o.mem32()), // 7
  (o) => Instruction.createRegMem(Code.Mov_r32_rm32, o.pick(LOW32), o.memSib32()), // 7
  (o) => Instruction.createRegMem(Code.Mov_r64_rm64, o.pick(LOW64), o.memSib32()), // 8
  (o) => Instruction.createMemI32(Code.Mov_rm64_imm32, o.mem8(), o.imm32()), // 8
  (o) => Instruction.createRegMem(Code.VEX_Vmovdqu_ymm_ymmm256, o.pick(YMM), o.memSib32()), // 9
  (o) => Instruction.createMemI32(Code.Add_rm16_imm16, o.mem32(), 0x1234 + (o.imm8() & 0xff)), // 9
  (o) => Instruction.createRegU64(Code.Mov_r64_imm64, o.pick(LOW64), 0x123456789an + BigInt(o.imm32())), // 10
  (o) => Instruction.createMemI32(Code.Mov_rm32_imm32, o.mem32(), o.imm32()), // 10
  (o) => Instruction.createMemI32(Code.Mov_rm64_imm32, o.mem32(), o.imm32()), // 11
  (o) => Instruction.createMemI32(Code.Mov_rm32_imm32, o.memSib32(), o.imm32()), // 11
  (o) => Instruction.createMemI32(Code.Mov_rm64_imm32, o.memSib32(), o.imm32()), // 12
  (o) => Instruction.createMemI32(Code.Mov_rm64_imm32, o.memSib32(false, Register.FS), o.imm32()), // 13
  (o) => withLock(Instruction.createMemI32(Code.Add_rm64_imm32, o.memSib32(false, Register.FS), o.imm32())), // 14
  (o) => withLock(Instruction.createMemI32(Code.Add_rm64_imm32, o.memSib32(true, Register.FS), o.imm32())), // 15
];

function withLock(i: Instruction): Instruction {
  i.hasLockPrefix = true;
  return i;
}

/**
 * Builds a pool of `variants` encodings per template with operands drawn from `next`, grouped by
 * length. Every length 1..15 ends up with at least one encoding (checked).
 */
export function buildBodyPool(next: U32Source, variants = 6): BodyPool {
  const o = new Operands(next);
  const byLength: Uint8Array[][] = Array.from({ length: MAX_INSN_LENGTH + 1 }, () => []);
  for (const make of TEMPLATES) {
    for (let v = 0; v < variants; v++) {
      const bytes = encodeInstruction(make(o), 0);
      byLength[bytes.length]!.push(bytes);
    }
  }
  for (let len = 1; len <= MAX_INSN_LENGTH; len++) {
    if (byLength[len]!.length === 0) throw new HwtraceError('x86_encode', `body pool has no ${len}-byte instruction`);
  }
  return { byLength };
}
