// `hwtrace decode --pt` (ptxed's command line) and `hwtrace decode CORPUS` for x86, called
// through runPtDecode / runPtDecodeCorpus with stdout captured and through the command line:
// the instruction listing equals the exported truth and libipt's (pt-libipt ptxed) text, the
// print options do what ptxed's do, bad options are usage errors naming the option.

import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../../harness/adapters/native/tools.js';
import { CorpusReader } from '../../../corpora/reader.js';
import { CorpusArchView } from '../../../harness/export/corpus-arch.js';
import { parseCpu, ptFlowOptions, runPtDecode, runPtDecodeCorpus } from '../../../harness/cli/decode-pt.js';
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

/** The addresses of instruction lines (`ip` or `ip  disassembly`). */
const insnLines = (text: string): string[] => text.split('\n').filter((l) => /^[0-9a-f]{16}(?: {2}\S|$)/.test(l)).map((l) => l.slice(0, 16));

t.test('decode --pt --images: the exported truth, line for line', async (t) => {
  const corpus = gen('mp.zip', '--workload', 'multiproc', '--insns', '120000', '--seed', '5', '--pt-timing', 'tsc,mtc,cyc');
  const x = exportRaw(corpus, join(dir, 'mp'));
  const { out, exitCode } = capture(() => runPtDecode({ pt: join(x, 'trace.pt'), images: join(x, 'images.txt') }));
  t.equal(exitCode, undefined, 'no error exit');
  const truth = readFileSync(join(x, 'truth.txt'), 'utf8').trim().split('\n');
  t.same(insnLines(out), truth, `${truth.length} instructions`);
  // ptxed's default: the address, two spaces, the disassembly.
  t.match(out, /^\[enabled\]\n\[exec mode: 64-bit\]\n[0-9a-f]{16} {2}[a-z]/, 'ptxed events at the start, then instructions with their disassembly');
  t.match(out, /\[disabled\]\n$/, 'and the disable at the end');
  const tool = needNativeTool(t, 'pt-libipt');
  if (tool) {
    // Line for line with libipt (ptxed without XED), instructions as addresses only.
    const noInst = capture(() => runPtDecode({ pt: join(x, 'trace.pt'), images: join(x, 'images.txt'), 'no-inst': true, 'block:show-blocks': true, stat: true }));
    const r = spawnSync(tool, ['ptxed', '--pt', join(x, 'trace.pt'), '--images', join(x, 'images.txt'), '--block:show-blocks', '--stat'], { encoding: 'utf8', maxBuffer: 1 << 28 });
    t.equal(noInst.out, r.stdout, "--no-inst --block:show-blocks --stat: libipt's text");
  }
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
  t.same(insnLines(noInst.out), truth, '--no-inst: the instructions, as addresses');
  t.ok(noInst.out.split('\n').every((l) => l === '' || l.startsWith('[') || /^[0-9a-f]{16}$/.test(l)), '--no-inst: addresses only');
  t.match(noInst.out, /\[enabled\]/, '--no-inst: events still there');
  const stat = capture(() => runPtDecode({ pt: join(x, 'trace.pt'), raw: raws, quiet: true, stat: true }));
  t.match(stat.out, new RegExp(`^insn: ${truth.length}\\.\\nblocks:\\t\\d+\\.\\n$`), '--quiet --stat: all the statistics of the block decoder');
  const statInsn = capture(() => runPtDecode({ pt: join(x, 'trace.pt'), raw: raws, quiet: true, stat: true, 'insn-decoder': true }));
  t.equal(statInsn.out, `insn: ${truth.length}.\n`, '--stat with the instruction decoder: instructions only');
  const statBlocks = capture(() => runPtDecode({ pt: join(x, 'trace.pt'), raw: raws, quiet: true, 'stat:blocks': true }));
  t.match(statBlocks.out, /^blocks:\t\d+\.\n$/, '--stat:blocks alone');
  const insnDec = capture(() => runPtDecode({ pt: join(x, 'trace.pt'), raw: raws, 'no-inst': true, 'insn-decoder': true }));
  t.equal(insnDec.out, noInst.out, 'the instruction decoder prints the same here');
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
  t.equal(errs.length, 1, 'by default decoding stops at the first error');
  // ptxed's diagnose(): offset and IP in hex without leading zeros.
  t.match(errs[0], /^\[[1-9a-f][0-9a-f]*, [1-9a-f][0-9a-f]*: error: no memory mapped at this address\]$/);
  const again = capture(() => runPtDecode({ pt: join(x, 'trace.pt'), raw, 'no-inst': true, 'resync-on-error': true }));
  t.equal(again.exitCode, 1);
  const againErrs = again.out.split('\n').filter((l) => l.includes('error'));
  t.ok(againErrs.length > 1, `--resync-on-error: it resyncs and meets the next one (${againErrs.length} errors)`);
  const tool = needNativeTool(t, 'pt-libipt');
  if (tool) {
    const r = spawnSync(tool, ['ptxed', '--resync-on-error', '--pt', join(x, 'trace.pt'), '--raw', raw[0]!], { encoding: 'utf8', maxBuffer: 1 << 28 });
    t.equal(again.out, r.stdout, "libipt's text, error lines included");
    const insn = capture(() => runPtDecode({ pt: join(x, 'trace.pt'), raw, 'no-inst': true, 'insn-decoder': true, 'resync-on-error': true }));
    const ri = spawnSync(tool, ['ptxed', '--resync-on-error', '--insn-decoder', '--pt', join(x, 'trace.pt'), '--raw', raw[0]!], { encoding: 'utf8', maxBuffer: 1 << 28 });
    t.equal(insn.out, ri.stdout, "--insn-decoder: libipt's text, error lines included");
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
  t.throws(() => runPtDecode({ pt: join(dir, 'x.pt'), raw: [`${join(dir, 'x.bin')}:0xzz`] }), /--raw .*bad base address 0xzz/);
  const bad: Array<[Record<string, unknown>, RegExp]> = [
    [{ 'mtc-freq': '16' }, /^--mtc-freq 16: want a number from 0 to 15/],
    [{ 'nom-freq': 'fast' }, /^--nom-freq fast/],
    [{ 'cpuid-0x15.eax': '0x100000000' }, /^--cpuid-0x15\.eax 0x100000000/],
    [{ 'cpuid-0x15.ebx': '-1' }, /^--cpuid-0x15\.ebx -1/],
    [{ 'filter:addr0_cfg': '0x10' }, /^--filter:addr0_cfg 0x10/],
    [{ 'filter:addr3_a': '0x8000000000000000' }, /^--filter:addr3_a .*canonical/],
    [{ cpu: '6' }, /^--cpu 6: want none, auto or FAMILY\/MODEL/],
    [{ cpu: '15/1' }, /^--cpu 15\/1: libipt knows no errata/],
    [{ 'insn-decoder': true, 'block-decoder': true }, /choose one/],
  ];
  for (const [argv, want] of bad) t.throws(() => runPtDecode({ pt: join(dir, 'x.pt'), raw: [`${join(dir, 'x.bin')}:0x1000`], ...argv }), want, JSON.stringify(argv));
});

t.test('decoding options: the values ptxed takes, as C reads numbers', async (t) => {
  const o = ptFlowOptions({
    'mtc-freq': '010', 'nom-freq': '0x18', 'cpuid-0x15.eax': '2', 'cpuid-0x15.ebx': '0xc8', cpu: '6/0x8e/9', 'event:tick': true,
    'filter:addr1_cfg': '1', 'filter:addr1_a': '0x401000', 'filter:addr1_b': '0xffffffff81000000', 'resync-on-error': true,
  });
  t.same(o.time, { mtcFreq: 8, nomFreq: 24, cpuid15Eax: 2, cpuid15Ebx: 200 }, '010 is octal, 0x18 hex');
  t.same(o.cpu, { family: 6, model: 0x8e, stepping: 9 });
  t.same(o.filter, { cfg: [0, 1, 0, 0], a: [0, 0x401000, 0, 0], b: [0, -0x7f000000, 0, 0] }, 'filter addresses canonical');
  t.equal(o.tick, true);
  t.equal(o.resyncOnError, true, '--resync-on-error');
  t.equal(ptFlowOptions({}).resyncOnError, false, 'stops at the first error by default');
  t.equal(parseCpu('none'), undefined);
  t.same(parseCpu('6/85'), { family: 6, model: 85, stepping: 0 });
});

t.test('the command line: ptxed options through hwtrace decode', async (t) => {
  const corpus = gen('cl.zip', '--workload', 'static', '--insns', '20000', '--seed', '4', '--pt-timing', 'tsc,mtc');
  const x = exportRaw(corpus, join(dir, 'cl'));
  const raws = readFileSync(join(x, 'images.txt'), 'utf8').trim().split('\n').flatMap((l) => {
    const [file, addr] = l.split(' ');
    return ['--raw', `${join(x, file!)}:${addr}`];
  });
  const truth = readFileSync(join(x, 'truth.txt'), 'utf8').trim().split('\n');
  const q = run('decode', '--pt', join(x, 'trace.pt'), ...raws, '-q', '--stat:insn', '--filter:addr0_cfg', '0', '--cpu', '6/0x8e', '--mtc-freq', '3', '--event:tick', '--check');
  t.equal(q.status, 0, q.stderr);
  t.equal(q.stdout, `insn: ${truth.length}.\n`, '-q --stat:insn');
  const att = run('decode', '--pt', join(x, 'trace.pt'), ...raws, '--att', '--raw-insn', '--offset', '--insn-decoder');
  t.equal(att.status, 0, att.stderr);
  t.match(att.stdout, /\n[0-9a-f]{16} {2}[0-9a-f]{16}( [0-9a-f]{2})+ +\S/, '--offset --raw-insn --att: offset, address, bytes, AT&T text');
  const bad = run('decode', '--pt', join(x, 'trace.pt'), ...raws, '--mtc-freq', '99');
  t.equal(bad.status, 2, 'a bad value is a usage error');
  t.match(bad.stderr, /--mtc-freq 99/);
  const ranged = run('decode', '--pt', `${join(x, 'trace.pt')}:0`, ...raws, '--no-inst');
  t.same(insnLines(ranged.stdout), truth, '--pt FILE:FROM');
  const outside = run('decode', '--pt', `${join(x, 'trace.pt')}:0-0x100000000`, ...raws);
  t.equal(outside.status, 2, '--pt range outside the file');
});
