// Streaming ETMv4/ETE packet decoder: bytes in, packets out, as OpenCSD's packet processor
// (TrcPktProcEtmV4I) does it, so that the listing matches trc_pkt_lister line for line.
//
// - Bytes arrive in chunks; a packet may straddle chunks (the partial packet is carried over).
// - Each byte has a trace index "as OpenCSD counts it": the offset in an unformatted stream, or
//   the index the frame deformatter assigns (see coresight/deformatter.ts). pushMapped() takes
//   that mapping as a run table so the hot loop needs no per-byte index.
// - Until the first A-sync the stream is unsynchronised: bytes are reported as NOTSYNC chunks of
//   up to 8 bytes, exactly as OpenCSD chunks them. After that, one table lookup per header.
// - Malformed sequences (bad A-sync/extension, reserved headers, truncated packets) are packets
//   of an error type and DecodeErrors with offset and trace ID; packets after an error are
//   marked `synced = false` until the next A-sync, where a consumer regains sync.
// - One Etm4Packet is reused for every packet: nothing is allocated per packet.

import type { DecodeError } from '../../common/errors.js';
import { AddressHistory, metaPktBits, metaSize, metaValid, packMeta } from './address-history.js';
import type { Etm4Config } from './config.js';
import { buildHeaderTable, type HeaderTable } from './header-table.js';
import { Etm4Packet } from './packet.js';
import { PacketType as T, isErrorPacketType, isUnsupportedPacketType, packetTypeName } from './packet-types.js';

/** Where decoded packets and errors go. The packet object is reused: copy what you keep. */
export interface Etm4PacketSink {
  packet(p: Etm4Packet): void;
  error(e: DecodeError): void;
}

/** States of the byte-wise scan used while unsynchronised (mirrors OpenCSD's handlers). */
const US_NOTSYNC = 0;
const US_EXTENSION = 1;
const US_ASYNC = 2;

export class Etm4PacketDecoder {
  readonly config: Etm4Config;
  /** The packet handed to the sink; refilled for every packet. */
  readonly packet = new Etm4Packet();
  readonly history = new AddressHistory();
  /** Trace ID reported in packets and errors (0 for a single unformatted source, as OpenCSD prints). */
  traceId: number;
  /** Bytes consumed, packets and errors emitted so far. */
  bytes = 0;
  packets = 0;
  errors = 0;

  private readonly sink: Etm4PacketSink;
  private readonly table: HeaderTable;
  private readonly kindOf: Uint8Array;
  private readonly typeOf: Uint8Array;
  private readonly atomBits: Uint32Array;
  private readonly atomCount: Uint8Array;
  /** Per packet type: 0 plain, 1 error, 2 unsupported, 3 A-sync. */
  private readonly typeFlags: Uint8Array;

  private isSync = false;
  private awaitSyncTinfo = false;

  // Index map of the block being decoded: byte at mapOff[i] has trace index mapIdx[i], and so on.
  private mapOff: Int32Array = new Int32Array(1);
  private mapIdx: Float64Array = new Float64Array(1);
  private mapN = 1;
  private mapCur = 0;
  private readonly oneOff = new Int32Array(1);
  private readonly oneIdx = new Float64Array(1);

  // A packet that straddles blocks.
  private carry = new Uint8Array(64);
  private carryLen = 0;
  private carryIndex = 0;

  // Unsynchronised scan state.
  private us = new Uint8Array(16);
  private usLen = 0;
  private usFn = US_NOTSYNC;
  private usType: number = T.NOTSYNC;
  private usIndex = 0;
  private usAtHeader = true;
  private usDumpPending = 0;
  private usIndexAfterDump = -1;
  private nextIndex = 0;

  constructor(config: Etm4Config, sink: Etm4PacketSink, traceId: number = config.traceId) {
    this.config = config;
    this.sink = sink;
    this.traceId = traceId;
    this.packet.traceId = traceId;
    this.packet.excMProfile = config.profile === 'M' ? 1 : 0;
    this.table = buildHeaderTable(config);
    this.kindOf = this.table.kind;
    this.typeOf = this.table.type;
    this.atomBits = this.table.atomBits;
    this.atomCount = this.table.atomCount;
    this.typeFlags = new Uint8Array(80);
    for (let t = 0; t < 80; t++) this.typeFlags[t] = isErrorPacketType(t) ? 1 : isUnsupportedPacketType(t) ? 2 : t === T.ASYNC ? 3 : 0;
  }

  /** Decodes `data`; its first byte has trace index `index` (default: continues the previous push). */
  push(data: Uint8Array, index: number = this.nextIndex): void {
    this.pushRange(data, 0, data.length, index);
  }

  /** Decodes data[start, end) whose first byte has trace index `index`; following bytes count up. */
  pushRange(data: Uint8Array, start: number, end: number, index: number = this.nextIndex): void {
    this.oneOff[0] = start;
    this.oneIdx[0] = index;
    this.mapOff = this.oneOff;
    this.mapIdx = this.oneIdx;
    this.mapN = 1;
    this.mapCur = 0;
    this.process(data, start, end);
    this.nextIndex = index + (end - start);
  }

  /**
   * Decodes data[start, end) made of `runs` runs: run i starts at offset runOff[i] (ascending,
   * runOff[0] = start) and its bytes have trace indices runIdx[i], runIdx[i] + 1, ...
   */
  pushMapped(data: Uint8Array, start: number, end: number, runOff: Int32Array, runIdx: Float64Array, runs: number): void {
    if (start >= end) return;
    this.mapOff = runOff;
    this.mapIdx = runIdx;
    this.mapN = runs;
    this.mapCur = 0;
    this.process(data, start, end);
    this.nextIndex = this.indexAt(end - 1) + 1;
  }

  /** End of trace: a partial packet is reported as INCOMPLETE_EOT (a truncation error if synced). */
  end(): void {
    const p = this.packet;
    if (this.isSync && this.carryLen > 0) {
      this.beginPacket();
      p.type = T.INCOMPLETE_EOT;
      p.errType = this.pendingType(this.carry, this.carryLen);
      this.emit(this.carry, 0, this.carryLen, this.carryIndex);
      this.carryLen = 0;
    } else if (!this.isSync && this.usLen > 0) {
      this.beginPacket();
      p.type = T.INCOMPLETE_EOT;
      p.errType = this.usType;
      this.emitQuiet(this.us, 0, this.usLen, this.usIndex);
      this.usLen = 0;
      this.usDumpPending = 0;
      this.usAtHeader = true;
    }
  }

  /** Back to the power-on state: unsynchronised, address/context/timestamp state cleared. */
  reset(): void {
    this.isSync = false;
    this.packet.synced = false;
    this.awaitSyncTinfo = false;
    this.carryLen = 0;
    this.usLen = 0;
    this.usDumpPending = 0;
    this.usAtHeader = true;
    this.history.clear();
    const p = this.packet;
    p.addrHi = p.addrLoBits = p.addrIs = p.addrBits = p.addrValid = 0;
    p.addrSize = 32;
    p.tsHi = p.tsLo = 0;
    p.ctxtValid = false;
    p.el = p.ns = p.sf = p.nse = p.vmid = p.contextId = 0;
    p.ccThreshold = p.cyct = 0;
  }

  /** True once an A-sync has been seen. */
  get synchronised(): boolean {
    return this.isSync;
  }

  private indexAt(pos: number): number {
    let c = this.mapCur;
    const off = this.mapOff;
    while (c + 1 < this.mapN && off[c + 1]! <= pos) c++;
    this.mapCur = c;
    return this.mapIdx[c]! + (pos - off[c]!);
  }

  private process(buf: Uint8Array, start: number, end: number): void {
    this.bytes += end - start;
    let pos = start;
    if (!this.isSync) {
      pos = this.scanUnsynced(buf, pos, end);
      if (pos >= end) return;
    }
    if (this.carryLen > 0) {
      pos = this.resumeCarry(buf, pos, end);
      if (pos < 0) return;
    }
    // The hot loop: locals for everything it touches; atoms, short and 32-bit long addresses and
    // exact matches (the bulk of real trace) handled inline, one call per other packet. The
    // address cases repeat shortAddress()/set32()/pushAddress() inline: keep them in step.
    const p = this.packet;
    const sink = this.sink;
    const kindOf = this.kindOf;
    const typeOf = this.typeOf;
    const atomBits = this.atomBits;
    const atomCount = this.atomCount;
    const flags = this.typeFlags;
    const hist = this.history;
    const hHi = hist.hi;
    const hLo = hist.lo;
    const hIs = hist.is;
    const hMeta = hist.meta;
    const mapOff = this.mapOff;
    const mapIdx = this.mapIdx;
    const lastRun = this.mapN - 1;
    let run = this.mapCur;
    let nextRun = run < lastRun ? mapOff[run + 1]! : 0x7fffffff;
    let packets = 0;
    p.raw = buf;
    p.indexBase = mapIdx[run]! - mapOff[run]!;
    while (pos < end) {
      const h = buf[pos]!;
      const k = kindOf[h]!;
      let len: number;
      if (k === 21 /* Kind.ATOM */) {
        p.type = typeOf[h]!;
        p.atomBits = atomBits[h]!;
        p.atomCount = atomCount[h]!;
        len = 1;
      } else if (k === 17 /* Kind.ADDR_SHORT */) {
        if (pos + 1 >= end) break;
        const b1 = buf[pos + 1]!;
        const is = h === 0x96 || h === 0xb5 ? 1 : 0;
        let bits = 9 - is;
        let v = (b1 & 0x7f) << (2 - is);
        if (b1 & 0x80) {
          if (pos + 2 >= end) break;
          v |= buf[pos + 2]! << bits;
          bits += 8;
          len = 3;
        } else len = 2;
        const lo = (p.addrLoBits & ~((1 << bits) - 1)) | v;
        p.type = typeOf[h]!;
        p.addrLoBits = lo;
        p.addrIs = is;
        p.addrBits = bits;
        if (p.addrValid < bits) p.addrValid = bits;
        const s = hist.head === 0 ? 2 : hist.head - 1;
        hist.head = s;
        hHi[s] = p.addrHi;
        hLo[s] = lo;
        hIs[s] = is;
        hMeta[s] = p.addrValid | (p.addrSize === 64 ? 0x80 : 0) | (bits << 8);
      } else if (k === 18 /* Kind.ADDR_LONG32 */) {
        if (pos + 4 >= end) break;
        const is = h === 0x9b || h === 0xb7 ? 1 : 0;
        const lo = long32(buf, pos + 1, is);
        p.type = typeOf[h]!;
        // In AArch64 a 32-bit address replaces only the low half (as set32()).
        if (p.ctxtValid && p.sf) p.addrSize = 64;
        else {
          p.addrHi = 0;
          if (p.ctxtValid) p.addrSize = 32;
        }
        p.addrLoBits = lo;
        p.addrIs = is;
        p.addrBits = 32;
        if (p.addrValid < 32) p.addrValid = 32;
        const s = hist.head === 0 ? 2 : hist.head - 1;
        hist.head = s;
        hHi[s] = p.addrHi;
        hLo[s] = lo;
        hIs[s] = is;
        hMeta[s] = p.addrValid | (p.addrSize === 64 ? 0x80 : 0) | (32 << 8);
        len = 5;
      } else if (k === 16 /* Kind.ADDR_MATCH */) {
        p.type = typeOf[h]!;
        this.exactMatch(h & 3);
        len = 1;
      } else {
        len = this.parse(buf, pos, end, h);
        if (len === 0) break;
        if (pos >= nextRun) {
          do {
            run++;
            nextRun = run < lastRun ? mapOff[run + 1]! : 0x7fffffff;
          } while (pos >= nextRun);
          p.indexBase = mapIdx[run]! - mapOff[run]!;
        }
        p.rawStart = pos;
        p.rawLength = len;
        pos += len;
        if (flags[p.type] === 0) {
          packets++;
          sink.packet(p);
        } else this.emitSpecial();
        continue;
      }
      // Inline kinds: never errors, never special.
      if (pos >= nextRun) {
        do {
          run++;
          nextRun = run < lastRun ? mapOff[run + 1]! : 0x7fffffff;
        } while (pos >= nextRun);
        p.indexBase = mapIdx[run]! - mapOff[run]!;
      }
      p.rawStart = pos;
      p.rawLength = len;
      pos += len;
      packets++;
      sink.packet(p);
    }
    this.packets += packets;
    this.mapCur = run;
    if (pos < end) {
      // Keep the partial packet for the next block.
      const n = end - pos;
      if (n > this.carry.length) this.carry = new Uint8Array(Math.max(n, this.carry.length * 2));
      this.carry.set(buf.subarray(pos, end), 0);
      this.carryLen = n;
      this.carryIndex = this.indexAt(pos);
    }
  }

  /** Completes a carried partial packet with bytes from buf; returns the new position, or -1 if still partial. */
  private resumeCarry(buf: Uint8Array, pos: number, end: number): number {
    const c0 = this.carryLen;
    let taken = 0;
    for (;;) {
      const want = Math.max(32, this.carryLen);
      const n = Math.min(end - pos - taken, want);
      if (this.carryLen + n > this.carry.length) {
        const bigger = new Uint8Array(Math.max(this.carryLen + n, this.carry.length * 2));
        bigger.set(this.carry.subarray(0, this.carryLen));
        this.carry = bigger;
      }
      this.carry.set(buf.subarray(pos + taken, pos + taken + n), this.carryLen);
      this.carryLen += n;
      taken += n;
      const len = this.parse(this.carry, 0, this.carryLen, this.carry[0]!);
      if (len > 0) {
        this.carryLen = 0;
        this.emit(this.carry, 0, len, this.carryIndex);
        return pos + (len - c0);
      }
      if (pos + taken >= end) return -1;
    }
  }

  /** What a partial packet was going to be (for INCOMPLETE_EOT). */
  private pendingType(b: Uint8Array, n: number): number {
    const h = b[0]!;
    if (h === 0) return n >= 2 && b[1] === 0 ? T.ASYNC : T.EXTENSION;
    return this.typeOf[h]!;
  }

  // ---------------------------------------------------------------------------------------------
  // Unsynchronised: byte by byte, as OpenCSD does, so NOTSYNC chunks and indices match its listing.

  private scanUnsynced(buf: Uint8Array, pos: number, end: number): number {
    // OpenCSD flushes unsynchronised bytes only when it has input to go on with: a flush
    // requested by the last byte of a block waits for the next block (this orders listings).
    if (this.usDumpPending > 0 && pos < end) this.dumpUnsynced();
    while (pos < end) {
      const b = buf[pos]!;
      const ix = this.indexAt(pos);
      pos++;
      if (this.usAtHeader) {
        this.usIndex = ix;
        this.usFn = US_NOTSYNC;
        this.usType = T.NOTSYNC;
        this.usAtHeader = false;
      }
      if (this.usLen >= this.us.length) {
        const bigger = new Uint8Array(this.us.length * 2);
        bigger.set(this.us);
        this.us = bigger;
      }
      this.us[this.usLen++] = b;
      switch (this.usFn) {
        case US_NOTSYNC:
          if (b === 0) {
            // A possible A-sync starts here: flush what came before it.
            if (this.usLen > 1) this.requestDump(this.usLen - 1, ix);
            else this.usIndex = ix;
            this.usFn = US_EXTENSION;
          } else if (this.usLen >= 8) {
            this.requestDump(this.usLen, ix + 1);
          }
          break;
        case US_EXTENSION:
          if (b === 0) {
            this.usType = T.ASYNC;
            this.usFn = US_ASYNC;
          } else {
            this.usType = T.NOTSYNC;
            this.usFn = US_NOTSYNC;
          }
          break;
        default:
          if (b !== 0) {
            if (this.usLen !== 12) {
              this.usType = T.NOTSYNC;
              this.usFn = US_NOTSYNC;
            } else {
              this.beginPacket();
              const p = this.packet;
              if (b === 0x80) {
                p.type = T.ASYNC;
                this.isSync = true;
                this.awaitSyncTinfo = true;
              } else {
                p.type = T.BAD_SEQUENCE;
                p.errType = T.ASYNC;
              }
              this.emit(this.us, 0, 12, this.usIndex);
              this.usLen = 0;
              this.usAtHeader = true;
              if (this.isSync) return pos;
            }
          } else if (this.usLen === 12) {
            // More than eleven zeros: the oldest one is not part of the A-sync.
            this.requestDump(1, -1);
          }
      }
      if (this.usDumpPending > 0 && pos < end) this.dumpUnsynced();
    }
    return pos;
  }

  /** Asks for the first n unsynchronised bytes to be reported; the next chunk then starts at `nextIndex` (-1: unchanged). */
  private requestDump(n: number, nextIndex: number): void {
    this.usDumpPending = n;
    this.usIndexAfterDump = nextIndex;
  }

  private dumpUnsynced(): void {
    const n = this.usDumpPending;
    this.usDumpPending = 0;
    this.beginPacket();
    this.packet.type = this.usType === T.ASYNC ? T.ASYNC_PAD : T.NOTSYNC;
    this.emitQuiet(this.us, 0, n, this.usIndex);
    this.us.copyWithin(0, n, this.usLen);
    this.usLen -= n;
    if (this.usIndexAfterDump >= 0) this.usIndex = this.usIndexAfterDump;
  }

  // ---------------------------------------------------------------------------------------------
  // Output.

  /** Clears the fields that describe one packet only. */
  private beginPacket(): void {
    const p = this.packet;
    p.errType = T.NONE;
    p.ccValid = false;
    p.commitValid = false;
    p.atomCount = 0;
    p.ctxtUpdated = false;
    p.vmidUpdated = false;
    p.cidUpdated = false;
    p.syncPoint = false;
  }

  /** Emits the packet in this.packet whose bytes are raw[start, start+len). */
  private emit(raw: Uint8Array, start: number, len: number, index: number): void {
    const p = this.packet;
    p.raw = raw;
    p.rawStart = start;
    p.rawLength = len;
    p.index = index;
    if (this.typeFlags[p.type] === 0) {
      this.packets++;
      this.sink.packet(p);
    } else this.emitSpecial();
  }

  /** A-sync (regains sync), error packets (report, lose sync), unsupported packets. */
  private emitSpecial(): void {
    const p = this.packet;
    const t = p.type;
    const f = this.typeFlags[t]!;
    const index = p.index;
    if (f === 3) p.synced = true;
    else if (f === 1) {
      p.synced = false;
      this.report(t === T.INCOMPLETE_EOT ? 'truncated_packet' : t === T.BAD_SEQUENCE ? 'bad_sequence' : t === T.RESERVED ? 'reserved_header' : 'reserved_for_config', index);
    } else if (f === 2) this.report('unsupported_packet', index);
    this.packets++;
    this.sink.packet(p);
  }

  /** Emits bytes seen while unsynchronised (no error: the stream simply has not started). */
  private emitQuiet(raw: Uint8Array, start: number, len: number, index: number): void {
    const p = this.packet;
    p.synced = false;
    p.raw = raw;
    p.rawStart = start;
    p.rawLength = len;
    p.index = index;
    this.packets++;
    this.sink.packet(p);
  }

  private report(code: string, index: number): void {
    const p = this.packet;
    let bytes = '';
    for (let i = 0; i < p.rawLength && i < 16; i++) bytes += (i ? ' ' : '') + p.raw[p.rawStart + i]!.toString(16).padStart(2, '0');
    let message: string;
    switch (code) {
      case 'truncated_packet':
        message = `trace ends inside a ${packetTypeName(p.errType)} packet [${bytes}]`;
        break;
      case 'bad_sequence':
        message = `invalid byte sequence in a ${packetTypeName(p.errType)} packet [${bytes}]`;
        break;
      case 'reserved_header':
        message = `reserved packet header 0x${bytes}`;
        break;
      case 'reserved_for_config':
        message = `header 0x${bytes} (${packetTypeName(p.errType)}) is reserved for this trace configuration`;
        break;
      default: // unsupported_packet
        message = `${packetTypeName(p.type)} packets (conditional or data trace) are not supported [${bytes}]`;
    }
    this.errors++;
    this.sink.error({ code, offset: index, traceId: this.traceId, message });
  }

  // ---------------------------------------------------------------------------------------------
  // The grammar: parse one packet at buf[pos] (header byte), fill this.packet, return its length,
  // or 0 when buf ends first (nothing in the decoder state is changed then).

  private parse(buf: Uint8Array, pos: number, end: number, h: number): number {
    const p = this.packet;
    // Case labels are Kind values as literals (a jump table, no property loads); each case sets
    // every per-packet field its packet type reports.
    switch (this.kindOf[h]!) {
      case 21: // Kind.ATOM
        p.type = this.typeOf[h]!;
        p.atomBits = this.atomBits[h]!;
        p.atomCount = this.atomCount[h]!;
        return 1;
      case 17: {
        // Kind.ADDR_SHORT
        if (pos + 1 >= end) return 0;
        let len = 2;
        if (buf[pos + 1]! & 0x80) {
          if (pos + 2 >= end) return 0;
          len = 3;
        }
        p.type = this.typeOf[h]!;
        this.shortAddress(buf, pos + 1, h === 0x96 || h === 0xb5 ? 1 : 0);
        return len;
      }
      case 16: // Kind.ADDR_MATCH
        p.type = this.typeOf[h]!;
        this.exactMatch(h & 3);
        return 1;
      case 18: {
        // Kind.ADDR_LONG32
        if (pos + 4 >= end) return 0;
        const is = h === 0x9b || h === 0xb7 ? 1 : 0;
        p.type = this.typeOf[h]!;
        this.set32(long32(buf, pos + 1, is), is);
        return 5;
      }
      case 19: {
        // Kind.ADDR_LONG64
        if (pos + 8 >= end) return 0;
        const is = h === 0x9e || h === 0xb9 ? 1 : 0;
        p.type = this.typeOf[h]!;
        this.set64(u32le(buf, pos + 5), long32(buf, pos + 1, is), is);
        return 9;
      }
      case 9: // Kind.CCNT_F3
        p.type = T.CCNT_F3;
        p.commitValid = !this.config.commitOpt1;
        p.commit = ((h >> 2) & 3) + 1;
        p.cycleCount = p.ccThreshold + (h & 3);
        p.ccValid = true;
        return 1;
      case 8: {
        // Kind.CCNT_F2
        if (pos + 1 >= end) return 0;
        const b1 = buf[pos + 1]!;
        p.type = T.CCNT_F2;
        // Header bit 0 ("adjust") offsets the commit count by MAXSPEC - 15 instead of 1.
        p.commitValid = !this.config.commitOpt1;
        p.commit = (b1 >> 4) + (h & 1 ? this.config.maxSpec - 15 : 1);
        p.cycleCount = p.ccThreshold + (b1 & 0xf);
        p.ccValid = true;
        return 2;
      }
      case 7: // Kind.CCNT_F1
        return this.parseCcntF1(buf, pos, end, h);
      case 4: // Kind.TIMESTAMP
        return this.parseTimestamp(buf, pos, end, h);
      case 11: // Kind.SPEC_SINGLE
        p.type = this.typeOf[h]!;
        p.atomCount = 0;
        if (h < 0x38) {
          const a = h & 3;
          if (a === 1) this.setAtoms(1, 1);
          else if (a === 2) this.setAtoms(3, 2);
          else if (a === 3) this.setAtoms(0, 1);
          p.cancel = h >= 0x34 ? 1 : 0;
        } else {
          if (h & 1) this.setAtoms(1, 1);
          p.cancel = ((h >> 1) & 3) + 2;
        }
        return 1;
      case 10: {
        // Kind.SPEC_FIELD
        const n = contLength(buf, pos + 1, end);
        if (n === 0) return 0;
        p.type = this.typeOf[h]!;
        const v = cont32(buf, pos + 1, 5);
        // Commit and Cancel format 1 carry no atoms (IHI 0064 "Cancel format 1": header
        // 0b0010111M, M = mispredict, then the cancel count): clear the previous packet's.
        p.atomCount = 0;
        p.commitValid = h === 0x2d;
        if (h === 0x2d) {
          p.commit = v;
          p.cancel = 0;
        } else p.cancel = v;
        return 1 + n;
      }
      case 14: // Kind.CONTEXT
        return this.parseContext(buf, pos, end, h);
      case 15: // Kind.ADDR_CTXT
        return this.parseAddrContext(buf, pos, end, h);
      case 3: // Kind.TRACE_INFO
        return this.parseTraceInfo(buf, pos, end);
      case 2: // Kind.EXTENSION
        return this.parseExtension(buf, pos, end);
      case 6: // Kind.EXCEPTION
        return this.parseException(buf, pos, end);
      case 23: // Kind.EVENT
        p.type = T.EVENT;
        p.event = h & 0xf;
        return 1;
      case 5: // Kind.NO_PAYLOAD
        p.type = this.typeOf[h]!;
        p.event = h & 7; // data sync marker number (meaningless for the others)
        return 1;
      case 20: // Kind.Q
        return this.parseQ(buf, pos, end, h);
      case 22: {
        // Kind.ITE
        if (pos + 9 >= end) return 0;
        p.type = T.ITE;
        p.iteEl = buf[pos + 1]!;
        p.iteLo = u32le(buf, pos + 2);
        p.iteHi = u32le(buf, pos + 6);
        return 10;
      }
      case 12: // Kind.COND_I
        return this.parseCondInstr(buf, pos, end, h);
      case 13: // Kind.COND_RES
        return this.parseCondResult(buf, pos, end, h);
      case 1: // Kind.INVALID_CFG
        p.type = T.RESERVED_CFG;
        p.errType = this.typeOf[h]!;
        return 1;
      default: // Kind.RESERVED
        p.type = T.RESERVED;
        p.errType = this.typeOf[h]!;
        return 1;
    }
  }

  private setAtoms(bits: number, count: number): void {
    this.packet.atomBits = bits;
    this.packet.atomCount = count;
  }

  private parseExtension(buf: Uint8Array, pos: number, end: number): number {
    const p = this.packet;
    if (pos + 1 >= end) return 0;
    const b1 = buf[pos + 1]!;
    if (b1 === 0x03) {
      p.type = T.DISCARD;
      return 2;
    }
    if (b1 === 0x05) {
      p.type = T.OVERFLOW;
      return 2;
    }
    if (b1 !== 0) {
      p.type = T.BAD_SEQUENCE;
      p.errType = T.EXTENSION;
      return 2;
    }
    // A-sync: eleven 0x00 then 0x80. Any other byte ends the packet as a bad sequence.
    for (let i = 2; i < 12; i++) {
      if (pos + i >= end) return 0;
      const b = buf[pos + i]!;
      if (b !== 0) {
        if (i === 11 && b === 0x80) {
          p.type = T.ASYNC;
          return 12;
        }
        p.type = T.BAD_SEQUENCE;
        p.errType = T.ASYNC;
        return i + 1;
      }
    }
    p.type = T.BAD_SEQUENCE;
    p.errType = T.ASYNC;
    return 12;
  }

  private parseTraceInfo(buf: Uint8Array, pos: number, end: number): number {
    const p = this.packet;
    let i = pos + 1;
    if (i >= end) return 0;
    const present = buf[i]! & 0x1f;
    // Control bytes continue while bit 7 is set.
    while (buf[i]! & 0x80) if (++i >= end) return 0;
    i++;
    const firstSection = i;
    for (let bit = 1; bit <= 0x10; bit <<= 1) {
      if ((present & bit) === 0) continue;
      if (i >= end) return 0;
      while (buf[i]! & 0x80) if (++i >= end) return 0;
      i++;
    }
    const len = i - pos;
    // Extract the sections as OpenCSD does (each field read as at most 5 bytes).
    let k = firstSection;
    const stop = pos + len;
    let info = 0;
    let key = 0;
    let spec = 0;
    let cyct = -1;
    for (let bit = 1; bit <= 0x10; bit <<= 1) {
      if ((present & bit) === 0 || k >= stop) continue;
      const v = cont32(buf, k, 5);
      k += contExtent(buf, k, 5);
      if (bit === 1) info = v;
      else if (bit === 2) key = v;
      else if (bit === 4) spec = v;
      else if (bit === 8) cyct = v;
    }
    p.type = T.TRACE_INFO;
    p.tinfoSections = present;
    p.info = info;
    p.p0Key = key;
    p.specDepth = spec;
    // Without a CYCT section the threshold is 0, but OpenCSD still prints the last value seen.
    if (cyct >= 0) p.cyct = cyct;
    p.ccThreshold = cyct >= 0 ? cyct : 0;
    // Trace Info resets the address state (to a known zero) and the timestamp.
    p.addrHi = p.addrLoBits = p.addrIs = 0;
    p.addrBits = 0;
    p.addrValid = 64;
    p.addrSize = 64;
    this.history.clear();
    p.tsHi = p.tsLo = 0;
    p.syncPoint = this.awaitSyncTinfo;
    this.awaitSyncTinfo = false;
    return len;
  }

  private parseTimestamp(buf: Uint8Array, pos: number, end: number, h: number): number {
    const p = this.packet;
    let i = pos + 1;
    let n = 0;
    for (;;) {
      if (i >= end) return 0;
      const b = buf[i++]!;
      n++;
      if (n === 9 || (b & 0x80) === 0) break;
    }
    const ccStart = i;
    if (h & 1) {
      for (;;) {
        if (i >= end) return 0;
        if ((buf[i++]! & 0x80) === 0) break;
      }
    }
    // Value: 7 bits per byte, the 9th byte 8 bits; replaces the low 7n bits (all 64 for 9 bytes).
    let lo = 0;
    let hi = 0;
    for (let k = 0; k < n; k++) {
      const v = buf[pos + 1 + k]! & (k === 8 ? 0xff : 0x7f);
      const shift = 7 * k;
      if (shift < 32) {
        lo |= v << shift;
        if (shift > 24) hi |= v >>> (32 - shift);
      } else hi |= v << (shift - 32);
    }
    lo >>>= 0;
    hi >>>= 0;
    const bits = n === 9 ? 64 : 7 * n;
    if (bits >= 32) {
      p.tsLo = lo;
      const hb = bits - 32;
      const mask = hb >= 32 ? -1 : (1 << hb) - 1;
      p.tsHi = ((p.tsHi & ~mask) | (hi & mask)) >>> 0;
    } else {
      const mask = (1 << bits) - 1;
      p.tsLo = ((p.tsLo & ~mask) | (lo & mask)) >>> 0;
    }
    p.tsBits = bits;
    p.type = T.TIMESTAMP;
    p.ccValid = (h & 1) === 1;
    if (h & 1) {
      p.cycleCount = (cont32(buf, ccStart, 3) & ((1 << this.config.ccSize) - 1)) >>> 0;
      p.ccValid = true;
    }
    return i - pos;
  }

  private parseCcntF1(buf: Uint8Array, pos: number, end: number, h: number): number {
    const p = this.packet;
    const unknown = (h & 1) === 1;
    const commitOpt1 = this.config.commitOpt1;
    let i = pos + 1;
    const commitAt = i;
    if (!commitOpt1) {
      const n = contLength(buf, i, end);
      if (n === 0) return 0;
      i += n;
    }
    const countAt = i;
    if (!unknown) {
      const n = contLength(buf, i, end);
      if (n === 0) return 0;
      i += n;
    }
    p.type = T.CCNT_F1;
    p.commitValid = false;
    // Fields are read as OpenCSD reads them: the count starts where a 5-byte commit read stops.
    let countFrom = countAt;
    if (!commitOpt1) {
      p.commit = cont32(buf, commitAt, 5);
      p.commitValid = true;
      countFrom = commitAt + contExtent(buf, commitAt, 5);
    }
    // An unknown count (after an overflow) is reported as 0.
    p.cycleCount = unknown ? 0 : cont32(buf, countFrom, 3) + p.ccThreshold;
    p.ccValid = true;
    return i - pos;
  }

  private parseException(buf: Uint8Array, pos: number, end: number): number {
    const p = this.packet;
    if (pos + 1 >= end) return 0;
    const b1 = buf[pos + 1]!;
    const ete = this.config.major >= 5;
    let size = b1 & 0x80 ? 3 : 2;
    // ETE PE reset and transaction failure are always the 3-byte form.
    if (ete) {
      const t5 = (b1 >> 1) & 0x1f;
      if (t5 === 0 || t5 === 0x18) size = 3;
    }
    if (pos + size > end) return 0;
    let type = (b1 >> 1) & 0x1f;
    let faultPending = 0;
    if (b1 & 0x80) {
      const b2 = buf[pos + 2]!;
      type |= (b2 & 0x1f) << 5;
      faultPending = (b2 >> 5) & 1;
    }
    p.type = T.EXCEPT;
    p.excType = type;
    p.excAddrInterp = ((b1 & 0x40) >> 5) | (b1 & 1);
    p.excFaultPending = faultPending;
    if (ete && (type === 0 || type === 0x18)) {
      p.type = type === 0x18 ? T.TRANS_FAIL : T.PE_RESET;
      this.set64(0, 0, 0);
    }
    return size;
  }

  private parseContext(buf: Uint8Array, pos: number, end: number, h: number): number {
    const p = this.packet;
    if (h === 0x80) {
      p.type = T.CTXT;
      p.ctxtValid = true;
      p.ctxtUpdated = p.vmidUpdated = p.cidUpdated = false;
      return 1;
    }
    if (pos + 1 >= end) return 0;
    const info = buf[pos + 1]!;
    const nv = info & 0x40 ? this.config.vmidBytes : 0;
    const nc = info & 0x80 ? this.config.cidBytes : 0;
    // OpenCSD takes one extra byte when V/C are set but the configuration has no such field.
    const len = (info & 0xc0) === 0 ? 2 : 2 + (nv + nc === 0 ? 1 : nv + nc);
    if (pos + len > end) return 0;
    p.type = T.CTXT;
    this.applyContext(buf, pos + 1, nv, nc);
    return len;
  }

  private parseAddrContext(buf: Uint8Array, pos: number, end: number, h: number): number {
    const p = this.packet;
    const wide = h >= 0x85;
    const ab = wide ? 8 : 4;
    const infoAt = pos + 1 + ab;
    if (infoAt >= end) return 0;
    const info = buf[infoAt]!;
    const nv = info & 0x40 ? this.config.vmidBytes : 0;
    const nc = info & 0x80 ? this.config.cidBytes : 0;
    const len = 2 + ab + nv + nc;
    if (pos + len > end) return 0;
    const is = h === 0x83 || h === 0x86 ? 1 : 0;
    p.type = this.typeOf[h]!;
    if (wide) this.set64(u32le(buf, pos + 5), long32(buf, pos + 1, is), is);
    else this.set32(long32(buf, pos + 1, is), is);
    this.applyContext(buf, infoAt, nv, nc);
    return len;
  }

  private applyContext(buf: Uint8Array, at: number, nv: number, nc: number): void {
    const p = this.packet;
    const info = buf[at]!;
    p.ctxtValid = true;
    p.ctxtUpdated = true;
    p.el = info & 3;
    p.nse = this.config.ete ? (info >> 3) & 1 : 0;
    p.sf = (info >> 4) & 1;
    p.ns = (info >> 5) & 1;
    p.vmidUpdated = nv > 0;
    p.cidUpdated = nc > 0;
    let k = at + 1;
    if (nv > 0) {
      let v = 0;
      for (let i = 0; i < nv; i++) v |= buf[k + i]! << (8 * i);
      p.vmid = v >>> 0;
      p.vmidUpdated = true;
      k += nv;
    }
    if (nc > 0) {
      p.contextId = u32le(buf, k);
      p.cidUpdated = true;
    }
  }

  private parseQ(buf: Uint8Array, pos: number, end: number, h: number): number {
    const p = this.packet;
    const qt = h & 0xf;
    let i = pos + 1;
    const addrAt = i;
    if (qt === 5 || qt === 6) {
      if (i >= end) return 0;
      if (buf[i]! & 0x80) i++;
      i++;
    } else if (qt === 0xa || qt === 0xb) {
      i += 4;
    }
    const countAt = i;
    if (qt !== 0xf) {
      if (i >= end) return 0;
      const n = contLength(buf, i, end);
      if (n === 0) return 0;
      i += n;
    }
    p.type = T.Q;
    p.qType = qt;
    if (qt <= 2) this.exactMatch(qt);
    else if (qt === 5 || qt === 6) this.shortAddress(buf, addrAt, qt === 6 ? 1 : 0);
    else if (qt === 0xa || qt === 0xb) {
      const is = qt === 0xb ? 1 : 0;
      this.set32(long32(buf, addrAt, is), is);
    }
    p.qCountPresent = qt !== 0xf;
    p.qCount = qt === 0xf ? 0 : cont32(buf, countAt, 5);
    return i - pos;
  }

  private parseCondInstr(buf: Uint8Array, pos: number, end: number, h: number): number {
    const p = this.packet;
    p.type = this.typeOf[h]!;
    if (h <= 0x42) return 1; // format 2
    if (h === 0x6d) return pos + 1 < end ? 2 : 0; // format 3
    const n = contLength(buf, pos + 1, end); // format 1: key field
    return n === 0 ? 0 : 1 + n;
  }

  private parseCondResult(buf: Uint8Array, pos: number, end: number, h: number): number {
    const p = this.packet;
    const t = this.typeOf[h]!;
    p.type = t;
    if (t === T.COND_RES_F2 || t === T.COND_RES_F4) return 1;
    if (t === T.COND_RES_F3) return pos + 1 < end ? 2 : 0;
    // Format 1: one or two key/result fields.
    const n1 = contLength(buf, pos + 1, end);
    if (n1 === 0) return 0;
    if ((h & 0xfc) === 0x6c) return 1 + n1;
    const n2 = contLength(buf, pos + 1 + n1, end);
    return n2 === 0 ? 0 : 1 + n1 + n2;
  }

  // ---------------------------------------------------------------------------------------------
  // Address state.

  private shortAddress(buf: Uint8Array, at: number, is: number): void {
    const p = this.packet;
    const shift = is ? 1 : 2;
    const b1 = buf[at]!;
    let v = (b1 & 0x7f) << shift;
    let bits = 7 + shift;
    if (b1 & 0x80) {
      v |= buf[at + 1]! << (7 + shift);
      bits += 8;
    }
    const mask = (1 << bits) - 1;
    p.addrLoBits = (p.addrLoBits & ~mask) | v;
    p.addrIs = is;
    p.addrBits = bits;
    if (p.addrValid < bits) p.addrValid = bits;
    this.pushAddress();
  }

  private set32(lo: number, is: number): void {
    const p = this.packet;
    // In AArch64 a 32-bit address replaces only the low half; otherwise it is the address.
    if (p.ctxtValid && p.sf) p.addrSize = 64;
    else {
      p.addrHi = 0;
      if (p.ctxtValid) p.addrSize = 32;
    }
    p.addrLoBits = lo;
    p.addrIs = is;
    p.addrBits = 32;
    if (p.addrValid < 32) p.addrValid = 32;
    this.pushAddress();
  }

  private set64(hi: number, lo: number, is: number): void {
    const p = this.packet;
    p.addrHi = hi;
    p.addrLoBits = lo;
    p.addrIs = is;
    p.addrBits = 64;
    p.addrValid = 64;
    p.addrSize = 64;
    // Any 64-bit pattern is valid trace (a tagged branch target that faulted): it is carried
    // exactly, never reported or truncated (see address64.ts).
    this.pushAddress();
  }

  private pushAddress(): void {
    const p = this.packet;
    this.history.push(p.addrHi, p.addrLoBits, p.addrIs, packMeta(p.addrValid, p.addrSize, p.addrBits));
  }

  private exactMatch(i: number): void {
    const p = this.packet;
    const hist = this.history;
    const k = hist.slot(i);
    p.exactIndex = i;
    const m = hist.meta[k]!;
    p.addrHi = hist.hi[k]!;
    p.addrLoBits = hist.lo[k]!;
    p.addrIs = hist.is[k]!;
    p.addrValid = metaValid(m);
    p.addrSize = metaSize(m);
    p.addrBits = metaPktBits(m);
    this.pushAddress();
  }
}

/** Bytes in the continuation field at buf[i] (last byte has bit 7 clear), or 0 if buf ends first. */
function contLength(buf: Uint8Array, i: number, end: number): number {
  const s = i;
  for (;;) {
    if (i >= end) return 0;
    if ((buf[i++]! & 0x80) === 0) return i - s;
  }
}

/** Value of a continuation field, reading at most `limit` bytes (bits above 31 are lost, as in OpenCSD). */
function cont32(buf: Uint8Array, i: number, limit: number): number {
  let v = 0;
  for (let k = 0; k < limit; k++) {
    const b = buf[i + k]!;
    v |= (b & 0x7f) << (7 * k);
    if ((b & 0x80) === 0) break;
  }
  return v >>> 0;
}

/** Bytes cont32 reads. */
function contExtent(buf: Uint8Array, i: number, limit: number): number {
  for (let k = 0; k < limit; k++) if ((buf[i + k]! & 0x80) === 0) return k + 1;
  return limit;
}

/** Low 32 bits of a long address as an int32 (IS0: bits [8:2],[15:9] then bytes; IS1: [7:1], then bytes). */
function long32(buf: Uint8Array, at: number, is: number): number {
  const b0 = buf[at]! & 0x7f;
  const b2 = buf[at + 2]!;
  const b3 = buf[at + 3]!;
  if (is) return (b0 << 1) | (buf[at + 1]! << 8) | (b2 << 16) | (b3 << 24);
  return (b0 << 2) | ((buf[at + 1]! & 0x7f) << 9) | (b2 << 16) | (b3 << 24);
}

function u32le(buf: Uint8Array, at: number): number {
  return (buf[at]! | (buf[at + 1]! << 8) | (buf[at + 2]! << 16) | (buf[at + 3]! << 24)) >>> 0;
}
