// `npm run fuzz -- --iterations N [--seed S] [--target pt|etm|frames|all]`: the long version of
// the fuzz tests. Each target throws on the first violation (escaped exception, error offset
// outside the input, a decoder that stops advancing); this prints it and exits 1.

import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { fuzzPtPackets } from './pt.js';
import { fuzzCoresightFrames, fuzzEtmPackets } from './etm.js';

const targets = {
  pt: fuzzPtPackets,
  etm: fuzzEtmPackets,
  frames: fuzzCoresightFrames,
} as const;

const argv = yargs(hideBin(process.argv))
  .option('iterations', { type: 'number', default: 100000, describe: 'inputs per target' })
  .option('seed', { type: 'number', default: 1, describe: 'PRNG seed (runs are reproducible)' })
  .option('target', { choices: ['pt', 'etm', 'frames', 'all'] as const, default: 'all' as const })
  .strict()
  .parseSync();

let failed = false;
for (const [name, fuzz] of Object.entries(targets)) {
  if (argv.target !== 'all' && argv.target !== name) continue;
  const started = process.hrtime.bigint();
  try {
    const result = fuzz({ iterations: argv.iterations, seed: argv.seed, log: (s: string) => process.stderr.write(`${name}: ${s}\n`) });
    const secs = Number(process.hrtime.bigint() - started) / 1e9;
    console.log(`fuzz ${name}: ${JSON.stringify(result)} in ${secs.toFixed(1)} s`);
  } catch (e) {
    failed = true;
    console.error(`fuzz ${name}: FAILED: ${(e as Error).stack ?? String(e)}`);
  }
}
process.exitCode = failed ? 1 : 0;
