// Benchmark: Intel PT instruction-flow decoding, ours against libipt's instruction and block
// decoders on the same trace and images, all counting instructions without printing them.
//
//   node dist/bench/pt-flow.js [--insns 100000000] [--workload multiproc|static] [--seed 1]
//                              [--timing] [--no-retcomp] [--runs 3] [--keep]
//
// Simulates the workload with the PT trace unit, writes trace.pt, the code images and
// images.txt under os.tmpdir(), then --runs rounds of: our decoder in memory (pt-flow-decode.ts,
// in a process of its own, a fresh image per run, best of 3), `pt-libipt insn --count` and
// `pt-libipt block --count` (their own timers, trace in memory). Prints the best of each and the
// ratios, of the bests and per round.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { formatAddr } from '../arch/common/address.js';
import type { X86Context } from '../arch/common/context.js';
import { MemorySink } from '../arch/common/stream.js';
import type { PtTraceOptions } from '../arch/x86/pt/trace-config.js';
import { PtTraceUnit } from '../arch/x86/pt/trace-unit.js';
import { findNativeTool } from '../harness/adapters/native/tools.js';
import { Executor } from '../sim/exec/executor.js';
import { buildMachine } from '../sim/machine.js';
import { buildWorkload } from '../sim/workloads/index.js';

const argv = yargs(hideBin(process.argv))
  .option('insns', { type: 'number', default: 100_000_000 })
  .option('workload', { choices: ['static', 'multiproc'] as const, default: 'multiproc' as const })
  .option('seed', { type: 'number', default: 1 })
  .option('timing', { type: 'boolean', default: false, describe: 'TSC, MTC and CYC packets' })
  .option('no-retcomp', { type: 'boolean', default: false })
  .option('runs', { type: 'number', default: 3 })
  .option('keep', { type: 'boolean', default: false, describe: 'keep the temporary directory' })
  .parserConfiguration({ 'boolean-negation': false })
  .strict()
  .parseSync();

const options: PtTraceOptions = {
  disRetc: argv['no-retcomp'],
  ...(argv.timing ? { tscEn: true, mtcEn: true, cycEn: true } : {}),
};

let t0 = performance.now();
const machine = buildMachine(buildWorkload({ workload: argv.workload }, argv.seed), 'x86');
const traceOut = new MemorySink();
const unit = new PtTraceUnit(machine, options, traceOut);
const ex = new Executor(machine, { sink: unit, limit: argv.insns });
ex.run();
ex.finish();
unit.finish();
const trace = traceOut.bytes();
console.log(`simulated ${argv.insns} instructions (${argv.workload}, seed ${argv.seed}${argv.timing ? ', timing' : ''}${argv['no-retcomp'] ? ', no retcomp' : ''}): ${trace.length} trace bytes in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

const dir = mkdtempSync(join(tmpdir(), 'hwtrace-bench-ptflow-'));
const cr3Of = (space: number): number =>
  space < 0 ? Number.NaN : (machine.contexts.get(machine.ctxSpace.findIndex((s) => s === space)) as X86Context).cr3;
const lines: string[] = [];
for (const im of machine.images) {
  const cr3 = cr3Of(im.space);
  const file = `image-${im.id}.bin`;
  writeFileSync(join(dir, file), im.bytes);
  lines.push(`${file} 0x${formatAddr(im.start)} ${Number.isNaN(cr3) ? '-' : `cr3=0x${cr3.toString(16)}`}`);
}
writeFileSync(join(dir, 'images.txt'), lines.join('\n') + '\n');
writeFileSync(join(dir, 'trace.pt'), trace);

// Ours in a process of its own, as libipt's: the simulator's heap and type feedback stay out.
// Its first run includes V8's warm-up, so each of our processes decodes OUR_RUNS times.
const OUR_RUNS = 3;
function oursOnce(): { insns: number; errors: number; seconds: number } {
  const script = fileURLToPath(new URL('./pt-flow-decode.js', import.meta.url));
  const child = spawnSync(process.execPath, [script, dir, String(OUR_RUNS)], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`pt-flow-decode: ${child.stderr.trim()}`);
  const run = JSON.parse(child.stdout) as { insns: number; errors: number; seconds: number[] };
  return { insns: run.insns, errors: run.errors, seconds: Math.min(...run.seconds) };
}

const libiptTool = findNativeTool('pt-libipt');
/** libipt's decoder `kind` once on the same trace and images; undefined (said why) when it cannot run. */
function libiptOnce(kind: 'insn' | 'block'): { insns: number; seconds: number } | undefined {
  if (!libiptTool) return undefined;
  const out = spawnSync(libiptTool, [kind, '--count', '--pt', join(dir, 'trace.pt'), '--images', join(dir, 'images.txt')], { encoding: 'utf8' });
  const insns = /insns (\d+)/.exec(out.stdout);
  const secs = /seconds ([\d.]+)/.exec(out.stdout);
  if (!insns || !secs) {
    console.log(`  pt-libipt ${kind}: no result (${out.stderr.trim() || out.stdout.trim()})`);
    return undefined;
  }
  return { insns: Number(insns[1]), seconds: Number(secs[1]) };
}

// Rounds of ours, libipt insn, libipt block one after the other, so that all three see the
// machine as it is then (a shared VM's speed drifts by tens of percent over a minute); the
// per-round ratios are printed beside the ratio of the bests.
type Run = { insns: number; seconds: number };
const runs: { ours: Run; insn?: Run; block?: Run }[] = [];
let errors = 0;
for (let r = 0; r < argv.runs; r++) {
  const o = oursOnce();
  errors = o.errors;
  const insn = libiptOnce('insn');
  const block = libiptOnce('block');
  runs.push({ ours: o, ...(insn ? { insn } : {}), ...(block ? { block } : {}) });
  const also = [insn ? `libipt insn ${insn.seconds.toFixed(3)} s` : '', block ? `libipt block ${block.seconds.toFixed(3)} s` : ''].filter(Boolean).join(', ');
  console.log(`  round ${r + 1}: ours ${o.seconds.toFixed(3)} s (best of ${OUR_RUNS})${also ? `, ${also}` : ''}`);
}
if (errors > 0) console.log(`  our decoder: ${errors} errors`);

const fmt = (v: number): string => `${(v / 1e6).toFixed(1)} M insn/s`;
const bestOf = (list: Run[]): Run => list.reduce((a, b) => (b.seconds < a.seconds ? b : a));
const median = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const ours = bestOf(runs.map((r) => r.ours));
const oursRate = ours.insns / ours.seconds;
console.log(`ours:            ${fmt(oursRate)} (${ours.insns} instructions, best of ${argv.runs} rounds: ${ours.seconds.toFixed(3)} s)`);
for (const kind of ['insn', 'block'] as const) {
  const list = runs.flatMap((r) => (r[kind] ? [r[kind]!] : []));
  if (list.length === 0) continue;
  const b = bestOf(list);
  const perRound = runs.flatMap((r) => (r[kind] ? [r[kind]!.seconds / r.ours.seconds] : []));
  const label = `libipt ${kind}:`.padEnd(17);
  console.log(
    `${label}${fmt(b.insns / b.seconds)} (${b.insns} instructions, best of ${list.length}: ${b.seconds.toFixed(3)} s)  ` +
      `ratio ours/libipt-${kind} ${(oursRate / (b.insns / b.seconds)).toFixed(2)}× (per round: median ${median(perRound).toFixed(2)}×, ${perRound.map((v) => v.toFixed(2)).join(' ')})`,
  );
  if (b.insns !== ours.insns) console.log(`  note: libipt ${kind} counted ${b.insns} instructions, ours ${ours.insns}`);
}
if (!libiptTool) console.log('pt-libipt not built (npm run build:native): no reference figures');
if (argv.keep) console.log(`files kept in ${dir}`);
else rmSync(dir, { recursive: true, force: true });
