// `gen`: workload spec + seed → simulator → trace units → one corpus file with the trace, the
// code images, the machine description and the ground truth of every architecture asked for.

import { HwtraceError } from '../../arch/common/errors.js';
import { CorpusWriter } from '../../corpora/writer.js';
import type { Manifest } from '../../corpora/manifest.js';
import { TruthWriter, type TruthTables } from '../../corpora/truth/writer.js';
import { Executor, buildMachine, buildWorkload, resolveWorkloadSpec, type Machine } from '../../sim/index.js';
import { packageVersion } from '../cli/version.js';
import type { ArchTraceUnitFactory } from './arch-unit.js';
import { FileSink, SpoolDir } from './file-sink.js';
import { corpusLayout, type CorpusArchName } from './layout.js';
import { machineInfo } from './machine-info.js';

export interface GenerateOptions {
  out: string;
  /** Trace units, one per architecture to generate (x86 first, then arm, by convention). */
  units: readonly ArchTraceUnitFactory[];
  /** Workload spec as the user wrote it (defaults are filled in). */
  spec: unknown;
  seed: number | bigint;
  /** Instructions to simulate per architecture. */
  insns: number;
  /** Trace options per architecture, as the trace unit factories take them. */
  trace: Partial<Record<CorpusArchName, Record<string, unknown>>>;
  /** Called now and then during long runs. */
  progress?: (arch: CorpusArchName, done: number, total: number) => void;
}

export interface ArchRunSummary {
  instructions: number;
  blocks: number;
  traceBytes: number;
  bytesPerInstruction: number;
  segments: number;
  contextSwitches: number;
  interrupts: number;
  truthBytes: number;
  seconds: number;
  instructionsPerSecond: number;
}

interface ArchRun {
  unitSummary: Record<string, number>;
  arch: CorpusArchName;
  machine: Machine;
  traces: Array<{ name: string; sink: FileSink }>;
  truthStream: FileSink;
  tables: TruthTables;
  config: Record<string, unknown>;
  summary: ArchRunSummary;
}

const STEP = 4_000_000;

function runArch(unit: ArchTraceUnitFactory, opts: GenerateOptions, spool: SpoolDir): ArchRun {
  const model = buildWorkload(opts.spec, opts.seed);
  const machine = buildMachine(model, unit.isa);
  const traces: Array<{ name: string; sink: FileSink }> = [];
  const open = (name: string) => {
    if (traces.some((t) => t.name === name)) throw new HwtraceError('internal', `trace stream ${name} opened twice`);
    const sink = spool.sink(`${unit.arch}-${name}`);
    traces.push({ name, sink });
    return sink;
  };
  const truthStream = spool.sink(`${unit.arch}-truth`);
  const truth = new TruthWriter(truthStream);
  const attached = unit.attach(machine, opts.trace[unit.arch] ?? {}, open, truth);
  const ex = new Executor(machine, { sink: attached.sink, truth, limit: opts.insns });
  const t0 = process.hrtime.bigint();
  while (!ex.done) {
    ex.run(STEP);
    opts.progress?.(unit.arch, ex.instructions, opts.insns);
  }
  ex.finish();
  attached.finish();
  const tables = truth.finish();
  for (const t of traces) t.sink.end();
  truthStream.end();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const stats = ex.stats;
  const traceBytes = traces.reduce((s, t) => s + t.sink.bytes, 0);
  return {
    unitSummary: attached.summary(),
    arch: unit.arch,
    machine,
    traces,
    truthStream,
    tables,
    config: attached.config,
    summary: {
      instructions: stats.instructions,
      blocks: stats.blocks,
      traceBytes,
      bytesPerInstruction: stats.instructions ? traceBytes / stats.instructions : 0,
      segments: tables.summary.segments,
      contextSwitches: stats.contextSwitches,
      interrupts: stats.interrupts,
      truthBytes: truthStream.bytes + tables.blocks.length + tables.segments.length,
      seconds,
      instructionsPerSecond: seconds > 0 ? stats.instructions / seconds : 0,
    },
  };
}

function copyInto(writer: CorpusWriter, name: string, spool: SpoolDir, sink: FileSink): void {
  const member = writer.member(name);
  for (const chunk of spool.chunks(sink)) member.write(chunk);
  member.end();
}

export interface GenerateResult {
  manifest: Manifest;
  /** Wall-clock figures per architecture (simulation + trace encoding + truth), not stored in the corpus. */
  timing: Partial<Record<CorpusArchName, { seconds: number; instructionsPerSecond: number }>>;
}

/** Generates the corpus at `opts.out`. */
export function generateCorpus(opts: GenerateOptions): GenerateResult {
  if (!Number.isSafeInteger(opts.insns) || opts.insns < 1) throw new HwtraceError('bad_option', `--insns must be a positive integer, not ${opts.insns}`);
  if (opts.units.length === 0) throw new HwtraceError('bad_option', 'no architecture to generate');
  const spec = resolveWorkloadSpec(opts.spec);
  const spool = new SpoolDir();
  try {
    const runs = opts.units.map((u) => runArch(u, { ...opts, spec }, spool));
    const arch = runs.length === 1 ? runs[0]!.arch : 'both';
    const writer = CorpusWriter.create(opts.out, {
      generator: { name: 'hwtrace', version: packageVersion() },
      arch,
      seed: opts.seed,
      spec,
      config: Object.fromEntries(runs.map((r) => [r.arch, r.config])),
    });
    try {
      for (const r of runs) {
        for (const t of r.traces) copyInto(writer, corpusLayout.trace(r.arch, t.name), spool, t.sink);
        for (const im of r.machine.images) writer.addBytes(corpusLayout.image(r.arch, im.id), im.bytes);
        writer.addBytes(corpusLayout.machine(r.arch), new TextEncoder().encode(JSON.stringify(machineInfo(r.machine), null, 1) + '\n'));
        writer.addBytes(corpusLayout.truthBlocks(r.arch), r.tables.blocks);
        copyInto(writer, corpusLayout.truthStream(r.arch), spool, r.truthStream);
        writer.addBytes(corpusLayout.truthSegments(r.arch), r.tables.segments);
      }
      // Timing figures vary run to run; only deterministic counts go into the corpus.
      const manifest = writer.finish(Object.fromEntries(runs.map((r) => [r.arch, { ...deterministicSummary(r.summary), ...r.unitSummary }])));
      const timing = Object.fromEntries(runs.map((r) => [r.arch, { seconds: r.summary.seconds, instructionsPerSecond: r.summary.instructionsPerSecond }]));
      return { manifest, timing };
    } catch (e) {
      writer.abort();
      throw e;
    }
  } finally {
    spool.dispose();
  }
}

function deterministicSummary(s: ArchRunSummary): Record<string, number> {
  return {
    instructions: s.instructions,
    blocks: s.blocks,
    traceBytes: s.traceBytes,
    bytesPerInstruction: Math.round(s.bytesPerInstruction * 1e4) / 1e4,
    segments: s.segments,
    contextSwitches: s.contextSwitches,
    interrupts: s.interrupts,
    truthBytes: s.truthBytes,
  };
}
