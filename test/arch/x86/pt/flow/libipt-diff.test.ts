// Differential test against libipt's instruction decoder (build/native/pt-libipt insn, the
// project's C driver) on the same trace and images: intact traces, and traces with bytes flipped,
// dropped or replaced. With --resync-on-error on both sides, the instruction IPs must be the
// same, and the errors the same kind at the same trace offsets.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { formatAddr } from '../../../../../arch/common/address.js';
import { PtFlowDecoder, PtxedPrinter } from '../../../../../arch/x86/pt/flow/index.js';
import type { PtTraceOptions } from '../../../../../arch/x86/pt/trace-config.js';
import { needNativeTool } from '../../../../helpers/reference.js';
import { type SimRun, imageOf, simulate } from './corpus-helper.js';

function writeRun(dir: string, run: SimRun): void {
  const lines: string[] = [];
  run.images.forEach((im, i) => {
    writeFileSync(join(dir, `image-${i}.bin`), im.bytes);
    lines.push(`image-${i}.bin 0x${formatAddr(im.start)} ${Number.isNaN(im.cr3) ? '-' : `cr3=0x${im.cr3.toString(16)}`}`);
  });
  writeFileSync(join(dir, 'images.txt'), lines.join('\n') + '\n');
}

interface Listing {
  ips: string[];
  errors: string[];
}

function split(text: string): Listing {
  const ips: string[] = [];
  const errors: string[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('[')) {
      // ptxed's `[offset, ip: error: message]` (hex without leading zeros): compare offset and message.
      const m = /^\[([0-9a-f]+), [0-9a-f]+: (?:sync )?error: (.*)\]$/.exec(line);
      if (m) errors.push(`${m[1]} ${m[2]}`);
    } else ips.push(line);
  }
  return { ips, errors };
}

function ours(run: SimRun, trace: Uint8Array): Listing {
  const image = imageOf(run);
  let text = '';
  const printer = new PtxedPrinter(image, (s) => {
    text += s;
  });
  new PtFlowDecoder(image, printer, { resyncOnError: true }).decode(trace);
  printer.flush();
  return split(text);
}

function libipt(tool: string, dir: string, trace: Uint8Array): Listing {
  writeFileSync(join(dir, 'trace.pt'), trace);
  const r = spawnSync(tool, ['insn', '--resync-on-error', '--pt', join(dir, 'trace.pt'), '--images', join(dir, 'images.txt')], { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.error) throw r.error;
  return split(r.stdout);
}

function compare(t: Test, got: Listing, want: Listing, what: string): void {
  t.same(got.errors, want.errors, `${what}: the same errors at the same offsets`);
  let i = 0;
  const n = Math.min(got.ips.length, want.ips.length);
  while (i < n && got.ips[i] === want.ips[i]) i++;
  if (i === n && got.ips.length === want.ips.length) t.pass(`${what}: ${want.ips.length} IPs identical`);
  else t.fail(`${what}: first IP difference at ${i} (ours ${got.ips.length}, libipt ${want.ips.length})`, {
    ours: got.ips.slice(Math.max(0, i - 3), i + 3), libipt: want.ips.slice(Math.max(0, i - 3), i + 3),
  });
}

/** Deterministic byte positions for corruption. */
function positions(seed: number, count: number, size: number): number[] {
  let x = seed * 2654435761 >>> 0;
  const out: number[] = [];
  for (let k = 0; k < count; k++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out.push(x % size);
  }
  return out;
}

const FLIPS = Number(process.env['HWTRACE_FLIPS'] ?? 8);
const DROPS = Number(process.env['HWTRACE_DROPS'] ?? 5);
const SETS = Number(process.env['HWTRACE_SETS'] ?? 5);

const CASES: Array<{ workload: 'static' | 'multiproc'; seed: number; options: PtTraceOptions }> = [
  { workload: 'static', seed: 1, options: {} },
  { workload: 'multiproc', seed: 2, options: { tscEn: true, mtcEn: true, cycEn: true } },
  { workload: 'multiproc', seed: 3, options: { disRetc: true, psbFreq: 2048 } },
  { workload: 'multiproc', seed: 5, options: { os: false, psbFreq: 2048 } },
  { workload: 'multiproc', seed: 6, options: { user: false, tscEn: true, mtcEn: true } },
  { workload: 'static', seed: 7, options: { os: false, disRetc: true, tscEn: true, cycEn: true, psbFreq: 2048 } },
];

t.test('the same flow as libipt, intact and corrupted', async (t) => {
  const tool = needNativeTool(t, 'pt-libipt');
  if (!tool) return;
  const dir = mkdtempSync(join(tmpdir(), 'hwtrace-flow-diff-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const c of CASES) {
    const run = simulate(c.workload, false, c.seed, 60_000, c.options);
    writeRun(dir, run);
    const label = `${c.workload} seed ${c.seed} ${JSON.stringify(c.options)}`;
    compare(t, ours(run, run.trace), libipt(tool, dir, run.trace), `${label} intact`);
    for (let k = 0; k < FLIPS; k++) {
      const bad = run.trace.slice();
      for (const p of positions(c.seed * 100 + k, 1 + (k % 3), bad.length)) bad[p] = bad[p]! ^ (1 << (k % 8));
      compare(t, ours(run, bad), libipt(tool, dir, bad), `${label} flipped #${k}`);
    }
    for (let k = 0; k < DROPS; k++) {
      const [p] = positions(c.seed * 1000 + k, 1, run.trace.length - 8);
      const n = 1 + (k % 4);
      const bad = new Uint8Array(run.trace.length - n);
      bad.set(run.trace.subarray(0, p!), 0);
      bad.set(run.trace.subarray(p! + n), p!);
      compare(t, ours(run, bad), libipt(tool, dir, bad), `${label} dropped ${n} at ${p}`);
    }
    // A byte replaced by another: packets of other kinds appear (FUPs, TIPs, unknown opcodes).
    for (let k = 0; k < SETS; k++) {
      const [p, v] = positions(c.seed * 10000 + k, 2, run.trace.length);
      const bad = run.trace.slice();
      bad[p!] = v! & 0xff;
      compare(t, ours(run, bad), libipt(tool, dir, bad), `${label} byte ${p} set to ${v! & 0xff}`);
    }
  }
});
