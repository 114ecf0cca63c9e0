// Benchmark: Intel PT instruction-flow decoding, ours against libipt's instruction and block
// decoders on the same trace and images, all counting instructions without printing them.
//
//   node dist/bench/pt-flow.js [--insns 100000000] [--workload multiproc|static] [--seed 1]
//                              [--timing] [--no-retcomp] [--runs 3] [--keep]
//
// Simulates the workload with the PT trace unit, writes trace.pt, the code images and
// images.txt under os.tmpdir(), times our decoder in memory (pt-flow-decode.ts, in a process of
// its own, a fresh image per run), and runs `pt-libipt insn --count`
// and `pt-libipt block --count` (their own timers, trace in memory): each the best of --runs.

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
import { CountingSink, PtFlowDecoder, PtImage } from '../arch/x86/pt/flow/index.js';
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
const child = spawnSync(process.execPath, [fileURLToPath(new URL('./pt-flow-decode.js', import.meta.url)), dir, String(argv.runs)], { encoding: 'utf8' });
if (child.status !== 0) throw new Error(`pt-flow-decode: ${child.stderr.trim()}`);
const run = JSON.parse(child.stdout) as { insns: number; errors: number; seconds: number[] };
if (run.errors > 0) console.log(`  our decoder: ${run.errors} errors`);
run.seconds.forEach((s, r) => console.log(`  run ${r + 1}: ours ${run.insns} instructions in ${s.toFixed(3)} s`));
const count = run.insns;
const best = Math.min(...run.seconds);
const ours = count / best;

/** libipt's decoder `kind` on the same trace and images: best of `runs`, as ours. */
function libipt(kind: 'insn' | 'block', runs: number): { insns: number; seconds: number } | undefined {
  const tool = findNativeTool('pt-libipt');
  if (!tool) return undefined;
  let best: { insns: number; seconds: number } | undefined;
  for (let r = 0; r < runs; r++) {
    const out = spawnSync(tool, [kind, '--count', '--pt', join(dir, 'trace.pt'), '--images', join(dir, 'images.txt')], { encoding: 'utf8' });
    const insns = /insns (\d+)/.exec(out.stdout);
    const secs = /seconds ([\d.]+)/.exec(out.stdout);
    if (!insns || !secs) {
      console.log(`  pt-libipt ${kind}: no result (${out.stderr.trim() || out.stdout.trim()})`);
      return undefined;
    }
    const seconds = Number(secs[1]);
    console.log(`  run ${r + 1}: libipt ${kind} ${insns[1]} instructions in ${seconds.toFixed(3)} s`);
    if (best === undefined || seconds < best.seconds) best = { insns: Number(insns[1]), seconds };
  }
  return best;
}

const fmt = (v: number): string => `${(v / 1e6).toFixed(1)} M insn/s`;
console.log(`ours:            ${fmt(ours)} (${count} instructions, best of ${argv.runs}: ${best.toFixed(3)} s)`);
const li = libipt('insn', argv.runs);
const lb = libipt('block', argv.runs);
if (li) console.log(`libipt insn:     ${fmt(li.insns / li.seconds)} (${li.insns} instructions, best of ${argv.runs}: ${li.seconds.toFixed(3)} s)  ratio ours/libipt-insn ${(ours / (li.insns / li.seconds)).toFixed(2)}×`);
if (lb) console.log(`libipt block:    ${fmt(lb.insns / lb.seconds)} (${lb.insns} instructions, best of ${argv.runs}: ${lb.seconds.toFixed(3)} s)  ratio ours/libipt-block ${(ours / (lb.insns / lb.seconds)).toFixed(2)}×`);
if (!li && !lb) console.log('pt-libipt not built (npm run build:native): no reference figures');
if (argv.keep) console.log(`files kept in ${dir}`);
else rmSync(dir, { recursive: true, force: true });
