import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { CorpusReader } from '../../corpora/index.js';
import { expectCorpusError, readAll, writeSample } from './helpers.js';

/** Runs a Python 3 program with `args`; returns its stdout (python3 is on dev machines and in CI). */
function python(t: Test, program: string, ...args: string[]): string | undefined {
  const r = spawnSync('python3', ['-c', program, ...args], { encoding: 'utf8' });
  if (r.error) {
    t.fail(`python3 could not run: ${r.error.message}`);
    return undefined;
  }
  t.equal(r.status, 0, `python3 exits 0 (${r.stderr.trim()})`);
  return r.stdout;
}

const LIST_AND_HASH = `
import hashlib, json, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    bad = z.testzip()
    out = []
    for info in z.infolist():
        data = z.read(info.filename)
        out.append({"name": info.filename, "size": info.file_size, "sha256": hashlib.sha256(data).hexdigest(),
                    "date_time": list(info.date_time), "mode": info.external_attr >> 16, "system": info.create_system})
    print(json.dumps({"bad": bad, "members": out}))
`;

t.test("python3's zipfile lists and reads every member of a corpus", async (t) => {
  const dir = t.testdir();
  const { path, contents } = writeSample(dir);
  const out = python(t, LIST_AND_HASH, path);
  if (out === undefined) return;
  const got = JSON.parse(out) as { bad: string | null; members: Array<{ name: string; size: number; sha256: string; date_time: number[]; mode: number; system: number }> };
  t.equal(got.bad, null, 'testzip finds no CRC errors');
  t.same(got.members.map((m) => m.name), [...contents.keys(), 'manifest.json'], 'same members, same order');
  for (const m of got.members) {
    t.same(m.date_time, [1980, 1, 1, 0, 0, 0], `${m.name}: fixed timestamp`);
    t.equal(m.mode, 0o100644, `${m.name}: regular file 0644`);
    t.equal(m.system, 3, `${m.name}: made by Unix`);
    const want = contents.get(m.name);
    if (want) {
      t.equal(m.size, want.length, `${m.name}: size`);
      t.equal(m.sha256, createHash('sha256').update(want).digest('hex'), `${m.name}: content`);
    }
  }
  const manifest = CorpusReader.open(path).manifest;
  for (const listed of manifest.members) {
    t.equal(got.members.find((m) => m.name === listed.name)?.sha256, listed.sha256, `${listed.name}: manifest hash is what python reads`);
  }
});

const REWRITE = `
import sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(src) as z, zipfile.ZipFile(dst, "w") as out:
    for i, info in enumerate(z.infolist()):
        method = zipfile.ZIP_STORED if i % 2 else zipfile.ZIP_DEFLATED
        out.writestr(zipfile.ZipInfo(info.filename, info.date_time), z.read(info.filename), compress_type=method)
    out.writestr("extra.txt", b"not in the manifest")
`;

t.test('a corpus re-zipped by python3 (no data descriptors, mixed methods) reads the same', async (t) => {
  const dir = t.testdir();
  const { path, contents } = writeSample(dir);
  const copy = join(dir, 'python.zip');
  if (python(t, REWRITE.replace('    out.writestr("extra.txt", b"not in the manifest")\n', ''), path, copy) === undefined) return;
  const got = readAll(copy);
  for (const [name, data] of contents) t.ok(Buffer.compare(got.get(name)!, data) === 0, `${name} reads back`);
  const withExtra = join(dir, 'python-extra.zip');
  if (python(t, REWRITE, path, withExtra) === undefined) return;
  expectCorpusError(t, () => CorpusReader.open(withExtra), 'unlisted_member', 'python-added member');
});

const EVIL = `
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.writestr(zipfile.ZipInfo(sys.argv[2]), b"x")
`;

t.test('a ZIP with a member name that escapes its directory is refused before any use', async (t) => {
  const dir = t.testdir();
  for (const name of ['../evil', '/etc/passwd', 'a/../../b', 'dir\\file']) {
    const path = join(dir, `evil${name.length}.zip`);
    if (python(t, EVIL, path, name) === undefined) return;
    const e = expectCorpusError(t, () => CorpusReader.open(path), 'bad_zip', `member ${name}`);
    t.match(e?.message, /name/);
  }
});
