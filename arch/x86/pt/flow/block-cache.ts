// Classified code of one section in one execution mode, filled on demand. For every instruction
// start seen so far it holds the length, and where the straight-line run from there ends: the
// offset of the first control-flow instruction (or a cut after MAX_RUN instructions) and how many
// instructions the run has, that one included. One classifyRun call classifies a whole run, and fills
// the entries of every instruction in it, so code already seen is never decoded again.

import { X86Class, classifyRun, type X86RunOut } from '../../isa/classify.js';
import { PtRunTable } from './run-table.js';

/** Longest run classified at once; longer straight-line code continues in a new run. */
const MAX_RUN = 256;
/** Bytes handed to the classifier at once (≥ MAX_RUN instructions of typical size). */
const WINDOW = 4096;

const scratch: X86RunOut = { lengths: new Uint8Array(MAX_RUN), classes: new Uint8Array(MAX_RUN), targets: new Float64Array(MAX_RUN) };

export class PtBlockCache {
  /** Per offset: instructions in the run from here (0 = not classified yet). */
  readonly runCount: Int32Array;
  /** Per offset: offset of the run's last instruction. */
  readonly runLast: Int32Array;
  /** Per instruction offset: its length (0 for an undecodable one). */
  readonly length: Uint8Array;
  /** Per instruction offset: its class (X86Class). */
  readonly cls: Uint8Array;
  /** Per offset of a direct branch: its target. */
  readonly target: Float64Array;
  /** The same runs as records with links to their successors, for the walk's common case. */
  readonly runs: PtRunTable;
  /** Runs classified (iced calls), for statistics and tests. */
  fills = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly start: number,
    private readonly bitness: 16 | 32 | 64,
  ) {
    const n = bytes.length;
    this.runCount = new Int32Array(n);
    this.runLast = new Int32Array(n);
    this.length = new Uint8Array(n);
    this.cls = new Uint8Array(n);
    this.target = new Float64Array(n);
    this.runs = new PtRunTable(this, start, n);
  }

  /** Classifies the run at `off` (not yet known) and records it; returns its instruction count. */
  fill(off: number): number {
    this.fills++;
    const size = this.bytes.length;
    const windowEnd = Math.min(size, off + WINDOW);
    let n = classifyRun(this.bytes.subarray(off, windowEnd), this.start + off, this.bitness, MAX_RUN, scratch);
    const lastCls = scratch.classes[n - 1]!;
    if (lastCls === X86Class.TRUNCATED && n > 1) {
      let end = off;
      for (let k = 0; k < n - 1; k++) end += scratch.lengths[k]!;
      // Cut by the window, not by the section: end the run before the cut instruction. No byte
      // left at all: no instruction there (the walk looks for it in another section).
      if (windowEnd < size || end === size) n--;
    }
    let o = off;
    const offs = new Int32Array(n);
    for (let k = 0; k < n; k++) {
      offs[k] = o;
      this.length[o] = scratch.lengths[k]!;
      this.cls[o] = scratch.classes[k]!;
      this.target[o] = scratch.targets[k]!;
      o += scratch.lengths[k]!;
    }
    const last = offs[n - 1]!;
    for (let k = 0; k < n; k++) {
      const at = offs[k]!;
      if (this.runCount[at] !== 0) continue;
      this.runCount[at] = n - k;
      this.runLast[at] = last;
    }
    return n;
  }
}
