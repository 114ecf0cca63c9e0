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
