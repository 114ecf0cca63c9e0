// ptxed's text for one flow event: what goes between the brackets of an event line (libipt 2.0.5
// ptxed's print_event; the Event Trace kinds as ptxed 2.1 prints them, to our best knowledge:
// Debian's 2.0.5 has no Event Trace to compare with).

import { formatAddr } from '../../../common/address.js';
import { EV_ASYNC, EV_NR, FlowEvent } from './sink.js';

export interface EventTextOptions {
  /** --event:ip: the IP of events that have one. */
  eventIp?: boolean;
}

const EXEC_MODES: Readonly<Record<number, string>> = { 16: '16-bit', 32: '32-bit', 64: '64-bit' };

/** A 64-bit payload given as two 32-bit words, in hex without leading zeros (printf %PRIx64). */
function hex64(lo: number, hi: number): string {
  return hi ? hi.toString(16) + (lo >>> 0).toString(16).padStart(8, '0') : (lo >>> 0).toString(16);
}

function asyncAt(show: boolean, ip: number): string {
  return show ? `, ip: ${formatAddr(Number.isNaN(ip) ? 0 : ip)}` : '';
}

/** libipt's C-state numbering for PWRE/PWRX: the 4-bit value + 1, modulo 16. */
function cstate(v: number): number {
  return (v + 1) & 0xf;
}

/**
 * The bracket content for an event, or null for kinds ptxed does not print. `extra` and `flags`
 * are FlowSink.event's (see FlowEvent for what they hold per kind).
 */
export function ptxedEventText(kind: number, ip: number, value: number, options: EventTextOptions, extra = Number.NaN, flags = 0): string | null {
  const show = options.eventIp === true;
  const at = show && !Number.isNaN(ip) ? `, ip: ${formatAddr(ip)}` : '';
  switch (kind) {
    case FlowEvent.ENABLED: return `enabled${at}`;
    case FlowEvent.RESUMED: return `resumed${at}`;
    case FlowEvent.DISABLED:
      if (flags & EV_ASYNC) return show ? `disabled, at: ${formatAddr(ip)}${Number.isNaN(extra) ? '' : `, ip: ${formatAddr(extra)}`}` : 'disabled';
      return `disabled${at}`;
    case FlowEvent.INTERRUPT:
      return show ? `interrupt, from: ${formatAddr(ip)}${Number.isNaN(extra) ? '' : `, to: ${formatAddr(extra)}`}` : 'interrupt';
    // ptxed prints the IP of asynchronous paging and VMCS events even when it is suppressed (0).
    case FlowEvent.PAGING: return `paging, cr3: ${formatAddr(value)}${flags & EV_NR ? ', nr' : ''}${flags & EV_ASYNC ? asyncAt(show, ip) : ''}`;
    case FlowEvent.VMCS: return `vmcs, base: ${formatAddr(value)}${flags & EV_ASYNC ? asyncAt(show, ip) : ''}`;
    case FlowEvent.OVERFLOW: return `overflow${at}`;
    case FlowEvent.EXEC_MODE: return `exec mode: ${EXEC_MODES[value] ?? 'unknown'}${at}`;
    case FlowEvent.TSX: return `${value === 2 ? 'aborted' : value === 1 ? 'begin transaction' : 'committed'}${at}`;
    case FlowEvent.STOPPED: return 'stopped';
    case FlowEvent.EXSTOP: return `exstop${at}`;
    case FlowEvent.PTWRITE: return `ptwrite: ${hex64(value, Number.isNaN(extra) ? 0 : extra)}${at}`;
    case FlowEvent.MWAIT: return `mwait ${(value >>> 0).toString(16)} ${(extra >>> 0).toString(16)}${at}`;
    case FlowEvent.PWRE: return `pwre c${cstate(value & 0xf)}.${cstate((value >>> 4) & 0xf)}${value & 0x100 ? ' hw' : ''}`;
    case FlowEvent.PWRX: {
      const wake = value >>> 8;
      return `pwrx ${wake & 1 ? 'int: ' : ''}${wake & 4 ? 'st: ' : ''}${wake & 8 ? 'hw: ' : ''}c${cstate(value & 0xf)} (c${cstate((value >>> 4) & 0xf)})`;
    }
    case FlowEvent.TICK: return `tick${at}`;
    case FlowEvent.CBR: return `cbr: ${value.toString(16)}`;
    case FlowEvent.MNT: return `mnt: ${hex64(value, Number.isNaN(extra) ? 0 : extra)}`;
    // Event Trace: ptxed 2.1's wording as far as we know it (not checked against a binary).
    case FlowEvent.IFLAGS: return `interrupts ${value ? 'enabled' : 'disabled'}${at}`;
    case FlowEvent.CFE_INTERRUPT: return `interrupt ${value.toString(16)}${Number.isNaN(extra) ? '' : `, cr2: ${formatAddr(extra)}`}${at}`;
    case FlowEvent.IRET: return `iret${at}`;
    case FlowEvent.SMI: return `smi${at}`;
    case FlowEvent.RSM: return `rsm${at}`;
    case FlowEvent.SIPI: return `sipi: ${value.toString(16)}${at}`;
    case FlowEvent.INIT: return `init${at}`;
    case FlowEvent.VMENTRY: return `vmentry${at}`;
    case FlowEvent.VMEXIT:
      return `vmexit${Number.isNaN(value) ? '' : `, vmxr: ${value.toString(16)}`}${Number.isNaN(extra) ? '' : `, vmxq: ${extra.toString(16)}`}${at}`;
    case FlowEvent.SHUTDOWN: return `shutdown${at}`;
    case FlowEvent.UINTR: return `uintr ${value.toString(16)}${at}`;
    case FlowEvent.UIRET: return `uiret${at}`;
    case FlowEvent.END_OF_TRACE: return 'end of trace';
    default: return null;
  }
}
