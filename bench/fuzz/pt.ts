// Fuzzing the Intel PT packet decoder: random bytes, PSB-heavy byte soup, and valid streams
// from hwtrace's encoder with bits flipped, bytes inserted or deleted, and tails cut off, each
// decoded in random chunk sizes. Throws on the first violation:
// - an exception escaping the decoder;
// - an error offset or packet outside the input;
// - the decoder not advancing (more next() calls than the input can explain);
// - a chunked decode that differs from the whole-buffer decode;
// - an unmutated stream that does not decode back to the packets that made it.
// `npm run fuzz -- --target pt --iterations N` runs it long; the tests run it for seconds.

import type { DecodeError } from '../../arch/common/errors.js';
import {
  CFE_TYPE_NAMES, IPC_FULL, IPC_SEXT_48, IPC_SUPPRESSED, IPC_UPDATE_16, IPC_UPDATE_32, IPC_UPDATE_48,
  PT_CFE, PT_END, PT_ERROR, PT_EVD, PT_MORE, PT_PSB, PT_TRIG, PT_TYPE_COUNT, PtEncoder,
  PtPacket, PtPacketDecoder, formatPacketSpec, type PtDecoderOptions,
} from '../../arch/x86/index.js';
import { Rng } from '../../sim/rng.js';

export interface RandomPacketOptions {
  /** Include CFE and EVD (default true). */
  eventTrace?: boolean;
  /** Include TRIG (default true). */
  trig?: boolean;
  /** Only field values libipt 2.0.5 represents: no MODE.Exec IF bit, no PWRX timer wake (default false). */
  libipt20?: boolean;
}

const IPCS = [IPC_SUPPRESSED, IPC_UPDATE_16, IPC_UPDATE_32, IPC_SEXT_48, IPC_UPDATE_48, IPC_FULL];
const CFE_TYPES = Object.keys(CFE_TYPE_NAMES).map(Number);

/** A random value below 2^bits as [lo, hi] (bits ≤ 64). */
function randomBits(r: Rng, bits: number): [number, number] {
  const lo = bits >= 32 ? r.nextU32() : bits === 0 ? 0 : r.below(2 ** bits);
  const hi = bits > 32 ? (bits >= 64 ? r.nextU32() : r.below(2 ** (bits - 32))) : 0;
  return [lo, hi];
}

/** Small values are more interesting than uniform ones: bias toward few significant bits. */
function randomWidth(r: Rng, max: number): number {
  return r.chance(0.5) ? r.range(0, max) : r.range(0, Math.min(max, 12));
}

/** A random valid packet of `type` (every field in range). */
export function randomPtPacket(r: Rng, type: number, o: RandomPacketOptions = {}): PtPacket {
  const p = new PtPacket();
  p.type = type;
  switch (PT_TYPE_NAMES[type]) {
    case 'fup': case 'tip': case 'tip.pge': case 'tip.pgd': {
      p.ipc = r.pick(IPCS);
      const bytes = [0, 2, 4, 6, 6, 0, 8][p.ipc]!;
      [p.lo, p.hi] = randomBits(r, bytes * 8);
      break;
    }
    case 'tnt.8':
      p.bits = r.range(1, 6);
      [p.lo, p.hi] = randomBits(r, p.bits);
      break;
    case 'tnt.64':
      p.bits = r.range(1, 47);
      [p.lo, p.hi] = randomBits(r, p.bits);
      break;
    case 'mode.exec':
      p.csl = r.below(2); p.csd = r.below(2); p.iflag = o.libipt20 ? 0 : r.below(2);
      break;
    case 'mode.tsx':
      p.intx = r.below(2); p.abrt = r.below(2);
      break;
    case 'pip':
      p.cr3 = r.below(2 ** 21) * 2 ** 31 + r.below(2 ** 26) * 32; p.nr = r.below(2);
      break;
    case 'vmcs':
      p.vmcs = r.below(2 ** 20) * 2 ** 32 + r.below(2 ** 20) * 4096;
      break;
    case 'cbr':
      p.ratio = r.below(256);
      break;
    case 'tsc':
      [p.lo, p.hi] = randomBits(r, r.chance(0.7) ? 56 : randomWidth(r, 56));
      break;
    case 'tma':
      p.ctc = r.below(0x10000); p.fc = r.below(0x200);
      break;
    case 'mtc':
      p.ctc = r.below(256);
      break;
    case 'cyc':
      [p.lo, p.hi] = randomBits(r, randomWidth(r, 61));
      break;
    case 'mnt':
      [p.lo, p.hi] = randomBits(r, 64);
      break;
    case 'exstop':
      p.ipFlag = r.below(2);
      break;
    case 'mwait':
      p.hints = r.nextU32(); p.ext = r.nextU32();
      break;
    case 'pwre':
      p.state = r.below(16); p.subState = r.below(16); p.hw = r.below(2);
      p.lo = (p.hw << 7) | (p.subState << 8) | (p.state << 12);
      break;
    case 'pwrx':
      p.last = r.below(16); p.deepest = r.below(16);
      p.wake = o.libipt20 ? r.below(16) & 0b1101 : r.below(16);
      break;
    case 'ptw':
      p.plc = r.below(2); p.ipFlag = r.below(2);
      [p.lo, p.hi] = randomBits(r, p.plc ? 64 : 32);
      break;
    case 'cfe':
      p.cfeType = r.pick(CFE_TYPES); p.vector = r.below(256); p.ipFlag = r.below(2);
      break;
    case 'evd':
      p.evdType = r.below(3);
      [p.lo, p.hi] = randomBits(r, 64);
      break;
    case 'trig':
      p.trbv = r.below(256); p.ipFlag = r.below(2); p.mult = r.below(2); p.icntv = r.below(2);
      p.icnt = p.icntv ? r.below(0x10000) : 0;
      break;
    default:
      break;
  }
  return p;
}

const PT_TYPE_NAMES: readonly string[] = [
  'pad', 'psb', 'psbend', 'fup', 'tip', 'tip.pge', 'tip.pgd', 'tnt.8', 'tnt.64', 'mode.exec',
  'mode.tsx', 'pip', 'vmcs', 'cbr', 'tsc', 'tma', 'mtc', 'cyc', 'stop', 'ovf', 'mnt', 'exstop',
  'mwait', 'pwre', 'pwrx', 'ptw', 'cfe', 'evd', 'trig',
];

/** The packet types a stream may hold under these options. */
export function ptPacketTypes(o: RandomPacketOptions = {}): number[] {
  const types: number[] = [];
  for (let t = 0; t < PT_TYPE_COUNT; t++) {
    if (o.eventTrace === false && (t === PT_CFE || t === PT_EVD)) continue;
    if (o.trig === false && t === PT_TRIG) continue;
    types.push(t);
  }
  return types;
}

/** A random packet sequence starting with a PSB (PSBs recur at random), and its encoding. */
export function randomPtStream(r: Rng, count: number, o: RandomPacketOptions = {}): { packets: PtPacket[]; bytes: Uint8Array } {
  const types = ptPacketTypes(o).filter((t) => t !== PT_PSB);
  const enc = new PtEncoder();
  const packets: PtPacket[] = [];
  const add = (p: PtPacket): void => {
    enc.encode(p);
    packets.push(p);
  };
  const psb = new PtPacket();
  psb.type = PT_PSB;
  add(psb);
  for (let i = 1; i < count; i++) {
    if (r.chance(0.03)) add(psb.clone());
    else add(randomPtPacket(r, r.pick(types), o));
  }
  return { packets, bytes: enc.bytes().slice() };
}

type Item = { kind: 'packet'; offset: number; size: number; text: string } | { kind: 'error'; error: DecodeError };

/** Decodes `input` fed in chunks of `chunkSizes` (cycled); checks the decoder's invariants. */
function decodeChecked(input: Uint8Array, chunkSizes: number[], options: PtDecoderOptions, make: DecoderFactory): Item[] {
  const dec = make(options);
  const items: Item[] = [];
  const len = input.length;
  // Each byte can start at most one packet per sync attempt and each error moves the next sync
  // point forward, so this bounds honest work generously; more means the decoder stalls.
  const budget = 40 * (len + 16) + 4 * chunkSizes.length + 64;
  let calls = 0;
  const drain = (): number => {
    for (;;) {
      if (++calls > budget) throw new Error(`decoder does not advance: ${calls} next() calls on ${len} bytes`);
      const t = dec.next();
      if (t >= 0) {
        const p = dec.packet;
        if (!(p.offset >= 0 && p.size >= 1 && p.offset + p.size <= len)) {
          throw new Error(`packet ${p.mnemonic} at ${p.offset}+${p.size} lies outside the ${len}-byte input`);
        }
        const bytes = dec.packetBytes();
        if (bytes.length !== p.size || bytes[0] !== input[p.offset]) throw new Error(`packetBytes() of ${p.mnemonic} at ${p.offset} do not match the input`);
        items.push({ kind: 'packet', offset: p.offset, size: p.size, text: formatPacketSpec(p) });
      } else if (t === PT_ERROR) {
        const e = dec.error!;
        if (!(e.offset >= 0 && e.offset < len)) throw new Error(`error ${e.code} at offset ${e.offset} lies outside the ${len}-byte input`);
        if (typeof e.message !== 'string' || e.message === '') throw new Error(`error ${e.code} at ${e.offset} has no message`);
        items.push({ kind: 'error', error: e });
      } else {
        return t;
      }
    }
  };
  let pos = 0;
  let k = 0;
  while (pos < len) {
    const n = Math.min(len - pos, chunkSizes[k++ % chunkSizes.length]!);
    dec.push(input.subarray(pos, pos + n));
    pos += n;
    const t = drain();
    if (t === PT_END) throw new Error('decoder ended before end() was called');
    if (t !== PT_MORE) throw new Error(`unexpected status ${t}`);
  }
  dec.end();
  if (drain() !== PT_END) throw new Error('decoder did not end after end()');
  if (dec.next() !== PT_END) throw new Error('PT_END is not sticky');
  if (dec.skippedBytes < 0 || dec.skippedBytes > len) throw new Error(`skippedBytes ${dec.skippedBytes} outside 0..${len}`);
  return items;
}

function sameItems(a: Item[], b: Item[]): string | undefined {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i];
    const y = b[i];
    const sx = x === undefined ? 'nothing' : x.kind === 'packet' ? `${x.offset} ${x.text}` : `${x.error.offset} error ${x.error.code}`;
    const sy = y === undefined ? 'nothing' : y.kind === 'packet' ? `${y.offset} ${y.text}` : `${y.error.offset} error ${y.error.code}`;
    if (sx !== sy) return `item ${i}: ${sx} vs ${sy}`;
  }
  return undefined;
}

const INTERESTING = [
  0x00, 0x02, 0x19, 0x59, 0x99, 0xd9, 0x82, 0x23, 0xa3, 0x43, 0x03, 0x73, 0x83, 0xc8, 0xf3, 0xc3, 0x88,
  0x62, 0xe2, 0xc2, 0x22, 0xa2, 0x12, 0x32, 0x52, 0x72, 0x13, 0x53, 0x0d, 0xad, 0xed, 0x11, 0x01, 0x1d,
  0x07, 0xff, 0x04,
];

/** Random bytes rich in PT opcodes and PSB pieces. */
export function randomPtBytes(r: Rng): Uint8Array {
  const n = r.range(0, 300);
  const out: number[] = [];
  while (out.length < n) {
    const k = r.below(12);
    if (k === 0) for (let i = 0; i < 8; i++) out.push(0x02, 0x82);
    else if (k === 1) out.push(0x02, 0x82);
    else if (k < 6) out.push(r.pick(INTERESTING));
    else out.push(r.below(256));
  }
  return Uint8Array.from(out.slice(0, n + 16));
}

/** `bytes` with a few bits flipped, bytes replaced, inserted or deleted, or the tail cut. */
export function mutatePtBytes(r: Rng, bytes: Uint8Array): Uint8Array {
  const out = Array.from(bytes);
  const edits = r.range(1, 4);
  for (let i = 0; i < edits && out.length > 0; i++) {
    const at = r.below(out.length);
    switch (r.below(5)) {
      case 0: out[at] = out[at]! ^ (1 << r.below(8)); break;
      case 1: out[at] = r.pick(INTERESTING); break;
      case 2: out.splice(at, 0, r.below(256)); break;
      case 3: out.splice(at, r.range(1, 8)); break;
      default: out.length = at; break;
    }
  }
  return Uint8Array.from(out);
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

export type DecoderFactory = (options: PtDecoderOptions) => PtPacketDecoder;

export interface PtFuzzOptions {
  iterations: number;
  seed: number;
  log?: (s: string) => void;
  /** The decoder under test (default: PtPacketDecoder); lets tests check the fuzzer itself. */
  decoder?: DecoderFactory;
}

export interface PtFuzzResult {
  iterations: number;
  /** Decode errors reported (expected: most inputs are malformed). */
  errors: number;
  packets: number;
  bytes: number;
  /** Valid streams that decoded back to the packets that made them. */
  roundTrips: number;
}

/** Runs the fuzzer; throws (naming the seed, iteration and input) on any violation. */
export function fuzzPtPackets(opts: PtFuzzOptions): PtFuzzResult {
  const r = new Rng(opts.seed);
  const make: DecoderFactory = opts.decoder ?? ((o) => new PtPacketDecoder(o));
  const result: PtFuzzResult = { iterations: 0, errors: 0, packets: 0, bytes: 0, roundTrips: 0 };
  const every = Math.max(1, Math.floor(opts.iterations / 10));
  for (let i = 0; i < opts.iterations; i++) {
    const kind = r.below(4);
    const options: PtDecoderOptions = { eventTrace: r.chance(0.8), trig: r.chance(0.8), noSync: r.chance(0.1) };
    let input: Uint8Array;
    let expected: PtPacket[] | undefined;
    if (kind === 0) {
      input = randomPtBytes(r);
    } else {
      const s = randomPtStream(r, r.range(1, 60), options);
      input = kind === 1 ? s.bytes : mutatePtBytes(r, s.bytes);
      if (kind === 1) expected = s.packets;
    }
    const chunking = r.chance(0.5) ? [r.range(1, 40)] : [r.range(1, 5), r.range(1, 80), r.range(1, 3)];
    let whole: Item[];
    try {
      whole = decodeChecked(input, [Math.max(1, input.length)], options, make);
      const chunked = decodeChecked(input, chunking, options, make);
      const diff = sameItems(whole, chunked);
      if (diff !== undefined) throw new Error(`chunks of ${chunking.join('/')} decode differently: ${diff}`);
      if (expected !== undefined) {
        const want = expected.map((p) => formatPacketSpec(p));
        const got = whole.map((x) => (x.kind === 'packet' ? x.text : `error ${x.error.code}`));
        // PSBs in a row: the first sync lands on the last of them, as libipt's does.
        let skip = 0;
        while (skip + 1 < want.length && want[skip + 1] === 'psb' && !options.noSync) skip++;
        const d = want.slice(skip).findIndex((w, j) => w !== got[j]);
        if (d >= 0 || got.length !== want.length - skip) {
          throw new Error(`valid stream did not round-trip at packet ${d}: want '${want[skip + d] ?? 'end'}', got '${got[d] ?? 'end'}'`);
        }
        result.roundTrips++;
      }
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      throw new Error(`fuzzPtPackets seed ${opts.seed} iteration ${i} (${JSON.stringify(options)}): ${msg}\ninput (${input.length} bytes): ${hex(input)}`);
    }
    for (const x of whole) {
      if (x.kind === 'packet') result.packets++;
      else result.errors++;
    }
    result.bytes += input.length;
    result.iterations++;
    if (opts.log !== undefined && (i + 1) % every === 0) opts.log(`${i + 1}/${opts.iterations} inputs, ${result.errors} decode errors, ${result.packets} packets`);
  }
  return result;
}
