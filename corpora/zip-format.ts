// Reading the ZIP structure (PKWARE APPNOTE.TXT) for random access: the end-of-central-directory
// record locates the central directory, which lists every member with its method, sizes, CRC-32
// and the offset of its local header. fflate has no random-access reader, so this is ours.
// Only what corpora use is accepted: one disk, no ZIP64, no encryption, stored or deflated.

import { readSync } from 'node:fs';
import { CorpusError, describe } from './errors.js';
import { memberNameProblem } from './names.js';

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const EOCD_SIZE = 22;
const CENTRAL_SIZE = 46;
export const LOCAL_HEADER_SIZE = 30;
const MAX_COMMENT = 0xffff;
/** A bigger central directory than this is damage, not a corpus (65534 members fit in ~20 MiB). */
const MAX_CENTRAL_DIRECTORY = 32 << 20;

export const METHOD_STORE = 0;
export const METHOD_DEFLATE = 8;

/** One member as the central directory describes it. */
export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflated. */
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

export interface ZipDirectory {
  /** In central-directory order. */
  entries: ZipEntry[];
  /** Where the central directory starts: member data must end before it. */
  centralDirectoryOffset: number;
}

/** Reads exactly `length` bytes at `position` into a new buffer, or throws `truncated` naming `what`. */
export function readExactly(fd: number, length: number, position: number, path: string, member: string | undefined, what: string): Uint8Array {
  const buf = new Uint8Array(length);
  readFully(fd, buf, length, position, path, member, what);
  return buf;
}

/** Fills `buf[0, length)` from file `position`, or throws `truncated` (the file ends first) or `io`. */
export function readFully(fd: number, buf: Uint8Array, length: number, position: number, path: string, member: string | undefined, what: string): void {
  let got = 0;
  while (got < length) {
    let n: number;
    try {
      n = readSync(fd, buf, got, length - got, position + got);
    } catch (e) {
      throw new CorpusError('io', path, member, `cannot read ${what}: ${describe(e)}`);
    }
    if (n === 0) throw new CorpusError('truncated', path, member, `the file ends inside ${what} (at byte ${position + got} of ${position + length}): it was cut short`);
    got += n;
  }
}

function u16(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8);
}

function u32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

/** Finds and parses the central directory of the ZIP in `fd` (of `fileSize` bytes). */
export function readZipDirectory(fd: number, fileSize: number, path: string): ZipDirectory {
  const bad = (detail: string): never => {
    throw new CorpusError('bad_zip', path, undefined, detail);
  };
  const tailLength = Math.min(fileSize, EOCD_SIZE + MAX_COMMENT);
  const tailStart = fileSize - tailLength;
  const tail = readExactly(fd, tailLength, tailStart, path, undefined, 'the end of the archive');

  // The EOCD is the last record whose comment runs exactly to the end of the file.
  let eocd = -1;
  for (let at = tailLength - EOCD_SIZE; at >= 0; at--) {
    if (u32(tail, at) === SIG_EOCD && at + EOCD_SIZE + u16(tail, at + 20) === tailLength) {
      eocd = at;
      break;
    }
  }
  if (eocd < 0) {
    const head = fileSize >= 4 ? readExactly(fd, 4, 0, path, undefined, 'the start of the archive') : new Uint8Array(0);
    if (head.length === 4 && u32(head, 0) === SIG_LOCAL) {
      throw new CorpusError('truncated', path, undefined, 'the ZIP has no end-of-central-directory record: the file was cut short (or its end overwritten)');
    }
    throw new CorpusError('not_a_zip', path, undefined, fileSize === 0 ? 'the file is empty, not a ZIP corpus' : 'not a ZIP file (no end-of-central-directory record)');
  }
  const eocdOffset = tailStart + eocd;
  if (eocdOffset >= 20 && eocd >= 20 && u32(tail, eocd - 20) === SIG_ZIP64_LOCATOR) {
    throw new CorpusError('zip64_unsupported', path, undefined, 'the archive uses ZIP64 (4 GiB or more, or over 65534 members); corpora are limited to under 4 GiB');
  }
  const disk = u16(tail, eocd + 4);
  const cdDisk = u16(tail, eocd + 6);
  const entriesOnDisk = u16(tail, eocd + 8);
  const entryCount = u16(tail, eocd + 10);
  const cdSize = u32(tail, eocd + 12);
  const cdOffset = u32(tail, eocd + 16);
  if (entryCount === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    throw new CorpusError('zip64_unsupported', path, undefined, 'the archive uses ZIP64 fields; corpora are limited to under 4 GiB');
  }
  if (disk !== 0 || cdDisk !== 0 || entriesOnDisk !== entryCount) bad('multi-disk (spanned) archives are not supported');
  if (cdOffset + cdSize > eocdOffset) {
    bad(`the central directory (${cdSize} bytes at ${cdOffset}) overlaps the end record at ${eocdOffset}: the archive is damaged or cut short`);
  }
  if (cdSize > MAX_CENTRAL_DIRECTORY) bad(`the central directory is implausibly large (${cdSize} bytes)`);

  const cd = readExactly(fd, cdSize, cdOffset, path, undefined, 'the central directory');
  const entries: ZipEntry[] = [];
  const names = new Set<string>();
  let at = 0;
  for (let i = 0; i < entryCount; i++) {
    if (at + CENTRAL_SIZE > cdSize || u32(cd, at) !== SIG_CENTRAL) bad(`central directory entry ${i} is damaged (at offset ${cdOffset + at})`);
    const flags = u16(cd, at + 8);
    const method = u16(cd, at + 10);
    const crc = u32(cd, at + 16);
    const compressedSize = u32(cd, at + 20);
    const size = u32(cd, at + 24);
    const nameLength = u16(cd, at + 28);
    const extraLength = u16(cd, at + 30);
    const commentLength = u16(cd, at + 32);
    const localHeaderOffset = u32(cd, at + 42);
    const end = at + CENTRAL_SIZE + nameLength + extraLength + commentLength;
    if (end > cdSize) bad(`central directory entry ${i} runs past the directory's end`);
    const name = latin1(cd.subarray(at + CENTRAL_SIZE, at + CENTRAL_SIZE + nameLength));
    at = end;

    const why = memberNameProblem(name);
    if (why !== undefined) bad(`member ${JSON.stringify(name)} has a name corpora never use: ${why}`);
    if (names.has(name)) bad(`member ${name} appears twice in the central directory`);
    names.add(name);
    if (compressedSize === 0xffffffff || size === 0xffffffff || localHeaderOffset === 0xffffffff) {
      throw new CorpusError('zip64_unsupported', path, name, 'the member uses ZIP64 sizes (4 GiB or more); corpora are limited to under 4 GiB');
    }
    if (flags & 1) throw new CorpusError('bad_zip', path, name, 'the member is encrypted; corpora are never encrypted');
    if (method !== METHOD_STORE && method !== METHOD_DEFLATE) {
      throw new CorpusError('bad_zip', path, name, `compression method ${method} is not supported (only stored and deflated)`);
    }
    if (localHeaderOffset + LOCAL_HEADER_SIZE + compressedSize > cdOffset) {
      throw new CorpusError('bad_zip', path, name, 'the member\'s data would overlap the central directory: the archive is damaged');
    }
    entries.push({ name, method, crc32: crc, compressedSize, size, localHeaderOffset });
  }
  if (at !== cdSize) bad(`the central directory has ${cdSize - at} unexplained trailing bytes`);
  return { entries, centralDirectoryOffset: cdOffset };
}

/** Checks the member's local header against its central-directory entry; returns where its data starts. */
export function memberDataOffset(fd: number, entry: ZipEntry, dir: ZipDirectory, path: string): number {
  const header = readExactly(fd, LOCAL_HEADER_SIZE, entry.localHeaderOffset, path, entry.name, 'the member\'s local header');
  const bad = (detail: string): never => {
    throw new CorpusError('bad_zip', path, entry.name, detail);
  };
  if (u32(header, 0) !== SIG_LOCAL) bad(`no local header at offset ${entry.localHeaderOffset}: the archive is damaged`);
  if (u16(header, 8) !== entry.method) bad('the local header and the central directory disagree on the compression method');
  const nameLength = u16(header, 26);
  const extraLength = u16(header, 28);
  const name = latin1(readExactly(fd, nameLength, entry.localHeaderOffset + LOCAL_HEADER_SIZE, path, entry.name, 'the member\'s local header'));
  if (name !== entry.name) bad(`the local header names ${JSON.stringify(name)}: the archive is damaged`);
  const dataOffset = entry.localHeaderOffset + LOCAL_HEADER_SIZE + nameLength + extraLength;
  if (dataOffset + entry.compressedSize > dir.centralDirectoryOffset) bad('the member\'s data would overlap the central directory: the archive is damaged');
  return dataOffset;
}

/** Names are ASCII by construction (see names.ts); latin1 keeps any stray byte visible in errors. */
function latin1(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}
