// Property tests: encoding then decoding is the identity on every valid packet and packet
// sequence, in any chunking; the encoder's IP compression is the shortest that reproduces the
// IP from the last IP, and the decoder side's last-IP tracking gets every IP back.

import t from 'tap';
import fc from 'fast-check';
import { addrHi, addrLo } from '../../../../arch/common/address.js';
import { bufferChunks } from '../../../../arch/common/stream.js';
import {
  IP_PAYLOAD_SIZE, PT_FUP, PT_MNEMONICS, PT_PSB, PT_TIP, PT_TIP_PGD, PT_TIP_PGE, PtEncoder, PtLastIp, PtPacket,
  applyIpPayload, chooseIpCompression, decodeAll, decodeStream, formatPacketSpec, ptTypeOf,
} from '../../../../arch/x86/index.js';

function u64(bits: number): fc.Arbitrary<[number, number]> {
  return fc.bigInt({ min: 0n, max: (1n << BigInt(bits)) - 1n }).map((v): [number, number] => [Number(v & 0xffffffffn), Number(v >> 32n)]);
}

function packet(type: string, fill: (p: PtPacket) => void): PtPacket {
  const p = new PtPacket();
  p.type = ptTypeOf(type);
  fill(p);
  return p;
}

const bit = fc.integer({ min: 0, max: 1 });
const nibble = fc.integer({ min: 0, max: 15 });
const byte = fc.integer({ min: 0, max: 255 });
const u32 = fc.integer({ min: 0, max: 0xffffffff });

const ipPacket = fc.tuple(fc.constantFrom('fup', 'tip', 'tip.pge', 'tip.pgd'), fc.constantFrom(0, 1, 2, 3, 4, 6))
  .chain(([type, ipc]) => u64(IP_PAYLOAD_SIZE[ipc]! * 8).map(([lo, hi]) => packet(type, (p) => { p.ipc = ipc; p.lo = lo; p.hi = hi; })));

function tnt(type: string, max: number): fc.Arbitrary<PtPacket> {
  return fc.integer({ min: 1, max }).chain((bits) => u64(bits).map(([lo, hi]) => packet(type, (p) => { p.bits = bits; p.lo = lo; p.hi = hi; })));
}

/** Every valid packet of every type. */
const anyPacket: fc.Arbitrary<PtPacket> = fc.oneof(
  fc.constantFrom('pad', 'psb', 'psbend', 'stop', 'ovf').map((type) => packet(type, () => {})),
  ipPacket,
  tnt('tnt.8', 6),
  tnt('tnt.64', 47),
  fc.tuple(bit, bit, bit).map(([csl, csd, iflag]) => packet('mode.exec', (p) => { p.csl = csl; p.csd = csd; p.iflag = iflag; })),
  fc.tuple(bit, bit).map(([intx, abrt]) => packet('mode.tsx', (p) => { p.intx = intx; p.abrt = abrt; })),
  fc.tuple(fc.bigInt({ min: 0n, max: (1n << 47n) - 1n }), bit).map(([q, nr]) => packet('pip', (p) => { p.cr3 = Number(q << 5n); p.nr = nr; })),
  fc.bigInt({ min: 0n, max: (1n << 40n) - 1n }).map((q) => packet('vmcs', (p) => { p.vmcs = Number(q << 12n); })),
  byte.map((ratio) => packet('cbr', (p) => { p.ratio = ratio; })),
  u64(56).map(([lo, hi]) => packet('tsc', (p) => { p.lo = lo; p.hi = hi; })),
  fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0x1ff })).map(([ctc, fcv]) => packet('tma', (p) => { p.ctc = ctc; p.fc = fcv; })),
  byte.map((ctc) => packet('mtc', (p) => { p.ctc = ctc; })),
  fc.integer({ min: 0, max: 61 }).chain((bits) => u64(bits)).map(([lo, hi]) => packet('cyc', (p) => { p.lo = lo; p.hi = hi; })),
  u64(64).map(([lo, hi]) => packet('mnt', (p) => { p.lo = lo; p.hi = hi; })),
  bit.map((ip) => packet('exstop', (p) => { p.ipFlag = ip; })),
  fc.tuple(u32, u32).map(([h, e]) => packet('mwait', (p) => { p.hints = h; p.ext = e; })),
  fc.tuple(nibble, nibble, bit).map(([s, sub, hw]) => packet('pwre', (p) => { p.state = s; p.subState = sub; p.hw = hw; p.lo = (hw << 7) | (sub << 8) | (s << 12); })),
  fc.tuple(nibble, nibble, nibble).map(([last, deepest, wake]) => packet('pwrx', (p) => { p.last = last; p.deepest = deepest; p.wake = wake; })),
  fc.tuple(bit, bit).chain(([plc, ip]) => u64(plc ? 64 : 32).map(([lo, hi]) => packet('ptw', (p) => { p.plc = plc; p.ipFlag = ip; p.lo = lo; p.hi = hi; }))),
  fc.tuple(fc.integer({ min: 0, max: 31 }), byte, bit).map(([ty, v, ip]) => packet('cfe', (p) => { p.cfeType = ty; p.vector = v; p.ipFlag = ip; })),
  fc.tuple(fc.integer({ min: 0, max: 31 }), u64(64)).map(([ty, [lo, hi]]) => packet('evd', (p) => { p.evdType = ty; p.lo = lo; p.hi = hi; })),
  fc.tuple(byte, bit, bit, bit, fc.integer({ min: 0, max: 0xffff })).map(([trbv, ip, mult, icntv, icnt]) =>
    packet('trig', (p) => { p.trbv = trbv; p.ipFlag = ip; p.mult = mult; p.icntv = icntv; p.icnt = icntv ? icnt : 0; })),
);

function encodeAll(packets: PtPacket[]): Uint8Array {
  const enc = new PtEncoder();
  for (const p of packets) enc.encode(p);
  return enc.bytes().slice();
}

function decodedSpecs(bytes: Uint8Array, chunk: number): string[] {
  const out: string[] = [];
  decodeStream(bufferChunks(bytes, chunk), {
    packet: (p) => out.push(formatPacketSpec(p)),
    error: (e) => out.push(`error ${e.code} at ${e.offset}: ${e.message}`),
  }, { noSync: true });
  return out;
}

t.test('every valid packet decodes to itself, with its size and offset', async (t) => {
  const seen = new Set<string>();
  fc.assert(fc.property(anyPacket, (p) => {
    seen.add(PT_MNEMONICS[p.type]!);
    const bytes = encodeAll([p]);
    const got = decodeAll(bytes, { noSync: true });
    const q = got[0];
    return got.length === 1 && q instanceof PtPacket && q.offset === 0 && q.size === bytes.length && formatPacketSpec(q) === formatPacketSpec(p);
  }), { numRuns: 4000 });
  t.equal(seen.size, PT_MNEMONICS.length, 'every packet type was tried');
});

t.test('packet sequences decode to themselves in any chunking', async (t) => {
  fc.assert(fc.property(fc.array(anyPacket, { maxLength: 60 }), fc.integer({ min: 1, max: 40 }), (packets, chunk) => {
    const bytes = encodeAll(packets);
    const want = packets.map((p) => formatPacketSpec(p));
    const got = decodedSpecs(bytes, chunk);
    return got.length === want.length && got.every((g, i) => g === want[i]);
  }), { numRuns: 1500 });
  t.pass();
});

// Canonical addresses clustered the way code is, so every compression gets used.
const anyIp = fc.oneof(
  fc.integer({ min: 0x400000, max: 0x40ffff }),
  fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  fc.integer({ min: -(2 ** 47), max: 2 ** 47 - 1 }),
  fc.integer({ min: -(2 ** 47), max: 2 ** 47 - 1 }).map((v) => v + 2 ** 52),
  fc.constantFrom(-0x7f000000, -0x7f000000 + 0x1234, 0x7f3a12340000, 2 ** 56 - 4096, -(2 ** 56)),
);

type Step = { psb: true } | { psb: false; type: number; ip: number };
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 1, arbitrary: fc.constant({ psb: true } as Step) },
  { weight: 12, arbitrary: fc.tuple(fc.constantFrom(PT_TIP, PT_FUP, PT_TIP_PGE, PT_TIP_PGD), anyIp).map(([type, ip]): Step => ({ psb: false, type, ip })) },
);

t.test('IP compression: the shortest payload that reproduces each IP, and the IPs come back', async (t) => {
  const used = new Set<number>();
  fc.assert(fc.property(fc.array(step, { minLength: 1, maxLength: 80 }), (steps) => {
    const enc = new PtEncoder();
    enc.simple(PT_PSB);
    for (const s of steps) {
      if (s.psb) {
        enc.simple(PT_PSB);
        continue;
      }
      const last = enc.lastIp;
      const [lastLo, lastHi] = [last.lo, last.hi];
      const p = enc.ip(s.type, s.ip);
      used.add(p.ipc);
      // No shorter payload reproduces the IP from this last IP.
      for (const shorter of [1, 2, 3, 4]) {
        if (IP_PAYLOAD_SIZE[shorter]! >= IP_PAYLOAD_SIZE[p.ipc]!) continue;
        const lo = addrLo(s.ip);
        const hi = addrHi(s.ip);
        const [rl, rh] = applyIpPayload(lastLo, lastHi, shorter, shorter === 1 ? lo & 0xffff : lo, hi & 0xffff);
        if (rl === lo && rh === hi) return false;
      }
      if (p.ipc !== chooseIpCompression(lastLo, lastHi, addrLo(s.ip), addrHi(s.ip))) return false;
    }
    // The decoder side gets every IP back.
    const tracker = new PtLastIp();
    const ips: number[] = [];
    for (const x of decodeAll(enc.bytes(), { noSync: true })) {
      if (!(x instanceof PtPacket)) return false;
      if (x.type === PT_PSB) tracker.reset();
      else {
        tracker.update(x.ipc, x.lo, x.hi);
        ips.push(tracker.ip);
      }
    }
    const want = steps.filter((s): s is Extract<Step, { psb: false }> => !s.psb).map((s) => s.ip);
    return ips.length === want.length && ips.every((ip, i) => ip === want[i]);
  }), { numRuns: 1500 });
  t.same([...used].sort(), [1, 2, 3, 4, 6], 'update-16, update-32, sext-48, update-48 and full were all chosen');
});

t.test('the encoder refuses what a packet cannot carry, naming it', async (t) => {
  const enc = new PtEncoder();
  const bad: Array<[string, (p: PtPacket) => void, RegExp]> = [
    ['tnt.8', (p) => { p.bits = 7; }, /1-6 branches/],
    ['tnt.8', (p) => { p.bits = 2; p.lo = 4; }, /do not fit/],
    ['tnt.64', (p) => { p.bits = 0; }, /1-47/],
    ['tip', (p) => { p.ipc = 5; }, /IP compression 5 is reserved/],
    ['tip', (p) => { p.ipc = 1; p.lo = 0x10000; }, /does not fit in 2 bytes/],
    ['tma', (p) => { p.fc = 0x200; }, /9 bits/],
    ['pip', (p) => { p.cr3 = 0x1010; }, /32-byte aligned/],
    ['vmcs', (p) => { p.vmcs = 0x1800; }, /4 KiB aligned/],
    ['cyc', (p) => { p.hi = 0x20000000; }, /61 bits/],
    ['ptw', (p) => { p.plc = 2; }, /reserved/],
    ['tsc', (p) => { p.hi = 0x1000000; }, /56 bits/],
  ];
  for (const [type, fill, re] of bad) {
    t.throws(() => enc.encode(packet(type, fill)), re, `${type} refused`);
  }
  t.throws(() => enc.ip(PT_TIP, 2 ** 60), /not canonical/);
  t.throws(() => enc.ip(PT_PSB, 0x1000), /not an IP packet/);
  t.equal(enc.offset, 0, 'nothing was written for refused packets');
});

t.test('the encoder resets its last IP at PSB, as the decoder does', async (t) => {
  const enc = new PtEncoder();
  enc.simple(PT_PSB);
  t.equal(enc.ip(PT_TIP, 0x401000).ipc, 2, 'after PSB: update-32 against 0');
  t.equal(enc.ip(PT_TIP, 0x401234).ipc, 1, 'then update-16');
  enc.simple(PT_PSB);
  t.equal(enc.ip(PT_TIP, 0x401238).ipc, 2, 'a PSB forgets the last IP');
  t.equal(enc.ip(PT_FUP, -0x7f000000).ipc, 3, 'kernel address: sext-48');
  t.equal(enc.ip(PT_FUP, 2 ** 52 + 5).ipc, 6, 'a 57-bit address after a 48-bit one: full');
  t.equal(enc.ip(PT_FUP, 2 ** 52 + 0x123456789).ipc, 4, 'same bits 63:48: update-48');
  t.equal(enc.ipSuppressed(PT_TIP_PGD).ipc, 0);
  t.equal(enc.ip(PT_TIP, 2 ** 52 + 0x12345678a).ipc, 1, 'a suppressed IP leaves the last IP alone');
});
