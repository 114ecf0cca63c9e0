// Damaged traces as libipt 2.0.5 and ptxed meet them, hand-written (events-helper.ts's trace text
// and test image): where a packet that does not decode is reported (libipt's read-ahead looks
// only at the opcode of flow and event packets), what the read-ahead after an event fetched at
// the last TNT bit finds, and ptxed's own habits around errors (the last instruction printed
// again on no_enable, the event dropped when fetching the next one fails). Expected texts are
// ptxed's with the instruction decoder and --event:ip, taken from libipt (`pt-libipt insn`,
// events-helper.ts's libiptLines); with libipt present the test also compares with it live.

import t from 'tap';
import { CountingSink, PtFlowDecoder, type PtFlowOptions, PtImage, PtxedPrinter } from '../../../../../arch/x86/pt/flow/index.js';
import { needNativeTool } from '../../../../helpers/reference.js';
import { libiptLines, testImage, trace } from './events-helper.js';

interface Case {
  name: string;
  trace: string;
  want: string[];
  options?: PtFlowOptions;
}

/** A Broadwell (ptxed --cpu 6/61): libipt 2.0.5 switches on BDM70 and BDM64. */
const BROADWELL = { cpu: { family: 6, model: 61 } };
/** A Goldmont (ptxed --cpu 6/92): APL12 and APL11. */
const GOLDMONT = { cpu: { family: 6, model: 92 } };

const CASES: Case[] = [
  { name: 'a TIP with reserved IP compression fails the query that takes it, after the TNT bits before it',
    trace: 'psb; mode 64; fup 0x1008; psbend; tnt .; raw ad 00 00 00 00 00 00',
    want: ['0000000000001008', '000000000000100a', '[18, 100a: error: unknown packet]'] },
  { name: 'an unknown opcode after a TIP.PGD fetched at the last TNT bit names that instruction',
    trace: 'psb; mode 64; fup 0x1008; psbend; tnt .; pgd; raw 05',
    want: ['0000000000001008', '[19, 1008: error: unknown opcode]'] },
  { name: 'a TIP.PGE with a suppressed IP is a bad packet (no enable at no address)',
    trace: 'psb; mode 64; psbend; pge',
    want: ['[14, 0: error: unknown packet]'] },
  { name: 'no_enable after a disable: ptxed prints the last instruction again and names it',
    trace: 'psb; mode 64; fup 0x1008; psbend; tnt .; pgd; tnt .',
    want: ['0000000000001008', '000000000000100a', '[disabled]', '000000000000100a', '[19, 100a: error: expected tracing enabled event]'] },
  { name: 'the trace ends after an asynchronous disable where a TNT bit was wanted: a quiet end',
    trace: 'psb; mode 64; fup 0x1008; psbend; fup 0x1010; pgd',
    want: ['0000000000001008'] },
  { name: 'fetching the event after a disable fails: ptxed does not print the disable',
    trace: 'psb; mode 64; fup 0x1008; psbend; tnt .; pgd; mode 64; pge',
    want: ['0000000000001008', '000000000000100a', '[1b, 100a: error: unknown packet]'] },
  { name: 'a FUP with a suppressed IP outside PSB+ fails the read-ahead that meets it',
    trace: 'psb; mode 64; fup 0x1008; psbend; tnt ..; fup; tip 0x1010',
    want: ['0000000000001008', '[18, 1008: error: ip has been suppressed]'] },
  { name: 'a TIP.PGD with reserved IP compression inside PSB+: libipt rejects it by its opcode (bad_context)',
    trace: 'psb; mode 64; raw e1 00; fup 0x1000; psbend',
    want: ['[0, 0: sync error: unexpected packet context]'] },
  { name: 'an unknown opcode inside PSB+ is an unknown opcode',
    trace: 'psb; mode 64; raw 05; fup 0x1000; psbend',
    want: ['[0, 0: sync error: unknown opcode]'] },
  // Found by comparing random event sequences with libipt (parity-fz/randiff).
  { name: 'two events bound to one FUP: libipt stands at the FUP until it takes the last of them',
    trace: 'psb; mode 64; fup 0x1010; psbend; mwait 1 2; exstop ip; fup 0x2001; vmcs 0x9000',
    want: ['0000000000001010', '0000000000001011', '0000000000001012', '[23, 1012: error: trace stream does not match query]'] },
  { name: 'a bad event packet behind a held event (PIP before MOV CR3): the query meets the packet first',
    trace: 'psb; mode 64; fup 0x5000; psbend; pip 0x8000; stop; fup 0x2000; tip 0x100a',
    want: ['0000000000005000', '[1f, 5000: error: trace stream does not match query]'] },
  { name: 'an event behind a held event at the end of the trace: not fetched, the query does not match',
    trace: 'psb; mode 64; fup 0x1008; psbend; vmcs 0x9000; pge 0x1000',
    want: ['0000000000001008', '[1e, 1008: error: trace stream does not match query]'] },
  { name: 'an OVF behind a held event (VMCS before VMPTRLD): the query meets the OVF',
    trace: 'psb; mode 64; fup 0x1012; psbend; vmcs 0x9000; ovf; psb; mode 64; fup 0x1005; psbend',
    want: ['0000000000001012', '[1e, 1012: error: trace stream does not match query]'] },
  { name: 'an event packet after the TNT bits: a wrong bit is reported at that packet',
    trace: 'psb; mode 64; fup 0x5000; psbend; tnt !!; pwre 1 2; pgd',
    want: ['0000000000005000', '[18, 5000: error: compressed return without call]'] },
  { name: 'BDM70: a TIP.PGE after the first PSB+ enables tracing; the FUP in PSB+ does not',
    trace: 'psb; mode 64; fup 0x1010; psbend; mode 64; pge 0x3000; tip 0x1008', options: BROADWELL,
    want: ['[enabled, ip: 0000000000003000]', '[exec mode: 64-bit, ip: 0000000000003000]', '0000000000003000', '0000000000003003',
      '0000000000003004', '[end of trace]'] },
  { name: 'BDM70: the same after a later PSB+ while tracing is disabled (no no_enable)',
    trace: 'psb; mode 64; fup 0x1008; psbend; tnt .; pgd; psb; mode 64; fup 0x100a; psbend; pge 0x3000', options: BROADWELL,
    want: ['0000000000001008', '000000000000100a', '[disabled]', '[enabled, ip: 0000000000003000]', '[end of trace]'] },
  { name: 'BDM70 does not apply without a TIP.PGE: the PSB+ FUP wants a TIP.PGE before it',
    trace: 'psb; mode 64; fup 0x1008; psbend; tnt .; pgd; psb; mode 64; fup 0x100a; psbend; tnt .', options: BROADWELL,
    want: ['0000000000001008', '000000000000100a', '[disabled]', '000000000000100a', '[30, 100a: error: expected tracing enabled event]'] },
  { name: 'a TIP.PGD while disabled is taken quietly at the end of the trace',
    trace: 'psb; mode 64; psbend; pgd',
    want: [] },
  { name: 'a TIP.PGD while disabled, then more trace: no_enable after the TIP.PGD',
    trace: 'psb; mode 64; fup 0x1008; psbend; tnt .; pgd; pgd; tnt .',
    want: ['0000000000001008', '000000000000100a', '[disabled]', '000000000000100a', '[1a, 100a: error: expected tracing enabled event]'] },
  { name: 'a FUP + TIP while disabled at the end of the trace: a quiet end',
    trace: 'psb; mode 64; psbend; fup 0x1000; tip 0x1010',
    want: [] },
  { name: 'a FUP while disabled waits for its TIP: a TIP.PGE (past a PIP) is the wrong packet',
    trace: 'psb; mode 64; psbend; fup 0x1000; pip 0x9000; pge 0x1010',
    want: ['[1f, 0: error: unexpected packet context]'] },
  { name: 'a FUP while disabled still waits after a PSB+',
    trace: 'psb; mode 64; psbend; fup 0x1000; psb; mode 64; psbend; pge 0x1010',
    want: ['[2b, 0: error: unexpected packet context]'] },
  { name: 'APL12: the FUP after an OVF is dropped when a TIP.PGE comes first (past timing)',
    trace: 'psb; mode 64; fup 0x1000; psbend; ovf; fup 0x1010; tsc 0x100; pge 0x1012', options: GOLDMONT,
    want: ['[overflow]', '[enabled, ip: 0000000000001012]', '[end of trace]'] },
  { name: 'APL12: also when a PSB+ without a FUP comes first',
    trace: 'psb; mode 64; fup 0x1000; psbend; ovf; fup 0x1010; psb; mode 64; psbend; pge 0x1012', options: GOLDMONT,
    want: ['[overflow]', '[enabled, ip: 0000000000001012]', '[end of trace]'] },
  { name: 'APL12: also when TraceStop comes first',
    trace: 'psb; mode 64; fup 0x1000; psbend; ovf; fup 0x1010; stop', options: GOLDMONT,
    want: ['[overflow]', '[stopped]'] },
  { name: 'APL12 does not apply before a PSB+ with a FUP',
    trace: 'psb; mode 64; fup 0x1000; psbend; ovf; fup 0x1010; psb; mode 64; fup 0x1012; psbend; tnt !.', options: GOLDMONT,
    want: ['[overflow, ip: 0000000000001010]', '0000000000001010', '0000000000001011', '0000000000001012', '[34, 1012: error: compressed return without call]'] },
  { name: 'APL12 does not apply before a TNT (past a PIP)',
    trace: 'psb; mode 64; fup 0x1000; psbend; ovf; fup 0x1010; pip 0x9000; tnt !.', options: GOLDMONT,
    want: ['[overflow, ip: 0000000000001010]', '0000000000001010', '0000000000001011', '0000000000001012', '[25, 1012: error: compressed return without call]'] },
  { name: "APL12's look-ahead meets an unknown opcode: the overflow fails at the FUP",
    trace: 'psb; mode 64; fup 0x1000; psbend; ovf; fup 0x1010; raw d9; pge 0x1012', options: GOLDMONT,
    want: ['[19, 0: error: unknown opcode]'] },
];

function ours(text: string, options: PtFlowOptions = {}): string[] {
  const image = testImage();
  let out = '';
  const printer = new PtxedPrinter(image, (s) => {
    out += s;
  }, { eventIp: true });
  const dec = new PtFlowDecoder(image, printer, options);
  printer.attach(dec);
  dec.decode(trace(text));
  printer.finish();
  printer.flush();
  printer.dispose();
  return out.split('\n').filter((l) => l !== '');
}

for (const c of CASES) {
  t.test(c.name, async (t) => {
    t.same(ours(c.trace, c.options), c.want);
  });
}

t.test("the same as libipt's text (pt-libipt insn --event:ip)", async (t) => {
  const tool = needNativeTool(t, 'pt-libipt');
  if (!tool) return;
  for (const c of CASES) t.same(ours(c.trace, c.options), libiptLines(tool, c.trace, c.options), c.name);
});

t.test('code that only branches directly (jmp $) ends in an error, not a hang (libipt would loop)', async (t) => {
  const image = new PtImage();
  image.add(Uint8Array.from([0x90, 0xeb, 0xfd]), 0x1000);
  const sink = new CountingSink();
  new PtFlowDecoder(image, sink).decode(trace('psb; mode 64; fup 0x1000; psbend; tnt !'));
  t.equal(sink.errors.length, 1);
  t.equal(sink.errors[0]!.code, 'loop');
  t.equal(sink.errors[0]!.ip, 0x1001, 'named at the jump');
  t.ok(sink.instructions >= 1 << 20, `${sink.instructions} instructions walked before it`);
});
