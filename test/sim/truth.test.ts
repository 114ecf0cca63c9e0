import t from 'tap';
import { type Addr } from '../../arch/common/address.js';
import { NullExecSink } from '../../arch/common/events.js';
import { MemorySink } from '../../arch/common/stream.js';
import { TruthWriter, forEachTruthRecord, readTruthBlocks, readTruthSegments, truthAddresses } from '../../corpora/truth/index.js';
import { Executor } from '../../sim/exec/executor.js';
import { buildMachine } from '../../sim/machine.js';
import { TeeSink } from '../../sim/sinks.js';
import { buildWorkload } from '../../sim/workloads/index.js';
import { CheckingSink } from './helpers.js';

const model = buildWorkload({ workload: 'multiproc', processes: 3, timerPeriod: 20000 }, 21);

/** A stand-in trace unit: declares a sync point every 500th branch, at a made-up trace offset. */
class FakeSyncUnit extends NullExecSink {
  branches = 0;
  marks: Array<{ offset: number; instructions: number }> = [];
  instructions = 0;
  constructor(private readonly w: TruthWriter) {
    super();
  }
  override block(_s: Addr, count: number): void {
    this.instructions += count;
  }
  override branch(): void {
    if (++this.branches % 500 === 0) {
      const offset = this.branches * 3;
      this.w.sync(0, offset);
      this.marks.push({ offset, instructions: this.instructions });
    }
  }
}

function runWithTruth(isa: 'x86' | 'a64', limit: number, chunk = Infinity) {
  const m = buildMachine(model, isa);
  const stream = new MemorySink();
  const w = new TruthWriter(stream, 4096);
  const check = new CheckingSink(m, true);
  const unit = new FakeSyncUnit(w);
  const ex = new Executor(m, { sink: new TeeSink([check, unit]), truth: w, limit });
  while (!ex.done) ex.run(chunk);
  ex.finish();
  const tables = w.finish();
  return { m, check, unit, ex, tables, stream: stream.bytes() };
}

t.test('the truth expands to exactly the executed instructions, with their contexts', async (t) => {
  for (const isa of ['x86', 'a64'] as const) {
    const r = runWithTruth(isa, 300_001);
    t.same(r.check.r.errors, []);
    const table = readTruthBlocks(r.tables.blocks);
    t.equal(table.summary.instructions, 300_001);
    t.equal(r.tables.summary.blocks, r.ex.stats.truthBlocks);
    const addrs = truthAddresses(table, [r.stream]);
    t.equal(addrs.length, r.check.r.addresses.length);
    t.ok(addrs.every((a, i) => a === r.check.r.addresses[i]), `${isa}: every address matches`);
    const ctxs: number[] = [];
    let lastTime = -1;
    let monotonic = true;
    forEachTruthRecord(table, [r.stream], (id, time) => {
      for (let k = 0; k < table.count[id]!; k++) ctxs.push(table.ctx[id]!);
      if (time < lastTime) monotonic = false;
      lastTime = time;
    });
    t.ok(ctxs.every((c, i) => c === r.check.r.contexts[i]), `${isa}: every context matches`);
    t.ok(monotonic, 'times never go back');
    t.ok(lastTime <= r.ex.cycles);
    // Kernel blocks run in each process's context: the same code appears under several ids.
    const kernelStarts = new Map<number, Set<number>>();
    for (let id = 0; id < table.size; id++) {
      if (table.start[id]! >= 0) continue;
      let s = kernelStarts.get(table.start[id]!);
      if (!s) kernelStarts.set(table.start[id]!, (s = new Set()));
      s.add(table.ctx[id]!);
    }
    t.ok([...kernelStarts.values()].some((s) => s.size === 3), 'kernel code recorded in all three contexts');
    t.ok([...Array(table.size).keys()].every((id) => table.version[id] === (table.start[id]! < 0 ? 0 : 1 + r.m.ctxSpace[table.ctx[id]!]!)), 'code version = image of the block');
  }
});

t.test('segments mark the trace unit\'s sync points at the right instruction', async (t) => {
  const r = runWithTruth('x86', 200_000);
  const segs = readTruthSegments(r.tables.segments);
  t.ok(segs.length > 20, `${segs.length} segments`);
  t.same(segs.map((s) => [s.traceOffset, s.instruction]), r.unit.marks.map((m) => [m.offset, m.instructions]));
});

t.test('truth bytes are identical for the same spec and seed, in one run or in steps', async (t) => {
  const a = runWithTruth('a64', 150_000);
  const b = runWithTruth('a64', 150_000, 1234);
  t.same(b.stream, a.stream);
  t.same(b.tables.blocks, a.tables.blocks);
  t.same(b.tables.segments, a.tables.segments);
  const other = buildMachine(buildWorkload({ workload: 'multiproc', processes: 3, timerPeriod: 20000 }, 22), 'a64');
  const s = new MemorySink();
  const w = new TruthWriter(s);
  const ex = new Executor(other, { sink: new NullExecSink(), truth: w, limit: 150_000 });
  ex.run();
  w.finish();
  t.not(Buffer.from(s.bytes()).toString('hex'), Buffer.from(a.stream).toString('hex'), 'another seed, another truth');
});
