import t from 'tap';
import { DEFAULT_CLOCK, defaultWorkloadSpec, resolveWorkloadSpec } from '../../sim/workloads/spec.js';
import { buildWorkload } from '../../sim/workloads/index.js';

t.test('a spec fills in the named workload\'s defaults', async (t) => {
  const s = resolveWorkloadSpec({ workload: 'multiproc', processes: 6, program: { functions: 10 }, clock: { cpi: 2 } });
  t.equal(s.processes, 6);
  t.equal(s.program.functions, 10);
  t.same(s.program.blockSize, defaultWorkloadSpec('multiproc').program.blockSize);
  t.equal(s.clock.cpi, 2);
  t.equal(s.clock.coreHz, DEFAULT_CLOCK.coreHz);
  t.equal(resolveWorkloadSpec({}).workload, 'static', 'static by default');
  t.equal(resolveWorkloadSpec({ workload: 'static' }).timerPeriod, 0, 'static has no timer by default');
  t.ok(resolveWorkloadSpec({ workload: 'multiproc' }).timerPeriod > 0);
  t.same(JSON.parse(JSON.stringify(s)), s, 'plain JSON');
  t.not(defaultWorkloadSpec('static'), defaultWorkloadSpec('static'), 'defaults are fresh copies');
});

t.test('bad specs are refused with the field named', async (t) => {
  const bad: Array<[unknown, RegExp]> = [
    [null, /JSON object/],
    [{ workload: 'jit' }, /workload must be one of static, multiproc/],
    [{ procs: 3 }, /procs is not a workload spec field/],
    [{ program: { functons: 3 } }, /program.functons is not a workload spec field/],
    [{ processes: '3' }, /processes must be a number/],
    [{ workload: 'static', processes: 2 }, /exactly 1 process/],
    [{ workload: 'multiproc', processes: 0 }, /processes must be a positive integer/],
    [{ program: { blockSize: [1] } }, /program.blockSize must be an array of 2 numbers/],
    [{ program: { loopTrips: [3, 1] } }, /loopTrips/],
    [{ kernel: { syscallHandlers: 100 } }, /syscallHandlers/],
    [{ workload: 'multiproc', timerPeriod: 50 }, /timerPeriod 50 is shorter/],
    [{ clock: { cpi: 0 } }, /clock.cpi must be a positive number/],
    [{ clock: { stallRate: 1.5 } }, /stallRate/],
    [{ clock: { takenPenalty: 0.5 } }, /takenPenalty/],
    [{ distinctAddresses: 'yes' }, /distinctAddresses must be a boolean/],
  ];
  for (const [input, re] of bad) t.throws(() => resolveWorkloadSpec(input), re, JSON.stringify(input));
});

t.test('the same spec and seed build the same system', async (t) => {
  const a = buildWorkload({ workload: 'multiproc' }, 77);
  const b = buildWorkload({ workload: 'multiproc' }, 77);
  t.equal(JSON.stringify(a.processes.map((p) => p.program)), JSON.stringify(b.processes.map((p) => p.program)));
  t.equal(a.execSeed, b.execSeed);
  const c = buildWorkload({ workload: 'multiproc' }, 78);
  t.not(a.execSeed, c.execSeed);
  t.not(JSON.stringify(a.processes[0]!.program), JSON.stringify(a.processes[1]!.program), 'processes run different programs');
  t.equal(buildWorkload({ workload: 'multiproc' }, 2n ** 64n - 1n).seed, 2n ** 64n - 1n, 'full 64-bit seeds');
});
