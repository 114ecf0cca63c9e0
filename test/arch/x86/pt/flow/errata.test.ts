// libipt 2.0.5's errata per CPU (pt_cpu_errata) and the workarounds that act in the flow decoder,
// switched on by the `cpu` option (ptxed --cpu f/m). The expected lines are libipt 2.0.5's output
// on the same traces with the same cpu (and filter) configuration.

import t from 'tap';
import { NO_ERRATA, cpuErrata } from '../../../../../arch/x86/pt/flow/errata.js';
import type { PtFlowOptions } from '../../../../../arch/x86/pt/flow/index.js';
import { needNativeTool } from '../../../../helpers/reference.js';
import { asPtxed, libiptLines, run } from './events-helper.js';

interface Case {
  name: string;
  trace: string;
  options: PtFlowOptions;
  want: string[];
}

const CASES: Case[] = [
  { name: "SKL014 with a filter: an IP-less TIP.PGD disables at a direct call leaving the filter range",
    trace: "psb; mode 64; fup 0x1000; psbend; pgd; mode 64; pge 0x1010; fup 0x1011; pgd",
    options: { cpu: { family: 6, model: 78 }, filter: { cfg: [1, 0, 0, 0], a: [0x1000, 0, 0, 0], b: [0x100f, 0, 0, 0] } },
    want: ["su [exec mode: 64-bit, ip: 0000000000001000]", "I 1000", "[disabled]", "[resumed, ip: 0000000000001010]", "[exec mode: 64-bit, ip: 0000000000001010]", "I 1010", "[disabled, at: 0000000000001011]"] },
  { name: "SKL014 with a stop range around the call target",
    trace: "psb; mode 64; fup 0x1000; psbend; pgd; mode 64; pge 0x1010; fup 0x1011; pgd",
    options: { cpu: { family: 6, model: 78 }, filter: { cfg: [2, 0, 0, 0], a: [0x1010, 0, 0, 0], b: [0x1020, 0, 0, 0] } },
    want: ["su [exec mode: 64-bit, ip: 0000000000001000]", "I 1000", "[disabled]", "[resumed, ip: 0000000000001010]", "[exec mode: 64-bit, ip: 0000000000001010]", "I 1010", "[disabled, at: 0000000000001011]"] },
  { name: "SKL014 without a filter configuration does not apply",
    trace: "psb; mode 64; fup 0x1000; psbend; pgd; mode 64; pge 0x1010; fup 0x1011; pgd",
    options: { cpu: { family: 6, model: 78 } },
    want: ["su [exec mode: 64-bit, ip: 0000000000001000]", "I 1000", "I 1010", "I 1011", "I 1012", "[18, 1012: error: trace stream does not match query]"] },
  { name: "a filter without SKL014 (no cpu) does not apply",
    trace: "psb; mode 64; fup 0x1000; psbend; pgd; mode 64; pge 0x1010; fup 0x1011; pgd",
    options: { filter: { cfg: [1, 0, 0, 0], a: [0x1000, 0, 0, 0], b: [0x100f, 0, 0, 0] } },
    want: ["su [exec mode: 64-bit, ip: 0000000000001000]", "I 1000", "I 1010", "I 1011", "I 1012", "[18, 1012: error: trace stream does not match query]"] },
  { name: "SKD022: FUP + TIP.PGD at VMLAUNCH is a disable after it",
    trace: "psb; mode 64; fup 0x3000; psbend; fup 0x3004; pip 0x9000; pgd",
    options: { cpu: { family: 6, model: 78 } },
    want: ["su [exec mode: 64-bit, ip: 0000000000003000]", "I 3000", "I 3003", "I 3004", "[disabled]", "[paging, cr3: 0000000000009000, ip: 0000000000000000]"] },
  { name: "without SKD022: an asynchronous disable at VMLAUNCH",
    trace: "psb; mode 64; fup 0x3000; psbend; fup 0x3004; pip 0x9000; pgd",
    options: {},
    want: ["su [exec mode: 64-bit, ip: 0000000000003000]", "I 3000", "I 3003", "[disabled, at: 0000000000003004]", "[paging, cr3: 0000000000009000, ip: 0000000000000000]"] },
  { name: "APL11: a TIP.PGD right after OVF is dropped",
    trace: "psb; mode 64; fup 0x1010; psbend; ovf; pgd; mode 64; pge 0x1010; tip 0x1005; fup 0x1006; pgd",
    options: { cpu: { family: 6, model: 92 } },
    want: ["su [exec mode: 64-bit, ip: 0000000000001010]", "[overflow]", "[enabled, ip: 0000000000001010]", "[exec mode: 64-bit, ip: 0000000000001010]", "I 1010", "I 1011", "I 1012", "I 1005", "[disabled, at: 0000000000001006]"] },
  { name: "SKD010: a TIP.PGD right after OVF is dropped too (libipt 2.0.5)",
    trace: "psb; mode 64; fup 0x1010; psbend; ovf; pgd 0x1010; pge 0x1010; fup 0x1011; pgd",
    options: { cpu: { family: 6, model: 78 } },
    want: ["su [exec mode: 64-bit, ip: 0000000000001010]", "[overflow]", "[enabled, ip: 0000000000001010]", "I 1010", "[disabled, at: 0000000000001011]"] },
  { name: "without APL11/SKD010: OVF then TIP.PGD is bad_context",
    trace: "psb; mode 64; fup 0x1010; psbend; ovf; pgd; mode 64; pge 0x1010; tip 0x1005; fup 0x1006; pgd",
    options: {},
    want: ["[19, 0: error: unexpected packet context]"] },
  { name: "BDM70: a PSB+ FUP right before TIP.PGE does not enable tracing",
    trace: "psb; mode 64; fup 0x1000; psbend; pge 0x1010",
    options: { cpu: { family: 6, model: 61 } },
    want: ["su [exec mode: 64-bit]", "[enabled, ip: 0000000000001010]", "[end of trace]"] },
  { name: "without BDM70: that TIP.PGE comes while tracing",
    trace: "psb; mode 64; fup 0x1000; psbend; pge 0x1010",
    options: {},
    want: ["su [exec mode: 64-bit, ip: 0000000000001000]", "[1a, 0: error: unexpected packet context]"] },
  { name: "BDM70: PIP, VMCS and MODE.Exec between PSB+ and TIP.PGE",
    trace: "psb; mode 64; fup 0x1000; psbend; pip 0x9000; vmcs 0xa000; mode 32; pge 0x1010",
    options: { cpu: { family: 6, model: 78 } },
    want: ["su [exec mode: 64-bit]", "[paging, cr3: 0000000000009000]", "[vmcs, base: 000000000000a000]", "[enabled, ip: 0000000000001010]", "[exec mode: 32-bit, ip: 0000000000001010]", "[end of trace]"] },
  { name: "BDM70: timing, MODE.TSX and CBR between PSB+ and TIP.PGE",
    trace: "psb; mode 64; fup 0x1000; psbend; pad; mtc 3; cyc 4; tsx begin; cbr 5; pge 0x1010",
    options: { cpu: { family: 6, model: 85 } },
    want: ["su [exec mode: 64-bit]", "[begin transaction]", "[cbr: 5]", "[enabled, ip: 0000000000001010]", "[end of trace]"] },
  { name: "BDM70: the PSB+ after an overflow while disabled",
    trace: "psb; mode 64; fup 0x1000; psbend; ovf; psb; mode 64; fup 0x1010; psbend; pge 0x1012",
    options: { cpu: { family: 6, model: 61 } },
    want: ["su [exec mode: 64-bit, ip: 0000000000001000]", "[overflow]", "su [exec mode: 64-bit]", "[enabled, ip: 0000000000001012]", "[end of trace]"] },
  { name: "BDM70 does not apply when a TNT comes before any TIP.PGE",
    trace: "psb; mode 64; fup 0x1000; psbend; ovf; psb; mode 64; fup 0x1010; psbend; tnt !.",
    options: { cpu: { family: 6, model: 61 } },
    want: ["su [exec mode: 64-bit, ip: 0000000000001000]", "[overflow]", "su [exec mode: 64-bit, ip: 0000000000001010]", "[30, 0: error: expected tracing enabled event]"] },
  { name: "BDM70 does not apply across a PWRE",
    trace: "psb; mode 64; fup 0x1000; psbend; pwre 1 2; pge 0x1010",
    options: { cpu: { family: 6, model: 61 } },
    want: ["su [exec mode: 64-bit, ip: 0000000000001000]", "[pwre c2.3]", "[1e, 0: error: unexpected packet context]"] },
  { name: "BDM64: a TSX abort's IP the branch before it cannot reach: the branch went there",
    trace: "psb; mode 64; psbend; mode 64; pge 0x1000; tsx abort; fup 0x3000; tip 0x1005",
    options: { cpu: { family: 6, model: 61 } },
    want: ["su [exec mode: 64-bit]", "[enabled, ip: 0000000000001000]", "[exec mode: 64-bit, ip: 0000000000001000]", "I 1000", "[aborted, ip: 0000000000003000]", "[interrupt, from: 0000000000003000, to: 0000000000001005]", "[end of trace]"] },
  { name: "BDM64: after the conditional branch that took the last TNT bit",
    trace: "psb; mode 64; psbend; mode 64; pge 0x1008; tnt .; tsx abort; fup 0x3000; tip 0x1005",
    options: { cpu: { family: 6, model: 61 } },
    want: ["su [exec mode: 64-bit]", "[enabled, ip: 0000000000001008]", "[exec mode: 64-bit, ip: 0000000000001008]", "I 1008", "[aborted, ip: 0000000000003000]", "[interrupt, from: 0000000000003000, to: 0000000000001005]", "[end of trace]"] },
  { name: "BDM64: after a compressed return, and a TIP.PGD for the abort",
    trace: "psb; mode 64; psbend; mode 64; pge 0x1000; tnt !; tsx abort; fup 0x3000; pgd",
    options: { cpu: { family: 6, model: 61 } },
    want: ["su [exec mode: 64-bit]", "[enabled, ip: 0000000000001000]", "[exec mode: 64-bit, ip: 0000000000001000]", "I 1000", "I 1010", "I 1011", "I 1012", "[aborted, ip: 0000000000003000]", "[disabled, at: 0000000000003000]"] },
  { name: "BDM64 does not apply when straight-line code reaches the abort's IP",
    trace: "psb; mode 64; psbend; mode 64; pge 0x1000; tsx abort; fup 0x1012; tip 0x1005",
    options: { cpu: { family: 6, model: 61 } },
    want: ["su [exec mode: 64-bit]", "[enabled, ip: 0000000000001000]", "[exec mode: 64-bit, ip: 0000000000001000]", "I 1000", "I 1010", "I 1011", "[aborted, ip: 0000000000001012]", "[interrupt, from: 0000000000001012, to: 0000000000001005]", "[end of trace]"] },
  { name: "BDM64 does not apply to a TSX begin",
    trace: "psb; mode 64; psbend; mode 64; pge 0x1000; tsx begin; fup 0x1011; tip 0x1005",
    options: { cpu: { family: 6, model: 61 } },
    want: ["su [exec mode: 64-bit]", "[enabled, ip: 0000000000001000]", "[exec mode: 64-bit, ip: 0000000000001000]", "I 1000", "I 1010", "[begin transaction, ip: 0000000000001011]", "I ? 1011", "I ? 1012", "[end of trace]"] },
  { name: "BDM64 with the block decoder: not after a direct call inside a block",
    trace: "psb; mode 64; psbend; mode 64; pge 0x1000; tsx abort; fup 0x3000; tip 0x1005",
    options: { cpu: { family: 6, model: 61 }, blockDecoder: true },
    want: ["su [exec mode: 64-bit]", "[enabled, ip: 0000000000001000]", "[exec mode: 64-bit, ip: 0000000000001000]", "I 1000", "I 1010", "I 1011", "I 1012", "[1e, 1012: error: trace stream does not match query]"] },
  { name: "BDM64 with the block decoder: at the end of a block (a conditional branch)",
    trace: "psb; mode 64; psbend; mode 64; pge 0x1008; tnt !; tsx abort; fup 0x3000; tip 0x1005",
    options: { cpu: { family: 6, model: 61 }, blockDecoder: true },
    want: ["su [exec mode: 64-bit]", "[enabled, ip: 0000000000001008]", "[exec mode: 64-bit, ip: 0000000000001008]", "I 1008", "[aborted, ip: 0000000000003000]", "[interrupt, from: 0000000000003000, to: 0000000000001005]", "[end of trace]"] },
];

for (const c of CASES) {
  t.test(c.name, async (t) => {
    t.same(run(c.trace, c.options), c.want);
  });
}

t.test('the same as libipt through the project\'s C driver (ptxed text, --event:ip)', async (t) => {
  const tool = needNativeTool(t, 'pt-libipt');
  if (!tool) return;
  for (const c of CASES) t.same(asPtxed(run(c.trace, c.options)), libiptLines(tool, c.trace, c.options), c.name);
});

t.test('pt_cpu_errata: the family 6 models libipt 2.0.5 knows, as it reports them', async (t) => {
  // From libipt 2.0.5: pt_cpu_errata for every family 6 model; stepping does not matter there.
  const want: Record<number, string> = {
    0x3d: 'bdm70 bdm64', 0x47: 'bdm70 bdm64', 0x4f: 'bdm70 bdm64', 0x56: 'bdm70 bdm64',
    0x4e: 'bdm70 skd007 skd022 skd010 skl014 skl168', 0x5e: 'bdm70 skd007 skd022 skd010 skl014 skl168',
    0x8e: 'bdm70 skd007 skd022 skd010 skl014 skl168', 0x9e: 'bdm70 skd007 skd022 skd010 skl014 skl168',
    0xa5: 'bdm70 skd007 skd022 skd010 skl014 skl168', 0xa6: 'bdm70 skd007 skd022 skd010 skl014 skl168',
    0x55: 'bdm70 skd022 skl014 skz84', 0x6a: 'bdm70 skd022 skl014 skz84', 0x6c: 'bdm70 skd022 skl014 skz84', 0x8f: 'bdm70 skd022 skl014 skz84',
    0x66: 'bdm70 skd022 skl014', 0x7d: 'bdm70 skd022 skl014', 0x7e: 'bdm70 skd022 skl014', 0x8c: 'bdm70 skd022 skl014',
    0x8d: 'bdm70 skd022 skl014', 0xa7: 'bdm70 skd022 skl014', 0xa8: 'bdm70 skd022 skl014',
    0x97: 'bdm70 skd022 skl014 apl11', 0x9a: 'bdm70 skd022 skl014 apl11', 0xbf: 'bdm70 skd022 skl014 apl11',
    0x5c: 'apl12 apl11', 0x5f: 'apl12 apl11',
    0x7a: 'apl11', 0x86: 'apl11', 0x96: 'apl11', 0x9c: 'apl11',
  };
  const order = ['bdm70', 'bdm64', 'skd007', 'skd022', 'skd010', 'skl014', 'apl12', 'apl11', 'skl168', 'skz84'] as const;
  for (let model = 0; model < 256; model++) {
    const e = cpuErrata({ family: 6, model, stepping: 3 });
    const got = e === null ? null : order.filter((k) => e[k]).join(' ');
    t.equal(got, want[model] ?? null, `6/${model}`);
  }
  t.equal(cpuErrata({ family: 15, model: 0x4e }), null, 'other families are unknown (pte_bad_cpu)');
  t.notOk(Object.values(NO_ERRATA).some(Boolean), 'no cpu: no workarounds');
});
