// `npm run stress:corpus [-- --gib N]`: writes a corpus holding one N-GiB member (default 1),
// generated chunk by chunk, reads it back through the verifying stream, and prints throughput
// and peak RSS. Exits 1 if peak RSS reaches 300 MB (the container must stream, whatever the
// member size), 2 on bad arguments. A script, not a test: it takes about a minute per GiB.

import { rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CorpusReader, CorpusWriter, type DeflateLevel } from '../corpora/index.js';
import { Rng } from '../sim/rng.js';

const RSS_LIMIT_MB = 300;
const CHUNK = 1 << 20;
const MB = 1e6;

interface Options {
  gib: number;
  level: DeflateLevel;
  store: boolean;
  keep: boolean;
  /** All-zero data instead of trace-like: deflate's worst case for expansion on read. */
  zeros: boolean;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { gib: 1, level: 6, store: false, keep: false, zeros: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = (): number => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v)) usage(`${arg} needs a number`);
      return v;
    };
    if (arg === '--gib') o.gib = value();
    else if (arg === '--level') o.level = value() as DeflateLevel;
    else if (arg === '--store') o.store = true;
    else if (arg === '--keep') o.keep = true;
    else if (arg === '--zeros') o.zeros = true;
    else usage(`unknown argument ${arg}`);
  }
  if (!(o.gib > 0 && o.gib < 4)) usage('--gib must be in (0, 4): corpora have no ZIP64');
  if (!Number.isInteger(o.level) || o.level < 1 || o.level > 9) usage('--level must be 1..9');
  return o;
}

function usage(message: string): never {
  process.stderr.write(`stress-corpus: ${message}\nusage: node dist/bench/stress-corpus.js [--gib N] [--level 1-9] [--store] [--zeros] [--keep]\n`);
  process.exit(2);
}

/**
 * Bytes shaped like an Intel PT stream of a program spending its time in loops: a PSB every
 * 4 KiB, and "loop bodies" (8 to 65 bytes of short TNT, 2-byte-IP TIP to a small pool of
 * targets, CYC and PAD packets) each repeated 1 to 16 times, with the odd TNT byte changed as
 * branch outcomes vary. About as compressible as real trace, which neither all-zero nor random
 * data would be.
 */
class TraceLikeBytes {
  private readonly rng: Rng;
  private readonly targets = new Uint16Array(64);
  private readonly body = new Uint8Array(72); // bodies are up to 63 + 2 bytes
  private bodyLength = 0;
  private repeatsLeft = 0;
  private sincePsb = 0;

  constructor(seed: number) {
    this.rng = new Rng(seed);
    for (let i = 0; i < this.targets.length; i++) this.targets[i] = this.rng.nextU32() & 0xffff;
  }

  fill(buf: Uint8Array): void {
    const n = buf.length;
    let pos = 0;
    while (pos + 16 + this.body.length <= n) {
      if (this.sincePsb >= 4096) {
        for (let k = 0; k < 16; k += 2) {
          buf[pos + k] = 0x02;
          buf[pos + k + 1] = 0x82;
        }
        pos += 16;
        this.sincePsb = 0;
      }
      if (this.repeatsLeft === 0) this.newBody();
      this.repeatsLeft--;
      const r = this.rng.nextU32();
      buf.set(this.body.subarray(0, this.bodyLength), pos);
      if ((r & 3) === 0) buf[pos] = ((r >>> 8) & 0x7e) | 0x80; // a branch went the other way
      pos += this.bodyLength;
      this.sincePsb += this.bodyLength;
    }
    buf.fill(0, pos); // PAD to the chunk's end
  }

  private newBody(): void {
    const target = 8 + (this.rng.nextU32() & 55);
    let len = 0;
    while (len < target) {
      const r = this.rng.nextU32();
      switch (r & 7) {
        case 0:
        case 1:
        case 2:
        case 3: // short TNT: bit 0 clear, a stop bit above up to six branch bits
          this.body[len++] = ((r >>> 8) & 0x7e) | 0x80;
          break;
        case 4:
        case 5: { // TIP with IPBytes = 1 (two low address bytes)
          const ip = this.targets[(r >>> 8) & 63]!;
          this.body[len++] = 0x2d;
          this.body[len++] = ip & 0xff;
          this.body[len++] = ip >>> 8;
          break;
        }
        case 6: // CYC
          this.body[len++] = 0x03 | (((r >>> 8) & 0x1f) << 3);
          break;
        default: // PAD
          this.body[len++] = 0x00;
      }
    }
    this.bodyLength = len;
    this.repeatsLeft = 1 + ((this.rng.nextU32() >>> 7) & 15);
  }
}

function peakRssMB(): number {
  return (process.resourceUsage().maxRSS * 1024) / MB; // maxRSS is in KiB
}

function main(): number {
  const o = parseArgs(process.argv.slice(2));
  const size = Math.floor(o.gib * 2 ** 30);
  const path = join(tmpdir(), `hwtrace-stress-${process.pid}.zip`);
  const compression = o.store ? 'store' : `deflate level ${o.level}`;
  const data = o.zeros ? 'all-zero' : 'trace-like';
  process.stdout.write(`stress:corpus: one ${(size / 2 ** 30).toFixed(2)} GiB ${data} member in ${CHUNK >> 20} MiB chunks, ${compression}, at ${path}\n`);
  try {
    const gen = new TraceLikeBytes(1);
    const chunk = new Uint8Array(CHUNK);
    let genTime = 0;
    const t0 = performance.now();
    const writer = CorpusWriter.create(path, {
      generator: { name: 'hwtrace stress-corpus', version: '1' },
      arch: 'x86',
      seed: 1,
      spec: { kind: `${data} bytes`, bytes: size },
      config: { chunk: CHUNK },
    });
    try {
      const sink = writer.member('trace/cpu0.pt', o.store ? { compression: 'store' } : { level: o.level });
      for (let done = 0; done < size; done += CHUNK) {
        const g0 = performance.now();
        const part = size - done >= CHUNK ? chunk : chunk.subarray(0, size - done);
        if (!o.zeros) gen.fill(part);
        genTime += performance.now() - g0;
        sink.write(part);
      }
      const written = sink.end();
      writer.finish({ bytes: written.size });
    } catch (e) {
      writer.abort(); // deletes the partial file
      throw e;
    }
    const writeSeconds = (performance.now() - t0) / 1000;
    const fileSize = statSync(path).size;
    const rssAfterWrite = peakRssMB();

    const t1 = performance.now();
    const reader = CorpusReader.open(path);
    let read = 0;
    for (const c of reader.stream('trace/cpu0.pt')) read += c.length; // verifies size and SHA-256 at the end
    const readSeconds = (performance.now() - t1) / 1000;
    if (read !== size) throw new Error(`read back ${read} bytes, wrote ${size}`);

    const rss = peakRssMB();
    const rate = (s: number): string => `${(size / MB / s).toFixed(1)} MB/s`;
    process.stdout.write(
      `  corpus file  ${(fileSize / MB).toFixed(1)} MB (member compresses ${(size / fileSize).toFixed(2)}:1)\n` +
        `  write        ${writeSeconds.toFixed(1)} s, ${rate(writeSeconds)} (of which generating the bytes ${(genTime / 1000).toFixed(1)} s)\n` +
        `  read+verify  ${readSeconds.toFixed(1)} s, ${rate(readSeconds)} (decompress + SHA-256 check)\n` +
        `  peak RSS     ${rss.toFixed(1)} MB (${rssAfterWrite.toFixed(1)} MB after writing; limit ${RSS_LIMIT_MB} MB)\n`,
    );
    if (rss >= RSS_LIMIT_MB) {
      process.stderr.write(`stress-corpus: peak RSS ${rss.toFixed(1)} MB reaches the ${RSS_LIMIT_MB} MB limit\n`);
      return 1;
    }
    return 0;
  } finally {
    if (o.keep) process.stdout.write(`  kept ${path}\n`);
    else rmSync(path, { force: true });
  }
}

process.exitCode = main();
