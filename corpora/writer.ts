// Writing a corpus: members stream through fflate's Zip into the file with synchronous writes as
// fflate emits data, so memory stays bounded whatever the member size. Written as `<path>.partial`
// and renamed on finish, so a crash never leaves something that looks like a corpus.
//
// Determinism: fixed entry timestamp and attributes, members in the order they are written,
// manifest.json last, canonical JSON, and deflate input re-blocked into fixed-size pushes so the
// compressed bytes depend on the content only, not on how the caller chunked it.

import { createHash, type Hash } from 'node:crypto';
import { Zip, ZipDeflate, ZipPassThrough } from 'fflate';
import type { ChunkSink } from '../arch/common/stream.js';
import { CorpusError, describe } from './errors.js';
import { canonicalJson, isJsonObject, type JsonValue } from './json.js';
import {
  CORPUS_FORMAT,
  CORPUS_FORMAT_VERSION,
  MAX_ZIP32_SIZE,
  normalizeSeed,
  serializeManifest,
  validateManifest,
  type CorpusArch,
  CORPUS_ARCHES,
  type GeneratorInfo,
  type Manifest,
  type ManifestMember,
} from './manifest.js';
import { MANIFEST_NAME, memberNameProblem } from './names.js';
import { PartialFile } from './partial-file.js';

/**
 * Every entry's modification time. fflate reads it as local time, and an ISO date-time without
 * an offset parses as local time, so the stored DOS fields are 1980-01-01 00:00:00 in any time
 * zone (the earliest DOS time, as reproducible-build tools use).
 */
const FIXED_ENTRY_TIME = '1980-01-01T00:00:00';
/** "Made by" Unix, so unzip applies the permissions below. */
const OS_UNIX = 3;
/** A regular file, rw-r--r--, in the high 16 bits of the external attributes. */
const REGULAR_FILE_0644 = (0o100644 << 16) >>> 0;
/** Deflate input is pushed in blocks of exactly this size (fflate's natural block size). */
const DEFLATE_BLOCK = 1 << 16;
/** The end-of-central-directory count is 16 bits and 0xffff means ZIP64; one slot is the manifest. */
const MAX_MEMBERS = 0xfffe - 1;

/** What the manifest says about the corpus, given when the writer is created. */
export interface CorpusHeader {
  /** The program writing the corpus, e.g. `{ name: 'hwtrace', version: '0.1.0' }`. */
  generator: GeneratorInfo;
  arch: CorpusArch;
  /** Integer in [0, 2^64): a safe-integer number, a bigint, or decimal digits. */
  seed: number | bigint | string;
  /** The workload spec; any plain JSON value (stored with object keys sorted). */
  spec: unknown;
  /** The trace configuration; any plain JSON value. */
  config: unknown;
}

export type DeflateLevel = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;

export interface MemberOptions {
  /** `deflate` (the default) or `store`, for data that does not compress (already compressed, random). */
  compression?: 'deflate' | 'store';
  /** Deflate level, 1 = fastest .. 9 = smallest; default 6. Part of the output: keep it fixed for reproducible corpora. */
  level?: DeflateLevel;
}

/** A member being written. Chunks may be reused by the caller as soon as `write` returns. */
export interface CorpusMemberSink extends ChunkSink {
  readonly name: string;
  /** Bytes written so far. */
  readonly size: number;
  /** Ends the member; returns its manifest entry (size and SHA-256). */
  end(): ManifestMember;
}

type WriterState = 'open' | 'finished' | 'failed';

/**
 * Writes one corpus file. Members are written one at a time, in the order they appear in the
 * archive; `finish` adds manifest.json and renames `<path>.partial` to `path`. Any failure while
 * writing (I/O, a member reaching 4 GiB) deletes the partial file and makes later calls throw.
 */
export class CorpusWriter {
  readonly path: string;
  private readonly header: Omit<Manifest, 'summary' | 'members'>;
  private readonly output: PartialFile;
  private readonly zip: Zip;
  private readonly members: ManifestMember[] = [];
  private readonly names = new Set<string>();
  private current: MemberWriter | undefined;
  private state: WriterState = 'open';
  private failure: CorpusError | undefined;

  private constructor(path: string, header: Omit<Manifest, 'summary' | 'members'>) {
    this.path = path;
    this.header = header;
    this.output = new PartialFile(path);
    this.zip = new Zip((err, data) => {
      if (err) throw err instanceof CorpusError ? err : new CorpusError('io', path, this.current?.name, `ZIP writing failed: ${describe(err)}`);
      this.output.write(data, this.current?.name);
    });
  }

  /** Starts a corpus at `path` (written as `<path>.partial` until `finish`). Checks `header` first. */
  static create(path: string, header: CorpusHeader): CorpusWriter {
    const bad = (detail: string): never => {
      throw new CorpusError('bad_manifest', path, MANIFEST_NAME, detail);
    };
    const gen: unknown = header.generator;
    if (!isJsonObject(gen) || typeof gen.name !== 'string' || gen.name === '' || typeof gen.version !== 'string' || gen.version === '') {
      bad('generator must be {name, version} with non-empty strings');
    }
    if (!CORPUS_ARCHES.includes(header.arch)) bad(`arch must be one of ${CORPUS_ARCHES.join(', ')}, not ${JSON.stringify(header.arch)}`);
    let seed = '';
    let spec: JsonValue = null;
    let config: JsonValue = null;
    try {
      seed = normalizeSeed(header.seed);
      spec = canonicalJson(header.spec, 'spec');
      config = canonicalJson(header.config, 'config');
    } catch (e) {
      return bad(describe(e));
    }
    return new CorpusWriter(path, {
      format: CORPUS_FORMAT,
      formatVersion: CORPUS_FORMAT_VERSION,
      generator: { name: header.generator.name, version: header.generator.version },
      arch: header.arch,
      seed,
      spec,
      config,
    });
  }

  /** Opens the next member for streaming. Only one member may be open at a time. */
  member(name: string, options: MemberOptions = {}): CorpusMemberSink {
    this.checkUsable(name);
    if (this.current) this.misuse(name, `member ${this.current.name} is still open: end it before starting another`);
    const why = memberNameProblem(name);
    if (why !== undefined) throw new CorpusError('bad_member_name', this.path, name, why);
    if (name === MANIFEST_NAME) throw new CorpusError('bad_member_name', this.path, name, 'manifest.json is written by the writer itself');
    if (this.names.has(name)) this.misuse(name, 'a member with this name was already written');
    if (this.members.length >= MAX_MEMBERS) throw new CorpusError('too_large', this.path, name, `a corpus holds at most ${MAX_MEMBERS} members (ZIP64 is not supported)`);
    const compression = options.compression ?? 'deflate';
    const level = options.level ?? 6;
    if (compression !== 'deflate' && compression !== 'store') this.misuse(name, `compression must be "deflate" or "store", not ${JSON.stringify(compression)}`);
    if (!Number.isInteger(level) || level < 1 || level > 9) this.misuse(name, `deflate level must be an integer 1..9, not ${String(level)}`);
    return this.fatal(name, () => {
      this.names.add(name);
      const entry = compression === 'store' ? new ZipPassThrough(name) : new ZipDeflate(name, { level });
      entry.mtime = FIXED_ENTRY_TIME;
      entry.os = OS_UNIX;
      entry.attrs = REGULAR_FILE_0644;
      this.zip.add(entry);
      const member = new MemberWriter(this, name, entry, compression === 'deflate');
      this.current = member;
      return member;
    });
  }

  /** Writes a whole member from memory (for small members). Returns its manifest entry. */
  addBytes(name: string, bytes: Uint8Array, options: MemberOptions = {}): ManifestMember {
    const sink = this.member(name, options);
    sink.write(bytes);
    return sink.end();
  }

  /**
   * Writes manifest.json (with `summary`, any plain JSON object), the central directory, and
   * renames the file into place. Returns the manifest as written.
   */
  finish(summary: unknown = {}): Manifest {
    this.checkUsable(undefined);
    if (this.current) this.misuse(this.current.name, 'the member is still open: end it before finishing the corpus');
    let canonicalSummary: JsonValue;
    try {
      canonicalSummary = canonicalJson(summary, 'summary');
    } catch (e) {
      throw new CorpusError('bad_manifest', this.path, MANIFEST_NAME, describe(e));
    }
    if (!isJsonObject(canonicalSummary)) throw new CorpusError('bad_manifest', this.path, MANIFEST_NAME, 'summary must be a JSON object');
    const manifest: Manifest = { ...this.header, summary: canonicalSummary, members: this.members.slice() };
    validateManifest(manifest, this.path); // a self-check: what we write must read back
    return this.fatal(MANIFEST_NAME, () => {
      const entry = new ZipDeflate(MANIFEST_NAME, { level: 9 });
      entry.mtime = FIXED_ENTRY_TIME;
      entry.os = OS_UNIX;
      entry.attrs = REGULAR_FILE_0644;
      this.zip.add(entry);
      entry.push(serializeManifest(manifest), true);
      this.zip.end();
      this.output.close(this.path);
      this.state = 'finished';
      return manifest;
    });
  }

  /** Stops writing and deletes the partial file. Safe to call at any time, more than once. */
  abort(): void {
    if (this.state === 'open') this.state = 'failed';
    this.current = undefined;
    this.output.discard();
  }

  /** @internal Called by MemberWriter for every step that touches fflate or the file. */
  fatal<T>(member: string | undefined, step: () => T): T {
    try {
      return step();
    } catch (e) {
      const err = e instanceof CorpusError ? e : new CorpusError('io', this.path, member, `writing failed: ${describe(e)}`);
      this.failure = err;
      this.abort();
      throw err;
    }
  }

  /** @internal */
  checkUsable(member: string | undefined): void {
    if (this.state === 'finished') this.misuse(member, 'the corpus is already finished');
    if (this.state === 'failed') this.misuse(member, `the writer stopped after an earlier error${this.failure ? `: ${this.failure.message}` : ' (aborted)'}`);
  }

  /** @internal */
  memberEnded(member: MemberWriter, entry: ManifestMember): void {
    this.members.push(entry);
    if (this.current === member) this.current = undefined;
  }

  /** @internal */
  isCurrent(member: MemberWriter): boolean {
    return this.current === member;
  }

  private misuse(member: string | undefined, detail: string): never {
    throw new CorpusError('writer_misuse', this.path, member, detail);
  }
}

/** The sink for one member: counts, hashes, and feeds fflate in fixed-size deflate blocks. */
class MemberWriter implements CorpusMemberSink {
  readonly name: string;
  size = 0;
  private readonly writer: CorpusWriter;
  private readonly entry: ZipDeflate | ZipPassThrough;
  private readonly hash: Hash = createHash('sha256');
  /** Deflate only: input waiting to fill a block. */
  private readonly block: Uint8Array | undefined;
  private blockLength = 0;
  private ended = false;

  constructor(writer: CorpusWriter, name: string, entry: ZipDeflate | ZipPassThrough, deflate: boolean) {
    this.writer = writer;
    this.name = name;
    this.entry = entry;
    this.block = deflate ? new Uint8Array(DEFLATE_BLOCK) : undefined;
  }

  write(chunk: Uint8Array): void {
    this.checkOpen();
    if (chunk.length === 0) return;
    this.writer.fatal(this.name, () => {
      if (this.size + chunk.length > MAX_ZIP32_SIZE) {
        throw new CorpusError('too_large', this.writer.path, this.name, `the member would reach ${this.size + chunk.length} bytes; members must stay under 4 GiB (ZIP64 is not supported)`);
      }
      this.size += chunk.length;
      this.hash.update(chunk);
      const block = this.block;
      if (!block) {
        this.entry.push(chunk, false);
        return;
      }
      let pos = 0;
      while (pos < chunk.length) {
        const n = Math.min(chunk.length - pos, DEFLATE_BLOCK - this.blockLength);
        block.set(chunk.subarray(pos, pos + n), this.blockLength);
        this.blockLength += n;
        pos += n;
        if (this.blockLength === DEFLATE_BLOCK) {
          this.entry.push(block, false); // fflate copies it before returning
          this.blockLength = 0;
        }
      }
    });
  }

  end(): ManifestMember {
    this.checkOpen();
    return this.writer.fatal(this.name, () => {
      const rest = this.block ? this.block.subarray(0, this.blockLength) : new Uint8Array(0);
      this.entry.push(rest, true);
      this.ended = true;
      const entry: ManifestMember = { name: this.name, size: this.size, sha256: this.hash.digest('hex') };
      this.writer.memberEnded(this, entry);
      return entry;
    });
  }

  private checkOpen(): void {
    this.writer.checkUsable(this.name);
    if (this.ended || !this.writer.isCurrent(this)) throw new CorpusError('writer_misuse', this.writer.path, this.name, 'the member is already ended');
  }
}
