// Packs atoms into Atom packets F1–F6 as they come, the way a trace unit's atom buffer does:
// it holds atoms only while a longer packet could still take them (a run of E atoms for F6, a
// prefix of an F4/F5 pattern), emits each packet as soon as its atoms are fixed, and empties
// into the shortest packets when another packet must follow the atoms (flush).
// Bits: bit 0 = oldest atom, 1 = E (taken), 0 = N.

import type { ByteBuffer } from '../../common/stream.js';
import { atomHeader } from './encoder.js';

/** F4 and F5 patterns (bit 0 oldest): NEEE, NNNN, NENE, ENEN; NNNNN, NENEN, ENENE, NEEEE. */
const F4_PATTERNS = [0xe, 0x0, 0xa, 0x5];
const F5_PATTERNS = [0x00, 0x0a, 0x15, 0x1e];

/** prefixOf[n][bits]: 1 when the n oldest atoms `bits` start an F4 or F5 pattern (n = 1..4). */
const PREFIX: Uint8Array[] = [new Uint8Array(1)];
for (let n = 1; n <= 4; n++) {
  const t = new Uint8Array(1 << n);
  const mask = (1 << n) - 1;
  for (const p of F5_PATTERNS) t[p & mask] = 1;
  if (n < 4) for (const p of F4_PATTERNS) t[p & mask] = 1;
  PREFIX.push(t);
}
const IS_F4 = new Uint8Array(16);
for (const p of F4_PATTERNS) IS_F4[p] = 1;
const IS_F5 = new Uint8Array(32);
for (const p of F5_PATTERNS) IS_F5[p] = 1;

/** HEADER[n * 32 + bits]: the header byte for n = 1..5 atoms `bits`, -1 when none encodes them. */
const HEADER = new Int16Array(6 * 32).fill(-1);
for (let n = 1; n <= 5; n++) for (let b = 0; b < 1 << n; b++) HEADER[n * 32 + b] = atomHeader(b, n);

export class AtomPacker {
  /** Pending atoms, bit 0 oldest (at most 24). */
  bits = 0;
  count = 0;
  /** Atom packets written. */
  packets = 0;

  constructor(private readonly out: ByteBuffer) {}

  /** Adds one atom (1 = E, 0 = N) and writes every packet whose atoms are now fixed. */
  add(e: number): void {
    const n = this.count;
    // Fast path: one more E in a run of E atoms that an F6 can still take.
    if (e === 1 && n < 23 && this.bits === (1 << n) - 1) {
      this.bits |= 1 << n;
      this.count = n + 1;
      return;
    }
    this.bits |= e << n;
    this.count = n + 1;
    this.pack(false);
  }

  /** Writes all pending atoms (before a packet that must follow them). */
  flush(): void {
    if (this.count > 0) this.pack(true);
  }

  private emit(header: number, n: number): void {
    this.out.push(header);
    this.packets++;
    this.bits >>>= n;
    this.count -= n;
  }

  private pack(all: boolean): void {
    for (;;) {
      const n = this.count;
      if (n === 0) return;
      const b = this.bits;
      // Leading E atoms (trailing ones of the bit pattern).
      const es = Math.min(n, 31 - Math.clz32(~b & (b + 1)));
      if (es === n) {
        // All E: F6 takes up to 24; wait for more unless flushing.
        if (n < 24 && !all) return;
        this.emit(n >= 4 ? 0xc0 | (n - 4) /* F6, final E */ : HEADER[n * 32 + (1 << n) - 1]!, n);
        return;
      }
      if (es >= 3) {
        // E^es then N: one F6, whatever follows.
        this.emit(0xe0 | (es - 3) /* F6, final N */, es + 1);
        continue;
      }
      // An N among the first three atoms: F5, F4, else F3 (or F2/F1 when flushing).
      if (n < 5 && !all && PREFIX[n]![b & ((1 << n) - 1)]) return;
      if (n >= 5 && IS_F5[b & 0x1f]) {
        this.emit(HEADER[5 * 32 + (b & 0x1f)]!, 5);
        continue;
      }
      if (n >= 4 && IS_F4[b & 0xf]) {
        this.emit(HEADER[4 * 32 + (b & 0xf)]!, 4);
        continue;
      }
      if (n >= 3) {
        this.emit(HEADER[3 * 32 + (b & 7)]!, 3);
        continue;
      }
      if (!all) return;
      this.emit(HEADER[n * 32 + (b & ((1 << n) - 1))]!, n);
    }
  }
}
