// The PT trace unit on small hand-built event sequences: each test drives the ExecSink methods
// directly and reads the packets back with the project's packet decoder, with full IPs rebuilt
// through the last-IP rules, so the assertions are about packets as a decoder sees them.

import t, { type Test } from 'tap';
import { formatAddr0x, parseAddr } from '../../../../arch/common/address.js';
import { ContextTable, type X86Context } from '../../../../arch/common/context.js';
import type { DecodeError } from '../../../../arch/common/errors.js';
import { type ClockConfig, type SyncSink, Xfer, Cause } from '../../../../arch/common/events.js';
import { MemorySink } from '../../../../arch/common/stream.js';
import { PtLastIp } from '../../../../arch/x86/pt/last-ip.js';
import {
  IPC_SUPPRESSED, PT_CBR, PT_CYC, PT_FUP, PT_MODE_EXEC, PT_MTC, PT_PIP, PT_PSB, PT_TIP, PT_TIP_PGD, PT_TIP_PGE,
  PT_TMA, PT_TNT_8, PT_TSC, PT_VMCS, PT_MNEMONICS,
} from '../../../../arch/x86/pt/opcodes.js';
import { PtPacket } from '../../../../arch/x86/pt/packet.js';
import { decodeAll } from '../../../../arch/x86/pt/run.js';
import { PT_RETURN_STACK_SIZE } from '../../../../arch/x86/pt/return-stack.js';
import { PtCounter, ptCpuid15 } from '../../../../arch/x86/pt/trace-clock.js';
import { resolvePtTraceConfig, type PtTraceOptions } from '../../../../arch/x86/pt/trace-config.js';
import { PtTraceUnit } from '../../../../arch/x86/pt/trace-unit.js';

const clock: ClockConfig = { coreHz: 3_000_000_000, tscHz: 2_400_000_000, crystalHz: 24_000_000, timerHz: 50_000_000, timeBase: 0x10000000 };
const contexts = new ContextTable();
const x86 = (cr3: number, cpl: number, extra: Partial<X86Context> = {}): number =>
  contexts.intern({ arch: 'x86', cr3, vmcs: 0, nr: false, cpl, mode: 64, ...extra });
const U1 = x86(0x1000, 3);
const K1 = x86(0x1000, 0);
const U2 = x86(0x2000, 3);
const K2 = x86(0x2000, 0);
const GUEST = x86(0x3000, 3, { nr: true, vmcs: 0x5000 });
const system = { clock, contexts };

const KERNEL = parseAddr('0xffffffff81000000');
const h = (a: number): string => formatAddr0x(a);

/** One decoded packet, with its full IP where it has one. */
interface Seen {
  p: PtPacket;
  ip: number;
}

class Syncs implements SyncSink {
  offsets: number[] = [];
  sync(stream: number, offset: number): void {
    if (stream === 0) this.offsets.push(offset);
  }
}

function run(options: PtTraceOptions, drive: (u: PtTraceUnit) => void): { bytes: Uint8Array; seen: Seen[]; syncs: number[]; unit: PtTraceUnit; chunks: number } {
  const out = new MemorySink();
  let chunks = 0;
  const counting = { write: (c: Uint8Array) => { chunks++; out.write(c); }, end: () => out.end() };
  const syncs = new Syncs();
  const unit = new PtTraceUnit(system, options, counting, syncs);
  drive(unit);
  unit.finish();
  const bytes = out.bytes();
  const last = new PtLastIp();
  const seen: Seen[] = [];
  for (const x of decodeAll(bytes)) {
    if (!(x instanceof PtPacket)) throw new Error(`decode error ${(x as DecodeError).code} at ${(x as DecodeError).offset}`);
    if (x.type === PT_PSB) last.reset();
    let ip = Number.NaN;
    if (x.type === PT_FUP || x.type === PT_TIP || x.type === PT_TIP_PGE || x.type === PT_TIP_PGD) {
      last.update(x.ipc, x.lo, x.hi);
      ip = x.ipc === IPC_SUPPRESSED ? Number.NaN : last.ip;
    }
    seen.push({ p: x, ip });
  }
  if (!out.ended) throw new Error('finish did not end the output');
  return { bytes, seen, syncs: syncs.offsets, unit, chunks };
}

/** Packets as short strings; timing packets only when asked. */
function show(seen: Seen[], timing = false): string[] {
  const out: string[] = [];
  for (const { p, ip } of seen) {
    const m = PT_MNEMONICS[p.type]!;
    switch (p.type) {
      case PT_TNT_8: out.push(`tnt ${p.lo.toString(2).padStart(p.bits, '0')}`); break;
      case PT_FUP: case PT_TIP: case PT_TIP_PGE: case PT_TIP_PGD: out.push(`${m} ${ip === ip ? h(ip) : '-'}`); break;
      case PT_PIP: out.push(`pip ${p.cr3.toString(16)}${p.nr ? ' nr' : ''}`); break;
      case PT_MODE_EXEC: out.push(`mode.exec ${p.csl ? 64 : p.csd ? 32 : 16}`); break;
      case PT_VMCS: out.push(`vmcs ${p.vmcs.toString(16)}`); break;
      case PT_CBR: if (timing) out.push(`cbr ${p.ratio}`); break;
      case PT_TSC: case PT_TMA: case PT_MTC: case PT_CYC: if (timing) out.push(m); break;
      default: out.push(m);
    }
  }
  return out;
}

/** What follows the first PSB+. */
function afterStart(list: string[]): string[] {
  return list.slice(list.indexOf('psbend') + 1);
}

const A = 0x401000;

t.test('TNT: oldest branch in the most significant bit, six per TNT-8, flushed before a TIP', async (t) => {
  const r = run({}, (u) => {
    u.begin(U1, A, 0);
    const bits = [1, 0, 1, 1, 0, 0, 1, 1, 1];
    let c = 1;
    for (const b of bits) u.branch(b ? Xfer.COND_TAKEN : Xfer.COND_NOT_TAKEN, A, A + 2, b ? A + 0x40 : A + 2, U1, c++);
    u.branch(Xfer.IND_JUMP, A + 2, A + 5, A + 0x800, U1, c++);
    u.branch(Xfer.COND_TAKEN, A + 0x800, A + 0x802, A + 0x900, U1, c++);
    u.end(A + 0x900, c);
  });
  t.same(show(r.seen), [
    'psb', 'pip 1000', 'mode.exec 64', 'psbend', 'mode.exec 64', `tip.pge ${h(A)}`,
    'tnt 101100', 'tnt 111', `tip ${h(A + 0x800)}`, 'tnt 1', `fup ${h(A + 0x900)}`, 'tip.pgd -',
  ]);
  t.same(r.syncs, [0], 'the first PSB is at offset 0 and reported');
});

t.test('returns: compressed only when the target is on top of the call stack', async (t) => {
  const calls = (u: PtTraceUnit): void => {
    u.begin(U1, A, 0);
    u.branch(Xfer.CALL, A, A + 5, 0x402000, U1, 1); // push A+5
    u.branch(Xfer.IND_CALL, 0x402000, 0x402003, 0x403000, U1, 2); // push 0x402003
    u.branch(Xfer.RETURN, 0x403000, 0x403001, 0x402003, U1, 3); // matches: one taken bit
    u.branch(Xfer.RETURN, 0x402010, 0x402011, 0x405000, U1, 4); // A+5 on top, target differs: TIP, no pop
    u.branch(Xfer.RETURN, 0x405010, 0x405011, A + 5, U1, 5); // A+5 still on top: compressed
    u.branch(Xfer.RETURN, A + 0x10, A + 0x11, 0x406000, U1, 6); // empty stack: TIP
    u.branch(Xfer.CALL, 0x406000, 0x406005, 0x406005, U1, 7); // call to the next instruction: not pushed
    u.branch(Xfer.RETURN, 0x406005, 0x406006, 0x406005, U1, 8); // so this return is a TIP
    u.end(0x406005, 9);
  };
  t.same(afterStart(show(run({}, calls).seen)), [
    'mode.exec 64', `tip.pge ${h(A)}`,
    `tip ${h(0x403000)}`, 'tnt 1', `tip ${h(0x405000)}`, 'tnt 1', `tip ${h(0x406000)}`, `tip ${h(0x406005)}`,
    `fup ${h(0x406005)}`, 'tip.pgd -',
  ]);
  t.same(afterStart(show(run({ disRetc: true }, calls).seen)), [
    'mode.exec 64', `tip.pge ${h(A)}`,
    `tip ${h(0x403000)}`, `tip ${h(0x402003)}`, `tip ${h(0x405000)}`, `tip ${h(A + 5)}`, `tip ${h(0x406000)}`,
    `tip ${h(0x406005)}`, `fup ${h(0x406005)}`, 'tip.pgd -',
  ], 'DisRETC: every return is a TIP');
});

t.test('the return stack holds 64 entries and drops the oldest', async (t) => {
  const depth = PT_RETURN_STACK_SIZE + 1;
  const r = run({}, (u) => {
    u.begin(U1, A, 0);
    let c = 1;
    for (let i = 0; i < depth; i++) u.branch(Xfer.CALL, A + i * 16, A + i * 16 + 5, A + (i + 1) * 16, U1, c++);
    for (let i = depth - 1; i >= 0; i--) u.branch(Xfer.RETURN, 0x500000, 0x500001, A + i * 16 + 5, U1, c++);
    u.end(A + 5, c);
  });
  const l = afterStart(show(r.seen));
  const bits = l.filter((s) => s.startsWith('tnt')).map((s) => s.slice(4)).join('');
  t.equal(bits, '1'.repeat(PT_RETURN_STACK_SIZE), '64 compressed returns');
  t.same(l.filter((s) => s.startsWith('tip ')), [`tip ${h(A + 5)}`], 'the oldest call was dropped: its return is a TIP');
});

t.test('PSB+: status contents, periodicity, the stack emptied, sync offsets', async (t) => {
  const r = run({ psbFreq: 2048, tscEn: true, mtcEn: true }, (u) => {
    u.begin(U1, A, 0);
    u.branch(Xfer.CALL, A, A + 5, 0x402000, U1, 1);
    let c = 2;
    // Indirect jumps with far-apart targets make 6-7 bytes each, to cross several PSB periods.
    for (let i = 0; i < 2000; i++) u.branch(Xfer.IND_JUMP, 0x402000, 0x402002, i % 2 ? 0x402000 : 0x7f0000402000, U1, (c += 10));
    u.branch(Xfer.RETURN, 0x402000, 0x402001, A + 5, U1, (c += 10));
    u.end(A + 5, c + 10);
  });
  const psbAt: number[] = [];
  r.seen.forEach(({ p }) => { if (p.type === PT_PSB) psbAt.push(p.offset); });
  t.same(r.syncs, psbAt, 'every PSB is reported at its offset');
  t.ok(psbAt.length >= 5, `${psbAt.length} PSBs`);
  for (let i = 1; i < psbAt.length; i++) {
    const gap = psbAt[i]! - psbAt[i - 1]!;
    t.ok(gap >= 2048 && gap < 2048 + 64, `PSB ${i} follows ${gap} bytes after the previous one`);
  }
  const all = show(r.seen, true);
  const second = all.indexOf('psb', 1);
  const before = all[second - 1]!;
  t.match(before, /^tip /, 'the PSB follows the event that filled the period');
  t.same(all.slice(second, all.indexOf('psbend', second) + 1), ['psb', 'tsc', 'tma', 'cbr 30', 'pip 1000', 'mode.exec 64', before.replace('tip', 'fup'), 'psbend'],
    'PSB+ carries the time, the ratio, CR3, the mode and the next IP');
  const l = show(r.seen);
  t.equal(l.at(-3), `tip ${h(A + 5)}`, 'the return after a PSB is not compressed: its call came before the PSB');
});

t.test('PSB+ when packets are off has no FUP; in a guest it has VMCS and PIP.NR', async (t) => {
  const r = run({ psbFreq: 2048, os: false }, (u) => {
    u.begin(K1, KERNEL, 0);
    let c = 1;
    for (let i = 0; i < 600; i++) u.contextSwitch(KERNEL, KERNEL + 3, i % 2 ? K1 : K2, c++);
    u.branch(Xfer.IRET, KERNEL + 3, KERNEL + 5, A, U1, c++);
    u.end(A, c);
  });
  const l = show(r.seen);
  t.same(l.slice(0, 4), ['psb', 'pip 1000', 'mode.exec 64', 'psbend'], 'started in the kernel with OS=0: no TIP.PGE, no FUP');
  const second = l.indexOf('psb', 1);
  t.ok(second > 0, 'PIPs alone fill the buffer up to the next PSB');
  t.same(l.slice(second + 2, second + 4), ['mode.exec 64', 'psbend'], 'no FUP while tracing is disabled');
  t.same(l.slice(-4), ['mode.exec 64', `tip.pge ${h(A)}`, `fup ${h(A)}`, 'tip.pgd -']);

  const g = run({}, (u) => {
    u.begin(GUEST, A, 0);
    u.end(A, 1);
  });
  t.same(show(g.seen).slice(0, 5), ['psb', 'vmcs 5000', 'pip 3000 nr', 'mode.exec 64', 'psbend']);
});

t.test('interrupts: FUP at the interrupted instruction, then TIP to the handler', async (t) => {
  const r = run({}, (u) => {
    u.begin(U1, A, 0);
    u.branch(Xfer.COND_TAKEN, A, A + 2, A + 0x20, U1, 1);
    u.interrupt(Cause.TIMER_IRQ, 0xec, A + 0x24, KERNEL + 0x400, K1, 2);
    u.branch(Xfer.COND_NOT_TAKEN, KERNEL + 0x400, KERNEL + 0x402, KERNEL + 0x402, K1, 3);
    u.contextSwitch(KERNEL + 0x402, KERNEL + 0x405, K2, 4);
    u.branch(Xfer.IRET, KERNEL + 0x405, KERNEL + 0x407, A + 0x100, U2, 5);
    u.end(A + 0x100, 6);
  });
  t.same(afterStart(show(r.seen)), [
    'mode.exec 64', `tip.pge ${h(A)}`, 'tnt 1', `fup ${h(A + 0x24)}`, `tip ${h(KERNEL + 0x400)}`, 'tnt 0', 'pip 2000',
    `tip ${h(A + 0x100)}`, `fup ${h(A + 0x100)}`, 'tip.pgd -',
  ]);
});

t.test('user-only tracing: TIP.PGD without IP on the way into the kernel, PIP and TIP.PGE on the way back', async (t) => {
  const drive = (u: PtTraceUnit): void => {
    u.begin(U1, A, 0);
    u.branch(Xfer.SYSCALL, A + 0x10, A + 0x12, KERNEL + 0x100, K1, 1);
    u.branch(Xfer.COND_TAKEN, KERNEL + 0x100, KERNEL + 0x102, KERNEL + 0x200, K1, 2);
    u.branch(Xfer.SYSRET, KERNEL + 0x200, KERNEL + 0x203, A + 0x12, U1, 3);
    u.interrupt(Cause.TIMER_IRQ, 0xec, A + 0x30, KERNEL + 0x400, K1, 4);
    u.contextSwitch(KERNEL + 0x402, KERNEL + 0x405, K2, 5);
    u.branch(Xfer.IRET, KERNEL + 0x405, KERNEL + 0x407, A + 0x100, U2, 6);
    u.end(A + 0x104, 7);
  };
  t.same(afterStart(show(run({ os: false }, drive).seen)), [
    'mode.exec 64', `tip.pge ${h(A)}`, 'tip.pgd -', 'mode.exec 64', `tip.pge ${h(A + 0x12)}`,
    `fup ${h(A + 0x30)}`, 'tip.pgd -', 'pip 2000', 'mode.exec 64', `tip.pge ${h(A + 0x100)}`, `fup ${h(A + 0x104)}`, 'tip.pgd -',
  ]);
  t.same(afterStart(show(run({ user: false }, drive).seen)), [
    'mode.exec 64', `tip.pge ${h(KERNEL + 0x100)}`, 'tnt 1', 'tip.pgd -', 'mode.exec 64', `tip.pge ${h(KERNEL + 0x400)}`,
    'pip 2000', 'tip.pgd -',
  ], 'kernel-only: the mirror image, no FUP for an interrupt from an untraced context');
  t.same(afterStart(show(run({ cr3Match: 0x2000 }, drive).seen)), [
    'pip 2000', 'mode.exec 64', `tip.pge ${h(KERNEL + 0x405)}`, `tip ${h(A + 0x100)}`, `fup ${h(A + 0x104)}`, 'tip.pgd -',
  ], 'CR3 filter: MOV CR3 to the matching CR3 enables at the next instruction');
  t.same(afterStart(show(run({ cr3Match: 0x1000 }, drive).seen)).slice(-3), [`tip ${h(KERNEL + 0x400)}`, 'pip 2000', 'tip.pgd -'],
    'CR3 filter: MOV CR3 away from it disables without an IP');
  t.same(show(run({ branchEn: false }, drive).seen), ['psb', 'pip 1000', 'mode.exec 64', 'psbend', 'pip 2000'], 'BranchEn=0: no control flow');
});

/** libipt's pt_time rules on TSC, TMA and MTC: the TSC estimate after each packet. */
function checkTime(t: Test, seen: Seen[], mtcFreq: number): void {
  const { eax, ebx } = ptCpuid15(clock);
  const step = 2 ** mtcFreq;
  const mod = 2 ** (mtcFreq + 8); // CTC bits an MTC and TMA pair can tell apart
  let base = Number.NaN;
  let ctc = 0;
  let afterTma = false;
  let lastTsc = -1;
  let checked = 0;
  let mtcs = 0;
  let bad = 0;
  for (const { p } of seen) {
    if (p.type === PT_TSC) {
      const tsc = p.hi * 2 ** 32 + p.lo;
      if (tsc < lastTsc) bad++;
      // The MTCs put the estimate at the latest CTC edge: the TSC is within one period after it.
      if (base === base) {
        checked++;
        if (!(tsc >= base && tsc < base + (step * ebx) / eax)) bad++;
      }
      lastTsc = tsc;
      base = tsc;
    } else if (p.type === PT_TMA) {
      base -= p.fc;
      ctc = p.ctc % mod;
      afterTma = true;
    } else if (p.type === PT_MTC) {
      const now = p.ctc * step;
      const d = (now - ctc + mod) % mod;
      // One MTC per period, none skipped; the first after a TMA completes the period TMA is in.
      if (afterTma ? !(d >= 1 && d <= step) : d !== step) bad++;
      base += (d * ebx) / eax;
      ctc = now;
      afterTma = false;
      mtcs++;
    }
  }
  t.equal(bad, 0, `TSC monotonic and within one MTC period of the MTC estimate (${checked} checks, ${mtcs} MTCs)`);
  t.ok(checked > 3 && mtcs > 10);
}

t.test('timing: TSC/TMA in PSB+ and periodically, MTC every period, CYC counts every cycle', async (t) => {
  for (const mtcFreq of [0, 3, 5]) {
    let c = 0;
    const r = run({ psbFreq: 2048, tscEn: true, tscPeriod: 20_000, mtcEn: true, mtcFreq, cycEn: true }, (u) => {
      u.begin(U1, A, c);
      for (let i = 0; i < 3000; i++) {
        c += 3 + (i % 17) * 11;
        u.branch(Xfer.IND_JUMP, A, A + 2, i % 2 ? A : A + 0x12345678, U1, c);
      }
      u.end(A, (c += 5));
    });
    checkTime(t, r.seen, mtcFreq);
    const types = r.seen.map(({ p }) => p.type);
    let tmaAfterTsc = true;
    types.forEach((ty, i) => { if (ty === PT_TMA && types[i - 1] !== PT_TSC) tmaAfterTsc = false; });
    t.ok(tmaAfterTsc, 'every TMA right after a TSC');
    const standalone = r.seen.filter(({ p }, i) => p.type === PT_TSC && types[i - 1] !== PT_PSB).length;
    t.ok(standalone > 5, `${standalone} periodic TSCs outside PSB+`);
    let cycles = 0;
    for (const { p } of r.seen) if (p.type === PT_CYC) cycles += p.lo + p.hi * 2 ** 32;
    t.equal(cycles, c, 'the CYC packets add up to the cycles run');
  }
  // Threshold: with CycThresh 5 no CYC is below 16 cycles.
  const r = run({ cycEn: true, cycThresh: 5 }, (u) => {
    u.begin(U1, A, 0);
    for (let i = 1; i < 200; i++) u.branch(Xfer.IND_JUMP, A, A + 2, A, U1, i * 3);
    u.end(A, 700);
  });
  const cycs = r.seen.filter(({ p }) => p.type === PT_CYC).map(({ p }) => p.lo);
  t.ok(cycs.length > 10 && cycs.every((n) => n >= 16), 'CycThresh holds back short CYCs');
});

t.test('the TSC and CTC counters are exact where cycle × Hz passes 2^53', async (t) => {
  const tsc = new PtCounter(clock.timeBase, clock.tscHz, clock.coreHz);
  const big = 5_000_000_000_000; // cycles: ×2.4e9 is far beyond 2^53
  t.equal(tsc.at(big), clock.timeBase + big * 0.8);
  t.equal(tsc.at(big + 4), clock.timeBase + big * 0.8 + 3);
  const ctc = new PtCounter(clock.timeBase, clock.crystalHz, clock.coreHz);
  t.equal(ctc.cycleOf(clock.timeBase + 1000), 125_000);
  t.equal(ctc.at(124_999), clock.timeBase + 999);
  t.equal(ctc.at(ctc.cycleOf(clock.timeBase + 77_777_777)), clock.timeBase + 77_777_777);
});

t.test('output goes out in bounded chunks, the same bytes whatever the chunk size', async (t) => {
  const drive = (u: PtTraceUnit): void => {
    u.begin(U1, A, 0);
    for (let i = 0; i < 5000; i++) u.branch(i % 7 ? Xfer.COND_TAKEN : Xfer.IND_JUMP, A, A + 2, A + (i % 5) * 0x10000, U1, i + 1);
    u.end(A, 6000);
  };
  const big = run({}, drive);
  const small = run({ chunkSize: 64 }, drive);
  t.same(small.bytes, big.bytes);
  t.ok(small.chunks > big.bytes.length / 128, `${small.chunks} chunks for ${big.bytes.length} bytes`);
  t.equal(big.unit.bytes, big.bytes.length);
});

t.test('options are checked, naming the field', async (t) => {
  t.throws(() => resolvePtTraceConfig({ psbFreq: 3000 }), /psbFreq/);
  t.throws(() => resolvePtTraceConfig({ psbFreq: 1024 }), /psbFreq/);
  t.throws(() => resolvePtTraceConfig({ mtcFreq: 16 }), /mtcFreq/);
  t.throws(() => resolvePtTraceConfig({ cr3Match: 0x1001 }), /cr3Match/);
  t.throws(() => resolvePtTraceConfig({ bogus: 1 } as PtTraceOptions), /bogus/);
  t.throws(() => resolvePtTraceConfig({ os: 1 } as unknown as PtTraceOptions), /os/);
  t.equal(resolvePtTraceConfig({}).psbFreq, 4096);
  const arm = new ContextTable();
  arm.intern({ arch: 'arm', el: 0, security: 'nonsecure', sf: true, vmid: 0, contextId: 1 });
  t.throws(() => new PtTraceUnit({ clock, contexts: arm }, {}, new MemorySink()).begin(0, A, 0), /x86/);
});
