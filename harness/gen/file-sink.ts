// Spooling: a run produces its trace and its truth stream at the same time, but a corpus is
// written one member at a time. Each stream goes to a temporary file as it is produced and is
// copied into the corpus afterwards, so memory stays bounded however long the run.

import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChunkSink } from '../../arch/common/stream.js';
import { fileChunks } from '../../arch/common/stream.js';

/** A ChunkSink that appends to a file, synchronously (bounded memory, no queue). */
export class FileSink implements ChunkSink {
  private fd: number;
  bytes = 0;
  constructor(readonly path: string) {
    this.fd = openSync(path, 'w');
  }
  write(chunk: Uint8Array): void {
    let done = 0;
    while (done < chunk.length) done += writeSync(this.fd, chunk, done, chunk.length - done);
    this.bytes += chunk.length;
  }
  end(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

/** Writes chunks to a new file at `path`, one at a time (bounded memory); returns the bytes written. */
export function writeChunksToFile(path: string, chunks: Iterable<Uint8Array>): number {
  const sink = new FileSink(path);
  try {
    for (const chunk of chunks) sink.write(chunk);
  } finally {
    sink.end();
  }
  return sink.bytes;
}

/** A temporary directory for one run's spooled streams, removed by `dispose`. */
export class SpoolDir {
  readonly dir = mkdtempSync(join(tmpdir(), 'hwtrace-gen-'));
  private count = 0;
  /** A new spool file sink; `label` only makes the file name readable. */
  sink(label: string): FileSink {
    return new FileSink(join(this.dir, `${this.count++}-${label.replace(/[^a-z0-9.-]/gi, '_')}`));
  }
  /** The spooled bytes of a finished sink, chunk by chunk. */
  chunks(sink: FileSink): Generator<Uint8Array> {
    return fileChunks(sink.path);
  }
  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
