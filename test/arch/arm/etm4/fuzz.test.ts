// Bounded fuzzing (the long run is `npm run fuzz`): random, mutated and valid packet streams
// through the decoder; every guarantee in bench/fuzz/etm.ts must hold.

import t from 'tap';
import { fuzzEtmPackets } from '../../../../bench/fuzz/etm.js';

t.test('packet decoder fuzz: no escape, every byte accounted for, chunking-independent, valid streams round-trip', async (t) => {
  for (const seed of [1, 20250101]) {
    const r = fuzzEtmPackets({ iterations: 4000, seed });
    t.equal(r.iterations, 4000, `seed ${seed}`);
    t.ok(r.packets > r.iterations, 'decoded something');
    t.ok(r.errors > 0, 'and saw errors in broken inputs');
  }
});
