// Shared by the corpus tests: sample headers, deterministic test data, and error matching.

import { readFileSync, writeFileSync } from 'node:fs';
import type { Test } from 'tap';
import { join } from 'node:path';
import { Rng } from '../../sim/rng.js';
import { CorpusError, CorpusReader, CorpusWriter, type CorpusErrorCode, type CorpusHeader } from '../../corpora/index.js';

export const HEADER: CorpusHeader = {
  generator: { name: 'hwtrace-test', version: '1.2.3' },
  arch: 'x86',
  seed: 42,
  spec: { workload: 'loops', threads: 2, params: { depth: 3, names: ['a', 'b'] } },
  config: { branchEn: true, cyc: false, mtcFreq: 3 },
};

/** Trace-like bytes: runs of repeated structure with random fields, so deflate has work to do. */
export function sampleBytes(length: number, seed: number): Uint8Array {
  const rng = new Rng(seed);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    const r = rng.nextU32();
    out[i] = (r & 3) === 0 ? r >>> 24 : (i & 15) * 17;
  }
  return out;
}

/** Calls `fn`, which must throw a CorpusError with `code`; returns it (or undefined after failing `t`). */
export function expectCorpusError(t: Test, fn: () => unknown, code: CorpusErrorCode, message: string): CorpusError | undefined {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof CorpusError)) {
      t.fail(`${message}: expected a CorpusError ${code}, got ${String(e)}`);
      return undefined;
    }
    t.equal(e.code, code, `${message}: code (${e.message})`);
    return e;
  }
  t.fail(`${message}: expected a CorpusError ${code}, nothing was thrown`);
  return undefined;
}

/** Writes a small corpus with a deflated, a stored and an empty member; returns its path and contents. */
export function writeSample(dir: string, file = 'sample.zip'): { path: string; contents: Map<string, Uint8Array> } {
  const path = join(dir, file);
  const contents = new Map<string, Uint8Array>([
    ['trace/cpu0.pt', sampleBytes(3000, 1)],
    ['image/code.bin', sampleBytes(700, 2)],
    ['sideband/empty', new Uint8Array(0)],
  ]);
  const w = CorpusWriter.create(path, HEADER);
  w.addBytes('trace/cpu0.pt', contents.get('trace/cpu0.pt')!);
  w.addBytes('image/code.bin', contents.get('image/code.bin')!, { compression: 'store' });
  w.addBytes('sideband/empty', contents.get('sideband/empty')!);
  w.finish({ instructions: 1000, branches: 100 });
  return { path, contents };
}

/** Opens `path` and reads every member fully; returns their contents (throws on any problem). */
export function readAll(path: string): Map<string, Uint8Array> {
  const r = CorpusReader.open(path);
  const out = new Map<string, Uint8Array>();
  for (const m of r.members()) out.set(m.name, r.readBytes(m.name));
  return out;
}

/** Writes a modified copy of `path`'s bytes to `dir/name`. */
export function alteredCopy(path: string, dir: string, name: string, change: (bytes: Uint8Array) => Uint8Array): string {
  const out = join(dir, name);
  writeFileSync(out, change(new Uint8Array(readFileSync(path))));
  return out;
}

/** Little-endian field readers for checking ZIP structures in tests. */
export function u16(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8);
}
export function u32(b: Uint8Array, at: number): number {
  return (u16(b, at) | (u16(b, at + 2) << 16)) >>> 0;
}
