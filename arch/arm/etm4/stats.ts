// Packet statistics: counts by type, errors by code. A sink of its own, or a tee in front of another.

import type { DecodeError } from '../../common/errors.js';
import type { Etm4PacketSink } from './decoder.js';
import type { Etm4Packet } from './packet.js';
import { PACKET_TYPE_COUNT, packetTypeName } from './packet-types.js';

export class Etm4Stats implements Etm4PacketSink {
  readonly byType = new Float64Array(PACKET_TYPE_COUNT);
  readonly errorsByCode = new Map<string, number>();
  packets = 0;
  errors = 0;
  /** Bytes in packets counted (the decoded trace bytes). */
  packetBytes = 0;
  private readonly next: Etm4PacketSink | undefined;

  /** `next`, when given, receives every packet and error after they are counted. */
  constructor(next?: Etm4PacketSink) {
    this.next = next;
  }

  packet(p: Etm4Packet): void {
    this.byType[p.type] = this.byType[p.type]! + 1;
    this.packets++;
    this.packetBytes += p.rawLength;
    this.next?.packet(p);
  }

  error(e: DecodeError): void {
    this.errors++;
    this.errorsByCode.set(e.code, (this.errorsByCode.get(e.code) ?? 0) + 1);
    this.next?.error(e);
  }

  /** Counts by OpenCSD packet name, most frequent first (zero counts left out). */
  countsByName(): [string, number][] {
    const m = new Map<string, number>();
    for (let t = 0; t < PACKET_TYPE_COUNT; t++) {
      const n = this.byType[t]!;
      if (n > 0) m.set(packetTypeName(t), (m.get(packetTypeName(t)) ?? 0) + n);
    }
    return [...m.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  }
}
