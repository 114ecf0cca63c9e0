// ptxed's text, ours against libipt's: PtxedPrinter over PtFlowDecoder (what `hwtrace decode
// --pt` prints with --no-inst) against `pt-libipt ptxed` (libipt 2.0.5's decoders printed as
// ptxed prints them, XED aside), line for line, for each printing option, with the instruction
// decoder and with the block decoder, on simulator traces intact, corrupted and cut. Lines that
// differ are listed in the failure. The columns with the decoder's numbers (--offset: libipt's
// decoder position; --time, --event:time, ticks) are compared as the rest.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { formatAddr } from '../../../../../arch/common/address.js';
import { PtFlowDecoder, PtxedPrinter } from '../../../../../arch/x86/pt/flow/index.js';
import { ptCpuid15, ptNominalFreq } from '../../../../../arch/x86/pt/trace-clock.js';
import type { PtTraceOptions } from '../../../../../arch/x86/pt/trace-config.js';
import { ptFlowOptions, ptxedPrintOptions, statFlags } from '../../../../../harness/cli/decode-pt.js';
import { needNativeTool } from '../../../../helpers/reference.js';
import { type SimRun, imageOf, simulate } from './corpus-helper.js';

/** ptxed's command line (without --pt/--raw) → our argv record, as yargs would give it. */
function argvOf(args: string[]): Record<string, unknown> {
  const argv: Record<string, unknown> = { 'no-inst': true };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!.slice(2);
    if (['mtc-freq', 'nom-freq', 'cpuid-0x15.eax', 'cpuid-0x15.ebx', 'cpu'].includes(a)) argv[a] = args[++i];
    else argv[a] = true;
  }
  return argv;
}

function ours(run: SimRun, trace: Uint8Array, args: string[]): string {
  const argv = argvOf(args);
  const image = imageOf(run);
  let text = '';
  const printer = new PtxedPrinter(image, (s) => {
    text += s;
  }, ptxedPrintOptions(argv));
  const dec = new PtFlowDecoder(image, printer, ptFlowOptions(argv));
  printer.attach(dec);
  dec.decode(trace);
  printer.finish();
  const stat = statFlags(argv);
  if (stat) printer.printStats(stat.insn, stat.blocks);
  printer.flush();
  printer.dispose();
  return text;
}

function writeImages(dir: string, run: SimRun): void {
  const lines: string[] = [];
  run.images.forEach((im, i) => {
    writeFileSync(join(dir, `image-${i}.bin`), im.bytes);
    lines.push(`image-${i}.bin 0x${formatAddr(im.start)} ${Number.isNaN(im.cr3) ? '-' : `cr3=0x${im.cr3.toString(16)}`}`);
  });
  writeFileSync(join(dir, 'images.txt'), lines.join('\n') + '\n');
}

function libipt(tool: string, dir: string, trace: Uint8Array, args: string[]): string {
  writeFileSync(join(dir, 'trace.pt'), trace);
  const r = spawnSync(tool, ['ptxed', '--pt', join(dir, 'trace.pt'), '--images', join(dir, 'images.txt'), ...args], { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.error) throw r.error;
  if (r.status !== 0 && r.status !== 1) throw new Error(`pt-libipt ptxed ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Line-for-line equality; on failure the first differing lines with some context. */
function sameText(t: Test, got: string, want: string, what: string): void {
  const a = got.split('\n');
  const b = want.split('\n');
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  if (i === a.length && i === b.length) {
    t.pass(`${what}: ${b.length - 1} lines identical`);
    return;
  }
  t.fail(`${what}: first difference at line ${i + 1} (ours ${a.length - 1} lines, libipt ${b.length - 1})`, {
    ours: a.slice(Math.max(0, i - 3), i + 4), libipt: b.slice(Math.max(0, i - 3), i + 4),
  });
}

/** Deterministic byte positions for corruption. */
function positions(seed: number, count: number, size: number): number[] {
  let x = (seed * 2654435761) >>> 0;
  const out: number[] = [];
  for (let k = 0; k < count; k++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out.push(x % size);
  }
  return out;
}

const CASES: Array<{ workload: 'static' | 'multiproc'; seed: number; options: PtTraceOptions }> = [
  { workload: 'multiproc', seed: 2, options: { tscEn: true, mtcEn: true, mtcFreq: 3, cycEn: true } },
  { workload: 'static', seed: 1, options: { psbFreq: 2048 } },
  { workload: 'multiproc', seed: 3, options: { disRetc: true, psbFreq: 2048 } },
  { workload: 'multiproc', seed: 5, options: { os: false, psbFreq: 2048, tscEn: true } },
];

/** Printing options (ptxed's), each with the instruction decoder and the block decoder. */
const PRINTS: string[][] = [
  [],
  ['--block:show-blocks', '--stat'],
  ['--block:show-blocks', '--block:end-on-call', '--stat:blocks', '--stat:insn'],
  ['--block:show-blocks', '--block:end-on-jump', '--block:end-on-call'],
  ['--event:ip', '--quiet', '--stat'],
  ['--quiet', '--check'],
  // The decoder's event times (libipt's running time at the event packet) and ticks.
  ['--time', '--event:time', '--event:ip'],
  ['--event:tick', '--event:time', '--time', '--event:ip'],
  ['--event:tick', '--offset', '--event:ip'],
  // libipt's decoder position (ptxed takes it before each instruction and event).
  ['--offset', '--block:show-blocks'],
  ['--offset', '--event:ip', '--time', '--event:time', '--stat'],
];

/** How many lines differ and the first of them, for a report. */
function lineDiff(got: string, want: string): string {
  const a = got.split('\n');
  const b = want.split('\n');
  let n = Math.abs(a.length - b.length);
  let first = -1;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] === b[i]) continue;
    n++;
    if (first < 0) first = i;
  }
  if (n === 0) return 'identical';
  const i = first < 0 ? Math.min(a.length, b.length) : first;
  return `${n} lines differ, first at line ${i + 1}: ours ${JSON.stringify(a[i] ?? '(end)')}, libipt ${JSON.stringify(b[i] ?? '(end)')}`;
}

t.test('ptxed text: ours = libipt, option by option, both decoders, intact, corrupted and cut traces', async (t) => {
  const tool = needNativeTool(t, 'pt-libipt');
  if (!tool) return;
  const dir = mkdtempSync(join(tmpdir(), 'hwtrace-ptxed-diff-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const c of CASES) {
    const run = simulate(c.workload, false, c.seed, 40_000, c.options);
    writeImages(dir, run);
    const { eax, ebx } = ptCpuid15(run.machine.clock);
    const timing = ['--resync-on-error', '--mtc-freq', String(run.mtcFreq), '--cpuid-0x15.eax', String(eax), '--cpuid-0x15.ebx', String(ebx), '--nom-freq', String(ptNominalFreq(run.machine.clock))];
    const traces: Array<[string, Uint8Array]> = [['intact', run.trace]];
    for (let k = 0; k < 3; k++) {
      const bad = run.trace.slice();
      for (const p of positions(c.seed * 100 + k, 1 + k, bad.length)) bad[p] = bad[p]! ^ (1 << (k + 2));
      traces.push([`flipped #${k}`, bad]);
    }
    const [p] = positions(c.seed * 1000, 1, run.trace.length - 8);
    traces.push([`dropped 3 at ${p}`, new Uint8Array([...run.trace.subarray(0, p!), ...run.trace.subarray(p! + 3)])]);
    // Cut short while tracing (a full trace buffer), often inside a packet: libipt uses what
    // came before the cut packet and ends without an error.
    for (const cut of positions(c.seed * 7, 3, run.trace.length)) traces.push([`cut at ${cut}`, run.trace.subarray(0, cut)]);
    const label = `${c.workload} seed ${c.seed} ${JSON.stringify(c.options)}`;
    for (const [name, trace] of traces) {
      // The printer can be judged only where the flow decoder agrees with libipt's instruction
      // decoder (libipt-diff.test.ts holds the decoder to that).
      const base = ['--insn-decoder', ...timing];
      const flow = lineDiff(ours(run, trace, base), libipt(tool, dir, trace, base));
      // A cut trace is no corruption: the flow must be libipt's.
      if (name.startsWith('cut')) t.equal(flow, 'identical', `${label} ${name}: the flow equals libipt's`);
      if (flow !== 'identical') {
        t.comment(`${label} ${name}: the flow decoder differs from libipt here (${flow}); printing not compared`);
        continue;
      }
      for (const decoder of ['--block-decoder', '--insn-decoder']) {
        for (const print of PRINTS) {
          const args = [decoder, ...print, ...timing];
          sameText(t, ours(run, trace, args), libipt(tool, dir, trace, args), `${label} ${name} ${[decoder, ...print].join(' ')}`);
        }
      }
    }
  }
});
