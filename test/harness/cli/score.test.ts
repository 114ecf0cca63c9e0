// `hwtrace score CORPUS`: the builtin PT decoder against the truth (text and JSON), and the
// alignment that counts reconstructed, wrong and missing instructions.

import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../../harness/adapters/native/tools.js';
import { runScore } from '../../../harness/cli/score.js';
import { alignSequences } from '../../../harness/score/align.js';
import { editCorpus } from '../../helpers/corpus-edit.js';

const cli = join(packageRoot(), 'dist', 'harness', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'hwtrace-score-test-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function capture(fn: () => void): string {
  const write = process.stdout.write;
  let out = '';
  process.stdout.write = ((s: string) => {
    out += s;
    return true;
  }) as typeof process.stdout.write;
  try {
    fn();
  } finally {
    process.stdout.write = write;
  }
  return out;
}

t.test('a simulator corpus scores perfectly', async (t) => {
  const corpus = join(dir, 'c.zip');
  const r = spawnSync(process.execPath, [cli, 'gen', '-o', corpus, '--arch', 'both', '--workload', 'multiproc', '--insns', '100000', '--seed', '4', '--pt-timing', 'tsc,mtc'], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  const text = capture(() => runScore({ corpus }));
  t.match(text, /^decoder\s+hwtrace-pt-flow \(x86\)\ntruth\s+100000 instructions\ndecoded\s+100000 instructions\nreconstructed\s+100000 \(100\.00%\)\nwrong\s+0\nmissing\s+0 \(0\.00%\)\nerrors\s+0\nfirst divergence none\n$/);
  const json = JSON.parse(capture(() => runScore({ corpus, format: 'json' }))) as Record<string, unknown>;
  t.match(json, { arch: 'x86', truth: 100000, decoded: 100000, reconstructed: 100000, wrong: 0, missing: 0, errors: [], firstDivergence: null });
  const arm = JSON.parse(capture(() => runScore({ corpus, arch: 'arm', format: 'json' }))) as { truth: number; reconstructed: number; wrong: number; missing: number };
  t.ok(arm.truth > 99990 && arm.truth <= 100000, `ARM truth ${arm.truth}: all but the untraced tail`);
  t.match(arm, { arch: 'arm', decoder: 'hwtrace-etm4-flow', decoded: arm.truth, reconstructed: arm.truth, wrong: 0, missing: 0, errors: [], firstDivergence: null });
});

t.test('a damaged trace scores what was lost, with the first divergence', async (t) => {
  const corpus = join(dir, 'd.zip');
  const r = spawnSync(process.execPath, [cli, 'gen', '-o', corpus, '--arch', 'both', '--workload', 'multiproc', '--insns', '100000', '--seed', '6'], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  const damaged = join(dir, 'd-damaged.zip');
  // Overwrite a run of bytes in the middle of each trace stream.
  editCorpus(corpus, damaged, (name, bytes) => {
    if (!/^(x86|arm)\/trace\//.test(name)) return bytes;
    const b = bytes.slice();
    const at = b.length >> 1;
    b.fill(0x55, at, at + 24);
    return b;
  });
  for (const arch of ['x86', 'arm']) {
    const rep = JSON.parse(capture(() => runScore({ corpus: damaged, arch, format: 'json' }))) as {
      truth: number; reconstructed: number; missing: number; wrong: number; errors: unknown[];
      firstDivergence: { truthIndex: number; traceOffset: number | null; expected: string | null } | null;
    };
    t.ok(rep.missing > 0, `${arch}: ${rep.missing} instructions missing`);
    t.ok(rep.reconstructed > rep.truth / 4 && rep.reconstructed < rep.truth, `${arch}: ${rep.reconstructed} of ${rep.truth} reconstructed (decoding resumed after the damage)`);
    t.equal(rep.reconstructed + rep.missing, rep.truth, `${arch}: every truth instruction is reconstructed or missing`);
    t.ok(rep.firstDivergence !== null && rep.firstDivergence.traceOffset !== null, `${arch}: the first divergence names a trace offset`);
    t.ok(rep.firstDivergence!.traceOffset! > 0, `${arch}: near the damage`);
  }
});

t.test('alignment counts', async (t) => {
  const seq = (...a: number[]) => Float64Array.from(a);
  const truth = seq(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12);
  t.match(alignSequences(truth, 12, truth, 12), { reconstructed: 12, wrong: 0, missing: 0, firstTruth: -1 });
  // Lost 4..6, then back in step.
  t.match(alignSequences(truth, 12, seq(1, 2, 3, 7, 8, 9, 10, 11, 12), 9), { reconstructed: 9, wrong: 0, missing: 3, firstTruth: 3, firstDecoded: 3 });
  // Two wrong addresses in place of 5, 6.
  t.match(alignSequences(truth, 12, seq(1, 2, 3, 4, 99, 98, 7, 8, 9, 10, 11, 12), 12), { reconstructed: 10, wrong: 2, missing: 2, firstTruth: 4 });
  // Stops early.
  t.match(alignSequences(truth, 12, seq(1, 2, 3), 3), { reconstructed: 3, wrong: 0, missing: 9, firstTruth: 3, firstDecoded: 3 });
  // Decodes more than there is.
  t.match(alignSequences(seq(1, 2), 2, seq(1, 2, 3), 3), { reconstructed: 2, wrong: 1, missing: 0, firstTruth: 2, firstDecoded: 2 });
});
