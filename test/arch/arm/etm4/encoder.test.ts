// Encoder and decoder are each other's inverse (fast-check properties):
// - packets → encode → decode → packetToSpec gives the packets back;
// - bytes of valid packets → decode → packetToSpec → encode gives the bytes back;
// - the trace-unit helpers (address compression, atom packing, timestamp updates) decode to
//   exactly the addresses, atoms and times they were given.

import t from 'tap';
import fc from 'fast-check';
import type { Etm4Config } from '../../../../arch/arm/etm4/config.js';
import { Etm4PacketDecoder } from '../../../../arch/arm/etm4/decoder.js';
import { Etm4PacketEncoder, atomHeader } from '../../../../arch/arm/etm4/encoder.js';
import { PacketType } from '../../../../arch/arm/etm4/packet-types.js';
import { packetToSpec, type Etm4PacketSpec } from '../../../../arch/arm/etm4/packet-spec.js';
import type { Etm4Packet } from '../../../../arch/arm/etm4/packet.js';
import type { DecodeError } from '../../../../arch/common/errors.js';
import { HwtraceError } from '../../../../arch/common/errors.js';
import { ByteBuffer } from '../../../../arch/common/stream.js';
import { Rng } from '../../../../sim/rng.js';
import { FUZZ_CONFIGS, bigintJson, randomPacketStream } from '../../../../bench/fuzz/etm.js';

function decodeAll(cfg: Etm4Config, bytes: Uint8Array, onPacket: (p: Etm4Packet) => void): DecodeError[] {
  const errors: DecodeError[] = [];
  const dec = new Etm4PacketDecoder(cfg, { packet: onPacket, error: (e) => errors.push(e) });
  dec.push(bytes);
  dec.end();
  return errors;
}

const json = (v: unknown): string => JSON.stringify(v, bigintJson);

t.test('encode then decode gives every packet back, for every configuration', async (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: FUZZ_CONFIGS.length - 1 }), fc.integer({ min: 0, max: 2 ** 31 }), fc.integer({ min: 1, max: 120 }), (c, seed, n) => {
      const cfg = FUZZ_CONFIGS[c]!;
      const { bytes, specs } = randomPacketStream(new Rng(seed), cfg, n);
      const back: (Etm4PacketSpec | undefined)[] = [];
      const errors = decodeAll(cfg, bytes, (p) => back.push(packetToSpec(p, cfg)));
      return errors.length === 0 && json(back) === json(specs);
    }),
    { numRuns: 400 },
  );
  t.pass('property held');
});

t.test('decode then encode gives the bytes back', async (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: FUZZ_CONFIGS.length - 1 }), fc.integer({ min: 0, max: 2 ** 31 }), fc.integer({ min: 1, max: 120 }), (c, seed, n) => {
      const cfg = FUZZ_CONFIGS[c]!;
      const { bytes } = randomPacketStream(new Rng(seed), cfg, n);
      const enc = new Etm4PacketEncoder(cfg, new ByteBuffer(64));
      decodeAll(cfg, bytes, (p) => enc.encode(packetToSpec(p, cfg)!));
      const again = enc.out.view();
      return again.length === bytes.length && again.every((b, i) => b === bytes[i]);
    }),
    { numRuns: 300 },
  );
  t.pass('property held');
});

const addressArb = fc.record({
  hi: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff }), fc.constant(0xffffffc0), fc.integer({ min: 0xffff0000, max: 0xffffffff })),
  lo: fc.integer({ min: 0, max: 0xffffffff }),
  is: fc.integer({ min: 0, max: 1 }),
  near: fc.boolean(),
});

t.test('address(): compressed addresses decode to the addresses given', async (t) => {
  for (const cfg of [FUZZ_CONFIGS[0]!, FUZZ_CONFIGS[5]!]) {
    fc.assert(
      fc.property(fc.array(addressArb, { minLength: 1, maxLength: 60 }), fc.boolean(), (addrs, aarch64) => {
        const enc = new Etm4PacketEncoder(cfg, new ByteBuffer(64));
        enc.async();
        enc.traceInfo({ info: 0 });
        if (aarch64) enc.encode({ kind: 'context', el: 1, sf: 1, ns: 1, nse: 0 });
        const want: string[] = [];
        let prev = { hi: 0, lo: 0 };
        for (const a of addrs) {
          // Half the time stay near the previous address, so short forms get used.
          const hi = a.near ? prev.hi : a.hi;
          const base = a.near ? prev.lo : a.lo;
          const lo = ((a.near ? (base & ~0xffff) | (a.lo & 0xffff) : base) & (a.is ? ~1 : ~3)) >>> 0;
          enc.address(hi, lo, a.is);
          want.push(`${hi}:${lo}:${a.is}`);
          prev = { hi, lo };
        }
        const got: string[] = [];
        const errors = decodeAll(cfg, enc.out.view(), (p) => {
          if (p.type === PacketType.ADDR_S_IS0 || p.type === PacketType.ADDR_S_IS1 || p.type === PacketType.ADDR_MATCH || (p.type >= PacketType.ADDR_L_32IS0 && p.type <= PacketType.ADDR_L_64IS1)) {
            got.push(`${p.addrHi}:${p.addrLo}:${p.addrIs}`);
          }
        });
        return errors.length === 0 && json(got) === json(want);
      }),
      { numRuns: 300 },
    );
  }
  t.pass('property held');
});

t.test('address() picks the shortest form the decoder can expand', async (t) => {
  const cfg = FUZZ_CONFIGS[0]!;
  const enc = new Etm4PacketEncoder(cfg, new ByteBuffer(64));
  enc.async();
  enc.traceInfo({});
  enc.encode({ kind: 'context', el: 1, sf: 1, ns: 1, nse: 0 });
  const mark = (): number => enc.out.length;
  let m = mark();
  enc.address(0xffffffc0, 0x00081000, 0);
  t.equal(enc.out.length - m, 9, 'first: long 64-bit');
  m = mark();
  enc.address(0xffffffc0, 0x00081040, 0);
  t.equal(enc.out.length - m, 2, 'low 9 bits changed: 1-byte short');
  m = mark();
  enc.address(0xffffffc0, 0x00091040, 0);
  t.equal(enc.out.length - m, 3, 'low 17 bits: 2-byte short');
  m = mark();
  enc.address(0xffffffc0, 0x12345678 & ~3, 0);
  t.equal(enc.out.length - m, 5, 'same high half in AArch64: long 32-bit');
  m = mark();
  enc.address(0xffffffc0, 0x00081040, 0);
  t.equal(enc.out.length - m, 1, 'in the history: exact match');
  t.throws(() => enc.address(0, 0x1001, 0), HwtraceError, 'IS0 addresses are word aligned');
});

t.test('atoms(): any E/N sequence packs into atom packets that decode to it', async (t) => {
  const cfg = FUZZ_CONFIGS[0]!;
  fc.assert(
    fc.property(fc.array(fc.boolean(), { minLength: 1, maxLength: 200 }), (atoms) => {
      const enc = new Etm4PacketEncoder(cfg, new ByteBuffer(64));
      enc.async();
      for (let i = 0; i < atoms.length; i += 32) {
        const part = atoms.slice(i, i + 32);
        let bits = 0;
        part.forEach((e, k) => {
          if (e) bits |= 1 << k;
        });
        enc.atoms(bits >>> 0, part.length);
      }
      let got = '';
      decodeAll(cfg, enc.out.view(), (p) => {
        for (let k = 0; k < p.atomCount; k++) got += (p.atomBits >>> k) & 1 ? 'E' : 'N';
      });
      return got === atoms.map((e) => (e ? 'E' : 'N')).join('');
    }),
    { numRuns: 300 },
  );
  // Every atom header has exactly one pattern, and atomHeader finds it.
  let headers = 0;
  for (let count = 1; count <= 24; count++) {
    for (let bits = 0; bits < (count <= 5 ? 2 ** count : 0); bits++) if (atomHeader(bits, count) >= 0) headers++;
    if (count >= 6) headers += 2; // F6 only: all E, and E...EN (found by the loop up to 5 atoms)
  }
  t.equal(headers, 64, '0xC0..0xFF: 64 atom headers');
});

t.test('timestampUpdate(): the shortest update packet brings the decoder to the new time', async (t) => {
  const cfg = FUZZ_CONFIGS[0]!;
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 2 ** 40 }), { minLength: 1, maxLength: 40 }), (steps) => {
      const enc = new Etm4PacketEncoder(cfg, new ByteBuffer(64));
      enc.async();
      enc.traceInfo({});
      let prev = 0;
      const want: number[] = [];
      for (const s of steps) {
        const next = prev + s;
        enc.timestampUpdate(prev, next);
        want.push(next);
        prev = next;
      }
      const got: number[] = [];
      decodeAll(cfg, enc.out.view(), (p) => {
        if (p.type === PacketType.TIMESTAMP) got.push(p.timestamp);
      });
      return json(got) === json(want);
    }),
    { numRuns: 200 },
  );
  t.pass('property held');
});

t.test('the encoder refuses packets the configuration cannot carry', async (t) => {
  const etm = new Etm4PacketEncoder(FUZZ_CONFIGS[0]!);
  t.throws(() => etm.encode({ kind: 'atom', bits: 0b0110, count: 4 }), { code: 'bad_packet_spec' }, 'NEEN is not an atom packet');
  t.throws(() => etm.encode({ kind: 'timestamp', value: 1n << 14n, bytes: 2 }), { code: 'bad_packet_spec' });
  t.throws(() => etm.encode({ kind: 'q', qType: 3, count: 1 }), { code: 'bad_packet_spec' });
  t.throws(() => etm.encode({ kind: 'exception', type: 1024, addrInterp: 1 }), { code: 'bad_packet_spec' });
  const noVmid = new Etm4PacketEncoder({ ...FUZZ_CONFIGS[0]!, vmidBytes: 0 });
  t.throws(() => noVmid.encode({ kind: 'context', el: 1, sf: 1, ns: 1, nse: 0, vmid: 3 }), /VMID/);
});
