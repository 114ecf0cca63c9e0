// x86-64 backend for lowering: body instructions from a pool of iced-x86 encodings with a
// realistic length mix, branches encoded by iced-x86 with real displacements (rel8 when the
// target is near, rel32 otherwise).

import type { Addr } from '../../arch/common/address.js';
import { HwtraceError } from '../../arch/common/errors.js';
import {
  BRANCH_LENGTH, type BodyPool, GPR64, IndirectForm, buildBodyPool, encodeCall, encodeIndirectCall, encodeIndirectJump,
  encodeIret, encodeJcc, encodeJmp, encodeMovToCr3, encodeRet, encodeSyscall, encodeSysret, encodeVmcall, fitsRel8,
} from '../../arch/x86/isa/index.js';
import type { Rng } from '../rng.js';
import { type Block, Term } from '../program/model.js';
import type { IsaBackend, TermPlan } from './lower.js';

/**
 * Share of body instructions by byte length (index = length 1..15), shaped like compiled
 * x86-64 code: mostly 2–5 bytes, mean about 4.3, a thin tail up to the 15-byte maximum.
 */
export const X86_LENGTH_WEIGHTS: readonly number[] = [0, 7, 14, 20, 16, 12, 6, 10, 6, 2.5, 2.5, 1.5, 1, 0.6, 0.3, 0.2];

const INT3 = 0xcc;
const TWO31 = 2 ** 31;

/** Where indirect-branch operands point (jump tables, function pointers): data next to the code. */
const DATA_OFFSET = 0x800000;

export class X86Backend implements IsaBackend {
  readonly isa = 'x86' as const;
  readonly functionAlign = 16;
  private readonly pool: BodyPool;

  /** `base` is where the program is laid out (jump tables are placed after its code). */
  constructor(private readonly base: Addr, rng: Rng) {
    this.pool = buildBodyPool(() => rng.nextU32());
  }

  fill(out: Uint8Array, from: number, to: number): void {
    out.fill(INT3, from, to);
  }

  bodyLengths(count: number, rng: Rng): Uint8Array {
    const out = new Uint8Array(count);
    for (let i = 0; i < count; i++) out[i] = rng.weighted(X86_LENGTH_WEIGHTS);
    return out;
  }

  planTerm(b: Block, rng: Rng): TermPlan {
    const plan: TermPlan = { variant: 0, reg: 0, extra: 0, short: false, len: 0 };
    switch (b.term) {
      case Term.COND:
        plan.variant = rng.below(16);
        plan.short = true;
        break;
      case Term.JUMP:
        plan.short = b.targetFn === undefined;
        break;
      case Term.IND_JUMP: {
        // Jump tables dominate; a register jump is what a computed goto or tail call looks like.
        const table = this.base + DATA_OFFSET + rng.below(0x10000) * 8;
        plan.variant = rng.chance(0.6) && table >= -TWO31 && table < TWO31 ? IndirectForm.TABLE : rng.chance(0.7) ? IndirectForm.REG : IndirectForm.RIP;
        plan.reg = rng.below(GPR64.length);
        plan.extra = table;
        plan.len = encodeIndirectJump(plan.variant, GPR64[plan.reg]!, table, this.base, this.base).length;
        break;
      }
      case Term.IND_CALL:
        plan.variant = rng.weighted([0.35, 0, 0.25, 0.4]); // REG, -, RIP (GOT/PLT style), OBJECT (vtable slot)
        plan.reg = rng.below(GPR64.length);
        plan.extra = rng.below(16) * 8;
        plan.len = encodeIndirectCall(plan.variant, GPR64[plan.reg]!, plan.extra, this.base, this.base).length;
        break;
      case Term.CTX_SWITCH:
        plan.reg = rng.below(8);
        plan.len = encodeMovToCr3(GPR64[plan.reg]!).length;
        break;
      case Term.CALL: plan.len = BRANCH_LENGTH.call; break;
      case Term.RET: plan.len = encodeRet().length; break;
      case Term.SYSCALL: plan.len = encodeSyscall().length; break;
      case Term.SYSRET: plan.len = encodeSysret().length; break;
      case Term.IRET: plan.len = encodeIret().length; break;
      case Term.HYPERCALL: plan.len = encodeVmcall().length; break;
      default: break;
    }
    return plan;
  }

  termLength(b: Block, plan: TermPlan): number {
    if (b.term === Term.COND) return plan.short ? BRANCH_LENGTH.jccShort : BRANCH_LENGTH.jccNear;
    if (b.term === Term.JUMP) return plan.short ? BRANCH_LENGTH.jmpShort : BRANCH_LENGTH.jmpNear;
    return plan.len;
  }

  fitTerm(b: Block, plan: TermPlan, at: Addr, target: Addr): boolean {
    const len = this.termLength(b, plan);
    if (plan.short && !fitsRel8(at, len, target)) {
      plan.short = false;
      return false;
    }
    const d = target - (at + len);
    if (d < -TWO31 || d >= TWO31) throw new HwtraceError('lowering', `x86 branch at ${at} cannot reach ${target} with rel32`);
    return true;
  }

  emitBody(out: Uint8Array, off: number, _at: Addr, lengths: Uint8Array, _b: Block, rng: Rng): void {
    let pos = off;
    for (const len of lengths) {
      const choices = this.pool.byLength[len]!;
      out.set(choices[rng.below(choices.length)]!, pos);
      pos += len;
    }
  }

  emitTerm(out: Uint8Array, off: number, at: Addr, b: Block, plan: TermPlan, target: Addr): void {
    let bytes: Uint8Array;
    switch (b.term) {
      case Term.COND: bytes = encodeJcc(plan.variant, plan.short, at, target); break;
      case Term.JUMP: bytes = encodeJmp(plan.short, at, target); break;
      case Term.CALL: bytes = encodeCall(at, target); break;
      case Term.IND_JUMP: bytes = encodeIndirectJump(plan.variant, GPR64[plan.reg]!, plan.extra, at, at + DATA_OFFSET); break;
      case Term.IND_CALL: bytes = encodeIndirectCall(plan.variant, GPR64[plan.reg]!, plan.extra, at, at + DATA_OFFSET + plan.extra); break;
      case Term.RET: bytes = encodeRet(); break;
      case Term.SYSCALL: bytes = encodeSyscall(); break;
      case Term.SYSRET: bytes = encodeSysret(); break;
      case Term.IRET: bytes = encodeIret(); break;
      case Term.CTX_SWITCH: bytes = encodeMovToCr3(GPR64[plan.reg]!); break;
      case Term.HYPERCALL: bytes = encodeVmcall(); break;
      default: throw new HwtraceError('lowering', `x86: terminator ${b.term} has no instruction`);
    }
    if (bytes.length !== this.termLength(b, plan)) {
      throw new HwtraceError('lowering', `x86: terminator ${b.term} at ${at} encoded in ${bytes.length} bytes, layout assumed ${this.termLength(b, plan)}`);
    }
    out.set(bytes, off);
  }
}
