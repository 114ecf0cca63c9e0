// Walks code of one instruction set (A64, A32 or T32) from an address to the next waypoint
// through a CodeView, with a cache keyed by start address: a range walked once costs one hash
// lookup afterwards. Results land in plain fields (no allocation per walk once the cache is warm).

import type { CodeView } from '../../../common/codeview.js';
import { classifyA32 } from '../../isa-a32/classify.js';
import { A64Waypoint, WpType, classifyA64, type A64ClassifyOptions } from '../../isa-a64/classify.js';
import { classifyT32, t32ItLength } from '../../isa-t32/classify.js';

/** A runaway guard: no real range is this long (OpenCSD has OPENCSD_INSTR_RANGE_LIMIT for the same). */
const MAX_RANGE_INSTRS = 1 << 20;
/** Bytes read per CodeView call: most ranges are a few instructions long. */
const BLOCK = 64;

/** Instruction sets, as the flow decoder numbers them (and ISA_NAMES prints them). */
export const ISA_A64 = 0;
export const ISA_A32 = 1;
export const ISA_T32 = 2;

/** How far scan() goes. */
const TO_WAYPOINT = 0;
/** Through waypoints, up to an address (exclusive). */
const TO_ADDRESS = 1;
/** Through waypoints, up to and including the instruction at an address. */
const THROUGH_ADDRESS = 2;

export class RangeWalker {
  // Result of the last walk.
  /** Instructions in the range (including the waypoint when found). */
  n = 0;
  /** Address after the last instruction of the range. */
  end = 0;
  /** A waypoint ended the range (else memory ran out at `end`, or a stop address or count was reached). */
  found = false;
  type = 0;
  sub = 0;
  cond = false;
  link = false;
  /** Direct branch target (valid when type is BR). */
  target = 0;
  /** The branch changes instruction set (BLX immediate). */
  exchange = false;
  /** Bytes of the last instruction (2 or 4). */
  size = 4;

  private readonly wp = new A64Waypoint();
  private readonly buf = new Uint8Array(BLOCK);
  private readonly words = new Uint32Array(this.buf.buffer);
  // The cache: start address → slot, an open-addressing hash table (addresses are often
  // negative kernel addresses, which a Map hashes slowly). hSlot holds slot + 1 (0 = empty).
  private hKey = new Float64Array(1024);
  private hSlot = new Int32Array(1024);
  private hMask = 1023;
  private cEnd = new Float64Array(512);
  private cTarget = new Float64Array(512);
  private cN = new Int32Array(512);
  /** bit0 found, bits[3:1] type, bits[6:4] sub, bit7 cond, bit8 link, bit9 exchange, bit10 size 2. */
  private cInfo = new Int32Array(512);
  private used = 0;
  hits = 0;
  misses = 0;

  constructor(
    private readonly mem: CodeView,
    private readonly opts: A64ClassifyOptions,
    readonly isa = ISA_A64,
  ) {}

  /** Forgets cached ranges (memory or the context changed). */
  clear(): void {
    this.hSlot.fill(0);
    this.used = 0;
  }

  private static hash(a: number): number {
    return Math.imul((a >>> 1) ^ ((a / 4294967296) | 0), 0x9e3779b1) >>> 0;
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

  /** Walks from `start` to the next waypoint in memory context `ctx` (at `time`); fills the result fields. */
  walk(ctx: number, time: number, start: number): void {
    const s = this.lookup(start);
    if (s >= 0) {
      this.load(s);
      return;
    }
    this.misses++;
    this.scan(ctx, time, start, NaN, MAX_RANGE_INSTRS, TO_WAYPOINT);
    if (this.used === this.cN.length) this.grow();
    const k = this.used++;
    this.cN[k] = this.n;
    this.cEnd[k] = this.end;
    this.cTarget[k] = this.target;
    this.cInfo[k] =
      (this.found ? 1 : 0) | (this.type << 1) | (this.sub << 4) | (this.cond ? 0x80 : 0) | (this.link ? 0x100 : 0) | (this.exchange ? 0x200 : 0) | (this.size === 2 ? 0x400 : 0);
    this.insert(start, k);
  }

  /** The result cached in slot `s` (a range walked before). */
  private load(s: number): void {
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
    this.size = info & 0x400 ? 2 : 4;
  }

  /**
   * Walks from `start` to `stop` (exclusive) without using the cache, through any waypoints (as
   * OpenCSD walks to an exception's return address), or until memory ends. The result
   * describes the last instruction; `found` is false.
   */
  walkTo(ctx: number, time: number, start: number, stop: number): void {
    this.scan(ctx, time, start, stop, MAX_RANGE_INSTRS, TO_ADDRESS);
  }

  /**
   * Walks from `start` through any waypoints up to the instruction at `last`, inclusive (ETE
   * source address: the branch at `last` is the one taken; the result describes it, `found`
   * when it is a waypoint). Stops early where memory ends.
   */
  walkThrough(ctx: number, time: number, start: number, last: number): void {
    this.scan(ctx, time, start, last, MAX_RANGE_INSTRS, THROUGH_ADDRESS);
  }

  /** Walks at most `count` instructions from `start` (stops early at a waypoint). For Q elements. */
  walkCount(ctx: number, time: number, start: number, count: number): void {
    this.scan(ctx, time, start, NaN, count, TO_WAYPOINT);
  }

  private scan(ctx: number, time: number, start: number, stop: number, limit: number, mode: number): void {
    this.found = false;
    this.type = WpType.OTHER;
    this.sub = 0;
    this.cond = false;
    this.link = false;
    this.target = 0;
    this.exchange = false;
    this.size = this.isa === ISA_T32 ? 2 : 4;
    if (this.isa === ISA_T32) this.scanT32(ctx, time, start, stop, limit, mode);
    else this.scanFixed(ctx, time, start, stop, limit, mode);
  }

  /** A64 and A32: 4-byte instructions. */
  private scanFixed(ctx: number, time: number, start: number, stop: number, limit: number, mode: number): void {
    const wp = this.wp;
    const opts = this.opts;
    const a32 = this.isa === ISA_A32;
    const words = this.words;
    let pc = start;
    let n = 0;
    for (;;) {
      const got = this.mem.read(ctx, time, pc, this.buf) >>> 2;
      if (got === 0) break;
      for (let i = 0; i < got; i++) {
        if ((mode === TO_ADDRESS && pc === stop) || n >= limit) {
          this.n = n;
          this.end = pc;
          return;
        }
        const t = a32 ? classifyA32(words[i]!, wp) : classifyA64(words[i]!, wp, opts);
        n++;
        const at = pc;
        pc += 4;
        if (mode === THROUGH_ADDRESS ? at === stop : t !== WpType.OTHER && mode === TO_WAYPOINT) {
          this.result(t, at, pc, n);
          return;
        }
      }
    }
    this.n = n;
    this.end = pc;
  }

  /** T32: 2- and 4-byte instructions; instructions in an IT block are conditional. */
  private scanT32(ctx: number, time: number, start: number, stop: number, limit: number, mode: number): void {
    const wp = this.wp;
    const opts = this.opts;
    const buf = this.buf;
    let pc = start;
    let n = 0;
    let it = 0;
    for (;;) {
      const got = this.mem.read(ctx, time, pc, buf);
      let off = 0;
      while (off + 2 <= got) {
        if ((mode === TO_ADDRESS && pc === stop) || n >= limit) {
          this.n = n;
          this.end = pc;
          return;
        }
        const hw1 = buf[off]! | (buf[off + 1]! << 8);
        let op = hw1;
        let size = 2;
        if (hw1 >= 0xe800) {
          // A 32-bit instruction: its second halfword may be in the next read.
          if (off + 4 > got) break;
          op = ((hw1 << 16) | buf[off + 2]! | (buf[off + 3]! << 8)) >>> 0;
          size = 4;
        }
        const t = classifyT32(op, pc, wp, opts);
        if (it > 0) {
          wp.cond = true;
          it--;
        } else if (size === 2) it = t32ItLength(op);
        n++;
        const at = pc;
        pc += size;
        off += size;
        this.size = size;
        if (mode === THROUGH_ADDRESS ? at === stop : t !== WpType.OTHER && mode === TO_WAYPOINT) {
          this.result(t, at, pc, n);
          return;
        }
      }
      // Nothing (more) readable here, or memory ends inside an instruction.
      if (off === 0) break;
    }
    this.n = n;
    this.end = pc;
  }

  /** The walk ended with the instruction at `at` (type `t`, classified into this.wp). */
  private result(t: number, at: number, end: number, n: number): void {
    const wp = this.wp;
    this.found = t !== WpType.OTHER;
    this.type = t;
    this.sub = wp.sub;
    this.cond = wp.cond;
    this.link = wp.link;
    this.exchange = wp.exchange;
    this.target = at + wp.offset;
    this.n = n;
    this.end = end;
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
