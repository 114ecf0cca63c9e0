// Reading the ground truth back: the block and segment tables (small, read whole), and the
// record stream, decoded chunk by chunk so a truth of any size expands in bounded memory —
// into records, instruction addresses, or `truth.txt` (one 16-hex-digit address per line).

import type { Addr } from '../../arch/common/address.js';
import { formatAddr } from '../../arch/common/address.js';
import { HwtraceError } from '../../arch/common/errors.js';
import type { ChunkSink, ChunkSource } from '../../arch/common/stream.js';
import {
  BLOCKS_MAGIC, SEGMENTS_MAGIC, STREAM_MAGIC, TRUTH_FORMAT_VERSION, TRUTH_MEMBERS, type TruthBlock, type TruthSegment,
  type TruthSummary,
} from './format.js';
import { VarintReader, unzigzag } from './varint.js';

/** The block table as struct-of-arrays. */
export class TruthBlockTable {
  constructor(
    readonly summary: Omit<TruthSummary, 'segments'>,
    readonly start: Float64Array,
    readonly ctx: Int32Array,
    readonly version: Int32Array,
    /** Instructions per block. */
    readonly count: Int32Array,
    /** Index into `lengths` of each block's first instruction (one extra entry at the end). */
    readonly lenFirst: Int32Array,
    readonly lengths: Uint8Array,
  ) {}

  get size(): number {
    return this.start.length;
  }

  block(id: number): TruthBlock {
    if (!(id >= 0 && id < this.size)) throw new RangeError(`truth block ${id} does not exist`);
    return {
      start: this.start[id]!,
      lengths: this.lengths.slice(this.lenFirst[id]!, this.lenFirst[id + 1]!),
      ctx: this.ctx[id]!,
      version: this.version[id]!,
    };
  }

  /** Address of instruction `i` of block `id`. */
  address(id: number, i: number): Addr {
    let a = this.start[id]!;
    const f = this.lenFirst[id]!;
    for (let k = 0; k < i; k++) a += this.lengths[f + k]!;
    return a;
  }
}

/** Parses `truth/blocks.bin`. */
export function readTruthBlocks(bytes: Uint8Array, what: string = TRUTH_MEMBERS.blocks): TruthBlockTable {
  const r = new VarintReader(bytes, what);
  r.magic(BLOCKS_MAGIC);
  const version = r.varint();
  if (version !== TRUTH_FORMAT_VERSION) r.fail(`format version ${version} is not ${TRUTH_FORMAT_VERSION}`);
  const blocks = r.varint();
  const summary = { blocks, records: r.varint(), instructions: r.varint(), streamBytes: r.varint(), lastTime: r.varint() };
  // Every block takes at least 5 bytes, which bounds the allocation below by the input size.
  if (blocks > bytes.length / 5) r.fail(`block count ${blocks} is larger than the table can hold`);
  const start = new Float64Array(blocks);
  const ctx = new Int32Array(blocks);
  const ver = new Int32Array(blocks);
  const count = new Int32Array(blocks);
  const lenFirst = new Int32Array(blocks + 1);
  const lens: number[] = [];
  for (let i = 0; i < blocks; i++) {
    start[i] = unzigzag(r.varint());
    ctx[i] = r.varint();
    ver[i] = r.varint();
    const n = r.varint();
    if (n < 1 || n > 1 << 20) r.fail(`block ${i} has ${n} instructions`);
    const uniform = r.varint();
    if (uniform > 15) r.fail(`block ${i} has instruction length ${uniform}`);
    count[i] = n;
    lenFirst[i] = lens.length;
    if (uniform > 0) for (let k = 0; k < n; k++) lens.push(uniform);
    else {
      const raw = r.bytes(n);
      for (const l of raw) {
        if (l < 1 || l > 15) r.fail(`block ${i} has instruction length ${l}`);
        lens.push(l);
      }
    }
  }
  lenFirst[blocks] = lens.length;
  if (!r.atEnd) r.fail('trailing bytes after the last block');
  return new TruthBlockTable(summary, start, ctx, ver, count, lenFirst, Uint8Array.from(lens));
}

/** Parses `truth/segments.bin`. */
export function readTruthSegments(bytes: Uint8Array, what: string = TRUTH_MEMBERS.segments): TruthSegment[] {
  const r = new VarintReader(bytes, what);
  r.magic(SEGMENTS_MAGIC);
  const version = r.varint();
  if (version !== TRUTH_FORMAT_VERSION) r.fail(`format version ${version} is not ${TRUTH_FORMAT_VERSION}`);
  const n = r.varint();
  if (n > bytes.length / 6) r.fail(`segment count ${n} is larger than the table can hold`);
  const out: TruthSegment[] = [];
  for (let i = 0; i < n; i++) {
    out.push({ stream: r.varint(), traceOffset: r.varint(), record: r.varint(), byteOffset: r.varint(), instruction: r.varint(), time: r.varint() });
  }
  if (!r.atEnd) r.fail('trailing bytes after the last segment');
  return out;
}

/** Called for each record: truth block id, its start time, and the record's index. */
export type RecordFn = (id: number, time: number, index: number) => void;

/** Where to start decoding a stream other than at its beginning (from a TruthSegment). */
export interface StreamStart {
  /** Index of the first record the chunks hold. */
  record: number;
  /** Time the first record's delta is relative to. */
  time: number;
}

/**
 * Decodes `truth/stream.bin` pushed in chunks of any size (varints may straddle chunks). Every
 * block id is checked against the table; `end` checks that the stream is complete.
 */
export class TruthStreamDecoder {
  private magicLeft: number;
  private value = 0;
  private mul = 1;
  private bytes = 0;
  private haveId = false;
  private id = 0;
  private time: number;
  private index: number;
  /** Bytes of the stream consumed before the current chunk. */
  private consumed = 0;

  constructor(
    private readonly table: TruthBlockTable,
    private readonly fn: RecordFn,
    private readonly what: string = TRUTH_MEMBERS.stream,
    start?: StreamStart,
  ) {
    this.magicLeft = start ? 0 : STREAM_MAGIC.length;
    this.time = start?.time ?? 0;
    this.index = start?.record ?? 0;
  }

  private fail(message: string, at: number): never {
    throw new HwtraceError('bad_truth', `${this.what}: ${message} at byte ${at}`);
  }

  push(chunk: Uint8Array): void {
    const n = chunk.length;
    const base = this.consumed;
    let i = 0;
    while (this.magicLeft > 0 && i < n) {
      if (chunk[i] !== STREAM_MAGIC.charCodeAt(STREAM_MAGIC.length - this.magicLeft)) this.fail('not a truth stream (bad magic)', base + i);
      this.magicLeft--;
      i++;
    }
    const blocks = this.table.size;
    let value = this.value, mul = this.mul, bytes = this.bytes;
    for (; i < n; i++) {
      const b = chunk[i]!;
      value += (b & 0x7f) * mul;
      if (b >= 0x80) {
        mul *= 128;
        if (++bytes >= 8) this.fail('varint longer than 8 bytes', base + i);
        continue;
      }
      if (bytes >= 7 && !Number.isSafeInteger(value)) this.fail('varint exceeds 2^53', base + i);
      if (!this.haveId) {
        if (value >= blocks) this.fail(`record ${this.index} names block ${value}, but the table has ${blocks}`, base + i);
        this.id = value;
        this.haveId = true;
      } else {
        this.time += value;
        this.haveId = false;
        this.fn(this.id, this.time, this.index++);
      }
      value = 0;
      mul = 1;
      bytes = 0;
    }
    this.value = value;
    this.mul = mul;
    this.bytes = bytes;
    this.consumed = base + n;
  }

  /** Records decoded so far. */
  get records(): number {
    return this.index;
  }

  /** Checks that the stream ended on a record boundary and (from the start) holds every record. */
  end(checkComplete = true): void {
    if (this.magicLeft > 0) this.fail('truncated before the end of the magic', this.consumed);
    if (this.haveId || this.bytes > 0 || this.mul !== 1) this.fail('truncated in the middle of a record', this.consumed);
    const want = this.table.summary.records;
    if (checkComplete && this.index !== want) this.fail(`holds ${this.index} records, the block table says ${want}`, this.consumed);
  }
}

/** Calls `fn` for every record of a whole stream read from `source`, then checks completeness. */
export function forEachTruthRecord(table: TruthBlockTable, source: ChunkSource, fn: RecordFn, what?: string): void {
  const d = new TruthStreamDecoder(table, fn, what);
  for (const chunk of source) d.push(chunk);
  d.end();
}

/** Every executed instruction's address, in order (tests and small truths: one call per instruction). */
export function truthAddresses(table: TruthBlockTable, source: ChunkSource): number[] {
  const out: number[] = [];
  forEachTruthRecord(table, source, (id) => {
    let a = table.start[id]!;
    const f = table.lenFirst[id]!;
    const n = table.count[id]!;
    for (let k = 0; k < n; k++) {
      out.push(a);
      a += table.lengths[f + k]!;
    }
  });
  return out;
}

const LINE = 17; // 16 hex digits and '\n'

/**
 * Writes `truth.txt`: one line per executed instruction, its address as 16 lowercase hex digits
 * (the 64-bit two's-complement image, as ptxed prints IPs). Streams: each block's text is made
 * once and copied per execution.
 */
export function writeTruthText(table: TruthBlockTable, source: ChunkSource, out: ChunkSink, chunkSize = 1 << 16): number {
  const text: Array<Uint8Array | undefined> = new Array<Uint8Array | undefined>(table.size);
  let buf = new Uint8Array(Math.max(chunkSize, LINE));
  let pos = 0;
  let lines = 0;
  const blockText = (id: number): Uint8Array => {
    const n = table.count[id]!;
    const t = new Uint8Array(n * LINE);
    let a = table.start[id]!;
    const f = table.lenFirst[id]!;
    for (let k = 0; k < n; k++) {
      const s = formatAddr(a);
      for (let c = 0; c < 16; c++) t[k * LINE + c] = s.charCodeAt(c);
      t[k * LINE + 16] = 10;
      a += table.lengths[f + k]!;
    }
    text[id] = t;
    return t;
  };
  forEachTruthRecord(table, source, (id) => {
    const t = text[id] ?? blockText(id);
    if (pos + t.length > buf.length) {
      if (pos > 0) out.write(buf.subarray(0, pos));
      pos = 0;
      if (t.length > buf.length) buf = new Uint8Array(t.length);
    }
    buf.set(t, pos);
    pos += t.length;
    lines += table.count[id]!;
  });
  if (pos > 0) out.write(buf.subarray(0, pos));
  out.end();
  return lines;
}

/**
 * Pull-style reading of the record stream, for consumers that walk the truth in step with
 * something else (a decoder's output): `next()` advances one record and exposes it in `id`,
 * `time` and `index`. Memory stays bounded by one chunk's worth of records.
 */
export class TruthCursor {
  /** The current record (valid after `next()` returned true). */
  id = -1;
  time = 0;
  index = -1;
  private ids = new Int32Array(1024);
  private times = new Float64Array(1024);
  private queued = 0;
  private pos = 0;
  private readonly decoder: TruthStreamDecoder;
  private readonly chunks: Iterator<Uint8Array>;
  private sourceDone = false;
  private readonly checkComplete: boolean;

  constructor(readonly table: TruthBlockTable, source: ChunkSource, what?: string, start?: StreamStart) {
    this.decoder = new TruthStreamDecoder(table, (id, time) => this.enqueue(id, time), what, start);
    this.chunks = source[Symbol.iterator]();
    this.index = (start?.record ?? 0) - 1;
    this.checkComplete = start === undefined;
  }

  private enqueue(id: number, time: number): void {
    if (this.queued === this.ids.length) {
      const ids = new Int32Array(this.ids.length * 2);
      ids.set(this.ids);
      this.ids = ids;
      const times = new Float64Array(this.times.length * 2);
      times.set(this.times);
      this.times = times;
    }
    this.ids[this.queued] = id;
    this.times[this.queued++] = time;
  }

  /** Advances to the next record; false at the end of the stream (which is then checked). */
  next(): boolean {
    while (this.pos === this.queued) {
      if (this.sourceDone) return false;
      this.pos = 0;
      this.queued = 0;
      const r = this.chunks.next();
      if (r.done) {
        this.sourceDone = true;
        this.decoder.end(this.checkComplete);
      } else {
        this.decoder.push(r.value);
      }
    }
    this.id = this.ids[this.pos]!;
    this.time = this.times[this.pos++]!;
    this.index++;
    return true;
  }

  /** Instructions in the current record's block. */
  get count(): number {
    return this.table.count[this.id]!;
  }

  /** Address of the current record's first instruction. */
  get start(): Addr {
    return this.table.start[this.id]!;
  }
}
