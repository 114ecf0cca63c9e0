// Benchmark: CoreSight deframing + ETMv4 packet decoding, ours against OpenCSD on the same bytes.
//
//   node dist/bench/etm-packets.js [--mib 200] [--sources 4] [--opencsd PATH] [--keep]
//   node dist/bench/etm-packets.js --snapshot test/fixtures/opencsd/snapshots/juno_r1_1 [--mib 64]
//
// Builds a multi-source frame-formatted buffer of at least --mib MiB under os.tmpdir() by
// encoding a trace-like packet mix with our encoder and interleaving the sources into 16-byte
// frames (or, with --snapshot, by repeating a snapshot's real formatted trace buffer), then
// times (benny) our deformatter + demux + packet decoders over it in memory, and runs OpenCSD's
// frame deformatter + ETMv4 packet processor over the same file through build/native/etm-opencsd
// (its own timer, file already in memory). Prints both and the ratio.

import b from 'benny';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { defaultEtm4Config, type Etm4Config } from '../arch/arm/etm4/config.js';
import { Etm4PacketDecoder, type Etm4PacketSink } from '../arch/arm/etm4/decoder.js';
import { Etm4PacketEncoder } from '../arch/arm/etm4/encoder.js';
import type { Etm4Packet } from '../arch/arm/etm4/packet.js';
import { PACKET_TYPE_COUNT, PacketType, packetTypeName } from '../arch/arm/etm4/packet-types.js';
import { FrameDeformatter } from '../arch/arm/coresight/deformatter.js';
import { CoresightDemux } from '../arch/arm/coresight/demux.js';
import { FrameFormatter } from '../arch/arm/coresight/formatter.js';
import { ByteBuffer } from '../arch/common/stream.js';
import { findNativeTool } from '../harness/adapters/native/tools.js';
import { Rng } from '../sim/rng.js';
import { planSnapshotDecode } from '../arch/arm/opencsd/snapshot-decode.js';
import { readSnapshot } from '../arch/arm/opencsd/snapshot-reader.js';
import { writeRealisticTrace } from './fuzz/etm.js';

const MIB = 1 << 20;

/** Counts packets by type: the cheapest sink that still looks at every packet. */
class CountingSink implements Etm4PacketSink {
  readonly byType = new Float64Array(PACKET_TYPE_COUNT);
  packets = 0;
  errors = 0;
  packet(p: Etm4Packet): void {
    this.byType[p.type]!++;
    this.packets++;
  }
  error(): void {
    this.errors++;
  }
}

/** Writes the formatted buffer to `path`: per-source streams interleaved in bursts, repeated. */
function buildBuffer(path: string, configs: Etm4Config[], targetBytes: number, seed: number): number {
  const rng = new Rng(seed);
  // Each source gets its own trace-like stream; repeating it keeps it valid (each starts with
  // an A-sync and Trace Info) without generating hundreds of MiB of packets.
  const streams = configs.map((cfg) => {
    const enc = new Etm4PacketEncoder(cfg, new ByteBuffer(8 * MIB));
    const syncs = writeRealisticTrace(enc, rng.fork(), 8 * MIB);
    return { data: enc.out.view().slice(), syncs };
  });
  const out = new ByteBuffer(8 * MIB);
  const fmt = new FrameFormatter(out);
  const pos = configs.map(() => 0);
  const fd = openSync(path, 'w');
  let written = 0;
  try {
    while (written + out.length < targetBytes) {
      const i = rng.below(configs.length);
      const s = streams[i]!.data;
      // A stream ends on a packet boundary and starts with an A-sync, so it can wrap around.
      let p = pos[i]!;
      if (p === s.length) p = 0;
      const n = Math.min(rng.range(8, 160), s.length - p);
      fmt.write(configs[i]!.traceId, s, p, p + n);
      pos[i] = p + n;
      if (out.length >= 4 * MIB) {
        writeSync(fd, out.buf, 0, out.length);
        written += out.length;
        out.clear();
      }
    }
    // End every source on a packet boundary (its next A-sync), so the decode ends cleanly.
    configs.forEach((cfg, i) => {
      const { data, syncs } = streams[i]!;
      const p = pos[i]!;
      const stop = syncs.find((o) => o >= p) ?? data.length;
      fmt.write(cfg.traceId, data, p, stop);
    });
    fmt.flush();
    writeSync(fd, out.buf, 0, out.length);
    written += out.length;
  } finally {
    closeSync(fd);
  }
  return written;
}

/** Writes a snapshot's formatted buffer repeated to at least targetBytes; returns its ETM configurations. */
function repeatSnapshot(path: string, dir: string, targetBytes: number): { size: number; configs: Etm4Config[] } {
  const snap = readSnapshot(dir);
  const plan = planSnapshotDecode(snap, { packet() {}, error() {} });
  if (plan.buffer.format !== 'coresight') throw new Error(`${dir}: the first buffer is ${plan.buffer.format}, not memory-aligned CoreSight frames`);
  const data = readFileSync(plan.buffer.file);
  const fd = openSync(path, 'w');
  let size = 0;
  try {
    while (size < targetBytes) {
      writeSync(fd, data);
      size += data.length;
    }
  } finally {
    closeSync(fd);
  }
  return { size, configs: plan.sources.map((s) => s.config) };
}

/** One pass of our pipeline over the in-memory buffer (fed in 1 MiB views, as a file reader would). */
function decodeOurs(data: Uint8Array, configs: Etm4Config[]): CountingSink {
  const sink = new CountingSink();
  const demux = new CoresightDemux();
  for (const cfg of configs) demux.attach(cfg.traceId, new Etm4PacketDecoder(cfg, sink));
  const df = new FrameDeformatter(demux);
  for (let off = 0; off < data.length; off += MIB) {
    df.push(data.subarray(off, Math.min(data.length, off + MIB)));
    demux.flush();
  }
  df.end();
  demux.end();
  return sink;
}

interface OpenCsdResult {
  library: string;
  bytes: number;
  runs: number[];
  seconds: number;
  mbPerSec: number;
  packets: number;
  types: Record<string, number>;
}

function runOpenCsd(tool: string, file: string, configs: Etm4Config[], repeat: number): OpenCsdResult {
  const args = ['--mode', 'packets', '--format', 'memory', '--repeat', String(repeat)];
  for (const c of configs) {
    const r = c.registers;
    const regs = [c.traceId, r.TRCIDR0, r.TRCIDR1, r.TRCIDR2, r.TRCIDR8, r.TRCCONFIGR, ...(c.ete ? [r.TRCDEVARCH] : [])];
    args.push(c.ete ? '--ete' : '--etm4', regs.map((v) => '0x' + v.toString(16)).join(','));
  }
  args.push(file);
  const res = spawnSync(tool, args, { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (res.status !== 0) throw new Error(`${tool} ${args.join(' ')} failed: ${res.stderr || res.error?.message}`);
  return JSON.parse(res.stdout) as OpenCsdResult;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const argv = yargs(hideBin(process.argv))
    .option('mib', { type: 'number', default: 200, describe: 'size of the formatted buffer, MiB' })
    .option('sources', { type: 'number', default: 4, describe: 'trace sources (IDs 0x10...)' })
    .option('seed', { type: 'number', default: 1 })
    .option('opencsd', { type: 'string', describe: 'path of the etm-opencsd driver (default build/native/etm-opencsd)' })
    .option('repeat', { type: 'number', default: 3, describe: 'OpenCSD runs (median reported)' })
    .option('keep', { type: 'boolean', default: false, describe: 'keep the generated buffer' })
    .option('snapshot', { type: 'string', describe: 'repeat this snapshot\'s formatted buffer instead of generating one' })
    .strict()
    .parseSync();
  if (!(argv.mib > 0) || !(argv.sources >= 1 && argv.sources <= 16)) throw new Error('--mib must be > 0 and --sources 1..16');
  let configs = Array.from({ length: argv.sources }, (_, i) => defaultEtm4Config(0x10 + i));
  const dir = mkdtempSync(join(tmpdir(), 'hwtrace-etm-bench-'));
  const file = join(dir, 'formatted.bin');
  try {
    let t0 = performance.now();
    let size: number;
    if (argv.snapshot !== undefined) {
      const r = repeatSnapshot(file, argv.snapshot, argv.mib * MIB);
      size = r.size;
      configs = r.configs;
      console.log(`buffer: ${(size / MIB).toFixed(1)} MiB, ${argv.snapshot} trace buffer repeated, ${configs.length} sources: ${file}`);
    } else {
      size = buildBuffer(file, configs, argv.mib * MIB, argv.seed);
      console.log(`buffer: ${(size / MIB).toFixed(1)} MiB, ${argv.sources} sources, frame-formatted (memory mode), built in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${file}`);
    }
    const data = new Uint8Array(readFileSync(file));

    t0 = performance.now();
    const check = decodeOurs(data, configs);
    const firstPass = (performance.now() - t0) / 1000;
    const top = Array.from(check.byType, (n, t) => [packetTypeName(t), n] as const)
      .filter(([, n]) => n > 0)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 6)
      .map(([name, n]) => `${name} ${n}`)
      .join(', ');
    console.log(`hwtrace: ${check.packets} packets, ${check.errors} errors (first pass ${firstPass.toFixed(2)} s); ${top}`);

    let oursSeconds = 0;
    await b.suite(
      'ETMv4 deframe + packet decode',
      b.add('hwtrace (TypeScript)', () => {
        decodeOurs(data, configs);
      }, { minSamples: 5, maxTime: 2, initCount: 1 }),
      b.cycle(),
      b.complete((summary) => {
        // The summary's ops/s is rounded; the median sample (seconds per pass) is exact.
        oursSeconds = summary.results[0]!.details.median;
      }),
    );
    const oursMBs = data.length / 1e6 / oursSeconds;

    const tool = argv.opencsd ?? findNativeTool('etm-opencsd');
    if (tool === undefined) {
      console.log(`hwtrace: ${oursMBs.toFixed(1)} MB/s`);
      console.log('OpenCSD: build/native/etm-opencsd not built (npm run build:native, needs libopencsd-dev); no comparison');
      return;
    }
    const oc = runOpenCsd(tool, file, configs, argv.repeat);
    const ocSeconds = median(oc.runs);
    const ocMBs = oc.bytes / 1e6 / ocSeconds;
    // OpenCSD hands the first NOTSYNC of a stream to the sink only once; compare the rest.
    const ocPackets = oc.packets - (oc.types['I_NOT_SYNC'] ?? 0);
    const ourPackets = check.packets - check.byType[PacketType.NOTSYNC]!;
    console.log(`OpenCSD ${oc.library}: ${ocPackets} packets (median of ${oc.runs.length} runs: ${ocSeconds.toFixed(2)} s)`);
    console.log(`packet counts ${ocPackets === ourPackets ? 'agree' : `DIFFER (ours ${ourPackets})`}`);
    console.log('');
    console.log(`hwtrace (TypeScript)      ${oursMBs.toFixed(1).padStart(8)} MB/s  (median ${oursSeconds.toFixed(2)} s per pass)`);
    console.log(`OpenCSD ${oc.library} (C++)     ${ocMBs.toFixed(1).padStart(8)} MB/s  (median ${ocSeconds.toFixed(2)} s per pass)`);
    console.log(`ratio hwtrace / OpenCSD   ${(oursMBs / ocMBs).toFixed(2).padStart(8)}x`);
  } finally {
    if (!argv.keep) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
