// The decoder's call stack for compressed returns: 64 entries like libipt's pt_retstack; a push
// onto a full stack overwrites the oldest entry, a pop from an empty one fails.

const SIZE = 64;
const MASK = SIZE - 1;

export class FlowReturnStack {
  private readonly entries = new Float64Array(SIZE);
  private top = 0;
  private size = 0;

  get depth(): number {
    return this.size;
  }

  push(addr: number): void {
    this.entries[this.top] = addr;
    this.top = (this.top + 1) & MASK;
    if (this.size < SIZE) this.size++;
  }

  /** The most recent return address, or NaN when the stack is empty. */
  pop(): number {
    if (this.size === 0) return Number.NaN;
    this.top = (this.top - 1) & MASK;
    this.size--;
    return this.entries[this.top]!;
  }

  clear(): void {
    this.size = 0;
    this.top = 0;
  }
}
