// Simulator runs with the PT trace unit for the flow-decoder tests: the trace, a PtImage with the
// machine's code (process images tied to their CR3) and the truth's instruction addresses.

import type { X86Context } from '../../../../../arch/common/context.js';
import { MemorySink } from '../../../../../arch/common/stream.js';
import { PtImage } from '../../../../../arch/x86/pt/flow/index.js';
import type { PtTraceOptions } from '../../../../../arch/x86/pt/trace-config.js';
import { PtTraceUnit } from '../../../../../arch/x86/pt/trace-unit.js';
import { TruthWriter, forEachTruthRecord, readTruthBlocks, readTruthSegments } from '../../../../../corpora/truth/index.js';
import { Executor } from '../../../../../sim/exec/executor.js';
import { type Machine, buildMachine } from '../../../../../sim/machine.js';
import { buildWorkload } from '../../../../../sim/workloads/index.js';

export interface SimRun {
  machine: Machine;
  trace: Uint8Array;
  truth: number[];
  /** Per PSB: trace offset and the truth index of the first instruction after it. */
  segments: Array<{ offset: number; index: number }>;
  images: Array<{ bytes: Uint8Array; start: number; cr3: number }>;
  mtcFreq: number;
}

export function simulate(workload: 'static' | 'multiproc', distinct: boolean, seed: number, insns: number, options: PtTraceOptions): SimRun {
  const machine = buildMachine(buildWorkload({ workload, distinctAddresses: distinct }, seed), 'x86');
  const traceOut = new MemorySink();
  const truthOut = new MemorySink();
  const truth = new TruthWriter(truthOut);
  const unit = new PtTraceUnit(machine, options, traceOut, truth);
  const ex = new Executor(machine, { sink: unit, truth, limit: insns });
  ex.run();
  ex.finish();
  unit.finish();
  const tables = truth.finish();
  const table = readTruthBlocks(tables.blocks);
  const segs = readTruthSegments(tables.segments);
  // The instructions a decoder sees: traced privilege levels only.
  const all: number[] = [];
  const segments: Array<{ offset: number; index: number }> = [];
  let executed = 0;
  let s = 0;
  forEachTruthRecord(table, [truthOut.bytes()], (id) => {
    while (s < segs.length && segs[s]!.instruction <= executed) segments.push({ offset: segs[s++]!.traceOffset, index: all.length });
    const n = table.count[id]!;
    executed += n;
    const kernel = (machine.contexts.get(table.ctx[id]!) as X86Context).cpl === 0;
    if (kernel ? options.os === false : options.user === false) return;
    let a = table.start[id]!;
    const f = table.lenFirst[id]!;
    for (let k = 0; k < n; k++) {
      all.push(a);
      a += table.lengths[f + k]!;
    }
  });
  const images = machine.images.map((im) => {
    let cr3 = Number.NaN;
    if (im.space >= 0) {
      const id = machine.ctxSpace.findIndex((s) => s === im.space);
      cr3 = (machine.contexts.get(id) as X86Context).cr3;
    }
    return { bytes: im.bytes, start: im.start, cr3 };
  });
  return {
    machine, trace: traceOut.bytes(), truth: all, images, mtcFreq: unit.config.mtcFreq, segments,
  };
}

export function imageOf(run: SimRun): PtImage {
  const image = new PtImage();
  for (const im of run.images) image.add(im.bytes, im.start, im.cr3);
  return image;
}
