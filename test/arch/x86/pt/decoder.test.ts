// The packet decoder on hand-made byte sequences: fields of each packet, every kind of
// malformed packet with its offset and code, resync at the next PSB (libipt's rules), and
// streaming over chunks of every size.

import t from 'tap';
import type { DecodeError } from '../../../../arch/common/errors.js';
import {
  PT_END, PT_ERROR, PT_MORE, PtPacket, PtPacketDecoder, decodeAll, findPsb, formatPacketSpec, type PtDecoderOptions,
} from '../../../../arch/x86/index.js';
import { PT_CYC, PT_TNT_8 } from '../../../../arch/x86/pt/opcodes.js';
import { Rng } from '../../../../sim/rng.js';

const PSB = '02 82 02 82 02 82 02 82 02 82 02 82 02 82 02 82';

function bytes(hex: string): Uint8Array {
  const clean = hex.replace(/PSB/g, PSB).replace(/#[^\n]*/g, '').trim();
  return clean === '' ? new Uint8Array(0) : Uint8Array.from(clean.split(/\s+/), (h) => Number.parseInt(h, 16));
}

/** `offset text` per packet, `offset !code` per error. */
function listing(input: Uint8Array, options: PtDecoderOptions = {}, chunk = 1 << 20): string[] {
  return decodeAll(input, options, chunk).map((x) =>
    x instanceof PtPacket ? `${x.offset.toString(16)} ${formatPacketSpec(x)}` : `${(x as DecodeError).offset.toString(16)} !${(x as DecodeError).code}`);
}

t.test('fields of every packet type', async (t) => {
  const cases: Array<[string, string]> = [
    ['00', 'pad'],
    ['02 23', 'psbend'],
    ['02 83', 'stop'],
    ['02 f3', 'ovf'],
    ['d4', 'tnt.8 n=6 tnt=2a'],
    ['04', 'tnt.8 n=1 tnt=0'],
    ['06', 'tnt.8 n=1 tnt=1'],
    ['02 a3 bc 9a 78 56 34 92', 'tnt.64 n=2f tnt=123456789abc'],
    ['02 a3 02 00 00 00 00 00', 'tnt.64 n=1 tnt=0'],
    ['0d', 'tip ipc=0 ip=0'],
    ['2d 34 12', 'tip ipc=1 ip=1234'],
    ['51 78 56 34 12', 'tip.pge ipc=2 ip=12345678'],
    ['61 00 00 00 81 ff ff', 'tip.pgd ipc=3 ip=ffff81000000'],
    ['9d 00 10 40 00 3a 7f', 'fup ipc=4 ip=7f3a00401000'],
    ['cd 88 77 66 55 44 33 22 11', 'tip ipc=6 ip=1122334455667788'],
    ['99 01', 'mode.exec csl=1 csd=0 if=0'],
    ['99 06', 'mode.exec csl=0 csd=1 if=1'],
    ['99 23', 'mode.tsx intx=1 abrt=1'],
    ['02 43 01 89 67 45 23 01', 'pip cr3=123456789000 nr=1'],
    ['02 43 fe ff ff ff ff ff', 'pip cr3=fffffffffffe0 nr=0'],
    ['02 c8 89 67 45 23 01', 'vmcs base=123456789000'],
    ['02 03 24 00', 'cbr ratio=24'],
    ['19 ba 39 4d 7b 89 5e 04', 'tsc tsc=45e897b4d39ba'],
    ['02 73 34 12 00 ff 01', 'tma ctc=1234 fc=1ff'],
    ['59 ab', 'mtc ctc=ab'],
    ['03', 'cyc value=0'],
    ['fb', 'cyc value=1f'],
    ['e7 ab 13 9f 2b 35 24', 'cyc value=123456789abc'],
    ['07 ff ff ff ff ff ff ff fe', 'cyc value=1fffffffffffffe0'],
    ['02 c3 88 88 77 66 55 44 33 22 11', 'mnt payload=1122334455667788'],
    ['02 62', 'exstop ip=0'],
    ['02 e2', 'exstop ip=1'],
    ['02 c2 01 00 00 00 02 00 00 00', 'mwait hints=1 ext=2'],
    ['02 22 80 12', 'pwre state=1 sub=2 hw=1'],
    ['02 a2 34 0f 00 00 00', 'pwrx last=3 deepest=4 int=1 st=1 hw=1 timer=1'],
    ['02 12 01 02 03 04', 'ptw plc=0 payload=4030201 ip=0'],
    ['02 b2 88 77 66 55 44 33 22 11', 'ptw plc=1 payload=1122334455667788 ip=1'],
    ['02 13 81 20', 'cfe type=1 vector=20 ip=1'],
    ['02 53 00 00 50 34 12 ff 7f 00 00', 'evd type=0 payload=7fff12345000'],
    ['d9 80 05', 'trig trbv=5 ip=1 mult=0 icntv=0'],
    ['d9 60 03 34 12', 'trig trbv=3 ip=0 mult=1 icntv=1 icnt=1234'],
  ];
  for (const [hex, want] of cases) {
    const input = bytes(`PSB ${hex}`);
    const got = decodeAll(input);
    const p = got[1];
    t.ok(p instanceof PtPacket && formatPacketSpec(p) === want && p.size === input.length - 16 && got.length === 2,
      `${hex} → ${want} (got ${p instanceof PtPacket ? formatPacketSpec(p) : JSON.stringify(p)})`);
  }
});

t.test('malformed packets: code and offset, then resync at the next PSB', async (t) => {
  const cases: Array<[string, string, RegExp]> = [
    ['05', 'bad_opc', /unknown opcode 0x05/],
    ['c9', 'bad_opc', /0xc9/],
    ['02 04', 'bad_opc', /0x02 0x04/],
    ['02 c3 87', 'bad_opc', /0x02 0xc3 0x87/],
    ['ad 00 00 00 00 00 00 00 00', 'bad_packet', /tip with reserved IP compression 5/],
    ['f1 00 00 00 00 00 00 00 00', 'bad_packet', /tip.pge with reserved IP compression 7/],
    ['99 40', 'bad_packet', /mode with reserved leaf 2/],
    ['99 e0', 'bad_packet', /reserved leaf 7/],
    ['02 73 34 12 01 ff 01', 'bad_packet', /tma reserved byte 4 is 0x01/],
    ['02 73 34 12 00 ff 02', 'bad_packet', /fast counter 0x2ff/],
    ['07 ff ff ff ff ff ff ff ff 00', 'bad_packet', /cyc payload exceeds 64 bits/],
    ['02 52 00 00 00 00', 'bad_packet', /ptw with reserved payload size code 2/],
    ['02 72 00 00 00 00', 'bad_packet', /size code 3/],
    ['02 a3 00 00 00 00 00 00', 'bad_packet', /tnt.64 without stop bit/],
    ['02 a3 01 00 00 00 00 00', 'bad_packet', /tnt.64 without branches/],
    ['02 82 02 82 02 82 02 82 02 82 02 82 02 23 02 23 00 00', 'bad_packet', /psb pattern broken at byte 13/],
  ];
  for (const [hex, code, re] of cases) {
    const input = bytes(`PSB 00 ${hex} 00 PSB 02 23`);
    const got = decodeAll(input);
    const err = got[2] as DecodeError;
    const psbAt = input.length - 18;
    const ok = got.length === 5 && err.code === code && err.offset === 17 && re.test(err.message) &&
      got[3] instanceof PtPacket && got[3].offset === psbAt && formatPacketSpec(got[4] as PtPacket) === 'psbend';
    t.ok(ok, `${hex}: ${code} at 0x11 (${JSON.stringify(err)}), resync at 0x${psbAt.toString(16)}`);
  }
});

t.test('a packet cut off by the end of the trace is an eos error, never dropped', async (t) => {
  for (const [hex, what] of [['19 00 00', 'tsc'], ['02', 'packet'], ['02 c3', 'packet'], ['02 c3 88 00', 'mnt'], ['99', 'mode.exec'], ['07 ff', 'cyc'], ['2d 00', 'tip']] as const) {
    const input = bytes(`PSB ${hex}`);
    const got = decodeAll(input);
    const e = got[1] as DecodeError;
    t.ok(got.length === 2 && e.code === 'eos' && e.offset === 16 && e.message.includes(`truncated ${what}`), `${hex}: ${JSON.stringify(e)}`);
  }
  const psb = decodeAll(bytes('PSB 00 02 82 02 82'));
  t.equal(psb.length, 3);
  t.match(psb[2], { code: 'eos', offset: 17, message: /truncated psb: the trace ends 4 bytes into it/ });
  // A reserved IP compression is reported as such even at the end (libipt checks it first).
  t.equal((decodeAll(bytes('PSB ad'))[1] as DecodeError).code, 'bad_packet');
});

t.test('forward sync as libipt does it', async (t) => {
  t.same(listing(bytes(`05 00 00 PSB 02 23`)), ['3 psb', '13 psbend'], 'bytes before the first PSB are skipped');
  t.same(listing(bytes(`00 PSB PSB 02 23`)), ['11 psb', '21 psbend'], 'two PSBs in a row: sync lands on the second');
  t.same(listing(bytes(`PSB 02 82 02 23`)), ['2 psb', '12 psbend'], 'a run of nine 02 82 pairs: the last sixteen bytes');
  t.same(listing(bytes(`00 PSB 02 23`), { noSync: true }), ['0 pad', '1 psb', '11 psbend'], 'noSync decodes from offset 0');
  t.same(listing(bytes('00 05 02 82 02 82')), [], 'no PSB, no packets');
  // After an error, the search starts 15 bytes back: a PSB partly swallowed by a packet is found.
  t.same(listing(bytes(`PSB 19 00 02 82 02 82 02 82 02 82 02 82 02 82 02 82 02 82 02 23 00`)),
    ['0 psb', '10 tsc tsc=82028202820200', '18 !eos', '12 psb', '22 psbend', '24 pad']);
  t.equal(findPsb(bytes(`00 PSB 02 82 00`)), 3, 'findPsb takes the last PSB of a run');
  t.equal(findPsb(bytes('02 82 02 82')), -1);
});

t.test('skipped bytes are counted, not silently lost', async (t) => {
  const dec = new PtPacketDecoder();
  dec.push(bytes(`05 00 00 PSB 05 00 00 PSB 02 23 19`));
  dec.end();
  const seen: number[] = [];
  for (let r = dec.next(); r !== PT_END; r = dec.next()) seen.push(r);
  t.same(seen.filter((x) => x === PT_ERROR).length, 2, 'the bad opcode and the cut-off tsc');
  t.equal(dec.errors, 2);
  t.equal(dec.skippedBytes, 3 + 3 + 1, 'three leading bytes, three after the error, the cut tsc');
  t.equal(dec.next(), PT_END, 'PT_END is sticky');
});

t.test('every chunking gives the same packets, errors and offsets', async (t) => {
  const input = bytes(`00 c9 PSB 02 23 d4 2d 34 12 19 ba 39 4d 7b 89 5e 04 e7 ab 13 9f 2b 35 24 05
    02 c3 88 88 77 66 55 44 33 22 11 PSB 02 82 02 82 99 01 02 73 34 12 00 ff 01 ad 00 PSB 59 ab 02 b2 88 77 66 55 44 33 22 11 19 00`);
  const whole = listing(input);
  t.ok(whole.length > 10 && whole.some((l) => l.includes('!')), 'the input has packets and errors');
  for (let chunk = 1; chunk <= input.length; chunk++) {
    const got = listing(input, {}, chunk);
    if (got.join('|') !== whole.join('|')) {
      t.fail(`chunks of ${chunk}: ${got.join(' | ')}`);
      return;
    }
  }
  t.pass(`${input.length} chunk sizes agree`);
});

t.test('packetBytes() and offsets across chunk boundaries', async (t) => {
  const input = bytes(`PSB 19 ba 39 4d 7b 89 5e 04 02 c3 88 88 77 66 55 44 33 22 11`);
  const dec = new PtPacketDecoder();
  const raw: string[] = [];
  for (let i = 0; i < input.length; i += 3) {
    dec.push(input.subarray(i, i + 3));
    for (let r = dec.next(); r !== PT_MORE; r = dec.next()) if (r >= 0) raw.push(`${dec.packet.offset}:${Array.from(dec.packetBytes()).join(',')}`);
  }
  dec.end();
  for (let r = dec.next(); r !== PT_END; r = dec.next()) if (r >= 0) raw.push(`${dec.packet.offset}:${Array.from(dec.packetBytes()).join(',')}`);
  t.same(raw, [
    `0:${Array.from(input.subarray(0, 16)).join(',')}`,
    `16:${Array.from(input.subarray(16, 24)).join(',')}`,
    `24:${Array.from(input.subarray(24)).join(',')}`,
  ]);
});

t.test('options: libipt 2.0 grammar without CFE, EVD and TRIG', async (t) => {
  const input = bytes('PSB d9 00 00 02 13 01 00 02 53 00 00 00 00 00 00 00 00 00');
  t.same(listing(input), ['0 psb', '10 trig trbv=0 ip=0 mult=0 icntv=0', '13 cfe type=1 vector=0 ip=0', '17 evd type=0 payload=0']);
  t.same(listing(input, { trig: false }), ['0 psb', '10 !bad_opc']);
  t.same(listing(bytes('PSB 02 13 01 00'), { eventTrace: false }), ['0 psb', '10 !bad_opc']);
});

t.test('API misuse is refused', async (t) => {
  const dec = new PtPacketDecoder();
  dec.push(bytes('PSB'));
  t.throws(() => dec.push(bytes('00')), /before next\(\) returned PT_MORE/);
  dec.end();
  t.throws(() => dec.push(bytes('00')), /after end/);
});

t.test('fast paths nextTnt8 and nextCycBeforeTnt8 agree with next()', async (t) => {
  // Byte strings made mostly of CYC (1-3 bytes), TNT-8 and short TIPs, with stray bytes:
  // at every position the fast path either moves as next() does or leaves nothing moved.
  const rng = new Rng(7);
  const pick = [0x03, 0x0b, 0xfb, 0x07, 0x3f, 0xff, 0x04, 0x06, 0xd4, 0x2d, 0x00, 0x02, 0x01, 0x80];
  let cycPairs = 0;
  for (let round = 0; round < 400; round++) {
    const buf = Uint8Array.from({ length: 24 }, () => (rng.chance(0.8) ? pick[rng.below(pick.length)]! : rng.below(256)));
    for (let from = 0; from < buf.length; from++) {
      const fast = new PtPacketDecoder({ noSync: true });
      const slow = new PtPacketDecoder({ noSync: true });
      fast.restart(buf, from, true);
      slow.restart(buf, from, true);
      const type = slow.next();
      const s = slow.packet;
      const where = `round ${round} from ${from}`;
      if (fast.nextCycBeforeTnt8()) {
        cycPairs++;
        const p = fast.packet;
        t.equal(type, PT_CYC, `${where}: CYC`);
        t.same([p.lo, p.hi, p.offset, p.size], [s.lo, s.hi, s.offset, s.size], `${where}: CYC fields`);
        t.equal(slow.next(), PT_TNT_8, `${where}: a TNT-8 after it`);
        t.ok(fast.nextTnt8(), `${where}: nextTnt8 takes it`);
        t.same([fast.packet.lo, fast.packet.bits, fast.packet.offset], [s.lo, s.bits, s.offset], `${where}: TNT-8 fields`);
      } else if (fast.nextTnt8()) {
        t.equal(type, PT_TNT_8, `${where}: TNT-8`);
        t.same([fast.packet.lo, fast.packet.bits, fast.packet.offset], [s.lo, s.bits, s.offset], `${where}: TNT-8 fields`);
      } else {
        // Nothing moved: next() gives what it gives on a fresh decoder.
        t.equal(fast.next(), type, `${where}: nothing moved`);
        if (type >= 0) t.equal(fast.packet.offset, s.offset, `${where}: same offset`);
      }
    }
  }
  t.ok(cycPairs > 100, `CYC + TNT-8 pairs met (${cycPairs})`);
});
