// One decoded ETMv4/ETE packet. The decoder owns a single instance and refills it for every
// packet (no allocation per packet); a consumer that keeps packets calls clone().
//
// Like OpenCSD's packet object, it also carries the decoder state that packets update —
// current address, context, timestamp, cycle-count threshold — so a packet can be printed
// on its own ("Addr=0x..." after a short address is the full reconstructed address).

import { addrFromParts, type Addr } from '../../common/address.js';
import { addrBody, addrTop } from './address64.js';
import { PacketType } from './packet-types.js';

export class Etm4Packet {
  /** Packet type (PacketType). */
  type: number = PacketType.NOTSYNC;
  /** For BAD_SEQUENCE / RESERVED / RESERVED_CFG / INCOMPLETE_EOT: the type it was meant to be. */
  errType: number = PacketType.NONE;
  /**
   * index = indexBase + rawStart. The decoder updates indexBase only when the trace-index run
   * changes, which keeps a per-packet floating-point store off the hot path.
   */
  indexBase = 0;
  /** CoreSight trace ID of the stream (0 for an unformatted single-source stream). */
  traceId = 0;
  /** The packet bytes are raw[rawStart .. rawStart + rawLength). The view is only valid during the callback. */
  raw: Uint8Array = new Uint8Array(0);
  rawStart = 0;
  rawLength = 0;
  /** False from the start of the stream, and after an error, until the next A-sync. */
  synced = false;
  /** Trace Info only: the first one after the stream synchronised (OpenCSD: "Decoder Sync point TINFO"). */
  syncPoint = false;

  // --- address state (updated by address packets; TraceInfo zeroes it) -----------------------
  /** Current address: high 32 bits (unsigned) and low 32 bits as an int32 bit pattern (see addrLo). */
  addrHi = 0;
  addrLoBits = 0;
  /** Instruction set of the current address: 0 = IS0 (A64/A32), 1 = IS1 (T32). */
  addrIs = 0;
  /** Low address bits this packet replaced (9/17, 8/16 for short; 32 or 64 for long). */
  addrBits = 0;
  /** Low address bits known so far (0 until an address or Trace Info after a reset). */
  addrValid = 0;
  /** Address size, 32 or 64 (a 32-bit long address outside AArch64 makes it 32). */
  addrSize = 32;
  /** Exact-match / source-exact-match / Q: index into the address history. */
  exactIndex = 0;

  // --- context state ------------------------------------------------------------------------
  /** A context has been seen (32-bit long addresses keep the upper half only when ctxtValid and sf). */
  ctxtValid = false;
  el = 0;
  /** Non-secure bit. */
  ns = 0;
  /** AArch64 (1) or AArch32 (0). */
  sf = 0;
  /** ETE FEAT_RME: with ns, selects Realm / Root. */
  nse = 0;
  vmid = 0;
  contextId = 0;
  /** This packet carried a context info byte (false for "context same"). */
  ctxtUpdated = false;
  vmidUpdated = false;
  cidUpdated = false;

  // --- timestamp and cycle count ------------------------------------------------------------
  tsHi = 0;
  tsLo = 0;
  /** Low timestamp bits this packet replaced. */
  tsBits = 0;
  /** Cycle-count threshold from the last Trace Info (added to cycle counts). */
  ccThreshold = 0;
  ccValid = false;
  cycleCount = 0;

  // --- speculation ---------------------------------------------------------------------------
  commitValid = false;
  commit = 0;
  cancel = 0;

  // --- atoms: bit0 = oldest, 1 = E ----------------------------------------------------------
  atomBits = 0;
  atomCount = 0;

  // --- exception ------------------------------------------------------------------------------
  excType = 0;
  /** 1: return address follows; 2: same, and the exception was taken at a branch target. */
  excAddrInterp = 0;
  excFaultPending = 0;
  /** 1 when the exception numbering is M-profile. */
  excMProfile = 0;

  // --- trace info -------------------------------------------------------------------------------
  /** Sections present (PLCTL bits: 1 INFO, 2 KEY, 4 SPEC, 8 CYCT, 16 WNDW). */
  tinfoSections = 0;
  info = 0;
  p0Key = 0;
  specDepth = 0;
  cyct = 0;

  // --- misc -------------------------------------------------------------------------------------
  /** Event packet: EVENT0..3 bits. Data sync marker: marker number. */
  event = 0;
  /** Q packet. */
  qCount = 0;
  qCountPresent = false;
  qType = 0;
  /** Instrumentation (ITE) packet. */
  iteEl = 0;
  iteHi = 0;
  iteLo = 0;

  /** Low 32 bits of the current address, unsigned. */
  get addrLo(): number {
    return this.addrLoBits >>> 0;
  }

  /** Byte index of the header as OpenCSD counts it (the `Idx:` of trc_pkt_lister). */
  get index(): number {
    return this.indexBase + this.rawStart;
  }

  set index(v: number) {
    this.indexBase = v - this.rawStart;
  }

  /** The current address as a canonical number, or NaN when the 64-bit value is not canonical. */
  get address(): Addr {
    return addrFromParts(this.addrHi, this.addrLo);
  }

  /** The current address's body and top: exact for any 64-bit value (see address64.ts). */
  get addressBody(): number {
    return addrBody(this.addrHi, this.addrLoBits);
  }

  get addressTop(): number {
    return addrTop(this.addrHi);
  }

  /** 64-bit timestamp as a number (exact below 2^53). */
  get timestamp(): number {
    return this.tsHi * 4294967296 + this.tsLo;
  }

  /** A copy of the packet bytes. */
  bytes(): Uint8Array {
    return this.raw.slice(this.rawStart, this.rawStart + this.rawLength);
  }

  /** A snapshot of this packet that stays valid after the callback (its raw bytes copied). */
  clone(): Etm4Packet {
    const c = Object.assign(new Etm4Packet(), this);
    c.raw = this.bytes();
    c.rawStart = 0;
    c.indexBase = this.index;
    return c;
  }
}
