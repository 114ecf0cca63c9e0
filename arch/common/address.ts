// Addresses are JavaScript numbers holding the canonical, sign-extended 64-bit value.
// Canonical x86-64 (48/57-bit) and AArch64 (up to 52-bit) addresses are exact in a double,
// so no BigInt is needed on hot paths. Kernel addresses are negative numbers.

import { HwtraceError } from './errors.js';

export type Addr = number;

const TWO32 = 4294967296;

/** Widest virtual address we accept: 57 bits (x86-64 LA57); AArch64 uses up to 52. */
export const MAX_VA_BITS = 57;

/** Builds an address from its high and low 32-bit halves (both unsigned); NaN if not canonical. */
export function addrFromParts(hi: number, lo: number, vaBits: number = MAX_VA_BITS): Addr {
  const shi = hi | 0;
  // The bits at and above vaBits-1 must all equal the sign: shift them down and compare.
  const top = shi >> (vaBits - 1 - 32);
  if (top !== 0 && top !== -1) return Number.NaN;
  return shi * TWO32 + (lo >>> 0);
}

/** High 32 bits (unsigned) of an address. */
export function addrHi(a: Addr): number {
  return Math.floor(a / TWO32) >>> 0;
}

/** Low 32 bits (unsigned) of an address. */
export function addrLo(a: Addr): number {
  return a >>> 0;
}

/** True when `a` is an integer that is canonical for `vaBits`-bit virtual addresses. */
export function isCanonical(a: Addr, vaBits: number = MAX_VA_BITS): boolean {
  if (!Number.isInteger(a)) return false;
  const limit = 2 ** (vaBits - 1);
  return a >= -limit && a < limit;
}

/** Throws a clear error unless `a` is canonical; returns it unchanged. */
export function checkCanonical(a: Addr, vaBits: number = MAX_VA_BITS, what = 'address'): Addr {
  if (!isCanonical(a, vaBits)) {
    throw new HwtraceError('non_canonical', `${what} ${String(a)} is not a canonical ${vaBits}-bit address`);
  }
  return a;
}

const HEX = '0123456789abcdef';

/** The 64-bit two's-complement image of `a`, as 16 lowercase hex digits (no prefix). */
export function formatAddr(a: Addr): string {
  return hex32(addrHi(a)) + hex32(addrLo(a));
}

/** `0x`-prefixed, zero-padded hex, as the reference tools print addresses. */
export function formatAddr0x(a: Addr): string {
  return '0x' + formatAddr(a);
}

function hex32(v: number): string {
  let s = '';
  for (let shift = 28; shift >= 0; shift -= 4) s += HEX[(v >>> shift) & 15];
  return s;
}

/**
 * Parses a 64-bit address written in hex (`0x` optional) or decimal, and returns its canonical
 * value. A value that is not canonical for `vaBits` is an error naming it, never a truncation.
 */
export function parseAddr(text: string, vaBits: number = MAX_VA_BITS): Addr {
  const t = text.trim().toLowerCase();
  let big: bigint;
  if (/^0x[0-9a-f]{1,16}$/.test(t)) big = BigInt(t);
  else if (/^[0-9a-f]{1,16}$/.test(t) && /[a-f]/.test(t)) big = BigInt('0x' + t);
  else if (/^[0-9]{1,20}$/.test(t)) big = BigInt(t);
  else throw new HwtraceError('bad_address', `'${text}' is not a 64-bit address (hex like 0xffffffff81000000, or decimal)`);
  if (big > 0xffffffffffffffffn) throw new HwtraceError('bad_address', `'${text}' does not fit in 64 bits`);
  const a = addrFromParts(Number(big >> 32n), Number(big & 0xffffffffn), vaBits);
  if (Number.isNaN(a)) {
    throw new HwtraceError('non_canonical', `'${text}' is not a canonical ${vaBits}-bit address`);
  }
  return a;
}

/** Sign-extends the low `bits` bits of a non-negative integer value (bits ≤ 53). */
export function signExtend(value: number, bits: number): Addr {
  const half = 2 ** (bits - 1);
  const v = value % (half * 2);
  return v >= half ? v - half * 2 : v;
}
