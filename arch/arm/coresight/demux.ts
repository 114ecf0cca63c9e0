// Routes deformatted data to one packet decoder per trace ID.
//
// Two ways to deliver:
// - immediate: every run goes to its decoder at once, so packets of different IDs come out in
//   the order OpenCSD prints them (by where each packet completes in the formatted buffer);
// - batched: runs are gathered per ID and each decoder gets one block per input chunk (with a
//   run table for the trace indices) when flush() is called — fewer calls, for throughput.

import type { DecodeError } from '../../common/errors.js';
import type { FrameSink } from './deformatter.js';
import { FIRST_RESERVED_TRACE_ID, NULL_TRACE_ID } from './frame.js';
import { Lane } from './lane.js';

/** What the demux drives: a packet decoder (Etm4PacketDecoder fits). */
export interface IdStreamDecoder {
  pushRange(data: Uint8Array, start: number, end: number, index: number): void;
  pushMapped(data: Uint8Array, start: number, end: number, runOff: Int32Array, runIdx: Float64Array, runs: number): void;
  end(): void;
  reset(): void;
}

export interface DemuxOptions {
  /** Deliver each run at once (listing order) instead of per chunk. Default false. */
  immediate?: boolean;
  error?: (e: DecodeError) => void;
}

export class CoresightDemux implements FrameSink {
  /** Immediate mode: bytes seen per trace ID (index 0..127); index 128 counts data before any ID byte. */
  readonly bytesById = new Float64Array(129);
  /** Immediate mode: bytes dropped (null/reserved IDs, IDs with no decoder, data before any ID). */
  droppedBytes = 0;

  private readonly decoders: (IdStreamDecoder | undefined)[] = new Array(128).fill(undefined);
  private readonly batches: (Lane | undefined)[] = new Array(128).fill(undefined);
  private readonly active: number[] = [];
  private readonly immediate: boolean;
  private readonly onError: ((e: DecodeError) => void) | undefined;

  constructor(opts: DemuxOptions = {}) {
    this.immediate = opts.immediate ?? false;
    this.onError = opts.error;
  }

  /** Attaches the decoder for one trace ID (0x01..0x6F). */
  attach(id: number, decoder: IdStreamDecoder): void {
    if (!(id > NULL_TRACE_ID && id < FIRST_RESERVED_TRACE_ID)) throw new RangeError(`trace ID 0x${id.toString(16)} is null or reserved`);
    this.decoders[id] = decoder;
    this.batches[id] = new Lane();
    this.active.push(id);
  }

  /** Batched mode: the per-ID lanes the deformatter fills directly (undefined in immediate mode). */
  get lanes(): readonly (Lane | undefined)[] | undefined {
    return this.immediate ? undefined : this.batches;
  }

  decoder(id: number): IdStreamDecoder | undefined {
    return this.decoders[id];
  }

  /** Trace IDs with an attached decoder, in attach order. */
  get ids(): readonly number[] {
    return this.active;
  }

  data(id: number, index: number, buf: Uint8Array, start: number, end: number): void {
    const n = end - start;
    const k = id < 0 ? 128 : id;
    this.bytesById[k] = this.bytesById[k]! + n;
    const d = id >= 0 ? this.decoders[id] : undefined;
    if (d === undefined) {
      this.droppedBytes += n;
      return;
    }
    if (this.immediate) d.pushRange(buf, start, end, index);
    else this.batches[id]!.append(buf, start, end, index);
  }

  reset(): void {
    this.flush();
    for (const id of this.active) this.decoders[id]?.reset();
  }

  error(e: DecodeError): void {
    this.onError?.(e);
  }

  /** Batched mode: hands the gathered data to the decoders. Call after each input chunk. */
  flush(): void {
    if (this.immediate) return;
    for (const id of this.active) {
      const b = this.batches[id]!;
      if (b.length === 0) continue;
      this.decoders[id]!.pushMapped(b.data, 0, b.length, b.runOff, b.runIdx, b.runs);
      b.clear();
    }
  }

  /** End of trace: flush and end every decoder. */
  end(): void {
    this.flush();
    for (const id of this.active) this.decoders[id]!.end();
  }
}
