// Streaming ground-truth writer. The simulator defines blocks and records executions
// (TruthSink); trace units report sync points (SyncSink). Records go out to a ChunkSink as the
// run goes, in chunks of a fixed buffer; the block and segment tables, which grow with the
// program and the trace rather than with the instruction count, are returned at the end.

import type { Addr } from '../../arch/common/address.js';
import { HwtraceError } from '../../arch/common/errors.js';
import type { SyncSink, TruthSink } from '../../arch/common/events.js';
import { ByteBuffer, type ChunkSink } from '../../arch/common/stream.js';
import { BLOCKS_MAGIC, SEGMENTS_MAGIC, STREAM_MAGIC, TRUTH_FORMAT_VERSION, type TruthSummary } from './format.js';
import { MAX_VARINT_BYTES, putVarint, zigzag } from './varint.js';

export interface TruthTables {
  /** Contents of `truth/blocks.bin`. */
  blocks: Uint8Array;
  /** Contents of `truth/segments.bin`. */
  segments: Uint8Array;
  summary: TruthSummary;
}

function putMagic(buf: Uint8Array, pos: number, text: string): number {
  for (let i = 0; i < text.length; i++) buf[pos + i] = text.charCodeAt(i);
  return pos + text.length;
}

class VarintBuffer extends ByteBuffer {
  varint(v: number): void {
    const p = this.reserve(MAX_VARINT_BYTES);
    this.length = putVarint(this.buf, p, v);
  }
  magic(text: string): void {
    const p = this.reserve(text.length);
    this.length = putMagic(this.buf, p, text);
  }
}

export class TruthWriter implements TruthSink, SyncSink {
  private readonly buf: Uint8Array;
  private readonly flushAt: number;
  private pos = 0;
  private flushed = 0;
  private lastTime = 0;
  private records = 0;
  private instructions = 0;
  private counts = new Int32Array(256);
  private readonly table = new VarintBuffer(1 << 14);
  private blockCount = 0;
  private readonly segments = new VarintBuffer(1 << 10);
  private segmentCount = 0;
  private finished = false;

  /** `stream` receives `truth/stream.bin`, `chunkSize` bytes at a time (and the rest at the end). */
  constructor(private readonly stream: ChunkSink, chunkSize = 1 << 16) {
    if (!(chunkSize >= 64)) throw new HwtraceError('bad_option', `truth chunk size ${chunkSize} is too small`);
    this.buf = new Uint8Array(chunkSize);
    this.flushAt = chunkSize - 2 * MAX_VARINT_BYTES;
    this.pos = putMagic(this.buf, 0, STREAM_MAGIC);
  }

  defineBlock(start: Addr, lengths: Uint8Array, ctx: number, version: number): number {
    if (!Number.isSafeInteger(zigzag(start))) throw new HwtraceError('bad_truth', `truth block address ${start} is out of range`);
    const n = lengths.length;
    if (n === 0) throw new HwtraceError('bad_truth', 'a truth block needs at least one instruction');
    const id = this.blockCount++;
    if (id >= this.counts.length) {
      const next = new Int32Array(this.counts.length * 2);
      next.set(this.counts);
      this.counts = next;
    }
    this.counts[id] = n;
    const t = this.table;
    t.varint(zigzag(start));
    t.varint(ctx);
    t.varint(version);
    t.varint(n);
    let uniform = lengths[0]!;
    for (let i = 1; i < n; i++) if (lengths[i] !== uniform) uniform = 0;
    t.varint(uniform);
    if (uniform === 0) t.append(lengths);
    return id;
  }

  record(id: number, time: number): void {
    let p = this.pos;
    if (p >= this.flushAt) {
      this.flush();
      p = 0;
    }
    const buf = this.buf;
    let v = id;
    while (v >= 0x80) {
      buf[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[p++] = v;
    const d = time - this.lastTime;
    if (d < 0x80 && d >= 0) buf[p++] = d;
    else p = this.putDelta(p, d, time);
    this.lastTime = time;
    this.pos = p;
    this.records++;
    this.instructions += this.counts[id]!;
  }

  private putDelta(p: number, d: number, time: number): number {
    if (!(d >= 0 && Number.isSafeInteger(time))) throw new HwtraceError('bad_truth', `truth time went from ${this.lastTime} to ${time}: times must be non-decreasing integers`);
    return putVarint(this.buf, p, d);
  }

  sync(stream: number, offset: number): void {
    const s = this.segments;
    s.varint(stream);
    s.varint(offset);
    s.varint(this.records);
    s.varint(this.flushed + this.pos);
    s.varint(this.instructions);
    s.varint(this.lastTime);
    this.segmentCount++;
  }

  private flush(): void {
    if (this.pos === 0) return;
    this.stream.write(this.buf.subarray(0, this.pos));
    this.flushed += this.pos;
    this.pos = 0;
  }

  /** Records so far (for progress lines). */
  get recordCount(): number {
    return this.records;
  }

  /** Flushes and ends the stream, and returns the block and segment tables. Call once. */
  finish(): TruthTables {
    if (this.finished) throw new HwtraceError('internal', 'TruthWriter.finish called twice');
    this.finished = true;
    this.flush();
    this.stream.end();
    const summary: TruthSummary = {
      blocks: this.blockCount,
      records: this.records,
      instructions: this.instructions,
      streamBytes: this.flushed,
      lastTime: this.lastTime,
      segments: this.segmentCount,
    };
    const head = new VarintBuffer(64);
    head.magic(BLOCKS_MAGIC);
    head.varint(TRUTH_FORMAT_VERSION);
    head.varint(summary.blocks);
    head.varint(summary.records);
    head.varint(summary.instructions);
    head.varint(summary.streamBytes);
    head.varint(summary.lastTime);
    head.append(this.table.view());
    const seg = new VarintBuffer(16 + this.segments.length);
    seg.magic(SEGMENTS_MAGIC);
    seg.varint(TRUTH_FORMAT_VERSION);
    seg.varint(this.segmentCount);
    seg.append(this.segments.view());
    return { blocks: head.view().slice(), segments: seg.view().slice(), summary };
  }
}
