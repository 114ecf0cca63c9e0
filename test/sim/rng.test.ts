import t from 'tap';
import { Rng } from '../../sim/rng.js';

// Known answers from the reference C code of xoshiro128** and splitmix64 (Blackman & Vigna),
// compiled and run separately.
t.test('xoshiro128** from state {1,2,3,4} matches the reference', async (t) => {
  const r = Rng.fromState(1, 2, 3, 4);
  t.same([0, 1, 2, 3, 4, 5].map(() => r.nextU32()), [11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
});

t.test('splitmix64 seeding matches the reference', async (t) => {
  const cases: Array<[number | bigint, number[]]> = [
    [0, [3737715805, 2584255861, 2876756834, 3286328325, 1553311962]],
    [1, [1695105466, 1423115009, 634581793, 1068227753, 716759206]],
    [42, [1776835114, 4165204688, 17111135, 2317295270, 2792088233]],
    [0xdeadbeefcafebaben, [2306019369, 2612752571, 2283903557, 601034383, 1745798403]],
  ];
  for (const [seed, want] of cases) {
    const r = new Rng(seed);
    t.same(want.map(() => r.nextU32()), want, `seed ${String(seed)}`);
  }
});

t.test('same seed, same stream; different seeds differ', async (t) => {
  const a = new Rng(7), b = new Rng(7), c = new Rng(8);
  const sa = Array.from({ length: 100 }, () => a.nextU32());
  t.same(Array.from({ length: 100 }, () => b.nextU32()), sa);
  t.not(Array.from({ length: 100 }, () => c.nextU32()).join(), sa.join());
});

t.test('below() is uniform (chi-square) and in range', async (t) => {
  const r = new Rng(12345);
  const n = 10, draws = 100000, counts = new Array<number>(n).fill(0);
  let outside = 0;
  for (let i = 0; i < draws; i++) {
    const v = r.below(n);
    if (v < 0 || v >= n) outside++;
    else counts[v]!++;
  }
  t.equal(outside, 0, 'every draw in [0, n)');
  const expected = draws / n;
  const chi2 = counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
  // 9 degrees of freedom: the 99.9th percentile is 27.88.
  t.ok(chi2 < 27.88, `chi-square ${chi2.toFixed(2)} below 27.88`);
});

t.test('float() has mean 1/2 and stays in [0,1)', async (t) => {
  const r = new Rng(99);
  let sum = 0, min = 1, max = 0;
  for (let i = 0; i < 100000; i++) {
    const f = r.float();
    sum += f; min = Math.min(min, f); max = Math.max(max, f);
  }
  t.ok(Math.abs(sum / 100000 - 0.5) < 0.01, 'mean near 0.5');
  t.ok(min >= 0 && max < 1);
});

t.test('weighted() follows the weights; bad arguments are refused', async (t) => {
  const r = new Rng(3);
  const counts = [0, 0, 0];
  for (let i = 0; i < 30000; i++) counts[r.weighted([1, 0, 3])]!++;
  t.equal(counts[1], 0, 'zero weight never chosen');
  t.ok(Math.abs(counts[2]! / counts[0]! - 3) < 0.3, 'ratio near 3');
  t.throws(() => r.weighted([0, 0]), RangeError);
  t.throws(() => r.below(0), RangeError);
  t.throws(() => r.pick([]), RangeError);
  t.throws(() => new Rng(-1), RangeError);
  const f = r.fork();
  t.not(f.nextU32(), r.nextU32(), 'fork gives a different stream');
  const x = r.range(5, 7);
  t.ok(x >= 5 && x <= 7);
  t.type(r.chance(0.5), 'boolean');
  t.equal(r.pick(['only']), 'only');
});
