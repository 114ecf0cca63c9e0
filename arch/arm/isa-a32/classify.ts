// A32 waypoint classification for instruction-trace decoding (ETMv4/ETE, IHI 0064 §6.2), as
// OpenCSD classifies A32: direct branches (B, BL, BLX immediate), indirect branches (BX, BLX
// register, data-processing or loads that write the PC, LDM with the PC, ERET), ISB. The
// "V7 implied return" subtype marks BX LR, MOV PC, LR, POP {…, PC} and LDR PC, [SP], #imm.
// Encodings from the Arm ARM (DDI 0487, AArch32 A32 instruction set). Targets are relative to
// the instruction address (the +8 PC offset included).

import { A64Waypoint, WpSub, WpType, setWaypoint } from '../isa-a64/classify.js';

const set = setWaypoint;

/** Classifies the 32-bit A32 instruction `op` into `w`; returns w.type. */
export function classifyA32(op: number, w: A64Waypoint): number {
  op >>>= 0;
  const cond = op >>> 28;
  const conditional = cond !== 0xe && cond !== 0xf;
  // B / BL (cond != 1111) and BLX immediate (cond = 1111, H = bit 24): 101 L imm24.
  if ((op & 0x0e000000) === 0x0a000000) {
    const imm = ((op << 8) >> 6) + 8;
    if (cond === 0xf) return set(w, WpType.BR, WpSub.LINK, imm + ((op >>> 23) & 2), false, true, true);
    const link = (op & 0x01000000) !== 0;
    return set(w, WpType.BR, link ? WpSub.LINK : WpSub.NONE, imm, conditional, link);
  }
  if (cond === 0xf) {
    // ISB: 1111 0101 0111 1111 1111 0000 0110 option.
    if ((op & 0xfffffff0) >>> 0 === 0xf57ff060) return set(w, WpType.ISB, WpSub.NONE, 0, false, false);
    return set(w, WpType.OTHER, WpSub.NONE, 0, false, false);
  }
  // BX Rm / BLX Rm: cond 0001 0010 1111 1111 1111 00L1 Rm.
  if ((op & 0x0fffffd0) === 0x012fff10) {
    const link = (op & 0x20) !== 0;
    const rm = op & 0xf;
    return set(w, WpType.BR_INDIRECT, link ? WpSub.LINK : rm === 14 ? WpSub.V7_IMPLIED_RET : WpSub.NONE, 0, conditional, link);
  }
  // ERET: cond 0001 0110 0000 0000 0000 0110 1110. An exception return writes the PC: a waypoint
  // (OpenCSD does not treat it as a branch). No subtype: ERET's is A64's.
  if ((op & 0x0fffffff) === 0x0160006e) return set(w, WpType.BR_INDIRECT, WpSub.NONE, 0, conditional, false);
  // LDM/POP with the PC in the register list: cond 100 P U S W 1 Rn list.
  if ((op & 0x0e108000) === 0x08108000) {
    const popSp = ((op >>> 16) & 0xf) === 13 && (op & 0x00200000) !== 0;
    return set(w, WpType.BR_INDIRECT, popSp ? WpSub.V7_IMPLIED_RET : WpSub.NONE, 0, conditional, false);
  }
  // LDR PC, [...]: cond 01 I P U 0 W 1 Rn 1111 ...; LDR PC, [SP], #imm is a pop.
  if ((op & 0x0c50f000) === 0x0410f000) {
    const pop = (op & 0x0fff0000) === 0x049d0000;
    return set(w, WpType.BR_INDIRECT, pop ? WpSub.V7_IMPLIED_RET : WpSub.NONE, 0, conditional, false);
  }
  // Data processing writing the PC: cond 00 I opcode S Rn 1111 ..., not the compare opcodes
  // (10xx with S = 1 do not write Rd; with S = 0 they are the miscellaneous space), not the
  // multiply / extra load-store space (I = 0, bits 7 and 4 set).
  if ((op & 0x0c00f000) === 0x0000f000) {
    const opcode = (op >>> 21) & 0xf;
    const imm = (op & 0x02000000) !== 0;
    if ((opcode & 0xc) !== 0x8 && (imm || (op & 0x90) !== 0x90)) {
      const movPcLr = (op & 0x0fffffff) === 0x01a0f00e;
      return set(w, WpType.BR_INDIRECT, movPcLr ? WpSub.V7_IMPLIED_RET : WpSub.NONE, 0, conditional, false);
    }
  }
  return set(w, WpType.OTHER, WpSub.NONE, 0, false, false);
}
