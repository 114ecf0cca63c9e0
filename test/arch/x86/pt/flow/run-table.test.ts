// The run table: one record per entry offset with the run's count, offsets, class and kind, links
// to the runs after it made on demand, the classifier called once per run of code, records kept
// intact when the table grows.

import t from 'tap';
import { X86Class } from '../../../../../arch/x86/isa/classify.js';
import { PtImage } from '../../../../../arch/x86/pt/flow/index.js';
import { RunField, RunKind } from '../../../../../arch/x86/pt/flow/run-table.js';

const BASE = 0x400000;

function tableOf(code: number[]) {
  const image = new PtImage();
  image.add(new Uint8Array(code), BASE);
  const cache = image.cache(0, 64);
  return { cache, table: cache.runs };
}

t.test('records, links and kinds', async (t) => {
  const { cache, table } = tableOf([
    0x48, 0x89, 0xe5, // 0: mov rbp, rsp
    0x74, 0x02, //       3: je 7
    0xeb, 0x00, //       5: jmp 7
    0xc3, //             7: ret
    0xe8, 0x00, 0x10, 0x00, 0x00, // 8: call outside the section
    0x90, //             13: nop, the last byte
  ]);
  const id = table.at(0);
  const r = table.rec;
  t.ok(id > 0 && id % RunField.STRIDE === 0, 'an id is a record offset, never 0');
  t.equal(r[id + RunField.HEAD]! >> RunField.KIND_BITS, 2, 'two instructions');
  t.equal(r[id + RunField.HEAD]! & RunField.KIND_MASK, RunKind.COND, 'ends in a conditional branch');
  t.same([r[id + RunField.START], r[id + RunField.LAST], r[id + RunField.NEXT], r[id + RunField.TARGET]], [0, 3, 5, 7], 'start, last, next, target');
  t.equal(r[id + RunField.CLS], X86Class.COND_JUMP, 'class of the last instruction');
  t.same([r[id + RunField.TAKEN], r[id + RunField.FALL]], [0, 0], 'not linked yet');
  t.equal(table.at(0), id, 'the same id again');
  t.equal(cache.fills, 1, 'one classifier call');

  const fall = table.fall(id);
  const taken = table.taken(id);
  const r2 = table.rec;
  t.same([r2[id + RunField.TAKEN], r2[id + RunField.FALL]], [taken, fall], 'both links made');
  t.equal(table.known(5), fall, 'the fall-through run is the one at 5');
  t.equal(table.known(7), taken, 'the taken run is the one at 7');
  t.equal(r2[fall + RunField.HEAD]! & RunField.KIND_MASK, RunKind.JUMP, 'jmp: JUMP');
  t.equal(r2[fall + RunField.TARGET], 7, 'jmp target');
  t.equal(r2[taken + RunField.HEAD]! & RunField.KIND_MASK, RunKind.RETURN, 'ret: RETURN');
  t.equal(table.taken(fall), taken, 'jmp and je share the run at their target');
  t.equal(cache.fills, 3, 'one classifier call per run of code');

  const mid = table.at(3);
  t.not(mid, id, 'entering mid-run is another run');
  t.equal(table.rec[mid + RunField.HEAD]! >> RunField.KIND_BITS, 1, 'of one instruction');
  t.equal(cache.fills, 3, 'classified already: no classifier call');

  const call = table.at(8);
  t.equal(table.rec[call + RunField.HEAD]! & RunField.KIND_MASK, RunKind.CALL, 'call: CALL');
  t.equal(table.rec[call + RunField.TARGET], -1, 'target outside the section: none');
  t.equal(table.taken(call), 0, 'no link out of the section');
  const last = table.fall(call);
  t.equal(table.rec[last + RunField.HEAD]!, (1 << RunField.KIND_BITS) | RunKind.OTHER, 'nop at the end: one instruction, OTHER');
  t.equal(table.rec[last + RunField.NEXT], 14, 'next is the section size');
  t.equal(table.fall(last), 0, 'no run after the section');
  t.equal(table.known(1), 0, 'no run entered inside an instruction');
});

t.test('the table grows with the entries, records intact', async (t) => {
  const code = [...new Array<number>(200).fill(0x90), 0xc3];
  const { cache, table } = tableOf(code);
  const ids: number[] = [];
  for (let off = 0; off < 200; off++) ids.push(table.at(off));
  t.equal(new Set(ids).size, 200, '200 distinct runs');
  t.ok(table.rec.length >= 201 * RunField.STRIDE, 'grown past its first size');
  let bad = 0;
  for (let off = 0; off < 200; off++) {
    const id = ids[off]!;
    if (table.rec[id + RunField.START] !== off || table.rec[id + RunField.HEAD]! >> RunField.KIND_BITS !== 201 - off || table.known(off) !== id) bad++;
  }
  t.equal(bad, 0, 'every record has its start and count');
  t.equal(cache.fills, 1, 'one classifier call for the whole run');
});
