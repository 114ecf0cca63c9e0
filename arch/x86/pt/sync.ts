// PSB (Packet Stream Boundary) search: the 16-byte pattern 02 82 repeated eight times is the
// only place a decoder can start. libipt's forward sync finds a run of 02 82 pairs and takes
// the PSB that ends the run; hwtrace does the same so both start (and resync) at the same byte.

export const PSB_PATTERN: Uint8Array = new Uint8Array([
  0x02, 0x82, 0x02, 0x82, 0x02, 0x82, 0x02, 0x82, 0x02, 0x82, 0x02, 0x82, 0x02, 0x82, 0x02, 0x82,
]);

/** Bytes needed at a candidate to decide: the PSB and the pair after it. */
export const PSB_RUN_CHECK = 18;

/** True when a whole PSB starts at `s` (within `end`). */
export function isPsbAt(buf: Uint8Array, s: number, end: number): boolean {
  if (s + 16 > end) return false;
  for (let i = s; i < s + 16; i += 2) if (buf[i] !== 0x02 || buf[i + 1] !== 0x82) return false;
  return true;
}

/**
 * True when a PSB starts at `s` and is the last one of its run of 02 82 pairs, i.e. where
 * libipt's forward sync lands. Bytes at or past `end` count as not part of the run.
 */
export function isLastPsbOfRun(buf: Uint8Array, s: number, end: number): boolean {
  if (!isPsbAt(buf, s, end)) return false;
  return !(s + 17 < end && buf[s + 16] === 0x02 && buf[s + 17] === 0x82);
}

/** Offset of the first sync point at or after `from` in a whole buffer, or -1. */
export function findPsb(buf: Uint8Array, from = 0): number {
  for (let s = Math.max(0, from); s + 16 <= buf.length; s++) {
    if (buf[s] === 0x02 && isLastPsbOfRun(buf, s, buf.length)) return s;
  }
  return -1;
}
