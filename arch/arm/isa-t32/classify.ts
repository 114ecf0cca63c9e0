// T32 (Thumb) waypoint classification for instruction-trace decoding (ETMv4/ETE, IHI 0064
// "Waypoints": branches, instructions that write the PC, ISB; WFI/WFE when configured).
// Encodings from the Arm ARM (DDI 0487, "T32 instruction set encoding"):
//
//   16-bit: B<c> (T1), B (T2), CBZ/CBNZ, BX/BLX register, ADD PC/MOV PC (register), POP {…, PC},
//           WFI/WFE; IT opens a block whose instructions are conditional.
//   32-bit: B<c>.W (T3), B.W (T4), BL, BLX immediate (to A32), TBB/TBH, LDM/LDMDB/POP.W with the
//           PC, LDR PC (immediate, register, literal, post-indexed = POP), SUBS PC, LR (ERET),
//           BXJ, RFE, ISB, WFI.W/WFE.W.
//
// An instruction is passed as one number: a 16-bit one as its halfword, a 32-bit one as
// (first halfword << 16) | second halfword, as it is fetched. A first halfword ≥ 0xE800
// (bits[15:11] = 0b11101, 0b11110, 0b11111) starts a 32-bit instruction.

import { A64Waypoint, WpSub, WpType, type A64ClassifyOptions, setWaypoint } from '../isa-a64/classify.js';

/** Bytes of the T32 instruction whose first halfword is `hw1`. */
export function t32Size(hw1: number): number {
  return hw1 >= 0xe800 ? 4 : 2;
}

/**
 * Instructions made conditional by `op` when it is an IT instruction (1..4), else 0.
 * IT: 10111111 firstcond mask, mask ≠ 0000 (mask 0000 is a hint: NOP, YIELD, WFE...).
 */
export function t32ItLength(op: number): number {
  if ((op & 0xff00) !== 0xbf00) return 0;
  const mask = op & 0xf;
  if (mask === 0) return 0;
  // The block length is 4 minus the number of trailing zeros of the mask.
  return mask & 1 ? 4 : mask & 2 ? 3 : mask & 4 ? 2 : 1;
}

const set = setWaypoint;

const other = (w: A64Waypoint): number => set(w, WpType.OTHER, WpSub.NONE, 0, false, false);

/**
 * Classifies the T32 instruction `op` at address `addr` into `w` (offset: target minus `addr`,
 * the PC-relative +4 included); returns w.type. `addr` matters only for BLX immediate, whose
 * target is relative to the word-aligned PC.
 */
export function classifyT32(op: number, addr: number, w: A64Waypoint, opts: A64ClassifyOptions): number {
  op >>>= 0;
  if (op <= 0xffff) return classify16(op, w, opts);
  const hw1 = op >>> 16;
  if (((op & 0xf8008000) >>> 0) === 0xf0008000) return classifyBranchMisc(op, addr, w, opts);
  if (hw1 >= 0xe800 && hw1 < 0xea00) {
    // Load/store multiple, dual, exclusive, table branch.
    if (((op & 0xfff0ffe0) >>> 0) === 0xe8d0f000) return set(w, WpType.BR_INDIRECT, WpSub.NONE, 0, false, false); // TBB, TBH
    // LDM (IA) / LDMDB with the PC in the list: 1110100 01 0 W 1 Rn / 1110100 10 0 W 1 Rn, hw2 bit15 = PC.
    if (((op & 0xffd08000) >>> 0) === 0xe8908000 || ((op & 0xffd08000) >>> 0) === 0xe9108000) {
      const pop = ((op & 0xffff8000) >>> 0) === 0xe8bd8000; // POP.W {…, PC}
      return set(w, WpType.BR_INDIRECT, pop ? WpSub.V7_IMPLIED_RET : WpSub.NONE, 0, false, false);
    }
    // RFEDB / RFEIA: return from exception, loads the PC and CPSR.
    if (((op & 0xffd0ffff) >>> 0) === 0xe810c000 || ((op & 0xffd0ffff) >>> 0) === 0xe990c000) return set(w, WpType.BR_INDIRECT, WpSub.NONE, 0, false, false);
    return other(w);
  }
  if ((hw1 & 0xff50) === 0xf850) {
    // LDR (word) with Rt = PC: immediate T3 (imm12), T4 (imm8, P U W), register, literal.
    const rtPc = (op & 0xf000) === 0xf000;
    if (rtPc && (((op & 0xfff00000) >>> 0) === 0xf8d00000 || ((op & 0xff7f0000) >>> 0) === 0xf85f0000 || ((op & 0xfff00800) >>> 0) === 0xf8500800 || ((op & 0xfff00fc0) >>> 0) === 0xf8500000)) {
      const pop = op === 0xf85dfb04; // LDR PC, [SP], #4
      return set(w, WpType.BR_INDIRECT, pop ? WpSub.V7_IMPLIED_RET : WpSub.NONE, 0, false, false);
    }
  }
  return other(w);
}

function classify16(op: number, w: A64Waypoint, opts: A64ClassifyOptions): number {
  // B<c> T1: 1101 cond imm8 (cond 111x is UDF / SVC).
  if ((op & 0xf000) === 0xd000 && (op & 0x0e00) !== 0x0e00) return set(w, WpType.BR, WpSub.NONE, ((op << 24) >> 23) + 4, true, false);
  // B T2: 11100 imm11.
  if ((op & 0xf800) === 0xe000) return set(w, WpType.BR, WpSub.NONE, ((op << 21) >> 20) + 4, false, false);
  // CBZ / CBNZ: 1011 op 0 i 1 imm5 Rn, forward only.
  if ((op & 0xf500) === 0xb100) return set(w, WpType.BR, WpSub.NONE, (((op >> 3) & 0x40) | ((op >> 2) & 0x3e)) + 4, true, false);
  // BX / BLX register (and v8-M BXNS / BLXNS): 01000111 L Rm xxx.
  if ((op & 0xff00) === 0x4700) {
    const link = (op & 0x80) !== 0;
    const sub = link ? WpSub.LINK : ((op >> 3) & 0xf) === 14 ? WpSub.V7_IMPLIED_RET : WpSub.NONE;
    return set(w, WpType.BR_INDIRECT, sub, 0, false, link);
  }
  // ADD PC, Rm / MOV PC, Rm: 010001 op(00|10) D Rm Rdn with D:Rdn = PC.
  if ((op & 0xfd87) === 0x4487) return set(w, WpType.BR_INDIRECT, op === 0x46f7 ? WpSub.V7_IMPLIED_RET : WpSub.NONE, 0, false, false);
  // POP {…, PC}: 1011110 1 list.
  if ((op & 0xff00) === 0xbd00) return set(w, WpType.BR_INDIRECT, WpSub.V7_IMPLIED_RET, 0, false, false);
  if (opts.wfxWaypoints && (op === 0xbf20 || op === 0xbf30)) return set(w, WpType.WFI_WFE, WpSub.NONE, 0, false, false);
  return other(w);
}

/** 11110 … / 1x…: branches and miscellaneous control. */
function classifyBranchMisc(op: number, addr: number, w: A64Waypoint, opts: A64ClassifyOptions): number {
  const s = (op >>> 26) & 1;
  const j1 = (op >>> 13) & 1;
  const j2 = (op >>> 11) & 1;
  const imm11 = op & 0x7ff;
  const kind = op & 0x5000; // hw2 bits 14 (link) and 12
  if (kind === 0x0000) {
    const cond = (op >>> 22) & 0xf;
    if ((cond & 0xe) !== 0xe) {
      // B<c>.W T3: S:J2:J1:imm6:imm11:'0', 21 bits.
      const imm = (s << 20) | (j2 << 19) | (j1 << 18) | (((op >>> 16) & 0x3f) << 12) | (imm11 << 1);
      return set(w, WpType.BR, WpSub.NONE, ((imm << 11) >> 11) + 4, true, false);
    }
    // Miscellaneous control (cond = 111x).
    if (((op & 0xfffffff0) >>> 0) === 0xf3bf8f60) return set(w, WpType.ISB, WpSub.NONE, 0, false, false);
    // SUBS PC, LR, #imm8; ERET is SUBS PC, LR, #0. No ERET subtype: that is A64's (OpenCSD
    // gives T32 ERET none either).
    if (((op & 0xffffff00) >>> 0) === 0xf3de8f00) return set(w, WpType.BR_INDIRECT, WpSub.NONE, 0, false, false);
    if (((op & 0xfff0ffff) >>> 0) === 0xf3c08f00) return set(w, WpType.BR_INDIRECT, WpSub.NONE, 0, false, false); // BXJ
    if (opts.wfxWaypoints && (op === 0xf3af8002 || op === 0xf3af8003)) return set(w, WpType.WFI_WFE, WpSub.NONE, 0, false, false);
    return other(w);
  }
  // B.W T4, BL, BLX immediate: S:I1:I2:imm10:imm11:'0' with I = NOT(J XOR S), 25 bits.
  const i1 = (j1 ^ s) ^ 1;
  const i2 = (j2 ^ s) ^ 1;
  const imm = (s << 24) | (i1 << 23) | (i2 << 22) | (((op >>> 16) & 0x3ff) << 12) | (imm11 << 1);
  const offset = ((imm << 7) >> 7) + 4;
  if (kind === 0x1000) return set(w, WpType.BR, WpSub.NONE, offset, false, false);
  if (kind === 0x5000) return set(w, WpType.BR, WpSub.LINK, offset, false, true);
  // BLX immediate (hw2 bit0 = H must be 0): to A32 at Align(PC, 4) + imm.
  if ((op & 1) === 0) return set(w, WpType.BR, WpSub.LINK, offset - (addr & 2), false, true, true);
  return other(w);
}
