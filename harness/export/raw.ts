// `export --as raw`: a corpus's trace, memory images and truth as plain files that any tool
// can take: trace.pt (x86) or trace-<id>.bin (one per ARM trace ID), image-<addr>.bin with an
// images.txt index (`file address context` per line), and truth.txt (one 16-hex-digit address
// per executed instruction, in order).

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatAddr, formatAddr0x } from '../../arch/common/address.js';
import { writeTruthText } from '../../corpora/truth/reader.js';
import { FileSink, writeChunksToFile } from '../gen/file-sink.js';
import { imageStart, type MachineInfo } from '../gen/machine-info.js';
import type { CorpusArchView } from './corpus-arch.js';

export interface ExportedFiles {
  dir: string;
  traces: string[];
  images: string[];
  truthInstructions: number;
}

/** The context column of images.txt: the address space an image belongs to, or `-` for all. */
export function spaceLabel(m: MachineInfo, space: number): string {
  if (space < 0) return '-';
  const ctxId = m.userCtx[space];
  const ctx = ctxId === undefined ? undefined : m.contexts[ctxId];
  if (!ctx) return '-';
  return ctx.arch === 'x86' ? `cr3=0x${ctx.cr3.toString(16)}` : `ctxid=0x${ctx.contextId.toString(16)}`;
}

/** The file name of a raw trace stream: x86 `cpu0.pt` → `trace.pt`; ARM `etm-<id>.bin` → `trace-<id>.bin`. */
export function rawTraceName(stream: string): string {
  if (stream === 'cpu0.pt') return 'trace.pt';
  const etm = /^etm-([0-9a-f]+)\.bin$/.exec(stream);
  if (etm) return `trace-${etm[1]}.bin`;
  return stream;
}

export function exportRaw(view: CorpusArchView, dir: string): ExportedFiles {
  mkdirSync(dir, { recursive: true });
  const m = view.machine;
  const traces: string[] = [];
  for (const name of view.traceNames()) {
    const file = rawTraceName(name);
    writeChunksToFile(join(dir, file), view.traceChunks(name));
    traces.push(file);
  }
  // Processes share user addresses by default: name such images by space as well.
  const starts = new Map<string, number>();
  for (const im of m.images) starts.set(im.start, (starts.get(im.start) ?? 0) + 1);
  const images: string[] = [];
  const index: string[] = [];
  for (const im of m.images) {
    const addr = formatAddr(imageStart(im));
    const file = starts.get(im.start)! > 1 && im.space >= 0 ? `image-${addr}-${im.name}.bin` : `image-${addr}.bin`;
    writeFileSync(join(dir, file), view.imageBytes(im.id));
    images.push(file);
    index.push(`${file} ${formatAddr0x(imageStart(im))} ${spaceLabel(m, im.space)}`);
  }
  writeFileSync(join(dir, 'images.txt'), index.join('\n') + '\n');
  const truthInstructions = writeTruthText(view.truthTable(), view.truthStream(), new FileSink(join(dir, 'truth.txt')));
  return { dir, traces, images, truthInstructions };
}
