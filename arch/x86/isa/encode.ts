// x86-64 encodings of the control-transfer instructions the simulator lowers blocks to, made
// with iced-x86's Encoder. Lowering calls these once per program (not per executed
// instruction), so the cost of WASM objects is fine; every iced object is freed after use.

import { Code, Encoder, Instruction, MemoryOperand, Register } from 'iced-x86';
import type { Addr } from '../../common/address.js';
import { HwtraceError } from '../../common/errors.js';

/** Byte lengths of the PC-relative branch forms (fixed by the encoding, used for layout). */
export const BRANCH_LENGTH = {
  jccShort: 2, // 7x rel8
  jccNear: 6, // 0F 8x rel32
  jmpShort: 2, // EB rel8
  jmpNear: 5, // E9 rel32
  call: 5, // E8 rel32
} as const;

/** Jcc condition codes in encoding order (the low nibble of 0x70+cc / 0x0F 0x80+cc). */
export const CONDITIONS = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'] as const;

const JCC_SHORT: readonly Code[] = [
  Code.Jo_rel8_64, Code.Jno_rel8_64, Code.Jb_rel8_64, Code.Jae_rel8_64, Code.Je_rel8_64, Code.Jne_rel8_64,
  Code.Jbe_rel8_64, Code.Ja_rel8_64, Code.Js_rel8_64, Code.Jns_rel8_64, Code.Jp_rel8_64, Code.Jnp_rel8_64,
  Code.Jl_rel8_64, Code.Jge_rel8_64, Code.Jle_rel8_64, Code.Jg_rel8_64,
];
const JCC_NEAR: readonly Code[] = [
  Code.Jo_rel32_64, Code.Jno_rel32_64, Code.Jb_rel32_64, Code.Jae_rel32_64, Code.Je_rel32_64, Code.Jne_rel32_64,
  Code.Jbe_rel32_64, Code.Ja_rel32_64, Code.Js_rel32_64, Code.Jns_rel32_64, Code.Jp_rel32_64, Code.Jnp_rel32_64,
  Code.Jl_rel32_64, Code.Jge_rel32_64, Code.Jle_rel32_64, Code.Jg_rel32_64,
];

/** General registers usable as operands (RSP left out: it cannot be an index). */
export const GPR64: readonly Register[] = [
  Register.RAX, Register.RCX, Register.RDX, Register.RBX, Register.RBP, Register.RSI, Register.RDI,
  Register.R8, Register.R9, Register.R10, Register.R11, Register.R12, Register.R13, Register.R14, Register.R15,
];

let sharedEncoder: Encoder | undefined;

/** The 64-bit two's-complement image of a canonical address, as iced-x86 wants it. */
export function toRip(a: Addr): bigint {
  return BigInt.asUintN(64, BigInt(a));
}

/** Encodes `instr` at `rip`, frees it, and returns its bytes. */
export function encodeInstruction(instr: Instruction, rip: Addr): Uint8Array {
  const enc = (sharedEncoder ??= new Encoder(64));
  try {
    enc.encode(instr, toRip(rip));
    return enc.takeBuffer();
  } catch (e) {
    enc.takeBuffer();
    throw new HwtraceError('x86_encode', `cannot encode ${instr.toString()} at ${rip}: ${String(e)}`);
  } finally {
    instr.free();
  }
}

function checkCond(cc: number): number {
  if (!Number.isInteger(cc) || cc < 0 || cc > 15) throw new HwtraceError('x86_encode', `condition code ${cc} is not 0..15`);
  return cc;
}

/** True when a rel8 branch of `length` bytes at `at` reaches `target`. */
export function fitsRel8(at: Addr, length: number, target: Addr): boolean {
  const d = target - (at + length);
  return d >= -128 && d <= 127;
}

/** Jcc target: short (rel8, 2 bytes) or near (rel32, 6 bytes). */
export function encodeJcc(cc: number, short: boolean, at: Addr, target: Addr): Uint8Array {
  const code = (short ? JCC_SHORT : JCC_NEAR)[checkCond(cc)]!;
  return encodeInstruction(Instruction.createBranch(code, toRip(target)), at);
}

/** JMP target: short (rel8, 2 bytes) or near (rel32, 5 bytes). */
export function encodeJmp(short: boolean, at: Addr, target: Addr): Uint8Array {
  return encodeInstruction(Instruction.createBranch(short ? Code.Jmp_rel8_64 : Code.Jmp_rel32_64, toRip(target)), at);
}

/** CALL target (rel32, 5 bytes). */
export function encodeCall(at: Addr, target: Addr): Uint8Array {
  return encodeInstruction(Instruction.createBranch(Code.Call_rel32_64, toRip(target)), at);
}

/**
 * Operand shapes for indirect JMP/CALL, as compilers emit them: through a register, through a
 * jump table (`[index*8 + table]`), through a RIP-relative pointer (`[rip + disp]`, e.g. a GOT
 * slot) and through an object (`[base + disp8]`, e.g. a vtable slot).
 */
export const IndirectForm = { REG: 0, TABLE: 1, RIP: 2, OBJECT: 3 } as const;
export const INDIRECT_FORMS = 4;

function indirectOperand(form: number, reg: Register, disp: number, pointer: Addr): MemoryOperand | Register {
  switch (form) {
    case IndirectForm.REG: return reg;
    case IndirectForm.TABLE: return new MemoryOperand(Register.None, reg, 8, toRip(disp | 0), 8, false, Register.None);
    // RIP-relative: iced takes the absolute address the operand points at.
    case IndirectForm.RIP: return new MemoryOperand(Register.RIP, Register.None, 1, toRip(pointer), 8, false, Register.None);
    case IndirectForm.OBJECT: return new MemoryOperand(reg, Register.None, 1, BigInt(disp & 0x78), 1, false, Register.None);
    default: throw new HwtraceError('x86_encode', `indirect form ${form} is not 0..3`);
  }
}

function encodeIndirect(call: boolean, form: number, reg: Register, disp: number, at: Addr, pointer: Addr): Uint8Array {
  const op = indirectOperand(form, reg, disp, pointer);
  const code = call ? Code.Call_rm64 : Code.Jmp_rm64;
  if (typeof op === 'number') return encodeInstruction(Instruction.createReg(code, op), at);
  // createMem takes ownership of the operand (wasm-bindgen moves it), so it is not freed here.
  return encodeInstruction(Instruction.createMem(code, op), at);
}

/**
 * Indirect JMP at `at`: `form` from IndirectForm, `reg` the register used, `disp` a table or
 * object displacement, `pointer` the address a RIP-relative form loads from.
 */
export function encodeIndirectJump(form: number, reg: Register, disp: number, at: Addr, pointer: Addr = at): Uint8Array {
  return encodeIndirect(false, form, reg, disp, at, pointer);
}

/** Indirect CALL at `at` (operands as for encodeIndirectJump). */
export function encodeIndirectCall(form: number, reg: Register, disp: number, at: Addr, pointer: Addr = at): Uint8Array {
  return encodeIndirect(true, form, reg, disp, at, pointer);
}

/** Near RET (C3). */
export function encodeRet(): Uint8Array {
  return encodeInstruction(Instruction.create(Code.Retnq), 0);
}

/** SYSCALL (0F 05): user → kernel. */
export function encodeSyscall(): Uint8Array {
  return encodeInstruction(Instruction.create(Code.Syscall), 0);
}

/** SYSRETQ (48 0F 07): kernel → 64-bit user after a system call. */
export function encodeSysret(): Uint8Array {
  return encodeInstruction(Instruction.create(Code.Sysretq), 0);
}

/** IRETQ (48 CF): return from an interrupt. */
export function encodeIret(): Uint8Array {
  return encodeInstruction(Instruction.create(Code.Iretq), 0);
}

/** VMCALL (0F 01 C1): a hypercall from a guest (for the VM workloads). */
export function encodeVmcall(): Uint8Array {
  return encodeInstruction(Instruction.create(Code.Vmcall), 0);
}

/** MOV CR3, reg: the address-space switch Intel PT reports with a PIP packet. */
export function encodeMovToCr3(reg: Register): Uint8Array {
  return encodeInstruction(Instruction.createRegReg(Code.Mov_cr_r64, Register.CR3, reg), 0);
}
