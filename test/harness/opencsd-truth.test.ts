// OpenCSD reproduces the ground truth: the ETMv4 trace our trace unit writes for a simulated
// A64 run, put in an OpenCSD snapshot with the machine's code images and the unit's register
// values, is decoded by Debian's trc_pkt_lister into INSTR_RANGE elements that expand to
// exactly the instructions the simulator executed, from the first sync on, with no NO_SYNC or
// ADDR_NACC after it — for the static and multiproc workloads, several seeds and trace
// configurations, raw and CoreSight-formatted, one core and two cores sharing a buffer.

import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAddr } from '../../arch/common/address.js';
import { type ChunkSink, MemorySink } from '../../arch/common/stream.js';
import { Etm4PacketDecoder } from '../../arch/arm/etm4/decoder.js';
import { PacketType } from '../../arch/arm/etm4/packet-types.js';
import type { EtmTraceOptions } from '../../arch/arm/etm4/trace-config.js';
import { etmSnapshotSpec } from '../../arch/arm/etm4/trace-snapshot.js';
import { SharedFormattedSink } from '../../arch/arm/etm4/trace-sink.js';
import { EtmTraceUnit } from '../../arch/arm/etm4/trace-unit.js';
import { writeSnapshot } from '../../arch/arm/opencsd/snapshot-writer.js';
import { TruthWriter, readTruthBlocks, readTruthSegments, truthAddresses } from '../../corpora/truth/index.js';
import { type ListerElement, rangeAddresses } from '../../harness/adapters/opencsd/lister-parse.js';
import { listerElements } from '../../harness/adapters/opencsd/lister-run.js';
import { Executor } from '../../sim/exec/executor.js';
import { type Machine, buildMachine } from '../../sim/machine.js';
import { buildWorkload } from '../../sim/workloads/index.js';
import { needTrcPktLister } from '../helpers/reference.js';

const INSNS = 120_000;

const CONFIGS: { name: string; opts: Partial<EtmTraceOptions> }[] = [
  { name: 'default (context ID, timestamps at sync)', opts: {} },
  { name: 'no timestamps, no context ID', opts: { timestamps: false, contextId: false } },
  { name: 'return stack', opts: { returnStack: true } },
  { name: 'cycle counts, VMID', opts: { cycleCounts: true, vmid: true, ccThreshold: 64 } },
  { name: 'all on, timestamps every 4000 cycles, sync every 256 bytes', opts: { returnStack: true, cycleCounts: true, vmid: true, timestampInterval: 4000, syncPeriod: 8 } },
];

const WORKLOADS = [
  { name: 'static', spec: { workload: 'static' } },
  // OpenCSD snapshots tie memory to an exception level, not to a context ID: processes must not overlap.
  { name: 'multiproc', spec: { workload: 'multiproc', distinctAddresses: true, timerPeriod: 10_000 } },
];

interface Traced {
  trace: Uint8Array;
  unit: EtmTraceUnit;
  truth: number[];
  /** Truth segments: A-sync offset and the index of the first instruction after it. */
  segments: { offset: number; instruction: number }[];
}

/**
 * Runs `machine` for `insns` instructions with an ETM trace unit. Its bytes are kept, and also
 * written to `shared` (a formatter's source) when given, in small chunks so sources interleave.
 */
function prepare(machine: Machine, opts: Partial<EtmTraceOptions>, insns: number, shared?: ChunkSink): { exec: Executor; unit: EtmTraceUnit; done: () => Traced } {
  const raw = new MemorySink();
  const out: ChunkSink = shared
    ? { write: (c) => (raw.write(c), shared.write(c)), end: () => (raw.end(), shared.end()) }
    : raw;
  const truthSink = new MemorySink();
  const truth = new TruthWriter(truthSink);
  const unit = new EtmTraceUnit({ options: opts, contexts: machine.contexts, clock: machine.clock, out, sync: truth, chunkSize: shared ? 64 : 1 << 16 });
  const exec = new Executor(machine, { sink: unit, truth, limit: insns });
  const done = (): Traced => {
    exec.finish();
    unit.finish();
    const tables = truth.finish();
    const addrs = truthAddresses(readTruthBlocks(tables.blocks), [truthSink.bytes()]);
    const segments = readTruthSegments(tables.segments).map((s) => ({ offset: s.traceOffset, instruction: s.instruction }));
    return { trace: raw.bytes(), unit, truth: addrs, segments };
  };
  return { exec, unit, done };
}

function traceRun(machine: Machine, opts: Partial<EtmTraceOptions>, insns = INSNS): Traced {
  const p = prepare(machine, opts, insns);
  p.exec.run();
  return p.done();
}

/** Writes the snapshot of `machine`'s code images and these trace sources into `dir`. */
function snapshot(dir: string, machine: Machine, sources: EtmTraceOptions[], trace: Uint8Array, format: 'source_data' | 'coresight'): void {
  writeSnapshot(dir, etmSnapshotSpec({ images: machine.images, sources, trace, format }));
}

/**
 * lister-parse's `start`/`end` read the hex digits of a range without their 0x prefix, so a
 * range like 0x400000 comes out as decimal 400000; re-read them from the element text.
 */
function fixRange(e: ListerElement): ListerElement {
  const m = /exec range=0x([0-9a-f]+):\[0x([0-9a-f]+)\]/.exec(e.text);
  if (m) {
    e.start = parseAddr('0x' + m[1]!);
    e.end = parseAddr('0x' + m[2]!);
  }
  return e;
}

interface Decoded {
  addrs: number[];
  noSync: string[];
  nacc: string[];
  other: string[];
  /** CONTEXTIDR values of the PE_CONTEXT elements. */
  contextIds: Set<number>;
}

/** Runs trc_pkt_lister on `dir` and collects, per trace ID, the instructions of its INSTR_RANGEs. */
async function listerDecode(dir: string): Promise<Map<number, Decoded>> {
  const byId = new Map<number, Decoded>();
  for await (const e of listerElements(dir, { args: ['-decode_only'] })) {
    let d = byId.get(e.id);
    if (!d) byId.set(e.id, (d = { addrs: [], noSync: [], nacc: [], other: [], contextIds: new Set() }));
    const line = `Idx:${e.idx} ${e.elem}(${e.text})`;
    if (e.elem === 'INSTR_RANGE') {
      fixRange(e);
      if (e.isa !== 'A64') d.other.push(line);
      for (const a of rangeAddresses(e)) d.addrs.push(a);
    } else if (e.elem === 'NO_SYNC') d.noSync.push(line);
    else if (e.elem === 'ADDR_NACC') d.nacc.push(line);
    else if (e.elem === 'PE_CONTEXT') {
      if (e.ctxid !== undefined) d.contextIds.add(e.ctxid);
    } else if (e.elem === 'I_RANGE_NOPATH' || e.elem === 'ADDR_UNKNOWN' || e.elem === 'UNKNOWN') d.other.push(line);
  }
  return byId;
}

/**
 * What is wrong with OpenCSD's decode of one trace ID, compared with the truth (empty: nothing).
 * The trace starts with an A-sync at offset 0, so the decoder is synchronised from the first
 * byte and its only NO_SYNC is the initial [init-decoder] one. Instructions after the last
 * waypoint or exception are in no trace element: the decode ends `untracedTail` short.
 */
function problems(d: Decoded | undefined, run: Traced): string[] {
  if (!d) return ['OpenCSD printed nothing for this trace ID'];
  const out: string[] = [];
  if (d.noSync.length !== 1 || !/init-decoder/.test(d.noSync[0]!)) out.push(`NO_SYNC after the first sync: ${d.noSync.slice(1, 3).join('; ')}`);
  if (d.nacc.length) out.push(`${d.nacc.length} ADDR_NACC, first ${d.nacc[0]}`);
  if (d.other.length) out.push(`${d.other.length} unexpected elements, first ${d.other[0]}`);
  const want = run.truth;
  const got = d.addrs;
  let i = 0;
  while (i < got.length && i < want.length && got[i] === want[i]) i++;
  const hex = (a: number[]): string => a.map((x) => x.toString(16)).join(' ');
  if (i < got.length) {
    out.push(`instruction ${i} differs: OpenCSD ${hex(got.slice(Math.max(0, i - 3), i + 3))} / truth ${hex(want.slice(Math.max(0, i - 3), i + 3))}`);
  } else if (got.length !== want.length - run.unit.stats.untracedTail) {
    out.push(`OpenCSD gives ${got.length} instructions, the truth ${want.length} of which ${run.unit.stats.untracedTail} untraced at the end`);
  }
  return out;
}

function checkAgainstTruth(t: Test, what: string, d: Decoded | undefined, run: Traced): void {
  t.same(problems(d, run), [], `${what}: OpenCSD gives exactly the ${run.truth.length - run.unit.stats.untracedTail} traced instructions of the truth, with no NO_SYNC / ADDR_NACC`);
}

/** The A-sync offsets in the stream and the address each segment starts at (our packet decoder). */
function syncPoints(run: Traced): { offset: number; address: number }[] {
  const out: { offset: number; address: number }[] = [];
  let pending = -1;
  const dec = new Etm4PacketDecoder(run.unit.config, {
    packet(p) {
      if (p.type === PacketType.ASYNC) pending = p.index;
      else if (pending >= 0 && p.type === PacketType.ADDR_CTXT_L_64IS0) {
        out.push({ offset: pending, address: p.address });
        pending = -1;
      }
    },
    error(e) {
      throw new Error(`our decoder: ${e.message}`);
    },
  });
  dec.push(run.trace);
  dec.end();
  return out;
}

function checkSegments(t: Test, what: string, run: Traced): void {
  const points = syncPoints(run);
  t.same(run.segments.map((s) => s.offset), points.map((p) => p.offset), `${what}: the truth has a segment at every A-sync`);
  const starts = run.segments.map((s) => run.truth[s.instruction]);
  const last = run.segments.length - 1;
  // A sync made after the last instruction has no instruction of its own.
  if (last >= 0 && run.segments[last]!.instruction === run.truth.length) starts.pop(), points.pop();
  t.same(starts, points.map((p) => p.address), `${what}: each segment starts at the address traced after its A-sync`);
}

const machines = new Map<string, Machine>();
function machineFor(w: (typeof WORKLOADS)[number], seed: number): Machine {
  const key = `${w.name}:${seed}`;
  let m = machines.get(key);
  if (!m) machines.set(key, (m = buildMachine(buildWorkload(w.spec, seed), 'a64')));
  return m;
}

const work = mkdtempSync(join(tmpdir(), 'hwtrace-opencsd-truth-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

let caseNo = 0;
for (const w of WORKLOADS) {
  CONFIGS.forEach((c, ci) => {
    const seeds = [1 + ci, 6 + ci];
    t.test(`${w.name}, ${c.name}, seeds ${seeds.join(' ')}`, async (t) => {
      if (!needTrcPktLister(t)) return;
      await Promise.all(
        seeds.map(async (seed) => {
          const machine = machineFor(w, seed);
          const run = traceRun(machine, c.opts);
          const what = `${w.name} seed ${seed}`;
          checkSegments(t, what, run);
          const dir = join(work, `case${caseNo++}`);
          snapshot(dir, machine, [run.unit.options], run.trace, 'source_data');
          const byId = await listerDecode(dir);
          // format=source_data: trc_pkt_lister reports the elements under the configured trace ID.
          const d = byId.get(run.unit.traceId);
          checkAgainstTruth(t, what, d, run);
          if (w.name === 'multiproc') {
            const procs = new Set(run.truth.filter((a) => a > 0).map((a) => Math.floor(a / 0x10000000)));
            t.ok(procs.size >= 2, `${what}: ${procs.size} processes ran`);
            if (run.unit.options.contextId) t.ok((d?.contextIds.size ?? 0) >= 2, `${what}: OpenCSD saw ${d?.contextIds.size} context IDs`);
          }
          t.ok(run.unit.stats.syncs >= 1, `${what}: ${run.unit.stats.syncs} syncs, ${run.unit.stats.exceptions} exceptions, ${(run.trace.length / INSNS).toFixed(3)} bytes/insn`);
          if (run.segments.length >= 4) {
            // A decoder that starts at a later A-sync decodes the truth from that segment's start.
            const seg = run.segments[run.segments.length >> 1]!;
            const part: Traced = { ...run, trace: run.trace.subarray(seg.offset), truth: run.truth.slice(seg.instruction) };
            const segDir = join(work, `case${caseNo++}`);
            snapshot(segDir, machine, [run.unit.options], part.trace, 'source_data');
            t.same(problems((await listerDecode(segDir)).get(run.unit.traceId), part), [], `${what}: decoding from the A-sync at byte ${seg.offset} gives the truth from instruction ${seg.instruction}`);
          }
        }),
      );
    });
  });
}

t.test('CoreSight-formatted buffer (format=coresight), one core', async (t) => {
  if (!needTrcPktLister(t)) return;
  const machine = machineFor(WORKLOADS[1]!, 3);
  const frames = new MemorySink();
  const shared = new SharedFormattedSink(frames, 4096);
  const p = prepare(machine, { traceId: 0x22, returnStack: true }, INSNS, shared.source(0x22));
  p.exec.run();
  const run = p.done();
  const dir = join(work, 'formatted');
  snapshot(dir, machine, [run.unit.options], frames.bytes(), 'coresight');
  t.equal(frames.bytes().length % 16, 0, 'whole frames');
  const byId = await listerDecode(dir);
  t.same([...byId.keys()], [0x22], 'one trace ID in the frames');
  checkSegments(t, 'formatted', run);
  checkAgainstTruth(t, 'formatted', byId.get(0x22), run);
});

t.test('two cores interleaved by cycle into one formatted buffer', async (t) => {
  if (!needTrcPktLister(t)) return;
  const m0 = machineFor(WORKLOADS[1]!, 4);
  // The second core runs the same code along other paths (another executor seed).
  const m1: Machine = { ...m0, model: { ...m0.model, execSeed: m0.model.execSeed ^ 0x5a5a5a5an } };
  const frames = new MemorySink();
  const shared = new SharedFormattedSink(frames, 4096);
  const ids = [0x10, 0x11];
  const cores = [m0, m1].map((m, i) => prepare(m, { traceId: ids[i]!, cycleCounts: i === 1, returnStack: i === 0 }, INSNS, shared.source(ids[i]!)));
  // Advance whichever core is behind in cycles, a few hundred instructions at a time.
  while (cores.some((c) => !c.exec.done)) {
    const c = cores.filter((x) => !x.exec.done).sort((a, b) => a.exec.cycles - b.exec.cycles)[0]!;
    c.exec.run(300);
  }
  const runs = cores.map((c) => c.done());
  const dir = join(work, 'two-cores');
  snapshot(dir, m0, runs.map((r) => r.unit.options), frames.bytes(), 'coresight');
  t.not(runs[0]!.truth.slice(0, 2000).join(), runs[1]!.truth.slice(0, 2000).join(), 'the cores ran different paths');
  const byId = await listerDecode(dir);
  t.same([...byId.keys()].sort(), ids, 'both trace IDs decoded');
  runs.forEach((run, i) => checkSegments(t, `core ${i}`, run));
  runs.forEach((run, i) => checkAgainstTruth(t, `core ${i} (ID 0x${ids[i]!.toString(16)})`, byId.get(ids[i]!), run));
});

t.test('control: the comparison catches a trace that differs by one atom', async (t) => {
  if (!needTrcPktLister(t)) return;
  const machine = machineFor(WORKLOADS[0]!, 1);
  const run = traceRun(machine, { timestamps: false }, 20_000);
  // Turn an N atom of the 5th Atom F3 packet holding one into an E: a conditional branch not
  // taken becomes taken. (Flipping an E could hit an indirect branch, whose target comes from the
  // next address packet anyway.)
  const f3: number[] = [];
  const dec = new Etm4PacketDecoder(run.unit.config, { packet: (p) => void (p.type === PacketType.ATOM_F3 && p.atomBits !== 7 && f3.push(p.index)), error: () => {} });
  dec.push(run.trace);
  dec.end();
  t.ok(f3.length > 5, 'the trace has Atom F3 packets with N atoms');
  const bad = run.trace.slice();
  const h = bad[f3[5]!]!;
  bad[f3[5]!] = h | (~h & (h + 1) & 7); // the oldest N becomes E
  const dir = join(work, 'control');
  snapshot(dir, machine, [run.unit.options], bad, 'source_data');
  const found = problems((await listerDecode(dir)).get(run.unit.traceId), run);
  t.ok(found.length > 0, `the corrupted trace is caught: ${found[0]}`);
});
