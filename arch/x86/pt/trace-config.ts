// The trace unit's configuration, modelled on IA32_RTIT_CTL (SDM Vol. 3, "Intel Processor
// Trace", MSR descriptions): a plain options object where every field is optional, resolved
// against defaults and checked once, so the trace unit itself never re-validates.

import { HwtraceError } from '../../common/errors.js';

/** What a user may set; each field is named after its IA32_RTIT_CTL bit or field. */
export interface PtTraceOptions {
  /** BranchEn: emit control-flow packets (TNT, TIP, FUP, TIP.PGE/PGD). Default true. */
  branchEn?: boolean;
  /** OS: trace while CPL = 0. Default true. */
  os?: boolean;
  /** User: trace while CPL > 0. Default true. */
  user?: boolean;
  /** CR3Filter with IA32_RTIT_CR3_MATCH: trace only while CR3 equals this value. Default: off. */
  cr3Match?: number | null;
  /** PSBFreq as a byte count: a PSB+ after this many bytes of output (2^11 … 2^26). Default 4096. */
  psbFreq?: number;
  /** DisRETC: never compress near returns into TNT bits. Default false. */
  disRetc?: boolean;
  /** TSCEn: TSC packets (in PSB+, and every `tscPeriod` cycles). Default false. */
  tscEn?: boolean;
  /** Core cycles between standalone TSC packets; 0 = only in PSB+. Default 0. */
  tscPeriod?: number;
  /** MTCEn: MTC packets, and a TMA after each TSC. Default false. */
  mtcEn?: boolean;
  /** MTCFreq: an MTC each time CTC bit `mtcFreq` toggles (every 2^mtcFreq crystal ticks), 0…15. Default 3. */
  mtcFreq?: number;
  /** CYCEn: cycle-accurate mode, CYC packets before the packets they time. Default false. */
  cycEn?: boolean;
  /** CycThresh, 0…15: a CYC only when at least 2^(n-1) cycles passed (0: any nonzero count). Default 0. */
  cycThresh?: number;
  /** Which trace stream this unit is (the CPU), as reported to the SyncSink. Default 0. */
  cpu?: number;
  /** Output is handed to the ChunkSink whenever this many bytes are buffered. Default 64 KiB. */
  chunkSize?: number;
}

/** Every option resolved. */
export interface PtTraceConfig {
  branchEn: boolean;
  os: boolean;
  user: boolean;
  cr3Match: number | null;
  psbFreq: number;
  disRetc: boolean;
  tscEn: boolean;
  tscPeriod: number;
  mtcEn: boolean;
  mtcFreq: number;
  cycEn: boolean;
  cycThresh: number;
  cpu: number;
  chunkSize: number;
}

export const DEFAULT_PT_TRACE_CONFIG: Readonly<PtTraceConfig> = {
  branchEn: true,
  os: true,
  user: true,
  cr3Match: null,
  psbFreq: 4096,
  disRetc: false,
  tscEn: false,
  tscPeriod: 0,
  mtcEn: false,
  mtcFreq: 3,
  cycEn: false,
  cycThresh: 0,
  cpu: 0,
  chunkSize: 1 << 16,
};

function bad(field: string, why: string): HwtraceError {
  return new HwtraceError('bad_option', `PT trace option ${field}: ${why}`);
}

function intIn(v: number, lo: number, hi: number, field: string): number {
  if (!(Number.isInteger(v) && v >= lo && v <= hi)) throw bad(field, `must be an integer in ${lo}..${hi}, got ${v}`);
  return v;
}

const KNOWN = new Set(Object.keys(DEFAULT_PT_TRACE_CONFIG));

/** Fills in the defaults and refuses values a CPU could not be programmed with, naming the field. */
export function resolvePtTraceConfig(options: PtTraceOptions = {}): PtTraceConfig {
  for (const k of Object.keys(options)) if (!KNOWN.has(k)) throw bad(k, `unknown option (known: ${[...KNOWN].join(', ')})`);
  const c: PtTraceConfig = { ...DEFAULT_PT_TRACE_CONFIG };
  for (const [k, v] of Object.entries(options)) if (v !== undefined) (c as unknown as Record<string, unknown>)[k] = v;
  for (const k of ['branchEn', 'os', 'user', 'disRetc', 'tscEn', 'mtcEn', 'cycEn'] as const) {
    if (typeof c[k] !== 'boolean') throw bad(k, `must be true or false, got ${String(c[k])}`);
  }
  if (!(Number.isInteger(Math.log2(c.psbFreq)) && c.psbFreq >= 2048 && c.psbFreq <= 1 << 26)) {
    throw bad('psbFreq', `must be a power of two from 2048 to ${1 << 26} bytes (PSBFreq 0..15), got ${c.psbFreq}`);
  }
  if (c.cr3Match !== null && !(Number.isInteger(c.cr3Match) && c.cr3Match >= 0 && c.cr3Match < 2 ** 52 && c.cr3Match % 32 === 0)) {
    throw bad('cr3Match', `must be a 32-byte aligned CR3 value below 2^52, got ${c.cr3Match}`);
  }
  intIn(c.mtcFreq, 0, 15, 'mtcFreq');
  intIn(c.cycThresh, 0, 15, 'cycThresh');
  intIn(c.cpu, 0, 0xffff, 'cpu');
  intIn(c.chunkSize, 64, 1 << 30, 'chunkSize');
  if (!(Number.isSafeInteger(c.tscPeriod) && c.tscPeriod >= 0)) throw bad('tscPeriod', `must be a non-negative integer number of cycles, got ${c.tscPeriod}`);
  return c;
}
