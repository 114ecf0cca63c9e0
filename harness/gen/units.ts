// The trace units `gen` can attach, and the command-line options that configure them:
// Intel PT (x86) as IA32_RTIT_CTL programs it, ETMv4 (arm) as TRCCONFIGR and friends do.

import type { Options } from 'yargs';
import { UsageError } from '../../arch/common/errors.js';
import { PtTraceUnit } from '../../arch/x86/pt/trace-unit.js';
import { ptCpuid15, ptNominalFreq } from '../../arch/x86/pt/trace-clock.js';
import { EtmTraceUnit } from '../../arch/arm/etm4/trace-unit.js';
import { etmSnapshotRegisters, resolveEtmTraceOptions, type EtmTraceOptions } from '../../arch/arm/etm4/trace-config.js';
import type { PtTraceOptions } from '../../arch/x86/pt/trace-config.js';
import type { ArchTraceUnitFactory } from './arch-unit.js';
import type { ArmTraceRecord } from '../export/opencsd.js';
import type { CorpusArchName } from './layout.js';

/** The raw PT stream of the (single) simulated CPU. */
export const PT_STREAM = 'cpu0.pt';
/** The raw ETM stream of one trace ID. */
export const etmStream = (traceId: number) => `etm-${traceId.toString(16)}.bin`;

export interface TraceOptionGroup {
  arch: CorpusArchName;
  title: string;
  options: Record<string, Options>;
}

export const TRACE_OPTION_GROUPS: readonly TraceOptionGroup[] = [
  {
    arch: 'x86',
    title: 'Intel PT trace (x86):',
    options: {
      'pt-psb-freq': { type: 'number', default: 4096, describe: 'PSB+ every N bytes of trace (PSBFreq)' },
      'pt-timing': { type: 'string', default: '', describe: 'timing packets, comma-separated: tsc, mtc, cyc' },
      'pt-mtc-freq': { type: 'number', default: 3, describe: 'MTCFreq: an MTC every 2^N crystal clocks' },
      'pt-no-retcomp': { type: 'boolean', default: false, describe: 'DisRETC: no return compression' },
      'pt-user-only': { type: 'boolean', default: false, describe: 'trace user mode only (OS=0)' },
    },
  },
  {
    arch: 'arm',
    title: 'ETMv4 trace (arm):',
    options: {
      'etm-trace-id': { type: 'number', default: 0x10, describe: 'CoreSight trace ID (TRCTRACEIDR)' },
      'etm-sync-period': { type: 'number', default: 12, describe: 'A-sync every 2^N bytes (TRCSYNCPR), 0 = only at the start' },
      'etm-timestamps': { type: 'boolean', default: true, describe: 'timestamps (TRCCONFIGR.TS)' },
      'etm-cycle-counts': { type: 'boolean', default: false, describe: 'cycle counts (TRCCONFIGR.CCI)' },
      'etm-return-stack': { type: 'boolean', default: false, describe: 'return stack (TRCCONFIGR.RS)' },
      'etm-context-id': { type: 'boolean', default: true, describe: 'context ID tracing (TRCCONFIGR.CID)' },
      'etm-vmid': { type: 'boolean', default: false, describe: 'VMID tracing (TRCCONFIGR.VMID)' },
    },
  },
];

function ptOptionsFromArgv(argv: Record<string, unknown>): PtTraceOptions {
  const timing = String(argv['pt-timing'] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const t of timing) if (!['tsc', 'mtc', 'cyc'].includes(t)) throw new UsageError(`--pt-timing: unknown timing packet '${t}' (tsc, mtc, cyc)`);
  return {
    psbFreq: Number(argv['pt-psb-freq'] ?? 4096),
    tscEn: timing.includes('tsc'),
    mtcEn: timing.includes('mtc'),
    cycEn: timing.includes('cyc'),
    mtcFreq: Number(argv['pt-mtc-freq'] ?? 3),
    disRetc: argv['pt-no-retcomp'] === true,
    os: argv['pt-user-only'] !== true,
  };
}

function etmOptionsFromArgv(argv: Record<string, unknown>): Partial<EtmTraceOptions> {
  return {
    traceId: Number(argv['etm-trace-id'] ?? 0x10),
    syncPeriod: Number(argv['etm-sync-period'] ?? 12),
    timestamps: argv['etm-timestamps'] !== false,
    cycleCounts: argv['etm-cycle-counts'] === true,
    returnStack: argv['etm-return-stack'] === true,
    contextId: argv['etm-context-id'] !== false,
    vmid: argv['etm-vmid'] === true,
  };
}

/** The trace options of one architecture from parsed command-line arguments. */
export function traceOptionsFromArgv(arch: CorpusArchName, argv: Record<string, unknown>): Record<string, unknown> {
  return arch === 'x86' ? { ...ptOptionsFromArgv(argv) } : { ...etmOptionsFromArgv(argv) };
}

const ptFactory: ArchTraceUnitFactory = {
  arch: 'x86',
  isa: 'x86',
  attach(machine, options, open, sync) {
    const unit = new PtTraceUnit(machine, options as PtTraceOptions, open(PT_STREAM), sync);
    // What a decoder needs to turn MTC/CYC into time: CPUID.15H (TSC/crystal) and the nominal ratio.
    const config = { ...unit.config, stream: PT_STREAM, cpuid15: ptCpuid15(machine.clock), nomFreq: ptNominalFreq(machine.clock) };
    return { sink: unit, finish: () => unit.finish(), config, summary: () => ({ psbs: unit.psbCount }) };
  },
};

const etmFactory: ArchTraceUnitFactory = {
  arch: 'arm',
  isa: 'a64',
  attach(machine, options, open, sync) {
    const resolved = resolveEtmTraceOptions(options as Partial<EtmTraceOptions>);
    const stream = etmStream(resolved.traceId);
    const unit = new EtmTraceUnit({ options: resolved, contexts: machine.contexts, clock: machine.clock, out: open(stream), sync });
    const record: ArmTraceRecord = { options: resolved, stream, format: 'source_data', coreType: 'Cortex-A53' };
    return {
      sink: unit,
      finish: () => unit.finish(),
      config: { ...record, registers: etmSnapshotRegisters(resolved) },
      // Instructions after the last waypoint: no ETMv4 packet can describe them.
      summary: () => ({ syncs: unit.stats.syncs, untracedTail: unit.stats.untracedTail }),
    };
  },
};

export function traceUnitFactory(arch: CorpusArchName): ArchTraceUnitFactory {
  return arch === 'x86' ? ptFactory : etmFactory;
}
