// Walks A64 code from an address to the next waypoint through a CodeView, with a cache keyed by
// start address: a range walked once costs one Map lookup afterwards. Results land in typed-array
// slots (no allocation per walk once the cache is warm).

import type { CodeView } from '../../../common/codeview.js';
import { A64Waypoint, WpType, classifyA64, type A64ClassifyOptions } from '../../isa-a64/classify.js';

/** A runaway guard: no real range is this long (OpenCSD has OPENCSD_INSTR_RANGE_LIMIT for the same). */
const MAX_RANGE_INSTRS = 1 << 20;
const BLOCK = 256;

export class RangeWalker {
  // Result of the last walk.
  /** Instructions in the range (including the waypoint when found). */
  n = 0;
  /** Address after the last instruction of the range. */
  end = 0;
  /** A waypoint ended the range (else memory ran out at `end`). */
  found = false;
  type = 0;
  sub = 0;
  cond = false;
  link = false;
  /** Direct branch target (valid when type is BR). */
  target = 0;

  private readonly wp = new A64Waypoint();
  private readonly buf = new Uint8Array(BLOCK);
  private readonly words = new Uint32Array(this.buf.buffer);
  // The cache: start address → slot.
  private readonly slotOf = new Map<number, number>();
  private cEnd = new Float64Array(1024);
  private cTarget = new Float64Array(1024);
  private cN = new Int32Array(1024);
  /** bit0 found, bits[3:1] type, bits[6:4] sub, bit7 cond, bit8 link. */
  private cInfo = new Int32Array(1024);
  private used = 0;
  hits = 0;
  misses = 0;

  constructor(
    private readonly mem: CodeView,
    private readonly opts: A64ClassifyOptions,
  ) {}

  /** Forgets cached ranges (memory or the context changed). */
  clear(): void {
    this.slotOf.clear();
    this.used = 0;
  }

  /** Walks from `start` in memory context `ctx` (at `time`); fills the result fields. */
  walk(ctx: number, time: number, start: number): void {
    const s = this.slotOf.get(start);
    if (s !== undefined) {
      this.hits++;
      const info = this.cInfo[s]!;
      this.n = this.cN[s]!;
      this.end = this.cEnd[s]!;
      this.target = this.cTarget[s]!;
      this.found = (info & 1) !== 0;
      this.type = (info >> 1) & 7;
      this.sub = (info >> 4) & 7;
      this.cond = (info & 0x80) !== 0;
      this.link = (info & 0x100) !== 0;
      return;
    }
    this.misses++;
    this.scan(ctx, time, start);
    if (this.used === this.cN.length) this.grow();
    const k = this.used++;
    this.cN[k] = this.n;
    this.cEnd[k] = this.end;
    this.cTarget[k] = this.target;
    this.cInfo[k] = (this.found ? 1 : 0) | (this.type << 1) | (this.sub << 4) | (this.cond ? 0x80 : 0) | (this.link ? 0x100 : 0);
    this.slotOf.set(start, k);
  }

  /**
   * Walks from `start` towards `stop` (exclusive) without using the cache: stops at `stop`, at
   * a waypoint, or where memory ends. Used for exception ranges.
   */
  walkTo(ctx: number, time: number, start: number, stop: number): void {
    this.scan(ctx, time, start, stop);
  }

  private scan(ctx: number, time: number, start: number, stop = NaN): void {
    const wp = this.wp;
    const opts = this.opts;
    let pc = start;
    let n = 0;
    this.found = false;
    this.type = WpType.OTHER;
    this.sub = 0;
    this.cond = false;
    this.link = false;
    this.target = 0;
    for (;;) {
      const got = this.mem.read(ctx, time, pc, this.buf) >>> 2;
      if (got === 0) break;
      let i = 0;
      for (; i < got; i++) {
        if (pc === stop || n >= MAX_RANGE_INSTRS) {
          this.n = n;
          this.end = pc;
          return;
        }
        const t = classifyA64(this.words[i]!, wp, opts);
        n++;
        pc += 4;
        if (t !== WpType.OTHER) {
          this.found = true;
          this.type = t;
          this.sub = wp.sub;
          this.cond = wp.cond;
          this.link = wp.link;
          this.target = pc - 4 + wp.offset;
          this.n = n;
          this.end = pc;
          return;
        }
      }
    }
    this.n = n;
    this.end = pc;
  }

  private grow(): void {
    const m = this.cN.length * 2;
    const e = new Float64Array(m);
    e.set(this.cEnd);
    this.cEnd = e;
    const t = new Float64Array(m);
    t.set(this.cTarget);
    this.cTarget = t;
    const n = new Int32Array(m);
    n.set(this.cN);
    this.cN = n;
    const i = new Int32Array(m);
    i.set(this.cInfo);
    this.cInfo = i;
  }
}
