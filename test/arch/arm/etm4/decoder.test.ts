// The packet decoder's contract beyond the listing text: errors as records with offset and
// trace ID, the `synced` flag (resync at the next A-sync), trace-index run tables, reset, and the
// decoded fields consumers read.

import t from 'tap';
import { parseAddr } from '../../../../arch/common/address.js';
import type { DecodeError } from '../../../../arch/common/errors.js';
import { defaultEteConfig, defaultEtm4Config, etm4Config } from '../../../../arch/arm/etm4/config.js';
import { Etm4PacketDecoder } from '../../../../arch/arm/etm4/decoder.js';
import type { Etm4Packet } from '../../../../arch/arm/etm4/packet.js';
import { PacketType, packetTypeName } from '../../../../arch/arm/etm4/packet-types.js';
import { Etm4Stats } from '../../../../arch/arm/etm4/stats.js';

const ASYNC = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80];

interface Seen {
  packets: Etm4Packet[];
  errors: DecodeError[];
}

function decode(bytes: number[], cfg = defaultEtm4Config(0x21), chunks?: number[]): Seen {
  const seen: Seen = { packets: [], errors: [] };
  const dec = new Etm4PacketDecoder(cfg, { packet: (p) => seen.packets.push(p.clone()), error: (e) => seen.errors.push(e) });
  const data = Uint8Array.from(bytes);
  if (chunks === undefined) dec.push(data);
  else {
    let pos = 0;
    for (const n of chunks) {
      dec.push(data.subarray(pos, pos + n));
      pos += n;
    }
    dec.push(data.subarray(pos));
  }
  dec.end();
  return seen;
}

const names = (s: Seen): string[] => s.packets.map((p) => packetTypeName(p.type));

t.test('a reserved header is an error with offset and trace ID; packets stay unsynced until the next A-sync', async (t) => {
  const s = decode([...ASYNC, 0x01, 0x00, 0xf7, 0x08, 0xf7, 0x95, 0x10, ...ASYNC, 0xf7]);
  t.same(names(s), ['I_ASYNC', 'I_TRACE_INFO', 'I_ATOM_F1', 'I_RESERVED', 'I_ATOM_F1', 'I_ADDR_S_IS0', 'I_ASYNC', 'I_ATOM_F1']);
  t.same(s.errors.map((e) => [e.code, e.offset, e.traceId]), [['reserved_header', 15, 0x21]]);
  t.match(s.errors[0]!.message, /0x08/);
  t.same(
    s.packets.map((p) => p.synced),
    [true, true, true, false, false, false, true, true],
  );
});

t.test('bytes before the first A-sync are NOTSYNC packets, not errors', async (t) => {
  const s = decode([0x12, 0x34, 0x56, ...ASYNC, 0x01, 0x00]);
  t.same(names(s), ['I_NOT_SYNC', 'I_ASYNC', 'I_TRACE_INFO']);
  t.same(s.errors, []);
  t.equal(s.packets[0]!.synced, false);
  t.same(Array.from(s.packets[0]!.bytes()), [0x12, 0x34, 0x56]);
  t.equal(s.packets[1]!.index, 3);
});

t.test('a truncated packet at the end of trace is reported, whatever the chunking', async (t) => {
  for (const chunks of [undefined, [1, 1, 1], [13, 1]]) {
    const s = decode([...ASYNC, 0x01, 0x00, 0x9d, 0x01, 0x02], defaultEtm4Config(), chunks);
    t.same(names(s), ['I_ASYNC', 'I_TRACE_INFO', 'I_INCOMPLETE_EOT']);
    t.equal(s.packets[2]!.errType, PacketType.ADDR_L_64IS0);
    t.same(s.errors.map((e) => [e.code, e.offset]), [['truncated_packet', 14]]);
  }
});

t.test('conditional and data-trace packets are recognised and reported unsupported', async (t) => {
  const cond = etm4Config({ TRCCONFIGR: 0x7c1, TRCTRACEIDR: 0x10, TRCIDR0: 0x28000ee1, TRCIDR2: 0x488 });
  const s = decode([...ASYNC, 0x01, 0x00, 0x40, 0x6c, 0x81, 0x01, 0x50, 0x5f, 0xf7], cond);
  t.same(names(s), ['I_ASYNC', 'I_TRACE_INFO', 'I_COND_I_F2', 'I_COND_I_F1', 'I_COND_RES_F3', 'I_ATOM_F1']);
  t.same(s.errors.map((e) => e.code), ['unsupported_packet', 'unsupported_packet', 'unsupported_packet']);
  // Without conditional tracing the same headers are reserved for this configuration.
  const plain = decode([...ASYNC, 0x01, 0x00, 0x40]);
  t.same(names(plain).slice(2), ['I_RESERVED_CFG']);
  t.equal(plain.errors[0]!.code, 'reserved_for_config');
});

t.test('a non-canonical 64-bit address is valid trace, carried exactly (no error)', async (t) => {
  // ete_mem: the tagged target of a BLR that faulted, 0x6300000080000438.
  const s = decode([...ASYNC, 0x01, 0x00, 0x9d, 0x0e, 0x02, 0x00, 0x80, 0x00, 0x00, 0x00, 0x63, 0x90]);
  for (const p of [s.packets[2]!, s.packets[3]!]) {
    t.equal(p.addrHi, 0x63000000);
    t.equal(p.addrLo, 0x80000438);
    t.ok(Number.isNaN(p.address), 'no canonical number');
    t.equal(p.addressBody, 0x80000438, 'body: the address without its tag');
    t.equal(p.addressTop, 0x63000000 >>> 21, 'top: bits 63:53');
  }
  t.same(s.errors, []);
});

t.test('decoded fields: context, addresses, timestamps, exceptions', async (t) => {
  const s = decode([
    ...ASYNC,
    0x01, 0x00,
    // Address + context, 64-bit IS0: kernel address, EL1 NS AArch64, VMID 5, context ID 0x1234.
    0x85, 0x00, 0x84, 0x00, 0xc0, 0xc0, 0xff, 0xff, 0xff, 0xf1, 0x05, 0x34, 0x12, 0x00, 0x00,
    0x95, 0x3d, // short: low 9 bits → 0xf4
    0x9a, 0x01, 0x02, 0x03, 0x04, // long 32 in AArch64: high half kept
    0x90, // exact match [0]
    0x02, 0x88, 0x01, // timestamp 0x88
    0x06, 0x1d, // IRQ, return address follows
  ]);
  const [, , ctx, short, long32, match, ts, exc] = s.packets;
  t.equal(ctx!.address, parseAddr('0xffffffc0c0000800'), 'kernel address, as a (negative) number');
  t.ok(ctx!.address < 0);
  t.equal(ctx!.el, 1);
  t.equal(ctx!.ns, 1);
  t.equal(ctx!.sf, 1);
  t.equal(ctx!.vmid, 5);
  t.equal(ctx!.contextId, 0x1234);
  t.ok(ctx!.vmidUpdated && ctx!.cidUpdated && ctx!.ctxtUpdated);
  t.equal(short!.addrLo & 0x1ff, 0xf4);
  t.equal(short!.addrHi, 0xffffffc0);
  t.equal(long32!.addrHi, 0xffffffc0);
  t.equal(long32!.addrLo, 0x04030404);
  t.equal(match!.address, long32!.address);
  t.equal(ts!.timestamp, 0x88);
  t.equal(exc!.excType, 0xe);
  t.equal(exc!.excAddrInterp, 1);
  t.same(s.errors, []);
});

t.test('pushMapped: packet indices follow the run table across run boundaries', async (t) => {
  const seen: [number, string][] = [];
  const dec = new Etm4PacketDecoder(defaultEtm4Config(), { packet: (p) => seen.push([p.index, packetTypeName(p.type)]), error: () => {} });
  const data = Uint8Array.from([...ASYNC, 0x01, 0x00, 0xf7, 0x95, 0x3d, 0xf6]);
  // Runs: bytes 0..9 at index 100, 10..15 at 200, 16..17 at 300 (a packet straddles two runs).
  dec.pushMapped(data, 0, 16, Int32Array.of(0, 10), Float64Array.of(100, 200), 2);
  dec.pushMapped(data, 16, 18, Int32Array.of(16), Float64Array.of(300), 1);
  dec.end();
  t.same(seen, [
    [100, 'I_ASYNC'],
    [202, 'I_TRACE_INFO'],
    [204, 'I_ATOM_F1'],
    [205, 'I_ADDR_S_IS0'],
    [301, 'I_ATOM_F1'],
  ]);
});

t.test('reset() returns to the unsynchronised power-on state', async (t) => {
  const seen: string[] = [];
  const dec = new Etm4PacketDecoder(defaultEtm4Config(), { packet: (p) => seen.push(packetTypeName(p.type)), error: () => {} });
  dec.push(Uint8Array.from([...ASYNC, 0x01, 0x00, 0x9d, 1, 2, 3, 4, 5, 6, 7, 8]));
  t.ok(dec.synchronised);
  t.equal(dec.packet.addrLo, 0x04030404);
  dec.reset();
  t.notOk(dec.synchronised);
  t.equal(dec.packet.addrLo, 0);
  dec.push(Uint8Array.from([0xf7, ...ASYNC]));
  dec.end();
  t.same(seen.slice(-2), ['I_NOT_SYNC', 'I_ASYNC']);
});

t.test('ETE: transactions, source addresses, PE reset; 0x07 is reserved', async (t) => {
  const s = decode([...ASYNC, 0x01, 0x00, 0x0a, 0x0b, 0xb4, 0x01, 0x06, 0x00, 0x00, 0x07, 0x88], defaultEteConfig());
  t.same(names(s), ['I_ASYNC', 'I_TRACE_INFO', 'I_TRANS_ST', 'I_TRANS_COMMIT', 'I_SRC_ADDR_S_IS0', 'I_PE_RESET', 'I_RESERVED_CFG', 'I_TS_MARKER']);
  t.same(s.errors.map((e) => e.code), ['reserved_for_config']);
  t.equal(s.packets[1]!.syncPoint, true, 'first Trace Info after sync is the decoder sync point');
});

t.test('ITE (ETE 1.3): instrumentation packets with EL and 64-bit payload', async (t) => {
  const ete13 = defaultEteConfig(0x10, { TRCDEVARCH: 0x47735a13 });
  const s = decode([...ASYNC, 0x01, 0x00, 0x09, 0x02, 1, 2, 3, 4, 5, 6, 7, 8], ete13);
  const ite = s.packets[2]!;
  t.equal(packetTypeName(ite.type), 'I_ITE');
  t.equal(ite.iteEl, 2);
  t.equal(ite.iteLo, 0x04030201);
  t.equal(ite.iteHi, 0x08070605);
  // ETE 1.0 has no ITE: the header is reserved.
  t.same(names(decode([...ASYNC, 0x09], defaultEteConfig())), ['I_ASYNC', 'I_RESERVED']);
});

t.test('stats count packets by type and errors by code', async (t) => {
  const stats = new Etm4Stats();
  const dec = new Etm4PacketDecoder(defaultEtm4Config(), stats);
  dec.push(Uint8Array.from([...ASYNC, 0x01, 0x00, 0xf7, 0xf7, 0xfb, 0x08]));
  dec.end();
  t.equal(stats.packets, 6);
  t.equal(stats.errors, 1);
  t.same(stats.countsByName().slice(0, 2), [['I_ATOM_F1', 2], ['I_ASYNC', 1]]);
  t.same([...stats.errorsByCode], [['reserved_header', 1]]);
  t.equal(dec.bytes, 18);
  t.equal(dec.packets, 6);
  t.equal(dec.errors, 1);
});

t.test('Commit and Cancel format 1 carry no atoms, whatever packet came before', async (t) => {
  // Atom F3 EEE, Cancel F1 (1), Atom F2 EE, Cancel F1 + mispredict (2), Atom F1 E, Commit (3).
  const s = decode([...ASYNC, 0x01, 0x00, 0xff, 0x2e, 0x01, 0xdb, 0x2f, 0x02, 0xf7, 0x2d, 0x03]);
  t.same(names(s).slice(2), ['I_ATOM_F3', 'I_CANCEL_F1', 'I_ATOM_F2', 'I_CANCEL_F1_MISPRED', 'I_ATOM_F1', 'I_COMMIT']);
  t.same(s.packets.slice(2).map((p) => p.atomCount), [3, 0, 2, 0, 1, 0]);
  t.same([s.packets[3]!.cancel, s.packets[5]!.cancel, s.packets[7]!.cancel], [1, 2, 0]);
  t.equal(s.packets[7]!.commit, 3);
});
