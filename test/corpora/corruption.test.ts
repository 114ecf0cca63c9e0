import t from 'tap';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { strToU8, zipSync, type Zippable } from 'fflate';
import { CorpusError, CorpusReader } from '../../corpora/index.js';
import { alteredCopy, expectCorpusError, readAll, u16, u32, writeSample } from './helpers.js';

/** A ZIP written by fflate's one-shot zipSync (not our writer), for hand-made broken corpora. */
function handZip(dir: string, name: string, files: Record<string, Uint8Array>): string {
  const path = join(dir, name);
  const zippable: Zippable = {};
  for (const [k, v] of Object.entries(files)) zippable[k] = [v, { level: 6 }];
  writeFileSync(path, zipSync(zippable));
  return path;
}

function manifestOf(path: string): Record<string, unknown> {
  return JSON.parse(JSON.stringify(CorpusReader.open(path).manifest)) as Record<string, unknown>;
}

t.test('a truncated file is refused at every cut point, naming the file', async (t) => {
  const dir = t.testdir();
  const { path } = writeSample(dir);
  const bytes = readFileSync(path);
  const cut = join(dir, 'cut.zip');
  let truncated = 0;
  for (let length = 0; length < bytes.length; length++) {
    writeFileSync(cut, bytes.subarray(0, length));
    try {
      readAll(cut);
      t.fail(`cut to ${length} bytes: accepted`);
    } catch (e) {
      if (!(e instanceof CorpusError)) {
        t.fail(`cut to ${length} bytes: ${String(e)}`);
        continue;
      }
      if (length >= 4 && e.code !== 'truncated') t.fail(`cut to ${length} bytes: code ${e.code}`);
      if (!e.message.includes(cut)) t.fail(`cut to ${length} bytes: message does not name the file: ${e.message}`);
      if (e.code === 'truncated') truncated++;
    }
  }
  t.equal(truncated, bytes.length - 4, 'every cut that keeps the ZIP signature is reported as truncated');
  const e = expectCorpusError(t, () => CorpusReader.open(cut), 'truncated', 'one byte short');
  t.match(e?.message, /cut short/);
});

t.test('a flipped byte anywhere is refused or harmless: altered data is never passed on as good', async (t) => {
  const dir = t.testdir();
  const { path, contents } = writeSample(dir);
  const bytes = new Uint8Array(readFileSync(path));
  const flipped = join(dir, 'flipped.zip');
  const codes = new Map<string, number>();
  let harmless = 0;
  for (let at = 0; at < bytes.length; at++) {
    const copy = bytes.slice();
    copy[at]! ^= 0x55;
    writeFileSync(flipped, copy);
    let got: Map<string, Uint8Array>;
    try {
      got = readAll(flipped);
    } catch (e) {
      if (!(e instanceof CorpusError)) t.fail(`flip at ${at}: not a CorpusError: ${String(e)}`);
      else codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
      continue;
    }
    // Accepted: only fields that do not carry content (timestamps, attributes, data descriptors).
    harmless++;
    for (const [name, data] of contents) {
      if (Buffer.compare(got.get(name) ?? new Uint8Array([1]), data) !== 0) t.fail(`flip at ${at}: member ${name} read back altered`);
    }
  }
  t.ok(harmless < bytes.length / 10, `most flips are refused (${harmless} harmless of ${bytes.length})`);
  for (const code of ['hash_mismatch', 'corrupt_member', 'bad_zip', 'bad_manifest']) t.ok(codes.has(code), `some flips give ${code}`);
});

t.test('a flipped byte inside a member names the member; stream/readBytes/verify all refuse it', async (t) => {
  const dir = t.testdir();
  const { path } = writeSample(dir);
  // image/code.bin is stored: its data is the 700 sample bytes right after its local header.
  const r0 = CorpusReader.open(path);
  const storedStart = 30 + 'trace/cpu0.pt'.length + r0.members()[0]!.compressedSize + 16 + 30 + 'image/code.bin'.length;
  const file = alteredCopy(path, dir, 'stored-flip.zip', (b) => {
    b[storedStart + 350]! ^= 1;
    return b;
  });
  const r = CorpusReader.open(file); // the directory and manifest are intact
  const chunks: Uint8Array[] = [];
  const e = expectCorpusError(t, () => {
    for (const c of r.stream('image/code.bin')) chunks.push(c);
  }, 'hash_mismatch', 'stream');
  t.match(e?.message, file);
  t.match(e?.message, 'member image/code.bin');
  t.match(e?.message, /SHA-256/);
  expectCorpusError(t, () => r.readBytes('image/code.bin'), 'hash_mismatch', 'readBytes');
  expectCorpusError(t, () => r.verify(), 'hash_mismatch', 'verify');
  t.ok(Buffer.compare(r.readBytes('trace/cpu0.pt'), readAll(path).get('trace/cpu0.pt')!) === 0, 'other members still read');

  // Inside the deflated member: either the inflater fails or the hash does; both name the member.
  const deflStart = 30 + 'trace/cpu0.pt'.length;
  for (const offset of [5, 100, r0.members()[0]!.compressedSize - 3]) {
    const f = alteredCopy(path, dir, `defl-${offset}.zip`, (b) => {
      b[deflStart + offset]! ^= 0x20;
      return b;
    });
    try {
      CorpusReader.open(f).verify();
      t.fail(`deflate flip at ${offset}: accepted`);
    } catch (err) {
      t.ok(err instanceof CorpusError && ['hash_mismatch', 'corrupt_member', 'size_mismatch'].includes(err.code), `deflate flip at ${offset}: ${String(err)}`);
      t.match((err as Error).message, 'member trace/cpu0.pt');
    }
  }
});

t.test('a corrupt deflate stream (fflate throws) becomes corrupt_member naming the member', async (t) => {
  const dir = t.testdir();
  const { path } = writeSample(dir);
  const file = alteredCopy(path, dir, 'badblock.zip', (b) => {
    b[30 + 'trace/cpu0.pt'.length] = 0x07; // BFINAL=1, BTYPE=11: a reserved (invalid) block type
    return b;
  });
  const r = CorpusReader.open(file);
  const e = expectCorpusError(t, () => r.readBytes('trace/cpu0.pt'), 'corrupt_member', 'invalid block type');
  t.match(e?.message, 'member trace/cpu0.pt');
  t.match(e?.message, /corrupt/);
});

t.test('a missing member: listed but absent, asked for but absent', async (t) => {
  const dir = t.testdir();
  const { path, contents } = writeSample(dir);
  const manifest = strToU8(JSON.stringify(manifestOf(path)));
  const files: Record<string, Uint8Array> = { 'manifest.json': manifest };
  for (const [name, data] of contents) if (name !== 'image/code.bin') files[name] = data;
  const e = expectCorpusError(t, () => CorpusReader.open(handZip(dir, 'missing.zip', files)), 'missing_member', 'listed, absent');
  t.match(e?.message, 'member image/code.bin');
  t.match(e?.message, join(dir, 'missing.zip'));

  const r = CorpusReader.open(path);
  const asked = expectCorpusError(t, () => r.stream('trace/cpu9.pt'), 'missing_member', 'stream() of an unknown name throws at once');
  t.match(asked?.message, 'member trace/cpu9.pt');
  expectCorpusError(t, () => r.readBytes('nope'), 'missing_member', 'readBytes of an unknown name');
  expectCorpusError(t, () => r.readBytes('manifest.json'), 'missing_member', 'the manifest is not a member');
});

t.test('a member the manifest does not list is refused (it could not be verified)', async (t) => {
  const dir = t.testdir();
  const { path, contents } = writeSample(dir);
  const files: Record<string, Uint8Array> = { 'manifest.json': strToU8(JSON.stringify(manifestOf(path))), 'extra/file': new Uint8Array([9]) };
  for (const [name, data] of contents) files[name] = data;
  const e = expectCorpusError(t, () => CorpusReader.open(handZip(dir, 'extra.zip', files)), 'unlisted_member', 'extra member');
  t.match(e?.message, 'member extra/file');
});

t.test('a member whose size disagrees with the manifest is refused at open', async (t) => {
  const dir = t.testdir();
  const { path, contents } = writeSample(dir);
  const files: Record<string, Uint8Array> = { 'manifest.json': strToU8(JSON.stringify(manifestOf(path))) };
  for (const [name, data] of contents) files[name] = data;
  files['image/code.bin'] = contents.get('image/code.bin')!.subarray(1);
  const e = expectCorpusError(t, () => CorpusReader.open(handZip(dir, 'short.zip', files)), 'size_mismatch', 'shorter member');
  t.match(e?.message, 'member image/code.bin');
});

t.test('a manifest with the same size but other content is refused by the reader', async (t) => {
  // Same length as the real member, different bytes: only the SHA-256 can tell.
  const dir = t.testdir();
  const { path, contents } = writeSample(dir);
  const files: Record<string, Uint8Array> = { 'manifest.json': strToU8(JSON.stringify(manifestOf(path))) };
  for (const [name, data] of contents) files[name] = data;
  const altered = contents.get('trace/cpu0.pt')!.slice();
  altered[1234]! ^= 1;
  files['trace/cpu0.pt'] = altered;
  const r = CorpusReader.open(handZip(dir, 'same-size.zip', files));
  expectCorpusError(t, () => r.verify(), 'hash_mismatch', 'same size, other bytes');
});

t.test('an unknown format version is refused as such', async (t) => {
  const dir = t.testdir();
  const { path, contents } = writeSample(dir);
  for (const [version, code] of [[2, 'unsupported_version'], [99, 'unsupported_version'], [0, 'bad_manifest'], ['1', 'bad_manifest']] as const) {
    const m = { ...manifestOf(path), formatVersion: version };
    const files: Record<string, Uint8Array> = { 'manifest.json': strToU8(JSON.stringify(m)) };
    for (const [name, data] of contents) files[name] = data;
    const e = expectCorpusError(t, () => CorpusReader.open(handZip(dir, `v${String(version)}.zip`, files)), code, `formatVersion ${JSON.stringify(version)}`);
    t.match(e?.message, 'member manifest.json');
    if (code === 'unsupported_version') t.match(e?.message, `format version ${version} is not supported`);
  }
});

t.test('a manifest that is not JSON, not UTF-8, off-schema, or absent', async (t) => {
  const dir = t.testdir();
  const { path, contents } = writeSample(dir);
  const withManifest = (name: string, manifest: Uint8Array | undefined): string => {
    const files: Record<string, Uint8Array> = {};
    if (manifest) files['manifest.json'] = manifest;
    for (const [n, data] of contents) files[n] = data;
    return handZip(dir, name, files);
  };
  let e = expectCorpusError(t, () => CorpusReader.open(withManifest('notjson.zip', strToU8('{"format": "hwtrace-corpus",'))), 'bad_manifest', 'not JSON');
  t.match(e?.message, /not valid JSON/);
  e = expectCorpusError(t, () => CorpusReader.open(withManifest('notutf8.zip', new Uint8Array([0x7b, 0xff, 0x7d]))), 'bad_manifest', 'not UTF-8');
  t.match(e?.message, /UTF-8/);
  const m = manifestOf(path);
  delete m.seed;
  (m.members as Array<Record<string, unknown>>)[0]!.sha256 = 'xyz';
  e = expectCorpusError(t, () => CorpusReader.open(withManifest('schema.zip', strToU8(JSON.stringify(m)))), 'bad_manifest', 'off-schema');
  t.match(e?.message, /missing field "seed"/);
  t.match(e?.message, /members\[0\]"\.sha256/);
  e = expectCorpusError(t, () => CorpusReader.open(withManifest('nomanifest.zip', undefined)), 'missing_manifest', 'no manifest');
  t.match(e?.message, 'member manifest.json');
});

t.test('a manifest altered in place fails its CRC-32', async (t) => {
  const dir = t.testdir();
  const { path } = writeSample(dir, 'stored-manifest.zip');
  // Rewrite the archive with a stored manifest so a flipped byte stays valid data for the inflater.
  const m = new TextEncoder().encode(JSON.stringify(manifestOf(path)));
  const files: Zippable = { 'manifest.json': [m, { level: 0 }] };
  for (const [name, data] of readAll(path)) files[name] = [data, { level: 0 }];
  const good = join(dir, 'good.zip');
  writeFileSync(good, zipSync(files));
  t.ok(CorpusReader.open(good).verify().members === 3, 'the hand-made copy is valid');
  const bytes = new Uint8Array(readFileSync(good));
  const at = Buffer.from(bytes).indexOf('"hwtrace-test"') + 1;
  const bad = alteredCopy(good, dir, 'crc.zip', (b) => {
    b[at] = 'H'.charCodeAt(0);
    return b;
  });
  const e = expectCorpusError(t, () => CorpusReader.open(bad), 'hash_mismatch', 'manifest byte changed');
  t.match(e?.message, /CRC-32/);
});

t.test('not a ZIP: text, empty, missing, a directory, ZIP64 markers', async (t) => {
  const dir = t.testdir({ 'notes.txt': 'just some text, long enough to look like a file\n'.repeat(10), 'empty.zip': '' });
  mkdirSync(join(dir, 'adir.zip'));
  let e = expectCorpusError(t, () => CorpusReader.open(join(dir, 'notes.txt')), 'not_a_zip', 'text file');
  t.match(e?.message, join(dir, 'notes.txt'));
  expectCorpusError(t, () => CorpusReader.open(join(dir, 'empty.zip')), 'not_a_zip', 'empty file');
  e = expectCorpusError(t, () => CorpusReader.open(join(dir, 'absent.zip')), 'io', 'no such file');
  t.match(e?.message, /ENOENT/);
  expectCorpusError(t, () => CorpusReader.open(join(dir, 'adir.zip')), 'io', 'a directory');

  const { path } = writeSample(dir);
  const zip64 = alteredCopy(path, dir, 'zip64.zip', (b) => {
    const eocd = b.length - 22;
    t.equal(u32(b, eocd), 0x06054b50);
    b.fill(0xff, eocd + 16, eocd + 20); // central directory offset 0xffffffff: "see ZIP64"
    return b;
  });
  e = expectCorpusError(t, () => CorpusReader.open(zip64), 'zip64_unsupported', 'ZIP64 marker');
  t.match(e?.message, /4 GiB/);
  t.equal(u16(readFileSync(path), 0), 0x4b50, 'sample starts with PK');
});
