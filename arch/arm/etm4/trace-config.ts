// How the ETMv4 trace-unit model is configured: a plain options object (what a user sets, the
// way a driver programs TRCCONFIGR, TRCSYNCPR, TRCCCCTLR…), and the register values those
// options amount to — for the packet layer (Etm4Config) and for an OpenCSD snapshot's ETM
// device .ini. The modelled unit is a Cortex-A53-style ETMv4.0: 64-bit addresses, 32-bit
// context IDs, 8-bit VMIDs, 64-bit timestamps, a return stack, COMMOPT = 1 and MAXSPEC = 0
// (every P0 element commits at once: no Commit packets, cycle counts carry no commit field).

import { HwtraceError } from '../../common/errors.js';
import { etm4Config, type Etm4Config, type Etm4Registers } from './config.js';

export interface EtmTraceOptions {
  /** CoreSight trace ID (TRCTRACEIDR), 0x01..0x6F. */
  traceId: number;
  /**
   * TRCSYNCPR.PERIOD: an A-sync and Trace Info after every 2^n trace bytes (n = 8..20), at the
   * next point where a decoder can start; 0 = only at the start of the trace.
   */
  syncPeriod: number;
  /** TRCCONFIGR.TS: timestamps (generic timer) at every sync point. */
  timestamps: boolean;
  /**
   * Also a timestamp at the first P0 element after this many core cycles since the last one
   * (as TRCTSCTLR programmed with a counter event does); 0 = at sync points only.
   */
  timestampInterval: number;
  /** TRCCONFIGR.CCI: cycle counts. */
  cycleCounts: boolean;
  /** TRCCCCTLR.THRESHOLD: minimum cycles a cycle count reports (1..4095). */
  ccThreshold: number;
  /** TRCCONFIGR.RS: return stack (a return to the address on top of it has no address packet). */
  returnStack: boolean;
  /** TRCCONFIGR.CID: context ID (CONTEXTIDR_EL1) in context packets. */
  contextId: boolean;
  /** TRCCONFIGR.VMID: VMID in context packets. */
  vmid: boolean;
}

/** Defaults: Linux's (sync every 4 KiB, cycle-count threshold 0x100), context ID and timestamps on. */
export const DEFAULT_ETM_TRACE_OPTIONS: Readonly<EtmTraceOptions> = Object.freeze({
  traceId: 0x10,
  syncPeriod: 12,
  timestamps: true,
  timestampInterval: 0,
  cycleCounts: false,
  ccThreshold: 0x100,
  returnStack: false,
  contextId: true,
  vmid: false,
});

/** ID registers of the modelled implementation (Cortex-A53 values, 20-bit cycle counter). */
export const ETM_TRCIDR0 = 0x28000ea1;
export const ETM_TRCIDR1 = 0x4100f403;
export const ETM_TRCIDR2 = 0x00000488 | (8 << 25);
export const ETM_TRCIDR8 = 0;
/** TRCAUTHSTATUS as real snapshots carry it (all debug allowed); OpenCSD ignores it. */
export const ETM_TRCAUTHSTATUS = 0xcc;

function bad(what: string): never {
  throw new HwtraceError('bad_option', what);
}

/** Fills in the defaults and checks every field, naming the one that is wrong. */
export function resolveEtmTraceOptions(opts: Partial<EtmTraceOptions> = {}): EtmTraceOptions {
  for (const k of Object.keys(opts)) if (!(k in DEFAULT_ETM_TRACE_OPTIONS)) bad(`unknown ETM trace option '${k}' (known: ${Object.keys(DEFAULT_ETM_TRACE_OPTIONS).join(', ')})`);
  const o: EtmTraceOptions = { ...DEFAULT_ETM_TRACE_OPTIONS, ...opts };
  if (!(Number.isInteger(o.traceId) && o.traceId >= 0x01 && o.traceId <= 0x6f)) bad(`traceId must be 0x01..0x6f, got ${o.traceId}`);
  if (!(Number.isInteger(o.syncPeriod) && (o.syncPeriod === 0 || (o.syncPeriod >= 8 && o.syncPeriod <= 20)))) bad(`syncPeriod must be 0 or 8..20 (2^n bytes), got ${o.syncPeriod}`);
  if (!(Number.isSafeInteger(o.timestampInterval) && o.timestampInterval >= 0)) bad(`timestampInterval must be a non-negative integer, got ${o.timestampInterval}`);
  if (!(Number.isInteger(o.ccThreshold) && o.ccThreshold >= 1 && o.ccThreshold <= 4095)) bad(`ccThreshold must be 1..4095, got ${o.ccThreshold}`);
  for (const k of ['timestamps', 'cycleCounts', 'returnStack', 'contextId', 'vmid'] as const) {
    if (typeof o[k] !== 'boolean') bad(`${k} must be true or false, got ${String(o[k])}`);
  }
  return o;
}

/** TRCCONFIGR for these options (bit 0 is RES1). */
export function etmConfigR(o: EtmTraceOptions): number {
  return (1 | (o.cycleCounts ? 1 << 4 : 0) | (o.contextId ? 1 << 6 : 0) | (o.vmid ? 1 << 7 : 0) | (o.timestamps ? 1 << 11 : 0) | (o.returnStack ? 1 << 12 : 0)) >>> 0;
}

/** The registers the packet layer reads (etm4Config) for these options. */
export function etmRegisters(o: EtmTraceOptions): Etm4Registers {
  return { TRCCONFIGR: etmConfigR(o), TRCTRACEIDR: o.traceId, TRCIDR0: ETM_TRCIDR0, TRCIDR1: ETM_TRCIDR1, TRCIDR2: ETM_TRCIDR2, TRCIDR8: ETM_TRCIDR8 };
}

/** The packet-layer configuration of a stream made with these options. */
export function etmTraceConfig(o: EtmTraceOptions): Etm4Config {
  return etm4Config(etmRegisters(o));
}

/**
 * The `[regs]` section of an OpenCSD snapshot's ETM device (`type=ETM4`), names with their
 * register numbers as real snapshots write them (`TRCCONFIGR(0x004)`).
 */
export function etmSnapshotRegisters(o: EtmTraceOptions): Record<string, number> {
  return {
    'TRCCONFIGR(0x004)': etmConfigR(o),
    'TRCSYNCPR(0x00D)': o.syncPeriod,
    'TRCCCCTLR(0x00E)': o.ccThreshold,
    'TRCTRACEIDR(0x010)': o.traceId,
    'TRCAUTHSTATUS(0x3EE)': ETM_TRCAUTHSTATUS,
    'TRCIDR0(0x078)': ETM_TRCIDR0,
    'TRCIDR1(0x079)': ETM_TRCIDR1,
    'TRCIDR2(0x07A)': ETM_TRCIDR2,
    'TRCIDR8(0x060)': ETM_TRCIDR8,
    'TRCIDR9(0x061)': 0,
    'TRCIDR10(0x062)': 0,
    'TRCIDR11(0x063)': 0,
    'TRCIDR12(0x064)': 0,
    'TRCIDR13(0x065)': 0,
  };
}
