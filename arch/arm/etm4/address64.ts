// ETMv4/ETE addresses are 64-bit values, and real trace carries ones a double cannot hold: an
// Instruction Abort on a branch to a tagged (non-canonical) address reports it as the preferred
// return address (ete_mem: 0x6300000080000438). The flow decoder keeps every address as two
// numbers, both exact:
//
//   body = bits[52:0], sign-extended from bit 52: the value walks, compares and memory lookups use.
//          For every valid AArch64 VA (at most 52 bits plus bit 55 as the sign, bits[55:52] equal)
//          it is the address with the top byte stripped (TBI), as a canonical number.
//   top  = bits[63:53] XOR the sign of the body: 0 for every canonical address, so the hot paths
//          carry a small integer that is almost always zero.
//
// Only printing joins them back into the 64-bit pattern OpenCSD prints.

const TWO32 = 4294967296;

/** The body of the 64-bit address hi:lo (hi, lo: unsigned 32-bit halves). */
export function addrBody(hi: number, lo: number): number {
  return ((hi << 11) >> 11) * TWO32 + (lo >>> 0);
}

/** The top of the 64-bit address with high half `hi` (see the file comment). */
export function addrTop(hi: number): number {
  return ((hi >>> 21) ^ ((hi >>> 20) & 1 ? 0x7ff : 0)) & 0x7ff;
}

/** High 32 bits (unsigned) of the 64-bit address (body, top). */
export function addrHigh(body: number, top: number): number {
  return ((Math.floor(body / TWO32) ^ (top << 21)) >>> 0);
}

/** The address as OpenCSD prints it in elements: `0x` and lowercase hex without leading zeros. */
export function formatAddr64(body: number, top: number): string {
  const hi = addrHigh(body, top);
  const lo = body >>> 0;
  return hi === 0 ? '0x' + lo.toString(16) : '0x' + hi.toString(16) + lo.toString(16).padStart(8, '0');
}
