import t from 'tap';
import { formatAddr } from '../../../arch/common/address.js';
import { MemorySink } from '../../../arch/common/stream.js';
import {
  MAX_VARINT_BYTES, TruthCursor, TruthStreamDecoder, TruthWriter, VarintReader, forEachTruthRecord, putVarint, readTruthBlocks,
  readTruthSegments, truthAddresses, unzigzag, writeTruthText, zigzag,
} from '../../../corpora/truth/index.js';

t.test('varints round-trip at the edges, zigzag covers signed addresses', async (t) => {
  const values = [0, 1, 127, 128, 16383, 16384, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 40 + 5, Number.MAX_SAFE_INTEGER];
  const buf = new Uint8Array(values.length * MAX_VARINT_BYTES);
  let p = 0;
  for (const v of values) p = putVarint(buf, p, v);
  const r = new VarintReader(buf.subarray(0, p), 'test');
  t.same(values.map(() => r.varint()), values);
  t.ok(r.atEnd);
  t.equal(putVarint(new Uint8Array(8), 0, 127), 1);
  t.equal(putVarint(new Uint8Array(8), 0, 128), 2);
  for (const a of [0, 1, -1, 0x400000, -0x7f000000, -0x7ffff0000000, 2 ** 47 - 1, -(2 ** 47)]) t.equal(unzigzag(zigzag(a)), a, `address ${a}`);
  t.equal(zigzag(-1), 1);
  t.equal(zigzag(1), 2);
  t.throws(() => new VarintReader(Uint8Array.of(0x80, 0x80), 'm').varint(), /m: truncated varint at byte 2/);
  t.throws(() => new VarintReader(new Uint8Array(9).fill(0xff), 'm').varint(), /longer than 8 bytes/);
});

interface Made { blocks: Uint8Array; segments: Uint8Array; stream: Uint8Array; records: Array<[number, number]>; addrs: number[]; segAt: number[] }

/** Writes a synthetic truth: a few blocks (x86 lengths, A64 uniform, kernel addresses) and random records. */
function make(seed: number, records: number, chunkSize = 64): Made {
  let s = seed;
  const rnd = (n: number): number => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 8) % n;
  const sink = new MemorySink();
  const w = new TruthWriter(sink, chunkSize);
  const defs: Array<[number, number[]]> = [
    [0x400000, [1, 7, 3, 15, 2]],
    [-0x7f000000, [4, 4, 4]],
    [-0x7ffff0000000, [4]],
    [0x400010, [5, 5, 6]],
  ];
  for (let i = 0; i < 300; i++) defs.push([0x500000 + i * 64, [1 + (i % 15), 2]]);
  defs.forEach(([start, lens], i) => t.equal(w.defineBlock(start, Uint8Array.from(lens), i % 3, i % 2), i));
  const out: Array<[number, number]> = [];
  const addrs: number[] = [];
  const segAt: number[] = [];
  let time = 2 ** 33; // large times still encode exactly
  for (let i = 0; i < records; i++) {
    if (rnd(10) === 0) {
      w.sync(rnd(2), i * 100);
      segAt.push(i);
    }
    const id = rnd(defs.length);
    time += rnd(5) === 0 ? rnd(1 << 20) : rnd(40);
    w.record(id, time);
    out.push([id, time]);
    let a = defs[id]![0];
    for (const l of defs[id]![1]) {
      addrs.push(a);
      a += l;
    }
  }
  const tables = w.finish();
  t.equal(tables.summary.records, records);
  t.equal(tables.summary.instructions, addrs.length);
  t.equal(tables.summary.segments, segAt.length);
  t.ok(sink.ended);
  return { blocks: tables.blocks, segments: tables.segments, stream: sink.bytes(), records: out, addrs, segAt };
}

/** Splits a buffer into chunks of random sizes (1 byte up to 40). */
function chunks(b: Uint8Array, seed: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let s = seed;
  for (let p = 0; p < b.length;) {
    const n = 1 + ((s = (Math.imul(s, 48271) + 11) >>> 0) % 40);
    out.push(b.subarray(p, p + n));
    p += n;
  }
  return out;
}

t.test('writer → reader round trip, with records split across chunks anywhere', async (t) => {
  const m = make(1, 5000);
  const table = readTruthBlocks(m.blocks);
  t.equal(table.size, 304);
  t.same(table.block(0), { start: 0x400000, lengths: Uint8Array.of(1, 7, 3, 15, 2), ctx: 0, version: 0 });
  t.same(table.block(2), { start: -0x7ffff0000000, lengths: Uint8Array.of(4), ctx: 2, version: 0 });
  t.equal(table.address(0, 3), 0x400000 + 11);
  for (const seed of [1, 2, 3]) {
    const got: Array<[number, number]> = [];
    forEachTruthRecord(table, chunks(m.stream, seed), (id, time, index) => {
      if (index !== got.length) t.fail('index out of order');
      got.push([id, time]);
    });
    t.same(got, m.records, `chunking ${seed}`);
  }
  t.same(truthAddresses(table, [m.stream]), m.addrs);
});

t.test('segments point at their records: decoding can start at any segment', async (t) => {
  const m = make(2, 3000);
  const table = readTruthBlocks(m.blocks);
  const segs = readTruthSegments(m.segments);
  t.equal(segs.length, m.segAt.length);
  let insns = 0;
  const insnBefore: number[] = [];
  m.records.forEach(([id]) => {
    insnBefore.push(insns);
    insns += table.count[id]!;
  });
  for (const [k, seg] of segs.entries()) {
    const r = m.segAt[k]!;
    t.equal(seg.record, r);
    t.equal(seg.traceOffset, r * 100);
    t.equal(seg.instruction, insnBefore[r]);
    if (k % 25 !== 0) continue;
    const got: Array<[number, number]> = [];
    const d = new TruthStreamDecoder(table, (id, time) => got.push([id, time]), 'stream', { record: seg.record, time: seg.time });
    for (const c of chunks(m.stream.subarray(seg.byteOffset), 5)) d.push(c);
    d.end(false);
    t.equal(d.records, m.records.length);
    t.same(got, m.records.slice(r), `segment ${k} decodes the rest of the stream`);
  }
});

t.test('truth.txt: one 16-hex-digit address per instruction, streamed', async (t) => {
  const m = make(3, 800, 4096);
  const table = readTruthBlocks(m.blocks);
  const out = new MemorySink();
  const lines = writeTruthText(table, chunks(m.stream, 9), out, 100);
  t.equal(lines, m.addrs.length);
  t.ok(out.ended);
  const text = new TextDecoder().decode(out.bytes());
  t.equal(text, m.addrs.map((a) => formatAddr(a) + '\n').join(''));
  t.match(text, /^[0-9a-f]{16}\n/);
  t.ok(text.includes('ffffffff81000000\n'), 'kernel addresses as 64-bit two\'s complement');
  t.ok(text.includes('ffff800010000000\n'));
});

t.test('bad truths are refused with the member and the byte named', async (t) => {
  const m = make(4, 200);
  const table = readTruthBlocks(m.blocks);
  const run = (bytes: Uint8Array): void => forEachTruthRecord(table, [bytes], () => {}, 'truth/stream.bin');
  t.throws(() => run(m.stream.subarray(0, m.stream.length - 1)), /truth\/stream.bin: (truncated in the middle of a record|holds \d+ records)/);
  t.throws(() => run(m.stream.subarray(0, 5)), /truncated before the end of the magic/);
  const badMagic = m.stream.slice();
  badMagic[0] = 0x41;
  t.throws(() => run(badMagic), /bad magic\) at byte 0/);
  t.throws(() => run(Uint8Array.of(...m.stream.subarray(0, 8), 0xff, 0x7f, 0)), /names block 16383, but the table has 304 at byte 9/);
  t.throws(() => run(m.stream.subarray(0, 8)), /holds 0 records, the block table says 200/);
  t.throws(() => readTruthBlocks(m.blocks.subarray(0, m.blocks.length - 1), 'truth/blocks.bin'), /truth\/blocks.bin: truncated/);
  t.throws(() => readTruthBlocks(Uint8Array.of(...m.blocks, 0)), /trailing bytes/);
  t.throws(() => readTruthBlocks(m.segments), /bad magic/);
  t.throws(() => readTruthSegments(m.segments.subarray(0, m.segments.length - 1)), /truncated/);
  const w = new TruthWriter(new MemorySink());
  t.throws(() => w.defineBlock(0x1000, new Uint8Array(0), 0, 0), /at least one instruction/);
  w.defineBlock(0x1000, Uint8Array.of(4), 0, 0);
  w.record(0, 100);
  t.throws(() => w.record(0, 99), /non-decreasing/);
  w.finish();
  t.throws(() => w.finish(), /twice/);
});

t.test('the stream costs about three bytes per executed block', async (t) => {
  const m = make(5, 10000, 1 << 16);
  t.ok(m.stream.length < 10000 * 4, `${m.stream.length} bytes for 10000 records`);
});

t.test('TruthCursor walks the records pull-style, from the start or from a segment', async (t) => {
  const m = make(6, 4000);
  const table = readTruthBlocks(m.blocks);
  const c = new TruthCursor(table, chunks(m.stream, 4));
  const got: Array<[number, number]> = [];
  while (c.next()) {
    if (c.index !== got.length) t.fail('index');
    if (c.start !== table.start[c.id] || c.count !== table.count[c.id]) t.fail('block fields');
    got.push([c.id, c.time]);
  }
  t.same(got, m.records);
  t.notOk(c.next(), 'stays at the end');
  const seg = readTruthSegments(m.segments)[3]!;
  const s = new TruthCursor(table, [m.stream.subarray(seg.byteOffset)], 'stream', { record: seg.record, time: seg.time });
  t.ok(s.next());
  t.same([s.index, s.id, s.time], [seg.record, ...m.records[seg.record]!]);
  const cut = new TruthCursor(table, [m.stream.subarray(0, m.stream.length - 2)]);
  t.throws(() => { while (cut.next()); }, /truth\/stream.bin: (truncated|holds)/);
});
