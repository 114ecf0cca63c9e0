// Where things live inside a corpus. One corpus may hold both architectures; each has its own
// folder: `<arch>/trace/*`, `<arch>/image/*`, `<arch>/truth/*`, `<arch>/machine.json`.

import { TRUTH_MEMBERS } from '../../corpora/truth/format.js';

export type CorpusArchName = 'x86' | 'arm';

export const corpusLayout = {
  trace: (arch: CorpusArchName, name: string) => `${arch}/trace/${name}`,
  image: (arch: CorpusArchName, id: number) => `${arch}/image/${id}.bin`,
  machine: (arch: CorpusArchName) => `${arch}/machine.json`,
  truthBlocks: (arch: CorpusArchName) => `${arch}/${TRUTH_MEMBERS.blocks}`,
  truthStream: (arch: CorpusArchName) => `${arch}/${TRUTH_MEMBERS.stream}`,
  truthSegments: (arch: CorpusArchName) => `${arch}/${TRUTH_MEMBERS.segments}`,
  tracePrefix: (arch: CorpusArchName) => `${arch}/trace/`,
};
