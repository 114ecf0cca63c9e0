// CoreSight trace formatter frames (CoreSight Architecture, "Trace Formatter").
//
// A frame is 16 bytes. Bytes 0, 2, ..., 14 are either an ID byte (bit 0 = 1, ID = bits [7:1])
// or a data byte whose bit 0 is stored in the auxiliary byte 15 (bit n for byte 2n). Odd bytes
// are always data. When an ID byte at 2n changes the ID, aux bit n says whether the data byte at
// 2n+1 still belongs to the old ID (1) or to the new one (0). An ID at byte 14 has no data after
// it in the frame; it applies from the next frame.

export const FRAME_SIZE = 16;

/** Null ID: padding. */
export const NULL_TRACE_ID = 0x00;
/** IDs 0x70..0x7F are reserved. */
export const FIRST_RESERVED_TRACE_ID = 0x70;

/** Full-frame synchronisation packet, as it appears in the byte stream: FF FF FF 7F. */
export const FSYNC = Uint8Array.of(0xff, 0xff, 0xff, 0x7f);
/** Half-frame synchronisation packet: FF 7F. */
export const HSYNC = Uint8Array.of(0xff, 0x7f);

/** True for IDs a trace source may use (0x01..0x6F). */
export function isValidTraceId(id: number): boolean {
  return Number.isInteger(id) && id >= 1 && id < FIRST_RESERVED_TRACE_ID;
}

/** How frames are laid out in a capture. */
export type FrameMode =
  /** ETB/ETF/ETR memory: frames 16-byte aligned, no synchronisation packets (OpenCSD FRAME_MEM_ALIGN). */
  | 'memory'
  /** TPIU/DSTREAM capture: FSYNC packets between frames (OpenCSD HAS_FSYNCS). */
  | 'tpiu';
