// An instruction that the end of one section cuts and the next section completes (two --raw files
// back to back): libipt reads it across the two, and so does the flow decoder; with nothing
// mapped after it, or only in another address space, it is libipt's bad_insn. Expected texts are
// ptxed's (libipt 2.0.5, `pt-libipt ptxed`), compared live when the tool is there.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { PtFlowDecoder, PtImage, PtxedPrinter, type PtxedPrintOptions } from '../../../../../arch/x86/pt/flow/index.js';
import { needNativeTool } from '../../../../helpers/reference.js';
import { trace } from './events-helper.js';

// 0x1000: nop; nop; call 0x100c (e8 05 00 00 00), its first two bytes in A, the rest in B.
// 0x100c: ret. One TNT bit: the return, compressed.
const A = Uint8Array.from([0x90, 0x90, 0xe8, 0x05]);
const B = Uint8Array.from([0x00, 0x00, 0x00, 0x90, 0x90, 0x90, 0x90, 0x90, 0xc3, 0x90]);
const TRACE = 'psb; mode 64; fup 0x1000; psbend; tnt !';

interface Section {
  bytes: Uint8Array;
  at: number;
  cr3?: number;
}

function ours(sections: Section[], options: PtxedPrintOptions): string[] {
  const image = new PtImage();
  for (const s of sections) image.add(s.bytes, s.at, s.cr3);
  let out = '';
  const printer = new PtxedPrinter(image, (s) => {
    out += s;
  }, options);
  const dec = new PtFlowDecoder(image, printer);
  printer.attach(dec);
  dec.decode(trace(TRACE));
  printer.finish();
  printer.flush();
  printer.dispose();
  return out.split('\n').filter((l) => l !== '');
}

function libipt(tool: string, sections: Section[], args: string[]): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'hwtrace-across-'));
  try {
    writeFileSync(join(dir, 't.pt'), trace(TRACE));
    const raw = sections.flatMap((s, i) => {
      writeFileSync(join(dir, `s${i}.bin`), s.bytes);
      return ['--raw', `${join(dir, `s${i}.bin`)}:0x${s.at.toString(16)}`];
    });
    const r = spawnSync(tool, ['ptxed', ...args, '--pt', join(dir, 't.pt'), ...raw], { encoding: 'utf8' });
    return r.stdout.split('\n').filter((l) => l !== '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const JOINED = [{ bytes: A, at: 0x1000 }, { bytes: B, at: 0x1004 }];
const WANT = ['0000000000001000', '0000000000001001', '0000000000001002', '000000000000100c', '[end of trace]'];

t.test('the call cut by the first section is read on into the second', async (t) => {
  t.same(ours(JOINED, { noInst: true }), WANT, 'instruction decoder');
  t.same(ours(JOINED, { noInst: true, blockDecoder: true }), WANT, 'block decoder');
  const listing = ours(JOINED, { disasm: true, check: true, rawInsn: true });
  t.match(listing[2], /^0000000000001002 e8 05 00 00 00 +call 0x100c$/, 'disassembled from both sections');
  t.notOk(listing.some((l) => l.includes('error')), '--check agrees with the length walked');
});

t.test('nothing mapped after the cut, or only in another address space: bad_insn at it', async (t) => {
  const want = ['0000000000001000', '0000000000001001', '[17, 1002: error: unknown instruction]'];
  t.same(ours([{ bytes: A, at: 0x1000 }], { noInst: true }), want, 'no section after it');
  t.same(ours([{ bytes: A, at: 0x1000 }, { bytes: B, at: 0x1004, cr3: 0x9000 }], { noInst: true }), want, 'the next one in another CR3');
});

t.test("the same as libipt's ptxed", async (t) => {
  const tool = needNativeTool(t, 'pt-libipt');
  if (!tool) return;
  t.same(ours(JOINED, { noInst: true }), libipt(tool, JOINED, ['--insn-decoder']), 'instruction decoder');
  t.same(ours(JOINED, { noInst: true, blockDecoder: true }), libipt(tool, JOINED, ['--block-decoder']), 'block decoder');
  const alone = [{ bytes: A, at: 0x1000 }];
  t.same(ours(alone, { noInst: true }), libipt(tool, alone, ['--insn-decoder']), 'nothing after it');
});
