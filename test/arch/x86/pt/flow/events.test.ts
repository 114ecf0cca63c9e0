// Flow events as libipt 2.0.5 reports them: where each binds (before or after which instruction),
// its IP and payload. Each case is a hand-built trace on the small program of events-helper.ts;
// the expected lines are libipt 2.0.5's pt_insn_next / pt_insn_event output on the same trace and
// image (ptxed's bracket text with --event:ip; `su` marks libipt's status updates).

import t from 'tap';
import { EV_ASYNC, EV_NR, FlowEvent, ptxedEventText } from '../../../../../arch/x86/pt/flow/index.js';
import { needNativeTool } from '../../../../helpers/reference.js';
import { asPtxed, libiptLines, run } from './events-helper.js';

interface Case {
  name: string;
  trace: string;
  want: string[];
}

const CASES: Case[] = [
  { name: "an interrupt (FUP + TIP) and a compressed return across it",
    trace: "psb; mode 64; fup 0x1000; psbend; fup 0x1011; tip 0x2000; tip 0x1011; tnt !; fup 0x1006; pgd",
    want: ["su [exec mode: 64-bit, ip: 0000000000001000]", "I 1000", "I 1010", "[interrupt, from: 0000000000001011, to: 0000000000002000]", "I 2000", "I 2001", "I 1011", "I 1012", "I 1005", "[disabled, at: 0000000000001006]"] },
  { name: "VMCS binds after VMPTRLD, PIP after VMLAUNCH (a far branch)",
    trace: "psb; mode 64; fup 0x3000; psbend; vmcs 0x7000; pip 0x8000; tip 0x2000",
    want: ["su [exec mode: 64-bit, ip: 0000000000003000]", "I 3000", "[vmcs, base: 0000000000007000]", "I 3003", "I 3004", "[paging, cr3: 0000000000008000]", "[end of trace]"] },
  { name: "PIP and VMCS between FUP and TIP: after the branch, VMCS first",
    trace: "psb; mode 64; fup 0x3000; psbend; fup 0x3003; pip 0x8000 nr; vmcs 0x7000; tip 0x2000; fup 0x2000; pgd",
    want: ["su [exec mode: 64-bit, ip: 0000000000003000]", "I 3000", "[interrupt, from: 0000000000003003, to: 0000000000002000]", "[vmcs, base: 0000000000007000, ip: 0000000000002000]", "[paging, cr3: 0000000000008000, nr, ip: 0000000000002000]", "[disabled, at: 0000000000002000]"] },
  { name: "PIP binds to SYSCALL; the IP-less TIP.PGD after it disables there",
    trace: "psb; mode 64; fup 0x1008; psbend; tnt .; pip 0x8000; pgd",
    want: ["su [exec mode: 64-bit, ip: 0000000000001008]", "I 1008", "I 100a", "[paging, cr3: 0000000000008000]", "[disabled]"] },
  { name: "PIP binds to MOV CR3",
    trace: "psb; mode 64; fup 0x3004; psbend; tip 0x3008; pip 0x8000; tip 0x1010; fup 0x1011; pgd",
    want: ["su [exec mode: 64-bit, ip: 0000000000003004]", "I 3004", "I 3008", "[paging, cr3: 0000000000008000]", "I 300b", "I 300c", "I 3010", "I 3013", "I 3014", "I 301a", "I 301b", "I 301e", "I 301f", "I 1010", "[disabled, at: 0000000000001011]"] },
  { name: "TSX begin and commit at their FUPs; speculative instructions between",
    trace: "psb; mode 64; fup 0x3014; psbend; tsx begin; fup 0x3014; tsx commit; fup 0x301e; tip 0x1010; fup 0x1011; pgd",
    want: ["su [exec mode: 64-bit, ip: 0000000000003014]", "[begin transaction, ip: 0000000000003014]", "I ? 3014", "I ? 301a", "I ? 301b", "[committed, ip: 000000000000301e]", "I 301e", "I 301f", "I 1010", "[disabled, at: 0000000000001011]"] },
  { name: "TSX abort: the event, then the branch to the abort handler",
    trace: "psb; mode 64; fup 0x3014; psbend; tsx begin; fup 0x301a; tsx abort; fup 0x301b; tip 0x1010; fup 0x1011; pgd",
    want: ["su [exec mode: 64-bit, ip: 0000000000003014]", "I 3014", "[begin transaction, ip: 000000000000301a]", "I ? 301a", "[aborted, ip: 000000000000301b]", "[interrupt, from: 000000000000301b, to: 0000000000001010]", "I 1010", "[disabled, at: 0000000000001011]"] },
  { name: "PTW reports after its PTWRITE instruction",
    trace: "psb; mode 64; fup 0x3008; psbend; ptw 4 0x55 ip; fup 0x300c; fup 0x3013; pgd",
    want: ["su [exec mode: 64-bit, ip: 0000000000003008]", "I 3008", "I 300b", "I 300c", "[ptwrite: 55, ip: 000000000000300c]", "I 3010", "[disabled, at: 0000000000003013]"] },
  { name: "PTW without IP binds to the next PTWRITE; 8-byte payload",
    trace: "psb; mode 64; fup 0x3008; psbend; ptw 8 0x1234 x 0x5; fup 0x3013; pgd",
    want: ["su [exec mode: 64-bit, ip: 0000000000003008]", "I 3008", "I 300b", "I 300c", "[ptwrite: 500001234, ip: 000000000000300c]", "I 3010", "[disabled, at: 0000000000003013]"] },
  { name: "MWAIT and EXSTOP at their FUP; power, CBR, MNT events stand alone",
    trace: "psb; mode 64; fup 0x300c; psbend; mwait 0x21 0x1; exstop ip; fup 0x3010; pwre 2 1; pwrx 1 2 1; pwrx 3 4 12; cbr 0x20; mnt 0xabc; exstop; fup 0x3013; pgd",
    want: ["su [exec mode: 64-bit, ip: 000000000000300c]", "I 300c", "[mwait 21 1, ip: 0000000000003010]", "[exstop, ip: 0000000000003010]", "[pwre c3.2]", "[pwrx int: c2 (c3)]", "[pwrx st: hw: c4 (c5)]", "[cbr: 20]", "[mnt: abc]", "[exstop]", "I 3010", "[disabled, at: 0000000000003013]"] },
  { name: "events while tracing is disabled are reported at once",
    trace: "psb; mode 64; psbend; tsx begin; exstop ip; fup 0x3010; ptw 4 0x77 ip; fup 0x300c; stop; cbr 3; mode 64; pge 0x3010; fup 0x3013; pgd",
    want: ["su [exec mode: 64-bit]", "[begin transaction]", "[exstop, ip: 0000000000003010]", "[ptwrite: 77, ip: 000000000000300c]", "[stopped]", "[cbr: 3]", "[enabled, ip: 0000000000003010]", "[exec mode: 64-bit, ip: 0000000000003010]", "I ? 3010", "[disabled, at: 0000000000003013]"] },
  { name: "PSB+ content as status updates, in packet order; MNT is no status update",
    trace: "psb; cbr 5; pip 0x8000 nr; vmcs 0x9000; mnt 0x11; tsx begin; mode 64; fup 0x1008; psbend; tnt .; psb; mode 64; pip 0x8000; vmcs 0x9000; cbr 6; fup 0x100a; psbend; pgd",
    want: ["su [cbr: 5]", "su [paging, cr3: 0000000000008000, nr, ip: 0000000000001008]", "su [vmcs, base: 0000000000009000, ip: 0000000000001008]", "[mnt: 11]", "su [begin transaction, ip: 0000000000001008]", "su [exec mode: 64-bit, ip: 0000000000001008]", "I ? 1008", "su [exec mode: 64-bit, ip: 000000000000100a]", "su [paging, cr3: 0000000000008000, ip: 000000000000100a]", "su [vmcs, base: 0000000000009000, ip: 000000000000100a]", "su [cbr: 6]", "I ? 100a", "[disabled]"] },
  { name: "PSB+ while disabled: status updates without IP; PIP applies at once",
    trace: "psb; cbr 5; pip 0x8000 nr; mode 32; psbend; psb; pip 0x8020; psbend; mode 64; pge 0x1000",
    want: ["su [cbr: 5]", "su [paging, cr3: 0000000000008000, nr, ip: 0000000000000000]", "su [exec mode: 32-bit]", "su [paging, cr3: 0000000000008020, ip: 0000000000000000]", "[enabled, ip: 0000000000001000]", "[exec mode: 64-bit, ip: 0000000000001000]", "[end of trace]"] },
  { name: "MODE.Exec before TIP.PGE: reported after the enable, changed or not",
    trace: "psb; mode 64; fup 0x1006; psbend; mode 32; tip 0x5000; mode 64; tip 0x1005; fup 0x1005; pgd; mode 64; pge 0x1000; fup 0x1010; pgd",
    want: ["su [exec mode: 64-bit, ip: 0000000000001006]", "I 1006", "[exec mode: 32-bit, ip: 0000000000005000]", "I 5000", "I 5001", "[exec mode: 64-bit, ip: 0000000000001005]", "[disabled, at: 0000000000001005]", "[enabled, ip: 0000000000001000]", "[exec mode: 64-bit, ip: 0000000000001000]", "I 1000", "[disabled, at: 0000000000001010]"] },
  { name: "OVF while tracing resumes at the FUP; while disabled at TIP.PGE",
    trace: "psb; mode 64; fup 0x1010; psbend; ovf; fup 0x1005; tip 0x1010; tip 0x1005; fup 0x1006; pgd; ovf; mode 64; pge 0x1010; fup 0x1011; pgd",
    want: ["su [exec mode: 64-bit, ip: 0000000000001010]", "[overflow, ip: 0000000000001005]", "I 1005", "I 1006", "I 1010", "I 1011", "I 1012", "I 1005", "[disabled, at: 0000000000001006]", "[overflow]", "[enabled, ip: 0000000000001010]", "[exec mode: 64-bit, ip: 0000000000001010]", "I 1010", "[disabled, at: 0000000000001011]"] },
];

for (const c of CASES) {
  t.test(c.name, async (t) => {
    t.same(run(c.trace), c.want);
  });
}

t.test('the same as libipt through the project\'s C driver (ptxed text, --event:ip)', async (t) => {
  const tool = needNativeTool(t, 'pt-libipt');
  if (!tool) return;
  for (const c of CASES) t.same(asPtxed(run(c.trace)), libiptLines(tool, c.trace), c.name);
});

t.test('tick events (libipt enable_tick_events): after branches where the time moved, at the next IP', async (t) => {
  const tr = 'psb; mode 64; tsc 0x100; fup 0x1000; psbend; tsc 0x200; tnt !; tsc 0x300; tip 0x1008; tsc 0x400; tnt .; tsc 0x500; tip 0x2000; ' +
    'tsc 0x600; tip 0x1008; tnt .; tsc 0x650; tip 0x2000; tip 0x100c; tsc 0x700; fup 0x100d; pgd';
  const ips = (...a: string[]): string[] => a.map((x) => `I ${x}`);
  const tick = (ip: string): string => `[tick, ip: ${ip.padStart(16, '0')}]`;
  // libipt 2.0.5 with enable_tick_events on the same trace.
  t.same(run(tr, { tick: true }), [
    'su [exec mode: 64-bit, ip: 0000000000001000]', ...ips('1000', '1010', '1011', '1012'), tick('1013'), ...ips('1005', '1006'), tick('1008'),
    ...ips('1008'), tick('100a'), ...ips('100a'), tick('100c'), ...ips('2000', '2001'), tick('2003'), ...ips('1008', '100a'), tick('100c'),
    ...ips('2000', '2001', '100c'), '[disabled, at: 000000000000100d]',
  ]);
  t.notOk(run(tr).some((l) => l.includes('tick')), 'no ticks without the option');
  const tool = needNativeTool(t, 'pt-libipt');
  if (tool) t.same(asPtxed(run(tr, { tick: true })), libiptLines(tool, tr, { tick: true }), 'as libipt through the C driver (--event:tick)');
});

t.test('ptxed text of every event kind, with and without --event:ip', async (t) => {
  const ip = 0x1000;
  const to = 0x2000;
  const on = { eventIp: true };
  const off = {};
  const cases: Array<[number, number, number, number, number, string, string]> = [
    [FlowEvent.ENABLED, ip, 0, NaN, 0, 'enabled', 'enabled, ip: 0000000000001000'],
    [FlowEvent.RESUMED, ip, 0, NaN, 0, 'resumed', 'resumed, ip: 0000000000001000'],
    [FlowEvent.DISABLED, to, 0, NaN, 0, 'disabled', 'disabled, ip: 0000000000002000'],
    [FlowEvent.DISABLED, NaN, 0, NaN, 0, 'disabled', 'disabled'],
    [FlowEvent.DISABLED, ip, 0, to, EV_ASYNC, 'disabled', 'disabled, at: 0000000000001000, ip: 0000000000002000'],
    [FlowEvent.DISABLED, ip, 0, NaN, EV_ASYNC, 'disabled', 'disabled, at: 0000000000001000'],
    [FlowEvent.INTERRUPT, ip, 0, to, 0, 'interrupt', 'interrupt, from: 0000000000001000, to: 0000000000002000'],
    [FlowEvent.INTERRUPT, ip, 0, NaN, 0, 'interrupt', 'interrupt, from: 0000000000001000'],
    [FlowEvent.PAGING, NaN, 0x8000, NaN, EV_NR, 'paging, cr3: 0000000000008000, nr', 'paging, cr3: 0000000000008000, nr'],
    [FlowEvent.PAGING, to, 0x8000, NaN, EV_ASYNC, 'paging, cr3: 0000000000008000', 'paging, cr3: 0000000000008000, ip: 0000000000002000'],
    [FlowEvent.VMCS, NaN, 0x9000, NaN, 0, 'vmcs, base: 0000000000009000', 'vmcs, base: 0000000000009000'],
    [FlowEvent.VMCS, to, 0x9000, NaN, EV_ASYNC, 'vmcs, base: 0000000000009000', 'vmcs, base: 0000000000009000, ip: 0000000000002000'],
    [FlowEvent.OVERFLOW, ip, 0, NaN, 0, 'overflow', 'overflow, ip: 0000000000001000'],
    [FlowEvent.EXEC_MODE, ip, 32, NaN, 0, 'exec mode: 32-bit', 'exec mode: 32-bit, ip: 0000000000001000'],
    [FlowEvent.TSX, ip, 1, NaN, 0, 'begin transaction', 'begin transaction, ip: 0000000000001000'],
    [FlowEvent.TSX, ip, 0, NaN, 0, 'committed', 'committed, ip: 0000000000001000'],
    [FlowEvent.TSX, ip, 2, NaN, 0, 'aborted', 'aborted, ip: 0000000000001000'],
    [FlowEvent.STOPPED, NaN, 0, NaN, 0, 'stopped', 'stopped'],
    [FlowEvent.EXSTOP, ip, 0, NaN, 0, 'exstop', 'exstop, ip: 0000000000001000'],
    [FlowEvent.PTWRITE, ip, 0x89abcdef, 0x1234567, 0, 'ptwrite: 123456789abcdef', 'ptwrite: 123456789abcdef, ip: 0000000000001000'],
    [FlowEvent.MWAIT, ip, 0x21, 1, 0, 'mwait 21 1', 'mwait 21 1, ip: 0000000000001000'],
    [FlowEvent.PWRE, NaN, 2 | (1 << 4) | (1 << 8), NaN, 0, 'pwre c3.2 hw', 'pwre c3.2 hw'],
    [FlowEvent.PWRX, NaN, 1 | (2 << 4) | (13 << 8), NaN, 0, 'pwrx int: st: hw: c2 (c3)', 'pwrx int: st: hw: c2 (c3)'],
    [FlowEvent.TICK, ip, 0, NaN, 0, 'tick', 'tick, ip: 0000000000001000'],
    [FlowEvent.CBR, NaN, 0x2a, NaN, 0, 'cbr: 2a', 'cbr: 2a'],
    [FlowEvent.MNT, NaN, 0xabc, 0, 0, 'mnt: abc', 'mnt: abc'],
  ];
  for (const [kind, evIp, value, extra, flags, plain, withIp] of cases) {
    t.equal(ptxedEventText(kind, evIp, value, off, extra, flags), plain, `${kind} plain`);
    t.equal(ptxedEventText(kind, evIp, value, on, extra, flags), withIp, `${kind} --event:ip`);
  }
  t.equal(ptxedEventText(99, ip, 0, on), null, 'unknown kinds print nothing');
});

t.test('random event-rich traces (mostly malformed) decode without exceptions or hangs', async (t) => {
  // Deterministic pseudo-random sequences of the packets above; each must decode to an end.
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const ips = ['0x1000', '0x1005', '0x1008', '0x100a', '0x1010', '0x1012', '0x2000', '0x2001', '0x3000', '0x3004', '0x3008', '0x300c', '0x3014', '0x301b', '0x5000'];
  const ip = (): string => ips[rnd(ips.length)]!;
  const items = [
    (): string => `tnt ${rnd(2) ? '!' : '.'}${rnd(2) ? '!' : '.'}`, (): string => `tip ${ip()}`, (): string => `fup ${ip()}; tip ${ip()}`, (): string => `fup ${ip()}; pgd`,
    (): string => 'pgd', (): string => `mode 64; pge ${ip()}`, (): string => `pip 0x${(0x8000 + rnd(4) * 0x1000).toString(16)}`, (): string => 'vmcs 0x9000',
    (): string => `tsx ${['begin', 'commit', 'abort'][rnd(3)]}; fup ${ip()}`, (): string => `ptw 4 0x${rnd(999).toString(16)}${rnd(2) ? ` ip; fup ${ip()}` : ''}`,
    (): string => `exstop${rnd(2) ? ` ip; fup ${ip()}` : ''}`, (): string => `mwait 1 2; exstop ip; fup ${ip()}`, (): string => 'pwre 1 2', (): string => 'pwrx 1 2 1',
    (): string => `cbr ${1 + rnd(40)}`, (): string => 'stop', (): string => 'ovf', (): string => `ovf; fup ${ip()}`, (): string => `tsc 0x${(100 + rnd(1000)).toString(16)}`,
    (): string => `psb; mode 64; fup ${ip()}; psbend`, (): string => `mode ${rnd(2) ? '64' : '32'}`, (): string => `cfe ${1 + rnd(13)} 3${rnd(2) ? ' ip' : ''}`, (): string => 'evd 0 0x1000',
  ];
  let lines = 0;
  for (let k = 0; k < 400; k++) {
    const parts = [`psb; mode 64; ${rnd(4) ? `fup ${ip()}; ` : ''}psbend`];
    for (let i = 2 + rnd(12); i > 0; i--) parts.push(items[rnd(items.length)]!());
    lines += run(parts.join('; '), { resyncOnError: rnd(2) === 1, tick: rnd(2) === 1, iflags: true, ...(rnd(2) ? { cpu: { family: 6, model: 78 } } : {}) }).length;
  }
  t.ok(lines > 400, `${lines} lines from 400 traces`);
});
