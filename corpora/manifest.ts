// manifest.json: what a corpus is (generator, workload spec, seed, arch, trace config, summary)
// and what it holds (each member's length and SHA-256). Its schema lives here, with a validator
// that lists every problem it finds, each with its JSON path.

import type { ExecContext } from '../arch/common/context.js';
import { CorpusError } from './errors.js';
import { isJsonObject, type JsonObject, type JsonValue } from './json.js';
import { MANIFEST_NAME, memberNameProblem } from './names.js';

/** Identifies the file kind, so a random JSON file is not mistaken for a manifest. */
export const CORPUS_FORMAT = 'hwtrace-corpus';
/** The only format version this code writes and reads. Bump it on any change to the layout. */
export const CORPUS_FORMAT_VERSION = 1;
/** Largest member (and archive) size: ZIP without ZIP64 stores sizes and offsets in 32 bits. */
export const MAX_ZIP32_SIZE = 0xfffffffe;

/** Architecture of the traced program, named as in ExecContext. */
/** `both` when the corpus holds the same workload traced on each architecture. */
export type CorpusArch = ExecContext['arch'] | 'both';
export const CORPUS_ARCHES: readonly CorpusArch[] = ['x86', 'arm', 'both'];
const ARCHES = CORPUS_ARCHES;

/** The program that wrote the corpus. */
export interface GeneratorInfo {
  name: string;
  version: string;
}

/** One member as the manifest records it: uncompressed length and SHA-256 (lowercase hex). */
export interface ManifestMember {
  name: string;
  size: number;
  sha256: string;
}

export interface Manifest {
  format: typeof CORPUS_FORMAT;
  formatVersion: typeof CORPUS_FORMAT_VERSION;
  generator: GeneratorInfo;
  arch: CorpusArch;
  /** The seed as decimal digits (a 64-bit value does not fit a JSON number): `new Rng(BigInt(seed))`. */
  seed: string;
  /** The workload spec the corpus was generated from. */
  spec: JsonValue;
  /** Trace configuration (packet enables, timing, formatter, ...). */
  config: JsonValue;
  /** Summary counts (instructions, branches, bytes per stream, ...). */
  summary: JsonObject;
  /** Every member except manifest.json itself, in archive order. */
  members: ManifestMember[];
}

const FIELDS = ['format', 'formatVersion', 'generator', 'arch', 'seed', 'spec', 'config', 'summary', 'members'] as const;
const MAX_SEED = (1n << 64n) - 1n;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const DECIMAL = /^(0|[1-9][0-9]*)$/;

/** The seed in the manifest's decimal form; throws a TypeError unless it is an integer in [0, 2^64). */
export function normalizeSeed(seed: number | bigint | string): string {
  let v: bigint;
  if (typeof seed === 'bigint') v = seed;
  else if (typeof seed === 'number' && Number.isSafeInteger(seed)) v = BigInt(seed);
  else if (typeof seed === 'string' && DECIMAL.test(seed)) v = BigInt(seed);
  else throw new TypeError(`seed must be an integer in [0, 2^64) (a safe-integer number, a bigint or decimal digits), not ${String(seed)}`);
  if (v < 0n || v > MAX_SEED) throw new TypeError(`seed must be in [0, 2^64), not ${String(seed)}`);
  return v.toString();
}

/**
 * Checks a parsed manifest.json and returns it typed. Throws a CorpusError naming `path` and
 * manifest.json: `unsupported_version` for a format version other than ours (checked first, as a
 * newer version may have another layout), `bad_manifest` listing every schema problem otherwise.
 */
export function validateManifest(value: unknown, path: string): Manifest {
  const fail = (code: 'bad_manifest' | 'unsupported_version', detail: string): never => {
    throw new CorpusError(code, path, MANIFEST_NAME, detail);
  };
  if (!isJsonObject(value)) return fail('bad_manifest', 'the manifest must be a JSON object');
  if (value.format !== CORPUS_FORMAT) {
    return fail('bad_manifest', `"format" must be "${CORPUS_FORMAT}", not ${JSON.stringify(value.format) ?? 'missing'}: not an hwtrace corpus`);
  }
  const version = value.formatVersion;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    return fail('bad_manifest', `"formatVersion" must be a positive integer, not ${JSON.stringify(version) ?? 'missing'}`);
  }
  if (version !== CORPUS_FORMAT_VERSION) {
    const hint = version > CORPUS_FORMAT_VERSION ? 'it was written by a newer hwtrace' : 'it was written by an older hwtrace; regenerate it';
    return fail('unsupported_version', `format version ${version} is not supported (this hwtrace reads version ${CORPUS_FORMAT_VERSION}): ${hint}`);
  }

  const problems: string[] = [];
  for (const key of Object.keys(value)) {
    if (!(FIELDS as readonly string[]).includes(key)) problems.push(`unknown field "${key}"`);
  }
  for (const key of FIELDS) if (!(key in value)) problems.push(`missing field "${key}"`);

  const gen = value.generator;
  if (gen !== undefined) {
    if (!isJsonObject(gen)) problems.push('"generator" must be an object {name, version}');
    else {
      for (const k of ['name', 'version'] as const) {
        if (typeof gen[k] !== 'string' || gen[k] === '') problems.push(`"generator.${k}" must be a non-empty string`);
      }
      for (const k of Object.keys(gen)) if (k !== 'name' && k !== 'version') problems.push(`unknown field "generator.${k}"`);
    }
  }
  if (value.arch !== undefined && !ARCHES.includes(value.arch as CorpusArch)) {
    problems.push(`"arch" must be one of ${ARCHES.map((a) => `"${a}"`).join(', ')}, not ${JSON.stringify(value.arch)}`);
  }
  if (value.seed !== undefined) {
    const seed = value.seed;
    if (typeof seed !== 'string' || !DECIMAL.test(seed) || BigInt(seed) > MAX_SEED) {
      problems.push(`"seed" must be a string of decimal digits in [0, 2^64), not ${JSON.stringify(seed)}`);
    }
  }
  if (value.summary !== undefined && !isJsonObject(value.summary)) problems.push('"summary" must be an object');
  if (value.members !== undefined) checkMembers(value.members, problems);

  if (problems.length > 0) {
    const shown = problems.slice(0, 10).join('; ');
    return fail('bad_manifest', problems.length > 10 ? `${shown}; and ${problems.length - 10} more problems` : shown);
  }
  return value as unknown as Manifest;
}

function checkMembers(members: JsonValue, problems: string[]): void {
  if (!Array.isArray(members)) {
    problems.push('"members" must be an array');
    return;
  }
  const seen = new Set<string>();
  members.forEach((m, i) => {
    const at = `"members[${i}]"`;
    if (!isJsonObject(m)) {
      problems.push(`${at} must be an object {name, size, sha256}`);
      return;
    }
    const name = m.name;
    if (typeof name !== 'string') problems.push(`${at}.name must be a string`);
    else {
      const why = memberNameProblem(name);
      if (why !== undefined) problems.push(`${at}.name ${JSON.stringify(name)}: ${why}`);
      else if (name === MANIFEST_NAME) problems.push(`${at}: the manifest must not list itself`);
      else if (seen.has(name)) problems.push(`${at}: member ${name} is listed twice`);
      seen.add(name);
    }
    const size = m.size;
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 0 || size > MAX_ZIP32_SIZE) {
      problems.push(`${at}.size must be an integer in [0, ${MAX_ZIP32_SIZE}], not ${JSON.stringify(size)}`);
    }
    if (typeof m.sha256 !== 'string' || !SHA256_HEX.test(m.sha256)) problems.push(`${at}.sha256 must be 64 lowercase hex digits`);
    for (const k of Object.keys(m)) if (k !== 'name' && k !== 'size' && k !== 'sha256') problems.push(`unknown field ${at}.${k}`);
  });
}

/** The manifest's bytes: fixed field order, two-space indent, trailing newline. */
export function serializeManifest(m: Manifest): Uint8Array {
  const ordered: Record<string, unknown> = {};
  for (const key of FIELDS) ordered[key] = m[key];
  ordered.generator = { name: m.generator.name, version: m.generator.version };
  ordered.members = m.members.map(({ name, size, sha256 }) => ({ name, size, sha256 }));
  return new TextEncoder().encode(JSON.stringify(ordered, null, 2) + '\n');
}
