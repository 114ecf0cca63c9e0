// Workload specs: plain JSON, parameterised, the same for both ISAs. A user writes only the
// fields they want to change; resolveWorkloadSpec fills in the defaults of the named workload
// and refuses unknown fields or bad values with a message naming the field.

import { HwtraceError } from '../../arch/common/errors.js';
import { DEFAULT_PROGRAM_SPEC, type ProgramSpec, checkProgramSpec } from '../program/generate.js';

export const WORKLOADS = ['static', 'multiproc'] as const;
export type WorkloadName = (typeof WORKLOADS)[number];

/** The cycle clock and what it is converted to. */
export interface ClockSpec {
  /** Core clock (Hz). */
  coreHz: number;
  /** x86 TSC frequency (Hz). */
  tscHz: number;
  /** x86 crystal/ART frequency (Hz): MTC and CTC count it. */
  crystalHz: number;
  /** Arm generic timer frequency (Hz): ETM timestamps count it. */
  timerHz: number;
  /** TSC / generic-timer value when the run starts. */
  timeBase: number;
  /** Average cycles per instruction. */
  cpi: number;
  /** Extra cycles after every taken branch (front-end redirect). */
  takenPenalty: number;
  /** Probability that a block stalls (cache miss), and the stall's length in cycles. */
  stallRate: number;
  stallCycles: number;
}

/** The kernel: generated service functions plus fixed entry code (vectors, system-call and interrupt entries). */
export interface KernelSpec extends ProgramSpec {
  /** Entries in the system-call table (kernel functions an indirect call dispatches to). */
  syscallHandlers: number;
}

export interface WorkloadSpec {
  workload: WorkloadName;
  /** User processes, each with its own generated program and address space. */
  processes: number;
  /**
   * Lay processes out at distinct addresses (0x400000 + n × 0x10000000) instead of all at
   * 0x400000. Shared addresses are what real processes look like; distinct ones let a decoder
   * that cannot tie memory to a context (OpenCSD snapshots) still decode everything.
   */
  distinctAddresses: boolean;
  /** Shape of each process's program. */
  program: ProgramSpec;
  kernel: KernelSpec;
  /** Timer interrupt period in core cycles; 0 = no timer interrupts. */
  timerPeriod: number;
  /** Timer ticks a process runs before the scheduler switches to the next one. */
  schedSlice: number;
  clock: ClockSpec;
}

export const DEFAULT_CLOCK: ClockSpec = {
  coreHz: 3_000_000_000,
  tscHz: 2_400_000_000,
  crystalHz: 24_000_000,
  timerHz: 50_000_000,
  timeBase: 0x10000000,
  cpi: 1.25,
  takenPenalty: 1,
  stallRate: 0.01,
  stallCycles: 60,
};

const DEFAULT_KERNEL: KernelSpec = {
  ...DEFAULT_PROGRAM_SPEC,
  functions: 16,
  blocksPerFunction: [2, 12],
  blockSize: [1, 8],
  branchMix: { ...DEFAULT_PROGRAM_SPEC.branchMix, syscall: 0, indirectJump: 0.3 },
  loopTrips: [1, 6],
  callDepth: 3,
  functionCost: 400,
  syscallHandlers: 6,
};

const DEFAULTS: Record<WorkloadName, WorkloadSpec> = {
  static: {
    workload: 'static',
    processes: 1,
    distinctAddresses: false,
    program: DEFAULT_PROGRAM_SPEC,
    kernel: DEFAULT_KERNEL,
    timerPeriod: 0,
    schedSlice: 1,
    clock: DEFAULT_CLOCK,
  },
  multiproc: {
    workload: 'multiproc',
    processes: 4,
    distinctAddresses: false,
    program: { ...DEFAULT_PROGRAM_SPEC, functions: 24 },
    kernel: DEFAULT_KERNEL,
    timerPeriod: 60_000,
    schedSlice: 1,
    clock: DEFAULT_CLOCK,
  },
};

/** The defaults of a workload, as a fresh object. */
export function defaultWorkloadSpec(name: WorkloadName): WorkloadSpec {
  return structuredClone(DEFAULTS[name]);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Overlays `over` onto `base`, refusing keys `base` does not have and values of another type. */
function overlay(base: unknown, over: unknown, path: string): unknown {
  if (over === undefined) return base;
  if (isPlainObject(base)) {
    if (!isPlainObject(over)) throw new HwtraceError('bad_spec', `${path} must be an object`);
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(over)) {
      if (!(k in base)) throw new HwtraceError('bad_spec', `${path ? `${path}.` : ''}${k} is not a workload spec field (known: ${Object.keys(base).join(', ')})`);
      out[k] = overlay(base[k], v, path ? `${path}.${k}` : k);
    }
    return out;
  }
  if (Array.isArray(base)) {
    if (!Array.isArray(over) || over.length !== base.length || over.some((x) => typeof x !== 'number')) {
      throw new HwtraceError('bad_spec', `${path} must be an array of ${base.length} numbers`);
    }
    return [...over];
  }
  if (typeof over !== typeof base) throw new HwtraceError('bad_spec', `${path} must be a ${typeof base}, got ${JSON.stringify(over)}`);
  return over;
}

function positive(v: number, path: string, integer = false): void {
  if (!(typeof v === 'number' && Number.isFinite(v) && v > 0) || (integer && !Number.isInteger(v))) {
    throw new HwtraceError('bad_spec', `${path} must be a positive ${integer ? 'integer' : 'number'}, got ${v}`);
  }
}

/** Refuses values the simulator cannot run with, naming the field. */
export function checkWorkloadSpec(s: WorkloadSpec): void {
  if (!WORKLOADS.includes(s.workload)) throw new HwtraceError('bad_spec', `workload must be one of ${WORKLOADS.join(', ')}, got ${s.workload}`);
  positive(s.processes, 'processes', true);
  if (s.processes > 4096) throw new HwtraceError('bad_spec', `processes must be at most 4096, got ${s.processes}`);
  if (s.workload === 'static' && s.processes !== 1) throw new HwtraceError('bad_spec', 'the static workload has exactly 1 process (use multiproc for more)');
  checkProgramSpec(s.program);
  checkProgramSpec(s.kernel);
  positive(s.kernel.syscallHandlers, 'kernel.syscallHandlers', true);
  if (s.kernel.syscallHandlers > s.kernel.functions) throw new HwtraceError('bad_spec', `kernel.syscallHandlers (${s.kernel.syscallHandlers}) must not exceed kernel.functions (${s.kernel.functions})`);
  if (!(Number.isInteger(s.timerPeriod) && s.timerPeriod >= 0)) throw new HwtraceError('bad_spec', `timerPeriod must be a non-negative integer, got ${s.timerPeriod}`);
  if (s.timerPeriod > 0 && s.timerPeriod < 4 * s.kernel.functionCost) {
    throw new HwtraceError('bad_spec', `timerPeriod ${s.timerPeriod} is shorter than 4 × kernel.functionCost (${s.kernel.functionCost}); interrupts would starve user code`);
  }
  positive(s.schedSlice, 'schedSlice', true);
  const c = s.clock;
  for (const k of ['coreHz', 'tscHz', 'crystalHz', 'timerHz', 'cpi'] as const) positive(c[k], `clock.${k}`);
  if (!(Number.isSafeInteger(c.timeBase) && c.timeBase >= 0)) throw new HwtraceError('bad_spec', `clock.timeBase must be a non-negative integer, got ${c.timeBase}`);
  if (!(c.takenPenalty >= 0 && c.stallCycles >= 0 && Number.isInteger(c.takenPenalty) && Number.isInteger(c.stallCycles))) {
    throw new HwtraceError('bad_spec', 'clock.takenPenalty and clock.stallCycles must be non-negative integers');
  }
  if (!(c.stallRate >= 0 && c.stallRate <= 1)) throw new HwtraceError('bad_spec', `clock.stallRate must be in [0, 1], got ${c.stallRate}`);
}

/**
 * A complete, checked spec from user JSON: `{ "workload": "multiproc", "processes": 8, … }`.
 * Missing fields take the workload's defaults.
 */
export function resolveWorkloadSpec(input: unknown): WorkloadSpec {
  if (!isPlainObject(input)) throw new HwtraceError('bad_spec', 'a workload spec must be a JSON object');
  const name = input['workload'] ?? 'static';
  if (typeof name !== 'string' || !(WORKLOADS as readonly string[]).includes(name)) {
    throw new HwtraceError('bad_spec', `workload must be one of ${WORKLOADS.join(', ')}, got ${JSON.stringify(name)}`);
  }
  const spec = overlay(defaultWorkloadSpec(name as WorkloadName), input, '') as WorkloadSpec;
  checkWorkloadSpec(spec);
  return spec;
}
