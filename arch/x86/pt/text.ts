// A stable one-line text form of a packet — `MNEMONIC key=value ...`, values in lowercase
// hex — the same form the pt-libipt driver prints and reads, so hwtrace and libipt can be
// compared line by line. Also the JSON form the CLI prints.
//
// Two views: 'spec' reads every field as the SDM defines it; 'libipt-2.0' shows what libipt
// 2.0.5 reports, which differs in two places: it reads PWRE's HW flag from byte 2 bit 3 (the
// SDM has it at bit 7), and it does not know MODE.Exec's IF bit or PWRX's timer wake reason.

import { HwtraceError } from '../../common/errors.js';
import {
  CFE_TYPE_NAMES, EVD_TYPE_NAMES, PT_CBR, PT_CFE, PT_CYC, PT_EVD, PT_EXSTOP, PT_FUP, PT_MNEMONICS, PT_MNT,
  PT_MODE_EXEC, PT_MODE_TSX, PT_MTC, PT_MWAIT, PT_PIP, PT_PTW, PT_PWRE, PT_PWRX, PT_TIP, PT_TIP_PGD,
  PT_TIP_PGE, PT_TMA, PT_TNT_64, PT_TNT_8, PT_TRIG, PT_TSC, PT_VMCS, ptTypeOf,
} from './opcodes.js';
import { PtPacket, WAKE_HW, WAKE_INTERRUPT, WAKE_STORE, WAKE_TIMER } from './packet.js';

export type PtTextView = 'spec' | 'libipt-2.0';

const TWO32 = 4294967296;

/** A 64-bit value (lo, hi) in hex without leading zeros, as C's PRIx64. */
export function hex64(lo: number, hi: number): string {
  return hi !== 0 ? hi.toString(16) + (lo >>> 0).toString(16).padStart(8, '0') : (lo >>> 0).toString(16);
}

/** A 64-bit value (lo, hi) as 16 hex digits. */
export function hex64Padded(lo: number, hi: number): string {
  return (hi >>> 0).toString(16).padStart(8, '0') + (lo >>> 0).toString(16).padStart(8, '0');
}

function hexNum(v: number): string {
  return v.toString(16);
}

/** The packet's fields in a fixed order, as [key, hex value] pairs. */
export function packetFields(p: PtPacket, view: PtTextView = 'spec'): Array<[string, string]> {
  const spec = view === 'spec';
  switch (p.type) {
    case PT_FUP:
    case PT_TIP:
    case PT_TIP_PGE:
    case PT_TIP_PGD:
      return [['ipc', hexNum(p.ipc)], ['ip', hex64(p.lo, p.hi)]];
    case PT_TNT_8:
    case PT_TNT_64:
      return [['n', hexNum(p.bits)], ['tnt', hex64(p.lo, p.hi)]];
    case PT_MODE_EXEC: {
      const f: Array<[string, string]> = [['csl', hexNum(p.csl)], ['csd', hexNum(p.csd)]];
      if (spec) f.push(['if', hexNum(p.iflag)]);
      return f;
    }
    case PT_MODE_TSX:
      return [['intx', hexNum(p.intx)], ['abrt', hexNum(p.abrt)]];
    case PT_PIP:
      return [['cr3', hexNum(p.cr3)], ['nr', hexNum(p.nr)]];
    case PT_VMCS:
      return [['base', hexNum(p.vmcs)]];
    case PT_CBR:
      return [['ratio', hexNum(p.ratio)]];
    case PT_TSC:
      return [['tsc', hex64(p.lo, p.hi)]];
    case PT_TMA:
      return [['ctc', hexNum(p.ctc)], ['fc', hexNum(p.fc)]];
    case PT_MTC:
      return [['ctc', hexNum(p.ctc)]];
    case PT_CYC:
      return [['value', hex64(p.lo, p.hi)]];
    case PT_MNT:
      return [['payload', hex64(p.lo, p.hi)]];
    case PT_EXSTOP:
      return [['ip', hexNum(p.ipFlag)]];
    case PT_MWAIT:
      return [['hints', hexNum(p.hints)], ['ext', hexNum(p.ext)]];
    case PT_PWRE:
      return [['state', hexNum(p.state)], ['sub', hexNum(p.subState)], ['hw', hexNum(spec ? p.hw : (p.lo >>> 3) & 1)]];
    case PT_PWRX: {
      const f: Array<[string, string]> = [
        ['last', hexNum(p.last)], ['deepest', hexNum(p.deepest)],
        ['int', hexNum(p.wake & WAKE_INTERRUPT ? 1 : 0)], ['st', hexNum(p.wake & WAKE_STORE ? 1 : 0)],
        ['hw', hexNum(p.wake & WAKE_HW ? 1 : 0)],
      ];
      if (spec) f.push(['timer', hexNum(p.wake & WAKE_TIMER ? 1 : 0)]);
      return f;
    }
    case PT_PTW:
      return [['plc', hexNum(p.plc)], ['payload', hex64(p.lo, p.hi)], ['ip', hexNum(p.ipFlag)]];
    case PT_CFE:
      return [['type', hexNum(p.cfeType)], ['vector', hexNum(p.vector)], ['ip', hexNum(p.ipFlag)]];
    case PT_EVD:
      return [['type', hexNum(p.evdType)], ['payload', hex64(p.lo, p.hi)]];
    case PT_TRIG: {
      const f: Array<[string, string]> = [['trbv', hexNum(p.trbv)], ['ip', hexNum(p.ipFlag)], ['mult', hexNum(p.mult)], ['icntv', hexNum(p.icntv)]];
      if (p.icntv) f.push(['icnt', hexNum(p.icnt)]);
      return f;
    }
    default:
      return [];
  }
}

/** `MNEMONIC key=value ...`: what pt-libipt's `encode` reads. */
export function formatPacketSpec(p: PtPacket, view: PtTextView = 'spec'): string {
  let s = PT_MNEMONICS[p.type] ?? `type${p.type}`;
  for (const [k, v] of packetFields(p, view)) s += ` ${k}=${v}`;
  return s;
}

/** `OFFSET SIZE MNEMONIC key=value ...`: what pt-libipt's `packets` prints. */
export function formatPacketLine(p: PtPacket, view: PtTextView = 'spec'): string {
  return `${p.offset.toString(16)} ${p.size} ${formatPacketSpec(p, view)}`;
}

/** `OFFSET error CODE`: how pt-libipt's `packets` prints a decode error. */
export function formatErrorLine(offset: number, code: string): string {
  return `${offset.toString(16)} error ${code}`;
}

function parseHex64(text: string, what: string): [number, number] {
  if (!/^[0-9a-f]{1,16}$/i.test(text)) throw new HwtraceError('bad_packet', `${what}: '${text}' is not a 64-bit hex value`);
  const padded = text.padStart(16, '0');
  return [Number.parseInt(padded.slice(8), 16), Number.parseInt(padded.slice(0, 8), 16)];
}

/**
 * Parses `MNEMONIC key=value ...` (values hex) into a packet. Keys a packet does not need
 * are refused; keys it needs but that are missing are 0. Throws HwtraceError on bad input.
 */
export function parsePacketSpec(line: string): PtPacket {
  const words = line.trim().split(/\s+/);
  const name = words[0] ?? '';
  const type = ptTypeOf(name);
  if (type < 0) throw new HwtraceError('bad_packet', `unknown packet '${name}' in '${line}'`);
  const p = new PtPacket();
  p.type = type;
  const allowed = new Set(packetFields(p, 'spec').map(([k]) => k));
  if (type === PT_TRIG) allowed.add('icnt');
  for (const w of words.slice(1)) {
    const eq = w.indexOf('=');
    const key = eq > 0 ? w.slice(0, eq) : '';
    const value = w.slice(eq + 1);
    if (!allowed.has(key)) throw new HwtraceError('bad_packet', `${name} has no field '${key || w}' (in '${line}')`);
    const [lo, hi] = parseHex64(value, `${name} ${key}`);
    const small = hi * TWO32 + lo;
    switch (key) {
      case 'ip': if (type === PT_EXSTOP || type === PT_PTW || type === PT_CFE || type === PT_TRIG) p.ipFlag = small; else { p.lo = lo; p.hi = hi; } break;
      case 'tnt': case 'tsc': case 'value': case 'payload': p.lo = lo; p.hi = hi; break;
      case 'ipc': p.ipc = small; break;
      case 'n': p.bits = small; break;
      case 'csl': p.csl = small; break;
      case 'csd': p.csd = small; break;
      case 'if': p.iflag = small; break;
      case 'intx': p.intx = small; break;
      case 'abrt': p.abrt = small; break;
      case 'cr3': p.cr3 = small; break;
      case 'nr': p.nr = small; break;
      case 'base': p.vmcs = small; break;
      case 'ratio': p.ratio = small; break;
      case 'ctc': p.ctc = small; break;
      case 'fc': p.fc = small; break;
      case 'hints': p.hints = small; break;
      case 'ext': p.ext = small; break;
      case 'state': p.state = small; break;
      case 'sub': p.subState = small; break;
      case 'hw': if (type === PT_PWRE) p.hw = small; else p.wake = (p.wake & ~WAKE_HW) | (small ? WAKE_HW : 0); break;
      case 'last': p.last = small; break;
      case 'deepest': p.deepest = small; break;
      case 'int': p.wake = (p.wake & ~WAKE_INTERRUPT) | (small ? WAKE_INTERRUPT : 0); break;
      case 'st': p.wake = (p.wake & ~WAKE_STORE) | (small ? WAKE_STORE : 0); break;
      case 'timer': p.wake = (p.wake & ~WAKE_TIMER) | (small ? WAKE_TIMER : 0); break;
      case 'plc': p.plc = small; break;
      case 'type': if (type === PT_CFE) p.cfeType = small; else p.evdType = small; break;
      case 'vector': p.vector = small; break;
      case 'trbv': p.trbv = small; break;
      case 'mult': p.mult = small; break;
      case 'icntv': p.icntv = small; break;
      case 'icnt': p.icnt = small; break;
    }
  }
  if (type === PT_PWRE) p.lo = (p.hw << 7) | (p.state << 12) | (p.subState << 8);
  return p;
}

/** One packet as a JSON-ready object; 64-bit values as "0x…" strings, small ones as numbers. */
export function packetJson(p: PtPacket): Record<string, string | number> {
  const o: Record<string, string | number> = { offset: p.offset, size: p.size, type: PT_MNEMONICS[p.type] ?? `type${p.type}` };
  switch (p.type) {
    case PT_FUP: case PT_TIP: case PT_TIP_PGE: case PT_TIP_PGD:
      o['ipc'] = p.ipc;
      o['ip'] = '0x' + hex64(p.lo, p.hi);
      break;
    case PT_TNT_8: case PT_TNT_64: {
      let s = '';
      for (let i = p.bits - 1; i >= 0; i--) {
        const bit = i >= 32 ? (p.hi >>> (i - 32)) & 1 : (p.lo >>> i) & 1;
        s += bit ? '!' : '.';
      }
      o['bits'] = p.bits;
      o['tnt'] = s;
      break;
    }
    case PT_CFE:
      o['cfeType'] = CFE_TYPE_NAMES[p.cfeType] ?? p.cfeType;
      o['vector'] = p.vector;
      o['ip'] = p.ipFlag;
      break;
    case PT_EVD:
      o['evdType'] = EVD_TYPE_NAMES[p.evdType] ?? p.evdType;
      o['payload'] = '0x' + hex64(p.lo, p.hi);
      break;
    default:
      for (const [k, v] of packetFields(p, 'spec')) {
        const wide = k === 'tsc' || k === 'value' || k === 'payload';
        o[k] = wide ? '0x' + v : Number.parseInt(v, 16);
      }
  }
  return o;
}
