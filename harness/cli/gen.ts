// `hwtrace gen`: simulate a workload and write a corpus with its trace on x86 (Intel PT), ARM
// (ETMv4), or both, together with the code images and the ground truth.

import { readFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import { UsageError } from '../../arch/common/errors.js';
import { WORKLOADS } from '../../sim/index.js';
import { generateCorpus } from '../gen/generate.js';
import { TRACE_OPTION_GROUPS, traceOptionsFromArgv, traceUnitFactory } from '../gen/units.js';
import type { CorpusArchName } from '../gen/layout.js';

function readSpecFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`--spec ${path}: ${(e as Error).message}`);
  }
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not a JSON object');
    return v as Record<string, unknown>;
  } catch (e) {
    throw new UsageError(`--spec ${path}: ${(e as Error).message}`);
  }
}

export function genCommand(cli: Argv): Argv {
  return cli.command(
    'gen',
    'Simulate a workload and write a corpus: trace, code images and ground truth',
    (y) => {
      let b = y
        .option('arch', { choices: ['x86', 'arm', 'both'] as const, default: 'both' as const, describe: 'architectures to trace' })
        .option('workload', { choices: WORKLOADS, default: 'multiproc' as const, describe: 'workload kind' })
        .option('insns', { type: 'number', default: 1_000_000, describe: 'instructions to simulate (per architecture)' })
        .option('seed', { type: 'string', default: '1', describe: 'seed (0 to 2^64-1); the same seed gives the same corpus bytes' })
        .option('processes', { type: 'number', describe: 'user processes (multiproc)' })
        .option('distinct-addresses', { type: 'boolean', describe: 'lay processes out at distinct addresses instead of sharing 0x400000' })
        .option('spec', { type: 'string', describe: 'workload spec JSON file (command-line options override it)' })
        .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'corpus file to write (.zip)' });
      for (const group of TRACE_OPTION_GROUPS) {
        for (const [name, opt] of Object.entries(group.options)) b = b.option(name, { ...opt, group: group.title });
      }
      return b
        .example('hwtrace gen --arch both --workload multiproc --insns 1000000 --seed 1 -o demo.zip', 'both architectures, 1 M instructions each')
        .example('hwtrace gen --arch x86 --pt-timing tsc,mtc,cyc --pt-no-retcomp -o t.zip', 'PT with timing packets, return compression off');
    },
    (argv) => {
      if (!/^\d{1,20}$/.test(argv.seed) || BigInt(argv.seed) >= 1n << 64n) throw new UsageError(`--seed must be an integer in [0, 2^64), not ${argv.seed}`);
      if (!Number.isSafeInteger(argv.insns) || argv.insns < 1) throw new UsageError(`--insns must be a positive integer, not ${argv.insns}`);
      const spec: Record<string, unknown> = argv.spec !== undefined ? readSpecFile(argv.spec) : {};
      spec['workload'] = argv.workload;
      if (argv.processes !== undefined) spec['processes'] = argv.processes;
      if (argv['distinct-addresses'] !== undefined) spec['distinctAddresses'] = argv['distinct-addresses'];
      const arches: CorpusArchName[] = argv.arch === 'both' ? ['x86', 'arm'] : [argv.arch];
      const record = argv as unknown as Record<string, unknown>;
      const tty = process.stderr.isTTY === true;
      let lastShown = 0;
      const { manifest, timing } = generateCorpus({
        out: argv.output,
        units: arches.map(traceUnitFactory),
        spec,
        seed: BigInt(argv.seed),
        insns: argv.insns,
        trace: Object.fromEntries(arches.map((a) => [a, traceOptionsFromArgv(a, record)])),
        progress: (arch, done, total) => {
          if (!tty) return;
          const now = process.hrtime.bigint();
          if (Number(now) - lastShown < 2e8 && done < total) return;
          lastShown = Number(now);
          process.stderr.write(`\r${arch}: ${done.toLocaleString('en')} / ${total.toLocaleString('en')} instructions`);
          if (done >= total) process.stderr.write('\n');
        },
      });
      process.stdout.write(describeCorpus(argv.output, manifest.summary as Record<string, Record<string, number>>));
      for (const [arch, tm] of Object.entries(timing)) {
        process.stderr.write(`${arch}: simulated and traced in ${tm.seconds.toFixed(2)} s (${(tm.instructionsPerSecond / 1e6).toFixed(1)} M instructions/s)\n`);
      }
    },
  );
}

/** What a new corpus contains, one line per architecture. */
export function describeCorpus(path: string, summary: Record<string, Record<string, number>>): string {
  const lines = [`${path}:`];
  for (const arch of ['x86', 'arm']) {
    const s = summary[arch];
    if (!s) continue;
    lines.push(
      `  ${arch.padEnd(4)} ${String(s['instructions']).padStart(12)} instructions  ${String(s['traceBytes']).padStart(11)} trace bytes  ` +
        `${(s['bytesPerInstruction'] ?? 0).toFixed(3)} bytes/insn  ${s['segments']} sync segments  ${s['contextSwitches']} context switches`,
    );
  }
  return lines.join('\n') + '\n';
}
