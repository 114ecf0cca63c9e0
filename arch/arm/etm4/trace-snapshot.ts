// The OpenCSD snapshot that hands a trace made by EtmTraceUnit to trc_pkt_lister: one core
// device per trace unit (memory images on the first; OpenCSD maps them for every core), one
// ETM4 device per unit with the register values of its options, and one trace buffer
// (`source_data` for a single unformatted stream, `coresight` for frame-formatted ones).
// Pass the result to arch/arm/opencsd's writeSnapshot.

import type { Addr } from '../../common/address.js';
import { HwtraceError } from '../../common/errors.js';
import type { SnapshotSpec } from '../opencsd/snapshot-writer.js';
import { type EtmTraceOptions, etmSnapshotRegisters } from './trace-config.js';

export interface EtmSnapshotInput {
  /** Code images (one memory dump each). Their address ranges must not overlap: OpenCSD cannot tell address spaces apart by context ID. */
  images: readonly { start: Addr; bytes: Uint8Array }[];
  /** Options of each trace unit (one core and one ETM device per entry, in this order). */
  sources: readonly EtmTraceOptions[];
  /** The trace buffer: one unit's raw bytes (source_data) or CoreSight frames (coresight); omit it to write trace.bin yourself (e.g. streamed). */
  trace?: Uint8Array;
  format: 'source_data' | 'coresight';
  /** Core type OpenCSD knows (default Cortex-A53, an ARMv8-A core with AArch64). */
  coreType?: string;
  description?: string;
}

/** File name of the memory dump of an image at `start` (its 64-bit address in hex). */
export function imageFileName(start: Addr): string {
  const u = start < 0 ? BigInt(start) + (1n << 64n) : BigInt(start);
  return `image-${u.toString(16).padStart(16, '0')}.bin`;
}

export function etmSnapshotSpec(input: EtmSnapshotInput): SnapshotSpec {
  const n = input.sources.length;
  if (n === 0) throw new HwtraceError('bad_snapshot', 'an ETM snapshot needs at least one trace source');
  if (input.format === 'source_data' && n > 1) throw new HwtraceError('bad_snapshot', `${n} trace sources share the buffer: use format=coresight (frame-formatted)`);
  const ids = new Set(input.sources.map((s) => s.traceId));
  if (ids.size !== n) throw new HwtraceError('bad_snapshot', 'two trace sources have the same trace ID');
  const sorted = [...input.images].sort((a, b) => a.start - b.start);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    if (prev.start + prev.bytes.length > sorted[i]!.start) throw new HwtraceError('bad_snapshot', `code images at 0x${prev.start.toString(16)} and 0x${sorted[i]!.start.toString(16)} overlap: OpenCSD cannot tell them apart`);
  }
  const spec: SnapshotSpec = {
    devices: [],
    buffers: [{ name: 'ETB_0', file: 'trace.bin', format: input.format, ...(input.trace ? { data: input.trace } : {}) }],
    sourceBuffers: [],
    coreSources: [],
  };
  if (input.description !== undefined) spec.description = input.description;
  input.sources.forEach((o, i) => {
    const core = `cpu_${i}`;
    const etm = `etm_${i}`;
    spec.devices.push({
      name: core,
      class: 'core',
      type: input.coreType ?? 'Cortex-A53',
      dumps: i === 0 ? input.images.map((im) => ({ file: imageFileName(im.start), address: im.start, data: im.bytes })) : [],
    });
    spec.devices.push({ name: etm, class: 'trace_source', type: 'ETM4', regs: etmSnapshotRegisters(o) });
    spec.sourceBuffers.push([etm, 'ETB_0']);
    spec.coreSources.push([core, etm]);
  });
  return spec;
}
