// Aligning a decoded instruction-address sequence with the truth's, streaming: the truth is
// pulled, decoded addresses are pushed, and memory stays bounded by the look-ahead window.
// Walk both; equal addresses are reconstructed; at a difference look ahead in the truth for the
// decoded address followed by the same few addresses (the decoder skipped truth: missing), else
// count the decoded address as wrong. Greedy and linear; good for decoders that lose stretches
// and resync.

/** Truth addresses searched ahead for a resync point. */
export const ALIGN_WINDOW = 4096;
/** Addresses that must agree after a resync point. */
export const ALIGN_CONFIRM = 4;

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
  /** The tag pushed with the first differing decoded address (NaN: none, or the decoded side had ended). */
  firstTag: number;
  /** Truth and decoded instructions seen. */
  truth: number;
  decoded: number;
  /** Expected and decoded address at the first difference (NaN: that side had ended). */
  firstExpected: number;
  firstGot: number;
}

const RING = 8192; // ≥ ALIGN_WINDOW + ALIGN_CONFIRM, a power of two
const MASK = RING - 1;

export class StreamAligner {
  // Truth look-ahead: absolute indexes [i, filled) are in `ring`.
  private readonly ring = new Float64Array(RING);
  private filled = 0;
  private truthEnded = false;
  private i = 0;
  // Decoded addresses not yet matched: absolute indexes [j, pushed), at most ALIGN_CONFIRM.
  private readonly dec = new Float64Array(ALIGN_CONFIRM);
  private readonly tags = new Float64Array(ALIGN_CONFIRM);
  private pushed = 0;
  private j = 0;
  private ok = 0;
  private wrong = 0;
  private missing = 0;
  private firstTruth = -1;
  private firstDecoded = -1;
  private firstTag = Number.NaN;
  private firstExpected = Number.NaN;
  private firstGot = Number.NaN;

  /** `nextTruth` returns the next truth address, NaN at the end. */
  constructor(private readonly nextTruth: () => number) {}

  /** The next decoded address; `tag` (e.g. the trace offset) is reported for the first difference. */
  push(addr: number, tag = Number.NaN): void {
    const k = this.pushed++ % ALIGN_CONFIRM;
    this.dec[k] = addr;
    this.tags[k] = tag;
    // A resync step keeps the decoded address, so it may take more than one step to make room.
    while (this.pushed - this.j === ALIGN_CONFIRM) {
      if (this.step()) continue;
      // The truth has ended: the rest of the decoded side is wrong.
      if (this.firstTruth < 0) this.markFirst();
      this.wrong++;
      this.j++;
    }
  }

  /** No more decoded addresses: drains both sides and returns the result. */
  finish(): Alignment {
    while (this.j < this.pushed) if (!this.step()) break;
    if (this.firstTruth < 0 && (this.j < this.pushed || this.truthAt(this.i))) this.markFirst();
    // Whatever is left on either side.
    this.wrong += this.pushed - this.j;
    while (this.truthAt(this.i)) {
      this.missing++;
      this.i++;
    }
    return {
      reconstructed: this.ok, wrong: this.wrong, missing: this.missing, firstTruth: this.firstTruth, firstDecoded: this.firstDecoded,
      firstTag: this.firstTag, truth: this.i, decoded: this.pushed, firstExpected: this.firstExpected, firstGot: this.firstGot,
    };
  }

  /** Whether truth index `k` exists (pulling up to it). */
  private truthAt(k: number): boolean {
    while (this.filled <= k) {
      if (this.truthEnded) return false;
      const v = this.nextTruth();
      if (Number.isNaN(v)) {
        this.truthEnded = true;
        return false;
      }
      this.ring[this.filled++ & MASK] = v;
    }
    return true;
  }

  private markFirst(): void {
    this.firstTruth = this.i;
    this.firstDecoded = this.j;
    const have = this.j < this.pushed;
    this.firstTag = have ? this.tags[this.j % ALIGN_CONFIRM]! : Number.NaN;
    this.firstGot = have ? this.dec[this.j % ALIGN_CONFIRM]! : Number.NaN;
    this.firstExpected = this.truthAt(this.i) ? this.ring[this.i & MASK]! : Number.NaN;
  }

  /** Whether truth from `k` and decoded from `j` agree for ALIGN_CONFIRM addresses (or until one ends). */
  private agree(k: number): boolean {
    for (let c = 0; c < ALIGN_CONFIRM; c++) {
      if (!this.truthAt(k + c) || this.j + c >= this.pushed) return true;
      if (this.ring[(k + c) & MASK] !== this.dec[(this.j + c) % ALIGN_CONFIRM]) return false;
    }
    return true;
  }

  /** Consumes the oldest decoded address; false when the truth has ended. */
  private step(): boolean {
    const i = this.i;
    if (!this.truthAt(i)) return false;
    const d = this.dec[this.j % ALIGN_CONFIRM]!;
    if (this.ring[i & MASK] === d) {
      this.ok++;
      this.i++;
      this.j++;
      return true;
    }
    if (this.firstTruth < 0) this.markFirst();
    for (let k = i + 1; k < i + ALIGN_WINDOW && this.truthAt(k); k++) {
      if (this.ring[k & MASK] === d && this.agree(k)) {
        this.missing += k - i;
        this.i = k;
        return true;
      }
    }
    this.wrong++;
    this.j++;
    return true;
  }
}

/** Aligns two whole sequences (tests, small inputs). */
export function alignSequences(truth: ArrayLike<number>, nt: number, dec: ArrayLike<number>, nd: number): Alignment {
  let t = 0;
  const a = new StreamAligner(() => (t < nt ? truth[t++]! : Number.NaN));
  for (let k = 0; k < nd; k++) a.push(dec[k]!, k);
  return a.finish();
}
