// Fuzzing of the ETMv4/ETE packet decoder and of the CoreSight frame layer, plus the random
// packet generators they share with the tests and the benchmark.
//
// Guarantees checked on every input (valid, mutated or random bytes):
// - nothing throws out of the decoders;
// - every input byte ends up in exactly one reported packet (no stall, no silent drop);
// - packet and error offsets lie inside the input; the output does not depend on how the
//   input was split into chunks;
// - valid streams decode without errors back to the packets that were encoded.

import { etm4Config, type Etm4Config } from '../../arch/arm/etm4/config.js';
import { Etm4PacketDecoder, type Etm4PacketSink } from '../../arch/arm/etm4/decoder.js';
import { Etm4PacketEncoder, atomHeader } from '../../arch/arm/etm4/encoder.js';
import type { Etm4Packet } from '../../arch/arm/etm4/packet.js';
import { packetToSpec, type ContextFields, type Etm4PacketSpec } from '../../arch/arm/etm4/packet-spec.js';
import { FrameDeformatter } from '../../arch/arm/coresight/deformatter.js';
import { CoresightDemux } from '../../arch/arm/coresight/demux.js';
import { FrameFormatter } from '../../arch/arm/coresight/formatter.js';
import type { DecodeError } from '../../arch/common/errors.js';
import { ByteBuffer } from '../../arch/common/stream.js';
import { Rng } from '../../sim/rng.js';

export interface FuzzOptions {
  iterations: number;
  seed: number;
  log?: (s: string) => void;
}

export interface FuzzResult {
  iterations: number;
  bytes: number;
  packets: number;
  errors: number;
}

/** Configurations that exercise the grammar's variants. */
export const FUZZ_CONFIGS: readonly Etm4Config[] = [
  // Cortex-A53 ETMv4.0: CID + 8-bit VMID, no Q, COMMOPT=1.
  etm4Config({ TRCCONFIGR: 0xc1, TRCTRACEIDR: 0x10, TRCIDR0: 0x28000ea1, TRCIDR1: 0x4100f403, TRCIDR2: 0x00000488 }),
  // ETMv4.4 with Q, cycle counting, COMMOPT=0, MAXSPEC=16, 16-bit VMID, 20-bit cycle counter.
  etm4Config({ TRCCONFIGR: 0x18d1, TRCTRACEIDR: 0x11, TRCIDR0: 0x0801aea1, TRCIDR1: 0x4200f440, TRCIDR2: 0x10000888, TRCIDR8: 16 }),
  // ETMv4.6 (timestamp markers), 32-bit VMID.
  etm4Config({ TRCCONFIGR: 0xc1, TRCTRACEIDR: 0x12, TRCIDR0: 0x28000ea1, TRCIDR1: 0x4200f460, TRCIDR2: 0x00001088 }),
  // v8-M ETMv4.2 (function return), M-profile exceptions.
  etm4Config({ TRCCONFIGR: 0x1, TRCTRACEIDR: 0x13, TRCIDR0: 0x28000ea1, TRCIDR1: 0x4200f420, TRCIDR2: 0x00000488 }, { profile: 'M', archV8: true }),
  // Conditional tracing on (its packets are recognised, reported unsupported).
  etm4Config({ TRCCONFIGR: 0x7c1, TRCTRACEIDR: 0x14, TRCIDR0: 0x28000ee1, TRCIDR1: 0x4100f403, TRCIDR2: 0x00000488 }),
  // ETE 1.0 as in OpenCSD's ETE snapshots (Q, source addresses, 32-bit VMID).
  etm4Config({ TRCCONFIGR: 0xc1, TRCTRACEIDR: 0x15, TRCIDR0: 0x2801cea1, TRCIDR1: 0x4100fff0, TRCIDR2: 0xd0001088, TRCDEVARCH: 0x47705a13 }, { ete: true }),
  // ETE 1.3 (ITE), speculation: MAXSPEC=78, COMMOPT=0, cycle counting.
  etm4Config({ TRCCONFIGR: 0x11, TRCTRACEIDR: 0x16, TRCIDR0: 0x0801cea1, TRCIDR1: 0x4100fff0, TRCIDR2: 0xd0001088, TRCIDR8: 78, TRCDEVARCH: 0x47735a13 }, { ete: true }),
];

function u32(rng: Rng): number {
  return rng.nextU32();
}

/** A canonical 64-bit address high half (user or kernel half). */
function canonicalHi(rng: Rng): number {
  return rng.chance(0.5) ? rng.below(0x10000) : (0xffff0000 | rng.below(0x10000)) >>> 0;
}

function randomContext(rng: Rng, cfg: Etm4Config): ContextFields {
  const c: ContextFields = { el: rng.below(4), sf: rng.below(2), ns: rng.below(2), nse: cfg.ete ? rng.below(2) : 0 };
  if (cfg.vmidBytes > 0 && rng.chance(0.5)) c.vmid = cfg.vmidBytes === 4 ? u32(rng) : rng.below(2 ** (8 * cfg.vmidBytes));
  if (cfg.cidBytes > 0 && rng.chance(0.5)) c.contextId = u32(rng);
  return c;
}

function aligned(rng: Rng, is: number): number {
  return (u32(rng) & (is ? 0xfffffffe : 0xfffffffc)) >>> 0;
}

/** A valid contfield value: small ones mostly, up to 32 bits. */
function field(rng: Rng, bits = 32): number {
  const b = rng.below(Math.min(bits, 32)) + 1;
  return b >= 32 ? u32(rng) : rng.below(2 ** b);
}

/** Every atom header byte, with its pattern. */
const ATOM_HEADERS: { bits: number; count: number }[] = (() => {
  const out: { bits: number; count: number }[] = [];
  for (let count = 1; count <= 24; count++) {
    for (let bits = 0; bits < (count <= 5 ? 2 ** count : 0); bits++) if (atomHeader(bits, count) >= 0) out.push({ bits, count });
    if (count >= 4) {
      const allE = (2 ** count - 1) >>> 0;
      out.push({ bits: allE, count });
      out.push({ bits: (allE >>> 1) >>> 0, count });
    }
  }
  return out;
})();

/** One valid packet for the configuration, in canonical form (packetToSpec gives it back). */
export function randomSpec(rng: Rng, cfg: Etm4Config): Etm4PacketSpec {
  const v = cfg.fullVersion;
  for (;;) {
    switch (rng.below(26)) {
      case 0:
        return { kind: 'async' };
      case 1:
        return rng.chance(0.5) ? { kind: 'discard' } : { kind: 'overflow' };
      case 2: {
        const s: Etm4PacketSpec = { kind: 'traceInfo' };
        if (rng.chance(0.7)) s.info = field(rng, 8);
        if (rng.chance(0.3)) s.key = field(rng);
        if (rng.chance(0.3)) s.spec = field(rng);
        if (rng.chance(0.3)) s.cyct = field(rng, 12);
        return s;
      }
      case 3: {
        const bytes = rng.range(1, 9);
        const value = bytes === 9 ? (BigInt(u32(rng)) << 32n) | BigInt(u32(rng)) : BigInt(rng.below(2 ** Math.min(7 * bytes, 32))) << BigInt(Math.max(0, 7 * bytes - 32));
        const s: Etm4PacketSpec = { kind: 'timestamp', value, bytes };
        if (rng.chance(0.3)) s.cycleCount = rng.below(2 ** Math.min(21, cfg.ccSize));
        return s;
      }
      case 4:
        return { kind: 'traceOn' };
      case 5:
        if (cfg.profile === 'M' && cfg.archV8 && v >= 0x42) return { kind: 'funcRet' };
        continue;
      case 6:
        if (!cfg.ete) return { kind: 'exceptionReturn' };
        return rng.chance(0.5) ? { kind: 'transStart' } : { kind: 'transCommit' };
      case 7:
        if (v >= 0x43) return { kind: 'ignore' };
        continue;
      case 8:
        if (v >= 0x46) return { kind: 'tsMarker' };
        return { kind: 'event', events: rng.range(1, 15) };
      case 9: {
        const type = rng.chance(0.7) ? rng.below(32) : rng.below(1024);
        const addrInterp = rng.below(4);
        const faultPending = cfg.profile === 'M' && rng.chance(0.2) ? 1 : 0;
        const forced = cfg.ete && ((type & 0x1f) === 0 || (type & 0x1f) === 0x18);
        const long = forced || type > 0x1f || faultPending === 1 || rng.chance(0.1);
        const s: Etm4PacketSpec = { kind: 'exception', type, addrInterp };
        if (faultPending) s.faultPending = 1;
        if (long) s.long = true;
        return s;
      }
      case 10: {
        const s: Etm4PacketSpec = { kind: 'ccntF1' };
        if (rng.chance(0.8)) s.count = rng.below(2 ** 21);
        if (!cfg.commitOpt1) s.commit = field(rng);
        return s;
      }
      case 11: {
        const s: Etm4PacketSpec = { kind: 'ccntF2', count: rng.below(16) };
        if (!cfg.commitOpt1) {
          s.commit = rng.below(16);
          s.adjust = rng.chance(0.5);
        }
        return s;
      }
      case 12: {
        const s: Etm4PacketSpec = { kind: 'ccntF3', count: rng.below(4) };
        if (!cfg.commitOpt1) s.commit = rng.range(1, 4);
        return s;
      }
      case 13:
        return { kind: 'commit', commit: field(rng) };
      case 14:
        return { kind: 'cancelF1', cancel: field(rng), mispredict: rng.chance(0.5) };
      case 15:
        return rng.chance(0.5) ? { kind: 'mispredict', atoms: rng.below(4) } : { kind: 'cancelF2', atoms: rng.below(4) };
      case 16:
        return { kind: 'cancelF3', cancel: rng.range(2, 5), atomE: rng.chance(0.5) };
      case 17:
        return rng.chance(0.2) ? { kind: 'contextSame' } : { kind: 'context', ...randomContext(rng, cfg) };
      case 18: {
        const is = rng.below(2);
        const wide = rng.chance(0.5);
        return { kind: 'addrContext', is, wide, hi: wide ? canonicalHi(rng) : 0, lo: aligned(rng, is), ...randomContext(rng, cfg) };
      }
      case 19: {
        const s: Etm4PacketSpec = { kind: 'addrMatch', index: rng.below(3) };
        if (v >= 0x50 && rng.chance(0.3)) s.source = true;
        return s;
      }
      case 20: {
        const is = rng.below(2);
        const twoBytes = rng.chance(0.5);
        const bits = (twoBytes ? 15 : 7) + (is ? 1 : 2);
        const value = (rng.below(2 ** bits) & ~(is ? 1 : 3)) >>> 0;
        const s: Etm4PacketSpec = { kind: 'addrShort', is, value, twoBytes };
        if (v >= 0x50 && rng.chance(0.3)) s.source = true;
        return s;
      }
      case 21: {
        const is = rng.below(2);
        const wide = rng.chance(0.5);
        const s: Etm4PacketSpec = { kind: 'addrLong', is, wide, hi: wide ? canonicalHi(rng) : 0, lo: aligned(rng, is) };
        if (v >= 0x50 && rng.chance(0.3)) s.source = true;
        return s;
      }
      case 22: {
        if (!cfg.qSupported) continue;
        const qType = rng.pick([0, 1, 2, 5, 6, 0xa, 0xb, 0xc, 0xf]);
        const s: Etm4PacketSpec = { kind: 'q', qType };
        if (qType !== 0xf) s.count = field(rng);
        if (qType === 5 || qType === 6) {
          const is = qType === 6 ? 1 : 0;
          s.twoBytes = rng.chance(0.5);
          s.value = (rng.below(2 ** ((s.twoBytes ? 15 : 7) + (is ? 1 : 2))) & ~(is ? 1 : 3)) >>> 0;
        } else if (qType === 0xa || qType === 0xb) s.lo = aligned(rng, qType === 0xb ? 1 : 0);
        return s;
      }
      case 23:
        if (cfg.ete && cfg.minor >= 3) return { kind: 'ite', el: rng.below(4), hi: u32(rng), lo: u32(rng) };
        continue;
      case 24:
        return { kind: 'event', events: rng.range(1, 15) };
      default: {
        const a = rng.pick(ATOM_HEADERS);
        return { kind: 'atom', bits: a.bits, count: a.count };
      }
    }
  }
}

/** A valid stream: A-sync, Trace Info, then `count` random packets. Returns bytes and specs. */
export function randomPacketStream(rng: Rng, cfg: Etm4Config, count: number): { bytes: Uint8Array; specs: Etm4PacketSpec[] } {
  const enc = new Etm4PacketEncoder(cfg, new ByteBuffer(256));
  const specs: Etm4PacketSpec[] = [{ kind: 'async' }, { kind: 'traceInfo', info: 0 }];
  for (let i = 0; i < count; i++) specs.push(randomSpec(rng, cfg));
  for (const s of specs) enc.encode(s);
  return { bytes: enc.out.view().slice(), specs };
}

/**
 * Trace-like packet mix for the benchmark: mostly atoms and compressed branch targets, an
 * A-sync + Trace Info every 4 KiB. Returns the offsets of the A-syncs (packet boundaries).
 */
export function writeRealisticTrace(enc: Etm4PacketEncoder, rng: Rng, bytes: number): number[] {
  const out = enc.out;
  const syncs: number[] = [];
  const targets: number[] = [];
  let hi = 0xffffffc0;
  let lo = 0x00081000;
  const sync = (): void => {
    syncs.push(out.length);
    enc.async();
    enc.traceInfo({ info: 0 });
    enc.encode({ kind: 'addrContext', is: 0, wide: true, hi, lo, el: 1, sf: 1, ns: 1, nse: 0, contextId: rng.below(4096) });
  };
  sync();
  let nextSync = out.length + 4096;
  while (out.length < bytes) {
    if (out.length >= nextSync) {
      sync();
      nextSync = out.length + 4096;
    }
    const r = rng.below(1000);
    if (r < 560) {
      const n = rng.weighted([30, 20, 28, 8, 8, 6]) + 1;
      enc.atoms(rng.nextU32() | (n > 3 ? 0x7 : 0), n === 6 ? rng.range(6, 24) : n);
    } else if (r < 940) {
      // Branch target: recent (exact match), near (short), same 4 GiB (long 32), or far (long 64).
      const k = rng.below(100);
      if (k < 12 && targets.length > 0) {
        lo = rng.pick(targets);
      } else if (k < 75) {
        lo = ((lo & ~0x1ffff) | (rng.below(0x20000) & ~3)) >>> 0;
      } else if (k < 97) {
        lo = (rng.nextU32() & ~3) >>> 0;
      } else {
        hi = rng.chance(0.5) ? 0x0000007f : 0xffffffc0;
        lo = (rng.nextU32() & ~3) >>> 0;
      }
      enc.address(hi, lo, 0);
      targets.push(lo);
      if (targets.length > 8) targets.shift();
    } else if (r < 960) {
      enc.exception(rng.pick([2, 3, 12, 14]), 1);
      enc.address(hi, (lo + 4) >>> 0, 0);
    } else if (r < 975) {
      enc.encode({ kind: 'context', el: rng.below(2), sf: 1, ns: 1, nse: 0, contextId: rng.below(4096) });
    } else if (r < 990) {
      enc.timestamp(BigInt(rng.below(1 << 21)), 3);
    } else {
      enc.encode({ kind: 'traceOn' });
    }
  }
  return syncs;
}

/** Splits data into random chunks (1..maxChunk bytes). */
function* randomChunks(rng: Rng, data: Uint8Array, maxChunk: number): Generator<Uint8Array> {
  let pos = 0;
  while (pos < data.length) {
    const n = Math.min(data.length - pos, rng.range(1, maxChunk));
    yield data.subarray(pos, pos + n);
    pos += n;
  }
}

interface Captured {
  packets: { type: number; index: number; bytes: string }[];
  errors: DecodeError[];
  byteCount: number;
  specs: (Etm4PacketSpec | undefined)[];
}

function capture(cfg: Etm4Config, chunks: Iterable<Uint8Array>, withSpecs: boolean): Captured {
  const c: Captured = { packets: [], errors: [], byteCount: 0, specs: [] };
  const sink: Etm4PacketSink = {
    packet(p: Etm4Packet) {
      let hex = '';
      for (let i = 0; i < p.rawLength; i++) hex += p.raw[p.rawStart + i]!.toString(16).padStart(2, '0');
      c.packets.push({ type: p.type, index: p.index, bytes: hex });
      c.byteCount += p.rawLength;
      if (withSpecs) c.specs.push(packetToSpec(p, cfg));
    },
    error(e) {
      c.errors.push(e);
    },
  };
  const dec = new Etm4PacketDecoder(cfg, sink);
  for (const ch of chunks) dec.push(ch);
  dec.end();
  return c;
}

function fail(what: string, seed: number, iteration: number, input: Uint8Array): never {
  const head = Array.from(input.subarray(0, 64), (b) => b.toString(16).padStart(2, '0')).join(' ');
  throw new Error(`${what} (seed ${seed}, iteration ${iteration}, ${input.length} bytes: ${head}${input.length > 64 ? ' ...' : ''})`);
}

function mutate(rng: Rng, data: Uint8Array): Uint8Array {
  const out = Array.from(data);
  const n = rng.range(1, 4);
  for (let k = 0; k < n && out.length > 0; k++) {
    const at = rng.below(out.length);
    switch (rng.below(4)) {
      case 0:
        out[at] = out[at]! ^ (1 << rng.below(8));
        break;
      case 1:
        out.splice(at, 1);
        break;
      case 2:
        out.splice(at, 0, rng.below(256));
        break;
      default:
        out.length = at;
    }
  }
  return Uint8Array.from(out);
}

function randomBytes(rng: Rng, n: number): Uint8Array {
  const out = new Uint8Array(n);
  // Some inputs are zero-heavy so that A-sync and extension sequences get exercised.
  const zeros = rng.chance(0.3) ? 0.5 : 0;
  for (let i = 0; i < n; i++) out[i] = rng.chance(zeros) ? 0 : rng.below(256);
  return out;
}

/** Fuzzes the packet decoder; throws on the first violated guarantee. */
export function fuzzEtmPackets(opts: FuzzOptions): FuzzResult {
  const rng = new Rng(opts.seed);
  const result: FuzzResult = { iterations: 0, bytes: 0, packets: 0, errors: 0 };
  for (let it = 0; it < opts.iterations; it++) {
    const cfg = rng.pick(FUZZ_CONFIGS);
    const kind = rng.below(4);
    let input: Uint8Array;
    let specs: Etm4PacketSpec[] | undefined;
    if (kind === 0) {
      const s = randomPacketStream(rng, cfg, rng.range(1, 60));
      input = s.bytes;
      specs = s.specs;
    } else if (kind === 1) input = mutate(rng, randomPacketStream(rng, cfg, rng.range(1, 60)).bytes);
    else if (kind === 2) input = randomBytes(rng, rng.range(0, 200));
    else {
      // Unsynchronised garbage, then a valid stream.
      const s = randomPacketStream(rng, cfg, rng.range(1, 30)).bytes;
      const g = randomBytes(rng, rng.range(0, 40));
      input = new Uint8Array(g.length + s.length);
      input.set(g);
      input.set(s, g.length);
    }
    let whole: Captured;
    let split: Captured;
    try {
      whole = capture(cfg, [input], specs !== undefined);
      split = capture(cfg, randomChunks(rng, input, 7), false);
    } catch (e) {
      fail(`decoder threw ${(e as Error).stack ?? String(e)}`, opts.seed, it, input);
    }
    if (whole.byteCount !== input.length) fail(`packets cover ${whole.byteCount} of ${input.length} bytes`, opts.seed, it, input);
    for (const p of whole.packets) if (!(p.index >= 0 && p.index < input.length)) fail(`packet index ${p.index} outside the input`, opts.seed, it, input);
    for (const e of whole.errors) {
      if (!(e.offset >= 0 && e.offset < input.length)) fail(`error offset ${e.offset} (${e.code}) outside the input`, opts.seed, it, input);
      if (e.traceId !== cfg.traceId) fail(`error without the trace ID: ${JSON.stringify(e)}`, opts.seed, it, input);
    }
    if (JSON.stringify(whole.packets) !== JSON.stringify(split.packets) || JSON.stringify(whole.errors) !== JSON.stringify(split.errors)) {
      fail('output depends on how the input is split into chunks', opts.seed, it, input);
    }
    if (specs !== undefined) {
      if (whole.errors.length > 0) fail(`valid stream gave errors: ${whole.errors[0]!.message}`, opts.seed, it, input);
      if (JSON.stringify(whole.specs, bigintJson) !== JSON.stringify(specs, bigintJson)) {
        const i = whole.specs.findIndex((s, k) => JSON.stringify(s, bigintJson) !== JSON.stringify(specs![k], bigintJson));
        fail(`packet ${i} decodes to ${JSON.stringify(whole.specs[i], bigintJson)}, encoded ${JSON.stringify(specs[i], bigintJson)}`, opts.seed, it, input);
      }
    }
    result.iterations++;
    result.bytes += input.length;
    result.packets += whole.packets.length;
    result.errors += whole.errors.length;
    if (opts.log && (it + 1) % 10000 === 0) opts.log(`${it + 1} inputs`);
  }
  return result;
}

/** JSON.stringify replacer: bigints as hex, object keys sorted (so key order does not matter). */
export function bigintJson(_k: string, v: unknown): unknown {
  if (typeof v === 'bigint') return '0x' + v.toString(16);
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]));
  }
  return v;
}

/** Fuzzes the frame formatter/deformatter pair and the deformatter on broken input. */
export function fuzzCoresightFrames(opts: FuzzOptions): FuzzResult {
  const rng = new Rng(opts.seed);
  const result: FuzzResult = { iterations: 0, bytes: 0, packets: 0, errors: 0 };
  for (let it = 0; it < opts.iterations; it++) {
    const tpiu = rng.chance(0.4);
    const ids = Array.from({ length: rng.range(1, 4) }, () => rng.range(1, 0x6f));
    const fmt = new FrameFormatter(new ByteBuffer(256), { mode: tpiu ? 'tpiu' : 'memory', fsyncEvery: rng.range(1, 4) });
    const sent = new Map<number, number[]>();
    for (let k = rng.range(0, 30); k > 0; k--) {
      const id = rng.pick(ids);
      const data = randomBytes(rng, rng.range(1, 20));
      fmt.write(id, data);
      const list = sent.get(id) ?? [];
      list.push(...data);
      sent.set(id, list);
    }
    fmt.flush();
    const framed = fmt.output.view().slice();
    const broken = rng.chance(0.5);
    const input = broken ? (rng.chance(0.5) ? mutate(rng, framed) : randomBytes(rng, rng.range(0, 100))) : framed;
    const got = new Map<number, number[]>();
    let dataBytes = 0;
    const errors: DecodeError[] = [];
    try {
      const df = new FrameDeformatter(
        {
          data(id, index, buf, s, e) {
            if (!(index >= 0 && index < input.length)) fail(`run index ${index} outside the input`, opts.seed, it, input);
            dataBytes += e - s;
            const list = got.get(id) ?? [];
            for (let i = s; i < e; i++) list.push(buf[i]!);
            got.set(id, list);
          },
          error(e) {
            errors.push(e);
          },
        },
        { mode: tpiu ? 'tpiu' : 'memory', hsync: tpiu && rng.chance(0.5) },
      );
      for (const ch of randomChunks(rng, input, 40)) df.push(ch);
      df.end();
      // The same bytes through the demux into packet decoders must not throw either.
      const demux = new CoresightDemux({ immediate: rng.chance(0.5) });
      for (const id of new Set(ids)) demux.attach(id, new Etm4PacketDecoder(FUZZ_CONFIGS[0]!, { packet() {}, error() {} }, id));
      const df2 = new FrameDeformatter(demux, { mode: tpiu ? 'tpiu' : 'memory' });
      for (const ch of randomChunks(rng, input, 64)) {
        df2.push(ch);
        demux.flush();
      }
      df2.end();
      demux.end();
    } catch (e) {
      fail(`frame layer threw ${(e as Error).stack ?? String(e)}`, opts.seed, it, input);
    }
    for (const e of errors) if (!(e.offset >= 0 && e.offset <= input.length)) fail(`error offset ${e.offset} outside the input`, opts.seed, it, input);
    if (dataBytes > input.length) fail(`more data out (${dataBytes}) than bytes in`, opts.seed, it, input);
    if (!broken) {
      if (errors.length > 0) fail(`valid frames gave an error: ${errors[0]!.message}`, opts.seed, it, input);
      for (const [id, bytes] of sent) {
        const back = got.get(id) ?? [];
        if (back.length !== bytes.length || back.some((b, i) => b !== bytes[i])) fail(`ID 0x${id.toString(16)} did not deframe to what was sent`, opts.seed, it, input);
      }
      for (const id of got.keys()) if (id !== 0 && !sent.has(id)) fail(`data appeared for ID 0x${id.toString(16)} that was never sent`, opts.seed, it, input);
    }
    result.iterations++;
    result.bytes += input.length;
    result.packets += dataBytes;
    result.errors += errors.length;
    if (opts.log && (it + 1) % 10000 === 0) opts.log(`${it + 1} inputs`);
  }
  return result;
}
