// Aligning a decoded instruction-address sequence with the truth's: walk both; equal addresses
// are reconstructed; at a difference look ahead in the truth for the decoded address followed by
// the same few addresses (the decoder skipped truth: missing), else count the decoded address as
// wrong. Greedy and linear; good for decoders that lose stretches and resync.

/** Truth addresses searched ahead for a resync point. */
const WINDOW = 4096;
/** Addresses that must agree after a resync point. */
const CONFIRM = 4;

export interface Alignment {
  /** Truth instructions matched in order by decoded ones. */
  reconstructed: number;
  /** Decoded instructions that match no truth instruction at their place. */
  wrong: number;
  /** Truth instructions the decoder did not produce. */
  missing: number;
  /** Index in the truth and in the decoded sequence of the first difference (-1: none). */
  firstTruth: number;
  firstDecoded: number;
}

function agree(truth: Float64Array, i: number, nt: number, dec: Float64Array, j: number, nd: number): boolean {
  for (let k = 0; k < CONFIRM; k++) {
    if (i + k >= nt || j + k >= nd) return true;
    if (truth[i + k] !== dec[j + k]) return false;
  }
  return true;
}

export function alignSequences(truth: Float64Array, nt: number, dec: Float64Array, nd: number): Alignment {
  let i = 0;
  let j = 0;
  let ok = 0;
  let wrong = 0;
  let missing = 0;
  let firstTruth = -1;
  let firstDecoded = -1;
  while (i < nt && j < nd) {
    if (truth[i] === dec[j]) {
      ok++;
      i++;
      j++;
      continue;
    }
    if (firstTruth < 0) {
      firstTruth = i;
      firstDecoded = j;
    }
    let found = -1;
    const end = Math.min(nt, i + WINDOW);
    for (let k = i + 1; k < end; k++) {
      if (truth[k] === dec[j] && agree(truth, k, nt, dec, j, nd)) {
        found = k;
        break;
      }
    }
    if (found >= 0) {
      missing += found - i;
      i = found;
    } else {
      wrong++;
      j++;
    }
  }
  if ((i < nt || j < nd) && firstTruth < 0) {
    firstTruth = i;
    firstDecoded = j;
  }
  missing += nt - i;
  wrong += nd - j;
  return { reconstructed: ok, wrong, missing, firstTruth, firstDecoded };
}
