// ETMv4 / ETE instruction-trace packet types, with the names and descriptions OpenCSD's
// trc_pkt_lister prints for them (`I_ATOM_F3 : Atom format 3.`), so our listing can be
// diffed line by line against the reference. The numeric values are ours.

export const PacketType = {
  // Not packets of the grammar: what the decoder reports about the byte stream.
  NOTSYNC: 0,
  INCOMPLETE_EOT: 1,
  BAD_SEQUENCE: 2,
  RESERVED: 3,
  RESERVED_CFG: 4,
  EXTENSION: 5,
  NONE: 6,
  // Extension packets (header 0x00).
  ASYNC: 7,
  DISCARD: 8,
  OVERFLOW: 9,
  TRACE_INFO: 10,
  TIMESTAMP: 11,
  TRACE_ON: 12,
  FUNC_RET: 13,
  EXCEPT: 14,
  EXCEPT_RTN: 15,
  PE_RESET: 16,
  TRANS_FAIL: 17,
  ITE: 18,
  TRANS_ST: 19,
  TRANS_COMMIT: 20,
  CCNT_F1: 21,
  CCNT_F2: 22,
  CCNT_F3: 23,
  NUM_DS_MKR: 24,
  UNNUM_DS_MKR: 25,
  COMMIT: 26,
  CANCEL_F1: 27,
  CANCEL_F1_MISPRED: 28,
  MISPREDICT: 29,
  CANCEL_F2: 30,
  CANCEL_F3: 31,
  COND_I_F2: 32,
  COND_FLUSH: 33,
  COND_RES_F4: 34,
  COND_RES_F2: 35,
  COND_RES_F3: 36,
  COND_RES_F1: 37,
  COND_I_F1: 38,
  COND_I_F3: 39,
  IGNORE: 40,
  EVENT: 41,
  CTXT: 42,
  ADDR_CTXT_L_32IS0: 43,
  ADDR_CTXT_L_32IS1: 44,
  ADDR_CTXT_L_64IS0: 45,
  ADDR_CTXT_L_64IS1: 46,
  TS_MARKER: 47,
  ADDR_MATCH: 48,
  ADDR_S_IS0: 49,
  ADDR_S_IS1: 50,
  ADDR_L_32IS0: 51,
  ADDR_L_32IS1: 52,
  ADDR_L_64IS0: 53,
  ADDR_L_64IS1: 54,
  Q: 55,
  SRC_ADDR_MATCH: 56,
  SRC_ADDR_S_IS0: 57,
  SRC_ADDR_S_IS1: 58,
  SRC_ADDR_L_32IS0: 59,
  SRC_ADDR_L_32IS1: 60,
  SRC_ADDR_L_64IS0: 61,
  SRC_ADDR_L_64IS1: 62,
  ATOM_F1: 63,
  ATOM_F2: 64,
  ATOM_F3: 65,
  ATOM_F4: 66,
  ATOM_F5: 67,
  ATOM_F6: 68,
  /**
   * A leading 0x00 dropped while looking for an A-sync (more than 11 zeros before the 0x80).
   * OpenCSD lists it as a one-byte `I_ASYNC`; it is not a synchronisation.
   */
  ASYNC_PAD: 69,
} as const;

export type PacketType = (typeof PacketType)[keyof typeof PacketType];

export const PACKET_TYPE_COUNT = 70;

/** [OpenCSD name, description] per packet type. */
const INFO: readonly (readonly [string, string])[] = [
  ['I_NOT_SYNC', 'I Stream not synchronised'],
  ['I_INCOMPLETE_EOT', 'Incomplete packet at end of trace.'],
  ['I_BAD_SEQUENCE', 'Invalid Sequence in packet.'],
  ['I_RESERVED', 'Reserved Packet Header'],
  ['I_RESERVED_CFG', 'Reserved header for current configuration.'],
  ['I_EXTENSION', 'Extension packet header.'],
  ['I_NO_ERR_TYPE', 'No Error Type.'],
  ['I_ASYNC', 'Alignment Synchronisation.'],
  ['I_DISCARD', 'Discard.'],
  ['I_OVERFLOW', 'Overflow.'],
  ['I_TRACE_INFO', 'Trace Info.'],
  ['I_TIMESTAMP', 'Timestamp.'],
  ['I_TRACE_ON', 'Trace On.'],
  ['I_FUNC_RET', 'V8M - function return.'],
  ['I_EXCEPT', 'Exception.'],
  ['I_EXCEPT_RTN', 'Exception Return.'],
  ['I_PE_RESET', 'PE Reset.'],
  ['I_TRANS_FAIL', 'Transaction Fail.'],
  ['I_ITE', 'Instrumentation Trace Extension.'],
  ['I_TRANS_ST', 'Transaction Start.'],
  ['I_TRANS_COMMIT', 'Transaction Commit.'],
  ['I_CCNT_F1', 'Cycle Count format 1.'],
  ['I_CCNT_F2', 'Cycle Count format 2.'],
  ['I_CCNT_F3', 'Cycle Count format 3.'],
  ['I_NUM_DS_MKR', 'Data Synchronisation Marker - Numbered.'],
  ['I_UNNUM_DS_MKR', 'Data Synchronisation Marker - Unnumbered.'],
  ['I_COMMIT', 'Commit'],
  ['I_CANCEL_F1', 'Cancel Format 1.'],
  ['I_CANCEL_F1_MISPRED', 'Cancel Format 1 + Mispredict.'],
  ['I_MISPREDICT', 'Mispredict.'],
  ['I_CANCEL_F2', 'Cancel Format 2.'],
  ['I_CANCEL_F3', 'Cancel Format 3.'],
  ['I_COND_I_F2', 'Conditional Instruction, format 2.'],
  ['I_COND_FLUSH', 'Conditional Flush.'],
  ['I_COND_RES_F4', 'Conditional Result, format 4.'],
  ['I_COND_RES_F2', 'Conditional Result, format 2.'],
  ['I_COND_RES_F3', 'Conditional Result, format 3.'],
  ['I_COND_RES_F1', 'Conditional Result, format 1.'],
  ['I_COND_I_F1', 'Conditional Instruction, format 1.'],
  ['I_COND_I_F3', 'Conditional Instruction, format 3.'],
  ['I_IGNORE', 'Ignore.'],
  ['I_EVENT', 'Trace Event.'],
  ['I_CTXT', 'Context Packet.'],
  ['I_ADDR_CTXT_L_32IS0', 'Address & Context, Long, 32 bit, IS0.'],
  // OpenCSD's description says IS0 for this IS1 packet; kept so listings diff cleanly.
  ['I_ADDR_CTXT_L_32IS1', 'Address & Context, Long, 32 bit, IS0.'],
  ['I_ADDR_CTXT_L_64IS0', 'Address & Context, Long, 64 bit, IS0.'],
  ['I_ADDR_CTXT_L_64IS1', 'Address & Context, Long, 64 bit, IS1.'],
  ['I_TS_MARKER', 'Timestamp Marker'],
  ['I_ADDR_MATCH', 'Exact Address Match.'],
  ['I_ADDR_S_IS0', 'Address, Short, IS0.'],
  ['I_ADDR_S_IS1', 'Address, Short, IS1.'],
  ['I_ADDR_L_32IS0', 'Address, Long, 32 bit, IS0.'],
  ['I_ADDR_L_32IS1', 'Address, Long, 32 bit, IS1.'],
  ['I_ADDR_L_64IS0', 'Address, Long, 64 bit, IS0.'],
  ['I_ADDR_L_64IS1', 'Address, Long, 64 bit, IS1.'],
  ['I_Q', 'Q Packet.'],
  ['I_SRC_ADDR_MATCH', 'Exact Source Address Match.'],
  ['I_SRC_ADDR_S_IS0', 'Source Address, Short, IS0.'],
  ['I_SRC_ADDR_S_IS1', 'Source Address, Short, IS1.'],
  // OpenCSD spells this one "SCR"; kept so listings diff cleanly.
  ['I_SCR_ADDR_L_32IS0', 'Source Address, Long, 32 bit, IS0.'],
  ['I_SRC_ADDR_L_32IS1', 'Source Address, Long, 32 bit, IS1.'],
  ['I_SRC_ADDR_L_64IS0', 'Source Address, Long, 64 bit, IS0.'],
  ['I_SRC_ADDR_L_64IS1', 'Source Address, Long, 64 bit, IS1.'],
  ['I_ATOM_F1', 'Atom format 1.'],
  ['I_ATOM_F2', 'Atom format 2.'],
  ['I_ATOM_F3', 'Atom format 3.'],
  ['I_ATOM_F4', 'Atom format 4.'],
  ['I_ATOM_F5', 'Atom format 5.'],
  ['I_ATOM_F6', 'Atom format 6.'],
  ['I_ASYNC', 'Alignment Synchronisation.'],
];

/** OpenCSD's name for a packet type, e.g. `I_ATOM_F3`. */
export function packetTypeName(t: number): string {
  return INFO[t]?.[0] ?? 'I_UNKNOWN';
}

/** OpenCSD's one-line description of a packet type, e.g. `Atom format 3.`. */
export function packetTypeDescription(t: number): string {
  return INFO[t]?.[1] ?? 'Unknown Packet Header';
}

/** The packet type for an OpenCSD name (first match), or undefined. */
export function packetTypeFromName(name: string): PacketType | undefined {
  const i = INFO.findIndex((e) => e[0] === name);
  return i < 0 ? undefined : (i as PacketType);
}

/** Types that report a malformed byte sequence (each is also a DecodeError). */
export function isErrorPacketType(t: number): boolean {
  return t === PacketType.BAD_SEQUENCE || t === PacketType.RESERVED || t === PacketType.RESERVED_CFG || t === PacketType.INCOMPLETE_EOT;
}

/** Conditional-trace and data-trace packets: recognised, but not decoded further. */
export function isUnsupportedPacketType(t: number): boolean {
  return (t >= PacketType.COND_I_F2 && t <= PacketType.COND_I_F3) || t === PacketType.NUM_DS_MKR || t === PacketType.UNNUM_DS_MKR;
}

/** Packet types that carry an address (they update the address history). */
export function isAddressPacketType(t: number): boolean {
  return (t >= PacketType.ADDR_CTXT_L_32IS0 && t <= PacketType.ADDR_CTXT_L_64IS1) || (t >= PacketType.ADDR_MATCH && t <= PacketType.SRC_ADDR_L_64IS1 && t !== PacketType.Q);
}
