// The compact ground-truth format (DESIGN.md, "Corpora"). Three members:
//
// blocks (`truth/blocks.bin`), written at the end of a run:
//   magic "HWTBLK01", then varints: format version (1), block count, record count, instruction
//   count, stream length in bytes, last record's time; then per block:
//   zigzag(start address), context id, code version, instruction count n, L; if L > 0 every
//   instruction is L bytes long (A64: 4), if L = 0 n length bytes follow.
// stream (`truth/stream.bin`), written while the simulator runs:
//   magic "HWTSTR01", then per executed block a record of two varints: block id, and its start
//   time minus the previous record's (the first record's minus 0). Times are core cycles; the
//   instructions of a record share its time (the simulator's clock runs per block).
// segments (`truth/segments.bin`), written at the end:
//   magic "HWTSEG01", varints: format version (1), count; per segment (one per trace sync point):
//   trace stream, trace byte offset, record index, stream byte offset of that record, instruction
//   index, and the time the record's delta is relative to. With these a reader can start
//   expanding at any segment without reading the stream before it.

import type { Addr } from '../../arch/common/address.js';

export const BLOCKS_MAGIC = 'HWTBLK01';
export const STREAM_MAGIC = 'HWTSTR01';
export const SEGMENTS_MAGIC = 'HWTSEG01';
export const TRUTH_FORMAT_VERSION = 1;

/** Member names inside a corpus. */
export const TRUTH_MEMBERS = {
  blocks: 'truth/blocks.bin',
  stream: 'truth/stream.bin',
  segments: 'truth/segments.bin',
} as const;

/** One block of the truth: straight-line instructions run in one context from one code version. */
export interface TruthBlock {
  start: Addr;
  /** Byte length of each instruction. */
  lengths: Uint8Array;
  ctx: number;
  version: number;
}

/** Where a trace segment (the stretch after a sync point) starts in the truth. */
export interface TruthSegment {
  /** Trace stream (PT: CPU; ETM: trace ID). */
  stream: number;
  /** Byte offset of the sync packet in that stream. */
  traceOffset: number;
  /** Index of the first record of the segment (records before it belong to earlier segments). */
  record: number;
  /** Byte offset of that record in the stream member (after the magic it is ≥ 8). */
  byteOffset: number;
  /** Instructions executed before the segment starts. */
  instruction: number;
  /** Time the first record's delta is relative to (the previous record's time, 0 at the start). */
  time: number;
}

/** Totals a finished truth carries, so a reader can tell a complete stream from a cut one. */
export interface TruthSummary {
  blocks: number;
  records: number;
  instructions: number;
  streamBytes: number;
  /** Time of the last record (0 when there are none). */
  lastTime: number;
  segments: number;
}
