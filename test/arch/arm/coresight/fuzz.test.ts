// Bounded fuzzing of the frame layer (the long run is `npm run fuzz`).

import t from 'tap';
import { fuzzCoresightFrames } from '../../../../bench/fuzz/etm.js';

t.test('frame fuzz: formatter/deformatter round trip; broken frames never throw', async (t) => {
  for (const seed of [1, 777]) {
    const r = fuzzCoresightFrames({ iterations: 3000, seed });
    t.equal(r.iterations, 3000, `seed ${seed}`);
    t.ok(r.errors > 0, 'broken inputs were reported');
  }
});
