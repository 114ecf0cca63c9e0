// The one error a corpus operation throws. It names the corpus file and, where one is involved,
// the member, so the CLI can print a single line a user can act on.

import { HwtraceError } from '../arch/common/errors.js';

/**
 * Stable codes, for tests and `--format json`:
 * - `io`: the file cannot be opened, read or written.
 * - `not_a_zip`: the file is not a ZIP archive at all.
 * - `truncated`: the file was cut short (a ZIP start, but its end is missing or a member runs past it).
 * - `bad_zip`: the ZIP structure is damaged or uses features corpora never write.
 * - `zip64_unsupported`: the archive (or a member) needs ZIP64, i.e. is 4 GiB or more.
 * - `too_large`: a write would need ZIP64, or `readBytes` was asked for a member too big for memory.
 * - `missing_manifest`: no `manifest.json` member.
 * - `bad_manifest`: `manifest.json` is not valid JSON or does not follow the schema.
 * - `unsupported_version`: the manifest's format version is not one this code reads.
 * - `missing_member`: a member is listed in the manifest but absent, or asked for and absent.
 * - `unlisted_member`: the ZIP holds a member the manifest does not list (so it has no hash).
 * - `size_mismatch`: a member's length differs from the recorded one.
 * - `hash_mismatch`: a member's content differs from its recorded SHA-256 (CRC-32 for the manifest).
 * - `corrupt_member`: a member's compressed data cannot be decompressed.
 * - `bad_member_name`: a member name that could escape a directory or is otherwise not allowed.
 * - `writer_misuse`: the writer was called out of order (two members open, write after end, ...).
 */
export type CorpusErrorCode =
  | 'io'
  | 'not_a_zip'
  | 'truncated'
  | 'bad_zip'
  | 'zip64_unsupported'
  | 'too_large'
  | 'missing_manifest'
  | 'bad_manifest'
  | 'unsupported_version'
  | 'missing_member'
  | 'unlisted_member'
  | 'size_mismatch'
  | 'hash_mismatch'
  | 'corrupt_member'
  | 'bad_member_name'
  | 'writer_misuse';

/** A refused corpus or a failed corpus write: `corpus <path>[, member <name>]: <what>`. */
export class CorpusError extends HwtraceError {
  override readonly code: CorpusErrorCode;
  /** The corpus file. */
  readonly path: string;
  /** The member concerned, when there is one. */
  readonly member: string | undefined;
  /** What went wrong, without the path/member prefix. */
  readonly detail: string;

  constructor(code: CorpusErrorCode, path: string, member: string | undefined, detail: string) {
    super(code, `corpus ${path}${member === undefined ? '' : `, member ${member}`}: ${detail}`);
    this.name = 'CorpusError';
    this.code = code;
    this.path = path;
    this.member = member;
    this.detail = detail;
  }
}

/** The message of whatever was thrown, for wrapping foreign errors (fs, fflate) into a CorpusError. */
export function describe(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
