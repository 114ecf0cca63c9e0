// ptxed's text for one flow event: what goes between the brackets of an event line.

import { formatAddr } from '../../../common/address.js';
import { FlowEvent } from './sink.js';

export interface EventTextOptions {
  /** --event:ip: the IP of events that have one. */
  eventIp?: boolean;
}

/** The bracket content for an event, or null for kinds ptxed does not print. */
export function ptxedEventText(kind: number, ip: number, value: number, options: EventTextOptions): string | null {
  const at = options.eventIp && !Number.isNaN(ip) ? `, ip: ${formatAddr(ip)}` : '';
  switch (kind) {
    case FlowEvent.ENABLED: return `enabled${at}`;
    case FlowEvent.RESUMED: return `resumed${at}`;
    case FlowEvent.DISABLED: return `disabled${at}`;
    case FlowEvent.INTERRUPT: return `interrupt${at}`;
    case FlowEvent.PAGING: return `paging, cr3: ${formatAddr(value)}`;
    case FlowEvent.VMCS: return `vmcs, base: ${formatAddr(value)}`;
    case FlowEvent.OVERFLOW: return `overflow${at}`;
    case FlowEvent.EXEC_MODE: return `exec mode: ${value}-bit`;
    case FlowEvent.TSX: return value === 2 ? 'aborted' : value === 1 ? 'begin transaction' : 'committed';
    case FlowEvent.STOPPED: return 'stopped';
    case FlowEvent.EXSTOP: return 'exstop';
    case FlowEvent.PTWRITE: return `ptwrite: ${value.toString(16)}`;
    default: return null;
  }
}
