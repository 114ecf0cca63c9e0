// Copies a corpus with some members' bytes changed (damaged traces for scoring and decoding tests).

import { CorpusReader } from '../../corpora/reader.js';
import { CorpusWriter } from '../../corpora/writer.js';

/** Writes `dst` = `src` with each member passed through `edit(name, bytes)`. */
export function editCorpus(src: string, dst: string, edit: (name: string, bytes: Uint8Array) => Uint8Array): void {
  const r = CorpusReader.open(src);
  const m = r.manifest;
  const w = CorpusWriter.create(dst, { generator: m.generator, arch: m.arch, seed: m.seed, spec: m.spec, config: m.config });
  for (const member of r.members()) w.addBytes(member.name, edit(member.name, r.readBytes(member.name)));
  w.finish(m.summary);
}
