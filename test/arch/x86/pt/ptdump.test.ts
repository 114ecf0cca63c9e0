// The ptdump-style listing and its time model, on hand-checked values.

import t from 'tap';
import {
  DEFAULT_PTDUMP_OPTIONS, PtDumpListing, PtPacket, decodeAll, type PtDumpOptions,
} from '../../../../arch/x86/index.js';
import { PtClock } from '../../../../arch/x86/pt/flow/time.js';
import { PtTimeCal } from '../../../../arch/x86/pt/flow/time-cal.js';
import type { DecodeError } from '../../../../arch/common/errors.js';

const PSB = '02 82 02 82 02 82 02 82 02 82 02 82 02 82 02 82';

function bytes(hex: string): Uint8Array {
  return Uint8Array.from(hex.replace(/PSB/g, PSB).trim().split(/\s+/), (h) => Number.parseInt(h, 16));
}

function list(hex: string, o: Partial<PtDumpOptions> = {}): string[] {
  const lines: string[] = [];
  const input = bytes(hex);
  const l = new PtDumpListing({ ...DEFAULT_PTDUMP_OPTIONS, ...o }, (s) => lines.push(s));
  for (const x of decodeAll(input)) {
    if (x instanceof PtPacket) l.packet(x, input.subarray(x.offset, x.offset + x.size));
    else l.error(x as DecodeError);
  }
  return lines;
}

t.test('columns: offset 17, raw 33, mnemonic 10, payload 25, tracking id 5', async (t) => {
  t.same(list('PSB 2d 34 12', { lastIp: true, raw: true }), [
    '0                 02820282028202820282028202820282  psb',
    '10                2d3412                            tip        1: ????????????1234       ip   0000000000001234',
  ]);
  t.same(list('PSB 02 23', { offset: false }), ['psb', 'psbend']);
  t.same(list('PSB 59 0a', { offset: false, raw: true }), ['02820282028202820282028202820282  psb', '590a                              mtc        a']);
});

t.test('--lastip: the last IP starts over at each PSB and after an error', async (t) => {
  const lines = list('PSB 7d 00 10 40 00 00 ff 2d 34 12 PSB 2d 78 56 05 PSB 01 2d 00 00', { lastIp: true, offset: false });
  t.same(lines.map((l) => l.replace(/ +/g, ' ')), [
    'psb',
    'fup 3: ffffff0000401000 ip ffffff0000401000',
    'tip 1: ????????????1234 ip ffffff0000401234',
    'psb',
    'tip 1: ????????????5678 ip 0000000000005678',
    '[2d: error decoding packet: unknown opcode]',
    'psb',
    'tip.pgd 0: ???????????????? ip <unavailable>',
    'tip 1: ????????????0000 ip 0000000000000000',
  ]);
});

t.test('time: TSC, TMA, MTC and CYC as libipt estimates them (the clock ptdump drives)', async (t) => {
  // 4 TSC ticks per crystal tick; MTC every crystal tick (mtcFreq 0).
  const time = new PtClock({ mtcFreq: 0, nomFreq: 0, cpuid15Eax: 1, cpuid15Ebx: 4 });
  const now = (): [number, boolean] => [time.time, time.hasTime];
  t.same(now(), [0, false]);
  time.tscTime(0x1000, 0);
  t.same(now(), [0x1000, true]);
  t.equal(time.mtcTime(7), '', 'an MTC between TSC and TMA is ignored');
  t.same(now(), [0x1000, true]);
  time.tma(0x10, 3); // the TSC came 3 ticks after crystal tick 0x10
  t.equal(time.tma(0x10, 3), 'bad_context', 'one TMA per TSC');
  time.mtcTime(0x11);
  t.same(now(), [0x1000 - 3 + 4, true], 'one crystal tick after TMA: base - fc + 4');
  // fcr 2.0 (fixed point << 8): each cycle is two TSC ticks.
  time.cycTime(5, 0, 0, 512);
  t.same(now(), [0x1001 + 10, true]);
  time.mtcTime(0x13);
  t.same(now(), [0x1001 + 8, true], 'two crystal ticks later');
  // No CYC since the last MTC-period start: the next CYC's cycles span two MTC periods, and
  // the 4 cycles (8 ticks at fcr 2.0) that belong to the earlier one are dropped.
  time.mtcTime(0x15);
  time.cycTime(6, 0, 0, 512);
  t.same(now(), [0x1011 + 4, true], 'only the cycles of the current MTC period count');
  t.equal(time.mtcTime(0x14), '', 'a wrap-around is corrected once');
  t.same(now(), [0x1011 + 255 * 4, true]);
  t.equal(time.cycTime(1, 0, 0, 0), '', 'no ratio: the CYC is lost');
  t.equal(time.lostCyc, 1);
  t.same(now(), [0x1011 + 255 * 4, true]);
  const nocfg = new PtClock({ mtcFreq: 0, nomFreq: 0, cpuid15Eax: 0, cpuid15Ebx: 0 });
  nocfg.tscTime(1, 0);
  nocfg.tma(0, 0);
  t.equal(nocfg.mtcTime(1), 'bad_config', 'MTC needs CPUID 0x15');
  t.equal(nocfg.mtc(2), '', 'the decoders ignore that configuration error');
});

t.test('calibration: from CBR and the nominal frequency, from MTC periods, from TSCs in PSB+', async (t) => {
  const fcr = (c: PtTimeCal): number | undefined => (c.calibrated ? c.fcrHi * 2 ** 32 + c.fcrLo : undefined);
  const cal = new PtTimeCal({ mtcFreq: 0, nomFreq: 8, cpuid15Eax: 1, cpuid15Ebx: 32, skl168: false });
  t.equal(fcr(cal), undefined);
  cal.cbrHeader(16);
  t.equal(fcr(cal), 128, 'nominal 8 / ratio 16 = 0.5');
  cal.mtc(1);
  cal.cyc(0, 64);
  cal.mtc(2);
  t.equal(fcr(cal), 128, '32 TSC ticks over 64 cycles = 0.5');
  cal.cyc(0, 16);
  cal.mtc(3);
  t.equal(fcr(cal), 512, '32 ticks over 16 cycles = 2.0');
  cal.ovf();
  cal.cyc(0, 64);
  cal.mtc(4);
  t.equal(fcr(cal), 512, 'an OVF keeps the ratio, and the next MTC only starts a period');
  cal.cyc(0, 64);
  cal.mtc(5);
  t.equal(fcr(cal), 128, 'the one after calibrates again');
  const tsc = new PtTimeCal({ mtcFreq: 0, nomFreq: 0, cpuid15Eax: 0, cpuid15Ebx: 0, skl168: false });
  tsc.tscHeader(0, 1000);
  tsc.cyc(0, 100);
  tsc.tscHeader(0, 1400);
  t.equal(fcr(tsc), 1024, '400 ticks over 100 cycles = 4.0');
  tsc.cbrUpdate(20);
  t.equal(fcr(tsc), undefined, 'a CBR outside PSB+ starts calibration over');
});

t.test('--time and --tcal columns, deltas and diagnostics', async (t) => {
  const timing = { mtcFreq: 0, nomFreq: 8, cpuid15Eax: 1, cpuid15Ebx: 4 };
  // The CYC's 3 cycles fall short of the 8 (one crystal tick at fcr 0.5) its MTC period
  // began with: it adds nothing. The next MTC calibrates: 4 ticks over 3 cycles.
  const hex = 'PSB 19 00 10 00 00 00 00 00 02 73 00 00 00 00 00 02 03 10 00 02 23 59 01 1b 59 02';
  t.same(list(hex, { time: true, timing, offset: false }).map((l) => l.replace(/ +/g, ' ')), [
    'psb', 'tsc 1000 tsc 0000000000001000', 'tma 0, 0 tsc 0000000000001000', 'cbr 10', 'psbend',
    'mtc 1 tsc 0000000000001004', 'cyc 3 tsc 0000000000001004', 'mtc 2 tsc 0000000000001008',
  ]);
  t.same(list(hex, { time: true, timeDelta: true, timing, offset: false }).map((l) => l.replace(/ +/g, ' ')).filter((l) => l.includes(' tsc ')), [
    'tsc 1000 tsc +1000', 'tma 0, 0 tsc +0', 'mtc 1 tsc +4', 'cyc 3 tsc +0', 'mtc 2 tsc +4',
  ]);
  t.same(list(hex, { tcal: true, timing, offset: false }).map((l) => l.replace(/ +/g, ' ')).filter((l) => l.includes('fcr')), [
    'tsc 1000 fcr <unavailable>', 'cbr 10 fcr 0.500', 'mtc 1 fcr 0.500', 'mtc 2 fcr 1.332',
  ]);
  t.same(list('PSB 59 01', { time: true, timing, offset: false }), ['psb', '[10: error printing time: no timing information]', 'mtc        1                         tsc  <unavailable>']);
  t.same(list('PSB 59 01', { time: true, noWallClock: true, timing, offset: false }), ['psb', 'mtc        1                         tsc  0000000000000000']);
});

t.test('--no-tcal: no calibration, CYCs lost; a missing CPUID 0x15 is reported per packet', async (t) => {
  const hex = 'PSB 19 00 10 00 00 00 00 00 02 73 00 00 00 00 00 02 03 10 00 02 23 59 01 1b 59 02';
  const timing = { mtcFreq: 0, nomFreq: 8, cpuid15Eax: 1, cpuid15Ebx: 4 };
  const noTcal = list(hex, { tcal: true, noTcal: true, timing, offset: false }).map((l) => l.replace(/ +/g, ' '));
  t.ok(noTcal.includes('cbr 10 fcr <unavailable>'), 'the CBR does not calibrate');
  t.ok(noTcal.includes('[27: error updating time: no calibration]'), 'the CYC is lost');
  t.notOk(noTcal.some((l) => l.includes('calibration error')), 'and the calibration is not asked');
  const nocfg = { ...timing, cpuid15Eax: 0, cpuid15Ebx: 0 };
  t.same(list(hex, { time: true, timing: nocfg, offset: false }).map((l) => l.replace(/ +/g, ' ')).slice(5), [
    '[25: error updating time: bad configuration]', 'mtc 1 tsc 0000000000001000',
    '[27: error updating time: bad configuration]', 'cyc 3 tsc 0000000000001000',
    '[28: error calibrating time: bad configuration]', '[28: error updating time: bad configuration]', 'mtc 2 tsc 0000000000001000',
  ]);
});

t.test('SKL168: the first MTC after a PSB calibrates unless an MTC or a CYC wrap looks lost', async (t) => {
  // 0x10000 TSC ticks per crystal tick, an MTC every tick; CYC 8 (43), 0x10 (83), 0x100 (07 10),
  // 0x1000 (07 01 02). The first MTC after the second PSB is the one SKL168 may skip.
  const timing = { mtcFreq: 0, nomFreq: 0, cpuid15Eax: 1, cpuid15Ebx: 0x10000, skl168: true };
  const last = (hex: string, skl168 = true): string =>
    list(hex, { tcal: true, timing: { ...timing, skl168 }, offset: false }).map((l) => l.replace(/ +/g, ' ')).at(-1)!;
  t.equal(last('PSB 02 23 59 01 43 PSB 02 23 59 02'), 'mtc 2 fcr 8192.000', 'no MTC lost, no ratio yet: 0x10000 ticks over 8 cycles');
  t.equal(last('PSB 02 23 59 01 43 PSB 02 23 59 03'), 'mtc 3 fcr <unavailable>', 'an MTC lost: skipped');
  t.equal(last('PSB 02 23 59 01 43 PSB 02 23 59 03', false), 'mtc 3 fcr 16384.000', 'without the erratum it calibrates');
  // Calibrated at 16.0: 0x10 cycles (+ one 0xf00 CYC wrap) × 16 fall short of the 0x10000 ticks.
  t.equal(last('PSB 02 23 59 01 07 01 02 59 02 83 PSB 02 23 59 03'), 'mtc 3 fcr 16.000', 'a CYC wrap looks lost: skipped');
  t.equal(last('PSB 02 23 59 01 07 01 02 59 02 83 PSB 02 23 59 03', false), 'mtc 3 fcr 4096.000');
  t.equal(last('PSB 02 23 59 01 07 01 02 59 02 07 10 PSB 02 23 59 03'), 'mtc 3 fcr 256.000', '0x100 cycles cover it: calibrates');
  // With MTCFreq ≥ 10 only lost MTCs count (here 0x10000 ticks per 2^10 crystal ticks).
  const slow = { ...timing, mtcFreq: 10 };
  const lines = list('PSB 02 23 59 01 07 01 02 59 02 83 PSB 02 23 59 03', { tcal: true, timing: slow, offset: false });
  t.equal(lines.at(-1)!.replace(/ +/g, ' '), 'mtc 3 fcr 4194304.000', 'MTCFreq 10: no CYC-wrap check');
});
