// Reading a corpus: random access by member name through the central directory, members
// decompressed chunk by chunk from disk, and every byte checked against the manifest (length and
// SHA-256) — a corpus that is cut short, altered, or missing a member is refused, naming it.

import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync } from 'node:fs';
import { Inflate } from 'fflate';
import { crc32 } from './crc32.js';
import { CorpusError, describe } from './errors.js';
import { validateManifest, type Manifest, type ManifestMember } from './manifest.js';
import { MANIFEST_NAME } from './names.js';
import { METHOD_STORE, memberDataOffset, readFully, readZipDirectory, type ZipDirectory, type ZipEntry } from './zip-format.js';

/** Compressed input is inflated in slices this big: deflate expands at most 1032×, so a slice yields at most ~4.3 MB, which keeps memory flat even for runs of zeros. */
const DEFLATE_READ = 1 << 12;
/** Stored members are read in chunks this big. */
const STORE_READ = 1 << 20;
/** manifest.json larger than this is damage, not a manifest. */
const MAX_MANIFEST = 64 << 20;
/** Default cap for `readBytes`; use `stream` beyond it. */
const DEFAULT_MAX_READ_BYTES = 256 << 20;

/** A member as the reader sees it: the manifest's entry plus how it is stored. */
export interface CorpusMember extends ManifestMember {
  compression: 'deflate' | 'store';
  compressedSize: number;
}

/** Members and bytes checked by `verify`. */
export interface VerifyResult {
  members: number;
  bytes: number;
}

export class CorpusReader {
  readonly path: string;
  /** The validated manifest. */
  readonly manifest: Manifest;
  private readonly directory: ZipDirectory;
  private readonly entries: Map<string, ZipEntry>;
  private readonly listed: Map<string, ManifestMember>;

  private constructor(path: string, manifest: Manifest, directory: ZipDirectory, entries: Map<string, ZipEntry>) {
    this.path = path;
    this.manifest = manifest;
    this.directory = directory;
    this.entries = entries;
    this.listed = new Map(manifest.members.map((m) => [m.name, m]));
  }

  /**
   * Opens a corpus: reads its central directory and manifest.json, validates the manifest, and
   * checks that the archive holds exactly the members the manifest lists, with the listed sizes.
   * Member contents are checked when they are read (or by `verify`). Throws a CorpusError.
   */
  static open(path: string): CorpusReader {
    const fd = openForRead(path, undefined);
    let directory: ZipDirectory;
    try {
      let fileSize: number;
      try {
        fileSize = fstatSync(fd).size;
      } catch (e) {
        throw new CorpusError('io', path, undefined, `cannot read: ${describe(e)}`);
      }
      directory = readZipDirectory(fd, fileSize, path);
    } finally {
      closeSync(fd);
    }
    const entries = new Map(directory.entries.map((e) => [e.name, e]));
    const manifestEntry = entries.get(MANIFEST_NAME);
    if (!manifestEntry) throw new CorpusError('missing_manifest', path, MANIFEST_NAME, 'the archive has no manifest.json: not an hwtrace corpus, or a damaged one');
    const manifest = validateManifest(parseManifestBytes(readManifestBytes(path, directory, manifestEntry), path), path);

    for (const m of manifest.members) {
      const entry = entries.get(m.name);
      if (!entry) throw new CorpusError('missing_member', path, m.name, 'the manifest lists this member but the archive does not hold it');
      if (entry.size !== m.size) {
        throw new CorpusError('size_mismatch', path, m.name, `the archive says ${entry.size} bytes, the manifest ${m.size}: the corpus was altered`);
      }
    }
    const listed = new Set(manifest.members.map((m) => m.name));
    for (const e of directory.entries) {
      if (e.name !== MANIFEST_NAME && !listed.has(e.name)) {
        throw new CorpusError('unlisted_member', path, e.name, 'the archive holds this member but the manifest does not list it (so it cannot be verified)');
      }
    }
    return new CorpusReader(path, manifest, directory, entries);
  }

  /** Every member except manifest.json, in manifest (= archive) order. */
  members(): CorpusMember[] {
    return this.manifest.members.map((m) => {
      const e = this.entries.get(m.name)!;
      return { name: m.name, size: m.size, sha256: m.sha256, compression: e.method === METHOD_STORE ? 'store' : 'deflate', compressedSize: e.compressedSize };
    });
  }

  /** True when the corpus lists a member of this name. */
  has(name: string): boolean {
    return this.listed.has(name);
  }

  /**
   * The member's content, chunk by chunk, checked as it goes: it throws as soon as the member is
   * longer than recorded or cannot be decompressed, and at the end if it is shorter or its SHA-256
   * differs. Chunks are handed out before the whole member is checked, so a consumer must treat
   * its result as good only once the generator has finished normally; an exception at any point
   * means the data is not good (drop whatever was derived from it). Stopping early skips the
   * final check. A yielded chunk may be reused for the next one: copy it to keep it.
   * Throws `missing_member` right away (not at the first `next()`) for an unknown name.
   */
  stream(name: string): Generator<Uint8Array> {
    const listed = this.lookup(name);
    return verifiedChunks(this.path, this.directory, this.entries.get(name)!, listed);
  }

  /** The whole member, in a fresh buffer, returned only once fully verified. For small members. */
  readBytes(name: string, options: { maxBytes?: number } = {}): Uint8Array {
    const listed = this.lookup(name);
    const maxBytes = options.maxBytes ?? DEFAULT_MAX_READ_BYTES;
    if (listed.size > maxBytes) {
      throw new CorpusError('too_large', this.path, name, `the member is ${listed.size} bytes, over the ${maxBytes}-byte limit for readBytes: use stream()`);
    }
    const out = new Uint8Array(listed.size);
    let pos = 0;
    for (const chunk of this.stream(name)) {
      out.set(chunk, pos); // the stream has already refused anything longer than listed.size
      pos += chunk.length;
    }
    return out;
  }

  /** Reads and checks every member. Throws a CorpusError naming the first bad one. */
  verify(): VerifyResult {
    let bytes = 0;
    for (const m of this.manifest.members) {
      for (const chunk of this.stream(m.name)) bytes += chunk.length;
    }
    return { members: this.manifest.members.length, bytes };
  }

  private lookup(name: string): ManifestMember {
    const listed = this.listed.get(name);
    if (!listed) {
      const detail = name === MANIFEST_NAME ? 'manifest.json is read by open(): use .manifest' : 'no such member in this corpus';
      throw new CorpusError('missing_member', this.path, name, detail);
    }
    return listed;
  }
}

function openForRead(path: string, member: string | undefined): number {
  try {
    return openSync(path, 'r');
  } catch (e) {
    throw new CorpusError('io', path, member, `cannot open: ${describe(e)}`);
  }
}

/** Content checked against the manifest's length and SHA-256. */
function* verifiedChunks(path: string, dir: ZipDirectory, entry: ZipEntry, listed: ManifestMember): Generator<Uint8Array> {
  const hash = createHash('sha256');
  let size = 0;
  for (const chunk of memberContent(path, dir, entry)) {
    size += chunk.length;
    if (size > listed.size) throw new CorpusError('size_mismatch', path, entry.name, `the member holds more than the ${listed.size} bytes the manifest records: the corpus was altered`);
    hash.update(chunk);
    yield chunk;
  }
  if (size !== listed.size) throw new CorpusError('size_mismatch', path, entry.name, `the member holds ${size} bytes, the manifest records ${listed.size}: the corpus was altered`);
  const digest = hash.digest('hex');
  if (digest !== listed.sha256) {
    throw new CorpusError('hash_mismatch', path, entry.name, `SHA-256 is ${digest}, the manifest records ${listed.sha256}: the member was altered`);
  }
}

/** manifest.json's bytes, checked against the central directory's length and CRC-32. */
function readManifestBytes(path: string, dir: ZipDirectory, entry: ZipEntry): Uint8Array {
  if (entry.size > MAX_MANIFEST) throw new CorpusError('bad_manifest', path, MANIFEST_NAME, `manifest.json is implausibly large (${entry.size} bytes)`);
  const out = new Uint8Array(entry.size);
  let pos = 0;
  let crc = 0;
  for (const chunk of memberContent(path, dir, entry)) {
    if (pos + chunk.length > entry.size) throw new CorpusError('size_mismatch', path, MANIFEST_NAME, `manifest.json holds more than the ${entry.size} bytes the archive records`);
    out.set(chunk, pos);
    pos += chunk.length;
    crc = crc32(chunk, crc);
  }
  if (pos !== entry.size) throw new CorpusError('size_mismatch', path, MANIFEST_NAME, `manifest.json holds ${pos} bytes, the archive records ${entry.size}`);
  if (crc !== entry.crc32) throw new CorpusError('hash_mismatch', path, MANIFEST_NAME, 'manifest.json does not match its CRC-32: it was altered');
  return out;
}

function parseManifestBytes(bytes: Uint8Array, path: string): unknown {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new CorpusError('bad_manifest', path, MANIFEST_NAME, 'manifest.json is not valid UTF-8');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new CorpusError('bad_manifest', path, MANIFEST_NAME, `manifest.json is not valid JSON: ${describe(e)}`);
  }
}

/**
 * The member's uncompressed bytes as stored, unverified (callers check them). Opens its own file
 * descriptor, closed when the generator finishes or is abandoned.
 */
function* memberContent(path: string, dir: ZipDirectory, entry: ZipEntry): Generator<Uint8Array> {
  const fd = openForRead(path, entry.name);
  try {
    const dataOffset = memberDataOffset(fd, entry, dir, path);
    const total = entry.compressedSize;
    if (entry.method === METHOD_STORE) {
      if (total !== entry.size) throw new CorpusError('bad_zip', path, entry.name, `a stored member of ${entry.size} bytes occupies ${total}: the archive is damaged`);
      const buf = new Uint8Array(Math.min(STORE_READ, Math.max(1, total)));
      for (let pos = 0; pos < total; ) {
        const n = Math.min(buf.length, total - pos);
        readFully(fd, buf, n, dataOffset + pos, path, entry.name, 'the member\'s data');
        pos += n;
        yield buf.subarray(0, n);
      }
      return;
    }
    const pending: Uint8Array[] = [];
    const inflater = new Inflate((data) => {
      if (data.length > 0) pending.push(data);
    });
    const input = new Uint8Array(Math.min(DEFLATE_READ, Math.max(1, total)));
    let pos = 0;
    do {
      const n = Math.min(input.length, total - pos);
      readFully(fd, input, n, dataOffset + pos, path, entry.name, 'the member\'s data');
      pos += n;
      try {
        inflater.push(input.subarray(0, n), pos === total);
      } catch (e) {
        throw new CorpusError('corrupt_member', path, entry.name, `the compressed data is corrupt (${describe(e)}): the member was altered or cut`);
      }
      for (let i = 0; i < pending.length; i++) yield pending[i]!;
      pending.length = 0;
    } while (pos < total);
  } finally {
    closeSync(fd);
  }
}
