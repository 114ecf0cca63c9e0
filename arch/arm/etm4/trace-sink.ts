// Several trace units sharing one sink, as cores share a funnel and an ETB/ETR: each unit gets a
// ChunkSink for its trace ID that feeds one CoreSight frame formatter, whose frames go to the
// shared output. The SyncSink offsets a unit reports stay offsets in its own (deformatted)
// stream, which is what a decoder sees after demultiplexing.

import { HwtraceError } from '../../common/errors.js';
import { ByteBuffer, type ChunkSink } from '../../common/stream.js';
import { FrameFormatter, type FormatterOptions } from '../coresight/formatter.js';
import { isValidTraceId } from '../coresight/frame.js';

export class SharedFormattedSink {
  private readonly frames = new ByteBuffer(1 << 16);
  private readonly formatter: FrameFormatter;
  private readonly open = new Set<number>();
  private ended = false;

  /** Frames go to `out` in chunks of about `chunkSize` bytes. */
  constructor(private readonly out: ChunkSink, private readonly chunkSize = 1 << 16, opts: FormatterOptions = {}) {
    this.formatter = new FrameFormatter(this.frames, opts);
  }

  /** The sink for trace ID `id`; the shared output ends when every source has ended. */
  source(id: number): ChunkSink {
    if (!isValidTraceId(id)) throw new HwtraceError('bad_option', `trace ID 0x${id.toString(16)} is not 0x01..0x6f`);
    if (this.open.has(id)) throw new HwtraceError('bad_option', `trace ID 0x${id.toString(16)} already has a sink`);
    this.open.add(id);
    return {
      write: (chunk) => this.write(id, chunk),
      end: () => this.close(id),
    };
  }

  private write(id: number, chunk: Uint8Array): void {
    this.formatter.write(id, chunk);
    if (this.frames.length >= this.chunkSize) this.spill();
  }

  private close(id: number): void {
    this.open.delete(id);
    if (this.open.size > 0 || this.ended) return;
    this.ended = true;
    this.formatter.flush();
    this.spill();
    this.out.end();
  }

  private spill(): void {
    if (this.frames.length === 0) return;
    this.out.write(this.frames.view());
    this.frames.clear();
  }
}
