// Timing calibration for PT cycle-accurate mode (reference §2.6, libipt's `pt_time_cal`): the
// fast-counter:cycles ratio `fcr` (TSC ticks per core cycle, fixed point with 8 fraction bits)
// that turns CYC payloads into time. It comes from the nominal frequency and CBR, from the
// cycles between two MTCs, or from the cycles between two TSCs in PSB+.
//
// libipt computes in 64-bit unsigned C arithmetic (wrapping); TSC alone is 56 bits, so values
// are kept as two unsigned 32-bit words (hi, lo) with the small helpers below: exact, no BigInt,
// no allocation. Each helper returns the low word and leaves the high word in `u64Hi`.

const TWO32 = 4294967296;
const TWO16 = 65536;
const U32_MAX = 0xffffffff;
/** Limit of the high word for the double fast paths: (hi, lo) < 2^52. */
const SAFE_HI = 0x100000;
const SAFE = 2 ** 52;

/**
 * floor(a / b) for integers 0 ≤ a, b < 2^52, b ≠ 0. The rounded quotient is never below the
 * true one and at most one too big; q × b ≤ a + b stays exact below 2^53.
 */
function floorDiv(a: number, b: number): number {
  const q = Math.floor(a / b);
  return q * b > a ? q - 1 : q;
}

/** The high word of the last u64 helper's result. */
export let u64Hi = 0;

export function add64(aHi: number, aLo: number, bHi: number, bLo: number): number {
  const lo = aLo + bLo;
  const carry = lo >= TWO32 ? 1 : 0;
  u64Hi = (aHi + bHi + carry) >>> 0;
  return lo >>> 0;
}

export function sub64(aHi: number, aLo: number, bHi: number, bLo: number): number {
  let lo = aLo - bLo;
  let borrow = 0;
  if (lo < 0) {
    lo += TWO32;
    borrow = 1;
  }
  u64Hi = (aHi - bHi - borrow) >>> 0;
  return lo;
}

export function lt64(aHi: number, aLo: number, bHi: number, bLo: number): boolean {
  return aHi < bHi || (aHi === bHi && aLo < bLo);
}

/**
 * a × b mod 2^64, in 16-bit limbs so every partial product stays exact (below 2^53, where
 * `& 0xffff` and `>>> 0` still take the low bits).
 */
export function mul64(aHi: number, aLo: number, bHi: number, bLo: number): number {
  if (aHi === 0 && bHi === 0) {
    const p = aLo * bLo;
    if (p < SAFE) {
      const hi = Math.floor(p / TWO32);
      u64Hi = hi;
      return p - hi * TWO32;
    }
  }
  const a0 = aLo & 0xffff, a1 = aLo >>> 16, a2 = aHi & 0xffff, a3 = aHi >>> 16;
  const b0 = bLo & 0xffff, b1 = bLo >>> 16, b2 = bHi & 0xffff, b3 = bHi >>> 16;
  const c1 = a1 * b0 + a0 * b1;
  let lo = a0 * b0 + (c1 & 0xffff) * TWO16;
  const carry = lo >= TWO32 ? 1 : 0;
  lo -= carry * TWO32;
  const c3 = (a3 * b0 + a2 * b1 + a1 * b2 + a0 * b3) & 0xffff;
  u64Hi = (Math.floor(c1 / TWO16) + carry + a2 * b0 + a1 * b1 + a0 * b2 + c3 * TWO16) >>> 0;
  return lo;
}

/** a >> n for 0 < n < 32. */
export function shr64(aHi: number, aLo: number, n: number): number {
  u64Hi = aHi >>> n;
  return ((aLo >>> n) | (aHi << (32 - n))) >>> 0;
}

/** a << n mod 2^64 for 0 < n < 32. */
export function shl64(aHi: number, aLo: number, n: number): number {
  u64Hi = ((aHi << n) | (aLo >>> (32 - n))) >>> 0;
  return (aLo << n) >>> 0;
}

/** floor(a / b) for b ≠ 0. */
export function div64(aHi: number, aLo: number, bHi: number, bLo: number): number {
  if (aHi < SAFE_HI && bHi < SAFE_HI) {
    const a = aHi * TWO32 + aLo;
    const q = floorDiv(a, bHi * TWO32 + bLo);
    const hi = Math.floor(q / TWO32);
    u64Hi = hi;
    return q - hi * TWO32;
  }
  // Binary long division; rare (values of 2^52 and more come from odd or corrupt traces).
  let qHi = 0, qLo = 0, rHi = 0, rLo = 0;
  for (let i = 63; i >= 0; i--) {
    const top = rHi >>> 31;
    const bit = i >= 32 ? (aHi >>> (i - 32)) & 1 : (aLo >>> i) & 1;
    rHi = ((rHi << 1) | (rLo >>> 31)) >>> 0;
    rLo = ((rLo << 1) | bit) >>> 0;
    if (top === 1 || !lt64(rHi, rLo, bHi, bLo)) {
      rLo = sub64(rHi, rLo, bHi, bLo);
      rHi = u64Hi;
      if (i >= 32) qHi = (qHi | (1 << (i - 32))) >>> 0;
      else qLo = (qLo | (1 << i)) >>> 0;
    }
  }
  u64Hi = qHi;
  return qLo;
}

/** What timing depends on, resolved (ptxed --mtc-freq, --nom-freq, --cpuid-0x15.*, --cpu). */
export interface PtTimeSettings {
  mtcFreq: number;
  nomFreq: number;
  cpuid15Eax: number;
  cpuid15Ebx: number;
  /** Erratum SKL168 (CYC dropped before a PSB): the first MTC after a PSB may skip calibration. */
  skl168: boolean;
}

/** Fixed-point fraction bits of fcr. */
export const FCR_SHIFT = 8;
/** MTC carries CTC[mtcFreq+7:mtcFreq]. */
export const MTC_BITS = 8;

/**
 * CTC ticks from `last` to `ctc` with one wrap-around of the mtcFreq+8 bits MTC and TMA
 * provide; -1 where even that does not reach (libipt: bad_packet).
 */
export function ctcDelta(ctc: number, last: number, mtcFreq: number): number {
  let c = ctc;
  if (c < last) {
    c += 1 << (mtcFreq + MTC_BITS);
    if (c < last) return -1;
  }
  return c - last;
}

/**
 * TSC ticks in `ctc` crystal-clock ticks: ctc × CPUID.15H:EBX / EAX (64-bit, truncated).
 * Returns the low word (high in u64Hi), or -1 when EAX or EBX is zero (libipt: bad_config).
 */
export function ctcToTsc(ctc: number, s: PtTimeSettings): number {
  if (s.cpuid15Eax === 0 || s.cpuid15Ebx === 0) return -1;
  const p = ctc * s.cpuid15Ebx;
  if (p < SAFE) {
    const q = floorDiv(p, s.cpuid15Eax);
    const hi = Math.floor(q / TWO32);
    u64Hi = hi;
    return q - hi * TWO32;
  }
  const lo = mul64(0, ctc, 0, s.cpuid15Ebx);
  return div64(u64Hi, lo, 0, s.cpuid15Eax);
}

/** The fast-counter:cycles ratio estimate (libipt's pt_time_cal). Codes: '' or a pte_* name. */
export class PtTimeCal {
  /** The ratio, TSC ticks per cycle << FCR_SHIFT. */
  fcrHi = 0;
  fcrLo = 0;
  // Smallest and largest ratio set so far; min > max means "not calibrated".
  private minHi = U32_MAX;
  private minLo = U32_MAX;
  private maxHi = 0;
  private maxLo = 0;
  /** The last TSC, and the cycles counted since it. */
  private tscHi = 0;
  private tscLo = 0;
  private cycTscHi = 0;
  private cycTscLo = 0;
  /** Cycles counted since the last calibrating MTC, and its CTC. */
  private cycMtcHi = 0;
  private cycMtcLo = 0;
  private ctc = 0;
  private haveMtc = false;
  private checkSkl168 = false;

  constructor(private readonly s: PtTimeSettings) {}

  reset(): void {
    this.fcrHi = this.fcrLo = 0;
    this.minHi = this.minLo = U32_MAX;
    this.maxHi = this.maxLo = 0;
    this.tscHi = this.tscLo = 0;
    this.cycTscHi = this.cycTscLo = 0;
    this.cycMtcHi = this.cycMtcLo = 0;
    this.ctc = 0;
    this.haveMtc = false;
    this.checkSkl168 = false;
  }

  /** A ratio has been set (it may be 0). */
  get calibrated(): boolean {
    return !lt64(this.maxHi, this.maxLo, this.minHi, this.minLo);
  }

  private setFcr(hi: number, lo: number): void {
    this.fcrHi = hi;
    this.fcrLo = lo;
    if (lt64(hi, lo, this.minHi, this.minLo)) {
      this.minHi = hi;
      this.minLo = lo;
    }
    if (lt64(this.maxHi, this.maxLo, hi, lo)) {
      this.maxHi = hi;
      this.maxLo = lo;
    }
  }

  psb(): void {
    if (this.s.skl168) this.checkSkl168 = true;
  }

  /** A TSC outside PSB+ may follow lost time: only remembered for the next one in PSB+. */
  tscUpdate(hi: number, lo: number): void {
    this.tscHi = hi;
    this.tscLo = lo;
    this.cycTscHi = this.cycTscLo = 0;
  }

  /** A TSC in PSB+: the cycles since the previous TSC calibrate, unless MTCs do. */
  tscHeader(hi: number, lo: number): string {
    const lastHi = this.tscHi, lastLo = this.tscLo;
    const cycHi = this.cycTscHi, cycLo = this.cycTscLo;
    this.tscUpdate(hi, lo);
    if ((lastHi === 0 && lastLo === 0) || (cycHi === 0 && cycLo === 0) || this.haveMtc) return '';
    // Both are 56-bit: one wrap-around correction always suffices.
    let dLo = sub64(hi, lo, lastHi, lastLo);
    let dHi = u64Hi;
    if (lt64(hi, lo, lastHi, lastLo)) dHi = (dHi + 0x1000000) >>> 0;
    dLo = shl64(dHi, dLo, FCR_SHIFT);
    dHi = u64Hi;
    const q = div64(dHi, dLo, cycHi, cycLo);
    this.setFcr(u64Hi, q);
    return '';
  }

  /** A CBR outside PSB+ is a frequency change: calibration starts over. */
  cbrUpdate(ratio: number): string {
    this.reset();
    return this.cbrHeader(ratio);
  }

  /** With the nominal frequency known, CBR gives the ratio: nomFreq / CBR. */
  cbrHeader(ratio: number): string {
    const p1 = this.s.nomFreq;
    if (p1 === 0) return '';
    if (ratio === 0) return 'bad_packet';
    this.setFcr(0, Math.floor((p1 << FCR_SHIFT) / ratio));
    return '';
  }

  /** An MTC: the cycles since the previous one calibrate (fc << 8) / cycles. */
  mtc(payload: number): string {
    const s = this.s;
    const lastCtc = this.ctc;
    const cycHi = this.cycMtcHi, cycLo = this.cycMtcLo;
    const check = this.checkSkl168;
    this.checkSkl168 = false;
    const ctc = payload << s.mtcFreq;
    if (!this.haveMtc) {
      this.cycMtcHi = this.cycMtcLo = 0;
      this.ctc = ctc;
      this.haveMtc = true;
      return '';
    }
    // No cycles: the next MTC calibrates over both periods.
    if (cycHi === 0 && cycLo === 0) return '';
    this.cycMtcHi = this.cycMtcLo = 0;
    this.ctc = ctc;
    const delta = ctcDelta(ctc, lastCtc, s.mtcFreq);
    if (delta < 0) return 'bad_packet';
    let fcLo = ctcToTsc(delta, s);
    if (fcLo < 0) return 'bad_config';
    let fcHi = u64Hi;
    // SKL168: a CYC (and its MTC) may have been dropped before the PSB. The first MTC after a
    // PSB does not calibrate when MTCs were lost, or (MTCFreq < 10, calibrated) when this
    // period's cycles, plus one 12-bit CYC wrap, would not even cover its fast-counter time.
    if (check) {
      if (1 << s.mtcFreq < delta) return '';
      if (s.mtcFreq < 10 && this.calibrated) {
        let eLo = add64(cycHi, cycLo, 0, 0xf00);
        eLo = mul64(u64Hi, eLo, this.fcrHi, this.fcrLo);
        eLo = shr64(u64Hi, eLo, FCR_SHIFT);
        if (lt64(u64Hi, eLo, fcHi, fcLo)) return '';
      }
    }
    // delta < 2^24 and EBX < 2^32: fc < 2^56, so the shift cannot overflow.
    fcLo = shl64(fcHi, fcLo, FCR_SHIFT);
    fcHi = u64Hi;
    const q = div64(fcHi, fcLo, cycHi, cycLo);
    this.setFcr(u64Hi, q);
    return '';
  }

  /**
   * An OVF, as ptdump sees it (libipt's pt_tcal_update_ovf): the cycles and the TSC and MTC
   * they count from are lost, the ratio stays. (The decoders reset() instead.)
   */
  ovf(): void {
    this.tscHi = this.tscLo = 0;
    this.cycTscHi = this.cycTscLo = 0;
    this.cycMtcHi = this.cycMtcLo = 0;
    this.haveMtc = false;
  }

  cyc(hi: number, lo: number): void {
    if (hi === 0) {
      const m = this.cycMtcLo + lo;
      const t = this.cycTscLo + lo;
      if (m < TWO32 && t < TWO32) {
        this.cycMtcLo = m;
        this.cycTscLo = t;
        return;
      }
    }
    this.cycMtcLo = add64(this.cycMtcHi, this.cycMtcLo, hi, lo);
    this.cycMtcHi = u64Hi;
    this.cycTscLo = add64(this.cycTscHi, this.cycTscLo, hi, lo);
    this.cycTscHi = u64Hi;
  }
}
