// Trace-unit configuration: what the ID and config registers say about the packet grammar.
// The packet decoder and encoder read only this object; nothing here knows about snapshots.

import { HwtraceError } from '../../common/errors.js';

/** Core profile: A (application), R (real-time), M (microcontroller). */
export type CoreProfile = 'A' | 'R' | 'M';

/** The register values that shape an ETMv4/ETE trace stream (32-bit unsigned each). */
export interface Etm4Registers {
  TRCCONFIGR: number;
  TRCTRACEIDR: number;
  TRCIDR0: number;
  /** Default 0x4100F403 (ETMv4.0) as OpenCSD assumes. */
  TRCIDR1?: number;
  TRCIDR2: number;
  /** MAXSPEC; default 0. */
  TRCIDR8?: number;
  /** ETE only: architecture revision in bits [19:16]; default 0x47705A13 (ETE 1.0). */
  TRCDEVARCH?: number;
}

export interface Etm4ConfigOptions {
  /** True for an ETE (Armv9 Embedded Trace Extension) source. */
  ete?: boolean;
  profile?: CoreProfile;
  /** True when the core implements Armv8 or later (enables v8-M function return packets). */
  archV8?: boolean;
}

/** The decoded configuration. All fields are plain numbers/booleans so hot paths read them cheaply. */
export interface Etm4Config {
  readonly registers: Readonly<Required<Etm4Registers>>;
  readonly ete: boolean;
  readonly profile: CoreProfile;
  readonly archV8: boolean;
  /** Architecture major version: 4 for ETMv4, 5 for ETE. */
  readonly major: number;
  readonly minor: number;
  /** (major << 4) | minor, e.g. 0x42 for ETMv4.2, 0x51 for ETE 1.1. */
  readonly fullVersion: number;
  /** CoreSight trace ID (TRCTRACEIDR[6:0]). */
  readonly traceId: number;
  /** Context ID bytes in context packets (0 or 4). */
  readonly cidBytes: number;
  /** VMID bytes in context packets (0, 1, 2 or 4). */
  readonly vmidBytes: number;
  /** Cycle counter width in bits (TRCIDR2.CCSIZE + 12). */
  readonly ccSize: number;
  /** TRCIDR0.COMMOPT: cycle-count packets carry no commit field. */
  readonly commitOpt1: boolean;
  /** TRCIDR8.MAXSPEC: maximum speculation depth. */
  readonly maxSpec: number;
  /** Q packets are possible (TRCIDR0.QSUPP != 0). */
  readonly qSupported: boolean;
  /** Conditional instruction tracing implemented and enabled. */
  readonly condTrace: boolean;
  /** Data tracing implemented and enabled. */
  readonly dataTrace: boolean;
  /** Cycle counting enabled (TRCCONFIGR.CCI). */
  readonly cycleCounting: boolean;
  /** Return stack enabled (TRCCONFIGR.RS). */
  readonly returnStack: boolean;
  /** Timestamps enabled (TRCCONFIGR.TS). */
  readonly timestamps: boolean;
  /** Timestamp width in bits (TRCIDR0.TSSIZE: 48 or 64, 0 if none). */
  readonly tsSize: number;
  /** Virtual address size in bits (TRCIDR2.IASIZE: 32 or 64). */
  readonly vaSize: number;
}

const U32 = 0xffffffff;

function u32(name: string, v: number | undefined, dflt: number): number {
  const x = v ?? dflt;
  if (!Number.isInteger(x) || x < 0 || x > U32) throw new HwtraceError('bad_config', `${name}=${String(v)} is not a 32-bit register value`);
  return x >>> 0;
}

/** Builds the configuration from register values (as found in a snapshot or a trace-unit model). */
export function etm4Config(regs: Etm4Registers, opts: Etm4ConfigOptions = {}): Etm4Config {
  const ete = opts.ete ?? false;
  const r: Required<Etm4Registers> = {
    TRCCONFIGR: u32('TRCCONFIGR', regs.TRCCONFIGR, 0),
    TRCTRACEIDR: u32('TRCTRACEIDR', regs.TRCTRACEIDR, 0),
    TRCIDR0: u32('TRCIDR0', regs.TRCIDR0, 0),
    TRCIDR1: u32('TRCIDR1', regs.TRCIDR1, 0x4100f403),
    TRCIDR2: u32('TRCIDR2', regs.TRCIDR2, 0),
    TRCIDR8: u32('TRCIDR8', regs.TRCIDR8, 0),
    TRCDEVARCH: u32('TRCDEVARCH', regs.TRCDEVARCH, 0x47705a13),
  };
  const idr0 = r.TRCIDR0;
  const idr2 = r.TRCIDR2;
  const cfg = r.TRCCONFIGR;
  // ETE reports 0xF/0xF in TRCIDR1; its real revision is TRCDEVARCH.REVISION, major 5.
  const major = ete ? 5 : (r.TRCIDR1 >>> 8) & 0xf;
  const minor = ete ? (r.TRCDEVARCH >>> 16) & 0xf : (r.TRCIDR1 >>> 4) & 0xf;
  const vmidField = (idr2 >>> 10) & 0x1f;
  let vmidBytes = 0;
  if (vmidField === 1) vmidBytes = 1;
  else if (major > 4 || minor > 0) vmidBytes = vmidField === 2 ? 2 : vmidField === 4 ? 4 : 0;
  const tsField = (idr0 >>> 24) & 0x1f;
  const hasCond = (idr0 & 0x40) !== 0;
  const hasData = ((idr0 >>> 3) & 3) !== 0;
  return {
    registers: r,
    ete,
    profile: opts.profile ?? 'A',
    archV8: opts.archV8 ?? true,
    major,
    minor,
    fullVersion: (major << 4) | minor,
    traceId: r.TRCTRACEIDR & 0x7f,
    cidBytes: ((idr2 >>> 5) & 0x1f) === 4 ? 4 : 0,
    vmidBytes,
    ccSize: ((idr2 >>> 25) & 0xf) + 12,
    commitOpt1: (idr0 & 0x20000000) !== 0,
    maxSpec: r.TRCIDR8,
    qSupported: ((idr0 >>> 15) & 3) !== 0,
    condTrace: hasCond && ((cfg >>> 8) & 7) !== 0,
    dataTrace: hasData && (cfg & 0x30000) !== 0,
    cycleCounting: (cfg & 0x10) !== 0,
    returnStack: (cfg & 0x1000) !== 0,
    timestamps: (cfg & 0x800) !== 0,
    tsSize: tsField === 6 ? 48 : tsField === 8 ? 64 : 0,
    vaSize: (idr2 & 0x1f) === 8 ? 64 : 32,
  };
}

/** A typical Cortex-A53 ETMv4.0 configuration (context ID and VMID tracing on): a handy default. */
export function defaultEtm4Config(traceId = 0x10, overrides: Partial<Etm4Registers> = {}, opts: Etm4ConfigOptions = {}): Etm4Config {
  return etm4Config(
    { TRCCONFIGR: 0xc1, TRCTRACEIDR: traceId, TRCIDR0: 0x28000ea1, TRCIDR1: 0x4100f403, TRCIDR2: 0x00000488, TRCIDR8: 0, ...overrides },
    opts,
  );
}

/** A typical ETE 1.0 configuration (as in OpenCSD's ETE test snapshots), for tests and benchmarks. */
export function defaultEteConfig(traceId = 0x10, overrides: Partial<Etm4Registers> = {}): Etm4Config {
  return etm4Config(
    { TRCCONFIGR: 0xc1, TRCTRACEIDR: traceId, TRCIDR0: 0x2801cea1, TRCIDR1: 0x4100fff0, TRCIDR2: 0xd0001088, TRCIDR8: 0, TRCDEVARCH: 0x47705a13, ...overrides },
    { ete: true },
  );
}
