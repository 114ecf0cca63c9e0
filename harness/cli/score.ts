// `hwtrace score CORPUS`: decode a corpus with the builtin decoder and compare with its truth:
// instructions in the truth, reconstructed, wrong, missing, decode errors, and the first
// divergence (trace offset, expected and decoded address). `--format json` for machines.

import type { Argv } from 'yargs';
import { HwtraceError } from '../../arch/common/errors.js';
import { CorpusReader } from '../../corpora/reader.js';
import { CorpusArchView, chooseArch } from '../export/corpus-arch.js';
import { scoreEtmCorpus } from '../score/etm-score.js';
import { type ScoreReport, scorePtCorpus } from '../score/pt-score.js';

function pct(n: number, of: number): string {
  return of === 0 ? '-' : `${((100 * n) / of).toFixed(2)}%`;
}

export function formatScore(r: ScoreReport): string {
  const lines = [
    `decoder         ${r.decoder} (${r.arch})`,
    `truth           ${r.truth} instructions`,
    `decoded         ${r.decoded} instructions`,
    `reconstructed   ${r.reconstructed} (${pct(r.reconstructed, r.truth)})`,
    `wrong           ${r.wrong}`,
    `missing         ${r.missing} (${pct(r.missing, r.truth)})`,
    `errors          ${r.errors.length}`,
  ];
  for (const e of r.errors.slice(0, 10)) lines.push(`  [0x${e.offset.toString(16)}, ${e.ip ?? '-'}: ${e.code}: ${e.message}]`);
  if (r.errors.length > 10) lines.push(`  … ${r.errors.length - 10} more`);
  const d = r.firstDivergence;
  if (d === null) lines.push('first divergence none');
  else {
    const off = d.traceOffset === null ? '-' : `0x${d.traceOffset.toString(16)}`;
    lines.push(`first divergence at truth instruction ${d.truthIndex}, trace offset ${off}: expected ${d.expected ?? 'end'}, decoded ${d.decoded ?? 'end'}`);
  }
  return lines.join('\n') + '\n';
}

export function runScore(argv: Record<string, unknown>): void {
  const path = argv['corpus'];
  if (typeof path !== 'string') throw new HwtraceError('usage', 'score needs a CORPUS');
  const reader = CorpusReader.open(path);
  const wanted = typeof argv['arch'] === 'string' ? argv['arch'] : reader.manifest.arch === 'both' ? 'x86' : undefined;
  const arch = chooseArch(reader, wanted);
  const view = new CorpusArchView(reader, arch);
  const report = arch === 'x86' ? scorePtCorpus(view) : scoreEtmCorpus(view);
  process.stdout.write(argv['format'] === 'json' ? JSON.stringify(report) + '\n' : formatScore(report));
}

export function scoreCommand(cli: Argv): Argv {
  return cli.command(
    'score <corpus>',
    'Decode a corpus with the builtin decoder and compare with its truth',
    (y) =>
      y
        .positional('corpus', { type: 'string', demandOption: true, describe: 'corpus file made by hwtrace gen' })
        .option('arch', { choices: ['x86', 'arm'] as const, describe: 'which architecture of a two-architecture corpus (default x86)' })
        .option('format', { choices: ['text', 'json'] as const, default: 'text' as const, describe: 'output format' }),
    (argv) => runScore(argv as unknown as Record<string, unknown>),
  );
}
