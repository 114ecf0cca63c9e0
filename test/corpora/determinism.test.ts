import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CorpusWriter } from '../../corpora/index.js';
import { HEADER, u16, u32, writeSample } from './helpers.js';

t.test('writing the same content twice gives byte-identical files', async (t) => {
  const dir = t.testdir();
  const a = readFileSync(writeSample(dir, 'a.zip').path);
  const b = readFileSync(writeSample(dir, 'b.zip').path);
  t.ok(a.equals(b));
});

t.test('object key order in spec/config/summary does not change the bytes; content does', async (t) => {
  const dir = t.testdir();
  const write = (file: string, spec: unknown, summary: unknown): Buffer => {
    const path = join(dir, file);
    const w = CorpusWriter.create(path, { ...HEADER, spec });
    w.addBytes('x', new Uint8Array([1, 2, 3]));
    w.finish(summary);
    return readFileSync(path);
  };
  const a = write('a.zip', { x: 1, y: { p: 1, q: 2 } }, { n: 1, m: 2 });
  const b = write('b.zip', { y: { q: 2, p: 1 }, x: 1 }, { m: 2, n: 1 });
  const c = write('c.zip', { x: 1, y: { p: 1, q: 3 } }, { n: 1, m: 2 });
  t.ok(a.equals(b), 'same content, other key order: identical');
  t.notOk(a.equals(c), 'different spec: different bytes');
});

t.test('every entry has the fixed timestamp (1980-01-01 00:00) and Unix rw-r--r-- attributes', async (t) => {
  const dir = t.testdir();
  const bytes = new Uint8Array(readFileSync(writeSample(dir).path));
  const eocd = bytes.length - 22;
  t.equal(u32(bytes, eocd), 0x06054b50);
  let at = u32(bytes, eocd + 16);
  const count = u16(bytes, eocd + 10);
  t.equal(count, 4, 'three members and the manifest');
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    t.equal(u32(bytes, at), 0x02014b50);
    t.equal(bytes[at + 5], 3, 'made by Unix');
    t.equal(u16(bytes, at + 12), 0, 'DOS time 00:00:00');
    t.equal(u16(bytes, at + 14), (0 << 9) | (1 << 5) | 1, 'DOS date 1980-01-01');
    t.equal(u32(bytes, at + 38) >>> 16, 0o100644, 'regular file, 0644');
    const nameLength = u16(bytes, at + 28);
    names.push(Buffer.from(bytes.subarray(at + 46, at + 46 + nameLength)).toString('latin1'));
    at += 46 + nameLength + u16(bytes, at + 30) + u16(bytes, at + 32);
  }
  t.same(names, ['trace/cpu0.pt', 'image/code.bin', 'sideband/empty', 'manifest.json'], 'members in write order, manifest last');
});

t.test('the bytes do not depend on the time zone', async (t) => {
  const dir = t.testdir();
  const here = readFileSync(writeSample(dir, 'here.zip').path);
  // The child imports this folder's TypeScript helpers through the loader this test runs under.
  const loader = process.execArgv.filter((a) => a.includes('typescript'));
  const helpers = new URL('./helpers.ts', import.meta.url).href;
  for (const tz of ['Pacific/Kiritimati', 'America/St_Johns', 'UTC']) {
    const file = `${tz.replace('/', '_')}.zip`;
    const out = join(dir, file);
    const program = `import { writeSample } from ${JSON.stringify(helpers)}; writeSample(${JSON.stringify(dir)}, ${JSON.stringify(file)});`;
    const r = spawnSync(process.execPath, [...loader, '--input-type=module', '-e', program], { env: { ...process.env, TZ: tz }, encoding: 'utf8' });
    t.equal(r.status, 0, `child under TZ=${tz} ran (${r.stderr})`);
    t.ok(readFileSync(out).equals(here), `TZ=${tz}: identical bytes`);
  }
});
