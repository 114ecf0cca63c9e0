// Time estimation for the ptdump-style listing (--time, --tcal): libipt 2.0's model of how
// TSC, TMA, MTC, CYC and CBR advance an estimated TSC, and of how the CYC-to-TSC ratio is
// calibrated. It computes in 64-bit unsigned arithmetic exactly as the C code does, so it
// uses BigInt: this is the listing's print path, never the decoder's hot path.

const MASK64 = (1n << 64n) - 1n;
/** Fixed-point fraction bits of the fast-counter-to-cycles ratio (fcr). */
export const FCR_SHIFT = 8n;
const MTC_PAYLOAD_BITS = 8;
const TMA_CTC_BITS = 16;
const TMA_CTC_MASK = 0xffff;
const TSC_BITS = 56n;

/** What timing depends on: IA32_RTIT_CTL.MTCFreq, MSR_PLATFORM_INFO[15:8], CPUID leaf 0x15. */
export interface PtTimeConfig {
  mtcFreq: number;
  nomFreq: number;
  cpuid15Eax: number;
  cpuid15Ebx: number;
  /** SKL168: CYC packets can be dropped right before a PSB; skip the first MTC after it. */
  skl168?: boolean;
}

/** libipt error code names these functions return (0 = ok). */
export type TimeStatus = 0 | 'bad_context' | 'bad_packet' | 'bad_config' | 'no_time' | 'internal';

function u64(v: bigint): bigint {
  return v & MASK64;
}

/** CTC delta with one wrap-around correction. */
function ctcDelta(ctc: number, last: number, cfg: PtTimeConfig): number | 'bad_packet' {
  let c = ctc;
  if (c < last) {
    c += 2 ** (cfg.mtcFreq + MTC_PAYLOAD_BITS);
    if (c < last) return 'bad_packet';
  }
  return c - last;
}

/** Fast-counter ticks (TSC units) in `ctc` crystal clock ticks: ctc * ebx / eax. */
function ctcToFc(ctc: number, cfg: PtTimeConfig): bigint | 'bad_config' {
  if (!cfg.cpuid15Eax || !cfg.cpuid15Ebx) return 'bad_config';
  return u64(BigInt(ctc) * BigInt(cfg.cpuid15Ebx)) / BigInt(cfg.cpuid15Eax);
}

/** The estimated TSC (libipt's pt_time). */
export class PtTime {
  tsc = 0n;
  base = 0n;
  fc = 0n;
  ctc = 0;
  ctcCyc = 0;
  lostMtc = 0;
  lostCyc = 0;
  cbr = 0;
  haveTsc = false;
  haveCbr = false;
  haveTma = false;
  haveMtc = false;

  constructor(private readonly cfg: PtTimeConfig) {}

  /** The estimate; 'no_time' before the first TSC (the value still counts from 0). */
  query(): [bigint, TimeStatus] {
    return [this.tsc, this.haveTsc ? 0 : 'no_time'];
  }

  tscPacket(tsc: bigint): TimeStatus {
    this.haveTsc = true;
    this.haveTma = false;
    this.haveMtc = false;
    this.tsc = this.base = tsc;
    this.ctc = 0;
    this.fc = 0n;
    this.lostMtc = 0;
    this.lostCyc = 0;
    return 0;
  }

  cbrPacket(ratio: number): TimeStatus {
    if (!ratio) return 'bad_packet';
    this.haveCbr = true;
    this.cbr = ratio;
    return 0;
  }

  tmaPacket(ctc: number, fc: number): TimeStatus {
    if (!this.haveTsc) return 'bad_context';
    if (this.haveTma) return 'bad_context';
    if (this.haveMtc) return 'internal';
    const mtcHi = this.cfg.mtcFreq + MTC_PAYLOAD_BITS;
    const ctcMask = 2 ** mtcHi - 1;
    this.haveTma = true;
    this.base = u64(this.base - BigInt(fc));
    this.fc = u64(this.fc + BigInt(fc));
    // With few enough CTC bits per MTC, TMA gives the whole CTC and acts as an MTC.
    if (mtcHi <= TMA_CTC_BITS) this.haveMtc = true;
    this.ctc = this.ctcCyc = ctc % (ctcMask + 1);
    return 0;
  }

  mtcPacket(payload: number): TimeStatus {
    const cfg = this.cfg;
    const haveTsc = this.haveTsc;
    const haveTma = this.haveTma;
    const haveMtc = this.haveMtc;
    // MTCs between TSC and TMA are ignored.
    if (haveTsc && !haveTma) return 0;
    let lastCtc = this.ctc;
    const ctc = (payload * 2 ** cfg.mtcFreq) >>> 0;
    if (this.fc !== 0n || this.lostCyc !== 0 || !haveMtc) this.ctcCyc = ctc;
    this.haveMtc = true;
    this.fc = 0n;
    this.ctc = ctc;
    this.lostCyc = 0;
    if (!haveMtc) {
      // The first MTC after TMA fills in the CTC bits TMA did not give.
      if (!haveTma) return 0;
      if (lastCtc > TMA_CTC_MASK) return 'internal';
      const ctcLo = ctc & TMA_CTC_MASK;
      let ctcHi = (ctc - ctcLo) >>> 0;
      if (ctcLo < lastCtc) {
        ctcHi = (ctcHi - 2 ** TMA_CTC_BITS) >>> 0;
        ctcHi = (ctcHi & ((0xff * 2 ** cfg.mtcFreq) >>> 0)) >>> 0;
      }
      lastCtc = (lastCtc | ctcHi) >>> 0;
    }
    const delta = ctcDelta(ctc, lastCtc, cfg);
    if (delta === 'bad_packet') {
      this.lostMtc++;
      return delta;
    }
    const tsc = ctcToFc(delta, cfg);
    if (tsc === 'bad_config') return tsc;
    this.base = u64(this.base + tsc);
    this.tsc = this.base;
    return 0;
  }

  cycPacket(cyc: bigint, fcr: bigint): TimeStatus {
    if (fcr === 0n) {
      this.lostCyc++;
      return 0;
    }
    let c = cyc;
    if (this.fc === 0n) {
      // A CYC spanning MTC periods: drop the cycles that belong to earlier periods.
      if (this.ctc !== this.ctcCyc) {
        const delta = ctcDelta(this.ctc, this.ctcCyc, this.cfg);
        if (delta === 'bad_packet') return delta;
        const fc = ctcToFc(delta, this.cfg);
        if (fc === 'bad_config') return fc;
        const old = u64(fc << FCR_SHIFT) / fcr;
        if (c < old) c = old;
        c -= old;
      }
    }
    this.fc = u64(this.fc + (u64(c * fcr) >> FCR_SHIFT));
    this.tsc = u64(this.base + this.fc);
    return 0;
  }
}

/** Calibration of the fast-counter-to-cycles ratio (libipt's pt_time_cal). */
export class PtTimeCal {
  fcr = 0n;
  minFcr = MASK64;
  maxFcr = 0n;
  tsc = 0n;
  cycTsc = 0n;
  cycMtc = 0n;
  ctc = 0;
  lostMtc = 0;
  haveMtc = false;
  checkSkl168 = false;

  constructor(private readonly cfg: PtTimeConfig) {}

  reset(): void {
    this.fcr = 0n;
    this.minFcr = MASK64;
    this.maxFcr = 0n;
    this.tsc = 0n;
    this.cycTsc = 0n;
    this.cycMtc = 0n;
    this.ctc = 0;
    this.lostMtc = 0;
    this.haveMtc = false;
    this.checkSkl168 = false;
  }

  /** The ratio, or undefined before any calibration. */
  query(): bigint | undefined {
    return this.minFcr <= this.maxFcr ? this.fcr : undefined;
  }

  private setFcr(fcr: bigint): TimeStatus {
    this.fcr = fcr;
    if (fcr < this.minFcr) this.minFcr = fcr;
    if (fcr > this.maxFcr) this.maxFcr = fcr;
    return 0;
  }

  psb(): TimeStatus {
    if (this.cfg.skl168) this.checkSkl168 = true;
    return 0;
  }

  /** TSC outside PSB+: may follow lost time, so only remembered. */
  tscUpdate(tsc: bigint): TimeStatus {
    this.tsc = tsc;
    this.cycTsc = 0n;
    return 0;
  }

  /** TSC in PSB+: calibrates from the cycles since the previous TSC, unless MTCs do. */
  tscHeader(tsc: bigint): TimeStatus {
    const lastTsc = this.tsc;
    const cyc = this.cycTsc;
    this.tsc = tsc;
    this.cycTsc = 0n;
    if (lastTsc === 0n || cyc === 0n) return 0;
    if (this.haveMtc) return 0;
    let t = tsc;
    if (t < lastTsc) {
      t += 1n << TSC_BITS;
      if (t < lastTsc) return 'bad_packet';
    }
    const delta = t - lastTsc;
    if ((delta & ~(MASK64 >> FCR_SHIFT)) !== 0n) return 'internal';
    return this.setFcr(u64(delta << FCR_SHIFT) / cyc);
  }

  /** CBR outside PSB+: a frequency change, calibration starts over. */
  cbrUpdate(ratio: number): TimeStatus {
    this.reset();
    return this.cbrHeader(ratio);
  }

  /** CBR with a known nominal frequency gives the ratio directly. */
  cbrHeader(ratio: number): TimeStatus {
    const p1 = this.cfg.nomFreq;
    if (!p1) return 0;
    if (!ratio) return 'bad_packet';
    return this.setFcr((BigInt(p1) << FCR_SHIFT) / BigInt(ratio));
  }

  mtcPacket(payload: number): TimeStatus {
    const lastCtc = this.ctc;
    const haveMtc = this.haveMtc;
    const cyc = this.cycMtc;
    const checkSkl168 = this.checkSkl168;
    this.checkSkl168 = false;
    const ctc = (payload * 2 ** this.cfg.mtcFreq) >>> 0;
    if (!haveMtc) {
      this.cycMtc = 0n;
      this.ctc = ctc;
      this.haveMtc = true;
      return 0;
    }
    // Without cycles there is nothing to calibrate; the next MTC gets the combined period.
    if (cyc === 0n) return 0;
    this.haveMtc = true;
    this.cycMtc = 0n;
    this.ctc = ctc;
    this.lostMtc++;
    const delta = ctcDelta(ctc, lastCtc, this.cfg);
    if (delta === 'bad_packet') return delta;
    const fc = ctcToFc(delta, this.cfg);
    if (fc === 'bad_config') return fc;
    if ((fc & ~(MASK64 >> FCR_SHIFT)) !== 0n) return 'internal';
    if (checkSkl168) return 0;
    const status = this.setFcr(u64(fc << FCR_SHIFT) / cyc);
    this.lostMtc = 0;
    return status;
  }

  cycPacket(cyc: bigint): TimeStatus {
    this.cycMtc = u64(this.cycMtc + cyc);
    this.cycTsc = u64(this.cycTsc + cyc);
    return 0;
  }

  ovf(): TimeStatus {
    this.tsc = 0n;
    this.cycTsc = 0n;
    this.cycMtc = 0n;
    this.haveMtc = false;
    return 0;
  }
}
