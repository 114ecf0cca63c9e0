// x86 instruction classification for flow decoding: length and what the instruction does to the
// control flow, in the classes an Intel PT decoder needs (libipt's iclass, split a little finer).
// The lengths and classes are libipt's (./ild.ts): a flow decoder that must equal libipt follows
// the same instructions through corrupted code and data, and reports bad_insn where libipt does.
// A caller classifies a straight-line run of code at once (up to and including its first
// control-flow instruction) and keeps the result, so code is classified once, not per execution.
//
// iced-x86 used to classify here. Where it decodes an instruction it agrees with libipt on length
// and class except for VMMCALL (libipt: not a branch); where it does not (06, 9a, ea, ce in 64-bit
// mode, UD0/UD1, XOP, lock-prefixed branches, undefined opcodes …) libipt gives lengths and
// classes of its own. test/arch/x86/isa/ild-iced.test.ts keeps that comparison. iced still encodes
// (./encode.ts) and disassembles (the ptxed listing).

import { X86Class, X86_CLASS_NAMES } from './classes.js';
import { X86Ild } from './ild.js';

export { X86Class, X86_CLASS_NAMES, isFarClass, isFlowClass } from './classes.js';

/** Where classifyRun writes: one slot per instruction. */
export interface X86RunOut {
  lengths: Uint8Array;
  classes: Uint8Array;
  /** Direct branch targets, IP + length + displacement as libipt adds them (no wrap in 16/32-bit mode); NaN for the others. */
  targets: Float64Array;
}

/** libipt's length decoder, shared by every run (it keeps nothing between calls). */
const ild = new X86Ild();

/**
 * Classifies the straight-line run of code in `bytes` (which hold the code at `ip`): from the
 * first instruction up to and including the first one whose class is not OTHER, at most `max`
 * instructions. Returns how many slots of `out` were written. The last slot is INVALID (libipt's
 * bad_insn) or TRUNCATED (the bytes end inside the instruction, before 15 bytes) with length 0
 * when the bytes do not decode.
 */
export function classifyRun(bytes: Uint8Array, ip: number, bitness: 16 | 32 | 64, max: number, out: X86RunOut): number {
  let off = 0;
  let n = 0;
  while (n < max) {
    const cls = ild.decode(bytes, off, bitness);
    if (cls === X86Class.INVALID || cls === X86Class.TRUNCATED) {
      out.lengths[n] = 0;
      out.classes[n] = cls;
      out.targets[n] = Number.NaN;
      return n + 1;
    }
    const len = ild.length;
    out.lengths[n] = len;
    out.classes[n] = cls;
    out.targets[n] = cls === X86Class.COND_JUMP || cls === X86Class.JUMP || cls === X86Class.CALL ? ip + off + len + ild.displacement : Number.NaN;
    off += len;
    n++;
    if (cls !== X86Class.OTHER) return n;
  }
  return n;
}

/** One instruction's class, length and direct target, for tools and tests. */
export function classifyOne(bytes: Uint8Array, ip: number, bitness: 16 | 32 | 64 = 64): { cls: number; name: string; length: number; target: number } {
  const out: X86RunOut = { lengths: new Uint8Array(1), classes: new Uint8Array(1), targets: new Float64Array(1) };
  classifyRun(bytes, ip, bitness, 1, out);
  const cls = out.classes[0]!;
  return { cls, name: X86_CLASS_NAMES[cls]!, length: out.lengths[0]!, target: out.targets[0]! };
}
