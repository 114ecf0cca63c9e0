// Damaged traces as libipt 2.0.5 and ptxed meet them, hand-written (events-helper.ts's trace text
// and test image): where a packet that does not decode is reported (libipt's read-ahead looks
// only at the opcode of flow and event packets), what the read-ahead after an event fetched at
// the last TNT bit finds, and ptxed's own habits around errors (the last instruction printed
// again on no_enable, the event dropped when fetching the next one fails). Expected texts are
// ptxed's with the instruction decoder and --event:ip, taken from libipt (`pt-libipt insn`,
// events-helper.ts's libiptLines); with libipt present the test also compares with it live.

import t from 'tap';
import { CountingSink, PtFlowDecoder, PtImage, PtxedPrinter } from '../../../../../arch/x86/pt/flow/index.js';
import { needNativeTool } from '../../../../helpers/reference.js';
import { libiptLines, testImage, trace } from './events-helper.js';

interface Case {
  name: string;
  trace: string;
  want: string[];
}

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
];

function ours(text: string): string[] {
  const image = testImage();
  let out = '';
  const printer = new PtxedPrinter(image, (s) => {
    out += s;
  }, { eventIp: true });
  const dec = new PtFlowDecoder(image, printer);
  printer.attach(dec);
  dec.decode(trace(text));
  printer.finish();
  printer.flush();
  printer.dispose();
  return out.split('\n').filter((l) => l !== '');
}

for (const c of CASES) {
  t.test(c.name, async (t) => {
    t.same(ours(c.trace), c.want);
  });
}

t.test("the same as libipt's text (pt-libipt insn --event:ip)", async (t) => {
  const tool = needNativeTool(t, 'pt-libipt');
  if (!tool) return;
  for (const c of CASES) t.same(ours(c.trace), libiptLines(tool, c.trace), c.name);
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
