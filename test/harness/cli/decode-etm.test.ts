// `hwtrace decode --ss-dir` / `hwtrace decode CORPUS` for ETMv4/ETE, through the command's
// functions with stdout captured: trc_pkt_lister-style text, JSON elements, --id, a corpus.

import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../../../harness/adapters/native/tools.js';
import { CorpusReader } from '../../../corpora/reader.js';
import { CorpusArchView } from '../../../harness/export/corpus-arch.js';
import { runEtmDecode, runEtmDecodeCorpus } from '../../../harness/cli/decode-etm.js';
import { withoutOpenCsdErrors } from '../../arch/arm/etm4/flow/opencsd-differences.js';

const SNAPS = fileURLToPath(new URL('../../fixtures/opencsd/snapshots/', import.meta.url));
const EXPECTED = fileURLToPath(new URL('../../fixtures/opencsd/expected/', import.meta.url));

function capture(fn: () => void): string {
  const chunks: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((s: string | Uint8Array) => {
    chunks.push(typeof s === 'string' ? s : Buffer.from(s).toString());
    return true;
  }) as typeof process.stdout.write;
  try {
    fn();
  } finally {
    process.stdout.write = write;
  }
  return chunks.join('');
}

// Snapshots whose whole `trc_pkt_lister -decode` listing (every packet and element line) we
// reproduce. OpenCSD prints an error message without a line end, so the packet line after it
// starts mid-line: those are cut at their `Idx:`. A snapshot whose listing has OpenCSD decode
// errors (with a TrcIdx; not the missing-file messages at setup) makes the command exit 1.
// Lines OpenCSD gets wrong are left out (test/arch/arm/etm4/flow/opencsd-differences.ts).
const FULL_LISTING = [
  'ss_raw', 'ss_framed', 'a57_single_step', 'juno_r1_1', 'juno-uname-001', 'ete-ete_ip', 'ete-ete_mem', 'ete-ete_spec_1',
  'ete-event_test', 'ete-infrastructure', 'ete-maxspec0_commopt1', 'ete-q_elem', 'ete-src_addr', 'ete-tme_simple',
  'ete-trace_file_cid_vmid', 'ete-ts_marker',
];

for (const name of FULL_LISTING) {
  t.test(`text output of ${name}: packets and elements as trc_pkt_lister -decode prints them`, async (t) => {
    const before = process.exitCode;
    const out = capture(() => runEtmDecode({ 'ss-dir': SNAPS + name, format: 'text' })).split('\n');
    const exitCode = process.exitCode;
    process.exitCode = before;
    const listing = readFileSync(EXPECTED + name + '.ppl', 'utf8').split('\n');
    const openCsdErrors = listing.filter((l) => /OCSD_ERR_.*TrcIdx=/.test(l)).length;
    t.equal(exitCode === 1, openCsdErrors > 0, openCsdErrors > 0 ? `exit 1, as OpenCSD reports ${openCsdErrors} errors` : 'no decode errors');
    const known = withoutOpenCsdErrors(name, listing.map((l) => l.replace(/^.*OCSD_ERR_.*?TrcIdx=.*?(?=Idx:)/, '')).filter((l) => l.startsWith('Idx:')));
    t.same(known.missing, [], 'the lines OpenCSD gets wrong are in its listing');
    const want = known.lines;
    const norm = (l: string): string => l.replace(/\s+\)$/, ')').replace(/\s+/g, ' ').trim();
    const got = out.filter((l) => l.startsWith('Idx:')).map(norm);
    const exp = want.map(norm);
    let i = 0;
    while (i < got.length && i < exp.length && got[i] === exp[i]) i++;
    t.equal(i === got.length && i === exp.length, true, `${exp.length} lines equal OpenCSD 1.8.0` + (i < Math.max(got.length, exp.length) ? `; first difference at line ${i}: want ${exp[i]} got ${got[i]}` : ''));
  });
}

t.test('json output: one object per element', async (t) => {
  const lines = capture(() => runEtmDecode({ 'ss-dir': SNAPS + 'a57_single_step', format: 'json' })).trim().split('\n');
  const objs = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  t.same(
    objs.map((o) => o['elem']),
    ['NO_SYNC', 'TRACE_ON', 'PE_CONTEXT', 'INSTR_RANGE', 'EXCEPTION', 'TIMESTAMP', 'EO_TRACE'],
  );
  t.same(objs[3], { idx: 37, id: 0x10, elem: 'INSTR_RANGE', start: '0xfffeb448', end: '0xfffeb44c', n: 1, isa: 'A64', last: 'OTHER', taken: true });
  t.same(objs[2], { idx: 17, id: 0x10, elem: 'PE_CONTEXT', isa: 'A64', el: 2, security: 'nonsecure', sf: true, vmid: 0, ctxid: 0 });
  t.same(objs[4], { idx: 37, id: 0x10, elem: 'EXCEPTION', num: 1, ret: '0xfffeb44c' });
  t.same(objs[5], { idx: 59, id: 0x10, elem: 'TIMESTAMP', ts: 0x2f150c0 });
});

t.test('--id keeps one trace ID of a multi-source snapshot', async (t) => {
  const all = capture(() => runEtmDecode({ 'ss-dir': SNAPS + 'juno_r1_1', format: 'json' })).trim().split('\n');
  const ids = new Set(all.map((l) => (JSON.parse(l) as { id: number }).id));
  t.ok(ids.size >= 4, `${ids.size} trace IDs decoded by default`);
  const one = capture(() => runEtmDecode({ 'ss-dir': SNAPS + 'juno_r1_1', format: 'json', id: '0x13' })).trim().split('\n');
  t.ok(one.length > 10);
  t.ok(one.every((l) => (JSON.parse(l) as { id: number }).id === 0x13), 'only ID 0x13');
  t.throws(() => runEtmDecode({ 'ss-dir': SNAPS + 'juno_r1_1', id: '0x200' }), /trace ID is 0\.\.0x7f/);
  t.throws(() => runEtmDecode({ 'ss-dir': SNAPS + 'juno_r1_1', id: '0x33' }), /no ETMv4\/ETE trace source with trace ID 0x33/);
});

t.test('a generated ARM corpus decodes with its own images', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hwtrace-decode-etm-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const corpus = join(dir, 'c.zip');
  const cli = join(packageRoot(), 'dist', 'harness', 'cli', 'main.js');
  const r = spawnSync(process.execPath, [cli, 'gen', '-o', corpus, '--arch', 'arm', '--workload', 'multiproc', '--insns', '50000', '--seed', '3'], { encoding: 'utf8' });
  t.equal(r.status, 0, `gen: ${r.stderr}`);
  const view = new CorpusArchView(CorpusReader.open(corpus), 'arm');
  const out = capture(() => runEtmDecodeCorpus(view, { format: 'json' })).trim().split('\n');
  const elems = out.map((l) => JSON.parse(l) as { elem: string; n?: number });
  t.notOk(elems.some((e) => e.elem === 'ADDR_NACC'), 'no ADDR_NACC');
  const n = elems.reduce((s, e) => s + (e.elem === 'INSTR_RANGE' ? e.n! : 0), 0);
  const tail = (view.reader.manifest.summary as Record<string, Record<string, number>>)['arm']!['untracedTail'] ?? 0;
  t.equal(n, 50000 - tail, `${n} instructions decoded = 50000 - untraced tail ${tail}`);
});
