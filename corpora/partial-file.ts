// The file a corpus is written to: `<path>.partial` until it is complete, then renamed, so a
// crash or an error never leaves something that looks like a corpus. Writes are synchronous and
// buffered in one fixed buffer, so memory does not depend on how much is written.

import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { CorpusError, describe } from './errors.js';
import { MAX_ZIP32_SIZE } from './manifest.js';

/** Output is written to the file in pieces of about this size. */
const OUTPUT_BUFFER = 1 << 20;

/** Buffered synchronous writes with the ZIP32 size limit; renamed into place or deleted at the end. */
export class PartialFile {
  private readonly partialPath: string;
  private fd: number | undefined;
  private readonly buffer = new Uint8Array(OUTPUT_BUFFER);
  private buffered = 0;
  private total = 0;

  constructor(private readonly path: string) {
    this.partialPath = `${path}.partial`;
    try {
      this.fd = openSync(this.partialPath, 'w');
    } catch (e) {
      throw new CorpusError('io', path, undefined, `cannot create ${this.partialPath}: ${describe(e)}`);
    }
  }

  write(data: Uint8Array, member: string | undefined): void {
    if (this.total + data.length > MAX_ZIP32_SIZE) {
      throw new CorpusError('too_large', this.path, member, 'the corpus would reach 4 GiB; corpora must stay under 4 GiB (ZIP64 is not supported)');
    }
    this.total += data.length;
    if (data.length >= OUTPUT_BUFFER) {
      this.flush();
      this.writeAll(data);
      return;
    }
    if (this.buffered + data.length > OUTPUT_BUFFER) this.flush();
    this.buffer.set(data, this.buffered);
    this.buffered += data.length;
  }

  /** Flushes, closes and moves the partial file to its final name. */
  close(finalPath: string): void {
    this.flush();
    const fd = this.fd;
    this.fd = undefined;
    try {
      if (fd !== undefined) closeSync(fd);
      renameSync(this.partialPath, finalPath);
    } catch (e) {
      throw new CorpusError('io', this.path, undefined, `cannot move ${this.partialPath} into place: ${describe(e)}`);
    }
  }

  /** Closes and deletes the partial file, ignoring errors (it is already a failure path). */
  discard(): void {
    const fd = this.fd;
    this.fd = undefined;
    this.buffered = 0;
    if (fd === undefined) return;
    try {
      closeSync(fd);
    } catch {
      // nothing more to do: the file is deleted next
    }
    rmSync(this.partialPath, { force: true });
  }

  private flush(): void {
    if (this.buffered === 0) return;
    this.writeAll(this.buffer.subarray(0, this.buffered));
    this.buffered = 0;
  }

  private writeAll(data: Uint8Array): void {
    if (this.fd === undefined) throw new CorpusError('io', this.path, undefined, 'the output file is already closed');
    let pos = 0;
    try {
      while (pos < data.length) pos += writeSync(this.fd, data, pos, data.length - pos);
    } catch (e) {
      throw new CorpusError('io', this.path, undefined, `cannot write ${this.partialPath}: ${describe(e)}`);
    }
  }
}
