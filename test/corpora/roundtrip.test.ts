import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { bufferChunks } from '../../arch/common/stream.js';
import { CorpusReader, CorpusWriter, type MemberOptions } from '../../corpora/index.js';
import { HEADER, sampleBytes } from './helpers.js';

const BIG = sampleBytes(5 * 1024 * 1024 + 123, 7); // multi-MiB, not a multiple of any block size
const SMALL = sampleBytes(1000, 8);

function writeWithChunks(t: Test, path: string, chunkSize: number, options: MemberOptions): void {
  const w = CorpusWriter.create(path, HEADER);
  const big = w.member('trace/cpu0.pt', options);
  for (const chunk of bufferChunks(BIG, chunkSize)) big.write(chunk);
  t.equal(big.size, BIG.length);
  big.end();
  const small = w.member('image/small.bin', options);
  for (const chunk of bufferChunks(SMALL, chunkSize)) small.write(chunk);
  small.end();
  w.addBytes('sideband/empty', new Uint8Array(0), options);
  w.finish({ members: 3 });
}

function joined(chunks: Iterable<Uint8Array>): Uint8Array {
  const parts: Uint8Array[] = [];
  let length = 0;
  for (const c of chunks) {
    parts.push(c.slice()); // chunks may be reused by the reader
    length += c.length;
  }
  const out = new Uint8Array(length);
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

for (const compression of ['deflate', 'store'] as const) {
  t.test(`round trip, ${compression}: many chunk sizes give the same file and the same content`, async (t) => {
    const dir = t.testdir();
    let first: Uint8Array | undefined;
    for (const chunkSize of [1 << 20, 1, 7, 4096, 65535, 65536, 65537, 3 << 20, BIG.length]) {
      // 1-byte chunks over 5 MiB are slow; they go over the small member only
      const path = join(dir, `c${chunkSize}.zip`);
      if (chunkSize === 1) {
        const w = CorpusWriter.create(path, HEADER);
        w.addBytes('trace/cpu0.pt', BIG, { compression });
        const small = w.member('image/small.bin', { compression });
        for (let i = 0; i < SMALL.length; i++) small.write(SMALL.subarray(i, i + 1));
        small.end();
        w.addBytes('sideband/empty', new Uint8Array(0), { compression });
        w.finish({ members: 3 });
      } else {
        writeWithChunks(t, path, chunkSize, { compression });
      }
      const bytes = new Uint8Array(readFileSync(path));
      if (!first) first = bytes;
      else t.ok(Buffer.compare(bytes, first) === 0, `chunks of ${chunkSize}: byte-identical file`);

      const r = CorpusReader.open(path);
      t.same(r.members().map((m) => [m.name, m.size, m.compression]), [
        ['trace/cpu0.pt', BIG.length, compression],
        ['image/small.bin', SMALL.length, compression],
        ['sideband/empty', 0, compression],
      ]);
      t.ok(Buffer.compare(joined(r.stream('trace/cpu0.pt')), BIG) === 0, `chunks of ${chunkSize}: big member streams back`);
      t.ok(Buffer.compare(r.readBytes('image/small.bin'), SMALL) === 0, `chunks of ${chunkSize}: small member reads back`);
      t.equal(r.readBytes('sideband/empty').length, 0);
      t.same(r.verify(), { members: 3, bytes: BIG.length + SMALL.length });
    }
    if (compression === 'deflate') t.ok(first!.length < BIG.length * 0.8, 'deflate compresses the sample data');
    else t.ok(first!.length > BIG.length, 'store keeps the data as is');
  });
}

t.test('manifest records header, summary and per-member size and SHA-256', async (t) => {
  const dir = t.testdir();
  const path = join(dir, 'm.zip');
  const w = CorpusWriter.create(path, { ...HEADER, arch: 'arm', seed: (1n << 64n) - 1n });
  const sink = w.member('trace/etm.bin');
  sink.write(SMALL.subarray(0, 10));
  sink.write(SMALL.subarray(10));
  const entry = sink.end();
  t.same(entry, { name: 'trace/etm.bin', size: SMALL.length, sha256: createHash('sha256').update(SMALL).digest('hex') });
  const written = w.finish({ instructions: 12345, perCpu: [1, 2] });

  const r = CorpusReader.open(path);
  t.same(r.manifest, written, 'open() returns what finish() wrote');
  t.equal(r.manifest.format, 'hwtrace-corpus');
  t.equal(r.manifest.formatVersion, 1);
  t.same(r.manifest.generator, HEADER.generator);
  t.equal(r.manifest.arch, 'arm');
  t.equal(r.manifest.seed, '18446744073709551615', '64-bit seed kept exactly, as decimal digits');
  t.same(r.manifest.spec, HEADER.spec);
  t.same(r.manifest.config, HEADER.config);
  t.same(r.manifest.summary, { instructions: 12345, perCpu: [1, 2] });
  t.same(r.manifest.members, [entry]);
  t.ok(r.has('trace/etm.bin'));
  t.notOk(r.has('trace/other.bin'));
  t.notOk(r.has('manifest.json'), 'the manifest is not a listed member');
});

t.test('stream() can be abandoned early and restarted; streams are independent', async (t) => {
  const dir = t.testdir();
  const path = join(dir, 's.zip');
  const w = CorpusWriter.create(path, HEADER);
  w.addBytes('a', BIG);
  w.addBytes('b', SMALL, { compression: 'store' });
  w.finish();
  const r = CorpusReader.open(path);
  const it = r.stream('a');
  const firstChunk = it.next();
  t.notOk(firstChunk.done);
  it.return(undefined); // closes the file; no check, no error
  const b = r.stream('b');
  t.ok(Buffer.compare(joined(r.stream('a')), BIG) === 0, 'a full pass after an abandoned one');
  t.ok(Buffer.compare(joined(b), SMALL) === 0);
});

t.test('readBytes refuses members over its limit, pointing at stream()', async (t) => {
  const dir = t.testdir();
  const path = join(dir, 'l.zip');
  const w = CorpusWriter.create(path, HEADER);
  w.addBytes('big', SMALL);
  w.finish();
  const r = CorpusReader.open(path);
  t.throws(() => r.readBytes('big', { maxBytes: 999 }), { code: 'too_large', message: /stream\(\)/ });
  t.equal(r.readBytes('big', { maxBytes: 1000 }).length, 1000);
});
