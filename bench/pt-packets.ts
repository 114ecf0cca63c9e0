// Intel PT packet-decode throughput, hwtrace vs libipt, on the same file in the same run.
//
//   node dist/bench/pt-packets.js [--mib N] [--source hwtrace|libipt] [--seed S] [--keep]
//
// Builds (or reuses) a realistic PT stream of N MiB (default 200) under the OS temp dir:
// TNT-heavy, a PSB+ every 4 KiB, TIPs and FUPs with the IP compression a CPU would pick,
// MTC/CYC/TSC timing and every other packet type libipt 2.0 knows, at low rates.
// `--source hwtrace` (default) writes it with hwtrace's encoder; `--source libipt` encodes a
// 2 MiB period of the same packet mix with libipt's pt_enc_next and repeats it (then also
// checks that both decoders count every packet type alike). The file is then decoded by
// hwtrace, streamed from disk in 1 MiB chunks (benny), and by `build/native/pt-libipt count`
// (libipt's pt_pkt_next loop over the file read into memory; it times the decode only).

import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, statSync, writeSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import b from 'benny';
import type { CaseResult } from 'benny/lib/internal/common-types.js';
import { fileChunks } from '../arch/common/stream.js';
import {
  PT_CBR, PT_CYC, PT_EXSTOP, PT_FUP, PT_MNT, PT_MODE_EXEC, PT_MODE_TSX, PT_MTC, PT_MWAIT, PT_OVF,
  PT_PAD, PT_PIP, PT_PSB, PT_PSBEND, PT_PTW, PT_PWRE, PT_PWRX, PT_STOP, PT_TIP, PT_TIP_PGD,
  PT_TIP_PGE, PT_TMA, PT_TNT_64, PT_TNT_8, PT_TSC, PT_VMCS, PtEncoder, PtPacket, formatPacketSpec,
  ptStats, type PtStats,
} from '../arch/x86/index.js';
import { findNativeTool } from '../harness/adapters/native/tools.js';
import { Rng } from '../sim/rng.js';

const MIB = 1 << 20;
const TWO32 = 4294967296;
/** 0xffffffff81000000 as a canonical (negative) number. */
const KERNEL_BASE = -0x7f000000;
const USER_BASE = 0x400000;
const LIB_BASE = 0x7f3a12000000;

/**
 * A realistic packet mix, encoded as it is generated. `onPacket` sees every packet as
 * encoded (a reused record), e.g. to write it out as text for libipt's encoder.
 */
export class RealisticPtStream {
  readonly enc = new PtEncoder();
  /** Bytes taken out with take() so far. */
  private taken = 0;
  private lastPsb = -Infinity;
  private ip = USER_BASE + 0x1000;
  private tsc = 0x3c5a00000000;
  private ctc = 0;
  private readonly q = new PtPacket();
  private readonly rng: Rng;

  constructor(seed: number, private readonly onPacket?: (p: PtPacket) => void) {
    this.rng = new Rng(seed);
  }

  /** Generates packets until at least `bytes` are buffered, and returns them (a view). */
  take(bytes: number): Uint8Array {
    this.enc.out.clear();
    while (this.enc.offset < bytes) this.step();
    this.taken += this.enc.offset;
    return this.enc.bytes();
  }

  private get position(): number {
    return this.taken + this.enc.offset;
  }

  private put(type: number): PtPacket {
    const q = this.q;
    q.type = type;
    this.enc.encode(q);
    this.onPacket?.(q);
    return q;
  }

  private ipPacket(type: number, ip: number): void {
    const p = this.enc.ip(type, ip);
    this.onPacket?.(p);
  }

  private setTsc(): void {
    this.q.lo = this.tsc % TWO32;
    this.q.hi = Math.floor(this.tsc / TWO32);
  }

  private psbPlus(): void {
    const r = this.rng;
    const q = this.q;
    this.lastPsb = this.position;
    this.put(PT_PSB);
    this.ipPacket(PT_FUP, this.ip);
    q.csl = 1; q.csd = 0; q.iflag = 0;
    this.put(PT_MODE_EXEC);
    this.tsc += r.range(1000, 100000);
    this.setTsc();
    this.put(PT_TSC);
    q.ctc = r.below(0x10000); q.fc = r.below(0x200);
    this.put(PT_TMA);
    q.ratio = r.range(8, 40);
    this.put(PT_CBR);
    q.cr3 = r.range(1, 0xfffff) * 4096; q.nr = 0;
    this.put(PT_PIP);
    this.put(PT_PSBEND);
  }

  private nextIp(): number {
    const r = this.rng;
    const x = r.float();
    const ip = this.ip;
    // Same 64 KiB (update-16), same 4 GiB (update-32), or another region (sext-48).
    if (x < 0.6) return Math.floor(ip / 65536) * 65536 + r.below(65536);
    if (x < 0.85) return Math.floor(ip / TWO32) * TWO32 + r.below(TWO32);
    const where = r.below(3);
    return where === 0 ? KERNEL_BASE + r.below(0x1000000) : where === 1 ? USER_BASE + r.below(0x100000) : LIB_BASE + r.below(0x1000000);
  }

  private step(): void {
    if (this.position - this.lastPsb >= 4096) {
      this.psbPlus();
      return;
    }
    const r = this.rng;
    const q = this.q;
    const x = r.below(10000);
    if (x < 5200) {
      q.bits = r.chance(0.8) ? 6 : r.range(1, 5);
      q.lo = r.below(1 << q.bits);
      this.put(PT_TNT_8);
    } else if (x < 6700) {
      const big = r.chance(0.3);
      q.lo = big ? r.range(32, 4095) : r.below(32);
      q.hi = 0;
      this.put(PT_CYC);
    } else if (x < 7900) {
      this.ip = this.nextIp();
      this.ipPacket(PT_TIP, this.ip);
    } else if (x < 8500) {
      this.ctc = (this.ctc + 1) & 0xff;
      q.ctc = this.ctc;
      this.put(PT_MTC);
    } else if (x < 8800) {
      q.bits = r.range(7, 47);
      q.lo = r.nextU32() >>> 0;
      q.hi = q.bits > 32 ? r.below(2 ** (q.bits - 32)) : 0;
      if (q.bits <= 32) q.lo = q.bits === 32 ? q.lo : q.lo % 2 ** q.bits;
      this.put(PT_TNT_64);
    } else if (x < 9000) {
      this.put(PT_PAD);
    } else if (x < 9200) {
      // An interrupt: FUP at the interrupted IP, TIP to the handler.
      this.ipPacket(PT_FUP, this.ip);
      this.ip = KERNEL_BASE + r.below(0x1000000);
      this.ipPacket(PT_TIP, this.ip);
    } else if (x < 9300) {
      this.tsc += r.range(1000, 1000000);
      this.setTsc();
      this.put(PT_TSC);
    } else if (x < 9400) {
      // Tracing off and on again (filtering): TIP.PGD, then MODE.Exec and TIP.PGE.
      if (r.chance(0.5)) this.onPacket?.(this.enc.ipSuppressed(PT_TIP_PGD));
      else this.ipPacket(PT_TIP_PGD, this.ip);
      q.csl = 1; q.csd = 0; q.iflag = 0;
      this.put(PT_MODE_EXEC);
      this.ip = this.nextIp();
      this.ipPacket(PT_TIP_PGE, this.ip);
    } else {
      this.rare(x - 9400);
    }
  }

  /** Everything else libipt 2.0 knows, at low rates (x in 0..599). */
  private rare(x: number): void {
    const r = this.rng;
    const q = this.q;
    if (x < 100) {
      q.cr3 = r.range(1, 0xfffff) * 4096; q.nr = r.below(2);
      this.put(PT_PIP);
    } else if (x < 150) {
      q.vmcs = r.range(1, 0xffffff) * 4096;
      this.put(PT_VMCS);
    } else if (x < 200) {
      q.ratio = r.range(8, 40);
      this.put(PT_CBR);
    } else if (x < 250) {
      q.intx = r.below(2); q.abrt = q.intx ? 0 : r.below(2);
      this.put(PT_MODE_TSX);
      this.ipPacket(PT_FUP, this.ip);
    } else if (x < 330) {
      q.plc = r.below(2); q.ipFlag = r.below(2);
      q.lo = r.nextU32(); q.hi = q.plc ? r.nextU32() : 0;
      this.put(PT_PTW);
      if (q.ipFlag) this.ipPacket(PT_FUP, this.ip);
    } else if (x < 370) {
      q.ipFlag = r.below(2);
      this.put(PT_EXSTOP);
      if (q.ipFlag) this.ipPacket(PT_FUP, this.ip);
    } else if (x < 410) {
      q.hints = r.below(0x100); q.ext = r.below(2);
      this.put(PT_MWAIT);
    } else if (x < 450) {
      q.state = r.below(16); q.subState = r.below(16); q.hw = 0;
      this.put(PT_PWRE);
    } else if (x < 490) {
      q.last = r.below(16); q.deepest = r.below(16); q.wake = 1 << r.below(4);
      this.put(PT_PWRX);
    } else if (x < 530) {
      q.lo = r.nextU32(); q.hi = r.nextU32();
      this.put(PT_MNT);
    } else if (x < 560) {
      this.put(PT_OVF);
      this.ipPacket(PT_FUP, this.ip);
    } else if (x < 580) {
      this.put(PT_STOP);
    } else {
      q.ctc = r.below(0x10000); q.fc = r.below(0x200);
      this.put(PT_TMA);
    }
  }
}

/** Writes `mib` MiB (at least) of the realistic stream, made by hwtrace's encoder. */
export function writeHwtraceStream(path: string, mib: number, seed: number): void {
  const gen = new RealisticPtStream(seed);
  const fd = openSync(path, 'w');
  try {
    let written = 0;
    while (written < mib * MIB) {
      const bytes = gen.take(MIB);
      writeSync(fd, bytes);
      written += bytes.length;
    }
  } finally {
    closeSync(fd);
  }
}

/** The same packet mix as text lines for `pt-libipt encode`, `bytes` of stream long. */
export function realisticPacketLines(bytes: number, seed: number): string[] {
  const lines: string[] = [];
  const gen = new RealisticPtStream(seed, (p) => lines.push(formatPacketSpec(p, 'libipt-2.0')));
  gen.take(bytes);
  return lines;
}

/** Writes `mib` MiB: a 2 MiB period encoded by libipt's pt_enc_next, repeated. */
export function writeLibiptStream(tool: string, path: string, mib: number, seed: number): void {
  const periodMib = Math.min(2, mib);
  const lines = realisticPacketLines(periodMib * MIB, seed);
  const r = spawnSync(tool, ['encode', '--repeat', String(Math.ceil(mib / periodMib)), path], {
    input: lines.join('\n') + '\n',
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  if (r.status !== 0) throw new Error(`pt-libipt encode failed: ${r.stderr}`);
}

interface LibiptCount {
  bytes: number;
  packets: number;
  errors: number;
  byType: Record<string, number>;
  seconds: number;
  cpuSeconds: number;
  mbPerSec: number;
  packetsPerSec: number;
}

/** CPU seconds of this process (user + system). */
function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/**
 * Best-of-N CPU time of both decoders: on a shared machine wall-clock rates swing with the
 * load, CPU time much less. hwtrace's includes reading the file in chunks; libipt's covers its
 * decode loop only.
 */
function cpuComparison(tool: string | undefined, path: string, runs: number): { ours: number; theirs: number | undefined } {
  let ours = Infinity;
  let theirs: number | undefined;
  for (let i = 0; i < runs; i++) {
    const c0 = cpuSeconds();
    hwtraceCount(path);
    ours = Math.min(ours, cpuSeconds() - c0);
    if (tool !== undefined) theirs = Math.min(theirs ?? Infinity, runLibipt(tool, path).cpuSeconds);
  }
  return { ours, theirs };
}

function runLibipt(tool: string, path: string): LibiptCount {
  const r = spawnSync(tool, ['count', path], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`pt-libipt count failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as LibiptCount;
}

function hwtraceCount(path: string): PtStats {
  return ptStats(fileChunks(path, MIB));
}

function sameCounts(a: Record<string, number>, b: Record<string, number>): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => (a[k] ?? 0) !== (b[k] ?? 0)).map((k) => `${k}: hwtrace ${a[k] ?? 0}, libipt ${b[k] ?? 0}`);
}

interface Args {
  mib: number;
  source: 'hwtrace' | 'libipt';
  seed: number;
  keep: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { mib: 200, source: 'hwtrace', seed: 1, keep: true };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = argv[i + 1];
    if (k === '--mib' && v !== undefined) a.mib = Number(v), i++;
    else if (k === '--seed' && v !== undefined) a.seed = Number(v), i++;
    else if (k === '--source' && (v === 'hwtrace' || v === 'libipt')) a.source = v, i++;
    else if (k === '--no-keep') a.keep = false;
    else throw new Error(`usage: node dist/bench/pt-packets.js [--mib N] [--source hwtrace|libipt] [--seed S] [--no-keep]; bad argument '${k}'`);
  }
  if (!(a.mib > 0)) throw new Error('--mib must be positive');
  return a;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const tool = findNativeTool('pt-libipt');
  if (args.source === 'libipt' && tool === undefined) throw new Error('build/native/pt-libipt is missing: npm run build:native');
  const path = join(tmpdir(), `hwtrace-pt-bench-${args.source}-${args.mib}mib-s${args.seed}-v1.pt`);
  if (!existsSync(path) || statSync(path).size < args.mib * MIB) {
    const t0 = process.hrtime.bigint();
    if (args.source === 'libipt') writeLibiptStream(tool!, path, args.mib, args.seed);
    else writeHwtraceStream(path, args.mib, args.seed);
    console.log(`wrote ${path} in ${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(1)} s`);
  } else {
    console.log(`reusing ${path}`);
  }
  const size = statSync(path).size;
  const first = hwtraceCount(path);
  console.log(`${(size / MIB).toFixed(1)} MiB, ${first.packets} packets (${(size / first.packets).toFixed(2)} B/packet), ${first.errors} errors`);

  let libipt: LibiptCount | undefined;
  if (tool !== undefined) {
    libipt = runLibipt(tool, path);
    const diff = sameCounts(first.byType, libipt.byType);
    if (diff.length > 0 || first.errors !== libipt.errors) {
      console.log(`COUNTS DIFFER from libipt (errors: hwtrace ${first.errors}, libipt ${libipt.errors}):\n  ${diff.join('\n  ')}`);
      process.exitCode = 1;
    } else {
      console.log(`packet counts by type agree with libipt (${Object.keys(first.byType).length} types, ${first.errors} errors)`);
    }
  } else {
    console.log('build/native/pt-libipt not built (npm run build:native): libipt side skipped');
  }

  let ours: CaseResult | undefined;
  let theirs: CaseResult | undefined;
  await b.suite(
    `Intel PT packet decode, ${(size / MIB).toFixed(0)} MiB (${args.source} encoder)`,
    b.add('hwtrace PtPacketDecoder, streamed from disk', () => {
      hwtraceCount(path);
    }, { minSamples: 3, maxTime: 2, delay: 0 }),
    ...(tool !== undefined
      ? [b.add('libipt pt_pkt_next (pt-libipt count, whole process)', () => {
          libipt = runLibipt(tool, path);
        }, { minSamples: 3, maxTime: 2, delay: 0 })]
      : []),
    b.cycle(),
    b.complete((summary) => {
      ours = summary.results[0];
      theirs = summary.results[1];
    }),
  );
  const oursMBs = ours !== undefined ? (ours.ops * size) / 1e6 : 0;
  const oursPps = ours !== undefined ? ours.ops * first.packets : 0;
  console.log(`hwtrace: ${oursMBs.toFixed(1)} MB/s, ${(oursPps / 1e6).toFixed(1)} M packets/s (file streamed from disk, 1 MiB chunks)`);
  if (libipt !== undefined) {
    const wall = theirs !== undefined ? (theirs.ops * size) / 1e6 : 0;
    console.log(`libipt:  ${libipt.mbPerSec.toFixed(1)} MB/s, ${(libipt.packetsPerSec / 1e6).toFixed(1)} M packets/s (decode loop only, file preloaded); ${wall.toFixed(1)} MB/s whole process`);
    console.log(`ratio hwtrace / libipt: ${(oursMBs / libipt.mbPerSec).toFixed(2)}x (vs libipt's decode loop), ${(oursMBs / wall).toFixed(2)}x (vs its whole process)`);
  }
  const cpu = cpuComparison(tool, path, 3);
  const oursCpuMBs = size / 1e6 / cpu.ours;
  console.log(`CPU time, best of 3: hwtrace ${oursCpuMBs.toFixed(1)} MB/s, ${(first.packets / cpu.ours / 1e6).toFixed(1)} M packets/s`);
  if (cpu.theirs !== undefined) {
    const theirsCpuMBs = size / 1e6 / cpu.theirs;
    console.log(`                     libipt  ${theirsCpuMBs.toFixed(1)} MB/s, ${(first.packets / cpu.theirs / 1e6).toFixed(1)} M packets/s; ratio ${(oursCpuMBs / theirsCpuMBs).toFixed(2)}x`);
  }
  writeFileSync(join(tmpdir(), 'hwtrace-pt-bench-last.json'), JSON.stringify({ path, size, packets: first.packets, hwtraceMBs: oursMBs, hwtraceCpuMBs: oursCpuMBs, libipt, libiptCpuSeconds: cpu.theirs }) + '\n');
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exitCode = 2;
  });
}
