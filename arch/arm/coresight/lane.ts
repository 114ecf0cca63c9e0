// A lane: the deformatted bytes of one trace ID, gathered over an input chunk, with a run table
// giving the trace index of each run (as OpenCSD counts it). The deformatter's fast path writes
// straight into lanes; the demux hands each lane to its packet decoder in one call.

export class Lane {
  data = new Uint8Array(1 << 16);
  length = 0;
  /** Run i starts at data offset runOff[i]; its bytes have trace indices runIdx[i], runIdx[i] + 1, ... */
  runOff = new Int32Array(1024);
  runIdx = new Float64Array(1024);
  runs = 0;
  /** Trace index just past the last byte (a run continuing it is merged). */
  nextIndex = -1;
  /** Bytes ever written (statistics). */
  total = 0;

  /** Makes room for n more bytes. */
  ensure(n: number): void {
    if (this.length + n <= this.data.length) return;
    const bigger = new Uint8Array(Math.max(this.data.length * 2, this.length + n));
    bigger.set(this.data.subarray(0, this.length));
    this.data = bigger;
  }

  /** Starts a run at trace index `index` for the bytes written next (merged when contiguous). */
  openRun(index: number): void {
    if (index === this.nextIndex) return;
    if (this.runs === this.runOff.length) {
      const off = new Int32Array(this.runs * 2);
      off.set(this.runOff);
      this.runOff = off;
      const idx = new Float64Array(this.runs * 2);
      idx.set(this.runIdx);
      this.runIdx = idx;
    }
    this.runOff[this.runs] = this.length;
    this.runIdx[this.runs] = index;
    this.runs++;
  }

  /** Appends buf[start, end) whose first byte has trace index `index`. */
  append(buf: Uint8Array, start: number, end: number, index: number): void {
    const n = end - start;
    this.ensure(n);
    this.openRun(index);
    const d = this.data;
    let k = this.length;
    for (let i = start; i < end; i++) d[k++] = buf[i]!;
    this.length = k;
    this.total += n;
    this.nextIndex = index + n;
  }

  /** Empties the lane (after its contents were decoded). */
  clear(): void {
    this.length = 0;
    this.runs = 0;
    this.nextIndex = -1;
  }
}
