// The 256-entry header table: for each first byte, the packet type and how to parse the rest.
// Built once per configuration, because the grammar depends on it (ETE vs ETMv4, Q support,
// conditional/data tracing, ETMv4.3+ Ignore, v8-M function return...).

import type { Etm4Config } from './config.js';
import { PacketType as T } from './packet-types.js';

/** How a header's payload is parsed. */
export const Kind = {
  RESERVED: 0,
  INVALID_CFG: 1,
  EXTENSION: 2,
  TRACE_INFO: 3,
  TIMESTAMP: 4,
  NO_PAYLOAD: 5,
  EXCEPTION: 6,
  CCNT_F1: 7,
  CCNT_F2: 8,
  CCNT_F3: 9,
  SPEC_FIELD: 10,
  SPEC_SINGLE: 11,
  COND_I: 12,
  COND_RES: 13,
  CONTEXT: 14,
  ADDR_CTXT: 15,
  ADDR_MATCH: 16,
  ADDR_SHORT: 17,
  ADDR_LONG32: 18,
  ADDR_LONG64: 19,
  Q: 20,
  ATOM: 21,
  ITE: 22,
  EVENT: 23,
} as const;

export interface HeaderTable {
  /** Packet type per header byte (for reserved headers: the type the byte would be, or RESERVED). */
  readonly type: Uint8Array;
  /** Parse kind per header byte. */
  readonly kind: Uint8Array;
  /** Atom headers: E/N bits, bit0 = oldest, 1 = E. */
  readonly atomBits: Uint32Array;
  /** Atom headers: number of atoms. */
  readonly atomCount: Uint8Array;
}

function set(t: HeaderTable, h: number, type: number, kind: number): void {
  t.type[h] = type;
  t.kind[h] = kind;
}

export function buildHeaderTable(cfg: Etm4Config): HeaderTable {
  const t: HeaderTable = {
    type: new Uint8Array(256).fill(T.RESERVED),
    kind: new Uint8Array(256).fill(Kind.RESERVED),
    atomBits: new Uint32Array(256),
    atomCount: new Uint8Array(256),
  };
  const v = cfg.fullVersion;
  const ete = cfg.major >= 5;
  set(t, 0x00, T.EXTENSION, Kind.EXTENSION);
  set(t, 0x01, T.TRACE_INFO, Kind.TRACE_INFO);
  set(t, 0x02, T.TIMESTAMP, Kind.TIMESTAMP);
  set(t, 0x03, T.TIMESTAMP, Kind.TIMESTAMP);
  set(t, 0x04, T.TRACE_ON, Kind.NO_PAYLOAD);
  // Function return exists only on v8-M cores with ETMv4.2 or later.
  set(t, 0x05, T.FUNC_RET, cfg.profile === 'M' && cfg.archV8 && v >= 0x42 ? Kind.NO_PAYLOAD : Kind.RESERVED);
  set(t, 0x06, T.EXCEPT, Kind.EXCEPTION);
  // ETE has no exception-return packet: ERET is an ordinary branch.
  set(t, 0x07, T.EXCEPT_RTN, ete ? Kind.INVALID_CFG : Kind.NO_PAYLOAD);
  if (ete) {
    set(t, 0x0a, T.TRANS_ST, Kind.NO_PAYLOAD);
    set(t, 0x0b, T.TRANS_COMMIT, Kind.NO_PAYLOAD);
    if (cfg.minor >= 3) set(t, 0x09, T.ITE, Kind.ITE);
  }
  set(t, 0x0c, T.CCNT_F2, Kind.CCNT_F2);
  set(t, 0x0d, T.CCNT_F2, Kind.CCNT_F2);
  set(t, 0x0e, T.CCNT_F1, Kind.CCNT_F1);
  set(t, 0x0f, T.CCNT_F1, Kind.CCNT_F1);
  for (let h = 0x10; h <= 0x1f; h++) set(t, h, T.CCNT_F3, Kind.CCNT_F3);
  for (let h = 0x20; h <= 0x27; h++) set(t, h, T.NUM_DS_MKR, cfg.dataTrace ? Kind.NO_PAYLOAD : Kind.INVALID_CFG);
  for (let h = 0x28; h <= 0x2c; h++) set(t, h, T.UNNUM_DS_MKR, cfg.dataTrace ? Kind.NO_PAYLOAD : Kind.INVALID_CFG);
  set(t, 0x2d, T.COMMIT, Kind.SPEC_FIELD);
  set(t, 0x2e, T.CANCEL_F1, Kind.SPEC_FIELD);
  set(t, 0x2f, T.CANCEL_F1_MISPRED, Kind.SPEC_FIELD);
  for (let h = 0x30; h <= 0x33; h++) set(t, h, T.MISPREDICT, Kind.SPEC_SINGLE);
  for (let h = 0x34; h <= 0x37; h++) set(t, h, T.CANCEL_F2, Kind.SPEC_SINGLE);
  for (let h = 0x38; h <= 0x3f; h++) set(t, h, T.CANCEL_F3, Kind.SPEC_SINGLE);

  const cond = cfg.condTrace;
  const condKind = (k: number): number => (cond ? k : Kind.INVALID_CFG);
  for (let h = 0x40; h <= 0x42; h++) set(t, h, T.COND_I_F2, condKind(Kind.COND_I));
  set(t, 0x43, T.COND_FLUSH, condKind(Kind.NO_PAYLOAD));
  for (let h = 0x44; h <= 0x46; h++) set(t, h, T.COND_RES_F4, condKind(Kind.COND_RES));
  for (let h = 0x48; h <= 0x4a; h++) set(t, h, T.COND_RES_F2, condKind(Kind.COND_RES));
  for (let h = 0x4c; h <= 0x4e; h++) set(t, h, T.COND_RES_F2, condKind(Kind.COND_RES));
  for (let h = 0x50; h <= 0x5f; h++) set(t, h, T.COND_RES_F3, condKind(Kind.COND_RES));
  for (let h = 0x68; h <= 0x6b; h++) set(t, h, T.COND_RES_F1, condKind(Kind.COND_RES));
  set(t, 0x6c, T.COND_I_F1, condKind(Kind.COND_I));
  set(t, 0x6d, T.COND_I_F3, condKind(Kind.COND_I));
  set(t, 0x6e, T.COND_RES_F1, condKind(Kind.COND_RES));
  set(t, 0x6f, T.COND_RES_F1, condKind(Kind.COND_RES));

  if (v >= 0x43) set(t, 0x70, T.IGNORE, Kind.NO_PAYLOAD);
  for (let h = 0x71; h <= 0x7f; h++) set(t, h, T.EVENT, Kind.EVENT);
  set(t, 0x80, T.CTXT, Kind.CONTEXT);
  set(t, 0x81, T.CTXT, Kind.CONTEXT);
  set(t, 0x82, T.ADDR_CTXT_L_32IS0, Kind.ADDR_CTXT);
  set(t, 0x83, T.ADDR_CTXT_L_32IS1, Kind.ADDR_CTXT);
  set(t, 0x85, T.ADDR_CTXT_L_64IS0, Kind.ADDR_CTXT);
  set(t, 0x86, T.ADDR_CTXT_L_64IS1, Kind.ADDR_CTXT);
  if (v >= 0x46) set(t, 0x88, T.TS_MARKER, Kind.NO_PAYLOAD);
  for (let h = 0x90; h <= 0x92; h++) set(t, h, T.ADDR_MATCH, Kind.ADDR_MATCH);
  set(t, 0x95, T.ADDR_S_IS0, Kind.ADDR_SHORT);
  set(t, 0x96, T.ADDR_S_IS1, Kind.ADDR_SHORT);
  set(t, 0x9a, T.ADDR_L_32IS0, Kind.ADDR_LONG32);
  set(t, 0x9b, T.ADDR_L_32IS1, Kind.ADDR_LONG32);
  set(t, 0x9d, T.ADDR_L_64IS0, Kind.ADDR_LONG64);
  set(t, 0x9e, T.ADDR_L_64IS1, Kind.ADDR_LONG64);
  for (let q = 0; q < 16; q++) {
    const reservedQ = q === 3 || q === 4 || q === 7 || q === 8 || q === 9 || q === 0xd || q === 0xe;
    set(t, 0xa0 + q, reservedQ ? T.RESERVED : T.Q, !reservedQ && cfg.qSupported ? Kind.Q : Kind.RESERVED);
  }
  if (v >= 0x50) {
    for (let h = 0xb0; h <= 0xb2; h++) set(t, h, T.SRC_ADDR_MATCH, Kind.ADDR_MATCH);
    set(t, 0xb4, T.SRC_ADDR_S_IS0, Kind.ADDR_SHORT);
    set(t, 0xb5, T.SRC_ADDR_S_IS1, Kind.ADDR_SHORT);
    set(t, 0xb6, T.SRC_ADDR_L_32IS0, Kind.ADDR_LONG32);
    set(t, 0xb7, T.SRC_ADDR_L_32IS1, Kind.ADDR_LONG32);
    set(t, 0xb8, T.SRC_ADDR_L_64IS0, Kind.ADDR_LONG64);
    set(t, 0xb9, T.SRC_ADDR_L_64IS1, Kind.ADDR_LONG64);
  }
  buildAtoms(t);
  return t;
}

/** Atom F4 and F5 patterns (bit0 = oldest atom, 1 = E). */
const F4_PATTERNS = [0xe, 0x0, 0xa, 0x5];

function atom(t: HeaderTable, h: number, type: number, bits: number, count: number): void {
  set(t, h, type, Kind.ATOM);
  t.atomBits[h] = bits >>> 0;
  t.atomCount[h] = count;
}

function buildAtoms(t: HeaderTable): void {
  // F6: ([4:0]+3) E atoms, then one more: E if bit5 = 0, N if bit5 = 1.
  for (let h = 0xc0; h <= 0xf4; h++) {
    if (h >= 0xd5 && h <= 0xdf) continue;
    const es = (h & 0x1f) + 3;
    let bits = (1 << es) - 1;
    if ((h & 0x20) === 0) bits |= 1 << es;
    atom(t, h, T.ATOM_F6, bits, es + 1);
  }
  atom(t, 0xd5, T.ATOM_F5, 0x00, 5); // NNNNN
  atom(t, 0xd6, T.ATOM_F5, 0x0a, 5); // NENEN
  atom(t, 0xd7, T.ATOM_F5, 0x15, 5); // ENENE
  atom(t, 0xf5, T.ATOM_F5, 0x1e, 5); // NEEEE
  for (let h = 0xd8; h <= 0xdb; h++) atom(t, h, T.ATOM_F2, h & 3, 2);
  for (let h = 0xdc; h <= 0xdf; h++) atom(t, h, T.ATOM_F4, F4_PATTERNS[h & 3]!, 4);
  atom(t, 0xf6, T.ATOM_F1, 0, 1);
  atom(t, 0xf7, T.ATOM_F1, 1, 1);
  for (let h = 0xf8; h <= 0xff; h++) atom(t, h, T.ATOM_F3, h & 7, 3);
}
