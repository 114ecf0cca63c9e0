// PtxedPrinter on hand-made flows: the disassembly (iced-x86 set up to read like XED), the
// columns ptxed adds (--offset, --time, --raw-insn, `? `), event and error lines, statistics,
// --check, and libipt's block boundaries (--block:show-blocks) on code seen for the first time,
// on code seen before and on the way to an event.

import t from 'tap';
import { CountingSink, EV_ASYNC, EV_HAS_TIME, EV_STATUS_UPDATE, FlowEvent, PtImage, PtxedPrinter, type PtxedPrintOptions } from '../../../../../arch/x86/pt/flow/index.js';
import { hex } from '../../../../../arch/x86/pt/flow/ptxed-text.js';

const BASE = 0x401000;
// push rbp; mov rbp, rsp; mov rax, [rbp-8]; call 0x401010; syscall; ret; jz 0x401014; jmp $;
// mov rax, [rip+0x10]; mov dword [rbp-4], 1
const CODE = [
  0x55, 0x48, 0x89, 0xe5, 0x48, 0x8b, 0x45, 0xf8, 0xe8, 0x03, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xc3, 0x74, 0x02, 0xeb, 0xfe, 0x48, 0x8b,
  0x05, 0x10, 0x00, 0x00, 0x00, 0xc7, 0x45, 0xfc, 0x01, 0x00, 0x00, 0x00,
];

/** An image of `code` at `base`, classified (as the flow decoder leaves it). */
function image(code: number[] = CODE, base = BASE): PtImage {
  const im = new PtImage();
  im.add(Uint8Array.from(code), base);
  const cache = im.cache(0, 64);
  for (let off = 0; off < code.length; off += cache.length[off] || 1) if (cache.runCount[off] === 0) cache.fill(off);
  return im;
}

/** Each instruction of CODE as a run of one (what the decoder reports is irrelevant here). */
function printAll(options: PtxedPrintOptions): string[] {
  const im = image();
  let text = '';
  const p = new PtxedPrinter(im, (s) => (text += s), options);
  const cache = im.cache(0, 64);
  for (let off = 0; off < CODE.length; off += cache.length[off]!) p.range(BASE + off, 0, 1, 0, 0, 64, 0);
  p.finish();
  p.flush();
  p.dispose();
  return text.split('\n').filter((l) => l !== '');
}

t.test('disassembly: Intel syntax as XED writes it, AT&T with --att, bytes with --raw-insn', async (t) => {
  t.same(printAll({ disasm: true }), [
    '0000000000401000  push rbp',
    '0000000000401001  mov rbp, rsp',
    '0000000000401004  mov rax, qword ptr [rbp-0x8]',
    '0000000000401008  call 0x401010',
    '000000000040100d  syscall',
    '000000000040100f  ret',
    '0000000000401010  jz 0x401014',
    '0000000000401012  jmp 0x401012',
    '0000000000401014  mov rax, qword ptr [rip+0x10]',
    '000000000040101b  mov dword ptr [rbp-0x4], 0x1',
  ]);
  const att = printAll({ disasm: true, att: true });
  t.equal(att[1], '0000000000401001  mov %rsp, %rbp');
  t.equal(att[2], '0000000000401004  mov -0x8(%rbp), %rax');
  const raw = printAll({ disasm: true, rawInsn: true });
  t.equal(raw[1], `0000000000401001 48 89 e5${'   '.repeat(12)}  mov rbp, rsp`, 'bytes padded to 15');
  t.equal(raw[3], `0000000000401008 e8 03 00 00 00${'   '.repeat(10)}  call 0x401010`);
  t.same(printAll({ disasm: true, noInst: true }), printAll({}), '--no-inst: addresses only');
  t.same(printAll({}).length, 10, 'one line per instruction');
  t.ok(printAll({}).every((l) => /^[0-9a-f]{16}$/.test(l)));
});

t.test('columns: --offset and --time before the address, `? ` for speculative instructions', async (t) => {
  const im = image();
  let text = '';
  const p = new PtxedPrinter(im, (s) => (text += s), { offset: true, time: true, eventTime: true, eventIp: true });
  const pos = { offset: 0x2a, clock: { time: 0x99 } };
  p.attach(pos);
  p.event(FlowEvent.PAGING, Number.NaN, 0x1000, Number.NaN, EV_STATUS_UPDATE | EV_HAS_TIME, 0x77);
  p.range(BASE, 0, 2, 0, 0, 64, 0);
  p.event(FlowEvent.INTERRUPT, BASE + 4, 0, 0x401010, EV_ASYNC | EV_HAS_TIME, 0x1234);
  pos.offset = 0x31;
  p.range(BASE + 0x10, 0, 1, 0, 0, 64, 0, true);
  p.event(FlowEvent.CBR, Number.NaN, 0x1e, Number.NaN, 0, 0x2000);
  p.event(FlowEvent.END_OF_TRACE, BASE + 0x12, 0, Number.NaN, 0, 0x3000);
  p.flush();
  t.same(text.split('\n'), [
    // The status update is not printed, but its time is what --time shows after it.
    '000000000000002a  0000000000000077  0000000000401000',
    '000000000000002a  0000000000000077  0000000000401001',
    '[000000000000002a  0000000000001234  interrupt, from: 0000000000401004, to: 0000000000401010]',
    '0000000000000031  0000000000001234  ? 0000000000401010',
    // No EV_HAS_TIME: no event time (ptxed prints it only when the event has a TSC).
    '[0000000000000031  cbr: 1e]',
    // ptxed's own line, without columns.
    '[end of trace]',
    '',
  ]);
});

t.test('errors as ptxed diagnose() prints them; statistics; --quiet', async (t) => {
  const im = image();
  let text = '';
  const p = new PtxedPrinter(im, (s) => (text += s), { quiet: true, blockDecoder: true, stats: true });
  p.range(BASE, 0, 3, 0, 0, 64, 0);
  p.error({ code: 'nomap', offset: 0x1d, ip: -0x7f000000, message: 'no memory mapped at this address' });
  p.error({ code: 'nosync', offset: 0, ip: Number.NaN, message: 'no sync' });
  p.error({ code: 'bad_opc', offset: 0, ip: 0, message: 'unknown opcode', sync: true });
  p.event(FlowEvent.DISABLED, Number.NaN, 0);
  p.finish();
  p.printStats(true, true);
  p.flush();
  t.same(text.split('\n'), [
    '[1d, ffffffff81000000: error: no memory mapped at this address]',
    '[0, 0: error: no sync]',
    '[0, 0: sync error: unknown opcode]',
    'insn: 3.',
    'blocks:\t1.',
    '',
  ]);
  t.equal(p.errors, 3);
  t.equal(hex(0), '0');
  t.equal(hex(0x1000), '1000');
  t.equal(hex(-1), 'ffffffffffffffff');
});

t.test('--check: an instruction whose decoded length is not ours is reported', async (t) => {
  const im = image();
  let text = '';
  const p = new PtxedPrinter(im, (s) => (text += s), { check: true, quiet: true });
  p.attach({ offset: 0x40, clock: { time: 0 } });
  p.range(BASE, 0, 3, 0, 0, 64, 0);
  t.equal(text, '', 'nothing when the lengths agree');
  im.cache(0, 64).length[1] = 2; // pretend mov rbp, rsp were 2 bytes long
  p.range(BASE + 1, 0, 1, 0, 0, 64, 0);
  p.flush();
  t.equal(text, '[40, 401001: check error: length 2, decoded 3]\n');
});

// Blocks: nop; call f; jz top; ret | f: nop; ret
const LOOP = [0x90, 0xe8, 0x0a, 0x00, 0x00, 0x00, 0x74, 0xf8, 0xc3, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0xc3];
const F = 0x1010;

function blocks(options: PtxedPrintOptions, flow: (p: PtxedPrinter) => void): string[] {
  const im = image(LOOP, 0x1000);
  let text = '';
  const p = new PtxedPrinter(im, (s) => (text += s), { blockDecoder: true, showBlocks: true, stats: true, ...options });
  flow(p);
  p.finish();
  p.printStats(true, true);
  p.flush();
  return text.split('\n').filter((l) => l !== '').map((l) => (/^0{12}/.test(l) ? l.slice(12) : l));
}

/** Two rounds of the loop: nop, call, f's nop and ret, jz taken; then the same, jz not taken, ret. */
function twoRounds(p: PtxedPrinter): void {
  for (let round = 0; round < 2; round++) {
    p.range(0x1000, 0, 2, 0, 0, 64, 0);
    p.range(F, 0, 2, 0, 0, 64, 0);
    p.range(0x1006, 0, 1, 0, 0, 64, 0);
  }
  p.range(0x1008, 0, 1, 0, 0, 64, 0);
}

t.test("libipt's blocks: a first call ends its block, a known one does not", async (t) => {
  t.same(blocks({}, twoRounds), [
    '[block 1]', '1000', '1001', // first time through the call: the block cache is being filled
    '[block 2]', '1010', '1011',
    '[block 3]', '1006',
    '[block 4]', '1000', '1001', '1010', '1011', // known code: on through the call
    '[block 5]', '1006',
    '[block 6]', '1008',
    'insn: 11.', 'blocks:\t6.',
  ]);
  t.same(blocks({ endOnCall: true }, twoRounds).slice(8, 14), ['[block 4]', '1000', '1001', '[block 5]', '1010', '1011'], 'end-on-call');
  const noStats = blocks({ stats: false }, twoRounds);
  t.equal(noStats[0], '[block]', 'without statistics the blocks are not numbered');
});

t.test("libipt's blocks: on the way to an event, no block cache", async (t) => {
  const lines = blocks({}, (p) => {
    // An interrupt at f's ret: libipt walks there without its cache, in one block.
    p.range(0x1000, 0, 2, 0, 0, 64, 0);
    p.range(F, 0, 1, 0, 0, 64, 0);
    p.event(FlowEvent.INTERRUPT, F + 1, 0, 0x1000, EV_ASYNC);
    // Nothing was remembered: the call still ends the block the first time through.
    p.range(0x1000, 0, 2, 0, 0, 64, 0);
    p.range(F, 0, 2, 0, 0, 64, 0);
  });
  t.same(lines, ['[block 1]', '1000', '1001', '1010', '[interrupt]', '[block 2]', '1000', '1001', '[block 3]', '1010', '1011', 'insn: 7.', 'blocks:\t3.']);
});

t.test('the instruction decoder has no blocks', async (t) => {
  const lines = blocks({ blockDecoder: false }, twoRounds);
  t.same(lines.slice(-2), ['insn: 11.', 'blocks:\t0.']);
  t.notOk(lines.some((l) => l.startsWith('[block')));
});

t.test('bytes that do not decode: a decode error on the line, a check error', async (t) => {
  // 0x06 (push es) is invalid in 64-bit mode; shown as if a run held it.
  const im = image([0x06, 0x90]);
  let text = '';
  const p = new PtxedPrinter(im, (s) => (text += s), { disasm: true, check: true });
  p.range(BASE, 0, 1, 0, 0, 64, 0);
  p.flush();
  t.same(text.split('\n'), ['[0, 401000: check error: invalid instruction]', '0000000000401000 [xed decode error: (2) GENERAL_ERROR]', '']);
});

t.test('CountingSink counts', async (t) => {
  const c = new CountingSink();
  c.range(BASE, BASE + 4, 3);
  c.range(BASE, BASE + 4, 2);
  c.event();
  c.error({ code: 'nomap', offset: 4, ip: BASE, message: 'no memory mapped at this address' });
  t.equal(c.instructions, 5);
  t.equal(c.ranges, 2);
  t.equal(c.errors.length, 1);
});
