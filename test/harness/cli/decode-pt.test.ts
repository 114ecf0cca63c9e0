// `hwtrace decode --pt` (ptxed's command line) and `hwtrace decode CORPUS` for x86, called
// through runPtDecode / runPtDecodeCorpus with stdout captured: the instruction listing equals
// the exported truth and libipt's, the print options do what ptxed's do, bad options are
// usage errors.

import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../../harness/adapters/native/tools.js';
import { CorpusReader } from '../../../corpora/reader.js';
import { CorpusArchView } from '../../../harness/export/corpus-arch.js';
import { runPtDecode, runPtDecodeCorpus } from '../../../harness/cli/decode-pt.js';
import { UsageError } from '../../../arch/common/errors.js';
import { needNativeTool } from '../../helpers/reference.js';

const cli = join(packageRoot(), 'dist', 'harness', 'cli', 'main.js');
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
const dir = mkdtempSync(join(tmpdir(), 'hwtrace-decode-pt-test-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `fn` with process.stdout.write captured; returns what it wrote. */
function capture(fn: () => void): { out: string; exitCode: number | undefined } {
  const write = process.stdout.write;
  const before = process.exitCode;
  process.exitCode = undefined;
  let out = '';
  process.stdout.write = ((s: string | Uint8Array) => {
    out += typeof s === 'string' ? s : Buffer.from(s).toString('utf8');
    return true;
  }) as typeof process.stdout.write;
  try {
    fn();
  } finally {
    process.stdout.write = write;
  }
  const exitCode = process.exitCode as number | undefined;
  process.exitCode = before;
  return { out, exitCode };
}

function gen(name: string, ...args: string[]): string {
  const out = join(dir, name);
  const r = run('gen', '-o', out, '--arch', 'x86', ...args);
  if (r.status !== 0) throw new Error(`gen failed: ${r.stderr}`);
  return out;
}

function exportRaw(corpus: string, to: string): string {
  const r = run('export', corpus, '--to', to, '--as', 'raw');
  if (r.status !== 0) throw new Error(`export failed: ${r.stderr}`);
  return to;
}

const insnLines = (text: string): string[] => text.split('\n').filter((l) => /^[0-9a-f]{16}$/.test(l));

t.test('decode --pt --images: the exported truth, line for line', async (t) => {
  const corpus = gen('mp.zip', '--workload', 'multiproc', '--insns', '120000', '--seed', '5', '--pt-timing', 'tsc,mtc,cyc');
  const x = exportRaw(corpus, join(dir, 'mp'));
  const { out, exitCode } = capture(() => runPtDecode({ pt: join(x, 'trace.pt'), images: join(x, 'images.txt') }));
  t.equal(exitCode, undefined, 'no error exit');
  const truth = readFileSync(join(x, 'truth.txt'), 'utf8').trim().split('\n');
  t.same(insnLines(out), truth, `${truth.length} instructions`);
  t.match(out, /^\[paging, cr3: [0-9a-f]{16}\]\n\[exec mode: 64-bit\]\n\[enabled\]\n/, 'ptxed events at the start');
  t.match(out, /\[disabled\]\n$/, 'and the disable at the end');
});

t.test('decode --pt --raw FILE:ADDR (a static workload: one process and the kernel)', async (t) => {
  const corpus = gen('st.zip', '--workload', 'static', '--insns', '50000', '--seed', '2');
  const x = exportRaw(corpus, join(dir, 'st'));
  const raws = readFileSync(join(x, 'images.txt'), 'utf8').trim().split('\n').map((l) => {
    const [file, addr] = l.split(' ');
    return `${join(x, file!)}:${addr}`;
  });
  const { out } = capture(() => runPtDecode({ pt: join(x, 'trace.pt'), raw: raws }));
  const truth = readFileSync(join(x, 'truth.txt'), 'utf8').trim().split('\n');
  t.same(insnLines(out), truth, 'the truth');
  const tool = needNativeTool(t, 'pt-libipt');
  if (tool) {
    const r = spawnSync(tool, ['insn', '--pt', join(x, 'trace.pt'), ...raws.flatMap((r) => ['--raw', r])], { encoding: 'utf8', maxBuffer: 1 << 28 });
    t.same(insnLines(out), insnLines(r.stdout), "libipt's instruction lines");
  }
  // Options that change what is printed.
  const quiet = capture(() => runPtDecode({ pt: join(x, 'trace.pt'), raw: raws, quiet: true }));
  t.equal(quiet.out, '', '--quiet prints nothing without errors');
  const noInst = capture(() => runPtDecode({ pt: join(x, 'trace.pt'), raw: raws, 'no-inst': true }));
  t.same(insnLines(noInst.out), [], '--no-inst: no instructions');
  t.match(noInst.out, /\[enabled\]/, '--no-inst: events still there');
  const stat = capture(() => runPtDecode({ pt: join(x, 'trace.pt'), raw: raws, quiet: true, stat: true, 'stat:blocks': true }));
  t.match(stat.out, new RegExp(`^\\ninsn: ${truth.length}\\.\\nblocks:\\t\\d+\\.\\n$`), '--stat --stat:blocks');
  const evip = capture(() => runPtDecode({ pt: join(x, 'trace.pt'), raw: raws, 'no-inst': true, 'event:ip': true }));
  t.match(evip.out, /\[enabled, ip: [0-9a-f]{16}\]/, '--event:ip');
  // A file range: the whole file given as FILE:0-SIZE:ADDR decodes the same.
  const first = readFileSync(join(x, 'images.txt'), 'utf8').trim().split('\n')[0]!.split(' ');
  const size = readFileSync(join(x, first[0]!)).length;
  const ranged = [`${join(x, first[0]!)}:0-0x${size.toString(16)}:${first[1]}`, ...raws.slice(1)];
  t.same(insnLines(capture(() => runPtDecode({ pt: join(x, 'trace.pt'), raw: ranged })).out), truth, '--raw FILE:FROM-TO:ADDR');
});

t.test('errors: ptxed lines, exit code 1, --resync-on-error', async (t) => {
  const corpus = gen('er.zip', '--workload', 'static', '--insns', '300000', '--seed', '3', '--pt-psb-freq', '2048');
  const x = exportRaw(corpus, join(dir, 'er'));
  // Without the process image: the user code is not mapped.
  const kernel = readFileSync(join(x, 'images.txt'), 'utf8').trim().split('\n')[0]!.split(' ');
  const raw = [`${join(x, kernel[0]!)}:${kernel[1]}`];
  const once = capture(() => runPtDecode({ pt: join(x, 'trace.pt'), raw }));
  t.equal(once.exitCode, 1);
  const errs = once.out.split('\n').filter((l) => l.includes('error'));
  t.equal(errs.length, 1, 'stops at the first error');
  t.match(errs[0], /^\[[0-9a-f]{16}, [0-9a-f]{16}: error: no memory mapped at this address\]$/);
  const again = capture(() => runPtDecode({ pt: join(x, 'trace.pt'), raw, 'resync-on-error': true }));
  const againErrs = again.out.split('\n').filter((l) => l.includes('error'));
  t.ok(againErrs.length > 1, `resyncs and meets the next one (${againErrs.length} errors)`);
  const tool = needNativeTool(t, 'pt-libipt');
  if (tool) {
    const r = spawnSync(tool, ['insn', '--resync-on-error', '--pt', join(x, 'trace.pt'), '--raw', raw[0]!], { encoding: 'utf8', maxBuffer: 1 << 28 });
    t.same(againErrs, r.stdout.split('\n').filter((l) => l.includes('error')), "libipt's error lines, offsets included");
    t.same(insnLines(again.out), insnLines(r.stdout), "libipt's instruction lines");
  }
});

t.test('decode CORPUS: text and --format json ranges', async (t) => {
  const corpus = gen('c.zip', '--workload', 'multiproc', '--insns', '80000', '--seed', '9', '--pt-user-only');
  const view = new CorpusArchView(CorpusReader.open(corpus), 'x86');
  const x = exportRaw(corpus, join(dir, 'c'));
  const truth = readFileSync(join(x, 'truth.txt'), 'utf8').trim().split('\n');
  const text = capture(() => runPtDecodeCorpus(view, {}));
  const ips = insnLines(text.out);
  t.ok(ips.length > 0 && ips.length <= truth.length, `user-only: ${ips.length} of ${truth.length} instructions traced`);
  const json = capture(() => runPtDecodeCorpus(view, { format: 'json' }));
  const objs = json.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const ranges = objs.filter((o) => 'start' in o);
  t.equal(ranges.reduce((a, o) => a + (o['count'] as number), 0), ips.length, 'range counts add up to the instructions');
  t.match(ranges[0], { start: /^0x[0-9a-f]{16}$/, end: /^0x[0-9a-f]{16}$/, count: Number, ctx: Number });
  t.equal(BigInt(ranges[0]!['start'] as string), BigInt('0x' + ips[0]), 'first range starts at the first instruction');
});

t.test('bad options are usage errors', async (t) => {
  t.throws(() => runPtDecode({}), UsageError);
  t.throws(() => runPtDecode({ pt: join(dir, 'x.pt') }), UsageError, 'no code');
  t.throws(() => runPtDecode({ pt: join(dir, 'x.pt'), raw: ['nocolon'] }), UsageError);
  t.throws(() => runPtDecode({ pt: join(dir, 'x.pt'), raw: [`${join(dir, 'missing.bin')}:0x1000`] }), /cannot read image/);
});
