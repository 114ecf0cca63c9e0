// `hwtrace gen` and `hwtrace export` as users run them: determinism, the exported files, and
// the reference decoders (libipt, OpenCSD) reproducing the exported truth.

import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../../harness/adapters/native/tools.js';
import { CorpusReader } from '../../../corpora/reader.js';
import { parseListerElement, rangeAddresses } from '../../../harness/adapters/opencsd/lister-parse.js';
import { formatAddr } from '../../../arch/common/address.js';
import { needNativeTool, needTrcPktLister } from '../../helpers/reference.js';

const cli = join(packageRoot(), 'dist', 'harness', 'cli', 'main.js');
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
const dir = mkdtempSync(join(tmpdir(), 'hwtrace-gen-test-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function gen(name: string, ...args: string[]): string {
  const out = join(dir, name);
  const r = run('gen', '-o', out, ...args);
  if (r.status !== 0) throw new Error(`gen failed: ${r.stderr}`);
  return out;
}

t.test('the same command twice writes identical bytes; another seed does not', async (t) => {
  const a = gen('a.zip', '--arch', 'both', '--workload', 'multiproc', '--insns', '200000', '--seed', '7', '--pt-timing', 'tsc,mtc,cyc');
  const b = gen('b.zip', '--arch', 'both', '--workload', 'multiproc', '--insns', '200000', '--seed', '7', '--pt-timing', 'tsc,mtc,cyc');
  const c = gen('c.zip', '--arch', 'both', '--workload', 'multiproc', '--insns', '200000', '--seed', '8', '--pt-timing', 'tsc,mtc,cyc');
  t.ok(readFileSync(a).equals(readFileSync(b)), 'byte-identical corpora');
  t.notOk(readFileSync(a).equals(readFileSync(c)), 'a different seed changes the corpus');
  const m = CorpusReader.open(a).manifest;
  t.equal(m.arch, 'both');
  t.equal(m.seed, '7');
  const summary = m.summary as Record<string, Record<string, number>>;
  for (const arch of ['x86', 'arm']) {
    t.equal(summary[arch]!['instructions'], 200000, `${arch} instruction count`);
    t.ok(summary[arch]!['traceBytes']! > 0, `${arch} trace bytes`);
    t.ok(summary[arch]!['segments']! >= 1, `${arch} sync segments`);
  }
});

t.test('gen prints what the corpus contains', async (t) => {
  const r = run('gen', '-o', join(dir, 'p.zip'), '--insns', '50000');
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /x86\s+50000 instructions\s+\d+ trace bytes\s+[\d.]+ bytes\/insn\s+\d+ sync segments/);
  t.match(r.stdout, /arm\s+50000 instructions/);
});

t.test('bad options are usage errors (exit 2, one line)', async (t) => {
  for (const args of [['--insns', '0'], ['--seed', '-1'], ['--seed', '18446744073709551616'], ['--spec', join(dir, 'missing.json')], ['--pt-timing', 'tsc,bogus'], ['--workload', 'nope']]) {
    const r = run('gen', '-o', join(dir, 'x.zip'), ...args);
    t.equal(r.status, 2, args.join(' '));
    t.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
  }
  const r = run('export', join(dir, 'missing.zip'), '--to', join(dir, 'x'));
  t.equal(r.status, 1);
  t.match(r.stderr, /missing\.zip/);
});

t.test('export --as raw writes the trace, images, images.txt and truth.txt', async (t) => {
  const corpus = gen('raw.zip', '--arch', 'both', '--workload', 'multiproc', '--insns', '30000', '--seed', '3');
  const out = join(dir, 'raw');
  const r = run('export', corpus, '--to', out, '--as', 'raw');
  t.equal(r.status, 0, r.stderr);
  const x86 = readdirSync(join(out, 'x86'));
  t.ok(x86.includes('trace.pt') && x86.includes('images.txt') && x86.includes('truth.txt'));
  t.ok(readdirSync(join(out, 'arm')).includes('trace-10.bin'));
  const images = readFileSync(join(out, 'x86', 'images.txt'), 'utf8').trim().split('\n');
  t.equal(images.length, 5, 'kernel + 4 processes');
  t.match(images[0], /^image-ffffffff81000000\.bin 0xffffffff81000000 -$/);
  t.match(images[1], /^image-0000000000400000-proc0\.bin 0x0000000000400000 cr3=0x[0-9a-f]+$/);
  const truth = readFileSync(join(out, 'x86', 'truth.txt'), 'utf8').trim().split('\n');
  t.equal(truth.length, 30000);
  t.ok(truth.every((l) => /^[0-9a-f]{16}$/.test(l)), 'one 16-hex-digit address per line');
});

t.test('libipt decodes the exported x86 trace to exactly truth.txt', async (t) => {
  const ptLibipt = needNativeTool(t, 'pt-libipt');
  if (!ptLibipt) return;
  const configs: string[][] = [[], ['--pt-timing', 'tsc,mtc,cyc'], ['--pt-no-retcomp', '--pt-psb-freq', '2048']];
  for (const workload of ['static', 'multiproc']) {
    for (const [i, extra] of configs.entries()) {
      const corpus = gen(`x86-${workload}-${i}.zip`, '--arch', 'x86', '--workload', workload, '--insns', '150000', '--seed', String(11 + i), ...extra);
      const out = join(dir, `x86-${workload}-${i}`);
      t.equal(run('export', corpus, '--to', out).status, 0);
      const r = spawnSync(ptLibipt, ['insn', '--pt', join(out, 'trace.pt'), '--images', join(out, 'images.txt')], { encoding: 'utf8', maxBuffer: 1 << 28 });
      const ips = r.stdout.split('\n').filter((l) => /^[0-9a-f]{16}$/.test(l));
      const errors = r.stdout.split('\n').filter((l) => l.includes('error'));
      t.same(errors, [], `${workload} ${extra.join(' ')}: no libipt errors`);
      t.equal(ips.join('\n') + '\n', readFileSync(join(out, 'truth.txt'), 'utf8'), `${workload} ${extra.join(' ')}: libipt = truth`);
    }
  }
});

t.test('OpenCSD decodes the exported snapshot to truth.txt (up to the untraceable tail)', async (t) => {
  const lister = needTrcPktLister(t);
  if (!lister) return;
  for (const workload of ['static', 'multiproc']) {
    const corpus = gen(`arm-${workload}.zip`, '--arch', 'arm', '--workload', workload, '--distinct-addresses', '--insns', '150000', '--seed', '5', '--etm-return-stack');
    const raw = join(dir, `arm-${workload}-raw`);
    const snap = join(dir, `arm-${workload}-snap`);
    t.equal(run('export', corpus, '--to', raw).status, 0);
    const e = run('export', corpus, '--to', snap, '--as', 'opencsd');
    t.equal(e.status, 0, e.stderr);
    const r = spawnSync(lister, ['-logstdout', '-ss_dir', snap, '-decode_only'], { cwd: snap, encoding: 'utf8', maxBuffer: 1 << 28 });
    const elems = r.stdout.split('\n').map(parseListerElement).filter((x) => x !== undefined);
    const decoded: string[] = [];
    for (const el of elems) if (el.elem === 'INSTR_RANGE') for (const a of rangeAddresses(el)) decoded.push(formatAddr(a));
    t.same(elems.filter((x) => x.elem === 'ADDR_NACC' || x.elem === 'NO_SYNC').length, 1, `${workload}: only the initial NO_SYNC, no ADDR_NACC`);
    const truth = readFileSync(join(raw, 'truth.txt'), 'utf8').trim().split('\n');
    const tail = (CorpusReader.open(corpus).manifest.summary as Record<string, Record<string, number>>)['arm']!['untracedTail']!;
    t.equal(decoded.length, truth.length - tail, `${workload}: every traceable instruction decoded`);
    t.ok(decoded.every((a, i) => a === truth[i]), `${workload}: OpenCSD = truth`);
  }
});

t.test('export --as opencsd refuses overlapping images with a hint', async (t) => {
  const corpus = gen('shared.zip', '--arch', 'arm', '--workload', 'multiproc', '--insns', '20000');
  const r = run('export', corpus, '--to', join(dir, 'shared-snap'), '--as', 'opencsd');
  t.equal(r.status, 1);
  t.match(r.stderr, /overlap.*--distinct-addresses/);
  writeFileSync(join(dir, 'junk.zip'), 'not a zip');
  const j = run('export', join(dir, 'junk.zip'), '--to', join(dir, 'junk'));
  t.equal(j.status, 1);
  t.match(j.stderr, /junk\.zip/);
});
