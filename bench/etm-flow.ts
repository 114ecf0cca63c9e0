// Benchmark: ETMv4 instruction-flow decode (packets + memory → INSTR_RANGE...), ours against
// OpenCSD's full decoder on the same input.
//
//   node dist/bench/etm-flow.js [--snapshot DIR] [--insns N] [--repeat R] [--opencsd PATH]
//
// 1. A real multi-source snapshot (default: juno_r1_1, 6 ETMv4 sources, CoreSight frames):
//    deformatter + demux + packet decoders + flow decoders with a counting element sink.
// 2. A simulator trace of --insns instructions (static workload, one ETMv4 source, raw
//    stream) decoded with the machine's code images.
// OpenCSD runs through build/native/etm-opencsd --mode decode (packet processor + decoder +
// file memory accessors, counting sink, its own timer, file in memory). Both sides time the same
// work: the trace bytes (in memory) through ready-made decoders to the last element; building
// the decoders and mapping memory is outside the timer (as the driver times OpenCSD). Each side:
// median of --repeat runs, fresh decoders (cold range cache) per run. Prints instructions/s,
// MB/s and the ratio.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { formatAddr0x } from '../arch/common/address.js';
import { MemorySink } from '../arch/common/stream.js';
import type { Etm4Config } from '../arch/arm/etm4/config.js';
import { Etm4PacketDecoder, type Etm4PacketSink } from '../arch/arm/etm4/decoder.js';
import { Elem, type FlowElement } from '../arch/arm/etm4/flow/elements.js';
import { Etm4FlowDecoder } from '../arch/arm/etm4/flow/flow-decoder.js';
import { ImageMemory } from '../arch/arm/etm4/flow/image-memory.js';
import { SnapshotMemory } from '../arch/arm/etm4/flow/snapshot-memory.js';
import { EtmTraceUnit } from '../arch/arm/etm4/trace-unit.js';
import { planSnapshotDecode, runSnapshotDecode } from '../arch/arm/opencsd/snapshot-decode.js';
import { readSnapshot } from '../arch/arm/opencsd/snapshot-reader.js';
import { findNativeTool } from '../harness/adapters/native/tools.js';
import { Executor } from '../sim/exec/executor.js';
import { buildMachine } from '../sim/machine.js';
import { buildWorkload } from '../sim/workloads/index.js';

/** Counts instructions and elements: the cheapest sink that still sees every element. */
class CountingSink {
  instructions = 0;
  elements = 0;
  element(e: FlowElement): void {
    this.elements++;
    if (e.type === Elem.INSTR_RANGE) this.instructions += e.n;
  }
}

interface OpenCsdResult {
  library: string;
  bytes: number;
  runs: number[];
  elements: number;
  instructions: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** One run: the sink it filled and the milliseconds its timed part took. */
interface Run {
  sink: CountingSink;
  ms: number;
}

/**
 * Median seconds per run of `fn` (its own timed part): after ≥ 0.5 s of warm-up (the JIT),
 * `repeat` batches of as many runs as make ≥ 50 ms (a small input is timed over several runs).
 */
function timeRuns(repeat: number, fn: () => Run): { seconds: number; sink: CountingSink } {
  let run = fn();
  let warm = 1;
  const w0 = performance.now();
  while (performance.now() - w0 < 500) {
    run = fn();
    warm++;
  }
  const perRun = (performance.now() - w0) / warm;
  const batch = Math.max(1, Math.ceil(50 / perRun));
  const times: number[] = [];
  for (let i = 0; i < repeat; i++) {
    let ms = 0;
    for (let k = 0; k < batch; k++) {
      run = fn();
      ms += run.ms;
    }
    times.push(ms / 1000 / batch);
  }
  return { seconds: median(times), sink: run.sink };
}

function sourceArgs(configs: Etm4Config[]): string[] {
  const args: string[] = [];
  for (const c of configs) {
    const r = c.registers;
    const regs = [c.traceId, r.TRCIDR0, r.TRCIDR1, r.TRCIDR2, r.TRCIDR8, r.TRCCONFIGR, ...(c.ete ? [r.TRCDEVARCH] : [])];
    args.push(c.ete ? '--ete' : '--etm4', regs.map((v) => '0x' + v.toString(16)).join(','));
  }
  return args;
}

function runOpenCsd(tool: string, args: string[]): OpenCsdResult {
  const res = spawnSync(tool, args, { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (res.status !== 0) throw new Error(`${tool} ${args.join(' ')} failed: ${res.stderr || res.error?.message}`);
  return JSON.parse(res.stdout) as OpenCsdResult;
}

function report(what: string, bytes: number, ours: { seconds: number; sink: CountingSink }, oc: OpenCsdResult | undefined): void {
  const ourIps = ours.sink.instructions / ours.seconds;
  console.log(`\n${what}: ${bytes} trace bytes`);
  console.log(`  hwtrace (TypeScript)  ${(ourIps / 1e6).toFixed(1).padStart(7)} M instr/s  ${(bytes / 1e6 / ours.seconds).toFixed(2).padStart(7)} MB/s  (${ours.sink.instructions} instructions, ${ours.sink.elements} elements, median ${(ours.seconds * 1000).toFixed(1)} ms)`);
  if (oc === undefined) {
    console.log('  OpenCSD: build/native/etm-opencsd not built (npm run build:native, needs libopencsd-dev); no comparison');
    return;
  }
  const s = median(oc.runs);
  const ocIps = oc.instructions / s;
  console.log(`  OpenCSD ${oc.library} (C++) ${(ocIps / 1e6).toFixed(1).padStart(7)} M instr/s  ${(oc.bytes / 1e6 / s).toFixed(2).padStart(7)} MB/s  (${oc.instructions} instructions, ${oc.elements} elements, median ${(s * 1000).toFixed(1)} ms)`);
  console.log(`  ratio (ours / OpenCSD, instructions/s): ${(ourIps / ocIps).toFixed(2)}x${oc.instructions === ours.sink.instructions ? '' : ' — instruction counts differ'}`);
}

function main(): void {
  const argv = yargs(hideBin(process.argv))
    .option('snapshot', { type: 'string', default: 'test/fixtures/opencsd/snapshots/juno_r1_1', describe: 'OpenCSD snapshot directory' })
    .option('insns', { type: 'number', default: 20_000_000, describe: 'instructions of the simulator trace (0: skip)' })
    .option('seed', { type: 'number', default: 1 })
    .option('repeat', { type: 'number', default: 5, describe: 'timed runs per side (median reported)' })
    .option('opencsd', { type: 'string', describe: 'path of the etm-opencsd driver (default build/native/etm-opencsd)' })
    .strict()
    .parseSync();
  const tool = argv.opencsd ?? findNativeTool('etm-opencsd');
  const repeat = Math.max(1, argv.repeat);

  // 1. The snapshot.
  const snap = readSnapshot(argv.snapshot);
  const memory = new SnapshotMemory(snap);
  let bytes = 0;
  let configs: Etm4Config[] = [];
  const traceBytes = new Uint8Array(readFileSync(snap.buffers[0]!.file));
  const noPackets: Etm4PacketSink = { packet: () => {}, error: () => {} };
  const ours = timeRuns(repeat, () => {
    const sink = new CountingSink();
    const flows: Etm4FlowDecoder[] = [];
    const opts = { listingOrder: false };
    const plan = planSnapshotDecode(snap, noPackets, opts, (config) => {
      const f = new Etm4FlowDecoder(config, sink, { memory });
      flows.push(f);
      return f;
    });
    const t0 = performance.now();
    bytes = runSnapshotDecode(plan, noPackets, opts, traceBytes);
    for (const f of flows) f.end();
    const ms = performance.now() - t0;
    configs = plan.sources.map((s) => s.config);
    return { sink, ms };
  });
  let oc: OpenCsdResult | undefined;
  if (tool !== undefined) {
    const buffer = snap.buffers[0]!;
    // The driver maps whole files: dumps that use a file from its start (as juno_r1_1's do).
    const mems = snap.devices.flatMap((d) => d.dumps).filter((m) => m.offset === 0);
    const uniq = [...new Map(mems.map((m) => [m.file + m.address, m])).values()];
    const format = buffer.format === 'source_data' ? 'raw' : buffer.format === 'dstream_coresight' ? 'tpiu' : 'memory';
    oc = runOpenCsd(tool, ['--mode', 'decode', '--format', format, '--repeat', String(repeat), ...uniq.flatMap((m) => ['--mem', `${formatAddr0x(m.address)}:${m.file}`]), ...sourceArgs(configs), buffer.file]);
  }
  report(`snapshot ${argv.snapshot} (${configs.length} sources)`, bytes, ours, oc);

  // 2. A simulator trace.
  if (argv.insns <= 0) return;
  const t0 = performance.now();
  const machine = buildMachine(buildWorkload({ workload: 'static' }, argv.seed), 'a64');
  const raw = new MemorySink();
  const unit = new EtmTraceUnit({ options: {}, contexts: machine.contexts, clock: machine.clock, out: raw });
  const exec = new Executor(machine, { sink: unit, limit: argv.insns });
  exec.run();
  exec.finish();
  unit.finish();
  const trace = raw.bytes();
  console.log(`\nsimulated ${argv.insns} instructions (static, seed ${argv.seed}) in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${trace.length} trace bytes`);
  const images = machine.images.map((im) => ({ start: im.start, bytes: im.bytes, space: im.space }));
  const simMemory = new ImageMemory(images);
  const simOurs = timeRuns(repeat, () => {
    const sink = new CountingSink();
    const flow = new Etm4FlowDecoder(unit.config, sink, { memory: simMemory });
    const dec = new Etm4PacketDecoder(unit.config, flow, 0);
    const t0 = performance.now();
    dec.push(trace);
    dec.end();
    flow.end();
    return { sink, ms: performance.now() - t0 };
  });
  let simOc: OpenCsdResult | undefined;
  if (tool !== undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'hwtrace-etm-flow-bench-'));
    try {
      const traceFile = join(dir, 'trace.bin');
      writeFileSync(traceFile, trace);
      const memArgs = images.flatMap((im, i) => {
        const f = join(dir, `image${i}.bin`);
        writeFileSync(f, im.bytes);
        return ['--mem', `${formatAddr0x(im.start)}:${f}`];
      });
      simOc = runOpenCsd(tool, ['--mode', 'decode', '--format', 'raw', '--repeat', String(repeat), ...memArgs, ...sourceArgs([unit.config]), traceFile]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  report(`simulator corpus (static, ${argv.insns} instructions)`, trace.length, simOurs, simOc);
}

main();
