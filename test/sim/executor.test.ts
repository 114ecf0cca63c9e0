import t from 'tap';
import { NullExecSink, Xfer } from '../../arch/common/events.js';
import { Executor } from '../../sim/exec/executor.js';
import { buildMachine } from '../../sim/machine.js';
import { Ev, EV_WIDTH, RecordingSink, TeeSink } from '../../sim/sinks.js';
import { buildWorkload } from '../../sim/workloads/index.js';
import { CheckingSink } from './helpers.js';

const multi = buildWorkload({ workload: 'multiproc', processes: 3, timerPeriod: 20000 }, 7);
const stat = buildWorkload({ workload: 'static', timerPeriod: 30000 }, 5);

t.test('every invariant holds over a long run, on both ISAs and both workloads', async (t) => {
  for (const [name, model] of [['multiproc', multi], ['static', stat]] as const) {
    for (const isa of ['x86', 'a64'] as const) {
      const m = buildMachine(model, isa);
      const check = new CheckingSink(m);
      const ex = new Executor(m, { sink: check, limit: 300_000 });
      ex.run();
      ex.finish();
      const r = check.r;
      t.same(r.errors, [], `${name}/${isa}: no invariant broken`);
      t.equal(r.instructions, 300_000, `${name}/${isa}: exactly the limit`);
      t.equal(ex.instructions, 300_000);
      t.ok(r.interrupts > 5, `${name}/${isa}: ${r.interrupts} timer interrupts`);
      t.ok((r.branches.get(Xfer.SYSCALL) ?? 0) > 5, 'system calls happen');
      const open = (r.branches.get(Xfer.SYSCALL) ?? 0) - (r.branches.get(Xfer.SYSRET) ?? 0);
      t.ok(open === 0 || open === 1, 'every system call returns (the last may still be in the kernel)');
      for (const k of [Xfer.COND_TAKEN, Xfer.COND_NOT_TAKEN, Xfer.JUMP, Xfer.CALL, Xfer.RETURN, Xfer.IND_JUMP, Xfer.IND_CALL, Xfer.IRET]) {
        t.ok((r.branches.get(k) ?? 0) > 0, `${name}/${isa}: kind ${k} occurs`);
      }
      if (name === 'multiproc') t.equal(r.switches, r.interrupts, 'one switch per tick with a slice of 1');
      else t.equal(r.switches, 0, 'one process: the scheduler never switches');
      const s = ex.stats;
      t.equal(s.instructions, 300_000);
      t.equal(s.interrupts, r.interrupts);
      t.equal(s.branches[Xfer.CALL], r.branches.get(Xfer.CALL));
    }
  }
});

t.test('the same seed gives the same events; chunked runs give the same events as one run', async (t) => {
  const m = buildMachine(multi, 'x86');
  const record = (chunk: number): Float64Array => {
    const rec = new RecordingSink();
    const ex = new Executor(m, { sink: rec, limit: 200_003 });
    while (!ex.done) ex.run(chunk);
    ex.finish();
    return rec.log().slice();
  };
  const a = record(Infinity);
  // Compared as bytes: a deep comparison of ~10^6 numbers is needlessly slow.
  const same = (x: Float64Array, y: Float64Array): boolean => Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(y.buffer, y.byteOffset, y.byteLength));
  t.ok(a.length > 100_000, `${a.length / EV_WIDTH} events`);
  t.ok(same(record(Infinity), a), 'twice the same');
  t.ok(same(record(977), a), 'in chunks of 977');
  const other = buildMachine(buildWorkload({ workload: 'multiproc', processes: 3, timerPeriod: 20000 }, 8), 'x86');
  const rec = new RecordingSink();
  const ex = new Executor(other, { sink: rec, limit: 200_003 });
  ex.run();
  t.not(rec.length, a.length / EV_WIDTH, 'another seed, another run');
});

t.test('x86 and A64 execute the same block sequence with the same outcomes and cycles', async (t) => {
  const shape = (isa: 'x86' | 'a64'): number[] => {
    const rec = new RecordingSink();
    const ex = new Executor(buildMachine(multi, isa), { sink: rec, limit: 150_000 });
    ex.run();
    ex.finish();
    const out: number[] = [];
    const log = rec.log();
    for (let i = 0; i < log.length; i += EV_WIDTH) {
      const code = log[i]!;
      out.push(code);
      if (code === Ev.BLOCK) out.push(log[i + 2]!, log[i + 3]!, log[i + 4]!); // count, ctx, cycle
      if (code === Ev.BRANCH) out.push(log[i + 1]!, log[i + 6]!); // kind, cycle
    }
    return out;
  };
  const x = shape('x86');
  t.ok(x.length > 50_000);
  t.equal(shape('a64').join(), x.join());
});

t.test('the limit cuts a block exactly; end reports the next instruction', async (t) => {
  const m = buildMachine(stat, 'a64');
  for (const limit of [0, 1, 2, 3, 10, 12345]) {
    const rec = new RecordingSink();
    const check = new CheckingSink(m);
    const ex = new Executor(m, { sink: new TeeSink([rec, check]), limit });
    ex.run();
    ex.finish();
    ex.finish();
    t.same(check.r.errors, [], `limit ${limit}`);
    t.equal(check.r.instructions, limit);
    const last = rec.event(rec.length - 1);
    t.equal(last[0], Ev.END, 'end comes last, once');
    t.equal(last[1], ex.nextAddress);
  }
  t.throws(() => new Executor(m, { sink: new NullExecSink(), limit: -1 }), /limit/);
});

t.test('interrupts land inside blocks, and IRET resumes there', async (t) => {
  const m = buildMachine(multi, 'x86');
  const rec = new RecordingSink();
  const ex = new Executor(m, { sink: rec, limit: 400_000 });
  ex.run();
  const log = rec.log();
  let inside = 0, total = 0;
  for (let i = 0; i < log.length; i += EV_WIDTH) {
    if (log[i] !== Ev.INTERRUPT) continue;
    total++;
    const next = log[i + 3]!;
    // The block event before it ended right at `next` but started elsewhere: a cut block.
    const prev = i - EV_WIDTH;
    if (log[prev] === Ev.BLOCK && log[prev + 1] !== next) inside++;
  }
  t.ok(total > 10, `${total} interrupts`);
  t.ok(inside > total / 4, `${inside} of them cut a block`);
});

t.test('timer off and no system calls: user code only, a single context', async (t) => {
  const model = buildWorkload({ workload: 'static', program: { branchMix: { fall: 2, cond: 5, jump: 2, loop: 2, call: 3, indirectCall: 1, indirectJump: 1, syscall: 0 } } }, 1);
  const m = buildMachine(model, 'x86');
  const check = new CheckingSink(m, true);
  const ex = new Executor(m, { sink: check, limit: 50_000 });
  ex.run();
  ex.finish();
  t.same(check.r.errors, []);
  t.same(new Set(check.r.contexts), new Set([m.userCtx[0]]));
  t.equal(check.r.interrupts, 0);
});
