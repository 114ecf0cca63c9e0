import t from 'tap';
import { Decoder, DecoderOptions } from 'iced-x86';
import type { ArmContext, X86Context } from '../../arch/common/context.js';
import { toRip } from '../../arch/x86/isa/encode.js';
import { Executor } from '../../sim/exec/executor.js';
import { ALL_SPACES, ImageCodeView } from '../../sim/images.js';
import { KERNEL_BASE, USER_BASE, USER_STRIDE, buildMachine, x86Cr3 } from '../../sim/machine.js';
import { Ev, EV_WIDTH, RecordingSink, TeeSink } from '../../sim/sinks.js';
import { FIRST_PID } from '../../sim/system.js';
import { buildWorkload } from '../../sim/workloads/index.js';
import { CheckingSink } from './helpers.js';

const spec = { workload: 'multiproc', processes: 4, timerPeriod: 15000 };
const model = buildWorkload(spec, 11);

t.test('each process has its own user and kernel context (CR3 / CONTEXTIDR, CPL / EL)', async (t) => {
  const x = buildMachine(model, 'x86');
  const a = buildMachine(model, 'a64');
  t.equal(x.contexts.size, 8);
  for (let p = 0; p < 4; p++) {
    const u = x.contexts.get(x.userCtx[p]!) as X86Context;
    const k = x.contexts.get(x.kernelCtx[p]!) as X86Context;
    t.same([u.cr3, u.cpl, k.cr3, k.cpl, u.mode], [x86Cr3(p), 3, x86Cr3(p), 0, 64]);
    const au = a.contexts.get(a.userCtx[p]!) as ArmContext;
    const ak = a.contexts.get(a.kernelCtx[p]!) as ArmContext;
    t.same([au.contextId, au.el, ak.contextId, ak.el, au.sf, au.security], [FIRST_PID + p, 0, FIRST_PID + p, 1, true, 'nonsecure']);
    t.equal(x.ctxSpace[x.userCtx[p]!], p);
    t.equal(x.ctxSpace[x.kernelCtx[p]!], p);
  }
  t.equal(new Set(Array.from({ length: 4 }, (_, p) => x86Cr3(p))).size, 4, 'distinct CR3 values');
});

t.test('by default processes share user addresses with different bytes', async (t) => {
  for (const isa of ['x86', 'a64'] as const) {
    const m = buildMachine(model, isa);
    const users = m.images.filter((im) => im.space !== ALL_SPACES);
    t.equal(users.length, 4);
    for (const im of users) t.equal(im.start, USER_BASE);
    for (let i = 1; i < users.length; i++) t.not(Buffer.from(users[i]!.bytes).toString('hex'), Buffer.from(users[0]!.bytes).toString('hex'), `${isa}: ${users[i]!.name} differs from ${users[0]!.name}`);
    const kernel = m.images.filter((im) => im.space === ALL_SPACES);
    t.same(kernel.map((k) => k.start), [KERNEL_BASE[isa]], 'one kernel image, mapped in every space');
    t.same(m.images.map((im) => im.id), m.images.map((_, i) => i), 'image id = index = code version');
  }
});

t.test('the distinctAddresses option gives each process its own range', async (t) => {
  const m = buildMachine(buildWorkload({ ...spec, distinctAddresses: true }, 11), 'a64');
  const users = m.images.filter((im) => im.space !== ALL_SPACES).sort((a, b) => a.start - b.start);
  t.same(users.map((u) => u.start), [0, 1, 2, 3].map((p) => USER_BASE + p * USER_STRIDE));
  for (let i = 1; i < users.length; i++) t.ok(users[i - 1]!.start + users[i - 1]!.bytes.length <= users[i]!.start, 'no overlap');
});

t.test('the scheduler runs every process in turn; the same address runs different code per context', async (t) => {
  const m = buildMachine(model, 'x86');
  const rec = new RecordingSink();
  const check = new CheckingSink(m, true);
  const ex = new Executor(m, { sink: new TeeSink([rec, check]), limit: 400_000 });
  ex.run();
  ex.finish();
  t.same(check.r.errors, []);
  // Context switches go round-robin through the processes' kernel contexts.
  const log = rec.log();
  const switched: number[] = [];
  for (let i = 0; i < log.length; i += EV_WIDTH) if (log[i] === Ev.CONTEXT) switched.push(log[i + 3]!);
  t.ok(switched.length >= 8, `${switched.length} switches`);
  // Each switch is reported at a MOV CR3 in the kernel (what Intel PT answers with a PIP).
  const kview = new ImageCodeView(m.images, m.ctxSpace);
  const bytes = new Uint8Array(15);
  for (let i = 0; i < log.length; i += EV_WIDTH) {
    if (log[i] !== Ev.CONTEXT) continue;
    kview.read(log[i + 3]!, 0, log[i + 1]!, bytes);
    const d = new Decoder(64, bytes, DecoderOptions.None);
    d.ip = toRip(log[i + 1]!);
    const ins = d.decode();
    if (!/^mov cr3,/.test(ins.toString()) || Number(BigInt.asIntN(64, ins.nextIP)) !== log[i + 2]) t.fail(`switch at ${ins.toString()}`);
    ins.free();
    d.free();
  }
  switched.forEach((ctx, i) => {
    if (ctx !== m.kernelCtx[(i + 1) % 4]) t.fail(`switch ${i} to context ${ctx}`);
  });
  // Every process executed user code; some address ran in two processes with different bytes there.
  const view = new ImageCodeView(m.images, m.ctxSpace);
  const byAddr = new Map<number, Set<number>>();
  const { addresses, contexts } = check.r;
  const users = new Set<number>();
  for (let i = 0; i < addresses.length; i++) {
    const ctx = contexts[i]!;
    if (m.kernelCtx.includes(ctx)) continue;
    users.add(ctx);
    let s = byAddr.get(addresses[i]!);
    if (!s) byAddr.set(addresses[i]!, (s = new Set()));
    s.add(ctx);
  }
  t.equal(users.size, 4, 'all four processes ran user code');
  let differing = 0;
  const a = new Uint8Array(15), b = new Uint8Array(15);
  for (const [addr, ctxs] of byAddr) {
    if (ctxs.size < 2) continue;
    const [c1, c2] = [...ctxs];
    view.read(c1!, 0, addr, a);
    view.read(c2!, 0, addr, b);
    if (Buffer.compare(a, b) !== 0) differing++;
  }
  t.ok(differing > 50, `${differing} addresses executed in several processes hold different bytes`);
  // Decoding each executed block from its context's image reproduces the block's extent: the
  // branch that follows it is at the last decoded instruction.
  const buf = new Uint8Array(4096);
  const endsAtBranch = (ctx: number, start: number, count: number, from: number, next: number): boolean => {
    const n = view.read(ctx, 0, start, buf);
    const d = new Decoder(64, buf.subarray(0, n), DecoderOptions.None);
    d.ip = toRip(start);
    let lastIp = 0n;
    let nextIp = 0n;
    for (let k = 0; k < count && d.canDecode; k++) {
      const ins = d.decode();
      lastIp = ins.ip;
      nextIp = ins.nextIP;
      ins.free();
    }
    d.free();
    return lastIp === toRip(from) && nextIp === toRip(next);
  };
  let mismatches = 0;
  let wrongContextMismatches = 0;
  let checked = 0;
  for (let i = 0; i + EV_WIDTH < log.length && checked < 20000; i += EV_WIDTH) {
    if (log[i] !== Ev.BLOCK || log[i + EV_WIDTH] !== Ev.BRANCH) continue;
    const [start, count, ctx] = [log[i + 1]!, log[i + 2]!, log[i + 3]!];
    const [from, next] = [log[i + EV_WIDTH + 2]!, log[i + EV_WIDTH + 3]!];
    if (!endsAtBranch(ctx, start, count, from, next)) mismatches++;
    // Control: the image of the next process, at the same address, does not match.
    const p = m.ctxSpace[ctx]!;
    if (!m.kernelCtx.includes(ctx) && !endsAtBranch(m.userCtx[(p + 1) % 4]!, start, count, from, next)) wrongContextMismatches++;
    checked++;
  }
  t.ok(checked > 1000, `${checked} blocks decoded`);
  t.equal(mismatches, 0, 'blocks decoded from the context\'s image end at the reported branch');
  t.ok(wrongContextMismatches > checked / 4, `decoding with another process's image goes wrong (${wrongContextMismatches} blocks)`);
});

t.test('ImageCodeView reads per context and time, 0 when unmapped', async (t) => {
  const m = buildMachine(model, 'a64');
  const view = new ImageCodeView(m.images, m.ctxSpace);
  const out = new Uint8Array(8);
  t.equal(view.read(m.userCtx[1]!, 0, USER_BASE, out), 8);
  t.same(out, m.images[2]!.bytes.subarray(0, 8), 'process 1 sees its own image');
  t.equal(view.read(m.userCtx[2]!, 5, KERNEL_BASE.a64, out), 8, 'the kernel is mapped in every context');
  t.equal(view.read(m.userCtx[0]!, 0, 0x1000, out), 0, 'unmapped');
  t.equal(view.read(99, 0, USER_BASE, out), 0, 'unknown context');
  const end = m.images[1]!.start + m.images[1]!.bytes.length;
  t.equal(view.read(m.userCtx[0]!, 0, end - 3, out), 3, 'reads stop at the end of the image');
  const timed = new ImageCodeView([{ ...m.images[1]!, validFrom: 100, validTo: 200 }], m.ctxSpace);
  t.equal(timed.read(m.userCtx[0]!, 99, USER_BASE, out), 0, 'before the version exists');
  t.equal(timed.read(m.userCtx[0]!, 150, USER_BASE, out), 8);
  t.equal(timed.read(m.userCtx[0]!, 200, USER_BASE, out), 0, 'after it was replaced');
});
