// One decoded (or to-be-encoded) Intel PT packet as plain numbers. The decoder overwrites a
// single instance per packet, so the hot path allocates nothing; copy it (`clone`) to keep it.
//
// Payloads wider than 32 bits are split into `lo`/`hi` unsigned 32-bit words, because TSC (56
// bits), CYC (up to 61), MNT, PTW and EVD (64) do not fit exactly in a double. Which fields a
// packet uses is listed per type below; the others keep whatever the last packet left.

import { PT_MNEMONICS } from './opcodes.js';

export class PtPacket {
  /** Packet type (PT_* in opcodes.ts). */
  type = 0;
  /** Byte offset of the packet's first byte in the stream. */
  offset = 0;
  /** Total size in bytes, header included. */
  size = 0;

  /** TIP/TIP.PGE/TIP.PGD/FUP: IPBytes code (IPC_*). */
  ipc = 0;
  /**
   * Raw payload, low and high 32 bits (unsigned):
   * IP packets: the IP payload as sent (not yet combined with the last IP);
   * TNT: the branch bits without the stop bit, oldest branch in the most significant bit;
   * TSC: TSC[55:0]; CYC: the cycle count; MNT, EVD: the 64-bit payload; PTW: the PTWRITE
   * operand; PWRE: the 16-bit payload (bytes 2-3); PWRX: bytes 2-5 in lo, byte 6 in hi.
   */
  lo = 0;
  hi = 0;
  /** TNT: number of branches (1-6 for TNT-8, 1-47 for TNT-64). */
  bits = 0;

  /** MODE.Exec: CS.L, CS.D and IF (bit 2, Event Trace era CPUs). */
  csl = 0;
  csd = 0;
  iflag = 0;
  /** MODE.TSX: InTX and TXAbort. */
  intx = 0;
  abrt = 0;

  /** PIP: CR3 (bits 51:5) and the non-root bit. */
  cr3 = 0;
  nr = 0;
  /** VMCS: the VMCS pointer (bits 51:12). */
  vmcs = 0;

  /** CBR: core:bus ratio. */
  ratio = 0;
  /** TMA: CTC[15:0]; MTC: CTC[mtcFreq+7:mtcFreq]. */
  ctc = 0;
  /** TMA: fast counter FC[8:0]. */
  fc = 0;

  /** EXSTOP, PTW, CFE, TRIG: a FUP follows and binds to this packet. */
  ipFlag = 0;
  /** MWAIT: EAX hints and ECX extensions. */
  hints = 0;
  ext = 0;
  /** PWRE: resolved thread C-state and sub C-state (4 bits each), and HW (hardware-initiated). */
  state = 0;
  subState = 0;
  hw = 0;
  /** PWRX: last and deepest core C-state; wake reason bits (interrupt, timer, store, hardware). */
  last = 0;
  deepest = 0;
  wake = 0;
  /** PTW: payload size code (0 = 4 bytes, 1 = 8 bytes). */
  plc = 0;
  /** CFE: event type and vector; EVD: type. */
  cfeType = 0;
  vector = 0;
  evdType = 0;
  /** TRIG: trigger bit vector, instruction count (valid when icntv), multiple-triggers flag. */
  trbv = 0;
  icnt = 0;
  icntv = 0;
  mult = 0;

  /** A detached copy. */
  clone(): PtPacket {
    return Object.assign(new PtPacket(), this);
  }

  get mnemonic(): string {
    return PT_MNEMONICS[this.type] ?? `type ${this.type}`;
  }
}

/** PWRX wake-reason bits (payload bits 11:8). */
export const WAKE_INTERRUPT = 1;
export const WAKE_TIMER = 2;
export const WAKE_STORE = 4;
export const WAKE_HW = 8;
