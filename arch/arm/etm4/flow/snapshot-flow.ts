// Instruction-flow decode of an OpenCSD snapshot, as `trc_pkt_lister -decode` runs it: each
// ETMv4/ETE source of the buffer gets a packet decoder feeding a flow decoder, all reading the
// snapshot's memory dumps.

import type { DecodeError } from '../../../common/errors.js';
import type { Etm4Config } from '../config.js';
import type { Etm4PacketSink } from '../decoder.js';
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
  const onPacket = h.packet;
  const onError = h.error;
  const elementSink = { element: h.element };
  const decoders: Etm4FlowDecoder[] = [];
  const flowFor = (config: Etm4Config): Etm4FlowDecoder => {
    const d = new Etm4FlowDecoder(config, elementSink, { memory, ...(onError ? { error: onError } : {}) });
    decoders.push(d);
    return d;
  };
  // Each packet decoder feeds its flow decoder directly, or through the packet listener first.
  const sinkFor = (config: Etm4Config): Etm4PacketSink => {
    const d = flowFor(config);
    if (onPacket === undefined) return d;
    return {
      packet(p: Etm4Packet): void {
        onPacket(p);
        d.packet(p);
      },
      error: (e: DecodeError) => d.error(e),
    };
  };
  const noSink: Etm4PacketSink = { packet: () => {}, error: (e) => onError?.(e) };
  const plan = planSnapshotDecode(s, noSink, opts, sinkFor);
  h.planned?.(plan);
  const bytes = runSnapshotDecode(plan, noSink, opts);
  for (const d of decoders) d.end();
  return { plan, decoders, bytes };
}
