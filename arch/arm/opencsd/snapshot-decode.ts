// Decodes the packets of one trace buffer of a snapshot, as trc_pkt_lister does: the first buffer
// of trace.ini unless another is named; one ETMv4/ETE packet decoder per trace source recorded
// into it; CoreSight frames deformatted and demultiplexed by trace ID when the buffer is formatted.

import { fileChunks } from '../../common/stream.js';
import { HwtraceError } from '../../common/errors.js';
import { FrameDeformatter } from '../coresight/deformatter.js';
import { CoresightDemux } from '../coresight/demux.js';
import { DstreamUnpacker } from '../coresight/dstream.js';
import type { Etm4Config } from '../etm4/config.js';
import { Etm4PacketDecoder, type Etm4PacketSink } from '../etm4/decoder.js';
import type { Snapshot, SnapshotDevice, TraceBuffer } from './snapshot.js';
import { etm4ConfigOf, isEtm4SourceType, sourcesOfBuffer } from './snapshot-reader.js';

export interface SnapshotDecodeOptions {
  /** Buffer name (trace.ini `name=`); default: the first buffer listed. */
  buffer?: string;
  /** Decode only these trace IDs. */
  traceIds?: readonly number[];
  /** The capture is in DSTREAM 512-byte blocks with 8-byte footers (trc_pkt_lister -dstream_format). */
  dstreamFormat?: boolean;
  /** TPIU capture with HSYNCs as well as FSYNCs (trc_pkt_lister -tpiu_hsync). */
  tpiuHsync?: boolean;
  /** Deliver frames per run so packets of several IDs interleave as trc_pkt_lister prints them (default true). */
  listingOrder?: boolean;
  chunkSize?: number;
}

export interface SnapshotSource {
  device: SnapshotDevice;
  config: Etm4Config;
  /** Trace ID printed for its packets (0 for an unformatted buffer, as OpenCSD prints). */
  traceId: number;
  decoder: Etm4PacketDecoder;
}

export interface SnapshotDecodePlan {
  buffer: TraceBuffer;
  sources: SnapshotSource[];
  /** Sources in the buffer we do not decode (STM, ITM, PTM...), with the reason. */
  skipped: { device: SnapshotDevice; reason: string }[];
}

/**
 * Picks the buffer and builds one packet decoder per ETMv4/ETE source, all feeding `sink`, or
 * each the sink `sinkFor` gives for its configuration and printed trace ID.
 */
export function planSnapshotDecode(
  s: Snapshot,
  sink: Etm4PacketSink,
  opts: SnapshotDecodeOptions = {},
  sinkFor?: (config: Etm4Config, traceId: number) => Etm4PacketSink,
): SnapshotDecodePlan {
  if (s.buffers.length === 0) throw new HwtraceError('bad_snapshot', `${s.traceIni}: no trace buffers`);
  const buffer = opts.buffer === undefined ? s.buffers[0]! : s.buffers.find((b) => b.name === opts.buffer);
  if (buffer === undefined) {
    throw new HwtraceError('bad_snapshot', `${s.traceIni}: no buffer named '${opts.buffer}' (have: ${s.buffers.map((b) => b.name).join(', ')})`);
  }
  const formatted = buffer.format !== 'source_data';
  const sources: SnapshotSource[] = [];
  const skipped: SnapshotDecodePlan['skipped'] = [];
  for (const device of sourcesOfBuffer(s, buffer.name)) {
    if (!isEtm4SourceType(device.type)) {
      skipped.push({ device, reason: `${device.type} trace is not decoded` });
      continue;
    }
    const config = etm4ConfigOf(s, device);
    if (opts.traceIds !== undefined && !opts.traceIds.includes(config.traceId)) {
      skipped.push({ device, reason: 'not selected' });
      continue;
    }
    if (!formatted && sources.length > 0) {
      skipped.push({ device, reason: `buffer ${buffer.name} is unformatted: only its first source is decoded` });
      continue;
    }
    if (formatted && sources.some((x) => x.config.traceId === config.traceId)) {
      throw new HwtraceError('bad_snapshot', `${device.file}: [regs] TRCTRACEIDR: trace ID 0x${config.traceId.toString(16)} is also used by another source in buffer ${buffer.name}`);
    }
    const traceId = formatted ? config.traceId : 0;
    sources.push({ device, config, traceId, decoder: new Etm4PacketDecoder(config, sinkFor ? sinkFor(config, traceId) : sink, traceId) });
  }
  return { buffer, sources, skipped };
}

/**
 * Runs a plan over its buffer file, streaming, or over `data` (the buffer's bytes, already in
 * memory). Returns the number of bytes read.
 */
export function runSnapshotDecode(plan: SnapshotDecodePlan, sink: Etm4PacketSink, opts: SnapshotDecodeOptions = {}, data?: Uint8Array): number {
  const { buffer } = plan;
  const chunkSize = opts.chunkSize ?? 1 << 20;
  const chunks = data === undefined ? fileChunks(buffer.file, chunkSize) : [data];
  let bytes = 0;
  if (buffer.format === 'source_data') {
    const dec = plan.sources[0]?.decoder;
    for (const chunk of chunks) {
      bytes += chunk.length;
      dec?.push(chunk);
    }
    dec?.end();
    return bytes;
  }
  const demux = new CoresightDemux({ immediate: opts.listingOrder ?? true, error: (e) => sink.error(e) });
  for (const src of plan.sources) demux.attach(src.config.traceId, src.decoder);
  const tpiu = buffer.format === 'dstream_coresight';
  const deformatter = new FrameDeformatter(demux, { mode: tpiu ? 'tpiu' : 'memory', hsync: opts.tpiuHsync ?? false });
  const unpacker = opts.dstreamFormat ? new DstreamUnpacker((d) => deformatter.push(d)) : undefined;
  for (const chunk of chunks) {
    bytes += chunk.length;
    if (unpacker) unpacker.push(chunk);
    else deformatter.push(chunk);
    demux.flush();
  }
  deformatter.end();
  demux.end();
  return bytes;
}
