// `hwtrace dump --ss-dir`: trc_pkt_lister-style text, JSON, totals, option checking, errors.

import t from 'tap';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yargs from 'yargs';
import { HwtraceError, UsageError } from '../../../arch/common/errors.js';
import { etmDumpOptions, runEtmDump } from '../../../harness/cli/dump-etm.js';
import { expectedListing, parseListing, snapshotDir } from '../../arch/arm/opencsd/fixtures.js';

interface Run {
  out: string;
  err: string;
  exitCode: number | undefined;
}

/** Runs the dump with stdout/stderr captured and process.exitCode restored. */
function run(argv: Record<string, unknown>): Run {
  const saved = { out: process.stdout.write, err: process.stderr.write, code: process.exitCode };
  let out = '';
  let err = '';
  process.exitCode = undefined;
  process.stdout.write = ((s: string | Uint8Array) => {
    out += String(s);
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => {
    err += String(s);
    return true;
  }) as typeof process.stderr.write;
  try {
    runEtmDump({ format: 'text', stats: false, ...argv });
    return { out, err, exitCode: typeof process.exitCode === 'number' ? process.exitCode : undefined };
  } finally {
    process.stdout.write = saved.out;
    process.stderr.write = saved.err;
    process.exitCode = saved.code;
  }
}

t.test('text: the packet lines of trc_pkt_lister', async (t) => {
  const r = run({ 'ss-dir': snapshotDir('a57_single_step') });
  const lines = r.out.replace(/\n$/, '').split('\n');
  t.same(lines, parseListing(expectedListing('a57_single_step')).map((p) => p.line));
  t.equal(r.err, '');
  t.equal(r.exitCode, undefined, 'no decode errors: exit 0');
});

t.test('multi-source frames, in trc_pkt_lister order; --id selects one trace ID', async (t) => {
  const all = run({ 'ss-dir': snapshotDir('juno_r1_1') });
  const expected = parseListing(expectedListing('juno_r1_1'));
  t.same(all.out.replace(/\n$/, '').split('\n'), expected.map((p) => p.line));
  const one = run({ 'ss-dir': snapshotDir('juno_r1_1'), id: '0x13' });
  t.same(one.out.replace(/\n$/, '').split('\n'), expected.filter((p) => p.id === 0x13).map((p) => p.line));
  t.same(run({ 'ss-dir': snapshotDir('juno_r1_1'), id: '19' }).out, one.out, 'decimal IDs too');
});

t.test('json: one object per packet with idx, id, type and decoded fields', async (t) => {
  const r = run({ 'ss-dir': snapshotDir('ss_framed'), format: 'json' });
  const objs = r.out.replace(/\n$/, '').split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const expected = parseListing(expectedListing('ss_framed'));
  t.same(objs.map((o) => [o['idx'], o['id'], o['type']]), expected.map((p) => [p.idx, p.id, p.type]));
  const ctx = objs.find((o) => o['type'] === 'I_ADDR_CTXT_L_64IS0')!;
  t.match(ctx, { addr: '0x0000000000400000', el: 1, security: 'NS', aarch64: true, vmid: 5, contextId: 0x1234, bytes: /^85 00 00 40/ });
  t.match(objs.find((o) => o['type'] === 'I_ATOM_F3')!, { atoms: 'EEE' });
  t.match(objs.find((o) => o['type'] === 'I_TIMESTAMP')!, { timestamp: '0x88' });
});

t.test('stats: totals by type and MB/s, as text or one JSON object', async (t) => {
  const text = run({ 'ss-dir': snapshotDir('juno_r1_1'), stats: true });
  t.match(text.out, /packets\s+31464/);
  t.match(text.out, /I_ATOM_F3\s+8489/);
  t.match(text.out, /MB\/s\s+\d/);
  const json = run({ 'ss-dir': snapshotDir('juno_r1_1'), stats: true, format: 'json' });
  const o = JSON.parse(json.out) as { bytes: number; packets: number; errors: number; mbPerSec: number; types: Record<string, number>; ids: number[] };
  t.equal(o.bytes, 65536);
  t.equal(o.packets, 31464);
  t.equal(o.errors, 0);
  t.equal(o.types['I_ADDR_S_IS0'], 5989);
  t.same(o.ids, [0x10, 0x11, 0x12, 0x13, 0x14, 0x15]);
  t.ok(o.mbPerSec > 0);
});

t.test('decode errors: listed, on stderr (text) or in the stream (json), exit code 1', async (t) => {
  const text = run({ 'ss-dir': snapshotDir('ete-infrastructure'), id: '0x10' });
  t.equal(text.exitCode, 1);
  t.match(text.err, /^hwtrace: ID:10 Idx:2164: reserved_for_config: header 0x07 \(I_EXCEPT_RTN\) is reserved/m);
  t.match(text.out, /Idx:2164; ID:10; \[0x07 \];\tI_RESERVED_CFG/);
  const json = run({ 'ss-dir': snapshotDir('ete-infrastructure'), id: '0x10', format: 'json' });
  t.equal(json.exitCode, 1);
  const errs = json.out.replace(/\n$/, '').split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).filter((o) => 'error' in o);
  t.ok(errs.length > 0);
  t.match(errs[0], { error: 'reserved_for_config', idx: 2164, id: 0x10 });
  t.equal(json.err, '');
});

t.test('TPIU captures: --dstream-format strips DSTREAM footers', async (t) => {
  const r = run({ 'ss-dir': snapshotDir('a55-test-tpiu'), 'dstream-format': true, format: 'json', stats: true });
  const o = JSON.parse(r.out) as { packets: number; errorCodes: Record<string, number> };
  t.equal(o.packets, parseListing(expectedListing('a55-test-tpiu')).length);
  t.same(Object.keys(o.errorCodes).sort(), ['bad_sequence', 'reserved_header', 'truncated_frame']);
});

t.test('bad options are UsageErrors; bad snapshots are HwtraceErrors naming file and key', async (t) => {
  t.throws(() => run({}), UsageError);
  t.throws(() => run({ 'ss-dir': snapshotDir('ss_raw'), id: 'zz' }), UsageError);
  t.throws(() => run({ 'ss-dir': snapshotDir('ss_raw'), id: '0x80' }), UsageError);
  t.throws(() => run({ 'ss-dir': snapshotDir('ss_raw'), format: 'xml' }), UsageError);
  t.throws(() => run({ 'ss-dir': snapshotDir('juno_r1_1'), id: '0x30' }), { name: 'UsageError', message: /have: 0x10, 0x11/ });
  t.throws(() => run({ 'ss-dir': snapshotDir('juno_r1_1'), buffer: 'NOPE' }), { message: /no buffer named 'NOPE'/ });
  const dir = mkdtempSync(join(tmpdir(), 'hwtrace-dump-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(snapshotDir('ss_raw'), dir, { recursive: true });
  writeFileSync(join(dir, 'etm_0.ini'), readFileSync(join(dir, 'etm_0.ini'), 'utf8').replace(/^TRCTRACEIDR.*$/m, ''));
  t.throws(() => run({ 'ss-dir': dir }), { message: /etm_0\.ini: \[regs\] TRCTRACEIDR is missing/ });
  t.throws(() => run({ 'ss-dir': join(dir, 'nope') }), HwtraceError);
});

t.test('etmDumpOptions declares the ETM options for yargs', async (t) => {
  const argv = await etmDumpOptions(yargs([]).option('ss-dir', { type: 'string' })).parseAsync(['--ss-dir', 'x', '--id', '0x10', '--buffer', 'B', '--dstream-format']);
  t.match(argv, { id: '0x10', buffer: 'B', 'dstream-format': true, 'tpiu-hsync': false });
});
