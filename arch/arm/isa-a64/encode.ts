// A64 instruction encoder: the few instructions the simulator lowers programs to. Every function
// returns the 32-bit instruction word (an unsigned number); bit layouts follow the Arm ARM
// (DDI 0487), section C4 "A64 Instruction Set Encoding". Bad operands throw, because lowering runs
// once per program, never per executed instruction.

import type { Addr } from '../../common/address.js';
import { HwtraceError } from '../../common/errors.js';

/** Register number 31: XZR/WZR or SP, depending on the instruction. */
export const XZR = 31;
export const SP = 31;
/** The link register X30. */
export const LR = 30;

/** Condition codes for B.cond and CSEL (AL/NV are left out on purpose: B.AL is not conditional). */
export const Cond = {
  EQ: 0, NE: 1, CS: 2, CC: 3, MI: 4, PL: 5, VS: 6, VC: 7,
  HI: 8, LS: 9, GE: 10, LT: 11, GT: 12, LE: 13,
} as const;

/** Byte reach of each PC-relative branch form: the displacement must be in [-reach, reach). */
export const BRANCH_REACH = {
  /** B, BL: imm26 × 4 = ±128 MiB. */
  imm26: 1 << 27,
  /** B.cond, CBZ, CBNZ: imm19 × 4 = ±1 MiB. */
  imm19: 1 << 20,
  /** TBZ, TBNZ: imm14 × 4 = ±32 KiB. */
  imm14: 1 << 15,
} as const;

function fail(message: string): never {
  throw new HwtraceError('a64_encode', message);
}

function reg(r: number, what: string): number {
  if (!Number.isInteger(r) || r < 0 || r > 31) fail(`${what}: register ${r} is not 0..31`);
  return r;
}

function field(v: number, bits: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v >= 2 ** bits) fail(`${what}: ${v} does not fit in ${bits} unsigned bits`);
  return v;
}

/** The word offset from `from` to `to` as a `bits`-bit two's-complement field. */
function displacement(from: Addr, to: Addr, bits: number, what: string): number {
  const delta = to - from;
  if (delta % 4 !== 0) fail(`${what}: target ${to} is not 4-byte aligned relative to ${from}`);
  const words = delta / 4;
  const half = 2 ** (bits - 1);
  if (words < -half || words >= half) fail(`${what}: displacement ${delta} bytes is out of the ±${half * 4}-byte range`);
  return (words < 0 ? words + 2 * half : words) >>> 0;
}

/** True when a branch of this reach (see BRANCH_REACH) can go from `from` to `to`. */
export function inReach(from: Addr, to: Addr, reach: number): boolean {
  const d = to - from;
  return d >= -reach && d < reach && d % 4 === 0;
}

// ---- Branches (waypoints) ----

/** B label. */
export function encodeB(from: Addr, to: Addr): number {
  return (0x14000000 | displacement(from, to, 26, 'B')) >>> 0;
}

/** BL label. */
export function encodeBL(from: Addr, to: Addr): number {
  return (0x94000000 | displacement(from, to, 26, 'BL')) >>> 0;
}

/** B.cond label. */
export function encodeBCond(cond: number, from: Addr, to: Addr): number {
  return (0x54000000 | (displacement(from, to, 19, 'B.cond') << 5) | field(cond, 4, 'B.cond cond')) >>> 0;
}

/** CBZ / CBNZ (nonZero) Xt|Wt, label. */
export function encodeCBZ(sf: boolean, nonZero: boolean, rt: number, from: Addr, to: Addr): number {
  const base = (sf ? 0xb4000000 : 0x34000000) | (nonZero ? 0x01000000 : 0);
  return (base | (displacement(from, to, 19, 'CBZ') << 5) | reg(rt, 'CBZ Rt')) >>> 0;
}

/** TBZ / TBNZ (nonZero) Rt, #bit, label; bit 0..63 (≥ 32 means an X register). */
export function encodeTBZ(nonZero: boolean, rt: number, bit: number, from: Addr, to: Addr): number {
  field(bit, 6, 'TBZ bit');
  const b5 = bit >> 5, b40 = bit & 31;
  return ((b5 << 31) | 0x36000000 | (nonZero ? 0x01000000 : 0) | (b40 << 19) |
    (displacement(from, to, 14, 'TBZ') << 5) | reg(rt, 'TBZ Rt')) >>> 0;
}

/** BR Xn. */
export function encodeBR(rn: number): number {
  return (0xd61f0000 | (reg(rn, 'BR Rn') << 5)) >>> 0;
}

/** BLR Xn. */
export function encodeBLR(rn: number): number {
  return (0xd63f0000 | (reg(rn, 'BLR Rn') << 5)) >>> 0;
}

/** RET {Xn} (default X30). */
export function encodeRET(rn: number = LR): number {
  return (0xd65f0000 | (reg(rn, 'RET Rn') << 5)) >>> 0;
}

/** ERET. */
export function encodeERET(): number {
  return 0xd69f03e0;
}

// ---- Exception generation and system registers (not waypoints) ----

/** SVC #imm16: system call, a synchronous exception to EL1. */
export function encodeSVC(imm16: number): number {
  return (0xd4000001 | (field(imm16, 16, 'SVC imm') << 5)) >>> 0;
}

/** HVC #imm16: hypervisor call, a synchronous exception to EL2. */
export function encodeHVC(imm16: number): number {
  return (0xd4000002 | (field(imm16, 16, 'HVC imm') << 5)) >>> 0;
}

/** A system register as its (op0, op1, CRn, CRm, op2) encoding. */
export interface SysReg {
  name: string;
  op0: number; op1: number; crn: number; crm: number; op2: number;
}

/** The registers the simulator writes when it switches contexts (Arm ARM D19 register index). */
export const SysRegs = {
  CONTEXTIDR_EL1: { name: 'CONTEXTIDR_EL1', op0: 3, op1: 0, crn: 13, crm: 0, op2: 1 },
  CONTEXTIDR_EL2: { name: 'CONTEXTIDR_EL2', op0: 3, op1: 4, crn: 13, crm: 0, op2: 1 },
  TTBR0_EL1: { name: 'TTBR0_EL1', op0: 3, op1: 0, crn: 2, crm: 0, op2: 0 },
  TTBR1_EL1: { name: 'TTBR1_EL1', op0: 3, op1: 0, crn: 2, crm: 0, op2: 1 },
  VTTBR_EL2: { name: 'VTTBR_EL2', op0: 3, op1: 4, crn: 2, crm: 1, op2: 0 },
  TPIDR_EL0: { name: 'TPIDR_EL0', op0: 3, op1: 3, crn: 13, crm: 0, op2: 2 },
} as const satisfies Record<string, SysReg>;

function sysregBits(r: SysReg): number {
  if (r.op0 !== 2 && r.op0 !== 3) fail(`${r.name}: op0 must be 2 or 3 for MSR/MRS (register)`);
  return ((r.op0 - 2) << 19) | (field(r.op1, 3, 'op1') << 16) | (field(r.crn, 4, 'CRn') << 12) |
    (field(r.crm, 4, 'CRm') << 8) | (field(r.op2, 3, 'op2') << 5);
}

/** MSR <sysreg>, Xt. */
export function encodeMSR(r: SysReg, rt: number): number {
  return (0xd5100000 | sysregBits(r) | reg(rt, 'MSR Rt')) >>> 0;
}

/** MRS Xt, <sysreg>. */
export function encodeMRS(rt: number, r: SysReg): number {
  return (0xd5300000 | sysregBits(r) | reg(rt, 'MRS Rt')) >>> 0;
}

/** NOP. */
export function encodeNOP(): number {
  return 0xd503201f;
}

// ---- Data processing and memory (body instructions) ----

const sfBit = (sf: boolean): number => (sf ? 0x80000000 : 0);

/** ADD/SUB (immediate), optionally setting flags: op 'add'|'sub', imm12 optionally << 12. */
export function encodeAddSubImm(sf: boolean, sub: boolean, setFlags: boolean, rd: number, rn: number, imm12: number, lsl12 = false): number {
  return (sfBit(sf) | (sub ? 0x40000000 : 0) | (setFlags ? 0x20000000 : 0) | 0x11000000 | (lsl12 ? 0x00400000 : 0) |
    (field(imm12, 12, 'ADD/SUB imm12') << 10) | (reg(rn, 'Rn') << 5) | reg(rd, 'Rd')) >>> 0;
}

/** Shift types for shifted-register operands. ROR is valid only for logical instructions. */
export const Shift = { LSL: 0, LSR: 1, ASR: 2, ROR: 3 } as const;

/** ADD/SUB (shifted register), optionally setting flags (CMP = SUBS with Rd = XZR). */
export function encodeAddSubReg(sf: boolean, sub: boolean, setFlags: boolean, rd: number, rn: number, rm: number, shift = 0, amount = 0): number {
  if (shift === Shift.ROR) fail('ADD/SUB (shifted register) cannot use ROR');
  field(amount, sf ? 6 : 5, 'shift amount');
  return (sfBit(sf) | (sub ? 0x40000000 : 0) | (setFlags ? 0x20000000 : 0) | 0x0b000000 | (shift << 22) |
    (reg(rm, 'Rm') << 16) | (amount << 10) | (reg(rn, 'Rn') << 5) | reg(rd, 'Rd')) >>> 0;
}

/** Logical (shifted register) operations: AND, ORR, EOR, ANDS (opc field). */
export const LogicOp = { AND: 0, ORR: 1, EOR: 2, ANDS: 3 } as const;

/** AND/ORR/EOR/ANDS (shifted register); MOV Xd, Xm = ORR Xd, XZR, Xm. */
export function encodeLogicalReg(sf: boolean, op: number, rd: number, rn: number, rm: number, shift = 0, amount = 0): number {
  field(op, 2, 'logical opc');
  field(shift, 2, 'shift');
  field(amount, sf ? 6 : 5, 'shift amount');
  return (sfBit(sf) | (op << 29) | 0x0a000000 | (shift << 22) | (reg(rm, 'Rm') << 16) | (amount << 10) |
    (reg(rn, 'Rn') << 5) | reg(rd, 'Rd')) >>> 0;
}

/** MOV Xd|Wd, Xm|Wm (register). */
export function encodeMovReg(sf: boolean, rd: number, rm: number): number {
  return encodeLogicalReg(sf, LogicOp.ORR, rd, XZR, rm);
}

/** Move-wide kinds (opc field). */
export const MoveWide = { MOVN: 0, MOVZ: 2, MOVK: 3 } as const;

/** MOVN/MOVZ/MOVK Rd, #imm16, LSL #(16 × hw). */
export function encodeMoveWide(sf: boolean, kind: number, rd: number, imm16: number, hw = 0): number {
  if (kind !== 0 && kind !== 2 && kind !== 3) fail(`move-wide kind ${kind} is not MOVN/MOVZ/MOVK`);
  field(hw, sf ? 2 : 1, 'hw');
  return (sfBit(sf) | (kind << 29) | 0x12800000 | (hw << 21) | (field(imm16, 16, 'imm16') << 5) | reg(rd, 'Rd')) >>> 0;
}

/** Access sizes for LDR/STR (unsigned offset): 0 byte, 1 half, 2 word, 3 doubleword. */
export function encodeLdrStrImm(load: boolean, size: number, rt: number, rn: number, byteOffset: number): number {
  field(size, 2, 'size');
  const scale = 1 << size;
  if (byteOffset % scale !== 0) fail(`LDR/STR offset ${byteOffset} is not a multiple of ${scale}`);
  return ((size << 30) | 0x39000000 | (load ? 0x00400000 : 0) | (field(byteOffset / scale, 12, 'imm12') << 10) |
    (reg(rn, 'Rn') << 5) | reg(rt, 'Rt')) >>> 0;
}

/** MADD Rd, Rn, Rm, Ra (MUL = MADD with Ra = XZR). */
export function encodeMadd(sf: boolean, rd: number, rn: number, rm: number, ra: number): number {
  return (sfBit(sf) | 0x1b000000 | (reg(rm, 'Rm') << 16) | (reg(ra, 'Ra') << 10) | (reg(rn, 'Rn') << 5) | reg(rd, 'Rd')) >>> 0;
}

/** CSEL Rd, Rn, Rm, cond. */
export function encodeCsel(sf: boolean, rd: number, rn: number, rm: number, cond: number): number {
  return (sfBit(sf) | 0x1a800000 | (reg(rm, 'Rm') << 16) | (field(cond, 4, 'cond') << 12) | (reg(rn, 'Rn') << 5) | reg(rd, 'Rd')) >>> 0;
}

/** UBFM Rd, Rn, #immr, #imms (LSL/LSR/UXT* are aliases). */
export function encodeUbfm(sf: boolean, rd: number, rn: number, immr: number, imms: number): number {
  const w = sf ? 6 : 5;
  return (sfBit(sf) | 0x53000000 | (sf ? 0x00400000 : 0) | (field(immr, w, 'immr') << 16) | (field(imms, w, 'imms') << 10) |
    (reg(rn, 'Rn') << 5) | reg(rd, 'Rd')) >>> 0;
}

/** LSL Rd, Rn, #shift (alias of UBFM). */
export function encodeLslImm(sf: boolean, rd: number, rn: number, shift: number): number {
  const size = sf ? 64 : 32;
  field(shift, sf ? 6 : 5, 'LSL shift');
  return encodeUbfm(sf, rd, rn, (size - shift) % size, size - 1 - shift);
}

/** STP/LDP of 64-bit registers; mode 'pre' ([Rn, #o]!), 'post' ([Rn], #o) or 'offset' ([Rn, #o]). */
export function encodePair(load: boolean, mode: 'pre' | 'post' | 'offset', rt: number, rt2: number, rn: number, byteOffset: number): number {
  if (byteOffset % 8 !== 0) fail(`STP/LDP offset ${byteOffset} is not a multiple of 8`);
  const imm7 = byteOffset / 8;
  if (imm7 < -64 || imm7 > 63) fail(`STP/LDP offset ${byteOffset} is out of range`);
  const modeBits = mode === 'post' ? 0x00800000 : mode === 'pre' ? 0x01800000 : 0x01000000;
  return (0xa8000000 | modeBits | (load ? 0x00400000 : 0) | ((imm7 & 0x7f) << 15) | (reg(rt2, 'Rt2') << 10) |
    (reg(rn, 'Rn') << 5) | reg(rt, 'Rt')) >>> 0;
}

/** ADR Xd, label (PC-relative address, ±1 MiB; not a branch). */
export function encodeAdr(rd: number, from: Addr, to: Addr): number {
  const delta = to - from;
  if (!Number.isInteger(delta) || delta < -(1 << 20) || delta >= 1 << 20) fail(`ADR: displacement ${delta} out of range`);
  const imm = delta < 0 ? delta + (1 << 21) : delta;
  return (0x10000000 | ((imm & 3) << 29) | ((imm >>> 2) << 5) | reg(rd, 'Rd')) >>> 0;
}

/** Writes an instruction word little-endian (A64 instruction fetch is little-endian). */
export function writeInsn(out: Uint8Array, offset: number, word: number): void {
  out[offset] = word & 0xff;
  out[offset + 1] = (word >>> 8) & 0xff;
  out[offset + 2] = (word >>> 16) & 0xff;
  out[offset + 3] = (word >>> 24) & 0xff;
}

/** Reads a little-endian instruction word. */
export function readInsn(bytes: Uint8Array, offset: number): number {
  return (bytes[offset]! | (bytes[offset + 1]! << 8) | (bytes[offset + 2]! << 16) | (bytes[offset + 3]! << 24)) >>> 0;
}
