// The counters Intel PT timing packets carry, derived from the core-cycle clock of
// arch/common/events.ts: TSC (TSC packets), the crystal clock CTC (MTC, TMA), the core:bus ratio
// (CBR). A counter running at `hz` reads timeBase + floor(cycle × hz / coreHz), as counterAt
// defines it; here the ratio is reduced once and the product split so the result stays exact
// where `cycle × hz` alone would pass 2^53 (a few million cycles in).

import type { ClockConfig } from '../../common/events.js';
import { HwtraceError } from '../../common/errors.js';

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** A counter at `hz` as a function of core cycles. */
export class PtCounter {
  /** hz / coreHz reduced to num / den. */
  readonly num: number;
  readonly den: number;
  private readonly exact: boolean;

  constructor(readonly base: number, hz: number, coreHz: number) {
    if (!(Number.isSafeInteger(hz) && hz > 0 && Number.isSafeInteger(coreHz) && coreHz > 0)) {
      throw new HwtraceError('bad_clock', `clock frequencies must be positive integers (Hz), got ${hz} and ${coreHz}`);
    }
    const g = gcd(hz, coreHz);
    this.num = hz / g;
    this.den = coreHz / g;
    this.exact = this.num * this.den < 2 ** 53;
  }

  /** The counter after `cycle` core cycles. */
  at(cycle: number): number {
    const { num, den } = this;
    if (!this.exact) return this.base + Math.floor((cycle * num) / den);
    const q = Math.floor(cycle / den);
    return this.base + q * num + Math.floor(((cycle - q * den) * num) / den);
  }

  /** The first cycle at which the counter reads at least `value` (≥ base). */
  cycleOf(value: number): number {
    const { num, den } = this;
    const k = value - this.base;
    if (k <= 0) return 0;
    if (!this.exact) return Math.ceil((k * den) / num);
    const q = Math.floor(k / num);
    return q * den + Math.ceil(((k - q * num) * den) / num);
  }
}

/** CPUID leaf 0x15's TSC / crystal ratio (TSC = crystal × EBX / EAX), as libipt's config wants it. */
export function ptCpuid15(clock: ClockConfig): { eax: number; ebx: number } {
  const g = gcd(clock.tscHz, clock.crystalHz);
  const eax = clock.crystalHz / g;
  const ebx = clock.tscHz / g;
  if (!(eax < 2 ** 32 && ebx < 2 ** 32)) throw new HwtraceError('bad_clock', `TSC / crystal ratio ${clock.tscHz}/${clock.crystalHz} does not fit CPUID.15H`);
  return { eax, ebx };
}

/** The 100 MHz bus clock core:bus ratios are counted against. */
export const PT_BUS_HZ = 100_000_000;

/** Core:bus ratio (CBR packets): the core clock in 100 MHz units, 1…255. */
export function ptCoreBusRatio(clock: ClockConfig): number {
  return Math.min(255, Math.max(1, Math.round(clock.coreHz / PT_BUS_HZ)));
}

/** Nominal (TSC) frequency in 100 MHz units: libipt's `nom_freq`, for CBR-based calibration. */
export function ptNominalFreq(clock: ClockConfig): number {
  return Math.min(255, Math.max(1, Math.round(clock.tscHz / PT_BUS_HZ)));
}
