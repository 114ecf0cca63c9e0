// The address filter check (IA32_RTIT_ADDRn_CFG / _A / _B) as libipt's pt_filter_addr_check does
// it: A and B inclusive; with filter ranges an address must be in one; never in a stop range.

import t from 'tap';
import { type PtAddrFilter, addrFiltered, hasAddrFilter } from '../../../../../arch/x86/pt/flow/errata.js';

const f = (cfg: number[], a: number[], b: number[]): PtAddrFilter => ({ cfg, a, b });

t.test('no ranges configured', async (t) => {
  t.notOk(hasAddrFilter(undefined));
  t.notOk(hasAddrFilter(f([0, 0, 0, 0], [1, 2, 3, 4], [5, 6, 7, 8])));
  t.ok(addrFiltered(f([0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]), 0x1234), 'everything is traced');
});

t.test('filter ranges: inside any of them, bounds inclusive', async (t) => {
  const x = f([1, 0, 1, 0], [0x1000, 0, 0x8000, 0], [0x1fff, 0, 0x8fff, 0]);
  t.ok(hasAddrFilter(x));
  t.ok(addrFiltered(x, 0x1000));
  t.ok(addrFiltered(x, 0x1fff));
  t.ok(addrFiltered(x, 0x8800));
  t.notOk(addrFiltered(x, 0xfff));
  t.notOk(addrFiltered(x, 0x2000));
  t.notOk(addrFiltered(x, 0x5000), 'between the ranges');
});

t.test('stop ranges win over filter ranges', async (t) => {
  const x = f([1, 2, 0, 0], [0x1000, 0x1800, 0, 0], [0x1fff, 0x18ff, 0, 0]);
  t.ok(addrFiltered(x, 0x1100));
  t.notOk(addrFiltered(x, 0x1800));
  t.notOk(addrFiltered(x, 0x18ff));
  t.ok(addrFiltered(x, 0x1900));
  const stopOnly = f([0, 0, 0, 2], [0, 0, 0, 0x4000], [0, 0, 0, 0x4fff]);
  t.ok(addrFiltered(stopOnly, 0x3fff), 'outside the only (stop) range: traced');
  t.notOk(addrFiltered(stopOnly, 0x4000));
});

t.test('reserved range configurations are ignored', async (t) => {
  t.ok(addrFiltered(f([3, 0, 0, 0], [0x1000, 0, 0, 0], [0x1fff, 0, 0, 0]), 0x5000));
});
