// Running the pt-libipt driver (libipt's packet decoder and encoder) from tests, and hwtrace's
// decoder in the same text form, so the two can be compared line by line.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bufferChunks } from '../../../../arch/common/stream.js';
import { decodeStream, formatErrorLine, formatPacketLine, type PtDecoderOptions } from '../../../../arch/x86/index.js';

/** libipt 2.0.5 knows neither Event Trace (CFE, EVD) nor TRIG: decode as it does. */
export const LIBIPT20: PtDecoderOptions = { eventTrace: false, trig: false };

let dir: string | undefined;
let n = 0;

export function tempFile(name: string): string {
  dir ??= mkdtempSync(join(tmpdir(), 'hwtrace-pt-test-'));
  return join(dir, `${n++}-${name}`);
}

export function cleanupTemp(): void {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
}

function run(tool: string, args: string[], input?: string): string {
  const r = spawnSync(tool, args, { encoding: 'utf8', maxBuffer: 1 << 30, ...(input !== undefined ? { input } : {}) });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${tool} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** libipt's packet listing of `bytes` (pt-libipt packets), one line per packet or error. */
export function libiptPackets(tool: string, bytes: Uint8Array, extra: string[] = []): string[] {
  const f = tempFile('in.pt');
  writeFileSync(f, bytes);
  return libiptPacketsOfFile(tool, f, extra);
}

export function libiptPacketsOfFile(tool: string, file: string, extra: string[] = []): string[] {
  const out = run(tool, ['packets', ...extra, file]);
  return out === '' ? [] : out.replace(/\n$/, '').split('\n');
}

/** Encodes packet lines (`MNEMONIC k=v ...`) with libipt's pt_enc_next. */
export function libiptEncode(tool: string, lines: string[]): Uint8Array {
  const f = tempFile('enc.pt');
  run(tool, ['encode', f], lines.join('\n') + '\n');
  return new Uint8Array(readFileSync(f));
}

export interface LibiptCount {
  bytes: number;
  packets: number;
  errors: number;
  byType: Record<string, number>;
}

export function libiptCount(tool: string, file: string): LibiptCount {
  return JSON.parse(run(tool, ['count', file])) as LibiptCount;
}

/** hwtrace's decode of `bytes` in pt-libipt's text form, fed in chunks of `chunkSize`. */
export function ourPackets(bytes: Uint8Array, options: PtDecoderOptions = LIBIPT20, chunkSize = 1 << 20): string[] {
  const lines: string[] = [];
  decodeStream(bufferChunks(bytes, chunkSize), {
    packet: (p) => lines.push(formatPacketLine(p, 'libipt-2.0')),
    error: (e) => lines.push(formatErrorLine(e.offset, e.code)),
  }, options);
  return lines;
}

/** The first line where two listings differ, for a readable failure. */
export function firstDifference(a: string[], b: string[]): string | undefined {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return `line ${i + 1}: hwtrace '${a[i] ?? '(end)'}' vs libipt '${b[i] ?? '(end)'}'`;
  }
  return undefined;
}
