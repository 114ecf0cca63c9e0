// Packet listing in the style of OpenCSD's trc_pkt_lister, so that our output and the reference
// tool's can be diffed line by line:
//   Idx:17; ID:10; [0x81 0xf2 0x00 ... ];	I_CTXT : Context Packet.; Ctxt: AArch64,EL2, NS; ...
// and a JSON form of the same packet. Listing allocates (strings); decoding does not.

import type { Etm4Packet } from './packet.js';
import { PacketType as T, packetTypeDescription, packetTypeName } from './packet-types.js';

const A_EXCEPTIONS = [
  'PE Reset', 'Debug Halt', 'Call', 'Trap', 'System Error', 'Reserved', 'Inst Debug', 'Data Debug',
  'Reserved', 'Reserved', 'Alignment', 'Inst Fault', 'Data Fault', 'Reserved', 'IRQ', 'FIQ',
];

const M_EXCEPTIONS = [
  'Reserved', 'PE Reset', 'NMI', 'HardFault', 'MemManage', 'BusFault', 'UsageFault', 'Reserved',
  'Reserved', 'Reserved', 'Reserved', 'SVC', 'DebugMonitor', 'Reserved', 'PendSV', 'SysTick',
  'IRQ0', 'IRQ1', 'IRQ2', 'IRQ3', 'IRQ4', 'IRQ5', 'IRQ6', 'IRQ7',
  'DebugHalt', 'LazyFP Push', 'Lockup', 'Reserved', 'Reserved', 'Reserved', 'Reserved', 'Reserved',
];

/** Options that change how packets print. */
export interface ListingOptions {
  /** ETE prints the transaction state in Trace Info. */
  ete: boolean;
}

function hex(v: number): string {
  return (v >>> 0).toString(16);
}

function hex64(hi: number, lo: number, upper = false): string {
  const s = hi === 0 ? (lo >>> 0).toString(16) : (hi >>> 0).toString(16) + (lo >>> 0).toString(16).padStart(8, '0');
  return upper ? s.toUpperCase() : s;
}

function full16(p: Etm4Packet): string {
  return ((p.addrHi >>> 0).toString(16).padStart(8, '0') + (p.addrLo >>> 0).toString(16).padStart(8, '0')).toUpperCase();
}

/**
 * The address as OpenCSD prints it: 8 or 16 hex digits by address size, unknown high digits as
 * '?' followed by the known bit range, e.g. `0x?????160 (8:0)` right after a sync.
 */
function addrText(p: Etm4Packet): string {
  const digits = p.addrSize === 64 ? 16 : 8;
  const known = Math.ceil(p.addrValid / 4);
  const hex = full16(p);
  if (known < digits) return '0x' + '?'.repeat(digits - known) + hex.slice(16 - known) + ' (' + (p.addrValid - 1) + ':0)';
  return '0x' + hex.slice(16 - known);
}

/** The low `addrBits` bits of the address: what this packet actually transmitted. */
function updatedBits(p: Etm4Packet): string {
  if (p.addrBits >= 64) return hex64(p.addrHi, p.addrLo, true);
  if (p.addrBits === 0) return '0';
  if (p.addrBits >= 32) return (p.addrLo >>> 0).toString(16).toUpperCase();
  return ((p.addrLo & ((1 << p.addrBits) - 1)) >>> 0).toString(16).toUpperCase();
}

/** E/N atoms, oldest first. */
export function atomString(bits: number, count: number): string {
  let s = '';
  for (let i = 0; i < count; i++) s += (bits >>> i) & 1 ? 'E' : 'N';
  return s;
}

function securityString(p: Etm4Packet): string {
  if (p.nse) return p.ns ? 'Realm' : 'Root';
  return p.ns ? 'NS' : 'S';
}

function contextString(p: Etm4Packet): string {
  if (!p.ctxtUpdated) return 'Ctxt: Same';
  let s = 'Ctxt: ' + (p.sf ? 'AArch64,' : 'AArch32, ') + 'EL' + p.el + ', ' + securityString(p) + '; ';
  if (p.cidUpdated) s += 'CID=0x' + hex(p.contextId).padStart(8, '0') + '; ';
  if (p.vmidUpdated) s += 'VMID=0x' + hex(p.vmid).padStart(4, '0') + '; ';
  return s;
}

function exceptionString(p: Etm4Packet): string {
  let s: string;
  if (p.excMProfile) {
    if (p.excType < 0x20) s = ' ' + M_EXCEPTIONS[p.excType]! + ';';
    else if (p.excType >= 0x208 && p.excType <= 0x3ef) s = ' IRQ' + (p.excType - 0x200) + ';';
    else s = ' Reserved;';
    if (p.excFaultPending) s += ' Fault Pending;';
  } else {
    s = p.excType < 0x10 ? ' ' + A_EXCEPTIONS[p.excType]! + ';' : ' Reserved;';
  }
  if (p.excAddrInterp === 1) s += ' Ret Addr Follows;';
  else if (p.excAddrInterp === 2) s += ' Ret Addr Follows, Match Prev;';
  return s;
}

function atomPrefix(p: Etm4Packet): string {
  return p.atomCount > 0 ? 'Atom: ' + atomString(p.atomBits, p.atomCount) + ', ' : '';
}

/** What trc_pkt_lister prints after `NAME : description` for this packet. */
export function packetDetail(p: Etm4Packet, opts: ListingOptions): string {
  switch (p.type) {
    case T.BAD_SEQUENCE:
    case T.INCOMPLETE_EOT:
    case T.RESERVED_CFG:
      return '[' + packetTypeName(p.errType) + ']';
    case T.TRACE_INFO: {
      let s = '; INFO=0x' + hex(p.info) + ' { CC.' + (p.info & 1) + (opts.ete ? ', TSTATE.' + ((p.info >> 6) & 1) : '') + ' }';
      if (p.info & 1) s += '; CC_THRESHOLD=0x' + hex(p.cyct);
      if (p.syncPoint) s += '; Decoder Sync point TINFO';
      return s;
    }
    case T.TIMESTAMP:
      return '; Updated val = 0x' + hex64(p.tsHi, p.tsLo) + (p.ccValid ? '; CC=0x' + hex(p.cycleCount) : '');
    case T.EXCEPT:
      return '; ' + exceptionString(p);
    case T.CCNT_F1:
    case T.CCNT_F2:
    case T.CCNT_F3:
      return (p.commitValid ? '; Commit(' + p.commit + ')' : '') + '; Count=0x' + hex(p.cycleCount);
    case T.COMMIT:
      return '; Commit(' + p.commit + ')';
    case T.CANCEL_F1:
      return '; Cancel(' + p.cancel + ')';
    case T.CANCEL_F1_MISPRED:
      return '; Cancel(' + p.cancel + '), Mispredict';
    case T.MISPREDICT:
      return '; ' + atomPrefix(p) + 'Mispredict';
    case T.CANCEL_F2:
    case T.CANCEL_F3:
      return '; ' + atomPrefix(p) + 'Cancel(' + p.cancel + '), Mispredict';
    case T.CTXT:
      return '; ' + contextString(p);
    case T.ADDR_CTXT_L_32IS0:
    case T.ADDR_CTXT_L_32IS1:
    case T.ADDR_CTXT_L_64IS0:
    case T.ADDR_CTXT_L_64IS1:
      return '; Addr=' + addrText(p) + '; ' + contextString(p);
    case T.ADDR_L_32IS0:
    case T.ADDR_L_32IS1:
    case T.ADDR_L_64IS0:
    case T.ADDR_L_64IS1:
    case T.SRC_ADDR_L_32IS0:
    case T.SRC_ADDR_L_32IS1:
    case T.SRC_ADDR_L_64IS0:
    case T.SRC_ADDR_L_64IS1:
      return '; Addr=' + addrText(p) + '; ';
    case T.ADDR_S_IS0:
    case T.ADDR_S_IS1:
    case T.SRC_ADDR_S_IS0:
    case T.SRC_ADDR_S_IS1:
      return '; Addr=' + addrText(p) + ' ~[0x' + updatedBits(p) + ']';
    case T.ADDR_MATCH:
    case T.SRC_ADDR_MATCH:
      return ', [' + p.exactIndex + ']; Addr=' + addrText(p) + '; ';
    case T.Q: {
      let s = p.qCountPresent ? '; Count(' + p.qCount + ')' : '; Count(Unknown)';
      if (p.qType <= 2) s += '; [' + p.qType + ']; Addr=' + addrText(p) + (p.addrBits > 0 && p.addrBits < 64 ? ' ~[0x' + updatedBits(p) + ']' : '');
      else if (p.qType === 5 || p.qType === 6 || p.qType === 0xa || p.qType === 0xb) s += '; Addr=' + addrText(p) + ' ~[0x' + updatedBits(p) + ']';
      return s;
    }
    case T.ATOM_F1:
    case T.ATOM_F2:
    case T.ATOM_F3:
    case T.ATOM_F4:
    case T.ATOM_F5:
    case T.ATOM_F6:
      return '; ' + atomString(p.atomBits, p.atomCount);
    case T.ITE:
      return '; EL' + p.iteEl + '; Payload=0x' + hex64(p.iteHi, p.iteLo);
    default:
      return '';
  }
}

/** The packet bytes as trc_pkt_lister prints them: `0x81 0xf2 `. */
export function packetBytesString(p: Etm4Packet): string {
  let s = '';
  for (let i = 0; i < p.rawLength; i++) s += '0x' + p.raw[p.rawStart + i]!.toString(16).padStart(2, '0') + ' ';
  return s;
}

/** One trc_pkt_lister line: `Idx:N; ID:xx; [bytes];<TAB>I_NAME : description<detail>`. */
export function formatPacketLine(p: Etm4Packet, opts: ListingOptions): string {
  return (
    'Idx:' + p.index + '; ID:' + p.traceId.toString(16) + '; [' + packetBytesString(p) + '];\t' +
    packetTypeName(p.type) + ' : ' + packetTypeDescription(p.type) + packetDetail(p, opts)
  );
}

/** The decoded fields of a packet, as a plain object (for `--format json`). */
export function packetToJson(p: Etm4Packet, opts: ListingOptions): Record<string, unknown> {
  const o: Record<string, unknown> = {
    idx: p.index,
    id: p.traceId,
    type: packetTypeName(p.type),
    bytes: Array.from(p.raw.subarray(p.rawStart, p.rawStart + p.rawLength), (b) => b.toString(16).padStart(2, '0')).join(' '),
  };
  if (!p.synced) o['synced'] = false;
  const addr = (): void => {
    o['addr'] = '0x' + full16(p).toLowerCase();
    if (p.addrValid < 64) o['addrKnownBits'] = p.addrValid;
    o['isa'] = p.addrIs;
  };
  const ctxt = (): void => {
    if (!p.ctxtUpdated) {
      o['ctxtSame'] = true;
      return;
    }
    o['el'] = p.el;
    o['security'] = securityString(p);
    o['aarch64'] = p.sf === 1;
    if (p.vmidUpdated) o['vmid'] = p.vmid;
    if (p.cidUpdated) o['contextId'] = p.contextId;
  };
  switch (p.type) {
    case T.BAD_SEQUENCE:
    case T.INCOMPLETE_EOT:
    case T.RESERVED_CFG:
    case T.RESERVED:
      o['expected'] = packetTypeName(p.errType);
      break;
    case T.TRACE_INFO:
      o['info'] = p.info;
      o['cycleCounting'] = (p.info & 1) === 1;
      if (opts.ete) o['tstate'] = (p.info >> 6) & 1;
      if (p.tinfoSections & 2) o['key'] = p.p0Key;
      if (p.tinfoSections & 4) o['specDepth'] = p.specDepth;
      o['ccThreshold'] = p.ccThreshold;
      if (p.syncPoint) o['syncPoint'] = true;
      break;
    case T.TIMESTAMP:
      o['timestamp'] = '0x' + hex64(p.tsHi, p.tsLo);
      o['updatedBits'] = p.tsBits;
      if (p.ccValid) o['cycleCount'] = p.cycleCount;
      break;
    case T.EXCEPT:
    case T.PE_RESET:
    case T.TRANS_FAIL:
      o['exception'] = p.excType;
      o['name'] = exceptionString(p).split(';')[0]!.trim();
      o['addrInterp'] = p.excAddrInterp;
      if (p.excFaultPending) o['faultPending'] = true;
      break;
    case T.CCNT_F1:
    case T.CCNT_F2:
    case T.CCNT_F3:
      o['cycleCount'] = p.cycleCount;
      if (p.commitValid) o['commit'] = p.commit;
      break;
    case T.COMMIT:
      o['commit'] = p.commit;
      break;
    case T.CANCEL_F1:
    case T.CANCEL_F1_MISPRED:
    case T.CANCEL_F2:
    case T.CANCEL_F3:
      o['cancel'] = p.cancel;
      if (p.type !== T.CANCEL_F1) o['mispredict'] = true;
      if (p.atomCount) o['atoms'] = atomString(p.atomBits, p.atomCount);
      break;
    case T.MISPREDICT:
      o['mispredict'] = true;
      if (p.atomCount) o['atoms'] = atomString(p.atomBits, p.atomCount);
      break;
    case T.CTXT:
      ctxt();
      break;
    case T.ADDR_CTXT_L_32IS0:
    case T.ADDR_CTXT_L_32IS1:
    case T.ADDR_CTXT_L_64IS0:
    case T.ADDR_CTXT_L_64IS1:
      addr();
      ctxt();
      break;
    case T.ADDR_MATCH:
    case T.SRC_ADDR_MATCH:
      o['match'] = p.exactIndex;
      addr();
      break;
    case T.ADDR_S_IS0:
    case T.ADDR_S_IS1:
    case T.ADDR_L_32IS0:
    case T.ADDR_L_32IS1:
    case T.ADDR_L_64IS0:
    case T.ADDR_L_64IS1:
    case T.SRC_ADDR_S_IS0:
    case T.SRC_ADDR_S_IS1:
    case T.SRC_ADDR_L_32IS0:
    case T.SRC_ADDR_L_32IS1:
    case T.SRC_ADDR_L_64IS0:
    case T.SRC_ADDR_L_64IS1:
      addr();
      o['updatedBits'] = p.addrBits;
      break;
    case T.Q:
      o['count'] = p.qCountPresent ? p.qCount : null;
      if (p.qType <= 2) o['match'] = p.qType;
      if (p.qType <= 2 || p.qType === 5 || p.qType === 6 || p.qType === 0xa || p.qType === 0xb) addr();
      break;
    case T.ATOM_F1:
    case T.ATOM_F2:
    case T.ATOM_F3:
    case T.ATOM_F4:
    case T.ATOM_F5:
    case T.ATOM_F6:
      o['atoms'] = atomString(p.atomBits, p.atomCount);
      break;
    case T.EVENT:
      o['events'] = p.event;
      break;
    case T.ITE:
      o['el'] = p.iteEl;
      o['payload'] = '0x' + hex64(p.iteHi, p.iteLo);
      break;
    default:
      break;
  }
  return o;
}
