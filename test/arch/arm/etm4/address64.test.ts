// 64-bit ETM addresses as body + top: exact for every bit pattern, canonical addresses have
// top 0 and body = the canonical number, and printing gives OpenCSD's text.

import t from 'tap';
import fc from 'fast-check';
import { addrFromParts } from '../../../../arch/common/address.js';
import { addrBody, addrHigh, addrTop, formatAddr64 } from '../../../../arch/arm/etm4/address64.js';

t.test('known addresses', async (t) => {
  // Tagged user address (ete_mem), kernel address, zero, all ones, bit 52 alone.
  const cases: [number, number, number, number, string][] = [
    [0x63000000, 0x80000438, 0x80000438, 0x318, '0x6300000080000438'],
    [0xffffffc0, 0x00592b64, -0x3fffa6d49c, 0, '0xffffffc000592b64'],
    [0, 0, 0, 0, '0x0'],
    [0xffffffff, 0xffffffff, -1, 0, '0xffffffffffffffff'],
    [0x00100000, 0x00000000, -(2 ** 52), 0x7ff, '0x10000000000000'],
    [0x24000000, 0x010002dc, 0x010002dc, 0x120, '0x24000000010002dc'],
  ];
  for (const [hi, lo, body, top, text] of cases) {
    t.equal(addrBody(hi, lo), body, `body of ${text}`);
    t.equal(addrTop(hi), top, `top of ${text}`);
    t.equal(formatAddr64(body, top), text);
  }
});

t.test('every 64-bit pattern round-trips; canonical ones have top 0', async (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }), (hi, lo) => {
      const body = addrBody(hi, lo);
      const top = addrTop(hi);
      if (!Number.isSafeInteger(body) || addrHigh(body, top) !== hi || body >>> 0 !== lo) return false;
      const canon = addrFromParts(hi, lo, 53);
      return Number.isNaN(canon) ? top !== 0 : top === 0 && body === canon;
    }),
    { numRuns: 2000 },
  );
  t.pass('held');
});
