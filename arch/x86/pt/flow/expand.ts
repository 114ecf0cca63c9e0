// Expanding a run reported by the flow decoder into its instruction addresses, from the block
// cache's lengths (the code was classified when the run was decoded). For ptxed-style printing.

import type { PtImage } from './image.js';

/** Calls `fn` with the address of each of the `count` instructions of the run at `start`. */
export function forEachInstruction(image: PtImage, section: number, bitness: 16 | 32 | 64, start: number, count: number, fn: (ip: number) => void): void {
  const s = image.sections[section]!;
  const len = image.cache(section, bitness).length;
  let off = start - s.start;
  for (let k = 0; k < count; k++) {
    fn(s.start + off);
    off += len[off]!;
  }
}
