// x86 instruction classification for flow decoding: length and what the instruction does to the
// control flow, in the classes an Intel PT decoder needs (libipt's iclass, split a little finer).
// iced-x86 does the decoding; a caller classifies a straight-line run of code at once (up to and
// including its first control-flow instruction) and keeps the result, so iced is called once per
// run of code, never per executed instruction. iced objects are created per call and freed.

import { Code, Decoder, DecoderError, DecoderOptions, Instruction, Mnemonic, Register } from 'iced-x86';

/** Instruction classes (values fit a Uint8Array). */
export const X86Class = {
  /** Not a control transfer: execution continues at the next instruction. */
  OTHER: 0,
  /** Jcc, LOOP/LOOPcc, JrCXZ: one TNT bit. */
  COND_JUMP: 1,
  /** Direct near JMP. */
  JUMP: 2,
  /** Indirect near JMP: a TIP. */
  IND_JUMP: 3,
  /** Direct near CALL. */
  CALL: 4,
  /** Indirect near CALL: a TIP. */
  IND_CALL: 5,
  /** Near RET: a TIP, or a taken TNT bit when compressed. */
  RETURN: 6,
  /** Far CALL (direct or indirect). */
  FAR_CALL: 7,
  /** Far JMP (direct or indirect). */
  FAR_JUMP: 8,
  /** RETF. */
  FAR_RETURN: 9,
  /** SYSCALL, SYSENTER. */
  SYSCALL: 10,
  /** SYSRET, SYSEXIT. */
  SYSRET: 11,
  /** INT n, INT1, INT3, INTO. */
  INT: 12,
  /** IRET/IRETD/IRETQ, UIRET. */
  IRET: 13,
  /** VMLAUNCH, VMRESUME (VM entry). */
  VM_ENTRY: 14,
  /** VMCALL, VMMCALL (VM exit). */
  VM_EXIT: 15,
  /** PTWRITE: not a branch, but it may send a PTW packet. */
  PTWRITE: 16,
  /** MOV to CR3: not a branch, but a PIP binds to it. */
  MOV_CR3: 17,
  /** Undecodable bytes. */
  INVALID: 18,
  /** The bytes end inside the instruction. */
  TRUNCATED: 19,
} as const;

export const X86_CLASS_NAMES = [
  'other', 'cond_jump', 'jump', 'ind_jump', 'call', 'ind_call', 'return', 'far_call', 'far_jump', 'far_return', 'syscall',
  'sysret', 'int', 'iret', 'vm_entry', 'vm_exit', 'ptwrite', 'mov_cr3', 'invalid', 'truncated',
] as const;

/** True for classes that change the flow in a way that needs trace (or a direct target). */
export function isFlowClass(c: number): boolean {
  return c !== X86Class.OTHER;
}

/** Far transfers: they take a TIP (or TIP.PGD), change CPL/CS, and bind an IP-less TIP.PGD. */
export function isFarClass(c: number): boolean {
  return c >= X86Class.FAR_CALL && c <= X86Class.VM_EXIT;
}

/** Where classifyRun writes: one slot per instruction. */
export interface X86RunOut {
  lengths: Uint8Array;
  classes: Uint8Array;
  /** Direct branch targets (NaN for the others). */
  targets: Float64Array;
}

const TWO64 = 18446744073709551616n;

function toBig(ip: number): bigint {
  return ip < 0 ? BigInt(ip) + TWO64 : BigInt(ip);
}

function fromBig(v: bigint, bitness: number): number {
  if (bitness === 64) return Number(BigInt.asIntN(64, v));
  return Number(BigInt.asUintN(bitness, v));
}

/** The class of one decoded instruction. */
function classOf(ins: Instruction): number {
  if (ins.isJccShortOrNear || ins.isLoop || ins.isLoopcc || ins.isJcxShort) return X86Class.COND_JUMP;
  if (ins.isJmpShortOrNear) return X86Class.JUMP;
  if (ins.isJmpNearIndirect) return X86Class.IND_JUMP;
  if (ins.isCallNear) return X86Class.CALL;
  if (ins.isCallNearIndirect) return X86Class.IND_CALL;
  if (ins.isCallFar || ins.isCallFarIndirect) return X86Class.FAR_CALL;
  if (ins.isJmpFar || ins.isJmpFarIndirect) return X86Class.FAR_JUMP;
  switch (ins.mnemonic) {
    case Mnemonic.Ret:
      return X86Class.RETURN;
    case Mnemonic.Retf:
      return X86Class.FAR_RETURN;
    case Mnemonic.Syscall:
    case Mnemonic.Sysenter:
      return X86Class.SYSCALL;
    case Mnemonic.Sysret:
    case Mnemonic.Sysretq:
    case Mnemonic.Sysexit:
    case Mnemonic.Sysexitq:
      return X86Class.SYSRET;
    case Mnemonic.Int:
    case Mnemonic.Int1:
    case Mnemonic.Int3:
    case Mnemonic.Into:
      return X86Class.INT;
    case Mnemonic.Iret:
    case Mnemonic.Iretd:
    case Mnemonic.Iretq:
    case Mnemonic.Uiret:
      return X86Class.IRET;
    case Mnemonic.Vmlaunch:
    case Mnemonic.Vmresume:
      return X86Class.VM_ENTRY;
    case Mnemonic.Vmcall:
    case Mnemonic.Vmmcall:
      return X86Class.VM_EXIT;
    case Mnemonic.Ptwrite:
      return X86Class.PTWRITE;
    default:
      break;
  }
  if ((ins.code === Code.Mov_cr_r64 || ins.code === Code.Mov_cr_r32) && ins.op0Register === Register.CR3) return X86Class.MOV_CR3;
  return X86Class.OTHER;
}

/**
 * Classifies the straight-line run of code in `bytes` (which hold the code at `ip`): from the
 * first instruction up to and including the first one whose class is not OTHER, at most `max`
 * instructions. Returns how many slots of `out` were written. The last slot is INVALID or
 * TRUNCATED (length 0) when the bytes do not decode.
 */
export function classifyRun(bytes: Uint8Array, ip: number, bitness: 16 | 32 | 64, max: number, out: X86RunOut): number {
  const decoder = new Decoder(bitness, bytes, DecoderOptions.None);
  const ins = new Instruction();
  try {
    decoder.ip = toBig(ip);
    let n = 0;
    while (n < max) {
      if (!decoder.canDecode) {
        out.lengths[n] = 0;
        out.classes[n] = X86Class.TRUNCATED;
        out.targets[n] = Number.NaN;
        return n + 1;
      }
      decoder.decodeOut(ins);
      if (ins.isInvalid) {
        out.lengths[n] = 0;
        out.classes[n] = decoder.lastError === DecoderError.NoMoreBytes ? X86Class.TRUNCATED : X86Class.INVALID;
        out.targets[n] = Number.NaN;
        return n + 1;
      }
      const c = classOf(ins);
      out.lengths[n] = ins.length;
      out.classes[n] = c;
      out.targets[n] = c === X86Class.COND_JUMP || c === X86Class.JUMP || c === X86Class.CALL ? fromBig(ins.nearBranch64, bitness) : Number.NaN;
      n++;
      if (c !== X86Class.OTHER) return n;
    }
    return n;
  } finally {
    ins.free();
    decoder.free();
  }
}

/** One instruction's class, length and direct target, for tools and tests. */
export function classifyOne(bytes: Uint8Array, ip: number, bitness: 16 | 32 | 64 = 64): { cls: number; name: string; length: number; target: number } {
  const out: X86RunOut = { lengths: new Uint8Array(1), classes: new Uint8Array(1), targets: new Float64Array(1) };
  classifyRun(bytes, ip, bitness, 1, out);
  const cls = out.classes[0]!;
  return { cls, name: X86_CLASS_NAMES[cls]!, length: out.lengths[0]!, target: out.targets[0]! };
}
