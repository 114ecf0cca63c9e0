// Our length decoder against libipt 2.0.5 itself (see libipt-probe.ts for how libipt is asked):
// every one-byte, 0F, 0F38 and 0F3A opcode with several following-byte patterns, with and without
// prefixes, VEX/EVEX forms and their 32-bit LES/LDS/BOUND look-alikes, all 256 ModRMs of 0F 01,
// in 64-, 32- and 16-bit modes, then deterministic pseudo-random byte strings, some cut short at
// the end of their section. Each case is run through two traces (a TIP, then TNT bits), so the
// length of ordinary and conditional instructions and the kind of every branch are both compared.

import t, { type Test } from 'tap';
import { X86Ild } from '../../../../arch/x86/isa/ild.js';
import { needNativeTool } from '../../../helpers/reference.js';
import { type Bitness, type ProbeCase, matches, predict, probeLibipt } from './libipt-probe.js';

const MAPS = [[], [0x0f], [0x0f, 0x38], [0x0f, 0x3a]];
/**
 * ModRM forms: none read yet (NOPs follow), memory and register with reg 0, 1, 2, 3, 4, 5, 7 (the
 * f6/f7/c7/ff groups), SIB with disp32, [disp32] (64/32-bit) and [disp16] (16-bit), disp8, disp32.
 */
const PATTERNS = [[], [0x00], [0x08], [0xc0], [0xc8], [0x04, 0x05], [0x05], [0x06], [0x45], [0x85], [0x10], [0x28], [0x38], [0xd8], [0xe0], [0xe8], [0xf8]];
const SHORT_PATTERNS = [[], [0x05], [0x04, 0x05], [0xc0], [0xe8]];
/** Bytes after the pattern: displacements and immediates read these, then NOPs. */
const ALL_ANSWERS = ['ip N', 'ip T', 'bad: unknown instruction', 'err N: trace stream does not match query', 'err N: bad compressed return'];
const TAIL = [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99];

function sweep(out: ProbeCase[], bitness: Bitness, prefixes: number[][], maps: number[][], patterns: number[][]): void {
  for (const p of prefixes) {
    for (const m of maps) {
      for (let op = 0; op < 256; op++) {
        for (const pat of patterns) out.push({ bytes: Uint8Array.from([...p, ...m, op, ...pat, ...TAIL]), bitness });
      }
    }
  }
}

function opcodeCases(): ProbeCase[] {
  const out: ProbeCase[] = [];
  for (const bitness of [64, 32, 16] as const) sweep(out, bitness, [[]], MAPS, PATTERNS);
  const prefixed: Record<Bitness, number[][]> = {
    64: [[0x66], [0x67], [0xf2], [0xf3], [0x48], [0xf0], [0x2e], [0x48, 0x66], [0x66, 0x48]],
    32: [[0x66], [0x67], [0xf3], [0x41]],
    16: [[0x66], [0x67]],
  };
  for (const bitness of [64, 32, 16] as const) sweep(out, bitness, prefixed[bitness], [[], [0x0f]], SHORT_PATTERNS);
  // Every ModRM of 0F 01 (VMCALL, VMLAUNCH, UIRET … live there).
  for (const bitness of [64, 32, 16] as const) sweep(out, bitness, [[], [0xf3], [0x66]], [[0x0f, 0x01]], [[]]);
  return out;
}

function vexCases(): ProbeCase[] {
  const out: ProbeCase[] = [];
  const pats = [[], [0x05], [0xc0]];
  const vex64 = [
    [0xc5, 0xf8], [0xc5, 0x7d], [0xc4, 0xe1, 0x78], [0xc4, 0xe2, 0xf8], [0xc4, 0xe3, 0x78], [0xc4, 0xe0, 0xf8],
    [0xc4, 0xe4, 0x78], [0xc4, 0xe5, 0x78], [0xc4, 0xe8, 0x78], [0x62, 0xf1, 0x7c, 0x08], [0x62, 0xf0, 0xfc, 0x48], [0x62, 0xf3, 0x7d, 0x08],
  ];
  sweep(out, 64, vex64, [[]], pats);
  // Outside 64-bit mode c4/c5/62 are VEX/EVEX only when the next byte's top bits are 11.
  const vex32 = [[0xc5, 0xf8], [0xc5, 0x38], [0xc4, 0xe1, 0x78], [0xc4, 0x21, 0x78], [0x62, 0xf1, 0x7c, 0x08], [0x62, 0x31, 0x7c, 0x08]];
  sweep(out, 32, vex32, [[]], pats);
  sweep(out, 16, [[0xc5, 0xf8], [0xc4, 0x05]], [[]], pats);
  return out;
}

/** xorshift32: deterministic bytes for the random cases. */
function bytesFrom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

function randomCases(): ProbeCase[] {
  const next = bytesFrom(0x1d5eed);
  const prefixes = [0x66, 0x67, 0xf2, 0xf3, 0xf0, 0x2e, 0x65, 0x40, 0x48, 0x41, 0x4c, 0xc4, 0xc5, 0x62, 0x0f, 0x0f, 0x0f];
  const out: ProbeCase[] = [];
  for (let i = 0; i < 6000; i++) {
    const b = new Uint8Array(16);
    for (let k = 0; k < b.length; k++) b[k] = next() & 0xff;
    const np = next() % 6;
    for (let k = 0; k < np; k++) b[k] = prefixes[next() % prefixes.length]!;
    const bitness: Bitness = i % 3 === 0 ? 64 : i % 3 === 1 ? 32 : 16;
    // One in three ends at the end of its section, often inside the instruction.
    if (i % 3 === 1) out.push({ bytes: b.slice(0, 1 + (next() % 9)), bitness, exact: true });
    else out.push({ bytes: b, bitness });
  }
  // Prefix runs around the 15-byte limit.
  for (const bitness of [64, 32, 16] as const) {
    for (const p of [0x66, 0x2e, 0xf3, 0x40]) {
      for (let n = 12; n <= 16; n++) {
        for (const tail of [[0x90], [0x05, 1, 2, 3, 4], [0x0f, 0x05], [0xc3]]) out.push({ bytes: Uint8Array.from([...Array<number>(n).fill(p), ...tail]), bitness });
      }
    }
  }
  return out;
}

function compare(t: Test, tool: string, cases: readonly ProbeCase[], answers: readonly string[]): void {
  const ild = new X86Ild();
  const seen = new Set<string>();
  for (const kind of ['tip', 'tnt'] as const) {
    const lib = probeLibipt(tool, cases, kind);
    const wrong: string[] = [];
    cases.forEach((c, i) => {
      const ours = predict(ild, c, kind);
      seen.add(lib[i]!.replace(/[+-][0-9a-f]+/g, 'N'));
      if (!matches(ours, lib[i]!)) wrong.push(`${c.bitness}-bit ${Buffer.from(c.bytes).toString('hex')}${c.exact ? ' (section ends)' : ''}: libipt '${lib[i]}', ours '${ours}'`);
    });
    t.same(wrong.slice(0, 20), [], `${kind} trace: ${wrong.length} of ${cases.length} cases differ from libipt`);
  }
  // The comparison means something only if libipt gave the kinds of answer the cases call for.
  for (const kind of answers) t.ok(seen.has(kind), `libipt answered '${kind}' somewhere`);
}

t.test('every opcode map, with and without prefixes, in 64/32/16-bit mode', async (t) => {
  const tool = needNativeTool(t, 'pt-libipt');
  if (tool) compare(t, tool, opcodeCases(), ALL_ANSWERS);
});

t.test('VEX, EVEX and their LES/LDS/BOUND look-alikes', async (t) => {
  const tool = needNativeTool(t, 'pt-libipt');
  if (tool) compare(t, tool, vexCases(), ['ip N', 'bad: unknown instruction']);
});

t.test('pseudo-random byte strings, cut short ones and the 15-byte limit', async (t) => {
  const tool = needNativeTool(t, 'pt-libipt');
  if (tool) compare(t, tool, randomCases(), ALL_ANSWERS);
});
