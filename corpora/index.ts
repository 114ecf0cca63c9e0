// Corpora: the ZIP container a generated trace and its truth travel in (see DESIGN.md, "Corpora").

export { CorpusError, type CorpusErrorCode } from './errors.js';
export { canonicalJson, type JsonObject, type JsonValue } from './json.js';
export {
  CORPUS_ARCHES,
  CORPUS_FORMAT,
  CORPUS_FORMAT_VERSION,
  MAX_ZIP32_SIZE,
  normalizeSeed,
  serializeManifest,
  validateManifest,
  type CorpusArch,
  type GeneratorInfo,
  type Manifest,
  type ManifestMember,
} from './manifest.js';
export { MANIFEST_NAME, memberNameProblem } from './names.js';
export { CorpusReader, type CorpusMember, type VerifyResult } from './reader.js';
export { CorpusWriter, type CorpusHeader, type CorpusMemberSink, type DeflateLevel, type MemberOptions } from './writer.js';
export * from './truth/index.js';
