// CoreSight frame formatter: interleaves per-ID byte streams into 16-byte frames, as a trace
// funnel + ETB/ETR (memory mode) or a TPIU (FSYNC packets between frames) would.
//
// An ID byte goes out only when the ID changes. When the change falls on an odd byte, the
// previous data byte moves after the ID byte with its aux bit set ("belongs to the old ID"),
// so no byte is wasted. flush() pads the last frame with the null ID.

import { ByteBuffer } from '../../common/stream.js';
import { FRAME_SIZE, FSYNC, NULL_TRACE_ID, isValidTraceId, type FrameMode } from './frame.js';

export interface FormatterOptions {
  mode?: FrameMode;
  /** TPIU mode: an FSYNC before every `fsyncEvery` frames (default 1: before each frame). */
  fsyncEvery?: number;
}

export class FrameFormatter {
  readonly mode: FrameMode;
  readonly fsyncEvery: number;
  /** Frames written so far. */
  frames = 0;

  private readonly out: ByteBuffer;
  private readonly f = new Uint8Array(FRAME_SIZE);
  private pos = 0;
  private aux = 0;
  /** The ID a deformatter would currently assign data to (-1: none yet). */
  private id = -1;

  /** Frames are appended to `out` (a new ByteBuffer if none is given). */
  constructor(out: ByteBuffer = new ByteBuffer(1 << 16), opts: FormatterOptions = {}) {
    this.out = out;
    this.mode = opts.mode ?? 'memory';
    this.fsyncEvery = Math.max(1, opts.fsyncEvery ?? 1);
  }

  /** The formatted bytes so far (whole frames only). */
  get output(): ByteBuffer {
    return this.out;
  }

  /** Appends data[start, end) of trace source `id` (0x01..0x6F). */
  write(id: number, data: Uint8Array, start = 0, end = data.length): void {
    if (!isValidTraceId(id)) throw new RangeError(`trace ID 0x${id.toString(16)} is null or reserved`);
    for (let i = start; i < end; i++) this.put(id, data[i]!);
  }

  /** Completes the current frame with null-ID padding (nothing to do on a frame boundary). */
  flush(): void {
    while (this.pos !== 0) this.put(NULL_TRACE_ID, 0);
  }

  /** Adds an FSYNC packet now; only valid on a frame boundary (TPIU mode). */
  fsync(): void {
    if (this.pos !== 0) throw new Error('FSYNC can only be written between frames');
    this.out.append(FSYNC);
  }

  private put(id: number, b: number): void {
    const f = this.f;
    if (id !== this.id) {
      let p = this.pos;
      if (p & 1) {
        // Move the previous data byte after the ID byte and mark it as the old ID's.
        const n = (p - 1) >> 1;
        const prev = f[p - 1]! | ((this.aux >> n) & 1);
        f[p - 1] = (id << 1) | 1;
        this.aux |= 1 << n;
        f[p] = prev;
        p++;
      } else {
        f[p] = (id << 1) | 1;
        this.aux &= ~(1 << (p >> 1));
        p++;
        if (p === 15) {
          this.pos = p;
          this.id = id;
          this.endFrame();
          p = 0;
        }
      }
      this.pos = p;
      this.id = id;
    }
    let p = this.pos;
    if (p & 1) f[p] = b;
    else {
      f[p] = b & 0xfe;
      if (b & 1) this.aux |= 1 << (p >> 1);
      else this.aux &= ~(1 << (p >> 1));
    }
    p++;
    this.pos = p;
    if (p === 15) this.endFrame();
  }

  private endFrame(): void {
    this.f[15] = this.aux;
    if (this.mode === 'tpiu' && this.frames % this.fsyncEvery === 0) this.out.append(FSYNC);
    this.out.append(this.f);
    this.frames++;
    this.pos = 0;
    this.aux = 0;
  }
}
