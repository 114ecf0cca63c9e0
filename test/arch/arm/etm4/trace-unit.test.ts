import t from 'tap';
import fc from 'fast-check';
import { Xfer, counterAt } from '../../../../arch/common/events.js';
import { AtomPacker } from '../../../../arch/arm/etm4/atom-packer.js';
import { ByteBuffer, MemorySink } from '../../../../arch/common/stream.js';
import { EtmTraceUnit } from '../../../../arch/arm/etm4/trace-unit.js';
import { SharedFormattedSink } from '../../../../arch/arm/etm4/trace-sink.js';
import { etmSnapshotSpec, imageFileName } from '../../../../arch/arm/etm4/trace-snapshot.js';
import { DEFAULT_ETM_TRACE_OPTIONS, etmRegisters, etmSnapshotRegisters, etmTraceConfig, resolveEtmTraceOptions } from '../../../../arch/arm/etm4/trace-config.js';
import { CLOCK, Driver, KERNEL, USER, VECTOR_IRQ, VECTOR_SVC, addressRecs, allAtoms, contexts, decode } from './trace-unit-helpers.js';

const E = Xfer;

t.test('the trace starts with A-sync, Trace Info, timestamp, Trace On and Address with Context', async (t) => {
  const d = new Driver({ timestamps: true, contextId: true });
  const { recs, errors } = d.finish();
  t.same(errors, []);
  t.same(recs.map((r) => r.type), ['ASYNC', 'TRACE_INFO', 'TIMESTAMP', 'TRACE_ON', 'ADDR_CTXT_L_64IS0']);
  t.equal(recs[2]!.ts, counterAt(CLOCK, CLOCK.timerHz, 0));
  t.same([recs[4]!.addr, recs[4]!.el, recs[4]!.cid, recs[4]!.ctxt], [USER, 0, 1000, true]);
  t.same(d.syncs, [0], 'the first A-sync is reported at offset 0');
});

t.test('atoms come out in order, E for taken and unconditional branches, N for not taken', async (t) => {
  const d = new Driver();
  const want: string[] = [];
  d.br(3, E.COND_TAKEN, USER + 0x100); want.push('E');
  d.br(2, E.COND_NOT_TAKEN); want.push('N');
  d.br(1, E.JUMP, USER + 0x200); want.push('E');
  d.br(4, E.CALL, USER + 0x800); want.push('E');
  for (let i = 0; i < 30; i++) {
    const taken = (i * 7) % 3 !== 0;
    d.br(1, taken ? E.COND_TAKEN : E.COND_NOT_TAKEN, taken ? d.pc + 0x40 : undefined);
    want.push(taken ? 'E' : 'N');
  }
  const { recs, errors } = d.finish();
  t.same(errors, []);
  t.equal(allAtoms(recs), want.join(''));
  t.equal(addressRecs(recs).length, 1, 'direct branches need no address packet');
  t.equal(d.unit.stats.atoms, want.length);
});

t.test('atom packing picks F6 for runs of E, F5/F4 patterns, F3 otherwise', async (t) => {
  const pack = (s: string): string[] => {
    const out = new ByteBuffer(64);
    const p = new AtomPacker(out);
    for (const c of s) p.add(c === 'E' ? 1 : 0);
    p.flush();
    return Array.from(out.view(), (b) => b.toString(16));
  };
  t.same(pack('EEEN'), ['e0']);
  t.same(pack('E'.repeat(24)), ['d4'], '24 E atoms in one F6');
  t.same(pack('E'.repeat(25)), ['d4', 'f7']);
  t.same(pack('EEEEEEEN'), ['e4']);
  t.same(pack('NEEEE'), ['f5']);
  t.same(pack('NNNNN'), ['d5']);
  t.same(pack('ENENE'), ['d7']);
  t.same(pack('NEEE'), ['dc']);
  t.same(pack('ENEN'), ['df']);
  t.same(pack('ENN'), ['f9']);
  t.same(pack('NE'), ['da']);
  t.same(pack('N'), ['f6']);
  t.same(pack('ENNENN'), ['f9', 'f9']);
});

t.test('any atom sequence decodes back to itself', async (t) => {
  fc.assert(
    fc.property(fc.array(fc.boolean(), { minLength: 1, maxLength: 200 }), fc.integer({ min: 0, max: 8 }), (atoms, cut) => {
      const out = new ByteBuffer(64);
      const p = new AtomPacker(out);
      atoms.forEach((a, i) => {
        p.add(a ? 1 : 0);
        if (cut && i % (cut + 3) === 0) p.flush(); // a packet that forces the atoms out
      });
      p.flush();
      const bytes = new Uint8Array([...new Uint8Array(11), 0x80, 0x01, 0x00, ...out.view()]);
      const { recs, errors } = decode(bytes, etmTraceConfig(resolveEtmTraceOptions()));
      return errors.length === 0 && allAtoms(recs) === atoms.map((a) => (a ? 'E' : 'N')).join('');
    }),
    { numRuns: 300 },
  );
});

t.test('indirect branch targets are compressed against the address history and decode exactly', async (t) => {
  const d = new Driver({ returnStack: false });
  const targets = [USER + 0x1000, USER + 0x1040, USER + 0x1000, USER + 0x40000, USER + 0x123450, KERNEL + 0x20, USER + 0x1040];
  for (const to of targets) d.br(2, E.IND_JUMP, to);
  const { recs, errors } = d.finish();
  t.same(errors, []);
  const addrs = addressRecs(recs).slice(1); // after the one of the sync
  t.same(addrs.map((r) => r.addr), targets, 'each target decodes to the address branched to');
  t.same(addrs.map((r) => r.type), ['ADDR_S_IS0', 'ADDR_S_IS0', 'ADDR_MATCH', 'ADDR_L_32IS0', 'ADDR_L_32IS0', 'ADDR_L_64IS0', 'ADDR_L_64IS0']);
  t.equal(addrs[2]!.raw, '91', 'exact match of the entry pushed two addresses ago');
  // Every address packet follows its branch's E atom.
  const kinds = recs.map((r) => r.type);
  for (let i = 0; i < kinds.length; i++) if (kinds[i]!.startsWith('ADDR') && i > 4) t.match(kinds[i - 1], /^ATOM/, `address at ${i} follows an atom packet`);
});

t.test('random indirect branches and exceptions: every address decodes exactly', async (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ n: fc.integer({ min: 1, max: 20 }), kind: fc.integer({ min: 0, max: 3 }), off: fc.integer({ min: 0, max: 0x3fffff }) }), { minLength: 1, maxLength: 60 }),
      (steps) => {
        const d = new Driver({ returnStack: false, syncPeriod: 8 });
        const want: number[] = [];
        for (const s of steps) {
          const to = (s.kind === 3 ? KERNEL : USER) + s.off * 4;
          if (s.kind === 0) { d.br(s.n, E.IND_JUMP, to); want.push(to); }
          else if (s.kind === 1) { d.br(s.n, E.COND_TAKEN, to); }
          else if (s.kind === 2) { d.br(s.n, E.IND_CALL, to); want.push(to); }
          else {
            const back = d.pc + 4 * s.n;
            d.irq(s.n, 1); want.push(back, VECTOR_IRQ);
            d.br(2, E.IRET, back, 0); want.push(back);
          }
        }
        const syncAt = new Set(d.syncs);
        const { recs, errors } = d.finish();
        if (errors.length) return false;
        // Drop the address that follows each A-sync (its Trace Info resets the history).
        const got: number[] = [];
        let afterSync = false;
        for (const r of recs) {
          if (r.type === 'ASYNC') afterSync = syncAt.has(r.index);
          else if (r.type.startsWith('ADDR')) {
            if (!afterSync) got.push(r.addr);
            afterSync = false;
          }
        }
        return JSON.stringify(got) === JSON.stringify(want);
      },
    ),
    { numRuns: 150 },
  );
});

t.test('interrupts: Exception IRQ, the preferred return address, then the vector with the new context', async (t) => {
  const d = new Driver({ contextId: true });
  d.br(3, E.COND_TAKEN, USER + 0x80);
  d.irq(5, 1); // 5 instructions ran; the 6th (at USER+0x94) did not
  d.br(4, E.IRET, USER + 0x94, 0);
  d.br(1, E.COND_NOT_TAKEN);
  const { recs, errors } = d.finish();
  t.same(errors, []);
  const after = recs.slice(5).map((r) => r.type);
  t.same(after, ['ATOM_F1', 'EXCEPT', 'ADDR_S_IS0', 'ADDR_CTXT_L_64IS0', 'ATOM_F1', 'ADDR_CTXT_L_64IS0', 'EXCEPT_RTN', 'ATOM_F1']);
  const r = recs.slice(5);
  t.equal(r[1]!.exc, 0x0e, 'IRQ');
  t.equal(r[2]!.addr, USER + 0x94, 'preferred return address = first instruction not executed');
  t.same([r[3]!.addr, r[3]!.el, r[3]!.cid], [VECTOR_IRQ, 1, 1000], 'vector address, EL1');
  t.same([r[4]!.atoms, r[5]!.addr, r[5]!.el], ['E', USER + 0x94, 0], 'ERET: E atom, then the target back in EL0');
  t.same(allAtoms(recs), 'EEN');
});

t.test('SVC is an exception (type Call) with return address `next`, not a waypoint', async (t) => {
  const d = new Driver();
  d.br(6, E.SYSCALL, VECTOR_SVC, 1);
  const ret = USER + 6 * 4;
  d.br(3, E.IND_CALL, KERNEL + 0x2000);
  d.br(2, E.RETURN, VECTOR_SVC + 12);
  d.br(2, E.SYSRET, ret, 0);
  const { recs, errors } = d.finish();
  t.same(errors, []);
  const exc = recs.findIndex((r) => r.type === 'EXCEPT');
  t.equal(recs[exc]!.exc, 0x02, 'Call');
  t.equal(recs[exc + 1]!.addr, ret);
  t.same([recs[exc + 2]!.type, recs[exc + 2]!.addr, recs[exc + 2]!.el], ['ADDR_CTXT_L_64IS0', VECTOR_SVC, 1]);
  t.equal(allAtoms(recs), 'EEE', 'BLR, RET and ERET are the only waypoints');
  t.equal(d.unit.stats.exceptions, 1);
});

t.test('context: a CONTEXTIDR write goes out with the next address; unchanged contexts are not repeated', async (t) => {
  const d = new Driver({ contextId: true });
  d.irq(4, 1);
  d.switchTo(3, 3); // kernel now runs for process 1001
  d.br(2, E.COND_TAKEN, VECTOR_IRQ + 0x100);
  d.br(2, E.IRET, USER + 0x300, 2);
  d.br(2, E.IND_JUMP, USER + 0x500);
  const { recs, errors } = d.finish();
  t.same(errors, []);
  const ctx = recs.filter((r) => r.type.startsWith('ADDR_CTXT'));
  t.same(ctx.map((r) => [r.el, r.cid]), [[0, 1000], [1, 1000], [0, 1001]]);
  t.equal(addressRecs(recs).at(-1)!.type, 'ADDR_S_IS0', 'same context: a plain (short) address');

  // Without context ID tracing a CONTEXTIDR write changes nothing that is traced.
  const q = new Driver({ contextId: false });
  q.irq(4, 1).switchTo(3, 3).br(2, E.IRET, USER + 0x300, 2);
  const r2 = q.finish().recs.filter((r) => r.type.startsWith('ADDR_CTXT'));
  t.same(r2.map((r) => [r.el, r.cid]), [[0, 0], [1, 0], [0, 0]]);
});

t.test('return stack: a return to the address on top of the stack has no address packet', async (t) => {
  for (const rs of [false, true]) {
    const d = new Driver({ returnStack: rs });
    d.br(3, E.CALL, USER + 0x1000);
    const ret1 = USER + 12;
    d.br(2, E.IND_CALL, USER + 0x2000);
    d.br(4, E.RETURN, USER + 0x1000 + 8);
    d.br(1, E.RETURN, ret1);
    d.br(1, E.RETURN, USER + 0x5000); // not on the stack
    const { recs, errors } = d.finish();
    t.same(errors, []);
    const addrs = addressRecs(recs).slice(1).map((r) => r.addr);
    t.same(addrs, rs ? [USER + 0x2000, USER + 0x5000] : [USER + 0x2000, USER + 0x1008, ret1, USER + 0x5000], `return stack ${rs ? 'on' : 'off'}`);
    t.equal(d.unit.stats.returnStackHits, rs ? 2 : 0);
    t.equal(allAtoms(recs), 'EEEEE');
  }
});

t.test('A-sync + Trace Info every 2^syncPeriod bytes, each followed by the next address', async (t) => {
  const d = new Driver({ syncPeriod: 8, timestamps: true });
  const nextAddr: number[] = [];
  let prevSyncs = 1;
  for (let i = 0; i < 400; i++) {
    d.br(3, E.IND_JUMP, USER + ((i * 0x1234) % 0x100000) * 4);
    if (d.syncs.length > prevSyncs) {
      nextAddr.push(d.pc);
      prevSyncs = d.syncs.length;
    }
  }
  const { recs, errors } = d.finish();
  t.same(errors, []);
  const asyncs = recs.filter((r) => r.type === 'ASYNC').map((r) => r.index);
  t.same(asyncs, d.syncs, 'the SyncSink is told each A-sync offset');
  t.ok(asyncs.length > 5, `${asyncs.length} sync points`);
  for (let i = 1; i < asyncs.length; i++) {
    const gap = asyncs[i]! - asyncs[i - 1]!;
    t.ok(gap >= 256 && gap < 256 + 40, `sync ${i} after ${gap} bytes`);
  }
  for (let i = 1; i < asyncs.length; i++) {
    const k = recs.findIndex((r) => r.index === asyncs[i] && r.type === 'ASYNC');
    t.same(recs.slice(k, k + 4).map((r) => r.type), ['ASYNC', 'TRACE_INFO', 'TIMESTAMP', 'ADDR_CTXT_L_64IS0']);
    t.equal(recs[k + 3]!.addr, nextAddr[i - 1], 'the address where execution continues');
  }
});

t.test('timestamps: the generic timer at sync points and every timestampInterval cycles, monotonic', async (t) => {
  const d = new Driver({ timestamps: true, timestampInterval: 1000, syncPeriod: 0 });
  const cycles: number[] = [];
  for (let i = 0; i < 50; i++) {
    d.wait(97 + (i % 7) * 50);
    d.br(5, E.COND_TAKEN, d.pc + 64);
    cycles.push(d.cycle);
  }
  const { recs, errors } = d.finish();
  t.same(errors, []);
  const ts = recs.filter((r) => r.type === 'TIMESTAMP').map((r) => r.ts);
  t.ok(ts.length >= 10, `${ts.length} timestamps`);
  for (let i = 1; i < ts.length; i++) t.ok(ts[i]! > ts[i - 1]!, `timestamp ${i} increases`);
  const possible = new Set([0, ...cycles].map((c) => counterAt(CLOCK, CLOCK.timerHz, c)));
  t.ok(ts.every((v) => possible.has(v)), 'every timestamp is the timer at the cycle of an event');

  const off = new Driver({ timestamps: false }).finish().recs;
  t.notOk(off.some((r) => r.type === 'TIMESTAMP'), 'none when TRCCONFIGR.TS is clear');
});

t.test('cycle counts: each at least the threshold, and together they account for every cycle', async (t) => {
  const d = new Driver({ cycleCounts: true, ccThreshold: 20, timestamps: true, timestampInterval: 700, syncPeriod: 8 });
  for (let i = 0; i < 300; i++) {
    d.wait(i % 11 === 0 ? 5000 : i % 3);
    d.br(1 + (i % 5), i % 4 === 0 ? E.IND_JUMP : E.COND_TAKEN, USER + (i % 97) * 0x40);
  }
  const endCycle = d.cycle;
  const { recs, errors } = d.finish();
  t.same(errors, []);
  const tinfo = recs.find((r) => r.type === 'TRACE_INFO')!;
  t.match(tinfo.raw, /^0109/, 'Trace Info carries INFO (CC enabled) and CYCT sections');
  const ccs = recs.filter((r) => r.type.startsWith('CCNT'));
  t.ok(ccs.length > 50, `${ccs.length} cycle-count packets`);
  t.ok(ccs.every((r) => r.cc >= 20), 'no count below the threshold');
  t.ok(new Set(ccs.map((r) => r.type)).size === 3, 'all three formats used');
  const fromTs = recs.filter((r) => r.type === 'TIMESTAMP' && r.ccValid).reduce((s, r) => s + r.cc, 0);
  const total = ccs.reduce((s, r) => s + r.cc, 0) + fromTs;
  t.ok(total <= endCycle && total > endCycle - 20, `cycle counts sum to ${total} of ${endCycle} cycles`);
  // Each cycle count follows an atom packet (it counts up to that P0 element).
  for (const c of ccs) {
    const i = recs.indexOf(c);
    t.match(recs[i - 1]!.type, /^(ATOM|ADDR|EXCEPT)/);
  }
});

t.test('output goes to the ChunkSink in bounded chunks; finish ends it once', async (t) => {
  const chunks: number[] = [];
  let ends = 0;
  const unit = new EtmTraceUnit({
    options: { syncPeriod: 10 },
    contexts: contexts(),
    clock: CLOCK,
    out: { write: (c) => chunks.push(c.length), end: () => ends++ },
    chunkSize: 256,
  });
  unit.begin(0, USER, 0);
  let pc = USER;
  for (let i = 0; i < 5000; i++) {
    unit.block(pc, 3, 0, i * 3);
    const to = USER + ((i * 0x4567) % 0x10000) * 4;
    unit.branch(E.IND_JUMP, pc + 8, pc + 12, to, 0, i * 3 + 3);
    pc = to;
  }
  unit.end(pc, 15000);
  unit.finish();
  unit.finish();
  t.equal(ends, 1);
  t.ok(chunks.length > 10);
  t.ok(chunks.every((n) => n <= 256 + 64), 'no chunk much larger than chunkSize');
  t.equal(chunks.reduce((a, b) => a + b, 0), unit.stats.bytes);
  t.equal(unit.stats.instructions, 15000);
});

t.test('untracedTail counts the instructions after the last P0 element', async (t) => {
  const d = new Driver();
  d.br(4, E.COND_TAKEN, USER + 0x40);
  d.finish(7);
  t.equal(d.unit.stats.untracedTail, 7);
});

t.test('options: defaults, register values, refusals naming the field', async (t) => {
  const o = resolveEtmTraceOptions();
  t.same(o, DEFAULT_ETM_TRACE_OPTIONS);
  const regs = etmRegisters(resolveEtmTraceOptions({ cycleCounts: true, returnStack: true, vmid: true, contextId: true, timestamps: true, traceId: 0x22 }));
  t.equal(regs.TRCCONFIGR, 0x18d1, 'CCI | CID | VMID | TS | RS | RES1');
  t.equal(regs.TRCTRACEIDR, 0x22);
  const cfg = etmTraceConfig(resolveEtmTraceOptions({ cycleCounts: true, returnStack: true }));
  t.same([cfg.cycleCounting, cfg.returnStack, cfg.commitOpt1, cfg.maxSpec, cfg.cidBytes, cfg.vmidBytes, cfg.ccSize, cfg.tsSize, cfg.vaSize], [true, true, true, 0, 4, 1, 20, 64, 64]);
  const ini = etmSnapshotRegisters(resolveEtmTraceOptions({ syncPeriod: 9 }));
  t.equal(ini['TRCCONFIGR(0x004)'], 0x841);
  t.equal(ini['TRCSYNCPR(0x00D)'], 9);
  t.throws(() => resolveEtmTraceOptions({ syncPeriod: 5 }), /syncPeriod/);
  t.throws(() => resolveEtmTraceOptions({ traceId: 0x70 }), /traceId/);
  t.throws(() => resolveEtmTraceOptions({ ccThreshold: 0 }), /ccThreshold/);
  t.throws(() => resolveEtmTraceOptions({ bogus: 1 } as never), /unknown ETM trace option 'bogus'/);
  t.throws(() => new EtmTraceUnit({ contexts: { get: () => ({ arch: 'x86', cr3: 0, vmcs: 0, nr: false, cpl: 0, mode: 64 }) }, clock: CLOCK, out: new MemorySink() }).begin(0, USER, 0), /not an Arm context/);
});

t.test('decode() helper sanity: a hand-written stream', async (t) => {
  const cfg = etmTraceConfig(resolveEtmTraceOptions());
  const { recs } = decode(new Uint8Array([...new Uint8Array(11), 0x80, 0x01, 0x01, 0x00, 0xf7]), cfg);
  t.same(recs.map((r) => r.type), ['ASYNC', 'TRACE_INFO', 'ATOM_F1']);
});

t.test('snapshot spec: one core + ETM device per source, images on the first core, refusals', async (t) => {
  const o = resolveEtmTraceOptions({ traceId: 0x12 });
  const images = [{ start: USER, bytes: new Uint8Array(64) }, { start: KERNEL, bytes: new Uint8Array(32) }];
  const spec = etmSnapshotSpec({ images, sources: [o], trace: new Uint8Array(16), format: 'source_data' });
  t.same(spec.devices.map((d) => [d.name, d.class, d.type]), [['cpu_0', 'core', 'Cortex-A53'], ['etm_0', 'trace_source', 'ETM4']]);
  t.same(spec.devices[0]!.dumps!.map((d) => [d.file, d.address]), [['image-0000000000400000.bin', USER], ['image-ffff800010001000.bin', KERNEL]]);
  t.equal(spec.devices[1]!.regs!['TRCTRACEIDR(0x010)'], 0x12);
  t.same([spec.sourceBuffers, spec.coreSources], [[['etm_0', 'ETB_0']], [['cpu_0', 'etm_0']]]);
  t.equal(imageFileName(-1), 'image-ffffffffffffffff.bin');
  const two = [o, resolveEtmTraceOptions({ traceId: 0x13 })];
  t.throws(() => etmSnapshotSpec({ images, sources: two, trace: new Uint8Array(0), format: 'source_data' }), /use format=coresight/);
  t.equal(etmSnapshotSpec({ images, sources: two, trace: new Uint8Array(0), format: 'coresight' }).devices.length, 4);
  t.throws(() => etmSnapshotSpec({ images, sources: [o, o], trace: new Uint8Array(0), format: 'coresight' }), /same trace ID/);
  t.throws(() => etmSnapshotSpec({ images: [...images, { start: USER + 32, bytes: new Uint8Array(8) }], sources: [o], trace: new Uint8Array(0), format: 'source_data' }), /overlap/);
});

t.test('shared formatted sink: sources interleave in whole frames, the output ends after the last source', async (t) => {
  const out = new MemorySink();
  const shared = new SharedFormattedSink(out, 32);
  const a = shared.source(0x10);
  const b = shared.source(0x11);
  t.throws(() => shared.source(0x10), /already has a sink/);
  t.throws(() => shared.source(0x70), /not 0x01..0x6f/);
  for (let i = 0; i < 20; i++) {
    a.write(new Uint8Array([1, 2, 3, i]));
    b.write(new Uint8Array([9, 8, i]));
  }
  a.end();
  t.notOk(out.ended, 'still open while a source is');
  b.end();
  t.ok(out.ended);
  const bytes = out.bytes();
  t.equal(bytes.length % 16, 0, 'whole frames');
  t.ok(bytes.length >= (20 * 7 * 16) / 15, 'every byte is in a frame');
  t.ok(bytes.includes((0x10 << 1) | 1) && bytes.includes((0x11 << 1) | 1), 'both ID bytes appear');
});
