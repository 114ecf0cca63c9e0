// Bad input never crashes or hangs the flow decoder: real ETE and ETMv4 traces with random
// byte corruption, random bytes, truncation. Each run ends with EO_TRACE; errors are records.

import t from 'tap';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { DecodeError } from '../../../../../arch/common/errors.js';
import { Etm4PacketDecoder } from '../../../../../arch/arm/etm4/decoder.js';
import { Elem, type FlowElement } from '../../../../../arch/arm/etm4/flow/elements.js';
import { Etm4FlowDecoder } from '../../../../../arch/arm/etm4/flow/flow-decoder.js';
import { SnapshotMemory } from '../../../../../arch/arm/etm4/flow/snapshot-memory.js';
import { etm4ConfigOf, readSnapshot, sourcesOfBuffer } from '../../../../../arch/arm/opencsd/snapshot-reader.js';
import { Rng } from '../../../../../sim/rng.js';

const SNAPS = fileURLToPath(new URL('../../../../fixtures/opencsd/snapshots/', import.meta.url));

function decode(name: string, data: Uint8Array): { last: number; elements: number; errors: DecodeError[] } {
  const snap = readSnapshot(SNAPS + name);
  const config = etm4ConfigOf(snap, sourcesOfBuffer(snap, snap.buffers[0]!.name)[0]!);
  let last = -1;
  let elements = 0;
  const errors: DecodeError[] = [];
  const flow = new Etm4FlowDecoder(config, { element: (e: FlowElement) => ((last = e.type), elements++) }, { memory: new SnapshotMemory(snap), error: (e) => errors.push(e) });
  const packets = new Etm4PacketDecoder(config, flow, 0);
  // Odd chunk sizes, so packets straddle pushes.
  for (let off = 0; off < data.length; off += 37) packets.push(data.subarray(off, Math.min(data.length, off + 37)));
  packets.end();
  flow.end();
  return { last, elements, errors };
}

for (const name of ['ete-src_addr', 'ete-ete_spec_1', 'ete-q_elem']) {
  t.test(`${name}: corrupted traces`, async (t) => {
    const snap = readSnapshot(SNAPS + name);
    const base = new Uint8Array(readFileSync(snap.buffers[0]!.file));
    const clean = decode(name, base);
    t.equal(clean.last, Elem.EO_TRACE, 'the clean trace ends with EO_TRACE');
    const rng = new Rng(42);
    let runs = 0;
    let problems = 0;
    const t0 = Date.now();
    while (Date.now() - t0 < 1500 && runs < 300) {
      const data = base.slice(0, 1 + rng.below(base.length));
      const flips = 1 + rng.below(8);
      for (let i = 0; i < flips; i++) data[rng.below(data.length)] = rng.below(256);
      const r = decode(name, data);
      if (r.last !== Elem.EO_TRACE) problems++;
      for (const e of r.errors) if (typeof e.code !== 'string' || !Number.isFinite(e.offset) || e.message === '') problems++;
      runs++;
    }
    t.equal(problems, 0, `${runs} corrupted traces decode to EO_TRACE with well-formed errors`);
  });
}

t.test('random bytes', async (t) => {
  const rng = new Rng(7);
  let problems = 0;
  for (let i = 0; i < 50; i++) {
    const data = new Uint8Array(2000);
    for (let k = 0; k < data.length; k++) data[k] = rng.below(256);
    // An A-sync and a Trace Info first, so the noise is decoded rather than skipped.
    data.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x01, 0x00], 0);
    if (decode('ete-src_addr', data).last !== Elem.EO_TRACE) problems++;
  }
  t.equal(problems, 0, 'random packets decode to EO_TRACE');
});
