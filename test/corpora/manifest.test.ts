import t from 'tap';
import {
  CORPUS_FORMAT_VERSION,
  CorpusError,
  canonicalJson,
  normalizeSeed,
  serializeManifest,
  validateManifest,
  type Manifest,
} from '../../corpora/index.js';

const GOOD: Manifest = {
  format: 'hwtrace-corpus',
  formatVersion: 1,
  generator: { name: 'hwtrace', version: '0.1.0' },
  arch: 'x86',
  seed: '7',
  spec: { workload: 'loops' },
  config: null,
  summary: { instructions: 10 },
  members: [{ name: 'trace/cpu0.pt', size: 3, sha256: 'a'.repeat(64) }],
};

function problems(value: unknown): CorpusError {
  try {
    validateManifest(value, '/x/c.zip');
  } catch (e) {
    if (e instanceof CorpusError) return e;
    throw e;
  }
  throw new Error('accepted');
}

t.test('a good manifest validates and serializes in a fixed field order', async (t) => {
  t.same(validateManifest(JSON.parse(JSON.stringify(GOOD)), 'c.zip'), GOOD);
  t.equal(CORPUS_FORMAT_VERSION, 1);
  const reversedFields = Object.fromEntries(Object.entries(GOOD).reverse()) as unknown as Manifest;
  const reordered = { ...reversedFields, members: GOOD.members.map((m) => ({ sha256: m.sha256, size: m.size, name: m.name })) };
  t.not(Object.keys(reordered)[0], 'format');
  t.equal(Buffer.from(serializeManifest(reordered)).toString(), Buffer.from(serializeManifest(GOOD)).toString());
  const text = Buffer.from(serializeManifest(GOOD)).toString();
  t.ok(text.startsWith('{\n  "format": "hwtrace-corpus",\n  "formatVersion": 1,\n  "generator"'), text.slice(0, 80));
  t.ok(text.endsWith('}\n'));
});

t.test('each schema problem is reported with its path, all at once', async (t) => {
  const bad = {
    ...GOOD,
    generator: { name: '', version: 1, extra: true },
    arch: 'riscv',
    seed: 18446744073709551616,
    summary: [1],
    members: [
      { name: '../x', size: 1, sha256: 'a'.repeat(64) },
      { name: 'manifest.json', size: 1, sha256: 'a'.repeat(64) },
      { name: 'b', size: -1, sha256: 'A'.repeat(64), more: 1 },
      { name: 'b', size: 2 ** 32, sha256: 'a'.repeat(64) },
      'nope',
    ],
    surprise: 1,
  };
  const e = problems(bad);
  t.equal(e.code, 'bad_manifest');
  t.equal(e.member, 'manifest.json');
  t.equal(e.path, '/x/c.zip');
  for (const want of [
    'unknown field "surprise"',
    '"generator.name" must be a non-empty string',
    '"generator.version" must be a non-empty string',
    'unknown field "generator.extra"',
    '"arch" must be one of "x86", "arm"',
    '"seed" must be a string of decimal digits',
  ]) {
    t.match(e.message, want);
  }
  t.match(e.message, /and \d+ more problems/, 'long lists are cut at ten');
  const e2 = problems({ ...GOOD, members: bad.members });
  for (const want of [
    '"members[0]".name "../x"',
    '"members[1]": the manifest must not list itself',
    '"members[2]".size must be an integer',
    '"members[2]".sha256 must be 64 lowercase hex digits',
    'unknown field "members[2]".more',
    '"members[3]": member b is listed twice',
    '"members[3]".size must be an integer in [0, 4294967294]',
    '"members[4]" must be an object',
  ]) {
    t.match(e2.message, want);
  }
  t.match(problems({ ...GOOD, summary: 3 }).message, '"summary" must be an object');
  t.match(problems({ ...GOOD, members: {} }).message, '"members" must be an array');
  t.match(problems({ ...GOOD, generator: 'x' }).message, '"generator" must be an object');
  const { seed: _seed, ...noSeed } = GOOD;
  t.match(problems(noSeed).message, 'missing field "seed"');
});

t.test('format and version are checked first', async (t) => {
  t.match(problems([]).message, 'must be a JSON object');
  t.match(problems({ ...GOOD, format: 'zip' }).message, 'not an hwtrace corpus');
  t.match(problems({ format: 'hwtrace-corpus' }).message, '"formatVersion" must be a positive integer, not missing');
  const newer = problems({ format: 'hwtrace-corpus', formatVersion: 2, anything: 'else' });
  t.equal(newer.code, 'unsupported_version', 'a newer version is not judged by this schema');
  t.match(newer.message, /written by a newer hwtrace/);
  t.equal(problems({ ...GOOD, formatVersion: 1.5 }).code, 'bad_manifest');
});

t.test('seeds: any integer in [0, 2^64), stored as decimal digits', async (t) => {
  t.equal(normalizeSeed(0), '0');
  t.equal(normalizeSeed(42), '42');
  t.equal(normalizeSeed(2n ** 64n - 1n), '18446744073709551615');
  t.equal(normalizeSeed('123'), '123');
  for (const bad of [-1, 0.5, 2 ** 60, '01', '-3', '', 'x', 2n ** 64n, -1n] as Array<number | bigint | string>) {
    t.throws(() => normalizeSeed(bad), TypeError, `${String(bad)} refused`);
  }
});

t.test('canonical JSON sorts keys at every depth and refuses what JSON cannot hold', async (t) => {
  t.equal(JSON.stringify(canonicalJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: null } }, 'x')), '{"a":{"c":null,"d":[{"y":2,"z":1}]},"b":1}');
  t.equal(JSON.stringify(canonicalJson(-0, 'x')), '0');
  t.same(canonicalJson(Object.assign(Object.create(null) as object, { k: 'v' }), 'x'), { k: 'v' }, 'null-prototype objects are plain');
  const shared = { v: 1 };
  t.same(canonicalJson({ a: shared, b: shared }, 'x'), { a: { v: 1 }, b: { v: 1 } }, 'a shared (not circular) object is fine');
  t.throws(() => canonicalJson({ f: () => 1 }, 'spec'), /spec\.f: a function/);
  t.throws(() => canonicalJson(new Date(0), 'spec'), /only plain objects are allowed, not Date/);
  t.throws(() => canonicalJson(Symbol('s'), 'spec'), /a symbol/);
});
