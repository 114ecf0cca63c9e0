// Reads what OpenCSD's trc_pkt_lister prints for decoded generic trace elements
// (`Idx:32; ID:10; OCSD_GEN_TRC_ELEM_INSTR_RANGE(exec range=0x400000:[0x40000c] ...)`),
// in both the Debian 1.3.3 and the 1.8.0 spellings. Packet lines are not parsed here.

import { parseAddr, type Addr } from '../../../arch/common/address.js';

export interface ListerElement {
  /** Byte index in the trace buffer of the packet that produced the element. */
  idx: number;
  /** Trace ID (hex in the listing). */
  id: number;
  /** Element name without the OCSD_GEN_TRC_ELEM_ prefix: INSTR_RANGE, PE_CONTEXT, ... */
  elem: string;
  /** The text between the element's parentheses, as printed. */
  text: string;
  /** INSTR_RANGE / I_RANGE_NOPATH: first address and the address after the last instruction. */
  start?: Addr;
  end?: Addr;
  /** Instructions in the range. */
  n?: number;
  /** INSTR_RANGE: ISA (A64, A32, T32), size of the last instruction, executed flag, waypoint type. */
  isa?: string;
  lastSize?: number;
  taken?: boolean;
  last?: string;
  subtype?: string;
  cond?: boolean;
  /** ADDR_NACC: the address that could not be read. */
  addr?: Addr;
  /** EXCEPTION: number and preferred return address. */
  num?: number;
  ret?: Addr;
  /** PE_CONTEXT fields. */
  el?: number;
  security?: string;
  sf?: boolean;
  vmid?: number;
  ctxid?: number;
  /** TIMESTAMP value; NO_SYNC / TRACE_ON / EO_TRACE reason. */
  ts?: number;
  reason?: string;
}

const LINE = /^Idx:(\d+); ID:([0-9a-fA-F]+); OCSD_GEN_TRC_ELEM_([A-Z0-9_]+)\((.*)\)\s*$/;
const RANGE = /exec range=0x([0-9a-f]+):\[0x([0-9a-f]+)\] num_i\((\d+)\) last_sz\((\d+)\) \(ISA=(\w+)\) ([EN]) (\S+)\s*(.*)$/;
const NOPATH = /first 0x([0-9a-f]+):\[next 0x([0-9a-f]+)\] num_i\((\d+)\)/;
const EXCEPTION = /pref ret addr:0x([0-9a-f]+).*excep num \(0x([0-9a-f]+)\)/;
const CONTEXT_EL = /\bEL(\d)([A-Z]*)\b/;
const SECURITY: Record<string, string> = { N: 'nonsecure', S: 'secure', R: 'realm', Root: 'root', '': 'secure' };

/** Parses one line of trc_pkt_lister output; undefined for lines that are not generic elements. */
export function parseListerElement(line: string): ListerElement | undefined {
  const m = LINE.exec(line);
  if (!m) return undefined;
  const e: ListerElement = { idx: Number(m[1]), id: parseInt(m[2]!, 16), elem: m[3]!, text: m[4]!.trim() };
  const text = m[4]!;
  switch (e.elem) {
    case 'INSTR_RANGE': {
      const r = RANGE.exec(text);
      if (!r) break;
      e.start = parseAddr('0x' + r[1]!);
      e.end = parseAddr('0x' + r[2]!);
      e.n = Number(r[3]);
      e.lastSize = Number(r[4]);
      e.isa = r[5]!;
      e.taken = r[6] === 'E';
      e.last = r[7]!;
      const rest = r[8]!.trim();
      e.cond = rest.includes('<cond>');
      const sub = rest.replace('<cond>', '').trim();
      if (sub) e.subtype = sub;
      break;
    }
    case 'I_RANGE_NOPATH': {
      const r = NOPATH.exec(text);
      if (!r) break;
      e.start = parseAddr('0x' + r[1]!);
      e.end = parseAddr('0x' + r[2]!);
      e.n = Number(r[3]);
      break;
    }
    case 'ADDR_NACC': {
      const r = /0x([0-9a-f]+)/.exec(text);
      if (r) e.addr = parseAddr('0x' + r[1]!);
      break;
    }
    case 'EXCEPTION': {
      const r = EXCEPTION.exec(text);
      if (!r) break;
      e.ret = parseAddr('0x' + r[1]!);
      e.num = parseInt(r[2]!, 16);
      break;
    }
    case 'PE_CONTEXT': {
      const isa = /\(ISA=(\w+)\)/.exec(text);
      if (isa) e.isa = isa[1]!;
      const el = CONTEXT_EL.exec(text);
      if (el) {
        e.el = Number(el[1]);
        e.security = SECURITY[el[2]!] ?? el[2]!.toLowerCase();
      }
      e.sf = /64-bit/.test(text);
      const vmid = /VMID=0x([0-9a-f]+)/.exec(text);
      if (vmid) e.vmid = parseInt(vmid[1]!, 16);
      const cid = /CTXTID=0x([0-9a-f]+)/.exec(text);
      if (cid) e.ctxid = parseInt(cid[1]!, 16);
      break;
    }
    case 'TIMESTAMP': {
      const r = /TS=0x([0-9a-f]+)/.exec(text);
      if (r) e.ts = parseInt(r[1]!, 16);
      break;
    }
    default: {
      const r = /\[([^\]]*)\]/.exec(text);
      if (r) e.reason = r[1]!.trim();
    }
  }
  return e;
}

/**
 * The addresses of the instructions an A64 INSTR_RANGE covers (4 bytes each). A32 ranges are
 * also fixed-width; T32 ranges need the code to be decoded, so they are refused here.
 */
export function* rangeAddresses(e: ListerElement): Generator<Addr> {
  if (e.start === undefined || e.end === undefined) return;
  if (e.isa === 'T32') throw new Error(`cannot expand a T32 range at Idx:${e.idx} without decoding it`);
  for (let a = e.start; a < e.end; a += 4) yield a;
}
