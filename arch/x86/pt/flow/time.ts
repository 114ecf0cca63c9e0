// PT timing: TSC, TMA, MTC, CYC and CBR packets → an estimate of the TSC at the decoder's
// position (reference §2.6). This is the seam the flow decoder calls for every timing packet;
// so far only TSC is applied.

const TWO32 = 4294967296;

export interface PtTimeConfig {
  /** IA32_RTIT_CTL.MTCFreq (ptxed --mtc-freq). */
  mtcFreq?: number;
  /** MSR_PLATFORM_INFO[15:8], the nominal core:bus ratio (ptxed --nom-freq). */
  nomFreq?: number;
  /** CPUID.15H EAX / EBX: the TSC:crystal-clock ratio denominator / numerator. */
  cpuid15Eax?: number;
  cpuid15Ebx?: number;
}

export class PtClock {
  /** The estimated TSC (0 before the first TSC packet). */
  time = 0;
  /** A TSC packet was seen. */
  hasTime = false;

  constructor(readonly config: PtTimeConfig = {}) {}

  /** TSC packet: TSC[55:0] as lo/hi 32-bit words. */
  tsc(lo: number, hi: number): void {
    this.time = hi * TWO32 + lo;
    this.hasTime = true;
  }

  /** TMA packet: CTC[15:0] and the fast counter. */
  tma(_ctc: number, _fc: number): void {}

  /** MTC packet: CTC[mtcFreq+7:mtcFreq]. */
  mtc(_ctc: number): void {}

  /** CYC packet: cycles since the last CYC, lo/hi 32-bit words. */
  cyc(_lo: number, _hi: number): void {}

  /** CBR packet: the core:bus ratio. */
  cbr(_ratio: number): void {}

  /** OVF: timing packets were lost with the rest. */
  overflow(): void {}
}
