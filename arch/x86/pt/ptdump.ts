// ptdump-style packet listing: the same columns, mnemonics, payload text and options as
// libipt's ptdump, so the two listings can be diffed. Columns (each padded as ptdump pads
// them): offset (17), raw bytes (33, --raw), mnemonic (10), payload (25), then a tracking id
// (5) and value for --lastip, --exec-mode, --time/--tcal, pip (cr3) and vmcs. Decode errors
// and timing diagnostics print as `[OFFSET: WHAT: MESSAGE]` lines, as ptdump does.
//
// Where hwtrace deliberately differs from ptdump 2.0.5: a packet cut off by the end of the
// trace is reported as an error (ptdump stays silent); PWRE's HW flag is read from byte 2
// bit 7 as the SDM defines it; the packets libipt 2.0 does not know (CFE, EVD, TRIG) and
// MODE.Exec's IF bit are listed in ptdump's style.

import type { DecodeError } from '../../common/errors.js';
import { PtLastIp } from './last-ip.js';
import {
  CFE_TYPE_NAMES, EVD_TYPE_NAMES, IPC_FULL, IPC_SEXT_48, IPC_SUPPRESSED, IPC_UPDATE_16, IPC_UPDATE_32,
  IPC_UPDATE_48, PT_CBR, PT_CFE, PT_CYC, PT_ERROR_MESSAGES, PT_EVD, PT_EXSTOP, PT_FUP, PT_MNEMONICS,
  PT_MNT, PT_MODE_EXEC, PT_MODE_TSX, PT_MTC, PT_MWAIT, PT_OVF, PT_PAD, PT_PIP, PT_PSB, PT_PSBEND,
  PT_PTW, PT_PWRE, PT_PWRX, PT_TIP, PT_TIP_PGD, PT_TIP_PGE, PT_TMA, PT_TNT_64, PT_TNT_8, PT_TRIG,
  PT_TSC, PT_VMCS,
} from './opcodes.js';
import { WAKE_HW, WAKE_INTERRUPT, WAKE_STORE, type PtPacket } from './packet.js';
import { PtClock, type PtTimeConfig } from './flow/time.js';
import { FCR_SHIFT, lt64, sub64, u64Hi } from './flow/time-cal.js';
import { hex64, hex64Padded } from './text.js';

export interface PtDumpOptions {
  /** Print the offset column (ptdump shows it unless --no-offset). */
  offset: boolean;
  /** Offsets as 16 hex digits (--fixed-offset-width). */
  fixedOffsetWidth: boolean;
  /** Raw packet bytes column (--raw). */
  raw: boolean;
  /** Last-IP tracking on IP packets (--lastip). */
  lastIp: boolean;
  /** Execution mode on MODE.Exec (--exec-mode). */
  execMode: boolean;
  noPad: boolean;
  noTiming: boolean;
  noCyc: boolean;
  /** Estimated TSC on timing packets (--time). */
  time: boolean;
  /** Calibration (fcr) on timing packets (--tcal). */
  tcal: boolean;
  timeDelta: boolean;
  noTcal: boolean;
  noWallClock: boolean;
  /** Only errors (--quiet). */
  quiet: boolean;
  timing: PtTimeConfig;
}

export const DEFAULT_PTDUMP_OPTIONS: PtDumpOptions = {
  offset: true, fixedOffsetWidth: false, raw: false, lastIp: false, execMode: false, noPad: false,
  noTiming: false, noCyc: false, time: false, tcal: false, timeDelta: false, noTcal: false,
  noWallClock: false, quiet: false, timing: { mtcFreq: 0, nomFreq: 0, cpuid15Eax: 0, cpuid15Ebx: 0 },
};

/** libipt's message for an error code, as ptdump prints it. */
export function libiptMessage(code: string): string {
  return PT_ERROR_MESSAGES[code] ?? code;
}

// ptdump's field buffers: text longer than a field is cut to its size minus the NUL.
const OFFSET_FIELD = 17;
const RAW_FIELD = 33;
const OPCODE_FIELD = 10;
const PAYLOAD_FIELD = 25;
const TRACK_ID_FIELD = 5;
const TRACK_FIELD = 17;

function cut(s: string, field: number): string {
  return s.length < field ? s : s.slice(0, field - 1);
}

const TWO32 = 4294967296;
const FCR_ONE = 2 ** FCR_SHIFT;

/** The payload text of an IP packet: compressed bytes shown, the rest as '?'. */
function ipPayload(p: PtPacket): string {
  switch (p.ipc) {
    case IPC_SUPPRESSED:
      return '0: ????????????????';
    case IPC_UPDATE_16:
      return `1: ????????????${(p.lo & 0xffff).toString(16).padStart(4, '0')}`;
    case IPC_UPDATE_32:
      return `2: ????????${(p.lo >>> 0).toString(16).padStart(8, '0')}`;
    case IPC_SEXT_48: {
      const hi = ((p.hi << 16) >> 16) >>> 0;
      return `3: ${hex64Padded(p.lo, hi)}`;
    }
    case IPC_UPDATE_48:
      return `4: ????${(p.hi & 0xffff).toString(16).padStart(4, '0')}${(p.lo >>> 0).toString(16).padStart(8, '0')}`;
    case IPC_FULL:
      return `6: ${hex64Padded(p.lo, p.hi)}`;
    default:
      return `${p.ipc}: ????????????????`;
  }
}

function tntPayload(p: PtPacket): string {
  let s = '';
  for (let i = p.bits - 1; i >= 0; i--) {
    const bit = i >= 32 ? (p.hi >>> (i - 32)) & 1 : (p.lo >>> i) & 1;
    s += bit ? '!' : '.';
  }
  return s;
}

function execModeName(p: PtPacket): string {
  if (p.csl) return p.csd ? 'unknown' : '64-bit';
  return p.csd ? '32-bit' : '16-bit';
}

function joinFlags(...flags: Array<string | false>): string {
  return flags.filter((f): f is string => f !== false && f !== '').join(', ');
}

/**
 * Turns decoded packets and errors into ptdump's lines. Feed it every packet and error in
 * order; it calls `write` once per line (without the newline).
 */
export class PtDumpListing {
  private readonly lastIp = new PtLastIp();
  /** libipt's pt_time, updated at every timing packet; its `cal` is pt_time_cal (not with --no-tcal). */
  private readonly clock: PtClock;
  private readonly trackTime: boolean;
  /** The TSC and fcr last shown, for --time-delta. */
  private lastTscHi = 0;
  private lastTscLo = 0;
  private lastFcr = 0;
  private inHeader = false;

  // The line being built.
  private opcode = '';
  private payload = '';
  private trackId = '';
  private track = '';
  private skip = false;
  private skipTime = false;
  private skipTcal = false;

  constructor(private readonly o: PtDumpOptions, private readonly write: (line: string) => void) {
    this.clock = new PtClock(o.timing);
    this.trackTime = o.time || o.tcal;
  }

  /** A decode error: ptdump prints it, resyncs, and starts its tracking afresh. */
  error(e: DecodeError): void {
    this.diag(e.offset, 'error decoding packet', libiptMessage(e.code));
    this.resetTracking();
  }

  private resetTracking(): void {
    this.lastIp.reset();
    this.clock.reset();
    this.lastTscHi = this.lastTscLo = 0;
    this.lastFcr = 0;
    this.inHeader = false;
  }

  private diag(offset: number, what: string, message?: string): void {
    this.write(message === undefined ? `[${offset.toString(16)}: ${what}]` : `[${offset.toString(16)}: ${what}: ${message}]`);
  }

  /** A timing status: '' or the libipt error name. */
  private diagStatus(offset: number, what: string, status: string): void {
    if (status !== '') this.diag(offset, what, libiptMessage(status));
  }

  /** One decoded packet; `bytes` are its raw bytes (for --raw). */
  packet(p: PtPacket, bytes: Uint8Array): void {
    const o = this.o;
    this.opcode = PT_MNEMONICS[p.type] ?? '<unknown>';
    this.payload = '';
    this.trackId = '';
    this.track = '';
    this.skip = false;
    this.skipTime = false;
    this.skipTcal = false;
    const offset = p.offset;

    switch (p.type) {
      case PT_PAD:
        this.skip = o.noPad;
        break;
      case PT_PSB:
        if (this.trackTime) this.clock.cal.psb();
        // The last IP starts over at every PSB, in the decoder and in this listing alike.
        this.lastIp.reset();
        this.inHeader = true;
        break;
      case PT_PSBEND:
        this.inHeader = false;
        break;
      case PT_OVF:
        if (this.trackTime) this.clock.cal.ovf();
        break;
      case PT_FUP:
      case PT_TIP:
      case PT_TIP_PGE:
      case PT_TIP_PGD:
        this.payload = ipPayload(p);
        if (o.lastIp) {
          this.lastIp.update(p.ipc, p.lo, p.hi);
          this.trackId = 'ip';
          const l = this.lastIp;
          this.track = !l.have || l.suppressed ? '<unavailable>' : hex64Padded(l.lo, l.hi);
        }
        break;
      case PT_TNT_8:
      case PT_TNT_64:
        this.payload = tntPayload(p);
        break;
      case PT_MODE_EXEC:
        this.payload = joinFlags(p.csd === 1 && 'cs.d', p.csl === 1 && 'cs.l', p.iflag === 1 && 'if');
        if (o.execMode) {
          this.trackId = 'em';
          this.track = execModeName(p);
        }
        break;
      case PT_MODE_TSX:
        this.payload = joinFlags(p.intx === 1 && 'intx', p.abrt === 1 && 'abrt');
        break;
      case PT_PIP:
        this.payload = p.cr3.toString(16) + (p.nr ? ', nr' : '');
        this.trackId = 'cr3';
        this.track = p.cr3.toString(16).padStart(16, '0');
        break;
      case PT_VMCS:
        this.payload = p.vmcs.toString(16);
        this.trackId = 'vmcs';
        this.track = p.vmcs.toString(16).padStart(16, '0');
        break;
      case PT_TSC:
        this.payload = hex64(p.lo, p.hi);
        if (this.trackTime) this.trackTsc(offset, p.lo, p.hi);
        this.skip = o.noTiming;
        break;
      case PT_CBR:
        this.payload = p.ratio.toString(16);
        if (this.trackTime) this.trackCbr(offset, p.ratio);
        this.skip = o.noTiming;
        break;
      case PT_TMA:
        this.payload = `${p.ctc.toString(16)}, ${p.fc.toString(16)}`;
        if (this.trackTime) this.trackTma(offset, p.ctc, p.fc);
        this.skip = o.noTiming;
        break;
      case PT_MTC:
        this.payload = p.ctc.toString(16);
        if (this.trackTime) this.trackMtc(offset, p.ctc);
        this.skip = o.noTiming;
        break;
      case PT_CYC:
        this.payload = hex64(p.lo, p.hi);
        if (this.trackTime && !o.noCyc) this.trackCyc(offset, p.lo, p.hi);
        this.skip = o.noTiming || o.noCyc;
        break;
      case PT_MNT:
        this.payload = hex64(p.lo, p.hi);
        break;
      case PT_EXSTOP:
        this.payload = p.ipFlag ? 'ip' : '';
        break;
      case PT_MWAIT:
        this.payload = `${p.hints.toString(16).padStart(8, '0')}, ${p.ext.toString(16).padStart(8, '0')}`;
        break;
      case PT_PWRE:
        this.payload = `c${(p.state + 1) & 15}.${(p.subState + 1) & 15}${p.hw ? ', hw' : ''}`;
        break;
      case PT_PWRX: {
        // ptdump names one wake reason; a later one in this order wins.
        let wr = '';
        if (p.wake & WAKE_INTERRUPT) wr = 'int';
        if (p.wake & WAKE_STORE) wr = 'st';
        if (p.wake & WAKE_HW) wr = 'hw';
        const states = `c${(p.last + 1) & 15}, c${(p.deepest + 1) & 15}`;
        this.payload = wr === '' ? states : `${wr}: ${states}`;
        break;
      }
      case PT_PTW:
        this.payload = `${p.plc.toString(16)}: ${hex64(p.lo, p.hi)}${p.ipFlag ? ', ip' : ''}`;
        break;
      case PT_CFE:
        this.payload = `${CFE_TYPE_NAMES[p.cfeType] ?? p.cfeType.toString(16)}: ${p.vector.toString(16)}${p.ipFlag ? ', ip' : ''}`;
        break;
      case PT_EVD:
        this.payload = `${EVD_TYPE_NAMES[p.evdType] ?? p.evdType.toString(16)}: ${hex64Padded(p.lo, p.hi)}`;
        break;
      case PT_TRIG:
        this.payload = joinFlags(p.trbv.toString(16), p.icntv === 1 && `icnt: ${p.icnt.toString(16)}`, p.mult === 1 && 'mult', p.ipFlag === 1 && 'ip');
        break;
      default:
        break;
    }
    if (!this.skip && !o.quiet) this.write(this.line(offset, bytes));
  }

  private line(offset: number, bytes: Uint8Array): string {
    const o = this.o;
    let s = '';
    let sep = '';
    if (o.offset) {
      const off = o.fixedOffsetWidth ? offset.toString(16).padStart(16, '0') : offset.toString(16);
      s += cut(off, OFFSET_FIELD).padEnd(OFFSET_FIELD);
      sep = ' ';
    }
    if (o.raw) {
      let raw = '';
      for (const b of bytes) raw += b.toString(16).padStart(2, '0');
      s += sep + cut(raw, RAW_FIELD).padEnd(RAW_FIELD);
      sep = ' ';
    }
    const opcode = cut(this.opcode, OPCODE_FIELD);
    // TNT payloads use ptdump's larger payload buffer and are never cut.
    const payload = this.opcode.startsWith('tnt') ? this.payload : cut(this.payload, PAYLOAD_FIELD);
    s += sep + (payload !== '' ? opcode.padEnd(OPCODE_FIELD) : opcode);
    if (this.trackId !== '') {
      s += ' ' + payload.padEnd(PAYLOAD_FIELD) + ' ' + cut(this.trackId, TRACK_ID_FIELD).padEnd(TRACK_ID_FIELD) + cut(this.track, TRACK_FIELD);
    } else if (payload !== '') {
      s += ' ' + payload;
    }
    return s;
  }

  // Timing, as ptdump's track_* functions: update calibration and time, then show them.

  private trackTsc(offset: number, lo: number, hi: number): void {
    if (!this.o.noTcal) {
      if (this.inHeader) this.diagStatus(offset, 'error calibrating time', this.clock.cal.tscHeader(hi, lo));
      else this.clock.cal.tscUpdate(hi, lo);
    }
    this.diagStatus(offset, 'error updating time', this.clock.tscTime(lo, hi));
    this.showTime(offset);
  }

  private trackCbr(offset: number, ratio: number): void {
    if (!this.o.noTcal) {
      const cal = this.clock.cal;
      const st = this.inHeader ? cal.cbrHeader(ratio) : cal.cbrUpdate(ratio);
      this.diagStatus(offset, 'error calibrating time', st);
    }
    this.diagStatus(offset, 'error updating time', this.clock.cbrTime(ratio));
    // CBR does not move the time.
    this.skipTime = true;
    this.showTime(offset);
  }

  private trackTma(offset: number, ctc: number, fc: number): void {
    this.diagStatus(offset, 'error updating time', this.clock.tma(ctc, fc));
    // TMA does not change the calibration.
    this.skipTcal = true;
    this.showTime(offset);
  }

  private trackMtc(offset: number, ctc: number): void {
    if (!this.o.noTcal) this.diagStatus(offset, 'error calibrating time', this.clock.cal.mtc(ctc));
    this.diagStatus(offset, 'error updating time', this.clock.mtcTime(ctc));
    this.showTime(offset);
  }

  private trackCyc(offset: number, lo: number, hi: number): void {
    // The ratio before this CYC counts; 0 (with --no-tcal, or uncalibrated) loses the CYC.
    let fcrHi = 0;
    let fcrLo = 0;
    if (!this.o.noTcal) {
      const cal = this.clock.cal;
      if (!cal.calibrated) {
        this.diag(offset, 'calibration error', libiptMessage('no_time'));
      } else {
        fcrHi = cal.fcrHi;
        fcrLo = cal.fcrLo;
      }
      cal.cyc(hi, lo);
    }
    const st = this.clock.cycTime(lo, hi, fcrHi, fcrLo);
    if (st !== '') this.diagStatus(offset, 'error updating time', st);
    else if (fcrHi === 0 && fcrLo === 0) this.diag(offset, 'error updating time: no calibration');
    this.skipTcal = true;
    this.showTime(offset);
  }

  private showTime(offset: number): void {
    if (this.o.tcal && !this.skipTcal) this.showTcal(offset);
    if (this.o.time && !this.skipTime) this.showTsc(offset);
  }

  private showTsc(offset: number): void {
    this.trackId = 'tsc';
    const c = this.clock;
    if (!c.hasTime && !this.o.noWallClock) {
      this.diag(offset, 'error printing time', libiptMessage('no_time'));
      this.track = '<unavailable>';
      return;
    }
    const hi = c.timeHi;
    const lo = c.timeLo;
    if (this.o.timeDelta) {
      const oldHi = this.lastTscHi;
      const oldLo = this.lastTscLo;
      if (lt64(hi, lo, oldHi, oldLo)) {
        const d = sub64(oldHi, oldLo, hi, lo);
        this.track = '-' + hex64(d, u64Hi);
      } else {
        const d = sub64(hi, lo, oldHi, oldLo);
        this.track = '+' + hex64(d, u64Hi);
      }
      this.lastTscHi = hi;
      this.lastTscLo = lo;
    } else {
      this.track = hex64Padded(lo, hi);
    }
  }

  private showTcal(offset: number): void {
    this.trackId = 'fcr';
    const cal = this.clock.cal;
    if (!cal.calibrated) {
      this.track = '<unavailable>';
      this.diag(offset, 'error printing time', libiptMessage('no_time'));
      return;
    }
    // As ptdump: the 64-bit ratio as a double (one rounding), in units of 1.0.
    const fcr = cal.fcrHi * TWO32 + cal.fcrLo;
    const now = fcr / FCR_ONE;
    if (this.o.timeDelta) {
      const d = now - this.lastFcr / FCR_ONE;
      this.track = (d >= 0 ? '+' : '') + d.toFixed(3);
      this.lastFcr = fcr;
    } else {
      this.track = now.toFixed(3);
    }
  }
}
