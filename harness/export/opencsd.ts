// `export --as opencsd`: an ARM corpus as an OpenCSD snapshot directory, so trc_pkt_lister (or
// any OpenCSD-based tool) decodes our trace with our memory images. The ETM options come from
// the corpus configuration the ARM trace unit recorded at generation time.

import { join } from 'node:path';
import { HwtraceError } from '../../arch/common/errors.js';
import { writeSnapshot } from '../../arch/arm/opencsd/snapshot-writer.js';
import { etmSnapshotSpec } from '../../arch/arm/etm4/trace-snapshot.js';
import { resolveEtmTraceOptions, type EtmTraceOptions } from '../../arch/arm/etm4/trace-config.js';
import { writeChunksToFile } from '../gen/file-sink.js';
import { imageStart } from '../gen/machine-info.js';
import type { CorpusArchView } from './corpus-arch.js';

/** What the ARM trace unit records in the manifest's `config.arm`. */
export interface ArmTraceRecord {
  options: EtmTraceOptions;
  /** Trace stream (member under arm/trace/) holding the buffer. */
  stream: string;
  format: 'source_data' | 'coresight';
  /** Core type written to the snapshot's core device (a name OpenCSD knows). */
  coreType: string;
}

function armRecord(view: CorpusArchView): ArmTraceRecord {
  const config = view.reader.manifest.config as Record<string, unknown> | null;
  const arm = config?.['arm'] as Partial<ArmTraceRecord> | undefined;
  if (!arm || typeof arm.options !== 'object' || typeof arm.stream !== 'string' || (arm.format !== 'source_data' && arm.format !== 'coresight')) {
    throw new HwtraceError('bad_corpus', `${view.reader.path}, member manifest.json: config.arm lacks options, stream or format`);
  }
  return { options: resolveEtmTraceOptions(arm.options), stream: arm.stream, format: arm.format, coreType: arm.coreType ?? 'Cortex-A53' };
}

/** Writes the snapshot into `dir`; returns the files written. */
export function exportOpencsd(view: CorpusArchView, dir: string): string[] {
  if (view.arch !== 'arm') throw new HwtraceError('usage', 'an OpenCSD snapshot holds ARM trace: use --arch arm');
  const rec = armRecord(view);
  const images = view.machine.images.map((im) => ({ start: imageStart(im), bytes: view.imageBytes(im.id) }));
  let spec;
  try {
    spec = etmSnapshotSpec({ images, sources: [rec.options], format: rec.format, coreType: rec.coreType, description: `hwtrace corpus ${view.reader.path}` });
  } catch (e) {
    const shared = view.machine.images.some((im) => im.space >= 0) && images.length > 2;
    throw new HwtraceError('bad_snapshot', `${(e as Error).message}${shared ? ' (generate with --distinct-addresses for OpenCSD)' : ''}`);
  }
  const files = writeSnapshot(dir, spec);
  // The trace may be large: stream it into the buffer file rather than holding it.
  writeChunksToFile(join(dir, 'trace.bin'), view.traceChunks(rec.stream));
  return [...files, 'trace.bin'];
}
