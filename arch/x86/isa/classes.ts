// The instruction classes a flow decoder needs: what each instruction does to the control flow
// (libipt's iclass, split a little finer). Shared by the iced-x86 classifier and the length decoder.

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
  /** IRET/IRETD/IRETQ, UIRET (libipt: 0f 01 ec with any prefixes). */
  IRET: 13,
  /** VMLAUNCH, VMRESUME (VM entry). */
  VM_ENTRY: 14,
  /** VMCALL (VM exit). VMMCALL is AMD's: OTHER, as libipt has it. */
  VM_EXIT: 15,
  /** PTWRITE: not a branch, but it may send a PTW packet. */
  PTWRITE: 16,
  /** MOV to CR3: not a branch, but a PIP binds to it. */
  MOV_CR3: 17,
  /** Undecodable bytes (libipt's bad_insn: more than 15 bytes, or a VEX map of 5 or more). */
  INVALID: 18,
  /** The bytes end inside the instruction (before 15 bytes): more may follow in the next section. */
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
