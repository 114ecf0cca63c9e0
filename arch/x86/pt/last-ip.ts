// The last-IP register that IP compression is relative to (SDM "IP Compression"): every
// non-suppressed TIP/TIP.PGE/TIP.PGD/FUP updates it, a PSB resets it to 0. Kept as two
// unsigned 32-bit halves so any 64-bit value, canonical or not, is held exactly.

import { addrFromParts } from '../../common/address.js';
import { IPC_FULL, IPC_SEXT_48, IPC_SUPPRESSED, IPC_UPDATE_16, IPC_UPDATE_32, IPC_UPDATE_48 } from './opcodes.js';

export class PtLastIp {
  lo = 0;
  hi = 0;
  /** An IP packet was seen since the last reset. */
  have = false;
  /** The last IP packet was suppressed (IPBytes 000). */
  suppressed = false;

  /** Forget the IP: at a PSB and after a resync. */
  reset(): void {
    this.lo = 0;
    this.hi = 0;
    this.have = false;
    this.suppressed = false;
  }

  /**
   * Applies one IP packet's payload. Returns false for a reserved IPBytes code (the packet
   * decoder never delivers one).
   */
  update(ipc: number, lo: number, hi: number): boolean {
    switch (ipc) {
      case IPC_SUPPRESSED:
        this.suppressed = true;
        return true;
      case IPC_UPDATE_16:
        this.lo = ((this.lo & 0xffff0000) | (lo & 0xffff)) >>> 0;
        break;
      case IPC_UPDATE_32:
        this.lo = lo >>> 0;
        break;
      case IPC_SEXT_48:
        this.lo = lo >>> 0;
        this.hi = ((hi << 16) >> 16) >>> 0;
        break;
      case IPC_UPDATE_48:
        this.lo = lo >>> 0;
        this.hi = ((this.hi & 0xffff0000) | (hi & 0xffff)) >>> 0;
        break;
      case IPC_FULL:
        this.lo = lo >>> 0;
        this.hi = hi >>> 0;
        break;
      default:
        return false;
    }
    this.have = true;
    this.suppressed = false;
    return true;
  }

  /** The IP as a canonical address; NaN when there is none, it is suppressed, or not canonical. */
  get ip(): number {
    if (!this.have || this.suppressed) return Number.NaN;
    return addrFromParts(this.hi, this.lo);
  }
}

/** The full IP a payload gives relative to (lastHi, lastLo), as [lo, hi]; for tests and tools. */
export function applyIpPayload(lastLo: number, lastHi: number, ipc: number, lo: number, hi: number): [number, number] {
  const t = new PtLastIp();
  t.lo = lastLo >>> 0;
  t.hi = lastHi >>> 0;
  t.have = true;
  t.update(ipc, lo, hi);
  return [t.lo, t.hi];
}
