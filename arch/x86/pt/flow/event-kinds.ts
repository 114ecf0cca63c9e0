// Small lookups the flow decoder needs for events: the FlowEvent kind of a CFE type (Event
// Trace), and VMPTRLD recognised from its bytes (libipt binds a VMCS packet to it; the
// classifier does not give it a class of its own).

import { FlowEvent } from './sink.js';

/** CFE types (SDM "Control Flow Event packet") → FlowEvent kind; -1 for types with no event. */
export function cfeEventKind(type: number): number {
  switch (type) {
    case 1: return FlowEvent.CFE_INTERRUPT;
    case 2: return FlowEvent.IRET;
    case 3: return FlowEvent.SMI;
    case 4: return FlowEvent.RSM;
    case 5: return FlowEvent.SIPI;
    case 6: return FlowEvent.INIT;
    case 7: return FlowEvent.VMENTRY;
    case 8: case 9: return FlowEvent.VMEXIT;
    case 0xa: return FlowEvent.SHUTDOWN;
    case 0xc: return FlowEvent.UINTR;
    case 0xd: return FlowEvent.UIRET;
    default: return -1;
  }
}

/** CFE types whose FUP is the source of an asynchronous branch (a TIP follows). */
export function cfeIsAsync(type: number): boolean {
  return type === 1 || type === 3 || type === 6 || type === 8 || type === 9 || type === 0xa || type === 0xc;
}

/**
 * VMPTRLD m64 (NP 0F C7 /6 with a memory operand) at `off`, `len` bytes long. 66 and F3 in
 * front make it VMCLEAR / VMXON; segment, address-size and REX prefixes are allowed.
 */
export function isVmptrld(bytes: Uint8Array, off: number, len: number): boolean {
  const end = off + len;
  let i = off;
  for (; i < end; i++) {
    const b = bytes[i]!;
    if (b === 0x66 || b === 0xf2 || b === 0xf3) return false;
    if (b === 0x26 || b === 0x2e || b === 0x36 || b === 0x3e || b === 0x64 || b === 0x65 || b === 0x67 || b === 0xf0) continue;
    break;
  }
  if (i < end && (bytes[i]! & 0xf0) === 0x40) i++;
  if (i + 2 >= end) return false;
  const modrm = bytes[i + 2]!;
  return bytes[i] === 0x0f && bytes[i + 1] === 0xc7 && ((modrm >> 3) & 7) === 6 && modrm >> 6 !== 3;
}
