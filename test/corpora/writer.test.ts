import t from 'tap';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CorpusReader, CorpusWriter, MAX_ZIP32_SIZE, memberNameProblem } from '../../corpora/index.js';
import { HEADER, expectCorpusError } from './helpers.js';

t.test('member names: plain relative paths only', async (t) => {
  for (const ok of ['manifest.json', 'trace/cpu0.pt', 'image/v1/0x400000.bin', 'truth/blocks', 'a-b_c+d.e']) {
    t.equal(memberNameProblem(ok), undefined, `${ok} is allowed`);
  }
  const bad: Array<[string, RegExp]> = [
    ['', /non-empty/],
    ['/abs', /relative/],
    ['../up', /"\.\."/],
    ['a/../b', /"\.\."/],
    ['a/./b', /"\."/],
    ['a//b', /empty segments/],
    ['dir/', /trailing/],
    ['a\\b', /separator/],
    ['C:x', /letters, digits/],
    ['sp ace', /letters, digits/],
    ['é', /letters, digits/],
    ['x'.repeat(256), /at most 255/],
  ];
  for (const [name, why] of bad) t.match(memberNameProblem(name), why, `${JSON.stringify(name)} is refused`);

  const dir = t.testdir();
  const w = CorpusWriter.create(join(dir, 'n.zip'), HEADER);
  for (const [name] of bad) expectCorpusError(t, () => w.member(name), 'bad_member_name', `writer refuses ${JSON.stringify(name)}`);
  const e = expectCorpusError(t, () => w.member('manifest.json'), 'bad_member_name', 'manifest.json is reserved');
  t.match(e?.message, /written by the writer itself/);
  w.addBytes('ok', new Uint8Array([1]));
  w.finish();
  t.same(CorpusReader.open(join(dir, 'n.zip')).members().map((m) => m.name), ['ok'], 'refused names left no trace');
});

t.test('the file appears only on finish; abort deletes the partial file', async (t) => {
  const dir = t.testdir();
  const path = join(dir, 'c.zip');
  const w = CorpusWriter.create(path, HEADER);
  w.addBytes('a', new Uint8Array(100));
  t.notOk(existsSync(path), 'no corpus before finish');
  t.ok(existsSync(`${path}.partial`), 'written as .partial');
  w.finish();
  t.ok(existsSync(path));
  t.notOk(existsSync(`${path}.partial`));

  const path2 = join(dir, 'd.zip');
  const w2 = CorpusWriter.create(path2, HEADER);
  w2.member('a').write(new Uint8Array(10));
  w2.abort();
  w2.abort(); // idempotent
  t.same(readdirSync(dir).sort(), ['c.zip'], 'abort left nothing behind');
  expectCorpusError(t, () => w2.finish(), 'writer_misuse', 'finish after abort');
});

t.test('writer misuse gives writer_misuse and leaves the writer usable', async (t) => {
  const dir = t.testdir();
  const path = join(dir, 'm.zip');
  const w = CorpusWriter.create(path, HEADER);
  const a = w.member('a');
  a.write(new Uint8Array([1, 2]));
  let e = expectCorpusError(t, () => w.member('b'), 'writer_misuse', 'two members open');
  t.match(e?.message, /member a is still open/);
  expectCorpusError(t, () => w.finish(), 'writer_misuse', 'finish with a member open');
  a.end();
  expectCorpusError(t, () => a.write(new Uint8Array([3])), 'writer_misuse', 'write after end');
  expectCorpusError(t, () => a.end(), 'writer_misuse', 'end twice');
  e = expectCorpusError(t, () => w.addBytes('a', new Uint8Array([1])), 'writer_misuse', 'duplicate name');
  t.match(e?.message, /already written/);
  expectCorpusError(t, () => w.member('c', { compression: 'zstd' as 'store' }), 'writer_misuse', 'unknown compression');
  expectCorpusError(t, () => w.member('c', { level: 0 as 1 }), 'writer_misuse', 'deflate level 0');
  e = expectCorpusError(t, () => w.finish({ n: Number.NaN }), 'bad_manifest', 'NaN in the summary');
  t.match(e?.message, /summary\.n: NaN/);
  expectCorpusError(t, () => w.finish([1, 2]), 'bad_manifest', 'summary must be an object');
  w.addBytes('c', new Uint8Array([4]), { compression: 'store' });
  w.finish({ ok: true });
  expectCorpusError(t, () => w.member('d'), 'writer_misuse', 'member after finish');
  expectCorpusError(t, () => w.finish(), 'writer_misuse', 'finish twice');
  t.same(CorpusReader.open(path).verify(), { members: 2, bytes: 3 });
});

t.test('bad headers are refused before any file is created', async (t) => {
  const dir = t.testdir();
  const path = join(dir, 'h.zip');
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['arch', { arch: 'mips' }, /arch must be/],
    ['negative seed', { seed: -1 }, /seed must be/],
    ['fractional seed', { seed: 1.5 }, /seed must be/],
    ['seed too big', { seed: 1n << 64n }, /seed must be in/],
    ['generator', { generator: { name: 'x' } }, /generator must be/],
    ['undefined in spec', { spec: { a: undefined } }, /spec\.a: a undefined/],
    ['Map in config', { config: { m: new Map() } }, /config\.m: only plain objects/],
    ['bigint in spec', { spec: [1n] }, /spec\[0\]: a bigint/],
    ['Infinity in config', { config: { x: [Infinity] } }, /config\.x\[0\]: Infinity/],
  ];
  for (const [what, change, why] of cases) {
    const e = expectCorpusError(t, () => CorpusWriter.create(path, { ...HEADER, ...change } as typeof HEADER), 'bad_manifest', what);
    t.match(e?.message, why, `${what}: message`);
  }
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  expectCorpusError(t, () => CorpusWriter.create(path, { ...HEADER, spec: cyclic }), 'bad_manifest', 'cycle');
  t.same(readdirSync(dir), [], 'nothing written');
  const w = CorpusWriter.create(join(dir, 's.zip'), { ...HEADER, seed: '18446744073709551615' });
  t.equal(w.finish().seed, '18446744073709551615', 'decimal seed string accepted');
});

t.test('an unwritable path is an io error naming the path', async (t) => {
  const dir = t.testdir();
  const e = expectCorpusError(t, () => CorpusWriter.create(join(dir, 'no/such/dir/c.zip'), HEADER), 'io', 'missing directory');
  t.match(e?.message, join(dir, 'no/such/dir/c.zip'));
});

t.test('a member reaching 4 GiB is refused (no ZIP64), and the writer stops', async (t) => {
  const dir = t.testdir();
  const path = join(dir, 'big.zip');
  const w = CorpusWriter.create(path, HEADER);
  const sink = w.member('trace/huge.pt');
  sink.write(new Uint8Array(1000));
  // A stand-in for the last chunk of a 4 GiB stream: only its length is looked at before refusing.
  const hugeChunk = { length: MAX_ZIP32_SIZE - 999 } as Uint8Array;
  const e = expectCorpusError(t, () => sink.write(hugeChunk), 'too_large', 'member over the ZIP32 limit');
  t.match(e?.message, /under 4 GiB/);
  t.match(e?.message, 'member trace/huge.pt');
  t.same(readdirSync(dir), [], 'the partial file is deleted');
  const later = expectCorpusError(t, () => w.finish(), 'writer_misuse', 'the writer stays stopped');
  t.match(later?.message, /earlier error.*4 GiB/);
});
