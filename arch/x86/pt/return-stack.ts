// The call stack behind return compression (SDM "Indirect Transfer Compression for Returns"):
// a near RET may be sent as one taken TNT bit only when a decoder that keeps the same stack is
// sure to predict its target. The stack mirrors libipt's decoder-side one exactly (pt_retstack:
// 64 entries, a push onto a full stack drops the oldest, a pop happens only for a compressed
// return), so whatever this stack compresses, libipt's pops the same address.

/** Entries in the stack, as in libipt (`pt_retstack_size`). */
export const PT_RETURN_STACK_SIZE = 64;

const MASK = PT_RETURN_STACK_SIZE - 1;

export class PtReturnStack {
  private readonly entries = new Float64Array(PT_RETURN_STACK_SIZE);
  /** Slot of the next push. */
  private top = 0;
  private size = 0;

  /** Entries held (0…64). */
  get depth(): number {
    return this.size;
  }

  /** A CALL's return address. */
  push(returnAddress: number): void {
    this.entries[this.top] = returnAddress;
    this.top = (this.top + 1) & MASK;
    if (this.size < PT_RETURN_STACK_SIZE) this.size++;
  }

  /** Pops and returns true when `target` is on top (the RET can be compressed); else changes nothing. */
  popIf(target: number): boolean {
    if (this.size === 0) return false;
    const i = (this.top - 1) & MASK;
    if (this.entries[i] !== target) return false;
    this.top = i;
    this.size--;
    return true;
  }

  /** Forgets everything: at each PSB, where a decoder may start with an empty stack. */
  clear(): void {
    this.size = 0;
  }
}
