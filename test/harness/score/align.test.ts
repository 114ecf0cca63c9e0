// The streaming aligner against a whole-array model of the same greedy rule, on random decoded
// sequences made from a truth by dropping, replacing and inserting stretches.

import fc from 'fast-check';
import t from 'tap';
import { ALIGN_CONFIRM, ALIGN_WINDOW, StreamAligner, alignSequences } from '../../../harness/score/align.js';

function model(truth: number[], dec: number[]) {
  const nt = truth.length;
  const nd = dec.length;
  const agree = (i: number, j: number): boolean => {
    for (let k = 0; k < ALIGN_CONFIRM; k++) {
      if (i + k >= nt || j + k >= nd) return true;
      if (truth[i + k] !== dec[j + k]) return false;
    }
    return true;
  };
  let i = 0, j = 0, ok = 0, wrong = 0, missing = 0, firstTruth = -1, firstDecoded = -1;
  while (i < nt && j < nd) {
    if (truth[i] === dec[j]) {
      ok++; i++; j++;
      continue;
    }
    if (firstTruth < 0) { firstTruth = i; firstDecoded = j; }
    let found = -1;
    for (let k = i + 1; k < Math.min(nt, i + ALIGN_WINDOW); k++) {
      if (truth[k] === dec[j] && agree(k, j)) { found = k; break; }
    }
    if (found >= 0) { missing += found - i; i = found; } else { wrong++; j++; }
  }
  if ((i < nt || j < nd) && firstTruth < 0) { firstTruth = i; firstDecoded = j; }
  return { reconstructed: ok, wrong: wrong + nd - j, missing: missing + nt - i, firstTruth, firstDecoded };
}

const edit = fc.record({ at: fc.nat(), kind: fc.constantFrom('drop', 'replace', 'insert'), len: fc.integer({ min: 1, max: 40 }) });

t.test('streaming alignment equals the array model', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 1, max: 50 }), fc.array(edit, { maxLength: 6 }), (n, period, edits) => {
      // A looping program: addresses repeat with `period`, like real code.
      const truth = Array.from({ length: n }, (_, k) => 0x1000 + (k % period) * 4);
      let dec = truth.slice();
      for (const e of edits) {
        const at = dec.length === 0 ? 0 : e.at % dec.length;
        if (e.kind === 'drop') dec.splice(at, e.len);
        else if (e.kind === 'replace') dec.splice(at, e.len, ...Array.from({ length: e.len }, (_, k) => 0x9000 + k));
        else dec.splice(at, 0, ...Array.from({ length: e.len }, (_, k) => 0x7000 + k * 2));
      }
      const got = alignSequences(truth, truth.length, dec, dec.length);
      const want = model(truth, dec);
      t.same(
        { reconstructed: got.reconstructed, wrong: got.wrong, missing: got.missing, firstTruth: got.firstTruth, firstDecoded: got.firstDecoded },
        want,
      );
      t.equal(got.truth, truth.length);
      t.equal(got.decoded, dec.length);
      if (want.firstTruth >= 0) {
        t.ok(Object.is(got.firstTag, want.firstDecoded < dec.length ? want.firstDecoded : Number.NaN), 'tag of the first difference');
        t.ok(Object.is(got.firstExpected, want.firstTruth < truth.length ? truth[want.firstTruth] : Number.NaN), 'expected address');
      }
    }),
    { numRuns: 300, seed: 7 },
  );
  t.end();
});

t.test('a long truth stays bounded: only the window is held', (t) => {
  const n = 2_000_000;
  let k = 0;
  let pulled = 0;
  // Pull-driven: count how far the aligner reads ahead of the decoded side.
  const al = new StreamAligner(() => (k < n ? (pulled++, 0x1000 + (k++ % 97)) : Number.NaN));
  for (let d = 0; d < 1000; d++) {
    al.push(0x1000 + (d % 97));
    t.ok(pulled <= d + ALIGN_WINDOW + ALIGN_CONFIRM + 1, 'look-ahead stays inside the window');
  }
  const r = al.finish();
  t.equal(r.reconstructed, 1000);
  t.equal(r.missing, n - 1000);
  t.end();
});
