// Streaming over Uint8Array chunks. Sources are plain synchronous iterables of chunks, so a
// decoder can be fed from a file, a corpus member or memory alike, in bounded memory.

import { closeSync, openSync, readSync } from 'node:fs';

/** Chunks of bytes, in order. A chunk may be reused by the producer after the consumer returns. */
export type ChunkSource = Iterable<Uint8Array>;

/** Where a producer writes chunks. `end` is called once, after the last chunk. */
export interface ChunkSink {
  write(chunk: Uint8Array): void;
  end(): void;
}

/** Reads a file chunk by chunk. The yielded chunk is reused for the next read: copy to keep it. */
export function* fileChunks(path: string, chunkSize = 1 << 20): Generator<Uint8Array> {
  const fd = openSync(path, 'r');
  try {
    const buf = new Uint8Array(chunkSize);
    for (;;) {
      const n = readSync(fd, buf, 0, chunkSize, null);
      if (n <= 0) return;
      yield n === chunkSize ? buf : buf.subarray(0, n);
    }
  } finally {
    closeSync(fd);
  }
}

/** Yields one buffer as chunks of at most `chunkSize` bytes (views, no copies). */
export function* bufferChunks(data: Uint8Array, chunkSize = 1 << 20): Generator<Uint8Array> {
  for (let pos = 0; pos < data.length; pos += chunkSize) yield data.subarray(pos, Math.min(data.length, pos + chunkSize));
}

/** A sink that keeps everything in memory; for tests and small outputs. */
export class MemorySink implements ChunkSink {
  private parts: Uint8Array[] = [];
  private length = 0;
  ended = false;
  write(chunk: Uint8Array): void {
    this.parts.push(chunk.slice());
    this.length += chunk.length;
  }
  end(): void {
    this.ended = true;
  }
  /** Everything written, as one buffer. */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    let pos = 0;
    for (const p of this.parts) {
      out.set(p, pos);
      pos += p.length;
    }
    return out;
  }
}

/** A growable byte buffer (doubling), for encoders that build output before flushing it. */
export class ByteBuffer {
  buf: Uint8Array;
  length = 0;
  constructor(initial = 4096) {
    this.buf = new Uint8Array(initial);
  }
  /** Makes room for `n` more bytes and returns the position to write at. */
  reserve(n: number): number {
    const need = this.length + n;
    if (need > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < need) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.buf.subarray(0, this.length));
      this.buf = next;
    }
    return this.length;
  }
  push(byte: number): void {
    const p = this.reserve(1);
    this.buf[p] = byte;
    this.length = p + 1;
  }
  append(bytes: Uint8Array): void {
    const p = this.reserve(bytes.length);
    this.buf.set(bytes, p);
    this.length = p + bytes.length;
  }
  /** A view of what was written; valid until the next write. */
  view(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
  clear(): void {
    this.length = 0;
  }
}
