// Our flow decoder reproduces the ground truth: the ETMv4 trace our trace unit writes for a
// simulated A64 run, decoded with the machine's own per-process images, expands (INSTR_RANGE
// by INSTR_RANGE) to exactly the instructions the simulator executed, up to the unit's
// documented untraceable tail — static and multiproc (shared and distinct addresses), every
// trace configuration the unit supports, several seeds.

import t from 'tap';
import { MemorySink } from '../../../../../arch/common/stream.js';
import { Etm4PacketDecoder } from '../../../../../arch/arm/etm4/decoder.js';
import { Elem, type FlowElement } from '../../../../../arch/arm/etm4/flow/elements.js';
import { Etm4FlowDecoder } from '../../../../../arch/arm/etm4/flow/flow-decoder.js';
import { ImageMemory, spaceOfContext } from '../../../../../arch/arm/etm4/flow/image-memory.js';
import type { EtmTraceOptions } from '../../../../../arch/arm/etm4/trace-config.js';
import { EtmTraceUnit } from '../../../../../arch/arm/etm4/trace-unit.js';
import { TruthWriter, readTruthBlocks, truthAddresses } from '../../../../../corpora/truth/index.js';
import { Executor } from '../../../../../sim/exec/executor.js';
import { type Machine, buildMachine } from '../../../../../sim/machine.js';
import { buildWorkload } from '../../../../../sim/workloads/index.js';

const INSNS = 100_000;

const CONFIGS: { name: string; opts: Partial<EtmTraceOptions> }[] = [
  { name: 'default (context ID, timestamps)', opts: {} },
  { name: 'no timestamps, no context ID', opts: { timestamps: false, contextId: false } },
  { name: 'return stack', opts: { returnStack: true } },
  { name: 'cycle counts, VMID', opts: { cycleCounts: true, vmid: true, ccThreshold: 64 } },
  { name: 'all on, timestamps every 4000 cycles, sync every 256 bytes', opts: { returnStack: true, cycleCounts: true, vmid: true, timestampInterval: 4000, syncPeriod: 8 } },
  { name: 'sync only at the start', opts: { syncPeriod: 0 } },
];

const WORKLOADS = [
  { name: 'static', spec: { workload: 'static' }, needsCid: false },
  { name: 'multiproc, distinct addresses', spec: { workload: 'multiproc', distinctAddresses: true, timerPeriod: 10_000 }, needsCid: false },
  // Processes at the same addresses: only the context ID tells their code apart.
  { name: 'multiproc, shared addresses', spec: { workload: 'multiproc', timerPeriod: 10_000 }, needsCid: true },
];

function run(machine: Machine, opts: Partial<EtmTraceOptions>): { addrs: number[]; unit: EtmTraceUnit; got: number[]; bad: string[]; ctxids: Set<number> } {
  const raw = new MemorySink();
  const truthSink = new MemorySink();
  const truth = new TruthWriter(truthSink);
  const unit = new EtmTraceUnit({ options: opts, contexts: machine.contexts, clock: machine.clock, out: raw, sync: truth });
  const exec = new Executor(machine, { sink: unit, truth, limit: INSNS });
  exec.run();
  exec.finish();
  unit.finish();
  const tables = truth.finish();
  const addrs = truthAddresses(readTruthBlocks(tables.blocks), [truthSink.bytes()]);
  const got: number[] = [];
  const bad: string[] = [];
  const ctxids = new Set<number>();
  const memory = new ImageMemory(machine.images.map((im) => ({ start: im.start, bytes: im.bytes, space: im.space })));
  const flow = new Etm4FlowDecoder(
    unit.config,
    {
      element(e: FlowElement) {
        if (e.type === Elem.INSTR_RANGE) for (let a = e.start; a < e.end; a += 4) got.push(a);
        else if (e.type === Elem.PE_CONTEXT && e.ctxidValid) ctxids.add(e.ctxid);
        else if (e.type === Elem.ADDR_NACC || e.type === Elem.I_RANGE_NOPATH || (e.type === Elem.NO_SYNC && e.reason !== 0)) bad.push(`Idx:${e.idx} elem ${e.type}`);
      },
    },
    { memory, memoryContext: spaceOfContext(machine.contexts.entries(), machine.ctxSpace), error: (e) => bad.push(`${e.code} at ${e.offset}: ${e.message}`) },
  );
  const packets = new Etm4PacketDecoder(unit.config, flow, 0);
  packets.push(raw.bytes());
  packets.end();
  flow.end();
  return { addrs, unit, got, bad, ctxids };
}

for (const w of WORKLOADS) {
  CONFIGS.forEach((c, ci) => {
    if (w.needsCid && c.opts.contextId === false) return;
    const seeds = [1 + ci, 11 + ci];
    t.test(`${w.name}, ${c.name}, seeds ${seeds.join(' ')}`, async (t) => {
      for (const seed of seeds) {
        const machine = buildMachine(buildWorkload(w.spec, seed), 'a64');
        const r = run(machine, c.opts);
        const tail = r.unit.stats.untracedTail;
        t.same(r.bad, [], `seed ${seed}: no ADDR_NACC, NOPATH, errors or lost sync`);
        let i = 0;
        while (i < r.got.length && i < r.addrs.length && r.got[i] === r.addrs[i]) i++;
        t.equal(i, r.got.length, `seed ${seed}: every decoded instruction is the truth's (first difference at ${i}: ${r.got[i]?.toString(16)} vs ${r.addrs[i]?.toString(16)})`);
        t.equal(r.got.length, r.addrs.length - tail, `seed ${seed}: ${r.addrs.length} executed, ${tail} untraceable at the end`);
        if (w.name.startsWith('multiproc')) {
          t.ok(r.unit.stats.exceptions > 0, `seed ${seed}: ${r.unit.stats.exceptions} exceptions traced`);
          if (c.opts.contextId !== false) t.ok(r.ctxids.size >= 2, `seed ${seed}: ${r.ctxids.size} processes (context IDs) decoded`);
        }
      }
    });
  });
}
