// The trace unit's address history: the last three addresses broadcast, most recent first.
// Every address packet (short, long, with context, exact match, source address, Q with an
// address) pushes its result; an exact-match packet re-broadcasts entry 0..2 and pushes it
// again. Trace Info clears all entries to zero. Values are kept as two unsigned 32-bit halves
// so that any 64-bit bit pattern is held exactly. Each entry also keeps how many low bits are
// known, the address size (32/64) and how many bits its packet carried: an exact match restores
// all of it (OpenCSD prints addresses from these).
//
// A ring of three slots: a push moves the head, it does not shift entries. The low half is kept
// as an int32 bit pattern (no floating-point boxing on the hot path); meta packs the rest.

/** Packs an entry's known-bit count, address size and packet bit count into one number. */
export function packMeta(valid: number, size: number, pktBits: number): number {
  return valid | (size === 64 ? 0x80 : 0) | (pktBits << 8);
}

export const metaValid = (m: number): number => m & 0x7f;
export const metaSize = (m: number): number => (m & 0x80 ? 64 : 32);
export const metaPktBits = (m: number): number => m >>> 8;

/** After a reset: zero, fully known, 64-bit, no packet. */
const DEFAULT_META = 64 | 0x80;

export class AddressHistory {
  /** Storage by slot; use slot(i) to find the i-th most recent entry. High half, unsigned. */
  readonly hi = new Uint32Array(3);
  /** Low half as an int32 bit pattern (`>>> 0` for the unsigned value). */
  readonly lo = new Int32Array(3);
  /** Instruction set: 0 = IS0, 1 = IS1. */
  readonly is = new Uint8Array(3);
  /** packMeta(known low bits 0..64, size 32/64, bits the packet carried 0..64). */
  readonly meta = new Uint32Array(3).fill(DEFAULT_META);
  /** Slot of the most recent entry (the decoder's hot loop pushes inline through it). */
  head = 0;

  /** Storage slot of the i-th most recent entry (i = 0, 1, 2). */
  slot(i: number): number {
    const s = this.head + i;
    return s >= 3 ? s - 3 : s;
  }

  push(hi: number, lo: number, is: number, meta: number): void {
    const h = this.head === 0 ? 2 : this.head - 1;
    this.head = h;
    this.hi[h] = hi;
    this.lo[h] = lo;
    this.is[h] = is;
    this.meta[h] = meta;
  }

  /** All entries zero, fully known, 64-bit. */
  clear(): void {
    this.hi.fill(0);
    this.lo.fill(0);
    this.is.fill(0);
    this.meta.fill(DEFAULT_META);
    this.head = 0;
  }
}
