// Simulator throughput: instructions per second of the executor on its own (null sink) and with
// the ground truth recorded (TruthWriter into a counting sink), per ISA, plus peak RSS.
// Usage: node dist/bench/sim-exec.js [instructions=50000000] [workload=multiproc] [seed=1]

import { NullExecSink } from '../arch/common/events.js';
import type { ChunkSink } from '../arch/common/stream.js';
import { TruthWriter } from '../corpora/truth/writer.js';
import { Executor } from '../sim/exec/executor.js';
import { buildMachines } from '../sim/workloads/index.js';

const n = Number(process.argv[2] ?? 50_000_000);
const workload = process.argv[3] ?? 'multiproc';
const seed = Number(process.argv[4] ?? 1);

class CountingSink implements ChunkSink {
  bytes = 0;
  write(chunk: Uint8Array): void {
    this.bytes += chunk.length;
  }
  end(): void {}
}

function measure(label: string, run: () => void): number {
  const t0 = process.hrtime.bigint();
  run();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const rate = n / s / 1e6;
  console.log(`${label.padEnd(28)} ${rate.toFixed(1).padStart(7)} M insn/s  (${s.toFixed(2)} s)`);
  return rate;
}

const t0 = process.hrtime.bigint();
const machines = buildMachines({ workload }, seed, ['x86', 'a64']);
console.log(`${workload}, seed ${seed}: built and lowered in ${(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(0)} ms; ${n} instructions per run`);
for (const m of machines) {
  measure(`${m.isa} executor, null sink`, () => {
    const ex = new Executor(m, { sink: new NullExecSink(), limit: n });
    while (!ex.done) ex.run(10_000_000);
    ex.finish();
  });
  const stream = new CountingSink();
  measure(`${m.isa} executor + truth`, () => {
    const w = new TruthWriter(stream);
    const ex = new Executor(m, { sink: new NullExecSink(), truth: w, limit: n });
    while (!ex.done) ex.run(10_000_000);
    ex.finish();
    w.finish();
  });
  console.log(`${''.padEnd(28)} truth stream ${(stream.bytes / n).toFixed(3)} bytes/insn`);
}
console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
