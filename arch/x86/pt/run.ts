// Driving a PtPacketDecoder over a whole source: the loop every consumer would otherwise
// rewrite. The visitor sees the decoder's reused packet record (copy it to keep it).

import type { DecodeError } from '../../common/errors.js';
import { bufferChunks, type ChunkSource } from '../../common/stream.js';
import { PT_END, PT_ERROR, PT_MORE, PtPacketDecoder, type PtDecoderOptions } from './decoder.js';
import type { PtPacket } from './packet.js';

export interface PtPacketVisitor {
  packet(p: PtPacket, decoder: PtPacketDecoder): void;
  error(e: DecodeError, decoder: PtPacketDecoder): void;
}

export interface PtDecodeSummary {
  bytes: number;
  packets: number;
  errors: number;
  skippedBytes: number;
}

/** Decodes every chunk of `source` to the end, calling the visitor per packet and per error. */
export function decodeStream(source: ChunkSource, visitor: PtPacketVisitor, options: PtDecoderOptions = {}): PtDecodeSummary {
  const dec = new PtPacketDecoder(options);
  let bytes = 0;
  let packets = 0;
  const drain = (): boolean => {
    for (;;) {
      const t = dec.next();
      if (t >= 0) {
        packets++;
        visitor.packet(dec.packet, dec);
      } else if (t === PT_ERROR) visitor.error(dec.error!, dec);
      else return t === PT_END;
    }
  };
  for (const chunk of source) {
    bytes += chunk.length;
    dec.push(chunk);
    if (drain()) break;
  }
  dec.end();
  drain();
  return { bytes, packets, errors: dec.errors, skippedBytes: dec.skippedBytes };
}

/** Every packet (copied) and error of an in-memory trace, in order; for tests and small tools. */
export function decodeAll(bytes: Uint8Array, options: PtDecoderOptions = {}, chunkSize = 1 << 20): Array<PtPacket | DecodeError> {
  const out: Array<PtPacket | DecodeError> = [];
  decodeStream(bufferChunks(bytes, chunkSize), {
    packet: (p) => out.push(p.clone()),
    error: (e) => out.push(e),
  }, options);
  return out;
}

export { PT_END, PT_ERROR, PT_MORE };
