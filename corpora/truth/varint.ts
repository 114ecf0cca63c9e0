// Unsigned LEB128 varints for non-negative safe integers (up to 2^53 - 1), and zigzag for signed
// ones, written into and read from plain Uint8Arrays. Values up to 2^31 take the bit-operation
// path; larger ones (cycle counts, trace offsets) use arithmetic so nothing is truncated.

import { HwtraceError } from '../../arch/common/errors.js';

/** Most bytes one varint can take (ceil(53 / 7)). */
export const MAX_VARINT_BYTES = 8;

/** Writes `v` (a non-negative safe integer) at `pos`; returns the position after it. */
export function putVarint(buf: Uint8Array, pos: number, v: number): number {
  if (v < 0x80000000) {
    while (v >= 0x80) {
      buf[pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[pos++] = v;
    return pos;
  }
  while (v >= 0x80) {
    buf[pos++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[pos++] = v;
  return pos;
}

/** Zigzag of a signed safe integer with |v| < 2^52: 0, -1, 1, -2 … → 0, 1, 2, 3 … */
export function zigzag(v: number): number {
  return v >= 0 ? v * 2 : -v * 2 - 1;
}

export function unzigzag(z: number): number {
  return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
}

/** Reads varints from a whole buffer (block and segment tables), with errors naming the member. */
export class VarintReader {
  pos = 0;
  constructor(readonly buf: Uint8Array, readonly what: string) {}

  get atEnd(): boolean {
    return this.pos >= this.buf.length;
  }

  fail(message: string): never {
    throw new HwtraceError('bad_truth', `${this.what}: ${message} at byte ${this.pos}`);
  }

  varint(): number {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      if (this.pos >= this.buf.length) this.fail('truncated varint');
      const b = this.buf[this.pos++]!;
      v += (b & 0x7f) * mul;
      if (b < 0x80) {
        if (!Number.isSafeInteger(v)) this.fail('varint exceeds 2^53');
        return v;
      }
      mul *= 128;
    }
    this.fail('varint longer than 8 bytes');
  }

  bytes(n: number): Uint8Array {
    if (this.pos + n > this.buf.length) this.fail(`truncated: ${n} bytes wanted`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Checks and consumes an ASCII magic string. */
  magic(text: string): void {
    const got = this.bytes(text.length);
    for (let i = 0; i < text.length; i++) {
      if (got[i] !== text.charCodeAt(i)) this.fail(`not a ${text} table (bad magic)`);
    }
  }
}
