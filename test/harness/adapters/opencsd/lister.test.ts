import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseListerElement, rangeAddresses } from '../../../../harness/adapters/opencsd/lister-parse.js';
import { listerElements } from '../../../../harness/adapters/opencsd/lister-run.js';
import { packageRoot } from '../../../../harness/adapters/native/tools.js';
import { needTrcPktLister } from '../../../helpers/reference.js';

const fixtures = join(packageRoot(), 'test', 'fixtures', 'opencsd');

t.test('parses each element kind as OpenCSD 1.8.0 prints it', async (t) => {
  const r = parseListerElement('Idx:33; ID:10; OCSD_GEN_TRC_ELEM_INSTR_RANGE(exec range=0x400014:[0x400018] num_i(1) last_sz(4) (ISA=A64) E iBR A64:ret )')!;
  t.match(r, { idx: 33, id: 0x10, elem: 'INSTR_RANGE', start: 0x400014, end: 0x400018, n: 1, lastSize: 4, isa: 'A64', taken: true, last: 'iBR', subtype: 'A64:ret', cond: false });
  const c = parseListerElement('Idx:32; ID:10; OCSD_GEN_TRC_ELEM_INSTR_RANGE(exec range=0x400010:[0x400014] num_i(1) last_sz(4) (ISA=A64) N BR   <cond>)')!;
  t.match(c, { taken: false, last: 'BR', cond: true });
  t.equal(c.subtype, undefined);
  const k = parseListerElement('Idx:17; ID:10; OCSD_GEN_TRC_ELEM_PE_CONTEXT((ISA=A64) EL1N; 64-bit; VMID=0x5; CTXTID=0x1234; )')!;
  t.match(k, { elem: 'PE_CONTEXT', isa: 'A64', el: 1, security: 'nonsecure', sf: true, vmid: 5, ctxid: 0x1234 });
  const x = parseListerElement('Idx:37; ID:10; OCSD_GEN_TRC_ELEM_EXCEPTION(pref ret addr:0xffffff800808a3c0 [addr also prev br tgt]; excep num (0x01) )')!;
  t.match(x, { elem: 'EXCEPTION', num: 1, ret: -0x7ff7f75c40 });
  const n = parseListerElement('Idx:100; ID:12; OCSD_GEN_TRC_ELEM_ADDR_NACC( 0xffffffc000085000; Memspace [0x6:EL1N] )')!;
  t.match(n, { elem: 'ADDR_NACC', addr: -0x3ffff7b000 });
  t.match(parseListerElement('Idx:0; ID:10; OCSD_GEN_TRC_ELEM_NO_SYNC( [init-decoder])'), { elem: 'NO_SYNC', reason: 'init-decoder' });
  t.match(parseListerElement('Idx:14; ID:10; OCSD_GEN_TRC_ELEM_TIMESTAMP( [ TS=0x000000000088]; )'), { ts: 0x88 });
  t.match(parseListerElement('Idx:5; ID:1a; OCSD_GEN_TRC_ELEM_I_RANGE_NOPATH(first 0x1000:[next 0x1010] num_i(4) )'), { id: 0x1a, start: 0x1000, end: 0x1010, n: 4 });
  t.equal(parseListerElement('Idx:33; ID:0; [0xda ];\tI_ATOM_F2 : Atom format 2.; NE'), undefined, 'packet lines are not elements');
  t.same([...rangeAddresses(r)], [0x400014]);
  t.throws(() => [...rangeAddresses({ ...r, isa: 'T32' })]);
});

t.test('every element line of the expected 1.8.0 listings parses', async (t) => {
  for (const name of ['juno_r1_1', 'a57_single_step', 'ete-ete_ip', 'ss_framed']) {
    const text = readFileSync(join(fixtures, 'expected', `${name}.ppl`), 'utf8');
    let lines = 0, parsed = 0, ranges = 0;
    for (const line of text.split('\n')) {
      if (!line.includes('OCSD_GEN_TRC_ELEM_')) continue;
      lines++;
      const e = parseListerElement(line);
      if (!e) continue;
      parsed++;
      if (e.elem === 'INSTR_RANGE' && e.start !== undefined && e.n !== undefined) ranges++;
    }
    t.equal(parsed, lines, `${name}: ${lines} element lines`);
    t.ok(ranges > 0, `${name}: ranges parsed`);
  }
});

t.test('runs the system trc_pkt_lister and streams its elements', async (t) => {
  if (!needTrcPktLister(t)) return;
  const elems = [];
  for await (const e of listerElements(join(fixtures, 'snapshots', 'ss_raw'))) elems.push(e);
  const ranges = elems.filter((e) => e.elem === 'INSTR_RANGE');
  t.equal(ranges.length, 6, 'the 6-instruction loop snapshot decodes to 6 ranges');
  t.same(ranges.flatMap((e) => [...rangeAddresses(e)]).slice(0, 4), [0x400000, 0x400004, 0x400008, 0x400010]);
  await t.rejects(async () => {
    for await (const _ of listerElements(join(fixtures, 'no-such-snapshot'))) void _;
  }, { code: 'opencsd_failed' });
});
