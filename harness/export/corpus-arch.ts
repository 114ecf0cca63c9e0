// Opening one architecture's part of a generated corpus: its machine description, images,
// traces and truth, as the exporters and decoders use them.

import { HwtraceError } from '../../arch/common/errors.js';
import { CorpusReader } from '../../corpora/reader.js';
import { readTruthBlocks, readTruthSegments, type TruthBlockTable } from '../../corpora/truth/reader.js';
import type { TruthSegment } from '../../corpora/truth/format.js';
import { corpusLayout, type CorpusArchName } from '../gen/layout.js';
import { parseMachineInfo, type MachineInfo } from '../gen/machine-info.js';

/** The architectures a corpus holds, in the order they were generated. */
export function corpusArches(reader: CorpusReader): CorpusArchName[] {
  const a = reader.manifest.arch;
  return a === 'both' ? ['x86', 'arm'] : [a];
}

/** Picks the architecture to work on: the one asked for, or the corpus's only one. */
export function chooseArch(reader: CorpusReader, wanted: string | undefined): CorpusArchName {
  const arches = corpusArches(reader);
  if (wanted === undefined) {
    if (arches.length === 1) return arches[0]!;
    throw new HwtraceError('usage', `${reader.path} holds ${arches.join(' and ')}: choose one with --arch`);
  }
  if (!arches.includes(wanted as CorpusArchName)) {
    throw new HwtraceError('usage', `${reader.path} holds no ${wanted} trace (it has ${arches.join(', ')})`);
  }
  return wanted as CorpusArchName;
}

export class CorpusArchView {
  readonly machine: MachineInfo;
  constructor(
    readonly reader: CorpusReader,
    readonly arch: CorpusArchName,
  ) {
    const name = corpusLayout.machine(arch);
    this.machine = parseMachineInfo(reader.readBytes(name), `${reader.path}, member ${name}`);
  }

  /** Names (without the folder) of the trace streams, in archive order. */
  traceNames(): string[] {
    const prefix = corpusLayout.tracePrefix(this.arch);
    return this.reader.members().filter((m) => m.name.startsWith(prefix)).map((m) => m.name.slice(prefix.length));
  }

  traceChunks(name: string): Generator<Uint8Array> {
    return this.reader.stream(corpusLayout.trace(this.arch, name));
  }

  imageBytes(id: number): Uint8Array {
    return this.reader.readBytes(corpusLayout.image(this.arch, id));
  }

  truthTable(): TruthBlockTable {
    const name = corpusLayout.truthBlocks(this.arch);
    return readTruthBlocks(this.reader.readBytes(name), name);
  }

  truthSegments(): TruthSegment[] {
    const name = corpusLayout.truthSegments(this.arch);
    return readTruthSegments(this.reader.readBytes(name), name);
  }

  truthStream(): Generator<Uint8Array> {
    return this.reader.stream(corpusLayout.truthStream(this.arch));
  }
}
