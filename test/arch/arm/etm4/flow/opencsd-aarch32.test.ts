// AArch32 flow decode (T32 and A32 classification, interworking) against OpenCSD: none of the
// real snapshots runs T32 code, so random programs stand in. A program mixes every T32 and A32
// waypoint form with ordinary instructions, branch targets on instruction starts; a random
// ETMv4 trace (atoms, addresses in either instruction set, context packets) walks it. Debian's
// trc_pkt_lister (OpenCSD 1.3.3) decodes the snapshot; its INSTR_RANGE, ADDR_NACC, PE_CONTEXT
// and NO_SYNC elements must equal ours.
//
// Known differences, normalised here:
// - An instruction in an IT block is conditional (Arm ARM, IT): we print `<cond>` for a range
//   that ends with one, OpenCSD does not track IT blocks. Dropped from our line for those.
// - OpenCSD reads 4 bytes per instruction, so a 16-bit T32 instruction in the last 2 bytes of a
//   memory image is ADDR_NACC there; we decode it. The programs end with a 32-bit instruction.
// - OpenCSD 1.3.3 prints ADDR_NACC without "; Memspace [...]" (1.8.0 adds it, as we do).
// Left out: A32 ERET. OpenCSD files it with the "miscellaneous" data-processing space and does
// not treat it as a branch; it writes the PC (Arm ARM, ERET: exception return), so it is a P0
// waypoint (IHI 0064, branch instructions) and we classify it as an indirect branch
// (test/arch/arm/isa-a32/classify.test.ts).

import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultEtm4Config } from '../../../../../arch/arm/etm4/config.js';
import { Etm4PacketDecoder } from '../../../../../arch/arm/etm4/decoder.js';
import { Etm4PacketEncoder } from '../../../../../arch/arm/etm4/encoder.js';
import { Elem, formatElementLine } from '../../../../../arch/arm/etm4/flow/elements.js';
import { Etm4FlowDecoder } from '../../../../../arch/arm/etm4/flow/flow-decoder.js';
import { ImageMemory } from '../../../../../arch/arm/etm4/flow/image-memory.js';
import { writeSnapshot } from '../../../../../arch/arm/opencsd/snapshot-writer.js';
import { Rng } from '../../../../../sim/rng.js';
import { needTrcPktLister } from '../../../../helpers/reference.js';

const T32_BASE = 0x8000;
const A32_BASE = 0x20000;
const T32_HALFWORDS = 3000;
const A32_WORDS = 1000;

/** A program: code bytes, instruction starts, and the addresses of instructions inside IT blocks. */
interface Program {
  t32: Uint8Array;
  a32: Uint8Array;
  t32Starts: number[];
  a32Starts: number[];
  inIt: Set<number>;
}

/** B.W / BL / BLX immediate fields (S, J1, J2, imm10, imm11) for a byte offset from PC. */
function t4Fields(offset: number): number {
  const imm = offset >> 1;
  const s = (imm >> 23) & 1;
  const j1 = (((imm >> 22) & 1) ^ 1) ^ s;
  const j2 = (((imm >> 21) & 1) ^ 1) ^ s;
  return ((s << 26) | (((imm >> 11) & 0x3ff) << 16) | (j1 << 13) | (j2 << 11) | (imm & 0x7ff)) >>> 0;
}

/**
 * Lays out the instructions first (kind and size), then encodes them, so that every direct
 * branch targets an instruction start in range of its encoding.
 */
function makeProgram(rng: Rng): Program {
  const r = (n: number): number => rng.below(n);
  // T32: kinds with their sizes.
  type Slot = { kind: string; at: number; size: number };
  const t32: Slot[] = [];
  const inIt = new Set<number>();
  let at = T32_BASE;
  const add = (kind: string, size: number): void => {
    t32.push({ kind, at, size });
    at += size;
  };
  const T32_KINDS: [string, number, number][] = [
    // kind, size, weight
    ['plain16', 2, 40], ['plain32', 4, 10], ['bcond', 2, 6], ['b16', 2, 4], ['cbz', 2, 3], ['bcondw', 4, 4], ['bw', 4, 3], ['bl', 4, 4],
    ['blx', 4, 2], ['bxlr', 2, 2], ['bx', 2, 1], ['blxr', 2, 1], ['movpc', 2, 1], ['pop', 2, 2], ['ldm', 4, 1], ['ldrpc', 4, 2], ['tb', 4, 1],
    ['isb', 4, 1], ['excret', 4, 1], ['it', 2, 3], ['wfx', 2, 1], ['wfxw', 4, 1],
  ];
  const total = T32_KINDS.reduce((s, k) => s + k[2], 0);
  while (at < T32_BASE + T32_HALFWORDS * 2) {
    let x = r(total);
    const k = T32_KINDS.find((e) => (x -= e[2]) < 0)!;
    if (k[0] === 'it') {
      const len = 1 + r(4);
      add(`it${len}`, 2);
      for (let i = 0; i < len; i++) {
        inIt.add(at);
        const last = i === len - 1 ? r(4) : 3;
        add(['itbxlr', 'itb', 'itldrpc', 'plain16'][last]!, last === 2 ? 4 : 2);
      }
    } else add(k[0], k[1]);
  }
  add('plain32', 4);
  const a32Starts: number[] = [];
  for (let i = 0; i < A32_WORDS; i++) a32Starts.push(A32_BASE + i * 4);
  const t32Starts = t32.map((s) => s.at);
  /** A T32 instruction start within [at + 4 + lo, at + 4 + hi]. */
  const targetNear = (from: number, lo: number, hi: number): number => {
    const c = t32Starts.filter((a) => a - from - 4 >= lo && a - from - 4 <= hi);
    return c.length ? c[r(c.length)]! : from + 4;
  };
  const half = new Uint16Array(T32_HALFWORDS + 4);
  let hw = 0;
  const put16 = (v: number): void => void (half[hw++] = v);
  const put32 = (v: number): void => {
    half[hw++] = v >>> 16;
    half[hw++] = v & 0xffff;
  };
  for (const s of t32) {
    const pc4 = s.at + 4;
    switch (s.kind) {
      case 'plain16':
        put16([0x2000 | r(0x800), 0x1800 | r(0x200), 0x6800 | r(0x800), 0xbf00, 0x2800 | r(0x800), 0x1c00 | r(0x200)][r(6)]!);
        break;
      case 'plain32':
        put32([0xf2400000 | (r(16) << 16) | (r(8) << 8) | r(256), 0xf8d00000 | (r(15) << 16) | (r(15) << 12) | r(4096), 0xeb000000 | (r(16) << 16) | (r(15) << 8) | r(16)][r(3)]! >>> 0);
        break;
      case 'bcond':
        put16(0xd000 | (r(14) << 8) | (((targetNear(s.at, -256, 254) - pc4) >> 1) & 0xff));
        break;
      case 'b16':
      case 'itb':
        put16(0xe000 | (((targetNear(s.at, -2048, 2046) - pc4) >> 1) & 0x7ff));
        break;
      case 'cbz': {
        const off = targetNear(s.at, 0, 126) - pc4;
        put16(0xb100 | (r(2) << 11) | ((off >> 6) << 9) | (((off >> 1) & 0x1f) << 3) | r(8));
        break;
      }
      case 'bcondw': {
        const imm = (targetNear(s.at, -0x100000, 0xffffe) - pc4) >> 1;
        const sgn = imm < 0 ? 1 : 0;
        put32(((0xf000 | (sgn << 10) | (r(14) << 6) | ((imm >> 11) & 0x3f)) << 16 | 0x8000 | (((imm >> 17) & 1) << 13) | (((imm >> 18) & 1) << 11) | (imm & 0x7ff)) >>> 0);
        break;
      }
      case 'bw':
      case 'bl':
        put32((0xf0000000 | (s.kind === 'bw' ? 0x9000 : 0xd000) | t4Fields(t32Starts[r(t32Starts.length)]! - pc4)) >>> 0);
        break;
      case 'blx': {
        // To an A32 instruction: offset from Align(PC, 4), H = 0.
        const to = a32Starts[r(a32Starts.length)]!;
        put32((0xf000c000 | t4Fields(to - (pc4 & ~3))) >>> 0);
        break;
      }
      case 'bxlr':
      case 'itbxlr':
        put16(0x4770);
        break;
      case 'bx':
        put16(0x4700 | (r(14) << 3));
        break;
      case 'blxr':
        put16(0x4780 | (r(14) << 3));
        break;
      case 'movpc':
        put16([0x46f7, 0x4697, 0x448f][r(3)]!);
        break;
      case 'pop':
        put16(0xbd00 | r(256));
        break;
      case 'ldm':
        put32([0xe8bd8ff0, 0xe8908002, 0xe9108002, 0xe990c000, 0xe83dc000][r(5)]!);
        break;
      case 'ldrpc':
      case 'itldrpc':
        put32([0xf8d0f008, 0xf850fc08, 0xf85dfb04, 0xf850f021, 0xf85ff040, 0xf8dff010][r(6)]!);
        break;
      case 'tb':
        put32([0xe8d0f001, 0xe8d0f011][r(2)]!);
        break;
      case 'isb':
        put32(0xf3bf8f6f);
        break;
      case 'excret':
        put32([0xf3de8f04, 0xf3de8f00, 0xf3c28f00][r(3)]!);
        break;
      case 'wfx':
        put16([0xbf30, 0xbf20][r(2)]!);
        break;
      case 'wfxw':
        put32([0xf3af8003, 0xf3af8002][r(2)]!);
        break;
      default: {
        // itN: firstcond, then a mask for N instructions.
        const len = Number(s.kind.slice(2));
        put16(0xbf00 | (r(14) << 4) | [8, 4 | (r(2) << 3), 2 | (r(4) << 2), 1 | (r(8) << 1)][len - 1]!);
      }
    }
  }
  const t32Bytes = new Uint8Array(hw * 2);
  for (let i = 0; i < hw; i++) {
    t32Bytes[2 * i] = half[i]! & 0xff;
    t32Bytes[2 * i + 1] = half[i]! >>> 8;
  }
  // A32: ordinary instructions (some conditional) and every waypoint form.
  const a32 = new Uint32Array(A32_WORDS);
  for (let i = 0; i < A32_WORDS; i++) {
    const here = A32_BASE + i * 4;
    const cond = r(3) === 0 ? r(14) : 0xe;
    const k = r(100);
    let op: number;
    if (k < 55) op = [0x03a00000 | (r(16) << 12) | r(4096), 0x00800000 | (r(16) << 16) | (r(15) << 12) | r(16), 0x05921004][r(3)]! | (cond << 28);
    else if (k < 70) op = (cond << 28) | (r(2) << 24) | 0x0a000000 | (((a32Starts[r(A32_WORDS)]! - here - 8) >> 2) & 0xffffff);
    else if (k < 74) {
      // BLX immediate to a T32 instruction: H is bit 1 of the offset.
      const off = t32Starts[r(t32Starts.length)]! - here - 8;
      op = 0xfa000000 | (((off >> 1) & 1) << 24) | ((off >> 2) & 0xffffff);
    } else
      op = [0x012fff1e, 0x012fff13, 0x012fff33, 0x01a0f00e, 0x008ff100, 0x08bd8010, 0x08908002, 0x049df004, 0x0590f008, 0x025ef004][r(10)]! | (cond << 28);
    if (k >= 74 && r(8) === 0) op = 0xf57ff06f; // ISB
    a32[i] = op >>> 0;
  }
  return { t32: t32Bytes, a32: new Uint8Array(a32.buffer), t32Starts, a32Starts, inIt };
}

/** A random ETMv4 trace over the program (not a real execution: any atom and address is valid input). */
function makeTrace(rng: Rng, p: Program): { bytes: Uint8Array; config: ReturnType<typeof defaultEtm4Config> } {
  const r = (n: number): number => rng.below(n);
  // AArch32-capable core, 32-bit context ID, no return stack.
  const config = defaultEtm4Config(0x10, { TRCIDR2: 0x88 | (4 << 5) | (8 << 25) });
  const enc = new Etm4PacketEncoder(config);
  const pick = (): [number, number] => (r(4) === 0 ? [p.a32Starts[r(p.a32Starts.length)]!, 0] : [p.t32Starts[r(p.t32Starts.length)]!, 1]);
  enc.async();
  enc.traceInfo({});
  const context = (): void => {
    const [lo, is] = pick();
    enc.encode({ kind: 'addrContext', is, wide: false, hi: 0, lo, el: 1, sf: 0, ns: 1, nse: 0 });
  };
  context();
  for (let i = 0; i < 3000; i++) {
    const k = r(100);
    if (k < 78) {
      const n = 1 + r(6);
      enc.atoms(r(1 << n), n);
    } else if (k < 97) {
      const [lo, is] = pick();
      enc.address(0, lo, is);
    } else context();
  }
  return { bytes: enc.out.view().slice(), config };
}

const KEPT = /OCSD_GEN_TRC_ELEM_(INSTR_RANGE|EXCEPTION|PE_CONTEXT|ADDR_NACC|NO_SYNC)\(/;
const norm = (l: string): string =>
  l.replace(/; Memspace \[[^\]]*\]/, '').replace(/; ID:\w+;/, ';').replace(/\s+\)$/, ')').replace(/\s+/g, ' ').trim();

const lister = needTrcPktLister(t);
if (lister !== undefined) {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    t.test(`random AArch32 program and trace, seed ${seed}`, async (t) => {
      const rng = new Rng(seed);
      const prog = makeProgram(rng);
      const { bytes, config } = makeTrace(rng, prog);
      const dir = mkdtempSync(join(tmpdir(), 'hwtrace-aarch32-'));
      t.teardown(() => rmSync(dir, { recursive: true, force: true }));
      const regs = config.registers;
      writeSnapshot(dir, {
        devices: [
          {
            name: 'cpu_0',
            class: 'core',
            type: 'Cortex-A53',
            dumps: [
              { file: 't32.bin', address: T32_BASE, data: prog.t32 },
              { file: 'a32.bin', address: A32_BASE, data: prog.a32 },
            ],
          },
          { name: 'etm_0', class: 'trace_source', type: 'ETM4', regs: { TRCCONFIGR: regs.TRCCONFIGR, TRCTRACEIDR: regs.TRCTRACEIDR, TRCIDR0: regs.TRCIDR0, TRCIDR1: regs.TRCIDR1, TRCIDR2: regs.TRCIDR2, TRCIDR8: regs.TRCIDR8 } },
        ],
        buffers: [{ name: 'ETB_0', file: 'trace.bin', format: 'source_data', data: bytes }],
        sourceBuffers: [['etm_0', 'ETB_0']],
        coreSources: [['cpu_0', 'etm_0']],
      });
      // cwd: trc_pkt_lister 1.3.3 writes trc_pkt_lister.ppl into its working directory even with -logstdout.
      const res = spawnSync(lister, ['-logstdout', '-ss_dir', dir, '-decode'], { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 28 });
      t.equal(res.status, 0, 'trc_pkt_lister ran');
      const want = res.stdout.split('\n').filter((l) => KEPT.test(l)).map(norm);
      const got: string[] = [];
      const isas = new Set<number>();
      const memory = new ImageMemory([
        { start: T32_BASE, bytes: prog.t32, space: -1 },
        { start: A32_BASE, bytes: prog.a32, space: -1 },
      ]);
      const flow = new Etm4FlowDecoder(
        config,
        {
          element: (e) => {
            let l = formatElementLine(e);
            if (e.type === Elem.INSTR_RANGE) {
              isas.add(e.isa);
              if (prog.inIt.has(e.end - e.lastSize)) l = l.replace(' <cond>', '');
            }
            if (KEPT.test(l)) got.push(norm(l));
          },
        },
        { memory },
      );
      const dec = new Etm4PacketDecoder(config, flow, 0);
      dec.push(bytes);
      dec.end();
      flow.end();
      t.ok(want.length > 1000, `OpenCSD decoded ${want.length} elements`);
      t.same([...isas].sort(), [1, 2], 'ranges in A32 and T32');
      let i = 0;
      while (i < want.length && i < got.length && want[i] === got[i]) i++;
      t.equal(i === want.length && i === got.length, true, `${want.length} elements equal` + (i < Math.max(want.length, got.length) ? `; first difference at ${i}: want ${want[i]} got ${got[i]}` : ''));
    });
  }
}
