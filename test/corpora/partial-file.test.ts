import t from 'tap';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_ZIP32_SIZE } from '../../corpora/manifest.js';
import { PartialFile } from '../../corpora/partial-file.js';
import { expectCorpusError } from './helpers.js';

t.test('writes land in <path>.partial, in order, and move into place on close', async (t) => {
  const dir = t.testdir();
  const path = join(dir, 'out.zip');
  const f = new PartialFile(path);
  const big = new Uint8Array((1 << 20) + 5).fill(7); // larger than the buffer: written straight through
  f.write(new Uint8Array([1, 2, 3]), undefined);
  f.write(big, undefined);
  for (let i = 0; i < 3000; i++) f.write(new Uint8Array(1000).fill(i & 0xff), undefined); // crosses the buffer size
  t.notOk(existsSync(path));
  f.close(path);
  const bytes = readFileSync(path);
  t.equal(bytes.length, 3 + big.length + 3000 * 1000);
  t.same([...bytes.subarray(0, 4)], [1, 2, 3, 7]);
  t.equal(bytes[3 + big.length + 2999 * 1000], 2999 & 0xff, 'last piece last');
  t.same(readdirSync(dir), ['out.zip']);
});

t.test('the archive as a whole is kept under 4 GiB', async (t) => {
  const dir = t.testdir();
  const f = new PartialFile(join(dir, 'big.zip'));
  f.write(new Uint8Array(10), 'a');
  // Stand-in for more output than a ZIP32 archive can address: only its length is looked at.
  const e = expectCorpusError(t, () => f.write({ length: MAX_ZIP32_SIZE - 9 } as Uint8Array, 'trace/x'), 'too_large', 'past 4 GiB');
  t.match(e?.message, /corpora must stay under 4 GiB/);
  t.match(e?.message, 'member trace/x');
  f.discard();
  f.discard();
  t.same(readdirSync(dir), [], 'discard deletes the partial file');
  expectCorpusError(t, () => f.write(new Uint8Array((1 << 20) + 1), undefined), 'io', 'write after discard');
});
