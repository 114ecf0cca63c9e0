// Intel PT packet encoder: packet values → bytes. `encode` writes exactly the packet it is
// given (IP packets with the IPBytes code and raw payload in the record); `ip` takes a full
// address and picks the shortest IP compression that reproduces it from the last IP, as a
// CPU does. Both keep the last IP the way a decoder will see it, reset at every PSB.

import { addrHi, addrLo, isCanonical, type Addr } from '../../common/address.js';
import { HwtraceError } from '../../common/errors.js';
import { ByteBuffer } from '../../common/stream.js';
import { PtLastIp } from './last-ip.js';
import {
  EXT2_MNT, EXT_CBR, EXT_CFE, EXT_EVD, EXT_EXSTOP, EXT_EXSTOP_IP, EXT_EXT2, EXT_MWAIT, EXT_OVF,
  EXT_PIP, EXT_PSBEND, EXT_PTW, EXT_PWRE, EXT_PWRX, EXT_STOP, EXT_TMA, EXT_TNT_64, EXT_VMCS,
  IPC_FULL, IPC_SEXT_48, IPC_SUPPRESSED, IPC_UPDATE_16, IPC_UPDATE_32, IPC_UPDATE_48,
  IP_PAYLOAD_SIZE, OPC_EXT, OPC_FUP, OPC_MODE, OPC_MTC, OPC_PAD, OPC_TIP, OPC_TIP_PGD,
  OPC_TIP_PGE, OPC_TRIG, OPC_TSC, PT_CBR, PT_CFE, PT_CYC, PT_EVD, PT_EXSTOP, PT_FUP, PT_MNEMONICS,
  PT_MNT, PT_MODE_EXEC, PT_MODE_TSX, PT_MTC, PT_MWAIT, PT_OVF, PT_PAD, PT_PIP, PT_PSB, PT_PSBEND,
  PT_PTW, PT_PWRE, PT_PWRX, PT_STOP, PT_TIP, PT_TIP_PGD, PT_TIP_PGE, PT_TMA, PT_TNT_64, PT_TNT_8,
  PT_TRIG, PT_TSC, PT_VMCS,
} from './opcodes.js';
import { PtPacket } from './packet.js';
import { PSB_PATTERN } from './sync.js';

const TWO32 = 4294967296;

/** Largest CYC value a packet can carry: 5 + 8 × 7 = 61 bits. */
const CYC_MAX_BITS = 61;

function bad(p: PtPacket, why: string): HwtraceError {
  return new HwtraceError('bad_packet', `cannot encode ${PT_MNEMONICS[p.type] ?? `packet type ${p.type}`}: ${why}`);
}

function isU32(v: number): boolean {
  return Number.isInteger(v) && v >= 0 && v < TWO32;
}

function inRange(v: number, max: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= max;
}

/** `n` bits of the 64-bit value (lo, hi) starting at bit `k` (n ≤ 8). */
function bitsAt(lo: number, hi: number, k: number, n: number): number {
  const mask = (1 << n) - 1;
  if (k >= 32) return (hi >>> (k - 32)) & mask;
  if (k + n <= 32) return (lo >>> k) & mask;
  return ((lo >>> k) | (hi << (32 - k))) & mask;
}

/** True when (lo, hi) has any bit set at position `k` or above. */
function anyBitsFrom(lo: number, hi: number, k: number): boolean {
  if (k >= 64) return false;
  if (k >= 32) return (hi >>> (k - 32)) !== 0;
  return hi !== 0 || (lo >>> k) !== 0;
}

/** Header byte of each IP packet type. */
const IP_OPCODE: Readonly<Record<number, number>> = {
  [PT_TIP]: OPC_TIP, [PT_TIP_PGE]: OPC_TIP_PGE, [PT_TIP_PGD]: OPC_TIP_PGD, [PT_FUP]: OPC_FUP,
};

/**
 * The IPBytes code a CPU uses for the IP (lo, hi) after last IP (lastLo, lastHi): the
 * shortest payload that reproduces it; sign-extended 48 bits before update-48 (same length).
 */
export function chooseIpCompression(lastLo: number, lastHi: number, lo: number, hi: number): number {
  if (hi === lastHi) return (lo >>> 16) === (lastLo >>> 16) ? IPC_UPDATE_16 : IPC_UPDATE_32;
  const top = (hi | 0) >> 15;
  if (top === 0 || top === -1) return IPC_SEXT_48;
  if ((hi >>> 16) === (lastHi >>> 16)) return IPC_UPDATE_48;
  return IPC_FULL;
}

export class PtEncoder {
  /** The last IP as a decoder will reconstruct it. */
  readonly lastIp = new PtLastIp();
  private readonly scratch = new PtPacket();

  constructor(readonly out: ByteBuffer = new ByteBuffer()) {}

  /** Bytes written so far. */
  get offset(): number {
    return this.out.length;
  }

  /** A view of everything written (valid until the next write). */
  bytes(): Uint8Array {
    return this.out.view();
  }

  /**
   * An IP packet (TIP, TIP.PGE, TIP.PGD, FUP) carrying `ip`, compressed against the last IP
   * as a CPU does. `ip` must be canonical (57-bit at most). Returns the packet as encoded
   * (a reused record).
   */
  ip(type: number, ip: Addr): PtPacket {
    if (IP_OPCODE[type] === undefined) throw new HwtraceError('bad_packet', `${PT_MNEMONICS[type] ?? type} is not an IP packet`);
    if (!isCanonical(ip)) throw new HwtraceError('non_canonical', `cannot encode ${PT_MNEMONICS[type]}: IP ${String(ip)} is not canonical`);
    const lo = addrLo(ip);
    const hi = addrHi(ip);
    const ipc = chooseIpCompression(this.lastIp.lo, this.lastIp.hi, lo, hi);
    const p = this.scratch;
    p.type = type;
    p.ipc = ipc;
    p.lo = ipc === IPC_UPDATE_16 ? lo & 0xffff : lo;
    p.hi = ipc === IPC_SEXT_48 || ipc === IPC_UPDATE_48 ? hi & 0xffff : ipc === IPC_FULL ? hi : 0;
    this.encode(p);
    return p;
  }

  /** An IP packet with its IP suppressed (IPBytes 000). */
  ipSuppressed(type: number): PtPacket {
    const p = this.scratch;
    p.type = type;
    p.ipc = IPC_SUPPRESSED;
    p.lo = 0;
    p.hi = 0;
    this.encode(p);
    return p;
  }

  /** A packet without payload: PAD, PSB, PSBEND, STOP, OVF. */
  simple(type: number): void {
    this.scratch.type = type;
    this.encode(this.scratch);
  }

  /** Writes `p` as it stands; throws HwtraceError naming the field when it cannot be encoded. */
  encode(p: PtPacket): void {
    const out = this.out;
    switch (p.type) {
      case PT_PAD:
        out.push(OPC_PAD);
        return;
      case PT_PSB:
        out.append(PSB_PATTERN);
        this.lastIp.reset();
        return;
      case PT_PSBEND:
        this.ext2(EXT_PSBEND);
        return;
      case PT_STOP:
        this.ext2(EXT_STOP);
        return;
      case PT_OVF:
        this.ext2(EXT_OVF);
        return;
      case PT_TIP:
      case PT_TIP_PGE:
      case PT_TIP_PGD:
      case PT_FUP:
        this.ipPacket(p);
        return;
      case PT_TNT_8:
        if (!inRange(p.bits, 6) || p.bits < 1) throw bad(p, `tnt.8 carries 1-6 branches, not ${p.bits}`);
        if (!inRange(p.lo, (1 << p.bits) - 1)) throw bad(p, `branch bits 0x${p.lo.toString(16)} do not fit in ${p.bits} bits`);
        out.push(((1 << p.bits) | p.lo) << 1);
        return;
      case PT_TNT_64:
        this.tnt64(p);
        return;
      case PT_MODE_EXEC:
        if ((p.csl | p.csd | p.iflag) >>> 1 !== 0) throw bad(p, 'csl, csd and iflag are single bits');
        this.two(OPC_MODE, p.csl | (p.csd << 1) | (p.iflag << 2));
        return;
      case PT_MODE_TSX:
        if ((p.intx | p.abrt) >>> 1 !== 0) throw bad(p, 'intx and abrt are single bits');
        this.two(OPC_MODE, 0x20 | p.intx | (p.abrt << 1));
        return;
      case PT_PIP: {
        if (!inRange(p.cr3, 2 ** 52 - 1) || p.cr3 % 32 !== 0) throw bad(p, `cr3 ${p.cr3.toString(16)} must be 32-byte aligned and below 2^52`);
        if (p.nr >>> 1 !== 0) throw bad(p, 'nr is a single bit');
        const q = p.cr3 / 16; // (cr3 >> 5) << 1: bits 47:1 of the payload
        const at = this.begin(8);
        const b = out.buf;
        b[at] = OPC_EXT;
        b[at + 1] = EXT_PIP;
        this.le32(at + 2, (q % TWO32) + p.nr);
        const hi = Math.floor(q / TWO32);
        b[at + 6] = hi & 0xff;
        b[at + 7] = hi >>> 8;
        return;
      }
      case PT_VMCS: {
        if (!inRange(p.vmcs, 2 ** 52 - 1) || p.vmcs % 4096 !== 0) throw bad(p, `vmcs ${p.vmcs.toString(16)} must be 4 KiB aligned and below 2^52`);
        const q = p.vmcs / 4096;
        const at = this.begin(7);
        out.buf[at] = OPC_EXT;
        out.buf[at + 1] = EXT_VMCS;
        this.le32(at + 2, q % TWO32);
        out.buf[at + 6] = Math.floor(q / TWO32);
        return;
      }
      case PT_CBR: {
        if (!inRange(p.ratio, 255)) throw bad(p, `ratio ${p.ratio} is not a byte`);
        const at = this.begin(4);
        out.buf[at] = OPC_EXT;
        out.buf[at + 1] = EXT_CBR;
        out.buf[at + 2] = p.ratio;
        out.buf[at + 3] = 0;
        return;
      }
      case PT_TSC: {
        if (!isU32(p.lo) || !inRange(p.hi, 0xffffff)) throw bad(p, 'tsc is 56 bits');
        const at = this.begin(8);
        out.buf[at] = OPC_TSC;
        this.le32(at + 1, p.lo);
        out.buf[at + 5] = p.hi & 0xff;
        out.buf[at + 6] = (p.hi >>> 8) & 0xff;
        out.buf[at + 7] = p.hi >>> 16;
        return;
      }
      case PT_TMA: {
        if (!inRange(p.ctc, 0xffff)) throw bad(p, `ctc 0x${p.ctc.toString(16)} is 16 bits`);
        if (!inRange(p.fc, 0x1ff)) throw bad(p, `fast counter 0x${p.fc.toString(16)} is 9 bits`);
        const at = this.begin(7);
        const b = out.buf;
        b[at] = OPC_EXT;
        b[at + 1] = EXT_TMA;
        b[at + 2] = p.ctc & 0xff;
        b[at + 3] = p.ctc >>> 8;
        b[at + 4] = 0;
        b[at + 5] = p.fc & 0xff;
        b[at + 6] = p.fc >>> 8;
        return;
      }
      case PT_MTC:
        if (!inRange(p.ctc, 255)) throw bad(p, `ctc ${p.ctc} is 8 bits`);
        this.two(OPC_MTC, p.ctc);
        return;
      case PT_CYC:
        this.cyc(p);
        return;
      case PT_MNT: {
        if (!isU32(p.lo) || !isU32(p.hi)) throw bad(p, 'payload must be two 32-bit words');
        const at = this.begin(11);
        out.buf[at] = OPC_EXT;
        out.buf[at + 1] = EXT_EXT2;
        out.buf[at + 2] = EXT2_MNT;
        this.le32(at + 3, p.lo);
        this.le32(at + 7, p.hi);
        return;
      }
      case PT_EXSTOP:
        if (p.ipFlag >>> 1 !== 0) throw bad(p, 'ip is a single bit');
        this.ext2(p.ipFlag ? EXT_EXSTOP_IP : EXT_EXSTOP);
        return;
      case PT_MWAIT: {
        if (!isU32(p.hints) || !isU32(p.ext)) throw bad(p, 'hints and ext are 32 bits');
        const at = this.begin(10);
        out.buf[at] = OPC_EXT;
        out.buf[at + 1] = EXT_MWAIT;
        this.le32(at + 2, p.hints);
        this.le32(at + 6, p.ext);
        return;
      }
      case PT_PWRE: {
        if (!inRange(p.state, 15) || !inRange(p.subState, 15) || p.hw >>> 1 !== 0) throw bad(p, 'state and sub-state are 4 bits, hw 1 bit');
        const at = this.begin(4);
        out.buf[at] = OPC_EXT;
        out.buf[at + 1] = EXT_PWRE;
        out.buf[at + 2] = p.hw << 7;
        out.buf[at + 3] = (p.state << 4) | p.subState;
        return;
      }
      case PT_PWRX: {
        if (!inRange(p.last, 15) || !inRange(p.deepest, 15) || !inRange(p.wake, 15)) throw bad(p, 'last, deepest and wake are 4 bits');
        const at = this.begin(7);
        const b = out.buf;
        b[at] = OPC_EXT;
        b[at + 1] = EXT_PWRX;
        b[at + 2] = (p.last << 4) | p.deepest;
        b[at + 3] = p.wake;
        b[at + 4] = 0;
        b[at + 5] = 0;
        b[at + 6] = 0;
        return;
      }
      case PT_PTW: {
        if (p.plc !== 0 && p.plc !== 1) throw bad(p, `payload size code ${p.plc} is reserved`);
        if (p.ipFlag >>> 1 !== 0) throw bad(p, 'ip is a single bit');
        if (!isU32(p.lo) || !isU32(p.hi) || (p.plc === 0 && p.hi !== 0)) throw bad(p, `payload does not fit in ${p.plc ? 8 : 4} bytes`);
        const at = this.begin(p.plc ? 10 : 6);
        out.buf[at] = OPC_EXT;
        out.buf[at + 1] = EXT_PTW | (p.plc << 5) | (p.ipFlag << 7);
        this.le32(at + 2, p.lo);
        if (p.plc) this.le32(at + 6, p.hi);
        return;
      }
      case PT_CFE: {
        if (!inRange(p.cfeType, 31) || !inRange(p.vector, 255) || p.ipFlag >>> 1 !== 0) throw bad(p, 'type is 5 bits, vector 8, ip 1');
        const at = this.begin(4);
        out.buf[at] = OPC_EXT;
        out.buf[at + 1] = EXT_CFE;
        out.buf[at + 2] = p.cfeType | (p.ipFlag << 7);
        out.buf[at + 3] = p.vector;
        return;
      }
      case PT_EVD: {
        if (!inRange(p.evdType, 31) || !isU32(p.lo) || !isU32(p.hi)) throw bad(p, 'type is 5 bits, payload 64');
        const at = this.begin(11);
        out.buf[at] = OPC_EXT;
        out.buf[at + 1] = EXT_EVD;
        out.buf[at + 2] = p.evdType;
        this.le32(at + 3, p.lo);
        this.le32(at + 7, p.hi);
        return;
      }
      case PT_TRIG: {
        if ((p.ipFlag | p.icntv | p.mult) >>> 1 !== 0 || !inRange(p.trbv, 255)) throw bad(p, 'ip, icntv and mult are bits, trbv 8 bits');
        if (p.icntv && !inRange(p.icnt, 0xffff)) throw bad(p, `icnt ${p.icnt} is 16 bits`);
        const at = this.begin(p.icntv ? 5 : 3);
        const b = out.buf;
        b[at] = OPC_TRIG;
        b[at + 1] = (p.ipFlag << 7) | (p.icntv << 6) | (p.mult << 5);
        b[at + 2] = p.trbv;
        if (p.icntv) {
          b[at + 3] = p.icnt & 0xff;
          b[at + 4] = p.icnt >>> 8;
        }
        return;
      }
      default:
        throw bad(p, 'unknown packet type');
    }
  }

  private ipPacket(p: PtPacket): void {
    const n = IP_PAYLOAD_SIZE[p.ipc];
    if (n === undefined || n < 0) throw bad(p, `IP compression ${p.ipc} is reserved`);
    const maxHi = n === 8 ? TWO32 - 1 : n === 6 ? 0xffff : 0;
    const maxLo = n === 2 ? 0xffff : n === 0 ? 0 : TWO32 - 1;
    if (!inRange(p.lo, maxLo) || !inRange(p.hi, maxHi)) throw bad(p, `IP payload does not fit in ${n} bytes`);
    const at = this.begin(1 + n);
    const b = this.out.buf;
    b[at] = IP_OPCODE[p.type]! | (p.ipc << 5);
    if (n === 2) {
      b[at + 1] = p.lo & 0xff;
      b[at + 2] = p.lo >>> 8;
    } else if (n >= 4) {
      this.le32(at + 1, p.lo);
      if (n >= 6) {
        b[at + 5] = p.hi & 0xff;
        b[at + 6] = (p.hi >>> 8) & 0xff;
      }
      if (n === 8) {
        b[at + 7] = (p.hi >>> 16) & 0xff;
        b[at + 8] = p.hi >>> 24;
      }
    }
    this.lastIp.update(p.ipc, p.lo, p.hi);
  }

  private tnt64(p: PtPacket): void {
    if (!inRange(p.bits, 47) || p.bits < 1) throw bad(p, `tnt.64 carries 1-47 branches, not ${p.bits}`);
    const n = p.bits;
    if (!isU32(p.lo) || !isU32(p.hi) || anyBitsFrom(p.lo, p.hi, n)) throw bad(p, `branch bits do not fit in ${n} bits`);
    let lo = p.lo;
    let hi = p.hi;
    if (n < 32) lo = (lo | (1 << n)) >>> 0;
    else hi |= 1 << (n - 32);
    const at = this.begin(8);
    const b = this.out.buf;
    b[at] = OPC_EXT;
    b[at + 1] = EXT_TNT_64;
    this.le32(at + 2, lo);
    b[at + 6] = hi & 0xff;
    b[at + 7] = hi >>> 8;
  }

  private cyc(p: PtPacket): void {
    if (!isU32(p.lo) || !isU32(p.hi) || anyBitsFrom(p.lo, p.hi, CYC_MAX_BITS)) throw bad(p, 'cyc value exceeds 61 bits');
    const out = this.out;
    let k = 5;
    const more = anyBitsFrom(p.lo, p.hi, k);
    out.push((bitsAt(p.lo, p.hi, 0, 5) << 3) | (more ? 4 : 0) | 3);
    if (!more) return;
    for (;;) {
      const v = bitsAt(p.lo, p.hi, k, 7);
      k += 7;
      const cont = anyBitsFrom(p.lo, p.hi, k);
      out.push((v << 1) | (cont ? 1 : 0));
      if (!cont) return;
    }
  }

  private begin(n: number): number {
    const at = this.out.reserve(n);
    this.out.length = at + n;
    return at;
  }

  private two(b0: number, b1: number): void {
    const at = this.begin(2);
    this.out.buf[at] = b0;
    this.out.buf[at + 1] = b1;
  }

  private ext2(e: number): void {
    this.two(OPC_EXT, e);
  }

  private le32(at: number, v: number): void {
    const b = this.out.buf;
    b[at] = v & 0xff;
    b[at + 1] = (v >>> 8) & 0xff;
    b[at + 2] = (v >>> 16) & 0xff;
    b[at + 3] = (v >>> 24) & 0xff;
  }
}
