// Packets as plain data, at the level of what is on the wire (the transmitted fields, not the
// state they update): what the encoder takes and what packetToSpec() recovers from a decoded
// packet. encode → decode → packetToSpec is the identity on valid packets.

import type { Etm4Config } from './config.js';
import type { Etm4Packet } from './packet.js';
import { PacketType as T } from './packet-types.js';

export type Etm4PacketSpec =
  | { kind: 'async' }
  | { kind: 'discard' }
  | { kind: 'overflow' }
  /** Sections present when their field is given. */
  | { kind: 'traceInfo'; info?: number; key?: number; spec?: number; cyct?: number }
  /** `value` holds the transmitted low bits: 7 per byte (`bytes` 1..8), or all 64 when bytes = 9. */
  | { kind: 'timestamp'; value: bigint; bytes: number; cycleCount?: number }
  | { kind: 'traceOn' }
  | { kind: 'funcRet' }
  | { kind: 'exceptionReturn' }
  | { kind: 'transStart' }
  | { kind: 'transCommit' }
  | { kind: 'ignore' }
  | { kind: 'tsMarker' }
  | { kind: 'event'; events: number }
  /** `long` forces the 3-byte form. On ETE, type 0 is PE reset and 0x18 transaction failure. */
  | { kind: 'exception'; type: number; addrInterp: number; faultPending?: number; long?: boolean }
  /** Fields as transmitted: counts before the threshold is added. `count` undefined = unknown. */
  | { kind: 'ccntF1'; count?: number; commit?: number }
  | { kind: 'ccntF2'; count: number; commit?: number; adjust?: boolean }
  | { kind: 'ccntF3'; count: number; commit?: number }
  | { kind: 'commit'; commit: number }
  | { kind: 'cancelF1'; cancel: number; mispredict: boolean }
  /** atoms: 0 none, 1 E, 2 EE, 3 N. */
  | { kind: 'mispredict'; atoms: number }
  | { kind: 'cancelF2'; atoms: number }
  | { kind: 'cancelF3'; cancel: number; atomE: boolean }
  | { kind: 'contextSame' }
  | ({ kind: 'context' } & ContextFields)
  | ({ kind: 'addrContext'; is: number; wide: boolean; hi: number; lo: number } & ContextFields)
  | { kind: 'addrMatch'; index: number; source?: boolean }
  /** `value`: the low 9/17 (IS0) or 8/16 (IS1) address bits; `twoBytes` selects the longer form. */
  | { kind: 'addrShort'; is: number; value: number; twoBytes: boolean; source?: boolean }
  | { kind: 'addrLong'; is: number; wide: boolean; hi: number; lo: number; source?: boolean }
  /** qType: 0-2 exact match, 5/6 short address, 0xA/0xB long, 0xC count only, 0xF no count. */
  | { kind: 'q'; qType: number; count?: number; value?: number; twoBytes?: boolean; lo?: number }
  /** Atoms, bit 0 oldest, 1 = E; the format follows from the pattern (every pattern has one). */
  | { kind: 'atom'; bits: number; count: number }
  | { kind: 'ite'; el: number; hi: number; lo: number };

export interface ContextFields {
  el: number;
  sf: number;
  ns: number;
  nse: number;
  vmid?: number;
  contextId?: number;
}

function ctxt(p: Etm4Packet): ContextFields {
  const c: ContextFields = { el: p.el, sf: p.sf, ns: p.ns, nse: p.nse };
  if (p.vmidUpdated) c.vmid = p.vmid;
  if (p.cidUpdated) c.contextId = p.contextId;
  return c;
}

function rawByte(p: Etm4Packet, i: number): number {
  return p.raw[p.rawStart + i]!;
}

/** The wire-level fields of a decoded packet; undefined for error/unsynchronised/unsupported ones. */
export function packetToSpec(p: Etm4Packet, cfg: Etm4Config): Etm4PacketSpec | undefined {
  const h = rawByte(p, 0);
  switch (p.type) {
    case T.ASYNC:
      return { kind: 'async' };
    case T.DISCARD:
      return { kind: 'discard' };
    case T.OVERFLOW:
      return { kind: 'overflow' };
    case T.TRACE_INFO: {
      const s: Etm4PacketSpec = { kind: 'traceInfo' };
      if (p.tinfoSections & 1) s.info = p.info;
      if (p.tinfoSections & 2) s.key = p.p0Key;
      if (p.tinfoSections & 4) s.spec = p.specDepth;
      if (p.tinfoSections & 8) s.cyct = p.cyct;
      return s;
    }
    case T.TIMESTAMP: {
      const bytes = p.tsBits === 64 ? 9 : p.tsBits / 7;
      const full = (BigInt(p.tsHi) << 32n) | BigInt(p.tsLo);
      const value = bytes === 9 ? full : full & ((1n << BigInt(p.tsBits)) - 1n);
      return p.ccValid ? { kind: 'timestamp', value, bytes, cycleCount: p.cycleCount } : { kind: 'timestamp', value, bytes };
    }
    case T.TRACE_ON:
      return { kind: 'traceOn' };
    case T.FUNC_RET:
      return { kind: 'funcRet' };
    case T.EXCEPT_RTN:
      return { kind: 'exceptionReturn' };
    case T.TRANS_ST:
      return { kind: 'transStart' };
    case T.TRANS_COMMIT:
      return { kind: 'transCommit' };
    case T.IGNORE:
      return { kind: 'ignore' };
    case T.TS_MARKER:
      return { kind: 'tsMarker' };
    case T.EVENT:
      return { kind: 'event', events: p.event };
    case T.EXCEPT:
    case T.PE_RESET:
    case T.TRANS_FAIL: {
      const s: Etm4PacketSpec = { kind: 'exception', type: p.excType, addrInterp: p.excAddrInterp };
      if (p.excFaultPending) s.faultPending = 1;
      if (p.rawLength === 3) s.long = true;
      return s;
    }
    case T.CCNT_F1: {
      const s: Etm4PacketSpec = { kind: 'ccntF1' };
      if ((h & 1) === 0) s.count = p.cycleCount - p.ccThreshold;
      if (p.commitValid) s.commit = p.commit;
      return s;
    }
    case T.CCNT_F2: {
      const b1 = rawByte(p, 1);
      const s: Etm4PacketSpec = { kind: 'ccntF2', count: b1 & 0xf };
      if (!cfg.commitOpt1) {
        s.commit = b1 >> 4;
        s.adjust = (h & 1) === 1;
      }
      return s;
    }
    case T.CCNT_F3: {
      const s: Etm4PacketSpec = { kind: 'ccntF3', count: h & 3 };
      if (!cfg.commitOpt1) s.commit = ((h >> 2) & 3) + 1;
      return s;
    }
    case T.COMMIT:
      return { kind: 'commit', commit: p.commit };
    case T.CANCEL_F1:
    case T.CANCEL_F1_MISPRED:
      return { kind: 'cancelF1', cancel: p.cancel, mispredict: p.type === T.CANCEL_F1_MISPRED };
    case T.MISPREDICT:
      return { kind: 'mispredict', atoms: h & 3 };
    case T.CANCEL_F2:
      return { kind: 'cancelF2', atoms: h & 3 };
    case T.CANCEL_F3:
      return { kind: 'cancelF3', cancel: p.cancel, atomE: (h & 1) === 1 };
    case T.CTXT:
      return p.ctxtUpdated ? { kind: 'context', ...ctxt(p) } : { kind: 'contextSame' };
    case T.ADDR_CTXT_L_32IS0:
    case T.ADDR_CTXT_L_32IS1:
    case T.ADDR_CTXT_L_64IS0:
    case T.ADDR_CTXT_L_64IS1: {
      const wide = p.type >= T.ADDR_CTXT_L_64IS0;
      return { kind: 'addrContext', is: p.addrIs, wide, hi: wide ? p.addrHi : 0, lo: p.addrLo, ...ctxt(p) };
    }
    case T.ADDR_MATCH:
      return { kind: 'addrMatch', index: p.exactIndex };
    case T.SRC_ADDR_MATCH:
      return { kind: 'addrMatch', index: p.exactIndex, source: true };
    case T.ADDR_S_IS0:
    case T.ADDR_S_IS1:
    case T.SRC_ADDR_S_IS0:
    case T.SRC_ADDR_S_IS1: {
      const s: Etm4PacketSpec = { kind: 'addrShort', is: p.addrIs, value: (p.addrLo & ((1 << p.addrBits) - 1)) >>> 0, twoBytes: p.rawLength === 3 };
      if (p.type >= T.SRC_ADDR_S_IS0) s.source = true;
      return s;
    }
    case T.ADDR_L_32IS0:
    case T.ADDR_L_32IS1:
    case T.ADDR_L_64IS0:
    case T.ADDR_L_64IS1:
    case T.SRC_ADDR_L_32IS0:
    case T.SRC_ADDR_L_32IS1:
    case T.SRC_ADDR_L_64IS0:
    case T.SRC_ADDR_L_64IS1: {
      const wide = p.addrBits === 64;
      const s: Etm4PacketSpec = { kind: 'addrLong', is: p.addrIs, wide, hi: wide ? p.addrHi : 0, lo: p.addrLo };
      if (p.type >= T.SRC_ADDR_L_32IS0) s.source = true;
      return s;
    }
    case T.Q: {
      const s: Etm4PacketSpec = { kind: 'q', qType: p.qType };
      if (p.qCountPresent) s.count = p.qCount;
      if (p.qType === 5 || p.qType === 6) {
        s.value = (p.addrLo & ((1 << p.addrBits) - 1)) >>> 0;
        s.twoBytes = p.addrBits > 9;
      } else if (p.qType === 0xa || p.qType === 0xb) s.lo = p.addrLo;
      return s;
    }
    case T.ATOM_F1:
    case T.ATOM_F2:
    case T.ATOM_F3:
    case T.ATOM_F4:
    case T.ATOM_F5:
    case T.ATOM_F6:
      return { kind: 'atom', bits: p.atomBits, count: p.atomCount };
    case T.ITE:
      return { kind: 'ite', el: p.iteEl, hi: p.iteHi, lo: p.iteLo };
    default:
      return undefined;
  }
}
