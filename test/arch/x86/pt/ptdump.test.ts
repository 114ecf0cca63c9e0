// The ptdump-style listing and its time model, on hand-checked values.

import t from 'tap';
import {
  DEFAULT_PTDUMP_OPTIONS, PtDumpListing, PtPacket, PtTime, PtTimeCal, decodeAll, type PtDumpOptions,
} from '../../../../arch/x86/index.js';
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

t.test('time: TSC, TMA, MTC and CYC as libipt estimates them', async (t) => {
  // 4 TSC ticks per crystal tick; MTC every crystal tick (mtcFreq 0).
  const time = new PtTime({ mtcFreq: 0, nomFreq: 0, cpuid15Eax: 1, cpuid15Ebx: 4 });
  t.same(time.query(), [0n, 'no_time']);
  time.tscPacket(0x1000n);
  t.same(time.query(), [0x1000n, 0]);
  t.equal(time.mtcPacket(7), 0, 'an MTC between TSC and TMA is ignored');
  t.same(time.query(), [0x1000n, 0]);
  time.tmaPacket(0x10, 3); // the TSC came 3 ticks after crystal tick 0x10
  t.equal(time.tmaPacket(0x10, 3), 'bad_context', 'one TMA per TSC');
  time.mtcPacket(0x11);
  t.same(time.query(), [0x1000n - 3n + 4n, 0], 'one crystal tick after TMA: base - fc + 4');
  // fcr 2.0 (fixed point << 8): each cycle is two TSC ticks.
  time.cycPacket(5n, 512n);
  t.same(time.query(), [0x1001n + 10n, 0]);
  time.mtcPacket(0x13);
  t.same(time.query(), [0x1001n + 8n, 0], 'two crystal ticks later');
  // No CYC since the last MTC-period start: the next CYC's cycles span two MTC periods, and
  // the 4 cycles (8 ticks at fcr 2.0) that belong to the earlier one are dropped.
  time.mtcPacket(0x15);
  time.cycPacket(6n, 512n);
  t.same(time.query(), [0x1011n + 4n, 0], 'only the cycles of the current MTC period count');
  t.equal(time.mtcPacket(0x14), 0, 'a wrap-around is corrected once');
  t.same(time.query(), [0x1011n + 255n * 4n, 0]);
  const nocfg = new PtTime({ mtcFreq: 0, nomFreq: 0, cpuid15Eax: 0, cpuid15Ebx: 0 });
  nocfg.tscPacket(1n);
  nocfg.tmaPacket(0, 0);
  t.equal(nocfg.mtcPacket(1), 'bad_config', 'MTC needs CPUID 0x15');
});

t.test('calibration: from CBR and the nominal frequency, from MTC periods, from TSCs in PSB+', async (t) => {
  const cal = new PtTimeCal({ mtcFreq: 0, nomFreq: 8, cpuid15Eax: 1, cpuid15Ebx: 32 });
  t.equal(cal.query(), undefined);
  cal.cbrHeader(16);
  t.equal(cal.query(), 128n, 'nominal 8 / ratio 16 = 0.5');
  cal.mtcPacket(1);
  cal.cycPacket(64n);
  cal.mtcPacket(2);
  t.equal(cal.query(), 128n, '32 TSC ticks over 64 cycles = 0.5');
  cal.cycPacket(16n);
  cal.mtcPacket(3);
  t.equal(cal.query(), 512n, '32 ticks over 16 cycles = 2.0');
  const tsc = new PtTimeCal({ mtcFreq: 0, nomFreq: 0, cpuid15Eax: 0, cpuid15Ebx: 0 });
  tsc.tscHeader(1000n);
  tsc.cycPacket(100n);
  tsc.tscHeader(1400n);
  t.equal(tsc.query(), 1024n, '400 ticks over 100 cycles = 4.0');
  tsc.cbrUpdate(20);
  t.equal(tsc.query(), undefined, 'a CBR outside PSB+ starts calibration over');
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
