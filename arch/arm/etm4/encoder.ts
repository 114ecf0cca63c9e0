// ETMv4/ETE packet encoder: the inverse of the decoder. encode(spec) writes one packet exactly as
// specified; the helpers address() and atoms() choose encodings as a trace unit does, keeping
// the same address history and context state the decoder will rebuild.

import { HwtraceError } from '../../common/errors.js';
import { ByteBuffer } from '../../common/stream.js';
import { AddressHistory } from './address-history.js';
import type { Etm4Config } from './config.js';
import type { ContextFields, Etm4PacketSpec } from './packet-spec.js';

function bad(what: string): never {
  throw new HwtraceError('bad_packet_spec', what);
}

function checkU32(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) bad(`${what}=${v} is not a 32-bit unsigned value`);
  return v >>> 0;
}

/** Atom patterns with a fixed-format encoding (header byte per count and bits). */
const F4 = new Map([
  [0xe, 0xdc],
  [0x0, 0xdd],
  [0xa, 0xde],
  [0x5, 0xdf],
]);
const F5 = new Map([
  [0x00, 0xd5],
  [0x0a, 0xd6],
  [0x15, 0xd7],
  [0x1e, 0xf5],
]);

/** The header byte of the atom packet for this pattern, or -1 if no atom packet encodes it. */
export function atomHeader(bits: number, count: number): number {
  const b = bits >>> 0;
  if (count >= 1 && count < 32 && b >>> count !== 0) return -1;
  switch (count) {
    case 1:
      return 0xf6 | b;
    case 2:
      return 0xd8 | b;
    case 3:
      return 0xf8 | b;
    case 4:
      if (F4.has(b)) return F4.get(b)!;
      break;
    case 5:
      if (F5.has(b)) return F5.get(b)!;
      break;
    default:
      break;
  }
  // F6: (count-1) E atoms then E or N, for 4..24 atoms.
  if (count >= 4 && count <= 24) {
    const es = count - 1;
    const allE = (2 ** es - 1) >>> 0;
    if ((b & allE) === allE) return ((b >>> es) & 1 ? 0xc0 : 0xe0) | (es - 3);
  }
  return -1;
}

export class Etm4PacketEncoder {
  readonly config: Etm4Config;
  readonly out: ByteBuffer;
  /** Mirror of the decoder's address state. */
  readonly history = new AddressHistory();
  addrHi = 0;
  addrLo = 0;
  addrIs = 0;
  private ctxtValid = false;
  private sf = 0;
  private readonly ete: boolean;

  constructor(config: Etm4Config, out: ByteBuffer = new ByteBuffer(1 << 16)) {
    this.config = config;
    this.out = out;
    this.ete = config.major >= 5;
  }

  /** Writes one packet exactly as specified. */
  encode(s: Etm4PacketSpec): void {
    switch (s.kind) {
      case 'async':
        return this.async();
      case 'discard':
        return this.bytes(0x00, 0x03);
      case 'overflow':
        return this.bytes(0x00, 0x05);
      case 'traceInfo':
        return this.traceInfo(s);
      case 'timestamp':
        return this.timestamp(s.value, s.bytes, s.cycleCount);
      case 'traceOn':
        return this.byte(0x04);
      case 'funcRet':
        return this.byte(0x05);
      case 'exceptionReturn':
        return this.byte(0x07);
      case 'transStart':
        return this.byte(0x0a);
      case 'transCommit':
        return this.byte(0x0b);
      case 'ignore':
        return this.byte(0x70);
      case 'tsMarker':
        return this.byte(0x88);
      case 'event':
        if (!(s.events >= 1 && s.events <= 15)) bad(`event mask ${s.events} must be 1..15`);
        return this.byte(0x70 | s.events);
      case 'exception':
        return this.exception(s.type, s.addrInterp, s.faultPending ?? 0, s.long ?? false);
      case 'ccntF1':
        return this.ccntF1(s.count, s.commit);
      case 'ccntF2': {
        if (!(s.count >= 0 && s.count <= 15)) bad(`CCNT F2 count field ${s.count} must be 0..15`);
        const c = this.config.commitOpt1 ? 0 : (s.commit ?? 0);
        if (!(c >= 0 && c <= 15)) bad(`CCNT F2 commit field ${c} must be 0..15`);
        return this.bytes(s.adjust ? 0x0d : 0x0c, (c << 4) | s.count);
      }
      case 'ccntF3': {
        if (!(s.count >= 0 && s.count <= 3)) bad(`CCNT F3 count ${s.count} must be 0..3`);
        const c = this.config.commitOpt1 ? 1 : (s.commit ?? 1);
        if (!(c >= 1 && c <= 4)) bad(`CCNT F3 commit ${c} must be 1..4`);
        return this.byte(0x10 | ((c - 1) << 2) | s.count);
      }
      case 'commit':
        this.byte(0x2d);
        return this.cont(s.commit);
      case 'cancelF1':
        this.byte(s.mispredict ? 0x2f : 0x2e);
        return this.cont(s.cancel);
      case 'mispredict':
        return this.byte(0x30 | (s.atoms & 3));
      case 'cancelF2':
        return this.byte(0x34 | (s.atoms & 3));
      case 'cancelF3':
        if (!(s.cancel >= 2 && s.cancel <= 5)) bad(`Cancel F3 count ${s.cancel} must be 2..5`);
        return this.byte(0x38 | ((s.cancel - 2) << 1) | (s.atomE ? 1 : 0));
      case 'contextSame':
        this.ctxtValid = true;
        return this.byte(0x80);
      case 'context':
        this.byte(0x81);
        return this.contextInfo(s);
      case 'addrContext':
        this.byte(s.wide ? (s.is ? 0x86 : 0x85) : s.is ? 0x83 : 0x82);
        if (s.wide) this.long64(s.hi, s.lo, s.is);
        else this.long32(s.lo, s.is);
        return this.contextInfo(s);
      case 'addrMatch':
        if (!(s.index >= 0 && s.index <= 2)) bad(`exact match index ${s.index} must be 0..2`);
        this.byte((s.source ? 0xb0 : 0x90) | s.index);
        return this.matched(s.index);
      case 'addrShort':
        this.byte(s.source ? 0xb4 | s.is : 0x95 + s.is);
        return this.short(s.value, s.is, s.twoBytes);
      case 'addrLong':
        if (s.wide) {
          this.byte(s.source ? 0xb8 | s.is : 0x9d + s.is);
          return this.long64(s.hi, s.lo, s.is);
        }
        this.byte(s.source ? 0xb6 | s.is : 0x9a + s.is);
        return this.long32(s.lo, s.is);
      case 'q':
        return this.q(s);
      case 'atom': {
        const h = atomHeader(s.bits, s.count);
        if (h < 0) bad(`no atom packet encodes ${s.count} atoms 0x${s.bits.toString(16)}`);
        return this.byte(h);
      }
      case 'ite': {
        this.byte(0x09);
        this.byte(s.el & 0xff);
        this.u32(checkU32(s.lo, 'ITE lo'));
        return this.u32(checkU32(s.hi, 'ITE hi'));
      }
    }
  }

  // --- trace-unit helpers ------------------------------------------------------------------

  /** A-sync packet. */
  async(): void {
    const b = this.out;
    const p = b.reserve(12);
    b.buf.fill(0, p, p + 11);
    b.buf[p + 11] = 0x80;
    b.length = p + 12;
  }

  /** Trace Info; resets the address state (as the decoder does). */
  traceInfo(s: { info?: number; key?: number; spec?: number; cyct?: number }): void {
    let present = 0;
    if (s.info !== undefined) present |= 1;
    if (s.key !== undefined) present |= 2;
    if (s.spec !== undefined) present |= 4;
    if (s.cyct !== undefined) present |= 8;
    this.bytes(0x01, present);
    if (s.info !== undefined) this.cont(s.info);
    if (s.key !== undefined) this.cont(s.key);
    if (s.spec !== undefined) this.cont(s.spec);
    if (s.cyct !== undefined) this.cont(s.cyct);
    this.history.clear();
    this.addrHi = this.addrLo = this.addrIs = 0;
  }

  /** Timestamp of `bytes` 7-bit groups (9: all 64 bits), optionally with a cycle count. */
  timestamp(value: bigint, bytes: number, cycleCount?: number): void {
    if (!(Number.isInteger(bytes) && bytes >= 1 && bytes <= 9)) bad(`timestamp byte count ${bytes} must be 1..9`);
    const limit = bytes === 9 ? 1n << 64n : 1n << BigInt(7 * bytes);
    if (value < 0n || value >= limit) bad(`timestamp value 0x${value.toString(16)} does not fit in ${bytes} bytes`);
    this.timestampParts(Number(value >> 32n), Number(value & 0xffffffffn), bytes, cycleCount);
  }

  /** The shortest timestamp packet that brings `prev` to `next` (both < 2^53); no BigInt. */
  timestampUpdate(prev: number, next: number, cycleCount?: number): void {
    let bytes = 8;
    for (let n = 1; n < 8; n++) {
      const m = 2 ** (7 * n);
      if (Math.floor(prev / m) === Math.floor(next / m)) {
        bytes = n;
        break;
      }
    }
    const value = bytes === 8 ? next : next % 2 ** (7 * bytes);
    this.timestampParts(Math.floor(value / 4294967296), value >>> 0, bytes, cycleCount);
  }

  /** Timestamp field from its high and low 32-bit halves (already checked to fit). */
  private timestampParts(hi: number, lo: number, bytes: number, cycleCount: number | undefined): void {
    this.byte(cycleCount === undefined ? 0x02 : 0x03);
    for (let i = 0; i < bytes; i++) {
      const shift = 7 * i;
      // Bits [shift+7:shift] of the 64-bit value hi:lo.
      let v: number;
      if (shift >= 32) v = hi >>> (shift - 32);
      else if (shift > 24) v = (lo >>> shift) | (hi << (32 - shift));
      else v = lo >>> shift;
      if (i === 8) {
        this.byte(v & 0xff);
        break;
      }
      this.byte((v & 0x7f) | (i === bytes - 1 ? 0 : 0x80));
    }
    if (cycleCount !== undefined) {
      if (!(cycleCount >= 0 && cycleCount < 2 ** Math.min(21, this.config.ccSize))) bad(`cycle count ${cycleCount} does not fit the ${this.config.ccSize}-bit counter`);
      this.cont(cycleCount);
    }
  }

  exception(type: number, addrInterp: number, faultPending = 0, long = false): void {
    if (!(Number.isInteger(type) && type >= 0 && type < 1024)) bad(`exception type ${type} must be 0..1023`);
    if (!(addrInterp >= 0 && addrInterp <= 3)) bad(`exception address interpretation ${addrInterp} must be 0..3`);
    const forced = this.ete && ((type & 0x1f) === 0 || (type & 0x1f) === 0x18);
    const three = long || forced || type > 0x1f || faultPending !== 0;
    const b1 = (three ? 0x80 : 0) | ((addrInterp & 2) << 5) | ((type & 0x1f) << 1) | (addrInterp & 1);
    this.bytes(0x06, b1);
    if (three) this.byte(((type >> 5) & 0x1f) | ((faultPending & 1) << 5));
    if (this.ete && (type === 0 || type === 0x18)) this.push(0, 0, 0);
  }

  ccntF1(count: number | undefined, commit: number | undefined): void {
    this.byte(count === undefined ? 0x0f : 0x0e);
    if (!this.config.commitOpt1) this.cont(commit ?? 0);
    if (count !== undefined) {
      if (!(count >= 0 && count < 2 ** 21)) bad(`cycle count ${count} does not fit 3 bytes`);
      this.cont(count);
    }
  }

  /** Writes the shortest atom packets for `count` atoms (bit 0 oldest, 1 = E). */
  atoms(bits: number, count: number): void {
    let b = bits >>> 0;
    let n = count;
    while (n > 0) {
      // Longest run of E atoms then one more atom: Atom F6 takes 4..24 atoms.
      let es = 0;
      while (es < n && es < 23 && (b >>> es) & 1) es++;
      if (es >= 3 && es < n) {
        this.byte(((b >>> es) & 1 ? 0xc0 : 0xe0) | (es - 3));
        b = es + 1 >= 32 ? 0 : b >>> (es + 1);
        n -= es + 1;
        continue;
      }
      if (es >= 4 && es === n) {
        // All E: F6 with a final E.
        this.byte(0xc0 | (es - 4));
        n = 0;
        continue;
      }
      const k = n >= 3 ? 3 : n;
      const h = atomHeader(b & ((1 << k) - 1), k);
      this.byte(h);
      b >>>= k;
      n -= k;
    }
  }

  /**
   * Writes an address the way a trace unit compresses it: exact match when it is in the
   * history, short when only low bits changed, else long (32-bit when that is enough).
   */
  address(hi: number, lo: number, is: number): void {
    const align = is ? 1 : 3;
    if ((lo & align) !== 0) bad(`address 0x${lo.toString(16)} is not ${is ? 'halfword' : 'word'}-aligned for IS${is}`);
    const h = this.history;
    for (let i = 0; i < 3; i++) {
      const k = h.slot(i);
      if (h.hi[k] === hi && h.lo[k] === (lo | 0) && h.is[k] === is) {
        this.byte(0x90 | i);
        this.matched(i);
        return;
      }
    }
    if (hi === this.addrHi && is === this.addrIs) {
      const small = is ? 8 : 9;
      if (lo >>> small === this.addrLo >>> small) {
        this.byte(0x95 + is);
        this.short(lo & ((1 << small) - 1), is, false);
        return;
      }
      if (lo >>> (small + 8) === this.addrLo >>> (small + 8)) {
        this.byte(0x95 + is);
        this.short(lo & ((1 << (small + 8)) - 1), is, true);
        return;
      }
    }
    const keepsHi = this.ctxtValid && this.sf === 1;
    if ((keepsHi && hi === this.addrHi) || (!keepsHi && hi === 0)) {
      this.byte(0x9a + is);
      this.long32(lo, is);
      return;
    }
    this.byte(0x9d + is);
    this.long64(hi, lo, is);
  }

  // --- field writers -----------------------------------------------------------------------

  private byte(b: number): void {
    this.out.push(b);
  }

  private bytes(a: number, b: number): void {
    const o = this.out;
    const p = o.reserve(2);
    o.buf[p] = a;
    o.buf[p + 1] = b;
    o.length = p + 2;
  }

  private u32(v: number): void {
    this.byte(v & 0xff);
    this.byte((v >>> 8) & 0xff);
    this.byte((v >>> 16) & 0xff);
    this.byte(v >>> 24);
  }

  /** Continuation field, shortest form (up to 32 bits). */
  private cont(v: number): void {
    let x = checkU32(v, 'field');
    for (;;) {
      const more = x >= 0x80;
      this.byte((x & 0x7f) | (more ? 0x80 : 0));
      if (!more) return;
      x = Math.floor(x / 128);
    }
  }

  private contextInfo(c: ContextFields): void {
    const cfg = this.config;
    if (c.vmid !== undefined && cfg.vmidBytes === 0) bad('VMID given but the configuration traces no VMID');
    if (c.contextId !== undefined && cfg.cidBytes === 0) bad('context ID given but the configuration traces no context ID');
    const info = (c.el & 3) | ((c.nse & 1) << 3) | ((c.sf & 1) << 4) | ((c.ns & 1) << 5) | (c.vmid !== undefined ? 0x40 : 0) | (c.contextId !== undefined ? 0x80 : 0);
    this.byte(info);
    if (c.vmid !== undefined) {
      const v = checkU32(c.vmid, 'VMID');
      if (cfg.vmidBytes < 4 && v >= 2 ** (8 * cfg.vmidBytes)) bad(`VMID ${v} does not fit ${cfg.vmidBytes} byte(s)`);
      for (let i = 0; i < cfg.vmidBytes; i++) this.byte((v >>> (8 * i)) & 0xff);
    }
    if (c.contextId !== undefined) this.u32(checkU32(c.contextId, 'context ID'));
    this.ctxtValid = true;
    this.sf = c.sf & 1;
  }

  private short(value: number, is: number, twoBytes: boolean): void {
    const shift = is ? 1 : 2;
    const bits = (twoBytes ? 15 : 7) + shift;
    if (!(value >= 0 && value < 2 ** bits) || (value & ((1 << shift) - 1)) !== 0) bad(`short address bits 0x${value.toString(16)} do not fit a ${twoBytes ? 2 : 1}-byte IS${is} field`);
    const b1 = (value >>> shift) & 0x7f;
    if (twoBytes) {
      this.byte(b1 | 0x80);
      this.byte((value >>> (7 + shift)) & 0xff);
    } else this.byte(b1);
    const mask = (2 ** bits - 1) >>> 0;
    this.addrLo = ((this.addrLo & ~mask) | value) >>> 0;
    this.addrIs = is;
    this.history.push(this.addrHi, this.addrLo, is, 0);
  }

  private long32(lo: number, is: number): void {
    const v = checkU32(lo, 'address');
    if ((v & (is ? 1 : 3)) !== 0) bad(`address 0x${v.toString(16)} is not aligned for IS${is}`);
    if (is) {
      this.byte((v >>> 1) & 0x7f);
      this.byte((v >>> 8) & 0xff);
    } else {
      this.byte((v >>> 2) & 0x7f);
      this.byte((v >>> 9) & 0x7f);
    }
    this.byte((v >>> 16) & 0xff);
    this.byte(v >>> 24);
    if (!(this.ctxtValid && this.sf)) this.addrHi = 0;
    this.addrLo = v;
    this.addrIs = is;
    this.history.push(this.addrHi, v, is, 0);
  }

  private long64(hi: number, lo: number, is: number): void {
    const v = checkU32(lo, 'address');
    if ((v & (is ? 1 : 3)) !== 0) bad(`address 0x${v.toString(16)} is not aligned for IS${is}`);
    if (is) {
      this.byte((v >>> 1) & 0x7f);
      this.byte((v >>> 8) & 0xff);
    } else {
      this.byte((v >>> 2) & 0x7f);
      this.byte((v >>> 9) & 0x7f);
    }
    this.byte((v >>> 16) & 0xff);
    this.byte(v >>> 24);
    this.u32(checkU32(hi, 'address high half'));
    this.push(hi >>> 0, v, is);
  }

  private push(hi: number, lo: number, is: number): void {
    this.addrHi = hi;
    this.addrLo = lo;
    this.addrIs = is;
    this.history.push(hi, lo, is, 0);
  }

  private matched(i: number): void {
    const h = this.history;
    const k = h.slot(i);
    this.push(h.hi[k]!, h.lo[k]! >>> 0, h.is[k]!);
  }

  private q(s: Extract<Etm4PacketSpec, { kind: 'q' }>): void {
    const t = s.qType;
    if (![0, 1, 2, 5, 6, 0xa, 0xb, 0xc, 0xf].includes(t)) bad(`Q type 0x${t.toString(16)} is reserved`);
    this.byte(0xa0 | t);
    if (t <= 2) this.matched(t);
    else if (t === 5 || t === 6) this.short(s.value ?? 0, t === 6 ? 1 : 0, s.twoBytes ?? false);
    else if (t === 0xa || t === 0xb) this.long32(s.lo ?? 0, t === 0xb ? 1 : 0);
    if (t !== 0xf) this.cont(s.count ?? 0);
  }
}
