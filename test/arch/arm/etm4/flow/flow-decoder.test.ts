// The flow decoder on small hand-made traces over hand-made code: 64-bit (tagged) addresses kept
// exactly, Cancel format 1 removing atoms without adding any, no range invented after an
// indirect branch whose target was never traced, and T32 code with BL and BX LR.

import t from 'tap';
import { defaultEtm4Config } from '../../../../../arch/arm/etm4/config.js';
import { Etm4PacketDecoder } from '../../../../../arch/arm/etm4/decoder.js';
import { Etm4PacketEncoder } from '../../../../../arch/arm/etm4/encoder.js';
import { elementToJson, formatElementLine } from '../../../../../arch/arm/etm4/flow/elements.js';
import { Etm4FlowDecoder } from '../../../../../arch/arm/etm4/flow/flow-decoder.js';
import { ImageMemory } from '../../../../../arch/arm/etm4/flow/image-memory.js';
import { encodeBLR, encodeRET } from '../../../../../arch/arm/isa-a64/encode.js';
import type { Etm4Config } from '../../../../../arch/arm/etm4/config.js';

const NOP = 0xd503201f;

function code(words: number[]): Uint8Array {
  return new Uint8Array(Uint32Array.from(words).buffer);
}

/** Decodes what `write` encodes over code at `base`; returns the elements as trc_pkt_lister lines (no Idx/ID). */
function run(config: Etm4Config, base: number, bytes: Uint8Array, write: (enc: Etm4PacketEncoder) => void): { lines: string[]; json: Record<string, unknown>[] } {
  const enc = new Etm4PacketEncoder(config);
  enc.async();
  enc.traceInfo({});
  write(enc);
  const lines: string[] = [];
  const json: Record<string, unknown>[] = [];
  const flow = new Etm4FlowDecoder(config, { element: (e) => (lines.push(formatElementLine(e).replace(/^Idx:\d+; ID:\w+; OCSD_GEN_TRC_ELEM_/, '').replace(/\s+/g, ' ')), json.push(elementToJson(e))) }, {
    memory: new ImageMemory([{ start: base, bytes, space: -1 }]),
  });
  const dec = new Etm4PacketDecoder(config, flow, 0);
  dec.push(enc.out.view());
  dec.end();
  flow.end();
  return { lines, json };
}

const aarch64 = { el: 1, sf: 1, ns: 1, nse: 0 };

t.test('a tagged (non-canonical) exception return address is printed exactly', async (t) => {
  // 0x1000: NOP, BLR X0 → 0x6300000080000438, which faults (instruction abort, type 0x0b).
  const cfg = defaultEtm4Config(0x10);
  const { lines, json } = run(cfg, 0x1000, code([NOP, encodeBLR(0)]), (enc) => {
    enc.encode({ kind: 'addrContext', is: 0, wide: true, hi: 0, lo: 0x1000, ...aarch64 });
    enc.atoms(1, 1);
    enc.address(0x63000000, 0x80000438, 0);
    enc.exception(0x0b, 1);
    enc.address(0x63000000, 0x80000438, 0);
  });
  t.match(lines, [/^NO_SYNC/, /^PE_CONTEXT/, /^INSTR_RANGE\(exec range=0x1000:\[0x1008\] num_i\(2\) .* E iBR b\+link/, /^EXCEPTION\(pref ret addr:0x6300000080000438; excep num \(0x0b\)/, /^EO_TRACE/]);
  t.same(json[3], { idx: json[3]!['idx'], id: 0x10, elem: 'EXCEPTION', num: 0x0b, ret: '0x6300000080000438' });
});

t.test('Cancel format 1 cancels atoms and adds none (MAXSPEC 8)', async (t) => {
  // RETs at 0x2000...: each not-taken atom walks one of them.
  const cfg = defaultEtm4Config(0x10, { TRCIDR8: 8 });
  const bytes = code([encodeRET(), encodeRET(), encodeRET(), encodeRET()]);
  const { lines } = run(cfg, 0x2000, bytes, (enc) => {
    enc.encode({ kind: 'addrContext', is: 0, wide: true, hi: 0, lo: 0x2000, ...aarch64 });
    enc.atoms(0, 3); // N N N
    enc.encode({ kind: 'cancelF1', cancel: 2, mispredict: false }); // one N left
    enc.atoms(0, 1); // N: two uncommitted
    enc.encode({ kind: 'commit', commit: 2 });
    enc.encode({ kind: 'commit', commit: 1 }); // one more than there is
    enc.atoms(0, 1); // the lost sync is reported at the next packet
  });
  const ranges = lines.filter((l) => l.startsWith('INSTR_RANGE'));
  t.equal(ranges.length, 2, 'two atoms committed');
  t.match(ranges, [/exec range=0x2000:\[0x2004\] num_i\(1\) .* N iBR A64:ret/, /exec range=0x2004:\[0x2008\]/]);
  t.match(lines.at(-2), /^NO_SYNC\( \[bad-packet\]\)/, 'the third commit overruns: nothing else was added');
});

t.test('after a taken indirect branch with no target address, an exception has no range', async (t) => {
  // 0x3000: RET (taken, target never traced), then an exception at 0x3010.
  const cfg = defaultEtm4Config(0x10);
  const { lines } = run(cfg, 0x3000, code([encodeRET(), NOP, NOP, NOP, NOP, NOP]), (enc) => {
    enc.encode({ kind: 'addrContext', is: 0, wide: true, hi: 0, lo: 0x3000, ...aarch64 });
    enc.atoms(1, 1);
    enc.exception(0x0e, 1);
    enc.address(0, 0x3010, 0);
  });
  t.match(lines.slice(2, 4), [/^INSTR_RANGE\(exec range=0x3000:\[0x3004\] num_i\(1\) .* E iBR A64:ret/, /^EXCEPTION\(pref ret addr:0x3010;/]);
});

t.test('T32: BL, then BX LR back through the return stack', async (t) => {
  // 0x4000: MOVS r0,#1; BL 0x4010 | 0x4010: NOP; BX LR | 0x4006: MOVS; POP {pc}
  const half = [0x2001, 0xf000, 0xf805, 0x2002, 0xbd00, 0, 0, 0, 0xbf00, 0x4770];
  const bytes = new Uint8Array(Uint16Array.from(half).buffer);
  const cfg = defaultEtm4Config(0x10, { TRCCONFIGR: 0xc1 | 0x1000, TRCIDR2: 0x88 | (4 << 5) | (8 << 25) });
  const { lines } = run(cfg, 0x4000, bytes, (enc) => {
    enc.encode({ kind: 'addrContext', is: 1, wide: false, hi: 0, lo: 0x4000, el: 1, sf: 0, ns: 1, nse: 0 });
    enc.atoms(0b111, 3); // BL taken, BX LR taken (return stack: no address), POP {pc} taken
    enc.address(0, 0x4000, 1);
  });
  t.match(lines.slice(1, 5), [
    /^PE_CONTEXT\(\(ISA=T32\) EL1N; 32-bit;/,
    /^INSTR_RANGE\(exec range=0x4000:\[0x4006\] num_i\(2\) last_sz\(4\) \(ISA=T32\) E BR b\+link/,
    /^INSTR_RANGE\(exec range=0x4010:\[0x4014\] num_i\(2\) last_sz\(2\) \(ISA=T32\) E iBR V7:impl ret/,
    /^INSTR_RANGE\(exec range=0x4006:\[0x400a\] num_i\(2\) last_sz\(2\) \(ISA=T32\) E iBR V7:impl ret/,
  ]);
});
