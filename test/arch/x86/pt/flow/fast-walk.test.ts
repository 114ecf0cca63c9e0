// The walk's fast path (fastWalk: the run table, state in locals) reports exactly what the
// general walk reports alone: every range with all its arguments, every event and error, and
// what a sink reads from the decoder meanwhile (offset, time: ptxed --offset / --time). Simulated
// traces in several configurations, then the same traces with bytes overwritten (errors,
// resyncs, events in odd places).

import t, { type Test } from 'tap';
import { type FlowSink, type PtFlowOptions, PtFlowDecoder, type PtImage } from '../../../../../arch/x86/pt/flow/index.js';
import type { PtTraceOptions } from '../../../../../arch/x86/pt/trace-config.js';
import { Rng } from '../../../../../sim/rng.js';
import { type SimRun, imageOf, simulate } from './corpus-helper.js';

/** The general walk only: fastWalk hands every run back at once. */
class GeneralOnlyDecoder extends PtFlowDecoder {
  protected override fastWalk(ip: number): number {
    return ip;
  }
}

/** Every sink call as one line, with the decoder's offset and time when it was made. */
function record(make: (image: PtImage, sink: FlowSink) => PtFlowDecoder, image: PtImage, trace: Uint8Array): { log: string[]; ranges: number; instructions: number } {
  const log: string[] = [];
  let dec: PtFlowDecoder | null = null;
  const at = (): string => `@${dec!.offset} t${dec!.clock.time}`;
  const sink: FlowSink = {
    range: (start, end, count, ctx, section, bitness, time, speculative) => {
      log.push(`r ${start} ${end} ${count} ${ctx} ${section} ${bitness} ${time} ${speculative === true} ${at()}`);
    },
    event: (kind, ip, value, extra, flags, time) => {
      log.push(`e ${kind} ${ip} ${value} ${extra} ${flags} ${time} ${at()}`);
    },
    error: (e) => {
      log.push(`x ${e.code} ${e.offset} ${e.ip} ${e.sync === true} ${at()}`);
    },
  };
  dec = make(image, sink);
  dec.decode(trace);
  return { log, ranges: dec.stats.ranges, instructions: dec.stats.instructions };
}

function sameAsGeneral(t: Test, run: SimRun, trace: Uint8Array, options: PtFlowOptions, what: string): void {
  const fast = record((im, s) => new PtFlowDecoder(im, s, options), imageOf(run), trace);
  const general = record((im, s) => new GeneralOnlyDecoder(im, s, options), imageOf(run), trace);
  let i = 0;
  while (i < fast.log.length && fast.log[i] === general.log[i]) i++;
  if (i === fast.log.length && i === general.log.length) {
    t.pass(`${what}: ${fast.log.length} sink calls identical`);
  } else {
    t.fail(`${what}: first difference at sink call ${i} (fast ${fast.log.length}, general ${general.log.length})`, {
      fast: fast.log.slice(Math.max(0, i - 2), i + 2),
      general: general.log.slice(Math.max(0, i - 2), i + 2),
    });
  }
  t.equal(fast.ranges, general.ranges, `${what}: stats.ranges`);
  t.equal(fast.instructions, general.instructions, `${what}: stats.instructions`);
}

const CONFIGS: Array<{ name: string; workload: 'static' | 'multiproc'; seed: number; trace: PtTraceOptions; flow: PtFlowOptions }> = [
  { name: 'multiproc', workload: 'multiproc', seed: 1, trace: {}, flow: {} },
  { name: 'static, timing, ticks', workload: 'static', seed: 2, trace: { tscEn: true, mtcEn: true, mtcFreq: 3, cycEn: true }, flow: { tick: true } },
  { name: 'multiproc, no return compression', workload: 'multiproc', seed: 3, trace: { disRetc: true, psbFreq: 2048 }, flow: {} },
  { name: 'multiproc, user only, timing', workload: 'multiproc', seed: 4, trace: { os: false, tscEn: true, mtcEn: true, cycEn: true }, flow: {} },
];

for (const c of CONFIGS) {
  t.test(c.name, async (t) => {
    const run = simulate(c.workload, false, c.seed, 120_000, c.trace);
    sameAsGeneral(t, run, run.trace, c.flow, 'intact trace');
    // Bytes overwritten: errors where the flow and the code disagree, resyncs at later PSBs.
    const rng = new Rng(c.seed);
    for (let k = 0; k < 6; k++) {
      const bad = run.trace.slice();
      const hits = 1 + rng.below(8);
      for (let h = 0; h < hits; h++) bad[rng.below(bad.length)] = rng.below(256);
      sameAsGeneral(t, run, bad, { ...c.flow, resyncOnError: true }, `${hits} bytes overwritten (${k + 1})`);
    }
  });
}
