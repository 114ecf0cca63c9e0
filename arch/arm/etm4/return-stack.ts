// The trace unit's return stack (TRCCONFIGR.RS), kept exactly as the decoder keeps its own so
// that both always agree: a taken branch with link pushes its return address; a taken indirect
// branch whose target is on top of the stack pops it and is traced with no address. 16 entries;
// a push onto a full stack drops the oldest (OpenCSD's TrcAddrReturnStack behaves the same).
// Trace Info empties it on both sides.

export const RETURN_STACK_DEPTH = 16;

export class EtmReturnStack {
  private readonly addr = new Float64Array(RETURN_STACK_DEPTH);
  private head = 0;
  private entries = 0;

  push(a: number): void {
    this.head = (this.head + 1) & (RETURN_STACK_DEPTH - 1);
    this.addr[this.head] = a;
    if (this.entries < RETURN_STACK_DEPTH) this.entries++;
  }

  /** True when the stack is not empty and `a` is on top. */
  matchesTop(a: number): boolean {
    return this.entries > 0 && this.addr[this.head] === a;
  }

  pop(): void {
    if (this.entries === 0) return;
    this.head = (this.head - 1) & (RETURN_STACK_DEPTH - 1);
    this.entries--;
  }

  flush(): void {
    this.entries = 0;
  }

  get size(): number {
    return this.entries;
  }
}
