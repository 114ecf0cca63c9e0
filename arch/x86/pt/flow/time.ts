// PT timing: TSC, TMA, MTC, CYC and CBR packets → an estimate of the TSC at the decoder's
// position (reference §2.6), computed as libipt 2.0.5 does (`pt_time` + `pt_time_cal`), so
// that the time reported for an instruction equals `pt_insn_time()` / `pt_blk_time()`.
//
// The flow decoder calls the packet methods for every timing packet in stream order (inside
// PSB+ too, between psb() and psbEnd()), overflow() at an OVF and reset() when it (re)syncs.
// `time`, `hasTime`, `lostMtc`, `lostCyc` are the running estimate (libipt's decoder->time: what
// an event created at this packet carries). libipt's pt_insn_time() / pt_blk_time() report the
// estimate "preserved at the last query": the decoder calls latch() where libipt's query
// decoder does (taking a TNT or TIP packet for the flow, fetching an event), and reads the
// `query*` fields. An event read ahead while TNT bits are still cached is fetched by libipt
// only when they are used up: mark() at the event packet, latchMark() then.
//
// Values are 64-bit unsigned words (hi, lo) as libipt's are; `time` as one number is exact
// below 2^53 (TSC ≥ 2^53, ~35 days at 3 GHz, is rounded to the nearest double there: use
// timeHi / timeLo for the exact value).
//
// Packet methods return '' or the libipt error name the query decoder would stop with
// ('bad_context': TMA without a TSC or a second TMA after one TSC; 'bad_packet': CBR 0). The
// decoder reports it at the packet's offset, or at the PSB for one inside PSB+ (as libipt). Configuration errors (CPUID.15H zero) are not
// errors in libipt's decoders: the MTC then just does not advance time.

import { HwtraceError } from '../../../common/errors.js';
import {
  FCR_SHIFT, MTC_BITS, PtTimeCal, type PtTimeSettings, add64, ctcDelta, ctcToTsc, div64, lt64, mul64, shl64, shr64, sub64,
  u64Hi,
} from './time-cal.js';

const TWO32 = 4294967296;
/** Doubles are exact below this (with room for one addition). */
const SAFE = 2 ** 52;
const FCR_ONE = 2 ** FCR_SHIFT;
/** TMA carries CTC[15:0]. */
const TMA_CTC_BITS = 16;
const TMA_CTC_MASK = 0xffff;

export interface PtTimeConfig {
  /** IA32_RTIT_CTL.MTCFreq (ptxed --mtc-freq). Default 0, as libipt's. */
  mtcFreq?: number;
  /** MSR_PLATFORM_INFO[15:8], the nominal core:bus ratio (ptxed --nom-freq). 0: unknown. */
  nomFreq?: number;
  /** CPUID.15H EAX / EBX: the TSC:crystal-clock ratio denominator / numerator. 0: unknown. */
  cpuid15Eax?: number;
  cpuid15Ebx?: number;
  /** Erratum SKL168 workaround (ptxed --cpu on Skylake / Kaby Lake). Default false. */
  skl168?: boolean;
}

function setting(v: number | undefined, max: number, name: string): number {
  const x = v ?? 0;
  if (!(Number.isInteger(x) && x >= 0 && x <= max)) throw new HwtraceError('bad_option', `PT time config ${name}: must be an integer in 0..${max}, got ${x}`);
  return x;
}

export class PtClock {
  // The running estimate (libipt's pt_time).
  /** The estimated TSC (exact below 2^53; timeHi:timeLo always). */
  time = 0;
  timeHi = 0;
  timeLo = 0;
  /** A TSC packet was seen (libipt: otherwise pte_no_time, with the relative time in `time`). */
  hasTime = false;
  /** MTC packets that could not be used since the last TSC. */
  lostMtc = 0;
  /** CYC packets that could not be used (no calibration yet) since the last TSC or MTC. */
  lostCyc = 0;
  /** The last CBR (0: none). */
  cbrRatio = 0;

  // At the last latch(): what pt_insn_time() / pt_blk_time() report.
  queryTime = 0;
  queryTimeHi = 0;
  queryTimeLo = 0;
  queryHasTime = false;
  queryLostMtc = 0;
  queryLostCyc = 0;

  /** The query fields hold the running estimate: latch() has nothing to copy (no timing packet since). */
  private latched = false;

  /** The estimate at the last mark(). */
  private marked = false;
  private markHi = 0;
  private markLo = 0;
  private markHasTime = false;
  private markLostMtc = 0;
  private markLostCyc = 0;

  /** TSC or MTC time, and the fast counter (TMA's FC and CYC time) added to it. */
  private baseHi = 0;
  private baseLo = 0;
  private fcHi = 0;
  private fcLo = 0;
  /** CTC at the last MTC/TMA, and at the last MTC after which CYC time restarted. */
  private ctc = 0;
  private ctcCyc = 0;
  private haveTma = false;
  private haveMtc = false;
  /** Between psb() and psbEnd(): TSC and CBR are status (calibrate without resetting). */
  private inPsb = false;

  readonly settings: PtTimeSettings;
  readonly cal: PtTimeCal;

  constructor(config: PtTimeConfig = {}) {
    this.settings = {
      mtcFreq: setting(config.mtcFreq, 15, 'mtcFreq'),
      nomFreq: setting(config.nomFreq, 255, 'nomFreq'),
      cpuid15Eax: setting(config.cpuid15Eax, 0xffffffff, 'cpuid15Eax'),
      cpuid15Ebx: setting(config.cpuid15Ebx, 0xffffffff, 'cpuid15Ebx'),
      skl168: config.skl168 === true,
    };
    this.cal = new PtTimeCal(this.settings);
  }

  /** libipt preserves the time at a query (TNT, TIP, event): what the next instructions report. */
  latch(): void {
    this.marked = false;
    // Most queries come with no timing packet since the last one (and always without timing).
    // Kept tiny: V8 inlines it into the walk's hot loop.
    if (!this.latched) this.copyLatch();
  }

  private copyLatch(): void {
    this.latched = true;
    this.queryTimeHi = this.timeHi;
    this.queryTimeLo = this.timeLo;
    this.queryTime = this.time;
    this.queryHasTime = this.hasTime;
    this.queryLostMtc = this.lostMtc;
    this.queryLostCyc = this.lostCyc;
  }

  /**
   * Remembers the running estimate at an event packet read ahead of the flow: libipt fetches
   * (and latches at) that event only once the TNT bits before it are used up.
   */
  mark(): void {
    this.markHi = this.timeHi;
    this.markLo = this.timeLo;
    this.markHasTime = this.hasTime;
    this.markLostMtc = this.lostMtc;
    this.markLostCyc = this.lostCyc;
    this.marked = true;
  }

  /** latch() as of the last mark() (when there is one, which it consumes). */
  latchMark(): void {
    if (this.marked) this.copyMark();
  }

  private copyMark(): void {
    this.marked = false;
    this.latched = false;
    this.queryTimeHi = this.markHi;
    this.queryTimeLo = this.markLo;
    this.queryTime = this.markHi * TWO32 + this.markLo;
    this.queryHasTime = this.markHasTime;
    this.queryLostMtc = this.markLostMtc;
    this.queryLostCyc = this.markLostCyc;
  }

  /** A (re)sync: libipt starts a fresh query decoder state, time and calibration included. */
  reset(): void {
    this.latched = false;
    this.time = this.timeHi = this.timeLo = 0;
    this.hasTime = false;
    this.lostMtc = this.lostCyc = 0;
    this.latch();
    this.cbrRatio = 0;
    this.baseHi = this.baseLo = this.fcHi = this.fcLo = 0;
    this.ctc = this.ctcCyc = 0;
    this.haveTma = this.haveMtc = false;
    this.inPsb = false;
    this.cal.reset();
  }

  /** The estimate is base (+ fc): keep the number in step with the words. */
  private setTime(hi: number, lo: number): void {
    this.timeHi = hi;
    this.timeLo = lo;
    this.time = hi * TWO32 + lo;
  }

  /** A PSB: the packets up to psbEnd() are PSB+ status. */
  psb(): void {
    this.inPsb = true;
    this.cal.psb();
  }

  psbEnd(): void {
    this.inPsb = false;
  }

  /** OVF: the decoder state is reset except the time; the calibration is lost with it. */
  overflow(): void {
    this.inPsb = false;
    this.cal.reset();
  }

  /** TSC packet: TSC[55:0] as lo/hi 32-bit words. The full time: losses are recovered. */
  tsc(lo: number, hi: number): string {
    if (this.inPsb) this.cal.tscHeader(hi, lo);
    else this.cal.tscUpdate(hi, lo);
    return this.tscTime(lo, hi);
  }

  // The *Time methods are the packet methods without the calibration (libipt's pt_time_update_*
  // alone), with libipt's configuration errors returned: for a caller that drives `cal` itself
  // and shows every status, as ptdump does.

  /** tsc() without the calibration. */
  tscTime(lo: number, hi: number): string {
    this.latched = false;
    this.hasTime = true;
    this.haveTma = false;
    this.haveMtc = false;
    this.baseHi = hi;
    this.baseLo = lo;
    this.setTime(hi, lo);
    this.ctc = 0;
    this.fcHi = this.fcLo = 0;
    this.lostMtc = 0;
    this.lostCyc = 0;
    return '';
  }

  /** TMA packet: CTC[15:0] and the fast counter FC (TSC ticks since the CTC edge). */
  tma(ctc: number, fc: number): string {
    this.latched = false;
    if (!this.hasTime || this.haveTma) return 'bad_context';
    if (this.haveMtc) return 'internal';
    const mtcHi = this.settings.mtcFreq + MTC_BITS;
    this.haveTma = true;
    this.baseLo = sub64(this.baseHi, this.baseLo, 0, fc);
    this.baseHi = u64Hi;
    this.fcLo = add64(this.fcHi, this.fcLo, 0, fc);
    this.fcHi = u64Hi;
    // With no more CTC bits per MTC than TMA gives, the TMA stands for an MTC.
    if (mtcHi <= TMA_CTC_BITS) this.haveMtc = true;
    this.ctc = this.ctcCyc = ctc & ((1 << mtcHi) - 1);
    return '';
  }

  /** MTC packet: CTC[mtcFreq+7:mtcFreq]. Time moves to this CTC edge. */
  mtc(payload: number): string {
    const err = this.cal.mtc(payload);
    if (err !== '' && err !== 'bad_config') return err;
    const e = this.mtcTime(payload);
    // CPUID.15H unknown: libipt's decoders ignore the configuration error; time stays.
    return e === 'bad_config' ? '' : e;
  }

  /** mtc() without the calibration; 'bad_config' when CPUID.15H is unknown (time stays). */
  mtcTime(payload: number): string {
    this.latched = false;
    const s = this.settings;
    const haveMtc = this.haveMtc;
    // MTCs between a TSC and its TMA would look like CTC overflows.
    if (this.hasTime && !this.haveTma) return '';
    let lastCtc = this.ctc;
    const ctc = payload << s.mtcFreq;
    if (this.fcHi !== 0 || this.fcLo !== 0 || this.lostCyc !== 0 || !haveMtc) this.ctcCyc = ctc;
    this.haveMtc = true;
    this.fcHi = this.fcLo = 0;
    this.ctc = ctc;
    this.lostCyc = 0;
    if (!haveMtc) {
      // The first MTC: without a TMA there is no previous CTC to measure from.
      if (!this.haveTma) return '';
      if (lastCtc > TMA_CTC_MASK) return 'internal';
      // TMA gave CTC[15:0] only: take the higher bits from this MTC, one period back if the
      // low bits wrapped in between.
      const ctcLo = ctc & TMA_CTC_MASK;
      let ctcHi = ctc - ctcLo;
      if (ctcLo < lastCtc) {
        ctcHi = (ctcHi - 2 ** TMA_CTC_BITS) >>> 0;
        ctcHi = (ctcHi & ((0xff << s.mtcFreq) >>> 0)) >>> 0;
      }
      lastCtc = (lastCtc | ctcHi) >>> 0;
    }
    // Both CTCs have at most mtcFreq+8 bits, so this cannot fail; libipt counts it lost if it did.
    const delta = ctcDelta(ctc, lastCtc, s.mtcFreq);
    if (delta < 0) {
      this.lostMtc++;
      return 'bad_packet';
    }
    const lo = ctcToTsc(delta, s);
    if (lo < 0) return 'bad_config';
    this.baseLo = add64(this.baseHi, this.baseLo, u64Hi, lo);
    this.baseHi = u64Hi;
    this.setTime(this.baseHi, this.baseLo);
    return '';
  }

  /** CYC packet: cycles since the last CYC, lo/hi 32-bit words. */
  cyc(lo: number, hi: number): string {
    const cal = this.cal;
    cal.cyc(hi, lo);
    const calibrated = cal.calibrated;
    const e = this.cycTime(lo, hi, calibrated ? cal.fcrHi : 0, calibrated ? cal.fcrLo : 0);
    // A configuration error: libipt's decoders skip this CYC.
    return e === 'bad_config' ? '' : e;
  }

  /**
   * cyc() without the calibration, at the ratio `fcr` (0: not calibrated, the CYC is lost);
   * 'bad_config' when CPUID.15H is unknown and the CYC had to be skipped.
   */
  cycTime(lo: number, hi: number, fcrHi: number, fcrLo: number): string {
    this.latched = false;
    if (fcrHi === 0 && fcrLo === 0) {
      this.lostCyc++;
      return '';
    }
    let cHi = hi;
    let cLo = lo;
    if (this.fcHi === 0 && this.fcLo === 0 && this.ctc !== this.ctcCyc) {
      // The first CYC since an MTC also counts the cycles of the MTC periods before it that
      // had no CYC: drop what those periods took (their CTC time in cycles).
      const delta = ctcDelta(this.ctc, this.ctcCyc, this.settings.mtcFreq);
      if (delta < 0) return 'bad_packet';
      let oLo = ctcToTsc(delta, this.settings);
      if (oLo < 0) return 'bad_config';
      oLo = shl64(u64Hi, oLo, FCR_SHIFT);
      oLo = div64(u64Hi, oLo, fcrHi, fcrLo);
      const oHi = u64Hi;
      // More than the whole CYC: it all belonged to earlier periods.
      if (lt64(cHi, cLo, oHi, oLo)) {
        cHi = oHi;
        cLo = oLo;
      }
      cLo = sub64(cHi, cLo, oHi, oLo);
      cHi = u64Hi;
    }
    if (cHi === 0 && fcrHi === 0 && this.fcHi === 0) {
      // The usual case, all in doubles: (cyc × fcr) >> 8 and the sums stay below 2^53.
      const p = cLo * fcrLo;
      if (p < SAFE) {
        const fc = this.fcLo + Math.floor(p / FCR_ONE);
        const t = this.baseHi * TWO32 + this.baseLo + fc;
        if (fc < TWO32 && t < SAFE) {
          this.fcLo = fc;
          this.time = t;
          const h = Math.floor(t / TWO32);
          this.timeHi = h;
          this.timeLo = t - h * TWO32;
          return '';
        }
      }
    }
    let tLo = mul64(cHi, cLo, fcrHi, fcrLo);
    tLo = shr64(u64Hi, tLo, FCR_SHIFT);
    this.fcLo = add64(this.fcHi, this.fcLo, u64Hi, tLo);
    this.fcHi = u64Hi;
    const tLo2 = add64(this.baseHi, this.baseLo, this.fcHi, this.fcLo);
    this.setTime(u64Hi, tLo2);
    return '';
  }

  /** CBR packet: the core:bus ratio (0 is invalid). Outside PSB+ a frequency change. */
  cbr(ratio: number): string {
    const err = this.inPsb ? this.cal.cbrHeader(ratio) : this.cal.cbrUpdate(ratio);
    if (err !== '') return err;
    return this.cbrTime(ratio);
  }

  /** cbr() without the calibration. */
  cbrTime(ratio: number): string {
    if (ratio === 0) return 'bad_packet';
    this.cbrRatio = ratio;
    return '';
  }
}
