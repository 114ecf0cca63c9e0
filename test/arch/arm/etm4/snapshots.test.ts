// Acceptance: every ETMv4/ETE snapshot in the fixtures decodes to exactly the packets OpenCSD
// 1.8.0 lists for it — the same (Idx, ID, type) sequence, and in fact the same text.

import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DecodeError } from '../../../../arch/common/errors.js';
import { formatPacketLine } from '../../../../arch/arm/etm4/listing.js';
import type { Etm4Packet } from '../../../../arch/arm/etm4/packet.js';
import { packetTypeName } from '../../../../arch/arm/etm4/packet-types.js';
import { FrameDeformatter } from '../../../../arch/arm/coresight/deformatter.js';
import { DstreamUnpacker } from '../../../../arch/arm/coresight/dstream.js';
import { planSnapshotDecode, runSnapshotDecode } from '../../../../arch/arm/opencsd/snapshot-decode.js';
import { etm4ConfigOf, readSnapshot } from '../../../../arch/arm/opencsd/snapshot-reader.js';
import { Etm4PacketDecoder } from '../../../../arch/arm/etm4/decoder.js';
import { expectedListing, parseIdData, parseListing, snapshotDir, snapshotNames } from '../opencsd/fixtures.js';

interface Decoded {
  lines: string[];
  keys: string[];
  errors: DecodeError[];
}

function decodeSnapshot(name: string, listingOrder: boolean): Decoded {
  const snap = readSnapshot(snapshotDir(name));
  const out: Decoded = { lines: [], keys: [], errors: [] };
  const ete = new Map<number, boolean>();
  const sink = {
    packet(p: Etm4Packet) {
      out.lines.push(formatPacketLine(p, { ete: ete.get(p.traceId) ?? false }));
      out.keys.push(`${p.index}/${p.traceId}/${packetTypeName(p.type)}`);
    },
    error(e: DecodeError) {
      out.errors.push(e);
    },
  };
  const plan = planSnapshotDecode(snap, sink);
  for (const s of plan.sources) ete.set(s.traceId, s.config.ete);
  runSnapshotDecode(plan, sink, { listingOrder, chunkSize: 4099 });
  return out;
}

/** Groups lines by trace ID, keeping their order (the batched demux orders per ID only). */
function byId(lines: string[]): string[] {
  const id = (l: string): string => /ID:([0-9a-f]+)/.exec(l)![1]!;
  return lines
    .map((l, i) => [l, i] as const)
    .sort((a, b) => (id(a[0]) === id(b[0]) ? a[1] - b[1] : parseInt(id(a[0]), 16) - parseInt(id(b[0]), 16)))
    .map(([l]) => l);
}

const names = snapshotNames().filter((n) => n !== 'a55-test-tpiu');

t.test('the fixtures hold the snapshots the brief names', async (t) => {
  for (const n of ['juno_r1_1', 'juno-uname-001', 'a57_single_step', 'init-short-addr', 'ete-infrastructure', 'ete-q_elem', 'ss_raw', 'ss_framed']) {
    t.ok(names.includes(n), n);
  }
  t.ok(names.length >= 17, `${names.length} snapshots`);
});

for (const name of names) {
  t.test(`${name}: packets equal OpenCSD's listing`, async (t) => {
    const expected = parseListing(expectedListing(name));
    t.ok(expected.length > 0, 'the expected listing has packet lines');
    const got = decodeSnapshot(name, true);
    t.same(got.keys, expected.map((e) => `${e.idx}/${e.id}/${e.type}`), '(Idx, ID, type) sequence');
    const firstDiff = got.lines.findIndex((l, i) => l !== expected[i]?.line);
    t.equal(firstDiff, -1, firstDiff < 0 ? 'text identical' : `first different line ${firstDiff}:\n  got ${got.lines[firstDiff]}\n  exp ${expected[firstDiff]?.line}`);
    t.equal(got.lines.length, expected.length);
  });
}

t.test('the batched demux gives the same packets per trace ID', async (t) => {
  for (const name of ['juno_r1_1', 'ete-infrastructure']) {
    const listed = decodeSnapshot(name, true);
    const batched = decodeSnapshot(name, false);
    t.same(byId(batched.lines), byId(listed.lines), name);
    t.same(batched.errors.map((e) => e.code).sort(), listed.errors.map((e) => e.code).sort());
  }
});

t.test('clean snapshots decode without errors; ETE on ETMv4 data reports its reserved headers', async (t) => {
  for (const name of ['juno_r1_1', 'juno-uname-001', 'a57_single_step', 'ete-ete_ip', 'ete-trace_file_cid_vmid', 'ete-q_elem']) {
    t.same(decodeSnapshot(name, true).errors, [], name);
  }
  // ete-infrastructure decodes Juno ETMv4 trace with an ETE configuration: 0x07 (exception
  // return) is reserved in ETE, and OpenCSD lists I_RESERVED_CFG for each.
  const infra = decodeSnapshot('ete-infrastructure', true);
  const expectedReserved = parseListing(expectedListing('ete-infrastructure')).filter((p) => p.type === 'I_RESERVED_CFG');
  t.equal(infra.errors.length, expectedReserved.length);
  t.ok(infra.errors.every((e) => e.code === 'reserved_for_config' && e.traceId !== undefined));
  t.same(
    infra.errors.map((e) => e.offset),
    expectedReserved.map((p) => p.idx),
    'errors carry the packet index',
  );
});

t.test('a55-test-tpiu: TPIU/DSTREAM frames deframe to the per-ID data OpenCSD shows', async (t) => {
  const name = 'a55-test-tpiu';
  const text = expectedListing(name);
  const expectedRuns = parseIdData(text);
  const snap = readSnapshot(snapshotDir(name));
  const buffer = snap.buffers[0]!;
  t.equal(buffer.format, 'dstream_coresight');
  const source = snap.devices.find((d) => d.class === 'trace_source')!;
  const cfg = etm4ConfigOf(snap, source);
  const runs: { index: number; id: number; bytes: number[] }[] = [];
  const packets: string[] = [];
  const errors: DecodeError[] = [];
  const decoder = new Etm4PacketDecoder(cfg, { packet: (p) => packets.push(`${p.index}/${p.traceId}/${packetTypeName(p.type)}`), error: (e) => errors.push(e) });
  const df = new FrameDeformatter(
    {
      data(id, index, buf, s, e) {
        runs.push({ index, id, bytes: Array.from(buf.subarray(s, e)) });
        if (id === cfg.traceId) decoder.pushRange(buf, s, e, index);
      },
      error: (e) => errors.push(e),
    },
    { mode: 'tpiu' },
  );
  const unpacker = new DstreamUnpacker((d) => df.push(d));
  const data = readFileSync(buffer.file);
  for (let i = 0; i < data.length; i += 777) unpacker.push(data.subarray(i, i + 777));
  df.end();
  decoder.end();
  t.equal(unpacker.footers, 96, 'a 8-byte footer every 512 bytes');
  t.equal(df.index, 48384, 'trace bytes after the footers, as OpenCSD processed');
  t.same(runs, expectedRuns, 'runs: same index, ID and bytes');
  for (const id of new Set(expectedRuns.map((r) => r.id))) {
    const ours = runs.filter((r) => r.id === id).flatMap((r) => r.bytes);
    const theirs = expectedRuns.filter((r) => r.id === id).flatMap((r) => r.bytes);
    t.same(ours, theirs, `ID 0x${id.toString(16)}: same byte stream`);
  }
  t.same(packets, parseListing(text).map((p) => `${p.idx}/${p.id}/${p.type}`), 'and the same packets');
  t.ok(errors.some((e) => e.code === 'truncated_frame' && e.offset === 48372), 'the capture ends in a partial frame');
});

t.test('ss_framed deframes to the bytes of ss_raw (the same packets, unformatted)', async (t) => {
  const framed = readFileSync(join(snapshotDir('ss_framed'), 'trace.bin'));
  const raw = readFileSync(join(snapshotDir('ss_raw'), 'trace.bin'));
  const got: number[] = [];
  const df = new FrameDeformatter({ data: (id, _i, buf, s, e) => id === 0x10 && got.push(...buf.subarray(s, e)) });
  df.push(framed);
  df.end();
  t.same(got, Array.from(raw));
});
