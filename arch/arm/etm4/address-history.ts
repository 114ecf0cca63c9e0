// The trace unit's address history: the last three addresses broadcast, most recent first.
// Every address packet (short, long, with context, exact match, source address, Q with an
// address) pushes its result; an exact-match packet re-broadcasts entry 0..2 and pushes it
// again. Trace Info clears all entries to zero. Values are kept as two unsigned 32-bit halves
// so that any 64-bit bit pattern is held exactly. Each entry also keeps how many low bits are
// known, the address size (32/64) and how many bits its packet carried: an exact match restores
// all of it (OpenCSD prints addresses from these).
//
// A ring of three slots: a push moves the head, it does not shift entries.

export class AddressHistory {
  /** Storage by slot; use slot(i) to find the i-th most recent entry. */
  readonly hi = new Uint32Array(3);
  readonly lo = new Uint32Array(3);
  /** Instruction set: 0 = IS0, 1 = IS1. */
  readonly is = new Uint8Array(3);
  /** Known low bits (0..64). */
  readonly valid = new Uint8Array(3).fill(64);
  /** Address size: 32 or 64. */
  readonly size = new Uint8Array(3).fill(64);
  /** Bits the packet that set the entry carried (0 after a reset). */
  readonly pktBits = new Uint8Array(3);
  /** Slot of the most recent entry (the decoder's hot loop pushes inline through it). */
  head = 0;

  /** Storage slot of the i-th most recent entry (i = 0, 1, 2). */
  slot(i: number): number {
    const s = this.head + i;
    return s >= 3 ? s - 3 : s;
  }

  push(hi: number, lo: number, is: number, valid: number, size: number, pktBits: number): void {
    const h = this.head === 0 ? 2 : this.head - 1;
    this.head = h;
    this.hi[h] = hi;
    this.lo[h] = lo;
    this.is[h] = is;
    this.valid[h] = valid;
    this.size[h] = size;
    this.pktBits[h] = pktBits;
  }

  /** All entries zero, fully known, 64-bit. */
  clear(): void {
    this.hi.fill(0);
    this.lo.fill(0);
    this.is.fill(0);
    this.valid.fill(64);
    this.size.fill(64);
    this.pktBits.fill(0);
    this.head = 0;
  }
}
