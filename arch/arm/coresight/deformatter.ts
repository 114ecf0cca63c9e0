// CoreSight frame deformatter: formatted bytes in, per-trace-ID runs of data out.
//
// Each output run carries the trace index of its first byte "as OpenCSD counts it": a run starts
// at the index of its frame (or of the ID byte that started it inside the frame) and counts up
// from there, so packet indices match trc_pkt_lister's `Idx:` exactly.
//
// Modes: memory-aligned frames (ETB/ETR), and TPIU/DSTREAM captures with FSYNC packets between
// frames and optional HSYNC half-words inside them. Streams over chunks; a frame may straddle.

import type { DecodeError } from '../../common/errors.js';
import { FRAME_SIZE, type FrameMode } from './frame.js';
import type { Lane } from './lane.js';

/** Receives deformatted data. `id` is -1 for data seen before any ID byte. */
export interface FrameSink {
  /** buf[start, end) belongs to trace ID `id`; its first byte has trace index `index`. */
  data(id: number, index: number, buf: Uint8Array, start: number, end: number): void;
  /**
   * Fast path: when present, data for ID i is appended to lanes[i] directly (no data() call);
   * IDs without a lane are dropped and counted in the deformatter's `dropped`.
   */
  readonly lanes?: readonly (Lane | undefined)[] | undefined;
  /** Four consecutive FSYNCs in memory mode (perf buffer boundary): downstream decoders restart. */
  reset?(): void;
  error?(e: DecodeError): void;
}

export interface DeformatterOptions {
  mode?: FrameMode;
  /** TPIU mode: the capture also has HSYNC half-words inside frames. */
  hsync?: boolean;
  /** Memory mode: a frame of four FSYNCs resets the decoders (OpenCSD RESET_ON_4X_FSYNC). */
  resetOn4xFsync?: boolean;
}

export class FrameDeformatter {
  readonly mode: FrameMode;
  readonly hsync: boolean;
  readonly resetOn4xFsync: boolean;
  /** Statistics. */
  frames = 0;
  fsyncs = 0;
  hsyncs = 0;
  /** Bytes of input consumed (the trace index of the next byte). */
  index = 0;
  errors = 0;
  /** Lane mode: bytes of IDs without a lane. */
  dropped = 0;

  private readonly sink: FrameSink;
  private currentId = -1;
  private readonly out = new Uint8Array(FRAME_SIZE);
  private readonly frame = new Uint8Array(FRAME_SIZE);
  private fill = 0;
  private frameIndex = 0;
  // TPIU: frame alignment is only known after the first FSYNC.
  private tpiuAligned = false;
  private syncWindow = 0;
  private skipped = 0;
  // TPIU half-word assembly.
  private halfLow = -1;
  private halfIndex = 0;
  private sawFfff = false;
  private ffffIndex = 0;

  constructor(sink: FrameSink, opts: DeformatterOptions = {}) {
    this.sink = sink;
    this.mode = opts.mode ?? 'memory';
    this.hsync = opts.hsync ?? false;
    this.resetOn4xFsync = opts.resetOn4xFsync ?? false;
  }

  push(chunk: Uint8Array): void {
    if (this.mode === 'memory') this.pushMemory(chunk);
    else this.pushTpiu(chunk);
  }

  /** End of the capture: a partial frame is an error (its data is not delivered). */
  end(): void {
    if (this.mode === 'tpiu' && !this.tpiuAligned && this.index > 0) {
      this.report('no_fsync', 0, `no FSYNC in ${this.index} bytes of TPIU capture: frame alignment unknown, nothing decoded`);
    }
    const partial = this.fill + (this.halfLow >= 0 ? 1 : 0) + (this.sawFfff ? 2 : 0);
    if (partial > 0) {
      this.report('truncated_frame', this.fill > 0 ? this.frameIndex : this.index - partial, `capture ends inside a frame (${partial} of ${FRAME_SIZE} bytes)`);
    }
    this.fill = 0;
    this.halfLow = -1;
    this.sawFfff = false;
  }

  /** The ID that data continues under (after the last ID byte seen), -1 before any. */
  get id(): number {
    return this.currentId;
  }

  private report(code: string, offset: number, message: string): void {
    this.errors++;
    this.sink.error?.({ code, offset, message });
  }

  private pushMemory(chunk: Uint8Array): void {
    let pos = 0;
    const n = chunk.length;
    if (this.fill > 0) {
      const take = Math.min(FRAME_SIZE - this.fill, n);
      this.frame.set(chunk.subarray(0, take), this.fill);
      this.fill += take;
      pos = take;
      this.index += take;
      if (this.fill < FRAME_SIZE) return;
      this.fill = 0;
      this.memoryFrame(this.frame, 0, this.frameIndex);
    }
    const lanes = this.sink.lanes;
    if (lanes !== undefined && !this.resetOn4xFsync) {
      pos = this.memoryFramesToLanes(chunk, pos, n, lanes);
    } else {
      while (pos + FRAME_SIZE <= n) {
        this.memoryFrame(chunk, pos, this.index);
        pos += FRAME_SIZE;
        this.index += FRAME_SIZE;
      }
    }
    if (pos < n) {
      this.frameIndex = this.index;
      this.frame.set(chunk.subarray(pos), 0);
      this.fill = n - pos;
      this.index += n - pos;
    }
  }

  /**
   * The throughput path (memory frames into lanes): whole frames of one ID, the common case, are
   * copied inline; frames with ID bytes go through unpackToLanes. Returns the position after
   * the last whole frame.
   */
  private memoryFramesToLanes(f: Uint8Array, pos: number, n: number, lanes: readonly (Lane | undefined)[]): number {
    let index = this.index;
    let frames = 0;
    while (pos + FRAME_SIZE <= n) {
      const o = pos;
      const id = this.currentId;
      const lane = id >= 0 ? lanes[id] : undefined;
      if (lane !== undefined && ((f[o]! | f[o + 2]! | f[o + 4]! | f[o + 6]! | f[o + 8]! | f[o + 10]! | f[o + 12]! | f[o + 14]!) & 1) === 0) {
        const aux = f[o + 15]!;
        const start = lane.length;
        if (start + 16 > lane.data.length) lane.ensure(16);
        const d = lane.data;
        d[start] = f[o]! | (aux & 1);
        d[start + 1] = f[o + 1]!;
        d[start + 2] = f[o + 2]! | ((aux >> 1) & 1);
        d[start + 3] = f[o + 3]!;
        d[start + 4] = f[o + 4]! | ((aux >> 2) & 1);
        d[start + 5] = f[o + 5]!;
        d[start + 6] = f[o + 6]! | ((aux >> 3) & 1);
        d[start + 7] = f[o + 7]!;
        d[start + 8] = f[o + 8]! | ((aux >> 4) & 1);
        d[start + 9] = f[o + 9]!;
        d[start + 10] = f[o + 10]! | ((aux >> 5) & 1);
        d[start + 11] = f[o + 11]!;
        d[start + 12] = f[o + 12]! | ((aux >> 6) & 1);
        d[start + 13] = f[o + 13]!;
        d[start + 14] = f[o + 14]! | (aux >> 7);
        // Each frame is a run of its own: its trace index jumps over the aux byte.
        if (lane.runs === lane.runOff.length) lane.openRun(index);
        else {
          lane.runOff[lane.runs] = start;
          lane.runIdx[lane.runs] = index;
          lane.runs++;
        }
        lane.length = start + 15;
        lane.nextIndex = index + 15;
        lane.total += 15;
        frames++;
      } else {
        this.unpack(f, o, index);
      }
      pos += FRAME_SIZE;
      index += FRAME_SIZE;
    }
    this.frames += frames;
    this.index = index;
    return pos;
  }

  private memoryFrame(f: Uint8Array, o: number, sof: number): void {
    if (this.resetOn4xFsync && isFourFsyncs(f, o)) {
      this.fsyncs += 4;
      this.currentId = -1;
      this.sink.reset?.();
      return;
    }
    this.unpack(f, o, sof);
  }

  /** TPIU: assemble half-words, skip FSYNC at frame boundaries and HSYNC anywhere. */
  private pushTpiu(chunk: Uint8Array): void {
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      const ix = this.index++;
      if (!this.tpiuAligned) {
        // Skip to the first FSYNC (FF FF FF 7F): frames start right after it.
        this.syncWindow = ((this.syncWindow << 8) | b) >>> 0;
        this.skipped++;
        if (this.syncWindow === 0xffffff7f) {
          this.tpiuAligned = true;
          this.fsyncs++;
          if (this.skipped > 4) this.report('no_fsync', 0, `${this.skipped - 4} bytes before the first FSYNC skipped (frame alignment unknown there)`);
        }
        continue;
      }
      if (this.halfLow < 0) {
        this.halfLow = b;
        this.halfIndex = ix;
        continue;
      }
      const hw = this.halfLow | (b << 8);
      const hwIndex = this.halfIndex;
      this.halfLow = -1;
      this.tpiuHalfword(hw, hwIndex);
    }
  }

  private tpiuHalfword(hw: number, ix: number): void {
    if (this.sawFfff) {
      this.sawFfff = false;
      if (hw === 0x7fff) {
        this.fsyncs++;
        return;
      }
      // 0xFFFF not followed by 0x7FFF: not a sync; it can only be a corrupt frame start.
      this.report('bad_fsync', this.ffffIndex, 'half-word 0xFFFF not followed by 0x7FFF (broken FSYNC)');
    }
    if (hw === 0xffff) {
      if (this.fill > 0) {
        this.report('fsync_inside_frame', ix, `FSYNC inside a frame after ${this.fill} bytes; the partial frame is dropped`);
        this.fill = 0;
      }
      this.sawFfff = true;
      this.ffffIndex = ix;
      return;
    }
    if (this.hsync && hw === 0x7fff) {
      this.hsyncs++;
      return;
    }
    if (this.fill === 0) this.frameIndex = ix;
    this.frame[this.fill++] = hw & 0xff;
    this.frame[this.fill++] = hw >> 8;
    if (this.fill === FRAME_SIZE) {
      this.fill = 0;
      this.unpack(this.frame, 0, this.frameIndex);
    }
  }

  /**
   * The same unpacking, writing each byte straight into its ID's lane (the demux's batched mode):
   * no intermediate copy, no call per run.
   */
  private unpackToLanes(f: Uint8Array, o: number, sof: number, lanes: readonly (Lane | undefined)[]): void {
    const aux = f[o + 15]!;
    let id = this.currentId;
    let lane = id >= 0 ? lanes[id] : undefined;
    // Most frames carry one source's data and no ID byte: 15 bytes straight into the lane.
    if (lane !== undefined && ((f[o]! | f[o + 2]! | f[o + 4]! | f[o + 6]! | f[o + 8]! | f[o + 10]! | f[o + 12]! | f[o + 14]!) & 1) === 0) {
      const start = lane.length;
      if (start + 16 > lane.data.length) lane.ensure(16);
      const d = lane.data;
      let k = start;
      for (let i = 0; i < 14; i += 2) {
        d[k++] = f[o + i]! | ((aux >> (i >> 1)) & 1);
        d[k++] = f[o + i + 1]!;
      }
      d[k] = f[o + 14]! | (aux >> 7);
      if (sof !== lane.nextIndex) lane.openRun(sof);
      lane.length = start + 15;
      lane.nextIndex = sof + 15;
      lane.total += 15;
      return;
    }
    let d = this.out;
    let k = 0;
    if (lane !== undefined) {
      lane.ensure(16);
      d = lane.data;
      k = lane.length;
    }
    let runStart = k;
    let runIndex = sof;
    for (let i = 0; i < 14; i += 2) {
      const b = f[o + i]!;
      const auxBit = (aux >> (i >> 1)) & 1;
      if (b & 1) {
        const nid = b >> 1;
        if (nid !== id) {
          if (auxBit) d[k++] = f[o + i + 1]!;
          if (k > runStart) {
            this.closeRun(lane, runIndex, runStart, k);
            runIndex = sof + i;
          }
          id = nid;
          lane = lanes[nid];
          if (lane !== undefined) {
            lane.ensure(16);
            d = lane.data;
            k = lane.length;
          } else {
            d = this.out;
            k = 0;
          }
          runStart = k;
          if (auxBit) continue;
        }
      } else d[k++] = b | auxBit;
      d[k++] = f[o + i + 1]!;
    }
    const b14 = f[o + 14]!;
    if ((b14 & 1) === 0) d[k++] = b14 | (aux >> 7);
    if (k > runStart) this.closeRun(lane, runIndex, runStart, k);
    this.currentId = b14 & 1 ? b14 >> 1 : id;
  }

  /** Records bytes [start, end) just written into `lane` as a run at trace index `index`. */
  private closeRun(lane: Lane | undefined, index: number, start: number, end: number): void {
    if (lane === undefined) {
      this.dropped += end - start;
      return;
    }
    lane.length = start;
    lane.openRun(index);
    lane.length = end;
    lane.nextIndex = index + (end - start);
    lane.total += end - start;
  }

  /** Splits one frame into per-ID runs (OpenCSD's unpacking, including its index counting). */
  private unpack(f: Uint8Array, o: number, sof: number): void {
    this.frames++;
    const out = this.out;
    const lanes = this.sink.lanes;
    if (lanes !== undefined) {
      this.unpackToLanes(f, o, sof, lanes);
      return;
    }
    const aux = f[o + 15]!;
    const sink = this.sink;
    let len = 0;
    let runStart = 0;
    let runIndex = sof;
    let id = this.currentId;
    for (let i = 0; i < 14; i += 2) {
      const b = f[o + i]!;
      const auxBit = (aux >> (i >> 1)) & 1;
      let oldIdTakesNext = false;
      if (b & 1) {
        const nid = b >> 1;
        if (nid !== id) {
          oldIdTakesNext = auxBit === 1;
          if (oldIdTakesNext) out[len++] = f[o + i + 1]!;
          if (len > runStart) {
            sink.data(id, runIndex, out, runStart, len);
            runStart = len;
            runIndex = sof + i;
          }
          id = nid;
        }
      } else {
        out[len++] = b | auxBit;
      }
      if (!oldIdTakesNext) out[len++] = f[o + i + 1]!;
    }
    const b14 = f[o + 14]!;
    if ((b14 & 1) === 0) out[len++] = b14 | (aux >> 7);
    if (len > runStart) sink.data(id, runIndex, out, runStart, len);
    // An ID in byte 14 applies from the next frame.
    this.currentId = b14 & 1 ? b14 >> 1 : id;
  }
}

function isFourFsyncs(f: Uint8Array, o: number): boolean {
  for (let i = 0; i < 16; i += 4) {
    if (f[o + i] !== 0xff || f[o + i + 1] !== 0xff || f[o + i + 2] !== 0xff || f[o + i + 3] !== 0x7f) return false;
  }
  return true;
}
