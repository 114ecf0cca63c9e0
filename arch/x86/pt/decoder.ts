// Streaming Intel PT packet decoder. Bytes arrive as Uint8Array chunks (`push`), packets come
// out one per `next()` call into one reused PtPacket record; nothing is allocated per packet.
//
// Loop:   dec.push(chunk); while ((t = dec.next()) !== PT_MORE) { ...t >= 0: a packet... }
// At the end: dec.end(); then drain next() until PT_END.
//
// Like libipt's packet decoder (and ptdump): decoding starts at the first PSB (forward sync);
// a malformed packet is reported as a DecodeError (PT_ERROR, `dec.error`) at its first byte,
// and decoding resumes at the next PSB, searched from 15 bytes before the bad packet so that a
// PSB partly swallowed by a corrupt packet is still found. A packet cut off by the end of the
// trace is an `eos` error. Bytes covered by no packet are counted in `skippedBytes`.
//
// A packet may straddle two chunks: the unread tail of a chunk (plus 15 bytes of look-back
// for resync) is kept in a small carry buffer and joined with the head of the next chunk;
// decoding switches to the new chunk itself as soon as it is 15 bytes into it, so chunks are
// never copied whole.

import type { DecodeError } from '../../common/errors.js';
import { PtPacket } from './packet.js';
import {
  IP_PAYLOAD_SIZE, K_CYC, K_EXT, K_IP, K_MODE, K_MTC, K_PAD, K_TNT_8, OPC_TIP, OPC_TIP_PGD, OPC_TIP_PGE, OPM_TIP,
  K_TRIG, K_TSC, MAX_CYC_SIZE, MODE_LEAF_EXEC, MODE_LEAF_TSX, PT_CBR, PT_CFE, PT_CYC,
  PT_EVD, PT_EXSTOP, PT_FUP, PT_MNEMONICS, PT_MNT, PT_MODE_EXEC, PT_MODE_TSX, PT_MTC, PT_MWAIT, PT_OVF,
  PT_PAD, PT_PIP, PT_PSB, PT_PSBEND, PT_PTW, PT_PWRE, PT_PWRX, PT_STOP, PT_TIP, PT_TIP_PGD,
  PT_TIP_PGE, PT_TMA, PT_TNT_64, PT_TNT_8, PT_TRIG, PT_TSC, PT_VMCS, SIZE_CBR, SIZE_CFE, SIZE_EVD,
  SIZE_MNT, SIZE_MODE, SIZE_MTC, SIZE_MWAIT, SIZE_PIP, SIZE_PSB, SIZE_PWRE, SIZE_PWRX, SIZE_TMA,
  SIZE_TNT_64, SIZE_TSC, SIZE_VMCS, X_CBR, X_CFE, X_EVD, X_EXSTOP, X_EXT2, X_MWAIT, X_OVF, X_PIP,
  X_PSB, X_PSBEND, X_PTW, X_PWRE, X_PWRX, X_STOP, X_TMA, X_TNT_64, X_VMCS, EXT2_MNT,
  buildExtTable, buildHeaderTable,
} from './opcodes.js';
import { PSB_RUN_CHECK, isLastPsbOfRun } from './sync.js';

/** next(): feed more bytes with push(), or call end(). */
export const PT_MORE = -1;
/** next(): the stream is finished; every later call says so again. */
export const PT_END = -2;
/** next(): a decode error, in `decoder.error`; the next call resumes at the next PSB. */
export const PT_ERROR = -3;

export interface PtDecoderOptions {
  /** Decode from offset 0 instead of the first PSB (ptdump --no-sync). */
  noSync?: boolean;
  /** Decode the Event Trace packets CFE and EVD (default). False: their opcodes are unknown (libipt < 2.1). */
  eventTrace?: boolean;
  /** Decode TRIG (default). False: 0xd9 is an unknown opcode (libipt < 2.2). */
  trig?: boolean;
}

/** Bytes kept before the decode position, for the resync search after an error. */
const LOOKBACK = 15;
/** Bytes of a new chunk joined to the carry: enough for any packet or PSB check that starts in it. */
const JOIN_HEAD = 64;
const EMPTY = new Uint8Array(0);

function u32(b: Uint8Array, i: number): number {
  return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
}

/** Per header byte, for the TIP/TIP.PGE/TIP.PGD/FUP opcodes: the packet type and payload bytes (-1 = reserved). */
const IP_TYPE = new Uint8Array(256);
const IP_BYTES = new Int8Array(256);
for (let b = 0; b < 256; b++) {
  IP_BYTES[b] = IP_PAYLOAD_SIZE[b >>> 5]!;
  const low = b & OPM_TIP;
  IP_TYPE[b] = low === OPC_TIP ? PT_TIP : low === OPC_TIP_PGE ? PT_TIP_PGE : low === OPC_TIP_PGD ? PT_TIP_PGD : PT_FUP;
}

/** A TNT-8 header's branches: bits 7:1 hold them under a stop bit; b is even and not 0 or 2. */
function tnt8Bits(p: PtPacket, b: number): void {
  const v = b >>> 1;
  const n = 31 - Math.clz32(v);
  p.bits = n;
  p.lo = v ^ (1 << n);
  p.hi = 0;
}

function hex2(v: number): string {
  return '0x' + v.toString(16).padStart(2, '0');
}

export class PtPacketDecoder {
  /** The current packet, overwritten by every next() that returns a packet type. */
  readonly packet = new PtPacket();
  /** The last decode error (set when next() returns PT_ERROR). */
  error: DecodeError | null = null;
  /** Decode errors so far. */
  errors = 0;
  /** Bytes that belong to no decoded packet: before the first PSB and between an error and the next PSB. */
  skippedBytes = 0;

  private readonly head: Uint8Array;
  private readonly extTable: Uint8Array;

  private buf: Uint8Array = EMPTY;
  private pos = 0;
  private bufEnd = 0;
  /** Stream offset of buf[0]. */
  private base = 0;
  /** Where the fast path stops: switchAt while synced, 0 while searching for a PSB. */
  private limit = 0;
  /** Where to leave buf: the end, or (in a joined buffer) where the pending chunk takes over. */
  private switchAt = 0;
  private pending: Uint8Array | null = null;
  /** Bytes of joined before pending[0]. */
  private joinLen = 0;

  private syncing: boolean;
  private final = false;
  private started = false;
  private drained = false;
  private finished = false;
  /** Stream offset up to which bytes are accounted for (decoded or counted as skipped). */
  private consumedEnd = 0;

  private carry = new Uint8Array(128);
  private carryLen = 0;
  private carryPos = 0;
  private carryBase = 0;
  private joined = new Uint8Array(256);

  constructor(options: PtDecoderOptions = {}) {
    this.head = buildHeaderTable(options.trig !== false);
    this.extTable = buildExtTable(options.eventTrace !== false);
    this.syncing = options.noSync !== true;
  }

  /** Stream offset of the next byte to decode (or to search from). */
  get offset(): number {
    return this.drained ? this.carryBase + this.carryPos : this.base + this.pos;
  }

  /** True while the decoder looks for a PSB (before the first one, and after an error). */
  get synced(): boolean {
    return !this.syncing;
  }

  /**
   * Gives the decoder the next chunk. Call it only after next() returned PT_MORE (or first).
   * The chunk may be reused by the caller once next() returns PT_MORE again.
   */
  push(chunk: Uint8Array): void {
    if (this.final) throw new Error('PtPacketDecoder.push() after end()');
    if (!this.started) {
      this.started = true;
      this.setBuffer(chunk, 0, 0, chunk.length, null);
      return;
    }
    if (!this.drained) throw new Error('PtPacketDecoder.push() before next() returned PT_MORE');
    const take = Math.min(chunk.length, JOIN_HEAD);
    const len = this.carryLen + take;
    if (this.joined.length < len) this.joined = new Uint8Array(len * 2);
    const j = this.joined;
    j.set(this.carry.subarray(0, this.carryLen), 0);
    j.set(chunk.subarray(0, take), this.carryLen);
    this.joinLen = this.carryLen;
    this.setBuffer(j, this.carryBase, this.carryPos, len, take < chunk.length ? chunk : null);
  }

  /** No more chunks: what remains is decoded to the end, a cut-off packet is an `eos` error. */
  end(): void {
    if (this.final) return;
    this.final = true;
    if (!this.started) {
      this.started = true;
      this.setBuffer(EMPTY, 0, 0, 0, null);
    } else if (this.drained) {
      if (this.joined.length < this.carryLen) this.joined = new Uint8Array(this.carryLen * 2);
      this.joined.set(this.carry.subarray(0, this.carryLen), 0);
      this.setBuffer(this.joined, this.carryBase, this.carryPos, this.carryLen, null);
    }
  }

  /**
   * Starts over on a whole trace `buf` from offset `from` (as push(buf) then end() on a new
   * decoder with the same tables; offsets stay those of `buf`), without allocating: for callers
   * that look ahead in a trace they hold.
   */
  restart(buf: Uint8Array, from: number, noSync: boolean): void {
    this.error = null;
    this.errors = 0;
    this.skippedBytes = 0;
    this.syncing = !noSync;
    this.final = true;
    this.started = true;
    this.finished = false;
    this.consumedEnd = from;
    this.carryLen = this.carryPos = this.carryBase = 0;
    this.joinLen = 0;
    this.setBuffer(buf, 0, from, buf.length, null);
  }

  /** The bytes of the packet just returned (valid until the next call). */
  packetBytes(): Uint8Array {
    const start = this.packet.offset - this.base;
    return this.buf.subarray(start, start + this.packet.size);
  }

  private setBuffer(buf: Uint8Array, base: number, pos: number, end: number, pending: Uint8Array | null): void {
    this.buf = buf;
    this.base = base;
    this.pos = pos;
    this.bufEnd = end;
    this.pending = pending;
    this.switchAt = pending !== null ? this.joinLen + LOOKBACK : end;
    this.limit = this.syncing ? 0 : this.switchAt;
    this.drained = false;
  }

  /**
   * Decodes the next packet into `packet` and returns its type (≥ 0), or PT_MORE, PT_ERROR,
   * PT_END.
   */
  next(): number {
    const pos = this.pos;
    if (pos >= this.limit) return this.slowNext();
    const buf = this.buf;
    const b = buf[pos]!;
    const p = this.packet;
    // The most common packets are decoded here, and the method is kept under V8's inlining
    // limit (460 bytes of bytecode) so that it inlines into the caller's loop. Everything
    // else goes to rest().
    let type: number;
    let size = 1;
    switch (this.head[b]) {
      case K_TNT_8:
        tnt8Bits(p, b);
        type = PT_TNT_8;
        break;
      case K_CYC:
        if ((b & 4) !== 0) return this.rest(buf, pos, b);
        p.lo = b >>> 3;
        p.hi = 0;
        type = PT_CYC;
        break;
      case K_IP: {
        // IPBytes 001 (update-16) and 010 (update-32); the others in rest().
        const ipc = b >>> 5;
        size = ipc === 1 ? 3 : 5;
        if ((ipc !== 1 && ipc !== 2) || pos + size > this.bufEnd) return this.rest(buf, pos, b);
        p.lo = ipc === 1 ? buf[pos + 1]! | (buf[pos + 2]! << 8) : (buf[pos + 1]! | (buf[pos + 2]! << 8) | (buf[pos + 3]! << 16) | (buf[pos + 4]! << 24)) >>> 0;
        p.hi = 0;
        p.ipc = ipc;
        type = IP_TYPE[b]!;
        break;
      }
      default:
        return this.rest(buf, pos, b);
    }
    p.type = type;
    p.offset = this.base + pos;
    p.size = size;
    this.pos = pos + size;
    return type;
  }

  /**
   * The next packet when it is a TNT-8 decoded on the fast path: consumed, its bits and offset
   * in `packet` (type and size are not written), true. Else false and nothing moves. For a
   * caller whose common case is a run of TNT-8 packets: smaller than next(), it inlines.
   */
  nextTnt8(): boolean {
    const pos = this.pos;
    if (pos >= this.limit) return false;
    const b = this.buf[pos]!;
    if (this.head[b] !== K_TNT_8) return false;
    tnt8Bits(this.packet, b);
    this.packet.offset = this.base + pos;
    this.pos = pos + 1;
    return true;
  }

  /**
   * The next packet when it is a CYC of one or two bytes with a TNT-8 right after it (the common
   * pair with cycle-accurate timing): the CYC consumed and in `packet` as next() gives it, true;
   * nextTnt8() then takes the TNT-8. Else false and nothing moves.
   */
  nextCycBeforeTnt8(): boolean {
    const pos = this.pos;
    if (pos + 1 >= this.limit) return false;
    const buf = this.buf;
    const b = buf[pos]!;
    if (this.head[b] !== K_CYC) return false;
    let cycles = b >>> 3;
    let size = 1;
    if ((b & 4) !== 0) {
      const c = buf[pos + 1]!;
      if ((c & 1) !== 0 || pos + 2 >= this.limit) return false;
      cycles |= (c >>> 1) << 5;
      size = 2;
    }
    if (this.head[buf[pos + size]!] !== K_TNT_8) return false;
    const p = this.packet;
    p.lo = cycles;
    p.hi = 0;
    this.emit(p, pos, size, PT_CYC);
    return true;
  }

  /** The packets next() does not decode inline. */
  private rest(buf: Uint8Array, pos: number, b: number): number {
    const p = this.packet;
    switch (this.head[b]) {
      case K_PAD:
        return this.emit(p, pos, 1, PT_PAD);
      case K_CYC:
        return this.cyc(buf, pos, b);
      case K_IP:
        return this.ip(buf, pos, b);
      case K_MTC:
        if (pos + SIZE_MTC > this.bufEnd) return this.short(pos, PT_MTC);
        p.ctc = buf[pos + 1]!;
        return this.emit(p, pos, SIZE_MTC, PT_MTC);
      case K_EXT:
        return this.ext(buf, pos);
      case K_TSC:
        if (pos + SIZE_TSC > this.bufEnd) return this.short(pos, PT_TSC);
        p.lo = u32(buf, pos + 1);
        p.hi = buf[pos + 5]! | (buf[pos + 6]! << 8) | (buf[pos + 7]! << 16);
        return this.emit(p, pos, SIZE_TSC, PT_TSC);
      case K_MODE:
        return this.mode(buf, pos);
      case K_TRIG:
        return this.trig(buf, pos);
      default:
        return this.fail(pos, 'bad_opc', `unknown opcode ${hex2(b)}`);
    }
  }

  private ip(buf: Uint8Array, pos: number, b: number): number {
    const n = IP_BYTES[b]!;
    const type = IP_TYPE[b]!;
    if (n < 0) return this.fail(pos, 'bad_packet', `${PT_MNEMONICS[type]} with reserved IP compression ${b >>> 5}`);
    if (pos + 1 + n > this.bufEnd) return this.short(pos, type);
    const p = this.packet;
    p.ipc = b >>> 5;
    if (n === 0) {
      p.lo = 0;
      p.hi = 0;
    } else if (n === 2) {
      p.lo = buf[pos + 1]! | (buf[pos + 2]! << 8);
      p.hi = 0;
    } else {
      p.lo = u32(buf, pos + 1);
      p.hi = n === 4 ? 0 : n === 6 ? buf[pos + 5]! | (buf[pos + 6]! << 8) : u32(buf, pos + 5);
    }
    return this.emit(p, pos, 1 + n, type);
  }

  private emit(p: PtPacket, pos: number, size: number, type: number): number {
    p.type = type;
    p.offset = this.base + pos;
    p.size = size;
    this.pos = pos + size;
    return type;
  }

  private cyc(buf: Uint8Array, pos: number, b: number): number {
    const p = this.packet;
    if ((b & 4) === 0) {
      p.lo = b >>> 3;
      p.hi = 0;
      return this.emit(p, pos, 1, PT_CYC);
    }
    // Exp set: each further byte adds 7 bits (bit 0 = Exp again). More than 64 bits is malformed.
    let lo = b >>> 3;
    let hi = 0;
    let shl = 5;
    let i = pos + 1;
    for (;;) {
      if (i >= this.bufEnd) return this.short(pos, PT_CYC);
      if (i - pos >= MAX_CYC_SIZE) return this.fail(pos, 'bad_packet', 'cyc payload exceeds 64 bits');
      const x = buf[i++]!;
      const v = x >>> 1;
      if (shl < 32) {
        lo |= v << shl;
        if (shl > 25) hi |= v >>> (32 - shl);
      } else {
        hi |= v << (shl - 32);
      }
      shl += 7;
      if ((x & 1) === 0) break;
    }
    p.lo = lo >>> 0;
    p.hi = hi >>> 0;
    return this.emit(p, pos, i - pos, PT_CYC);
  }

  private mode(buf: Uint8Array, pos: number): number {
    if (pos + SIZE_MODE > this.bufEnd) return this.short(pos, PT_MODE_EXEC);
    const p = this.packet;
    const v = buf[pos + 1]!;
    const leaf = v >>> 5;
    if (leaf === MODE_LEAF_EXEC) {
      p.csl = v & 1;
      p.csd = (v >>> 1) & 1;
      p.iflag = (v >>> 2) & 1;
      return this.emit(p, pos, SIZE_MODE, PT_MODE_EXEC);
    }
    if (leaf === MODE_LEAF_TSX) {
      p.intx = v & 1;
      p.abrt = (v >>> 1) & 1;
      return this.emit(p, pos, SIZE_MODE, PT_MODE_TSX);
    }
    return this.fail(pos, 'bad_packet', `mode with reserved leaf ${leaf}`);
  }

  private trig(buf: Uint8Array, pos: number): number {
    if (pos + 3 > this.bufEnd) return this.short(pos, PT_TRIG);
    const p = this.packet;
    const v = buf[pos + 1]!;
    p.ipFlag = v >>> 7;
    p.icntv = (v >>> 6) & 1;
    p.mult = (v >>> 5) & 1;
    p.trbv = buf[pos + 2]!;
    if (p.icntv === 0) {
      p.icnt = 0;
      return this.emit(p, pos, 3, PT_TRIG);
    }
    if (pos + 5 > this.bufEnd) return this.short(pos, PT_TRIG);
    p.icnt = buf[pos + 3]! | (buf[pos + 4]! << 8);
    return this.emit(p, pos, 5, PT_TRIG);
  }

  private ext(buf: Uint8Array, pos: number): number {
    const end = this.bufEnd;
    if (pos + 2 > end) return this.short(pos, -1);
    const p = this.packet;
    const e = buf[pos + 1]!;
    switch (this.extTable[e]) {
      case X_PSB: {
        if (pos + SIZE_PSB > end) return this.short(pos, PT_PSB);
        for (let i = 2; i < SIZE_PSB; i += 2) {
          if (buf[pos + i] !== 0x02 || buf[pos + i + 1] !== 0x82) {
            return this.fail(pos, 'bad_packet', `psb pattern broken at byte ${buf[pos + i] !== 0x02 ? i : i + 1}`);
          }
        }
        return this.emit(p, pos, SIZE_PSB, PT_PSB);
      }
      case X_PSBEND:
        return this.emit(p, pos, 2, PT_PSBEND);
      case X_TNT_64: {
        if (pos + SIZE_TNT_64 > end) return this.short(pos, PT_TNT_64);
        let lo = u32(buf, pos + 2);
        let hi = buf[pos + 6]! | (buf[pos + 7]! << 8);
        // The stop bit is the highest set bit; one at bit 0 (or none) leaves no branch.
        let n: number;
        if (hi !== 0) {
          n = 63 - Math.clz32(hi);
          hi ^= 1 << (n - 32);
        } else {
          n = 31 - Math.clz32(lo);
          if (n <= 0) return this.fail(pos, 'bad_packet', lo === 0 ? 'tnt.64 without stop bit' : 'tnt.64 without branches');
          lo = (lo ^ (1 << n)) >>> 0;
        }
        p.bits = n;
        p.lo = lo;
        p.hi = hi;
        return this.emit(p, pos, SIZE_TNT_64, PT_TNT_64);
      }
      case X_PIP: {
        if (pos + SIZE_PIP > end) return this.short(pos, PT_PIP);
        const lo = u32(buf, pos + 2);
        const hi = buf[pos + 6]! | (buf[pos + 7]! << 8);
        // Payload bit 0 = NR; bits 47:1 = CR3[51:5].
        p.nr = lo & 1;
        p.cr3 = (lo - p.nr) * 16 + hi * 68719476736;
        return this.emit(p, pos, SIZE_PIP, PT_PIP);
      }
      case X_CBR:
        if (pos + SIZE_CBR > end) return this.short(pos, PT_CBR);
        p.ratio = buf[pos + 2]!;
        return this.emit(p, pos, SIZE_CBR, PT_CBR);
      case X_TMA: {
        if (pos + SIZE_TMA > end) return this.short(pos, PT_TMA);
        const reserved = buf[pos + 4]!;
        if (reserved !== 0) return this.fail(pos, 'bad_packet', `tma reserved byte 4 is ${hex2(reserved)}, must be 0`);
        const fc = buf[pos + 5]! | (buf[pos + 6]! << 8);
        if (fc > 0x1ff) return this.fail(pos, 'bad_packet', `tma fast counter 0x${fc.toString(16)} has reserved bits above bit 8 set`);
        p.ctc = buf[pos + 2]! | (buf[pos + 3]! << 8);
        p.fc = fc;
        return this.emit(p, pos, SIZE_TMA, PT_TMA);
      }
      case X_STOP:
        return this.emit(p, pos, 2, PT_STOP);
      case X_OVF:
        return this.emit(p, pos, 2, PT_OVF);
      case X_VMCS:
        if (pos + SIZE_VMCS > end) return this.short(pos, PT_VMCS);
        p.vmcs = u32(buf, pos + 2) * 4096 + buf[pos + 6]! * 17592186044416;
        return this.emit(p, pos, SIZE_VMCS, PT_VMCS);
      case X_EXT2: {
        if (pos + 3 > end) return this.short(pos, -1);
        const e2 = buf[pos + 2]!;
        if (e2 !== EXT2_MNT) return this.fail(pos, 'bad_opc', `unknown opcode 0x02 0xc3 ${hex2(e2)}`);
        if (pos + SIZE_MNT > end) return this.short(pos, PT_MNT);
        p.lo = u32(buf, pos + 3);
        p.hi = u32(buf, pos + 7);
        return this.emit(p, pos, SIZE_MNT, PT_MNT);
      }
      case X_EXSTOP:
        p.ipFlag = e >>> 7;
        return this.emit(p, pos, 2, PT_EXSTOP);
      case X_MWAIT:
        if (pos + SIZE_MWAIT > end) return this.short(pos, PT_MWAIT);
        p.hints = u32(buf, pos + 2);
        p.ext = u32(buf, pos + 6);
        return this.emit(p, pos, SIZE_MWAIT, PT_MWAIT);
      case X_PWRE: {
        if (pos + SIZE_PWRE > end) return this.short(pos, PT_PWRE);
        const b2 = buf[pos + 2]!;
        const b3 = buf[pos + 3]!;
        // SDM: byte 2 bit 7 = HW; byte 3 = C-state (7:4) and sub C-state (3:0).
        p.lo = b2 | (b3 << 8);
        p.hi = 0;
        p.hw = b2 >>> 7;
        p.state = b3 >>> 4;
        p.subState = b3 & 15;
        return this.emit(p, pos, SIZE_PWRE, PT_PWRE);
      }
      case X_PWRX: {
        if (pos + SIZE_PWRX > end) return this.short(pos, PT_PWRX);
        const b2 = buf[pos + 2]!;
        p.lo = u32(buf, pos + 2);
        p.hi = buf[pos + 6]!;
        p.deepest = b2 & 15;
        p.last = b2 >>> 4;
        p.wake = buf[pos + 3]! & 15;
        return this.emit(p, pos, SIZE_PWRX, PT_PWRX);
      }
      case X_PTW: {
        const plc = (e >>> 5) & 3;
        if (plc > 1) return this.fail(pos, 'bad_packet', `ptw with reserved payload size code ${plc}`);
        const size = plc === 0 ? 6 : 10;
        if (pos + size > end) return this.short(pos, PT_PTW);
        p.plc = plc;
        p.ipFlag = e >>> 7;
        p.lo = u32(buf, pos + 2);
        p.hi = plc === 0 ? 0 : u32(buf, pos + 6);
        return this.emit(p, pos, size, PT_PTW);
      }
      case X_CFE: {
        if (pos + SIZE_CFE > end) return this.short(pos, PT_CFE);
        const b2 = buf[pos + 2]!;
        p.cfeType = b2 & 0x1f;
        p.ipFlag = b2 >>> 7;
        p.vector = buf[pos + 3]!;
        return this.emit(p, pos, SIZE_CFE, PT_CFE);
      }
      case X_EVD:
        if (pos + SIZE_EVD > end) return this.short(pos, PT_EVD);
        p.evdType = buf[pos + 2]! & 0x1f;
        p.lo = u32(buf, pos + 3);
        p.hi = u32(buf, pos + 7);
        return this.emit(p, pos, SIZE_EVD, PT_EVD);
      default:
        return this.fail(pos, 'bad_opc', `unknown opcode 0x02 ${hex2(e)}`);
    }
  }

  /** A packet runs past the bytes we have: wait for more, or (at the end) report it cut off. */
  private short(pos: number, type: number): number {
    if (this.pending !== null) throw new Error('PtPacketDecoder: internal error: packet beyond the joined buffer');
    if (!this.final) {
      this.pos = pos;
      this.saveCarry();
      return PT_MORE;
    }
    const what = type >= 0 ? PT_MNEMONICS[type]! : 'packet';
    const have = this.bufEnd - pos;
    return this.fail(pos, 'eos', `truncated ${what}: the trace ends ${have} byte${have === 1 ? '' : 's'} into it`);
  }

  private fail(pos: number, code: string, detail: string): number {
    const offset = this.base + pos;
    this.error = { code, offset, message: detail };
    this.errors++;
    if (offset > this.consumedEnd) this.consumedEnd = offset;
    this.syncing = true;
    this.limit = 0;
    this.pos = Math.max(0, pos - LOOKBACK);
    return PT_ERROR;
  }

  /** Everything off the fast path: searching for a PSB, switching buffers, the end. */
  private slowNext(): number {
    if (this.finished) return PT_END;
    for (;;) {
      if (this.syncing) {
        const r = this.seekPsb();
        if (r !== 0) return r;
      }
      if (this.pos < this.switchAt) return this.next();
      const r = this.advance();
      if (r !== 0) return r;
    }
  }

  /** Leaves the current buffer: into the pending chunk, or asks for more, or ends. */
  private advance(): number {
    if (this.drained) return PT_MORE;
    const pending = this.pending;
    if (pending !== null) {
      const shift = this.joinLen;
      this.buf = pending;
      this.base += shift;
      this.pos -= shift;
      this.bufEnd = pending.length;
      this.pending = null;
      this.switchAt = this.bufEnd;
      this.limit = this.syncing ? 0 : this.switchAt;
      return 0;
    }
    if (this.final) {
      const streamEnd = this.base + this.bufEnd;
      if (streamEnd > this.consumedEnd) {
        if (this.syncing) this.skippedBytes += streamEnd - this.consumedEnd;
        this.consumedEnd = streamEnd;
      }
      this.finished = true;
      return PT_END;
    }
    this.saveCarry();
    return PT_MORE;
  }

  /** Keeps the unread tail and the look-back before it, for the next push(). */
  private saveCarry(): void {
    const from = Math.max(0, this.pos - LOOKBACK);
    const n = this.bufEnd - from;
    if (this.carry.length < n) this.carry = new Uint8Array(n * 2);
    this.carry.set(this.buf.subarray(from, this.bufEnd), 0);
    this.carryLen = n;
    this.carryPos = this.pos - from;
    this.carryBase = this.base + from;
    this.buf = EMPTY;
    this.pos = 0;
    this.bufEnd = 0;
    this.switchAt = 0;
    this.limit = 0;
    this.drained = true;
  }

  /**
   * Forward sync as libipt does it: the next PSB at or after the search position, taking the
   * last complete PSB of a longer run of 02 82 pairs. Returns 0 when found (pos at the PSB).
   */
  private seekPsb(): number {
    for (;;) {
      const buf = this.buf;
      const stop = this.switchAt;
      const end = this.bufEnd;
      const atEnd = this.final && this.pending === null;
      let s = this.pos;
      for (; s < stop; s++) {
        if (buf[s] !== 0x02) continue;
        if (end - s < PSB_RUN_CHECK && !atEnd) break;
        if (!isLastPsbOfRun(buf, s, end)) continue;
        const found = this.base + s;
        if (found > this.consumedEnd) this.skippedBytes += found - this.consumedEnd;
        this.consumedEnd = Math.max(this.consumedEnd, found);
        this.syncing = false;
        this.limit = this.switchAt;
        this.pos = s;
        return 0;
      }
      this.pos = s;
      if (s < stop) {
        // Not enough bytes to decide: wait for the next chunk.
        if (this.pending !== null) throw new Error('PtPacketDecoder: internal error: PSB search beyond the joined buffer');
        this.saveCarry();
        return PT_MORE;
      }
      const r = this.advance();
      if (r !== 0) return r;
    }
  }
}
