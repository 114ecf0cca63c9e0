// `hwtrace dump --pt`: the ptdump-style listing on the fixtures in test/fixtures/pt (one loop
// over cases.txt), --format json, --stats, exit codes and error handling.

import t from 'tap';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yargs from 'yargs';
import { HwtraceError, UsageError } from '../../../arch/common/errors.js';
import { ptDumpOptions, runPtDump } from '../../../harness/cli/dump-pt.js';

const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures', 'pt');
const dir = mkdtempSync(join(tmpdir(), 'hwtrace-dump-pt-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/** Writes a .hex fixture out as a binary trace and returns its path. */
function trace(hexFile: string): string {
  const text = readFileSync(join(FIXTURES, hexFile), 'utf8').replace(/#[^\n]*/g, '');
  const bytes = Uint8Array.from(text.split(/\s+/).filter((h) => h !== ''), (h) => Number.parseInt(h, 16));
  const path = join(dir, hexFile.replace(/\.hex$/, '.pt'));
  writeFileSync(path, bytes);
  return path;
}

/** Parses options the way `hwtrace dump` does (its builder adds --pt, --format, --stats). */
async function parse(args: string[]): Promise<Record<string, unknown>> {
  const y = ptDumpOptions(
    yargs(args)
      .option('pt', { type: 'string' })
      .option('format', { choices: ['text', 'json'] as const, default: 'text' as const })
      .option('stats', { type: 'boolean', default: false }),
  ).strict().exitProcess(false).fail((msg, err) => {
    throw err ?? new UsageError(msg);
  });
  return (await y.parseAsync()) as Record<string, unknown>;
}

/** Runs the command and returns what it printed and the exit code it set. */
async function dump(args: string[]): Promise<{ out: string; code: number }> {
  const argv = await parse(args);
  const write = process.stdout.write.bind(process.stdout);
  let out = '';
  process.stdout.write = ((chunk: string | Uint8Array): boolean => {
    out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    return true;
  }) as typeof process.stdout.write;
  const before = process.exitCode;
  process.exitCode = 0;
  try {
    await runPtDump(argv);
  } finally {
    process.stdout.write = write;
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = before;
  return { out, code };
}

t.test('listings match the fixtures', async (t) => {
  const cases = readFileSync(join(FIXTURES, 'cases.txt'), 'utf8').split('\n').filter((l) => l.trim() !== '');
  t.ok(cases.length >= 10, `${cases.length} cases`);
  for (const line of cases) {
    const [expected, input, opts] = line.split('|').map((s) => s.trim()) as [string, string, string];
    const args = ['--pt', trace(input), ...opts.split(/\s+/).filter((a) => a !== '')];
    const { out, code } = await dump(args);
    const want = readFileSync(join(FIXTURES, expected), 'utf8');
    t.equal(out, want, `${expected}: ${input} ${opts}`);
    t.equal(code, want.includes('error decoding packet') ? 1 : 0, `${expected}: exit code`);
  }
});

t.test('--format json: one object per packet and per error', async (t) => {
  const { out, code } = await dump(['--pt', trace('errors.hex'), '--format', 'json']);
  const objs = out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  t.same(objs[0], { offset: 3, size: 16, type: 'psb' });
  t.same(objs[1], { offset: 0x13, size: 3, type: 'tip', ipc: 1, ip: '0x1234' });
  t.match(objs[2], { offset: 0x16, error: 'bad_opc', message: /unknown opcode 0x05/ });
  t.match(objs.at(-1), { offset: 0x42, error: 'eos', message: /truncated tsc/ });
  t.equal(code, 1, 'decode errors exit 1');
  const all = (await dump(['--pt', trace('all-packets.hex'), '--format', 'json'])).out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  t.same(all.find((o) => o['type'] === 'tnt.8'), { offset: 0x3d, size: 1, type: 'tnt.8', bits: 6, tnt: '!.!.!.' });
  t.same(all.find((o) => o['type'] === 'tsc'), { offset: 0x19, size: 8, type: 'tsc', tsc: '0x45e897b4d39ba' });
  t.same(all.find((o) => o['type'] === 'pip'), { offset: 0x2c, size: 8, type: 'pip', cr3: 0x123456789000, nr: 1 });
  t.same(all.find((o) => o['type'] === 'cfe'), { offset: 0xc5, size: 4, type: 'cfe', cfeType: 'intr', vector: 0x20, ip: 1 });
});

t.test('--stats: totals, as text and as one JSON object', async (t) => {
  const { out, code } = await dump(['--pt', trace('all-packets.hex'), '--stats', '--format', 'json']);
  const s = JSON.parse(out) as { bytes: number; packets: number; errors: number; byType: Record<string, number>; mbPerSec: number };
  t.equal(code, 0);
  t.equal(s.bytes, 224);
  t.equal(s.errors, 0);
  t.equal(s.packets, 46);
  t.same(s.byType, {
    pad: 1, psb: 1, psbend: 1, fup: 2, tip: 2, 'tip.pge': 1, 'tip.pgd': 2, 'tnt.8': 3, 'tnt.64': 1, 'mode.exec': 4, 'mode.tsx': 3,
    pip: 1, vmcs: 1, cbr: 1, tsc: 1, tma: 1, mtc: 1, cyc: 2, stop: 1, ovf: 1, mnt: 1, exstop: 2, mwait: 1, pwre: 2, pwrx: 3,
    ptw: 2, cfe: 1, evd: 1, trig: 2,
  });
  t.type(s.mbPerSec, 'number');
  const text = await dump(['--pt', trace('errors.hex'), '--stats']);
  t.equal(text.code, 1, 'errors counted in --stats also exit 1');
  t.match(text.out, /^bytes\s+69$/m);
  t.match(text.out, /^errors\s+3$/m);
  t.match(text.out, /^skipped bytes\s+18$/m);
  t.match(text.out, /^psb\s+3$/m);
  t.match(text.out, /^MB\/s\s+[\d.]+$/m);
});

t.test('bad options are usage errors; an unreadable file names the file', async (t) => {
  const file = trace('all-packets.hex');
  await t.rejects(dump(['--pt', file, '--time', '--tcal']), UsageError);
  await t.rejects(dump(['--pt', file, '--mtc-freq', '16']), /--mtc-freq 16/);
  await t.rejects(dump(['--pt', file, '--cpuid-0x15.eax', 'x']), UsageError);
  await t.rejects(dump(['--pt', file, '--cpu', '6-78']), /--cpu 6-78/);
  await t.rejects(dump(['--pt', file, '--bogus']), /Unknown argument/);
  const missing = join(dir, 'missing.pt');
  const err: unknown = await dump(['--pt', missing]).catch((e: unknown) => e);
  t.ok(err instanceof HwtraceError && !(err instanceof UsageError), 'a missing file is an HwtraceError (exit 1), not a usage error');
  t.match((err as Error).message, `cannot read PT trace ${missing}`);
  t.equal((await dump(['--pt', file, '--cpu', '6/78'])).code, 0, '--cpu F/M accepted');
  t.equal((await dump(['--pt', file, '--cpu', 'none', '--nom-freq', '0x18', '--mtc-freq', '3'])).code, 0);
});

t.test('dotted and negated option names are read literally', async (t) => {
  const argv = await parse(['--pt', 'x', '--cpuid-0x15.eax', '2', '--cpuid-0x15.ebx', '0x60', '--tcal', '--no-tcal', '--no-pad']);
  t.equal(argv['cpuid-0x15.eax'], '2');
  t.equal(argv['cpuid-0x15.ebx'], '0x60');
  t.equal(argv['tcal'], true);
  t.equal(argv['no-tcal'], true, '--no-tcal is its own option, not --tcal negated');
  t.equal(argv['no-pad'], true);
});
