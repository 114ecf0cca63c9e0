// The packet-decoder fuzzer, bounded to a few seconds (npm run fuzz runs it long).

import t from 'tap';
import { PT_ERROR, PtPacketDecoder } from '../../../../arch/x86/index.js';
import { fuzzPtPackets } from '../../../../bench/fuzz/pt.js';

t.test('random, PSB-heavy and corrupted streams: no escape, no stall, offsets inside', async (t) => {
  const r = fuzzPtPackets({ iterations: 30000, seed: 20250101 });
  t.equal(r.iterations, 30000);
  t.ok(r.errors > 10000, `${r.errors} decode errors reported and checked`);
  t.ok(r.packets > 100000, `${r.packets} packets checked`);
  t.ok(r.roundTrips > 5000, `${r.roundTrips} valid streams round-tripped`);
});

t.test('runs are reproducible from the seed', async (t) => {
  const a = fuzzPtPackets({ iterations: 200, seed: 5 });
  const b = fuzzPtPackets({ iterations: 200, seed: 5 });
  const c = fuzzPtPackets({ iterations: 200, seed: 6 });
  t.same(a, b);
  t.not(JSON.stringify(a), JSON.stringify(c));
});

t.test('the fuzzer catches a broken decoder', async (t) => {
  class Stalls extends PtPacketDecoder {
    private stuck = false;
    override next(): number {
      if (this.stuck) return PT_ERROR;
      const r = super.next();
      if (r === PT_ERROR) this.stuck = true;
      return r;
    }
  }
  t.throws(() => fuzzPtPackets({ iterations: 2000, seed: 1, decoder: (o) => new Stalls(o) }), /does not advance/);
  class BadOffsets extends PtPacketDecoder {
    override next(): number {
      const r = super.next();
      if (r === PT_ERROR && this.error !== null) this.error = { ...this.error, offset: this.error.offset + 100000 };
      return r;
    }
  }
  t.throws(() => fuzzPtPackets({ iterations: 2000, seed: 1, decoder: (o) => new BadOffsets(o) }), /outside the \d+-byte input/);
  class Throws extends PtPacketDecoder {
    override next(): number {
      const r = super.next();
      if (r === PT_ERROR && this.error?.code === 'bad_opc') throw new TypeError('boom');
      return r;
    }
  }
  t.throws(() => fuzzPtPackets({ iterations: 2000, seed: 1, decoder: (o) => new Throws(o) }), /iteration \d+ .*boom/s);
});
