// Walks A64 code from an address to the next waypoint through a CodeView, with a cache keyed by
// start address: a range walked once costs one Map lookup afterwards. Results land in typed-array
// slots (no allocation per walk once the cache is warm).

import type { CodeView } from '../../../common/codeview.js';
import { classifyA32 } from '../../isa-a32/classify.js';
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
  /** The branch changes instruction set (A32 BLX immediate). */
  exchange = false;

  private readonly wp = new A64Waypoint();
  private readonly buf = new Uint8Array(BLOCK);
  private readonly words = new Uint32Array(this.buf.buffer);
  // The cache: start address → slot, an open-addressing hash table (addresses are often
  // negative kernel addresses, which a Map hashes slowly). hSlot holds slot + 1 (0 = empty).
  private hKey = new Float64Array(4096);
  private hSlot = new Int32Array(4096);
  private hMask = 4095;
  private cEnd = new Float64Array(1024);
  private cTarget = new Float64Array(1024);
  private cN = new Int32Array(1024);
  /** bit0 found, bits[3:1] type, bits[6:4] sub, bit7 cond, bit8 link. */
  private cInfo = new Int32Array(1024);
  private used = 0;
  hits = 0;
  misses = 0;

  /**
   * `a32`: the code is A32 (else A64). Both are fixed 4-byte instructions; T32 is not walked.
   */
  constructor(
    private readonly mem: CodeView,
    private readonly opts: A64ClassifyOptions,
    private readonly a32 = false,
  ) {}

  /** Forgets cached ranges (memory or the context changed). */
  clear(): void {
    this.hSlot.fill(0);
    this.used = 0;
  }

  private static hash(a: number): number {
    return Math.imul((a >>> 2) ^ ((a / 4294967296) | 0), 0x9e3779b1) >>> 0;
  }

  private lookup(a: number): number {
    const keys = this.hKey;
    const slots = this.hSlot;
    const mask = this.hMask;
    let h = RangeWalker.hash(a) & mask;
    for (;;) {
      const s = slots[h]!;
      if (s === 0) return -1;
      if (keys[h] === a) return s - 1;
      h = (h + 1) & mask;
    }
  }

  private insert(a: number, slot: number): void {
    if ((this.used + 1) * 2 > this.hMask) this.rehash();
    const mask = this.hMask;
    let h = RangeWalker.hash(a) & mask;
    while (this.hSlot[h] !== 0) h = (h + 1) & mask;
    this.hKey[h] = a;
    this.hSlot[h] = slot + 1;
  }

  private rehash(): void {
    const oldKey = this.hKey;
    const oldSlot = this.hSlot;
    const n = oldKey.length * 2;
    this.hKey = new Float64Array(n);
    this.hSlot = new Int32Array(n);
    this.hMask = n - 1;
    for (let i = 0; i < oldKey.length; i++) {
      if (oldSlot[i] === 0) continue;
      let h = RangeWalker.hash(oldKey[i]!) & this.hMask;
      while (this.hSlot[h] !== 0) h = (h + 1) & this.hMask;
      this.hKey[h] = oldKey[i]!;
      this.hSlot[h] = oldSlot[i]!;
    }
  }

  /** Walks from `start` in memory context `ctx` (at `time`); fills the result fields. */
  walk(ctx: number, time: number, start: number): void {
    const s = this.lookup(start);
    if (s >= 0) {
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
      this.exchange = (info & 0x200) !== 0;
      return;
    }
    this.misses++;
    this.scan(ctx, time, start);
    if (this.used === this.cN.length) this.grow();
    const k = this.used++;
    this.cN[k] = this.n;
    this.cEnd[k] = this.end;
    this.cTarget[k] = this.target;
    this.cInfo[k] = (this.found ? 1 : 0) | (this.type << 1) | (this.sub << 4) | (this.cond ? 0x80 : 0) | (this.link ? 0x100 : 0) | (this.exchange ? 0x200 : 0);
    this.insert(start, k);
  }

  /**
   * Walks from `start` to `stop` (exclusive) without using the cache, through any waypoints (as
   * OpenCSD walks to an exception's return address), or until memory ends. The result
   * describes the last instruction.
   */
  walkTo(ctx: number, time: number, start: number, stop: number): void {
    this.scan(ctx, time, start, stop, MAX_RANGE_INSTRS, true);
  }

  /**
   * Walks from `start` through any waypoints up to `last` inclusive (ETE source address: the
   * branch at `last` is the one taken; the result describes it). Stops early where memory ends.
   */
  walkThrough(ctx: number, time: number, start: number, last: number): void {
    this.scan(ctx, time, start, last + 4, MAX_RANGE_INSTRS, true);
  }

  /** Walks at most `count` instructions from `start` (stops early at a waypoint). For Q elements. */
  walkCount(ctx: number, time: number, start: number, count: number): void {
    this.scan(ctx, time, start, NaN, count);
  }

  private scan(ctx: number, time: number, start: number, stop = NaN, limit = MAX_RANGE_INSTRS, through = false): void {
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
    this.exchange = false;
    const a32 = this.a32;
    for (;;) {
      const got = this.mem.read(ctx, time, pc, this.buf) >>> 2;
      if (got === 0) break;
      let i = 0;
      for (; i < got; i++) {
        if (pc === stop || n >= limit) {
          this.n = n;
          this.end = pc;
          return;
        }
        const t = a32 ? classifyA32(this.words[i]!, wp) : classifyA64(this.words[i]!, wp, opts);
        n++;
        pc += 4;
        if (t !== WpType.OTHER && (!through || pc === stop)) {
          this.found = true;
          this.type = t;
          this.sub = wp.sub;
          this.cond = wp.cond;
          this.link = wp.link;
          this.exchange = wp.exchange;
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
