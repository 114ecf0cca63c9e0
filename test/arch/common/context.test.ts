import t from 'tap';
import { ContextTable, contextKey, type ArmContext, type X86Context } from '../../../arch/common/context.js';
import { ByteBuffer, MemorySink, bufferChunks } from '../../../arch/common/stream.js';

t.test('contexts intern to dense ids in first-seen order', async (t) => {
  const tab = new ContextTable();
  const a: X86Context = { arch: 'x86', cr3: 0x1000, vmcs: 0, nr: false, cpl: 3, mode: 64 };
  const b: ArmContext = { arch: 'arm', el: 0, security: 'nonsecure', sf: true, vmid: 1, contextId: 42 };
  t.equal(tab.intern(a), 0);
  t.equal(tab.intern(b), 1);
  t.equal(tab.intern({ ...a }), 0, 'equal context, same id');
  t.equal(tab.intern({ ...a, cr3: 0x2000 }), 2);
  t.equal(tab.size, 3);
  t.same(tab.get(1), b);
  t.throws(() => tab.get(9), RangeError);
  t.not(contextKey(a), contextKey({ ...a, nr: true }));
  t.equal(tab.entries().length, 3);
});

t.test('ByteBuffer grows by doubling and keeps content; chunks cover the input', async (t) => {
  const bb = new ByteBuffer(2);
  for (let i = 0; i < 1000; i++) bb.push(i & 0xff);
  bb.append(new Uint8Array([1, 2, 3]));
  t.equal(bb.length, 1003);
  t.equal(bb.view()[999], 999 & 0xff);
  t.equal(bb.view()[1002], 3);
  bb.clear();
  t.equal(bb.view().length, 0);
  const data = Uint8Array.from({ length: 10 }, (_, i) => i);
  const sink = new MemorySink();
  for (const c of bufferChunks(data, 3)) sink.write(c);
  sink.end();
  t.same(Array.from(sink.bytes()), Array.from(data));
  t.ok(sink.ended);
});
