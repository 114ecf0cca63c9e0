// A64 waypoint classification for instruction-trace decoding (ETMv4/ETE, IHI 0064 §6.2 "Waypoints"):
// which instructions end an instruction range and consume an atom, with the branch target,
// link and conditional flags. Encodings from the Arm ARM (DDI 0487) A64 "Branches, exception
// generating and system instructions" group. One call per instruction, no allocation: the
// result goes into a caller-owned A64Waypoint.

/** Waypoint type, named as OpenCSD prints it in INSTR_RANGE elements. */
export const WpType = { OTHER: 0, BR: 1, BR_INDIRECT: 2, ISB: 3, WFI_WFE: 4, TSTART: 5 } as const;
export type WpType = (typeof WpType)[keyof typeof WpType];
/** Subtype of a branch. */
export const WpSub = { NONE: 0, LINK: 1, RET: 2, ERET: 3, V7_IMPLIED_RET: 4 } as const;
export type WpSub = (typeof WpSub)[keyof typeof WpSub];

export const WP_TYPE_NAMES = ['---', 'BR', 'iBR', 'ISB', 'WFI.WFE', 'TSTART'] as const;
export const WP_JSON_NAMES = ['OTHER', 'BR', 'BR_INDIRECT', 'ISB', 'WFI_WFE', 'TSTART'] as const;
export const WP_SUB_NAMES = ['', 'b+link', 'A64:ret', 'A64:eret', 'V7:impl ret'] as const;

/** What the classifier reports; reused across calls. */
export class A64Waypoint {
  type: number = WpType.OTHER;
  sub: number = WpSub.NONE;
  /** Direct branches: byte offset of the target from the instruction address. */
  offset = 0;
  /** B.cond, BC.cond, CBZ/CBNZ, TBZ/TBNZ, CB<cc>: may fall through. */
  cond = false;
  /** BL, BLR, BLRAA...: the return address is the next instruction. */
  link = false;
  /** A32/T32 only: a direct branch that changes instruction set (BLX immediate). */
  exchange = false;
}

/** Which optional waypoints are on (they depend on the trace unit and core architecture). */
export interface A64ClassifyOptions {
  /** WFI/WFE/WFIT/WFET are waypoints (TRCIDR2.WFXMODE on ETMv4.3+/ETE). */
  wfxWaypoints: boolean;
  /** TSTART is a waypoint (FEAT_TME cores, ETE). */
  tstartWaypoint: boolean;
}

export const DEFAULT_A64_OPTIONS: A64ClassifyOptions = { wfxWaypoints: false, tstartWaypoint: true };

/** Fills `w` (shared by the A64, A32 and T32 classifiers); returns `type`. */
export function setWaypoint(w: A64Waypoint, type: number, sub: number, offset: number, cond: boolean, link: boolean, exchange = false): number {
  w.type = type;
  w.sub = sub;
  w.offset = offset;
  w.cond = cond;
  w.link = link;
  w.exchange = exchange;
  return type;
}

const set = setWaypoint;

/** Classifies the 32-bit A64 instruction `op` into `w`; returns w.type. */
export function classifyA64(op: number, w: A64Waypoint, opts: A64ClassifyOptions = DEFAULT_A64_OPTIONS): number {
  op >>>= 0;
  const top = op >>> 24;
  // B, BL: x00101 imm26.
  if ((op & 0x7c000000) === 0x14000000) {
    const link = (op & 0x80000000) !== 0;
    return set(w, WpType.BR, link ? WpSub.LINK : WpSub.NONE, ((op << 6) >> 6) * 4, false, link);
  }
  // B.cond (bit4 = 0) and BC.cond (FEAT_HBC, bit4 = 1): 01010100 imm19 x cond.
  if (top === 0x54) return set(w, WpType.BR, WpSub.NONE, ((op << 8) >> 13) * 4, true, false);
  // CBZ/CBNZ (x011010x) and TBZ/TBNZ (x011011x).
  if ((op & 0x7e000000) === 0x34000000) return set(w, WpType.BR, WpSub.NONE, ((op << 8) >> 13) * 4, true, false);
  if ((op & 0x7e000000) === 0x36000000) return set(w, WpType.BR, WpSub.NONE, ((op << 13) >> 18) * 4, true, false);
  // FEAT_CMPBR: CB<cc> register (x1110100, bits[15:14] = 00), CBB<cc> (10), CBH<cc> (11);
  // CB<cc> immediate (x1110101, bit14 = 0). imm9 at [13:5].
  if ((op & 0x7f000000) === 0x74000000 && (op & 0xc000) !== 0x4000) return set(w, WpType.BR, WpSub.NONE, ((op << 18) >> 23) * 4, true, false);
  if ((op & 0x7f004000) === 0x75000000) return set(w, WpType.BR, WpSub.NONE, ((op << 18) >> 23) * 4, true, false);
  // RETAASPPC / RETABSPPC <label> (FEAT_PAuth_LR): 0101010100 M imm16 11111.
  if (((op & 0xffc0001f) >>> 0) === 0x5500001f) return set(w, WpType.BR_INDIRECT, WpSub.RET, 0, false, false);
  if (top === 0xd6 || top === 0xd7) return classifyBranchReg(op, w);
  if (top === 0xd5) {
    // ISB: 1101010100 0 00 011 0011 CRm 110 11111.
    if (((op & 0xfffff0ff) >>> 0) === 0xd50330df) return set(w, WpType.ISB, WpSub.NONE, 0, false, false);
    if (opts.wfxWaypoints && (op === 0xd503207f || op === 0xd503205f || ((op & 0xffffffc0) >>> 0) === 0xd5031000)) {
      return set(w, WpType.WFI_WFE, WpSub.NONE, 0, false, false);
    }
    // TSTART Xt (FEAT_TME): 1101010100 1 00 011 0011 0000 011 Rt.
    if (opts.tstartWaypoint && ((op & 0xffffffe0) >>> 0) === 0xd5233060) return set(w, WpType.TSTART, WpSub.NONE, 0, false, false);
  }
  return set(w, WpType.OTHER, WpSub.NONE, 0, false, false);
}

/** The "unconditional branch (register)" class: 1101011 opc op2 op3 Rn op4. */
function classifyBranchReg(op: number, w: A64Waypoint): number {
  const opc = (op >>> 21) & 0xf;
  if (((op >>> 16) & 0x1f) !== 0x1f) return set(w, WpType.OTHER, WpSub.NONE, 0, false, false);
  const op3 = (op >>> 10) & 0x3f;
  const rn = (op >>> 5) & 0x1f;
  const op4 = op & 0x1f;
  const pac = op3 === 2 || op3 === 3; // ...AA (M=0) / ...AB (M=1)
  switch (opc) {
    case 0: // BR / BRAAZ, BRABZ
    case 1: // BLR / BLRAAZ, BLRABZ
      if ((op3 === 0 && op4 === 0) || (pac && op4 === 0x1f)) {
        return set(w, WpType.BR_INDIRECT, opc === 1 ? WpSub.LINK : WpSub.NONE, 0, false, opc === 1);
      }
      break;
    case 2: // RET / RETAA, RETAB / RETAASPPCR, RETABSPPCR (FEAT_PAuth_LR, op3 = 00001M, Rn = 11111, Rm in op4)
      if ((op3 === 0 && op4 === 0) || (pac && rn === 0x1f)) return set(w, WpType.BR_INDIRECT, WpSub.RET, 0, false, false);
      break;
    case 4: // ERET / ERETAA, ERETAB
      if (rn === 0x1f && ((op3 === 0 && op4 === 0) || (pac && op4 === 0x1f))) return set(w, WpType.BR_INDIRECT, WpSub.ERET, 0, false, false);
      break;
    case 8: // BRAA, BRAB (Rm in op4)
    case 9: // BLRAA, BLRAB
      if (pac) return set(w, WpType.BR_INDIRECT, opc === 9 ? WpSub.LINK : WpSub.NONE, 0, false, opc === 9);
      break;
  }
  return set(w, WpType.OTHER, WpSub.NONE, 0, false, false);
}
