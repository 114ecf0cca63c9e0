// Packet totals of a trace: bytes, packets, errors and counts per packet type — what
// `hwtrace dump --pt FILE --stats` prints. The counting loop is the decoder's fast path with
// one array increment per packet.

import type { DecodeError } from '../../common/errors.js';
import type { ChunkSource } from '../../common/stream.js';
import { PT_END, PT_ERROR, PT_MORE, PtPacketDecoder, type PtDecoderOptions } from './decoder.js';
import { PT_MNEMONICS, PT_TYPE_COUNT } from './opcodes.js';

export interface PtStats {
  bytes: number;
  packets: number;
  errors: number;
  /** Bytes in no packet: before the first PSB and from each error to the next PSB. */
  skippedBytes: number;
  /** Packets per mnemonic, only types that occurred, in packet-type order. */
  byType: Record<string, number>;
}

export interface PtStatsOptions extends PtDecoderOptions {
  /** Called for every decode error (the CLI prints them). */
  onError?: (e: DecodeError) => void;
}

/** Decodes the whole source and counts. */
export function ptStats(source: ChunkSource, options: PtStatsOptions = {}): PtStats {
  const dec = new PtPacketDecoder(options);
  const counts = new Float64Array(PT_TYPE_COUNT);
  const onError = options.onError;
  let bytes = 0;
  let done = false;
  const drain = (): void => {
    for (;;) {
      const t = dec.next();
      if (t >= 0) counts[t]!++;
      else if (t === PT_MORE) return;
      else if (t === PT_ERROR) {
        if (onError !== undefined) onError(dec.error!);
      } else if (t === PT_END) {
        done = true;
        return;
      }
    }
  };
  for (const chunk of source) {
    bytes += chunk.length;
    dec.push(chunk);
    drain();
    if (done) break;
  }
  dec.end();
  drain();
  const byType: Record<string, number> = {};
  let packets = 0;
  for (let t = 0; t < PT_TYPE_COUNT; t++) {
    const n = counts[t]!;
    if (n === 0) continue;
    byType[PT_MNEMONICS[t]!] = n;
    packets += n;
  }
  return { bytes, packets, errors: dec.errors, skippedBytes: dec.skippedBytes, byType };
}
