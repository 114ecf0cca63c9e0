import t from 'tap';
import { addrFromParts, addrHi, addrLo, checkCanonical, formatAddr, formatAddr0x, isCanonical, parseAddr, signExtend } from '../../../arch/common/address.js';
import { HwtraceError } from '../../../arch/common/errors.js';

t.test('kernel addresses are negative numbers and print as 64-bit hex', async (t) => {
  const k = parseAddr('0xffffffff81000000');
  t.ok(k < 0);
  t.equal(k, -0x7f000000);
  t.equal(formatAddr(k), 'ffffffff81000000');
  t.equal(formatAddr0x(0x4012a4), '0x00000000004012a4');
  t.equal(addrHi(k), 0xffffffff);
  t.equal(addrLo(k), 0x81000000);
});

t.test('parts round-trip and non-canonical values are refused', async (t) => {
  for (const s of ['0', '0x1', '0x00007fffffffffff', '0xffff800000000000', '0xffffffffffffffff', 'ffffffff81000000']) {
    const a = parseAddr(s);
    t.equal(addrFromParts(addrHi(a), addrLo(a)), a, s);
  }
  t.ok(Number.isNaN(addrFromParts(0x00010000, 0, 48)), '2^48 is not canonical at 48 bits');
  t.throws(() => parseAddr('0x0001000000000000', 48), { code: 'non_canonical' });
  t.throws(() => parseAddr('0x8000000000000000'), HwtraceError);
  t.throws(() => parseAddr('banana'), { code: 'bad_address' });
  t.throws(() => parseAddr('0x10000000000000000'), { code: 'bad_address' });
  t.equal(parseAddr('4096'), 4096);
  t.ok(isCanonical(2 ** 47 - 1, 48));
  t.notOk(isCanonical(2 ** 47, 48));
  t.notOk(isCanonical(0.5));
  t.throws(() => checkCanonical(2 ** 56), { code: 'non_canonical' });
  t.equal(checkCanonical(-4096), -4096);
});

t.test('signExtend', async (t) => {
  t.equal(signExtend(0x800000000000, 48), -0x800000000000);
  t.equal(signExtend(0x7fffffffffff, 48), 0x7fffffffffff);
  t.equal(signExtend(0xff, 8), -1);
});
