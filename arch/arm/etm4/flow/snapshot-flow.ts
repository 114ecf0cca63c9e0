// Instruction-flow decode of an OpenCSD snapshot, as `trc_pkt_lister -decode` runs it: each
// ETMv4/ETE source of the buffer gets a packet decoder feeding a flow decoder, all reading the
// snapshot's memory dumps.

import type { DecodeError } from '../../../common/errors.js';
import type { Etm4Packet } from '../packet.js';
import { planSnapshotDecode, runSnapshotDecode, type SnapshotDecodeOptions, type SnapshotDecodePlan } from '../../opencsd/snapshot-decode.js';
import type { Snapshot } from '../../opencsd/snapshot.js';
import type { FlowElement } from './elements.js';
import { Etm4FlowDecoder } from './flow-decoder.js';
import { SnapshotMemory } from './snapshot-memory.js';

export interface SnapshotFlowHandlers {
  /** Every packet, before the flow decoder sees it (for listings). */
  packet?: (p: Etm4Packet) => void;
  element: (e: FlowElement) => void;
  error?: (e: DecodeError) => void;
  /** Called with the plan (sources and their configurations) before any trace is read. */
  planned?: (plan: SnapshotDecodePlan) => void;
}

export interface SnapshotFlowResult {
  plan: SnapshotDecodePlan;
  decoders: Etm4FlowDecoder[];
  bytes: number;
}

/** Decodes the snapshot's (first or chosen) buffer to generic elements. */
export function decodeSnapshotFlow(s: Snapshot, h: SnapshotFlowHandlers, opts: SnapshotDecodeOptions = {}, memory = new SnapshotMemory(s)): SnapshotFlowResult {
  const byPacketId = new Array<Etm4FlowDecoder | undefined>(128);
  const onPacket = h.packet;
  const onError = h.error;
  const sink = {
    packet(p: Etm4Packet): void {
      onPacket?.(p);
      byPacketId[p.traceId]?.packet(p);
    },
    error(e: DecodeError): void {
      onError?.(e);
    },
  };
  const elementSink = { element: h.element };
  const plan = planSnapshotDecode(s, sink, opts);
  const decoders: Etm4FlowDecoder[] = [];
  for (const src of plan.sources) {
    const d = new Etm4FlowDecoder(src.config, elementSink, { memory, ...(onError ? { error: onError } : {}) });
    byPacketId[src.traceId] = d;
    decoders.push(d);
  }
  h.planned?.(plan);
  const bytes = runSnapshotDecode(plan, sink, opts);
  for (const d of decoders) d.end();
  return { plan, decoders, bytes };
}
