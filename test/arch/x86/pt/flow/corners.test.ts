// Hand-written traces for the hard corners of the SDM ("Intel Processor Trace"): compressed
// returns across an interrupt, far transfers, TIP.PGD with a suppressed IP, OVF while tracing,
// while disabled and inside PSB+, MODE.Exec changes, PSB+ that agrees or disagrees with the
// flow, and the errors libipt names (nomap, bad_query, retstack_empty, bad_retcomp). Expected
// lines are libipt 2.0.5's output on the same trace and image (see events-helper.ts); libipt's
// end-of-trace error (pte_eos) is left out, as ptxed and the project's C driver do.

import t from 'tap';
import type { PtFlowOptions } from '../../../../../arch/x86/pt/flow/index.js';
import { needNativeTool } from '../../../../helpers/reference.js';
import { asPtxed, libiptLines, run } from './events-helper.js';

interface Case {
  name: string;
  trace: string;
  options?: PtFlowOptions;
  want: string[];
}

const CASES: Case[] = [
  { name: "a compressed return across an interrupt",
    trace: "psb; mode 64; fup 0x1000; psbend; fup 0x1011; tip 0x2000; tip 0x1011; tnt !; fup 0x1006; pgd",
    want: ["su [exec mode: 64-bit, ip: 0000000000001000]", "I 1000", "I 1010", "[interrupt, from: 0000000000001011, to: 0000000000002000]", "I 2000", "I 2001", "I 1011", "I 1012", "I 1005", "[disabled, at: 0000000000001006]"] },
  { name: "far transfers: SYSCALL into the handler, IRETQ back",
    trace: "psb; mode 64; fup 0x1008; psbend; tnt .; tip 0x2000; tip 0x100c; fup 0x100d; pgd",
    want: ["su [exec mode: 64-bit, ip: 0000000000001008]", "I 1008", "I 100a", "I 2000", "I 2001", "I 100c", "[disabled, at: 000000000000100d]"] },
  { name: "TIP.PGD with suppressed IP binds to the far transfer; TIP.PGE resumes",
    trace: "psb; mode 64; fup 0x1008; psbend; tnt .; pgd; mode 64; pge 0x100c; fup 0x100d; pgd",
    want: ["su [exec mode: 64-bit, ip: 0000000000001008]", "I 1008", "I 100a", "[disabled]", "[resumed, ip: 000000000000100c]", "[exec mode: 64-bit, ip: 000000000000100c]", "I 100c", "[disabled, at: 000000000000100d]"] },
  { name: "TIP.PGD with suppressed IP does not bind to a near return: bad_query",
    trace: "psb; mode 64; fup 0x1010; psbend; pgd",
    want: ["su [exec mode: 64-bit, ip: 0000000000001010]", "I 1010", "I 1011", "I 1012"] },
  { name: "OVF while tracing: flow resumes at the FUP after it",
    trace: "psb; mode 64; fup 0x1010; psbend; ovf; fup 0x1005; tip 0x1010; tip 0x1005; fup 0x1006; pgd",
    want: ["su [exec mode: 64-bit, ip: 0000000000001010]", "[overflow, ip: 0000000000001005]", "I 1005", "I 1006", "I 1010", "I 1011", "I 1012", "I 1005", "[disabled, at: 0000000000001006]"] },
  { name: "OVF while disabled: tracing resumes at the TIP.PGE",
    trace: "psb; mode 64; psbend; ovf; mode 64; pge 0x1010; tip 0x1005; fup 0x1005; pgd",
    want: ["su [exec mode: 64-bit]", "[overflow]", "[enabled, ip: 0000000000001010]", "[exec mode: 64-bit, ip: 0000000000001010]", "I 1010", "I 1011", "I 1012", "[disabled, at: 0000000000001005]"] },
  { name: "OVF inside PSB+ ends it: its status first, then the FUP after the OVF gives the IP",
    trace: "psb; mode 64; fup 0x1010; ovf; fup 0x1005; pgd 0x1010",
    want: ["su [exec mode: 64-bit, ip: 0000000000001010]", "[overflow, ip: 0000000000001005]", "I 1005", "I 1006", "[disabled, ip: 0000000000001010]"] },
  { name: "OVF resolving disabled, then a TIP: bad_context",
    trace: "psb; mode 64; fup 0x1010; psbend; ovf; tip 0x1005; fup 0x1006; pgd",
    want: ["[19, 0: error: unexpected packet context]"] },
  { name: "OVF resolving disabled, then a TNT: bad_context",
    trace: "psb; mode 64; fup 0x1010; psbend; ovf; tsc 5; tnt !",
    want: ["[19, 0: error: unexpected packet context]"] },
  { name: "TNT bits before an OVF are used before it",
    trace: "psb; mode 64; fup 0x1010; psbend; tnt !; ovf; tnt !",
    want: ["su [exec mode: 64-bit, ip: 0000000000001010]", "I 1010", "I 1011", "I 1012", "[18, 1012: error: compressed return without call]"] },
  { name: "MODE.Exec binds to the next TIP: 32-bit code decodes as such",
    trace: "psb; mode 64; fup 0x1005; psbend; mode 32; tip 0x5000; tip 0x1005; mode 64; fup 0x1005; pgd",
    want: ["su [exec mode: 64-bit, ip: 0000000000001005]", "I 1005", "I 1006", "[exec mode: 32-bit, ip: 0000000000005000]", "I 5000", "I 5001", "[exec mode: 64-bit]", "[disabled, at: 0000000000001005]"] },
  { name: "a PSB+ whose MODE.Exec disagrees with the flow: bad_status_update at the PSB",
    trace: "psb; mode 64; fup 0x1005; psbend; psb; mode 32; fup 0x1006; psbend; tip 0x1010",
    want: ["su [exec mode: 64-bit, ip: 0000000000001005]", "I 1005", "[2e, 1005: error: bad status update]"] },
  { name: "a PSB+ that agrees with the flow is only a status update",
    trace: "psb; mode 64; fup 0x1005; psbend; psb; mode 64; fup 0x1006; psbend; tip 0x1010; tip 0x1005; fup 0x1005; pgd",
    want: ["su [exec mode: 64-bit, ip: 0000000000001005]", "I 1005", "su [exec mode: 64-bit, ip: 0000000000001006]", "I 1006", "I 1010", "I 1011", "I 1012", "[disabled, at: 0000000000001005]"] },
  { name: "nomap at the TIP target",
    trace: "psb; mode 64; fup 0x1005; psbend; tip 0x9000; tnt !",
    want: ["su [exec mode: 64-bit, ip: 0000000000001005]", "I 1005", "I 1006", "[1a, 9000: error: no memory mapped at this address]"] },
  { name: "bad_query: a TIP where a TNT bit is wanted",
    trace: "psb; mode 64; fup 0x1008; psbend; tip 0x1010",
    want: ["su [exec mode: 64-bit, ip: 0000000000001008]", "I 1008", "[17, 1008: error: trace stream does not match query]"] },
  { name: "retstack_empty: a compressed return without a call",
    trace: "psb; mode 64; fup 0x1010; psbend; tnt !",
    want: ["su [exec mode: 64-bit, ip: 0000000000001010]", "I 1010", "I 1011", "I 1012", "[18, 1012: error: compressed return without call]"] },
  { name: "bad_retcomp: a not-taken bit at a return",
    trace: "psb; mode 64; fup 0x1000; psbend; tnt .",
    want: ["su [exec mode: 64-bit, ip: 0000000000001000]", "I 1000", "I 1010", "I 1011", "I 1012", "[18, 1012: error: bad compressed return]"] },
  { name: "the end of the trace: libipt stops once TNT bits and events are used up",
    trace: "psb; mode 64; fup 0x1000; psbend; tnt !; pad",
    want: ["su [exec mode: 64-bit, ip: 0000000000001000]", "I 1000", "I 1010", "I 1011", "I 1012", "[end of trace]"] },
  { name: "--resync-on-error continues at the next PSB",
    trace: "psb; mode 64; fup 0x1008; psbend; tip 0x1010; psb; mode 64; fup 0x1010; psbend; tip 0x1005; fup 0x1005; pgd",
    options: { resyncOnError: true },
    want: ["su [exec mode: 64-bit, ip: 0000000000001008]", "I 1008", "[17, 1008: error: trace stream does not match query]", "su [exec mode: 64-bit, ip: 0000000000001010]", "I 1010", "I 1011", "I 1012", "[disabled, at: 0000000000001005]"] },
  { name: "without --resync-on-error decoding stops at the error",
    trace: "psb; mode 64; fup 0x1008; psbend; tip 0x1010; psb; mode 64; fup 0x1010; psbend; tip 0x1005; fup 0x1005; pgd",
    want: ["su [exec mode: 64-bit, ip: 0000000000001008]", "I 1008", "[17, 1008: error: trace stream does not match query]"] },
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
