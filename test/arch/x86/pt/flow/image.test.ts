// PtImage: which section an address resolves to in an address space (libipt's image with its
// asid: CR3 and VMCS, either of them "any").

import t from 'tap';
import { PtImage } from '../../../../../arch/x86/pt/flow/image.js';

function image(): PtImage {
  const im = new PtImage();
  im.add(new Uint8Array(0x1000), 0xffffffff81000000); // 0: kernel, every space
  im.add(new Uint8Array(0x1000), 0x400000, 0x1000); // 1: process A
  im.add(new Uint8Array(0x1000), 0x400000, 0x2000); // 2: process B, same addresses
  im.add(new Uint8Array(0x100), 0x400800); // 3: shared, inside both
  im.add(new Uint8Array(0x1000), 0x400000, 0x1000, 'vm', 0x9000); // 4: process A in the VM 0x9000
  return im;
}

t.test('find: the section tied to the current CR3 (and VMCS) wins over shared ones', async (t) => {
  const im = image();
  t.equal(im.find(0x1000, 0xffffffff81000010), 0);
  t.equal(im.find(0x1000, 0x400010), 1);
  t.equal(im.find(0x2000, 0x400010), 2);
  t.equal(im.find(0x3000, 0x400010), -1, 'no section of that space');
  t.equal(im.find(0x3000, 0x400810), 3, 'the shared one where it is alone');
  t.equal(im.find(0x1000, 0x400810), 1, 'CR3-bound beats shared');
  t.equal(im.find(0x1000, 0x400010, 0x9000), 4, 'CR3 and VMCS bound beats CR3-bound');
  t.equal(im.find(0x1000, 0x401000), -1, 'end is exclusive');
});

t.test('alone: no other section visible in the space overlaps it (the walk may skip find() on its way back)', async (t) => {
  const im = image();
  t.ok(im.alone(0, 0x1000), 'the kernel overlaps nothing');
  t.notOk(im.alone(1, 0x1000), 'the shared section lies inside process A');
  t.notOk(im.alone(3, 0x2000), 'process B covers the shared section');
  t.ok(im.alone(3, 0x3000), 'in a third space only the shared section is there');
  const two = new PtImage();
  two.add(new Uint8Array(0x1000), 0x400000, 0x1000);
  two.add(new Uint8Array(0x1000), 0x400000, 0x2000);
  t.ok(two.alone(0, 0x1000), "process B's code is not seen from A");
  t.ok(two.alone(1, 0x2000), "and A's not from B");
  two.add(new Uint8Array(0x10), 0x400ff0, 0x1000, 'partial');
  t.notOk(two.alone(0, 0x1000), 'a partial overlap counts');
  t.notOk(two.alone(2, 0x1000), 'both ways');
  two.add(new Uint8Array(0x10), 0x401000, 0x1000, 'adjacent');
  t.ok(two.alone(3, 0x1000), 'a section starting at the end of another is alone');
});
