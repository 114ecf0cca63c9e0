// Intel PT packet grammar: packet types, opcodes, sizes and the dispatch tables the decoder
// indexes by header byte. Facts from the Intel SDM Vol. 3, "Intel Processor Trace", packet
// definitions; names follow libipt's and ptdump's.

/** Packet types. Numbers are stable: they index per-type tables and counters. */
export const PT_PAD = 0;
export const PT_PSB = 1;
export const PT_PSBEND = 2;
export const PT_FUP = 3;
export const PT_TIP = 4;
export const PT_TIP_PGE = 5;
export const PT_TIP_PGD = 6;
export const PT_TNT_8 = 7;
export const PT_TNT_64 = 8;
export const PT_MODE_EXEC = 9;
export const PT_MODE_TSX = 10;
export const PT_PIP = 11;
export const PT_VMCS = 12;
export const PT_CBR = 13;
export const PT_TSC = 14;
export const PT_TMA = 15;
export const PT_MTC = 16;
export const PT_CYC = 17;
export const PT_STOP = 18;
export const PT_OVF = 19;
export const PT_MNT = 20;
export const PT_EXSTOP = 21;
export const PT_MWAIT = 22;
export const PT_PWRE = 23;
export const PT_PWRX = 24;
export const PT_PTW = 25;
export const PT_CFE = 26;
export const PT_EVD = 27;
export const PT_TRIG = 28;
export const PT_TYPE_COUNT = 29;

/** libipt's / ptdump's mnemonic per packet type. */
export const PT_MNEMONICS: readonly string[] = [
  'pad', 'psb', 'psbend', 'fup', 'tip', 'tip.pge', 'tip.pgd', 'tnt.8', 'tnt.64', 'mode.exec',
  'mode.tsx', 'pip', 'vmcs', 'cbr', 'tsc', 'tma', 'mtc', 'cyc', 'stop', 'ovf', 'mnt', 'exstop',
  'mwait', 'pwre', 'pwrx', 'ptw', 'cfe', 'evd', 'trig',
];

/** Packet type for a mnemonic, or -1. */
export function ptTypeOf(mnemonic: string): number {
  return PT_MNEMONICS.indexOf(mnemonic);
}

/** True for TIP, TIP.PGE, TIP.PGD and FUP: the packets with a compressed IP payload. */
export function isIpPacket(type: number): boolean {
  return type >= PT_FUP && type <= PT_TIP_PGD;
}

/** Timing packets, as ptdump's --no-timing hides them. */
export function isTimingPacket(type: number): boolean {
  return type === PT_TSC || type === PT_TMA || type === PT_MTC || type === PT_CYC || type === PT_CBR;
}

// Header bytes.
export const OPC_PAD = 0x00;
export const OPC_EXT = 0x02;
export const OPC_TSC = 0x19;
export const OPC_MTC = 0x59;
export const OPC_MODE = 0x99;
export const OPC_TRIG = 0xd9;
/** TIP-family opcodes sit in bits 4:0; bits 7:5 are IPBytes. */
export const OPC_TIP_PGD = 0x01;
export const OPC_TIP = 0x0d;
export const OPC_TIP_PGE = 0x11;
export const OPC_FUP = 0x1d;
export const OPM_TIP = 0x1f;
/** CYC: bits 1:0 = 11; bit 2 = Exp (more bytes follow); bits 7:3 = cycles[4:0]. */
export const OPC_CYC = 0x03;
export const OPM_CYC = 0x03;

// Second bytes after 0x02.
export const EXT_PSB = 0x82;
export const EXT_PSBEND = 0x23;
export const EXT_TNT_64 = 0xa3;
export const EXT_PIP = 0x43;
export const EXT_CBR = 0x03;
export const EXT_TMA = 0x73;
export const EXT_STOP = 0x83;
export const EXT_VMCS = 0xc8;
export const EXT_OVF = 0xf3;
export const EXT_EXT2 = 0xc3;
export const EXT2_MNT = 0x88;
export const EXT_EXSTOP = 0x62;
export const EXT_EXSTOP_IP = 0xe2;
export const EXT_MWAIT = 0xc2;
export const EXT_PWRE = 0x22;
export const EXT_PWRX = 0xa2;
/** PTW: bits 4:0 = 10010; bits 6:5 = payload size code; bit 7 = IP. */
export const EXT_PTW = 0x12;
export const EXM_PTW = 0x1f;
export const EXT_CFE = 0x13;
export const EXT_EVD = 0x53;

/** Total packet sizes of the fixed-size packets. */
export const SIZE_PSB = 16;
export const SIZE_TNT_64 = 8;
export const SIZE_PIP = 8;
export const SIZE_MODE = 2;
export const SIZE_TSC = 8;
export const SIZE_CBR = 4;
export const SIZE_TMA = 7;
export const SIZE_MTC = 2;
export const SIZE_VMCS = 7;
export const SIZE_MNT = 11;
export const SIZE_MWAIT = 10;
export const SIZE_PWRE = 4;
export const SIZE_PWRX = 7;
export const SIZE_CFE = 4;
export const SIZE_EVD = 11;
/** A CYC longer than this would carry more than 64 bits: 1 + 8 extension bytes. */
export const MAX_CYC_SIZE = 9;

/** IP compression (IPBytes) codes. */
export const IPC_SUPPRESSED = 0;
export const IPC_UPDATE_16 = 1;
export const IPC_UPDATE_32 = 2;
export const IPC_SEXT_48 = 3;
export const IPC_UPDATE_48 = 4;
export const IPC_FULL = 6;
/** Payload bytes per IPBytes code; -1 = reserved (101, 111). */
export const IP_PAYLOAD_SIZE: readonly number[] = [0, 2, 4, 6, 6, -1, 8, -1];

/** MODE leaves (bits 7:5 of the second byte). */
export const MODE_LEAF_EXEC = 0;
export const MODE_LEAF_TSX = 1;

// Decoder dispatch: what the first byte selects.
export const K_BAD = 0;
export const K_TNT_8 = 1;
export const K_PAD = 2;
export const K_EXT = 3;
export const K_CYC = 4;
/** TIP, TIP.PGE, TIP.PGD, FUP: one handler, the type comes from bits 4:0. */
export const K_IP = 5;
export const K_TSC = 9;
export const K_MTC = 10;
export const K_MODE = 11;
export const K_TRIG = 12;

/** First-byte dispatch table (256 entries). */
export function buildHeaderTable(trig: boolean): Uint8Array {
  const t = new Uint8Array(256);
  for (let b = 0; b < 256; b++) {
    if ((b & 1) === 0) t[b] = K_TNT_8;
    else if ((b & OPM_CYC) === OPC_CYC) t[b] = K_CYC;
    else if ((b & OPM_TIP) === OPC_TIP || (b & OPM_TIP) === OPC_TIP_PGE || (b & OPM_TIP) === OPC_TIP_PGD || (b & OPM_TIP) === OPC_FUP) t[b] = K_IP;
    else t[b] = K_BAD;
  }
  t[OPC_PAD] = K_PAD;
  t[OPC_EXT] = K_EXT;
  t[OPC_TSC] = K_TSC;
  t[OPC_MTC] = K_MTC;
  t[OPC_MODE] = K_MODE;
  if (trig) t[OPC_TRIG] = K_TRIG;
  return t;
}

// Dispatch on the byte after 0x02.
export const X_BAD = 0;
export const X_PSB = 1;
export const X_PSBEND = 2;
export const X_TNT_64 = 3;
export const X_PIP = 4;
export const X_CBR = 5;
export const X_TMA = 6;
export const X_STOP = 7;
export const X_VMCS = 8;
export const X_OVF = 9;
export const X_EXT2 = 10;
export const X_EXSTOP = 11;
export const X_MWAIT = 12;
export const X_PWRE = 13;
export const X_PWRX = 14;
export const X_PTW = 15;
export const X_CFE = 16;
export const X_EVD = 17;

/** Second-byte dispatch table for 0x02-prefixed packets. */
export function buildExtTable(eventTrace: boolean): Uint8Array {
  const t = new Uint8Array(256);
  for (let b = 0; b < 256; b++) if ((b & EXM_PTW) === EXT_PTW) t[b] = X_PTW;
  t[EXT_PSB] = X_PSB;
  t[EXT_PSBEND] = X_PSBEND;
  t[EXT_TNT_64] = X_TNT_64;
  t[EXT_PIP] = X_PIP;
  t[EXT_CBR] = X_CBR;
  t[EXT_TMA] = X_TMA;
  t[EXT_STOP] = X_STOP;
  t[EXT_VMCS] = X_VMCS;
  t[EXT_OVF] = X_OVF;
  t[EXT_EXT2] = X_EXT2;
  t[EXT_EXSTOP] = X_EXSTOP;
  t[EXT_EXSTOP_IP] = X_EXSTOP;
  t[EXT_MWAIT] = X_MWAIT;
  t[EXT_PWRE] = X_PWRE;
  t[EXT_PWRX] = X_PWRX;
  if (eventTrace) {
    t[EXT_CFE] = X_CFE;
    t[EXT_EVD] = X_EVD;
  }
  return t;
}

/** CFE types (byte 2 bits 4:0), as libipt names them. */
export const CFE_TYPE_NAMES: Readonly<Record<number, string>> = {
  1: 'intr', 2: 'iret', 3: 'smi', 4: 'rsm', 5: 'sipi', 6: 'init', 7: 'vmentry', 8: 'vmexit',
  9: 'vmexit_intr', 0xa: 'shutdown', 0xc: 'uintr', 0xd: 'uiret', 0xe: 'swintr', 0xf: 'syscall',
};

/** EVD types (byte 2 bits 4:0): page-fault address, VMX exit qualification, VMX exit reason. */
export const EVD_TYPE_NAMES: Readonly<Record<number, string>> = { 0: 'pfa', 1: 'vmxq', 2: 'vmxr' };

/** libipt's error codes as hwtrace reports them, with libipt's messages (pt_errstr). */
export const PT_ERROR_MESSAGES: Readonly<Record<string, string>> = {
  nosync: 'decoder out of sync',
  bad_opc: 'unknown opcode',
  bad_packet: 'unknown packet',
  bad_context: 'unexpected packet context',
  eos: 'reached end of trace stream',
  bad_config: 'bad configuration',
  noip: 'no ip',
  ip_suppressed: 'ip has been suppressed',
  no_time: 'no timing information',
  no_cbr: 'no core:bus ratio',
  internal: 'internal error',
};
