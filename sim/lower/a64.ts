// A64 backend for lowering: fixed 32-bit instructions from our own encoder (arch/arm/isa-a64).
// Conditional branches mix B.cond, CBZ/CBNZ and TBZ/TBNZ as compilers do; a TBZ whose target is
// beyond its ±32 KiB reach becomes a B.cond.

import type { Addr } from '../../arch/common/address.js';
import { HwtraceError } from '../../arch/common/errors.js';
import {
  BRANCH_REACH, LogicOp, MoveWide, SysRegs, encodeAddSubImm, encodeAddSubReg, encodeB, encodeBCond, encodeBL,
  encodeBLR, encodeBR, encodeCBZ, encodeCsel, encodeERET, encodeHVC, encodeLdrStrImm, encodeLogicalReg, encodeLslImm,
  encodeMSR, encodeMadd, encodeMoveWide, encodeMovReg, encodeNOP, encodePair, encodeRET, encodeSVC, encodeTBZ, inReach,
  writeInsn, XZR, SP,
} from '../../arch/arm/isa-a64/index.js';
import type { Rng } from '../rng.js';
import { type Block, Term } from '../program/model.js';
import type { IsaBackend, TermPlan } from './lower.js';

/** Conditional-branch forms (TermPlan.variant for COND blocks). */
export const A64Cond = { BCOND: 0, CBZ: 1, CBNZ: 2, TBZ: 3, TBNZ: 4 } as const;
const COND_FORM_WEIGHTS = [60, 12, 12, 8, 8];

const INSN = 4;

export class A64Backend implements IsaBackend {
  readonly isa = 'a64' as const;
  readonly functionAlign = 16;

  fill(out: Uint8Array, from: number, to: number): void {
    out.fill(0, from, to); // UDF #0: never executed
  }

  bodyLengths(count: number): Uint8Array {
    return new Uint8Array(count).fill(INSN);
  }

  planTerm(b: Block, rng: Rng): TermPlan {
    const plan: TermPlan = { variant: 0, reg: rng.below(29), extra: 0, short: false, len: INSN };
    if (b.term === Term.COND) {
      plan.variant = rng.weighted(COND_FORM_WEIGHTS);
      plan.extra = plan.variant === A64Cond.BCOND ? rng.below(14) : rng.below(64);
    }
    return plan;
  }

  termLength(): number {
    return INSN;
  }

  fitTerm(b: Block, plan: TermPlan, at: Addr, target: Addr): boolean {
    if (b.term === Term.COND) {
      if ((plan.variant === A64Cond.TBZ || plan.variant === A64Cond.TBNZ) && !inReach(at, target, BRANCH_REACH.imm14)) {
        plan.variant = A64Cond.BCOND;
        plan.extra = plan.extra % 14;
        return false;
      }
      if (!inReach(at, target, BRANCH_REACH.imm19)) throw new HwtraceError('lowering', `A64 conditional branch at ${at} cannot reach ${target} (±1 MiB)`);
      return true;
    }
    if (!inReach(at, target, BRANCH_REACH.imm26)) throw new HwtraceError('lowering', `A64 branch at ${at} cannot reach ${target} (±128 MiB)`);
    return true;
  }

  emitBody(out: Uint8Array, off: number, _at: Addr, lengths: Uint8Array, b: Block, rng: Rng): void {
    const n = lengths.length;
    for (let i = 0; i < n; i++) {
      // A context switch writes the translation table base just before CONTEXTIDR, as Linux's switch_mm does.
      const word = b.term === Term.CTX_SWITCH && i === n - 1 ? encodeMSR(SysRegs.TTBR0_EL1, rng.below(29)) : bodyInsn(rng);
      writeInsn(out, off + i * INSN, word);
    }
  }

  emitTerm(out: Uint8Array, off: number, at: Addr, b: Block, plan: TermPlan, target: Addr): void {
    let word: number;
    switch (b.term) {
      case Term.COND:
        switch (plan.variant) {
          case A64Cond.BCOND: word = encodeBCond(plan.extra, at, target); break;
          case A64Cond.CBZ: word = encodeCBZ(plan.extra >= 32, false, plan.reg, at, target); break;
          case A64Cond.CBNZ: word = encodeCBZ(plan.extra >= 32, true, plan.reg, at, target); break;
          case A64Cond.TBZ: word = encodeTBZ(false, plan.reg, plan.extra, at, target); break;
          default: word = encodeTBZ(true, plan.reg, plan.extra, at, target); break;
        }
        break;
      case Term.JUMP: word = encodeB(at, target); break;
      case Term.CALL: word = encodeBL(at, target); break;
      case Term.IND_JUMP: word = encodeBR(plan.reg); break;
      case Term.IND_CALL: word = encodeBLR(plan.reg); break;
      case Term.RET: word = encodeRET(); break;
      case Term.SYSCALL: word = encodeSVC(0); break;
      case Term.SYSRET:
      case Term.IRET: word = encodeERET(); break;
      case Term.CTX_SWITCH: word = encodeMSR(SysRegs.CONTEXTIDR_EL1, plan.reg); break;
      case Term.HYPERCALL: word = encodeHVC(0); break;
      default: throw new HwtraceError('lowering', `A64: terminator ${b.term} has no instruction`);
    }
    writeInsn(out, off, word);
  }
}

/** One random ordinary instruction: data processing, loads/stores, moves (no branches, no ISB). */
function bodyInsn(rng: Rng): number {
  const r = (): number => rng.below(29); // x0..x28: leave FP, LR and SP alone
  const sf = rng.chance(0.75);
  switch (rng.weighted([14, 10, 12, 8, 6, 6, 12, 8, 4, 4, 5, 3, 2, 2, 1, 2])) {
    case 0: return encodeAddSubImm(sf, false, false, r(), r(), rng.below(4096));
    case 1: return encodeAddSubImm(sf, true, false, r(), r(), rng.below(4096), rng.chance(0.1));
    case 2: return encodeAddSubReg(sf, rng.chance(0.4), false, r(), r(), r(), rng.below(3), rng.below(sf ? 64 : 32) & 7);
    case 3: return encodeLogicalReg(sf, rng.pick([LogicOp.AND, LogicOp.ORR, LogicOp.EOR]), r(), r(), r(), rng.below(4), rng.below(8));
    case 4: return encodeMovReg(sf, r(), r());
    case 5: return encodeMoveWide(sf, rng.pick([MoveWide.MOVZ, MoveWide.MOVK, MoveWide.MOVN]), r(), rng.below(65536), rng.below(sf ? 4 : 2));
    case 6: return encodeLdrStrImm(true, 3, r(), rng.chance(0.3) ? SP : r(), rng.below(512) * 8);
    case 7: return encodeLdrStrImm(false, 3, r(), rng.chance(0.3) ? SP : r(), rng.below(512) * 8);
    case 8: return encodeLdrStrImm(rng.chance(0.5), 2, r(), r(), rng.below(1024) * 4);
    case 9: return encodeLdrStrImm(rng.chance(0.5), 0, r(), r(), rng.below(4096));
    case 10: return encodeAddSubReg(sf, true, true, XZR, r(), r()); // CMP
    case 11: return encodeAddSubImm(sf, true, true, XZR, r(), rng.below(256)); // CMP #imm
    case 12: return encodeMadd(sf, r(), r(), r(), rng.chance(0.5) ? XZR : r());
    case 13: return encodeCsel(sf, r(), r(), r(), rng.below(14));
    case 14: return encodeNOP();
    default: return rng.chance(0.5) ? encodeLslImm(sf, r(), r(), 1 + rng.below(sf ? 63 : 31)) : encodePair(rng.chance(0.5), rng.pick(['pre', 'post', 'offset'] as const), r(), r(), SP, (rng.below(16) - 8) * 8);
  }
}
