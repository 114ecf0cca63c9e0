// Generic trace elements the flow decoder outputs, named as OpenCSD names them
// (OCSD_GEN_TRC_ELEM_*). One FlowElement object is refilled per element: a sink copies what it keeps.

import { WP_JSON_NAMES, WP_SUB_NAMES, WP_TYPE_NAMES } from '../../isa-a64/classify.js';
import { formatAddr64 } from '../address64.js';

export const Elem = {
  NO_SYNC: 0,
  TRACE_ON: 1,
  EO_TRACE: 2,
  PE_CONTEXT: 3,
  INSTR_RANGE: 4,
  I_RANGE_NOPATH: 5,
  ADDR_NACC: 6,
  EXCEPTION: 7,
  EXCEPTION_RET: 8,
  TIMESTAMP: 9,
  CYCLE_COUNT: 10,
  EVENT: 11,
  SYNC_MARKER: 12,
  MEMTRANS: 13,
  INSTRUMENTATION: 14,
} as const;

export const ELEM_NAMES = [
  'NO_SYNC', 'TRACE_ON', 'EO_TRACE', 'PE_CONTEXT', 'INSTR_RANGE', 'I_RANGE_NOPATH', 'ADDR_NACC', 'EXCEPTION',
  'EXCEPTION_RET', 'TIMESTAMP', 'CYCLE_COUNT', 'EVENT', 'SYNC_MARKER', 'MEMTRANS', 'INSTRUMENTATION',
] as const;

/** Why sync was lost (NO_SYNC) or trace (re)started (TRACE_ON), as OpenCSD prints it. */
export const NO_SYNC_REASONS = ['init-decoder', 'reset-decoder', 'overflow', 'discard', 'bad-packet', 'bad-image', 'end-of-trace'] as const;
export const ISA_NAMES = ['A64', 'A32', 'T32'] as const;
export const SECURITY_NAMES = ['secure', 'nonsecure', 'root', 'realm'] as const;

export class FlowElement {
  type: number = Elem.NO_SYNC;
  /** Trace byte index of the packet the element came from, and the trace ID. */
  idx = 0;
  id = 0;
  /** Ranges: [start, end) and instruction count; ADDR_NACC: addr in start. Bodies of 64-bit addresses, tops beside them (address64.ts). */
  start = 0;
  end = 0;
  startTop = 0;
  endTop = 0;
  n = 0;
  /** 0 A64, 1 A32, 2 T32. */
  isa = 0;
  lastType = 0;
  lastSub = 0;
  lastCond = false;
  lastSize = 4;
  taken = false;
  /** EXCEPTION: number and preferred return address (in end). */
  num = 0;
  // PE_CONTEXT.
  el = 0;
  /** Index into SECURITY_NAMES. */
  security = 0;
  sf = 0;
  vmid = 0;
  ctxid = 0;
  /** PE_CONTEXT: the context packet carried a VMID / a context ID. */
  vmidValid = false;
  ctxidValid = false;
  /** TIMESTAMP value (exact below 2^53); CYCLE_COUNT / TIMESTAMP cycle count when ccValid. */
  ts = 0;
  cc = 0;
  ccValid = false;
  /** NO_SYNC / TRACE_ON reason index; EVENT bits; MEMTRANS kind (0 init, 1 start, 2 commit, 3 fail). */
  reason = 0;
}

const MEMTRANS_NAMES = ['Init', 'Start', 'Commit', 'Fail'] as const;
const EL_SEC = ['S', 'N', 'Root', 'R'] as const;

/** OpenCSD's memory-space codes and names, by our index (see memSpace). */
const MEMSPACE = ['0x1:EL1S', '0x2:EL1N', '0x4:EL2N', '0x8:EL3', '0x10:EL2S', '0x20:EL1R', '0x40:EL2R', '0x80:Root'] as const;

/** The memory space of the PE context an element was produced in (ADDR_NACC). */
function memSpace(e: FlowElement): number {
  if (e.el === 3) return 3;
  if (e.security === 3) return e.el === 2 ? 6 : 5;
  if (e.security === 2) return 7;
  if (e.el === 2) return e.security === 1 ? 2 : 4;
  return e.security === 1 ? 1 : 0;
}

const startHex = (e: FlowElement): string => formatAddr64(e.start, e.startTop);
const endHex = (e: FlowElement): string => formatAddr64(e.end, e.endTop);

/** The element as trc_pkt_lister prints it (`Idx:…; ID:…; OCSD_GEN_TRC_ELEM_…(…)`). */
export function formatElementLine(e: FlowElement): string {
  return `Idx:${e.idx}; ID:${e.id.toString(16)}; OCSD_GEN_TRC_ELEM_${ELEM_NAMES[e.type]}(${elementDetail(e)})`;
}

function elementDetail(e: FlowElement): string {
  switch (e.type) {
    case Elem.NO_SYNC:
      return ` [${NO_SYNC_REASONS[e.reason]}]`;
    case Elem.TRACE_ON:
      return e.reason === 2 ? ' [overflow]' : ' [begin or filter]';
    case Elem.EO_TRACE:
      return ' [end-of-trace]';
    case Elem.PE_CONTEXT:
      return `(ISA=${ISA_NAMES[e.isa]}) EL${e.el}${EL_SEC[e.security]}; ${e.sf ? '64-bit' : '32-bit'}; ${e.vmidValid ? `VMID=0x${e.vmid.toString(16)}; ` : ''}${e.ctxidValid ? `CTXTID=0x${e.ctxid.toString(16)}; ` : ''}`;
    case Elem.INSTR_RANGE: {
      const sub = WP_SUB_NAMES[e.lastSub];
      const tail = e.lastType === 0 ? '--- ' : e.lastType === 1 ? `BR  ${sub}${e.lastCond ? '  <cond>' : ' '}` : e.lastType === 2 ? `iBR ${sub}${e.lastCond ? ' <cond>' : sub ? ' ' : ''}` : `${WP_TYPE_NAMES[e.lastType]}`;
      return `exec range=${startHex(e)}:[${endHex(e)}] num_i(${e.n}) last_sz(${e.lastSize}) (ISA=${ISA_NAMES[e.isa]}) ${e.taken ? 'E' : 'N'} ${tail}`;
    }
    case Elem.I_RANGE_NOPATH:
      return `first ${startHex(e)}:[next ${endHex(e)}] num_i(${e.n})`;
    case Elem.ADDR_NACC:
      return ` ${startHex(e)}; Memspace [${MEMSPACE[memSpace(e)]}] `;
    case Elem.EXCEPTION:
      return `pref ret addr:${endHex(e)}${e.reason === 2 ? ' [addr also prev br tgt]' : ''}; excep num (0x${e.num.toString(16).padStart(2, '0')}) `;
    case Elem.TIMESTAMP:
      return ` [ TS=0x${e.ts.toString(16).padStart(12, '0')}]; ${e.ccValid ? `[CC=${e.cc}]; ` : ''}`;
    case Elem.CYCLE_COUNT:
      return ` [CC=${e.cc}]; `;
    case Elem.EVENT:
      return ` Numbered:${e.reason}; `;
    case Elem.SYNC_MARKER:
      return ' [Timestamp marker(0x00000000)]';
    case Elem.MEMTRANS:
      return `${MEMTRANS_NAMES[e.reason]}`;
    default:
      return '';
  }
}

/** The element as one JSON object (issue 6 item 4). */
export function elementToJson(e: FlowElement): Record<string, unknown> {
  const o: Record<string, unknown> = { idx: e.idx, id: e.id, elem: ELEM_NAMES[e.type] };
  switch (e.type) {
    case Elem.INSTR_RANGE:
      Object.assign(o, { start: startHex(e), end: endHex(e), n: e.n, isa: ISA_NAMES[e.isa], last: WP_JSON_NAMES[e.lastType], taken: e.taken });
      if (e.lastSub) o.subtype = WP_SUB_NAMES[e.lastSub];
      if (e.lastCond) o.cond = true;
      break;
    case Elem.I_RANGE_NOPATH:
      Object.assign(o, { start: startHex(e), end: endHex(e), n: e.n });
      break;
    case Elem.PE_CONTEXT:
      Object.assign(o, { isa: ISA_NAMES[e.isa], el: e.el, security: SECURITY_NAMES[e.security], sf: e.sf === 1 });
      if (e.vmidValid) o.vmid = e.vmid;
      if (e.ctxidValid) o.ctxid = e.ctxid;
      break;
    case Elem.EXCEPTION:
      Object.assign(o, { num: e.num, ret: endHex(e) });
      break;
    case Elem.ADDR_NACC:
      o.addr = startHex(e);
      break;
    case Elem.TIMESTAMP:
      o.ts = e.ts;
      if (e.ccValid) o.cc = e.cc;
      break;
    case Elem.CYCLE_COUNT:
      o.cc = e.cc;
      break;
    case Elem.NO_SYNC:
    case Elem.TRACE_ON:
      o.reason = e.type === Elem.TRACE_ON ? (e.reason === 2 ? 'overflow' : 'begin or filter') : NO_SYNC_REASONS[e.reason];
      break;
    case Elem.EVENT:
      o.event = e.reason;
      break;
    case Elem.MEMTRANS:
      o.trans = MEMTRANS_NAMES[e.reason];
      break;
  }
  return o;
}
