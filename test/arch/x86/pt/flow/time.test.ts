// PtClock rule by rule, with values computed by hand from the rules in reference §2.6 (libipt's
// pt_time / pt_time_cal), and the 64-bit helpers against BigInt.

import t from 'tap';
import { add64, div64, lt64, mul64, shl64, shr64, sub64, u64Hi } from '../../../../../arch/x86/pt/flow/time-cal.js';
import { PtClock, type PtTimeConfig } from '../../../../../arch/x86/pt/flow/time.js';
import { Rng } from '../../../../../sim/rng.js';

/** CTC → TSC × 3 (CPUID.15H 6/2), MTC every 8 CTC ticks (11 CTC bits: TMA stands for an MTC). */
const MTC3: PtTimeConfig = { mtcFreq: 3, cpuid15Eax: 2, cpuid15Ebx: 6 };

/** [time, lostMtc, lostCyc, hasTime]: the running estimate, checked equal to what a latch reports. */
function at(c: PtClock): [number, number, number, boolean] {
  c.latch();
  const now: [number, number, number, boolean] = [c.time, c.lostMtc, c.lostCyc, c.hasTime];
  const query: [number, number, number, boolean] = [c.queryTime, c.queryLostMtc, c.queryLostCyc, c.queryHasTime];
  if (JSON.stringify(now) !== JSON.stringify(query)) throw new Error(`latch: ${JSON.stringify(query)} != ${JSON.stringify(now)}`);
  if (c.time !== c.timeHi * 2 ** 32 + c.timeLo || c.queryTimeHi !== c.timeHi || c.queryTimeLo !== c.timeLo) throw new Error('time words');
  return now;
}

function tsc(c: PtClock, v: number): string {
  return c.tsc(v % 2 ** 32, Math.floor(v / 2 ** 32));
}

t.test('no time before the first TSC; a TSC sets it', async (t) => {
  const c = new PtClock(MTC3);
  t.same(at(c), [0, 0, 0, false]);
  t.equal(tsc(c, 0x123456789a), '');
  t.same(at(c), [0x123456789a, 0, 0, true]);
  t.equal(c.timeHi, 0x12);
  t.equal(c.timeLo, 0x3456789a);
});

t.test('the query time changes only at latch()', async (t) => {
  const c = new PtClock(MTC3);
  tsc(c, 1000);
  t.equal(c.queryTime, 0);
  t.equal(c.queryHasTime, false);
  t.equal(c.time, 1000);
  c.latch();
  tsc(c, 2000);
  t.equal(c.queryTime, 1000);
  t.equal(c.queryHasTime, true);
  t.equal(c.time, 2000);
});

t.test('56-bit TSC: exact words, the number rounds above 2^53', async (t) => {
  const c = new PtClock(MTC3);
  c.tsc(0xffffffff, 0xffffff);
  t.equal(c.timeHi, 0xffffff);
  t.equal(c.timeLo, 0xffffffff);
  t.equal(c.time, 2 ** 56);
  c.tsc(0x12345678, 0x1fffff);
  t.equal(c.time, 0x1fffff12345678, 'below 2^53 the number is exact');
});

t.test('TMA: the CTC edge is FC ticks before the TSC; an MTC 8 CTC later adds 8 × 3', async (t) => {
  const c = new PtClock(MTC3);
  tsc(c, 1000);
  t.equal(c.tma(0x100, 10), '');
  t.same(at(c), [1000, 0, 0, true], 'TMA alone does not move time');
  t.equal(c.mtc(0x21), '');
  t.same(at(c), [990 + 24, 0, 0, true]);
  t.equal(c.mtc(0x23), '');
  t.same(at(c), [990 + 24 + 48, 0, 0, true]);
});

t.test('TMA without a TSC, or a second TMA after one TSC: bad_context', async (t) => {
  const c = new PtClock(MTC3);
  t.equal(c.tma(0x100, 10), 'bad_context');
  tsc(c, 1000);
  t.equal(c.tma(0x100, 10), '');
  t.equal(c.tma(0x100, 10), 'bad_context');
  tsc(c, 2000);
  t.equal(c.tma(0x100, 10), '', 'a new TSC allows a new TMA');
});

t.test('MTCs between a TSC and its TMA are ignored', async (t) => {
  const c = new PtClock(MTC3);
  tsc(c, 1000);
  c.mtc(0x55);
  t.same(at(c), [1000, 0, 0, true]);
  c.tma(0x100, 0);
  c.mtc(0x21);
  t.same(at(c), [1024, 0, 0, true]);
});

t.test('MTC wraps once around the mtcFreq+8 CTC bits', async (t) => {
  const c = new PtClock(MTC3);
  tsc(c, 1000);
  c.tma(0x7f8, 0);
  c.mtc(0x01);
  // 0x7f8 → 0x808 (mod 0x800: 0x008) is 16 CTC ticks.
  t.same(at(c), [1000 + 48, 0, 0, true]);
});

t.test('without TSC, MTCs still count (relative time, hasTime false); the first only sets CTC', async (t) => {
  const c = new PtClock(MTC3);
  c.mtc(0x10);
  t.same(at(c), [0, 0, 0, false]);
  c.mtc(0x12);
  t.same(at(c), [48, 0, 0, false]);
});

t.test('CPUID.15H unknown (0): MTC does not advance time and is not counted lost', async (t) => {
  for (const cfg of [{ mtcFreq: 3, cpuid15Eax: 0, cpuid15Ebx: 6 }, { mtcFreq: 3, cpuid15Eax: 2, cpuid15Ebx: 0 }, {}]) {
    const c = new PtClock(cfg);
    tsc(c, 1000);
    c.tma(0x100, 10);
    t.equal(c.mtc(0x21), '');
    t.equal(c.mtc(0x22), '');
    t.same(at(c), [1000, 0, 0, true], JSON.stringify(cfg));
  }
});

t.test('MTCFreq 9 (17 CTC bits): the first MTC after TMA supplies CTC[16]', async (t) => {
  const cfg: PtTimeConfig = { mtcFreq: 9, cpuid15Eax: 2, cpuid15Ebx: 6 };
  // TMA CTC 0x0100, MTC CTC 0x10200: the high bit comes from the MTC, 0x100 ticks → 768.
  let c = new PtClock(cfg);
  tsc(c, 1000);
  c.tma(0x0100, 0);
  c.mtc(0x81);
  t.same(at(c), [1768, 0, 0, true]);
  // TMA CTC 0xfff0, MTC CTC 0x10000: the low 16 bits wrapped, so CTC[16] was 0 at TMA: 16 ticks.
  c = new PtClock(cfg);
  tsc(c, 1000);
  c.tma(0xfff0, 0);
  c.mtc(0x80);
  t.same(at(c), [1048, 0, 0, true]);
  // With MTCFreq ≤ 8 the TMA is the first MTC, so the same MTC counts from TMA's CTC directly.
  c = new PtClock({ mtcFreq: 8, cpuid15Eax: 2, cpuid15Ebx: 6 });
  tsc(c, 1000);
  c.tma(0xfff0, 0);
  c.mtc(0x00);
  t.same(at(c), [1048, 0, 0, true]);
});

t.test('TMA FC larger than the TSC: 64-bit wrap-around and back, as libipt computes', async (t) => {
  const c = new PtClock(MTC3);
  tsc(c, 5);
  c.tma(0x100, 10);
  c.mtc(0x21);
  t.same(at(c), [19, 0, 0, true]);
});

t.test('CYC without calibration is lost; an MTC or TSC recovers the count', async (t) => {
  const c = new PtClock(MTC3);
  tsc(c, 1000);
  c.tma(0x100, 0);
  c.cyc(100, 0);
  c.cyc(100, 0);
  t.same(at(c), [1000, 0, 2, true]);
  c.mtc(0x21);
  t.same(at(c), [1024, 0, 0, true]);
  c.cyc(100, 0);
  t.same(at(c), [1024, 0, 1, true]);
  tsc(c, 5000);
  t.same(at(c), [5000, 0, 0, true]);
});

t.test('CYC calibrated from CBR and the nominal ratio: fcr = (30 << 8) / 15 = 2 TSC per cycle', async (t) => {
  const c = new PtClock({ nomFreq: 30 });
  c.psb();
  tsc(c, 1000);
  t.equal(c.cbr(15), '');
  c.psbEnd();
  t.equal(c.cal.fcrLo, 512);
  c.cyc(100, 0);
  t.same(at(c), [1200, 0, 0, true]);
  c.cyc(50, 0);
  t.same(at(c), [1300, 0, 0, true]);
  // A CBR outside PSB+ is a frequency change: 30 / 10 → 3 TSC per cycle.
  c.cbr(10);
  c.cyc(10, 0);
  t.same(at(c), [1330, 0, 0, true]);
  t.equal(c.cbrRatio, 10);
});

t.test('without the nominal ratio a CBR outside PSB+ drops the calibration', async (t) => {
  const c = new PtClock({ nomFreq: 30 });
  tsc(c, 1000);
  c.cbr(15);
  c.cyc(100, 0);
  t.same(at(c), [1200, 0, 0, true]);
  const d = new PtClock({ mtcFreq: 3, cpuid15Eax: 2, cpuid15Ebx: 6 });
  tsc(d, 1000);
  d.tma(0x100, 0);
  d.mtc(0x21);
  d.cyc(48, 0);
  d.mtc(0x22);
  d.cyc(20, 0);
  t.same(at(d), [1058, 0, 0, true], 'calibrated by MTC');
  d.cbr(20);
  d.cyc(20, 0);
  t.same(at(d), [1058, 0, 1, true], 'CBR reset it');
});

t.test('CBR 0 is bad_packet', async (t) => {
  const c = new PtClock({ nomFreq: 30 });
  t.equal(c.cbr(0), 'bad_packet');
  c.psb();
  t.equal(c.cbr(0), 'bad_packet');
  t.equal(new PtClock().cbr(0), 'bad_packet');
});

t.test('CYC calibrated from MTC periods, and a CYC spanning MTC periods', async (t) => {
  const c = new PtClock(MTC3);
  tsc(c, 1000);
  c.tma(0x100, 0);
  c.mtc(0x21); // time 1024; calibration's first MTC
  c.cyc(48, 0); // not calibrated yet: lost
  t.same(at(c), [1024, 0, 1, true]);
  c.mtc(0x22); // 48 cycles in 8 CTC = 24 TSC: fcr = 24 × 256 / 48 = 128
  t.equal(c.cal.fcrLo, 128);
  t.same(at(c), [1048, 0, 0, true]);
  c.cyc(20, 0); // 20 × 128 >> 8 = 10
  t.same(at(c), [1058, 0, 0, true]);
  c.mtc(0x23); // 20 cycles in 24 TSC: fcr = 6144 / 20 = 307
  t.equal(c.cal.fcrLo, 307);
  t.same(at(c), [1072, 0, 0, true]);
  c.mtc(0x24); // no CYC in between: the next CYC also covers the period 0x118 → 0x120
  t.same(at(c), [1096, 0, 0, true]);
  // 60 cycles, of which (24 << 8) / 307 = 20 belong to the previous period: 40 × 307 >> 8 = 47.
  c.cyc(60, 0);
  t.same(at(c), [1143, 0, 0, true]);
});

t.test('a CYC smaller than the earlier periods it spans adds nothing', async (t) => {
  const c = new PtClock(MTC3);
  tsc(c, 1000);
  c.tma(0x100, 0);
  c.mtc(0x21);
  c.cyc(48, 0);
  c.mtc(0x22);
  c.cyc(20, 0);
  c.mtc(0x23);
  c.mtc(0x24);
  c.cyc(10, 0);
  t.same(at(c), [1096, 0, 0, true]);
});

t.test('TSC in PSB+ calibrates from the cycles since the previous one (no MTC)', async (t) => {
  const c = new PtClock({});
  c.psb();
  tsc(c, 1000);
  c.psbEnd();
  c.cyc(100, 0);
  c.cyc(100, 0);
  t.same(at(c), [1000, 0, 2, true]);
  c.psb();
  tsc(c, 1400); // 400 TSC in 200 cycles: fcr = 512
  c.psbEnd();
  t.equal(c.cal.fcrLo, 512);
  c.cyc(10, 0);
  t.same(at(c), [1420, 0, 0, true]);
  // A TSC outside PSB+ does not calibrate.
  const d = new PtClock({});
  d.psb();
  tsc(d, 1000);
  d.psbEnd();
  d.cyc(100, 0);
  tsc(d, 1400);
  d.cyc(10, 0);
  t.same(at(d), [1400, 0, 1, true]);
});

t.test('OVF keeps the time but drops the calibration', async (t) => {
  const c = new PtClock({ nomFreq: 30 });
  tsc(c, 1000);
  c.cbr(15);
  c.cyc(100, 0);
  c.overflow();
  t.same(at(c), [1200, 0, 0, true]);
  c.cyc(100, 0);
  t.same(at(c), [1200, 0, 1, true]);
});

t.test('reset() (a new sync) forgets everything', async (t) => {
  const c = new PtClock({ nomFreq: 30 });
  tsc(c, 1000);
  c.cbr(15);
  c.latch();
  c.reset();
  t.same([c.time, c.hasTime, c.queryTime, c.queryHasTime, c.cbrRatio, c.cal.calibrated], [0, false, 0, false, 0, false]);
  c.cyc(10, 0);
  t.same(at(c), [0, 0, 1, false]);
});

t.test('SKL168: the first MTC after a PSB skips calibration when MTCs were lost', async (t) => {
  const run = (skl168: boolean): number => {
    const c = new PtClock({ ...MTC3, skl168 });
    tsc(c, 1000);
    c.tma(0x100, 0);
    c.mtc(0x21);
    c.cyc(48, 0);
    c.mtc(0x22); // fcr 128
    c.psb();
    c.psbEnd();
    c.cyc(30, 0);
    c.mtc(0x24); // two periods (48 TSC) in 30 cycles: fcr 409, unless skipped
    return c.cal.fcrLo;
  };
  t.equal(run(false), 409);
  t.equal(run(true), 128);
});

t.test('bad config values are refused with their name', async (t) => {
  t.throws(() => new PtClock({ mtcFreq: 16 }), /mtcFreq/);
  t.throws(() => new PtClock({ nomFreq: 256 }), /nomFreq/);
  t.throws(() => new PtClock({ cpuid15Eax: -1 }), /cpuid15Eax/);
});

t.test('64-bit helpers agree with BigInt', async (t) => {
  const rng = new Rng(7);
  const M = (1n << 64n) - 1n;
  const big = (hi: number, lo: number): bigint => (BigInt(hi) << 32n) | BigInt(lo);
  const word = (): number => rng.pick([0, 1, 0xffffffff, 0x80000000, rng.below(2 ** 21), rng.below(2 ** 32), rng.below(2 ** 32)]);
  let bad = 0;
  for (let i = 0; i < 20000; i++) {
    const aHi = word(), aLo = word(), bHi = word(), bLo = word();
    const a = big(aHi, aLo), b = big(bHi, bLo);
    const check = (lo: number, want: bigint): void => {
      if (big(u64Hi, lo) !== (want & M)) bad++;
    };
    check(add64(aHi, aLo, bHi, bLo), a + b);
    check(sub64(aHi, aLo, bHi, bLo), a - b);
    check(mul64(aHi, aLo, bHi, bLo), a * b);
    check(shr64(aHi, aLo, 8), a >> 8n);
    check(shl64(aHi, aLo, 8), a << 8n);
    if (b !== 0n) check(div64(aHi, aLo, bHi, bLo), a / b);
    if (lt64(aHi, aLo, bHi, bLo) !== a < b) bad++;
  }
  t.equal(bad, 0);
});

t.test('mark() / latchMark(): the query time as of an earlier packet, once', async (t) => {
  const c = new PtClock(MTC3);
  tsc(c, 1000);
  c.mark();
  tsc(c, 2000);
  c.latchMark();
  t.same([c.queryTime, c.queryHasTime], [1000, true]);
  tsc(c, 3000);
  c.latchMark();
  t.equal(c.queryTime, 1000, 'a mark is used once');
  c.mark();
  c.latch();
  tsc(c, 4000);
  c.latchMark();
  t.equal(c.queryTime, 3000, 'latch() drops the mark');
});

t.test('CYC beyond 32 bits takes the exact 64-bit path', async (t) => {
  const c = new PtClock({ nomFreq: 30 });
  tsc(c, 1000);
  c.cbr(15);
  c.cyc(0, 1); // 2^32 cycles × 2
  t.same(at(c), [1000 + 2 ** 33, 0, 0, true]);
  c.cyc(5, 0);
  t.same(at(c), [1000 + 2 ** 33 + 10, 0, 0, true]);
});

t.test('CTC × CPUID.15H:EBX beyond 2^52 takes the exact 64-bit path', async (t) => {
  const c = new PtClock({ mtcFreq: 15, cpuid15Eax: 3, cpuid15Ebx: 0xffffffff });
  c.mtc(0x00);
  c.mtc(0x80); // 2^22 CTC ticks × 0xffffffff / 3
  t.same(at(c), [Number((2n ** 22n * 0xffffffffn) / 3n), 0, 0, false]);
});

t.test('SKL168: no calibration either when the cycles cannot cover the MTC period', async (t) => {
  const run = (skl168: boolean): number => {
    const c = new PtClock({ ...MTC3, skl168 });
    tsc(c, 1000);
    c.tma(0x100, 0);
    c.mtc(0x21);
    c.cyc(100000, 0);
    c.mtc(0x22); // 24 TSC in 100000 cycles: fcr (24 << 8) / 100000 = 0
    c.psb();
    c.psbEnd();
    c.cyc(48, 0);
    c.mtc(0x23); // one period; with fcr 0 the expected fast counter (0) is below 24: skipped
    return c.cal.fcrLo;
  };
  t.equal(run(false), 128);
  t.equal(run(true), 0);
});
