// Shared by the hand-written flow tests (events, errata, filter, corners): a small program image,
// traces written as text (one packet per `;`-separated item, as libipt's .ptt directives), and a
// recorder that prints what the decoder reports in a form close to ptxed's with --event:ip:
//   `I 1000` / `I ? 301a` (speculative) per instruction, `[text]` per event (`su [text]` for
//   status updates, which ptxed does not print), `[offset, ip: error: message]` per error.
// Expected outputs in the tests were taken from libipt 2.0.5 (Debian's libipt2) on the same
// trace and image, through a small C program printing every pt_insn and pt_event field.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatAddr } from '../../../../../arch/common/address.js';
import { EV_STATUS_UPDATE, type FlowSink, PtFlowDecoder, type PtFlowOptions, PtImage, forEachInstruction, ptxedEventText } from '../../../../../arch/x86/pt/flow/index.js';
import { PtEncoder } from '../../../../../arch/x86/pt/encoder.js';
import {
  PT_CBR, PT_CFE, PT_CYC, PT_EVD, PT_EXSTOP, PT_FUP, PT_MNT, PT_MODE_EXEC, PT_MODE_TSX, PT_MTC, PT_MWAIT, PT_OVF, PT_PAD, PT_PIP,
  PT_PSB, PT_PSBEND, PT_PTW, PT_PWRE, PT_PWRX, PT_STOP, PT_TIP, PT_TIP_PGD, PT_TIP_PGE, PT_TMA, PT_TSC, PT_VMCS,
} from '../../../../../arch/x86/pt/opcodes.js';
import { PtPacket } from '../../../../../arch/x86/pt/packet.js';

/**
 * 64-bit code at 0x1000:
 *   1000 call 1010   1005 nop   1006 jmp rax   1008 jz 1005   100a syscall   100c nop
 *   1010 nop         1011 nop   1012 ret
 * at 0x2000: nop; iretq.  32-bit code at 0x5000: inc eax; ret.
 * at 0x3000: 3000 vmptrld [rax]  3003 nop  3004 vmlaunch  3007 nop  3008 mov cr3, rax  300b nop
 *   300c ptwrite eax  3010 mwait  3013 nop  3014 xbegin 301a  301a nop  301b xend  301e nop
 *   301f jmp rax  3021 nop  3022 nop  3023 jmp rax
 */
export function testImage(): PtImage {
  const code = new Uint8Array(0x20);
  code.set([0xe8, 0x0b, 0x00, 0x00, 0x00, 0x90, 0xff, 0xe0, 0x74, 0xfb, 0x0f, 0x05, 0x90], 0);
  code.set([0x90, 0x90, 0xc3], 0x10);
  const im = new PtImage();
  im.add(code, 0x1000);
  im.add(Uint8Array.from([0x90, 0x48, 0xcf]), 0x2000);
  im.add(Uint8Array.from([0x40, 0xc3]), 0x5000);
  im.add(hex('0fc730 90 0f01c2 90 0f22d8 90 f30faee0 0f01c9 90 c7f800000000 90 0f01d5 90 ffe0 90 90 ffe0'), 0x3000);
  return im;
}

function hex(s: string): Uint8Array {
  const t = s.replace(/\s+/g, '');
  return Uint8Array.from({ length: t.length / 2 }, (_, i) => parseInt(t.slice(2 * i, 2 * i + 2), 16));
}

/** A trace from text: `psb; mode 64; fup 0x1000; psbend; tnt !.; tip 0x2000; pgd; raw ad 00; …`. */
export function trace(text: string): Uint8Array {
  const enc = new PtEncoder();
  const p = new PtPacket();
  const put = (type: number, fields: Partial<PtPacket>): void => {
    Object.assign(p, fields);
    p.type = type;
    enc.encode(p);
  };
  for (const item of text.split(';')) {
    const [op, ...a] = item.trim().split(/\s+/);
    const n = (i: number, d = 0): number => (a[i] === undefined ? d : Number(a[i]));
    switch (op) {
      case undefined: case '': break;
      // Bytes as they are, for packets the encoder does not write (reserved or unknown encodings).
      case 'raw': for (const b of a) enc.out.push(parseInt(b, 16)); break;
      case 'psb': enc.simple(PT_PSB); break;
      case 'psbend': enc.simple(PT_PSBEND); break;
      case 'ovf': enc.simple(PT_OVF); break;
      case 'stop': enc.simple(PT_STOP); break;
      case 'pad': enc.simple(PT_PAD); break;
      case 'fup': case 'tip': case 'pge': case 'pgd': {
        const type = { fup: PT_FUP, tip: PT_TIP, pge: PT_TIP_PGE, pgd: PT_TIP_PGD }[op];
        if (a.length) enc.ip(type, n(0));
        else enc.ipSuppressed(type);
        break;
      }
      case 'tnt': {
        let v = 1;
        for (const c of a[0]!) v = (v << 1) | (c === '!' ? 1 : 0);
        enc.out.push(v << 1);
        break;
      }
      case 'mode': put(PT_MODE_EXEC, { csl: a[0] === '64' ? 1 : 0, csd: a[0] === '32' ? 1 : 0, iflag: a[1] === 'if' ? 1 : 0 }); break;
      case 'tsx': put(PT_MODE_TSX, { intx: a[0] === 'begin' ? 1 : 0, abrt: a[0] === 'abort' ? 1 : 0 }); break;
      case 'pip': put(PT_PIP, { cr3: n(0), nr: a[1] === 'nr' ? 1 : 0 }); break;
      case 'vmcs': put(PT_VMCS, { vmcs: n(0) }); break;
      case 'cbr': put(PT_CBR, { ratio: n(0) }); break;
      case 'tsc': put(PT_TSC, { lo: n(0), hi: 0 }); break;
      case 'mtc': put(PT_MTC, { ctc: n(0) }); break;
      case 'tma': put(PT_TMA, { ctc: n(0), fc: n(1) }); break;
      case 'cyc': put(PT_CYC, { lo: n(0), hi: 0 }); break;
      case 'mnt': put(PT_MNT, { lo: n(0), hi: n(1) }); break;
      case 'exstop': put(PT_EXSTOP, { ipFlag: a[0] === 'ip' ? 1 : 0 }); break;
      case 'mwait': put(PT_MWAIT, { hints: n(0), ext: n(1) }); break;
      case 'pwre': put(PT_PWRE, { state: n(0), subState: n(1), hw: a[2] === 'hw' ? 1 : 0 }); break;
      case 'pwrx': put(PT_PWRX, { last: n(0), deepest: n(1), wake: n(2) }); break;
      case 'ptw': put(PT_PTW, { plc: a[0] === '8' ? 1 : 0, lo: n(1), hi: n(3), ipFlag: a[2] === 'ip' ? 1 : 0 }); break;
      case 'cfe': put(PT_CFE, { cfeType: n(0), vector: n(1), ipFlag: a[2] === 'ip' ? 1 : 0 }); break;
      case 'evd': put(PT_EVD, { evdType: n(0), lo: n(1), hi: 0 }); break;
      default: throw new Error(`trace(): unknown item '${item}'`);
    }
  }
  return enc.bytes().slice();
}

/** Records what the decoder reports, one line per instruction, event and error (see the file comment). */
export class Recorder implements FlowSink {
  readonly lines: string[] = [];
  constructor(private readonly image: PtImage) {}
  range(start: number, _end: number, count: number, _ctx: number, section: number, bitness: number, _time: number, speculative?: boolean): void {
    forEachInstruction(this.image, section, bitness as 16 | 32 | 64, start, count, (ip) => this.lines.push(`I ${speculative ? '? ' : ''}${ip.toString(16)}`));
  }
  event(kind: number, ip: number, value: number, extra?: number, flags = 0): void {
    const text = ptxedEventText(kind, ip, value, { eventIp: true }, extra, flags);
    this.lines.push(`${flags & EV_STATUS_UPDATE ? 'su ' : ''}[${text ?? `kind ${kind}`}]`);
  }
  error(e: { offset: number; ip: number; message: string }): void {
    this.lines.push(`[${e.offset.toString(16)}, ${(Number.isNaN(e.ip) ? 0 : e.ip).toString(16)}: error: ${e.message}]`);
  }
}

/** Decodes `text` (a trace, see trace()) on testImage() and returns the recorded lines. */
export function run(text: string, options: PtFlowOptions = {}, image: PtImage = testImage()): string[] {
  const rec = new Recorder(image);
  new PtFlowDecoder(image, rec, options).decode(trace(text));
  return rec.lines;
}

/** ptxed's 16-digit address, for expected texts. */
export const a16 = formatAddr;

/**
 * The same trace through libipt's instruction decoder (the project's C driver, `pt-libipt insn`
 * with ptxed's options and --event:ip), as ptxed prints it.
 */
export function libiptLines(tool: string, text: string, options: PtFlowOptions = {}): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'hwtrace-flow-events-'));
  try {
    const args = [options.blockDecoder ? 'block' : 'insn', '--event:ip', '--pt', join(dir, 'trace.pt')];
    writeFileSync(join(dir, 'trace.pt'), trace(text));
    testImage().sections.forEach((s, i) => {
      const f = join(dir, `section-${i}.bin`);
      writeFileSync(f, s.bytes);
      args.push('--raw', `${f}:0x${s.start.toString(16)}`);
    });
    if (options.resyncOnError) args.push('--resync-on-error');
    if (options.tick) args.push('--event:tick');
    if (options.cpu) args.push('--cpu', `${options.cpu.family}/${options.cpu.model}`);
    if (options.filter) {
      for (let n = 0; n < 4; n++) {
        args.push(`--filter:addr${n}_cfg`, String(options.filter.cfg[n] ?? 0));
        args.push(`--filter:addr${n}_a`, `0x${(options.filter.a[n] ?? 0).toString(16)}`);
        args.push(`--filter:addr${n}_b`, `0x${(options.filter.b[n] ?? 0).toString(16)}`);
      }
    }
    const r = spawnSync(tool, args, { encoding: 'utf8' });
    if (r.error) throw r.error;
    if (r.status !== 0 && r.status !== 1) throw new Error(`${tool} ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
    return r.stdout.split('\n').filter((l) => l !== '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Recorded lines as ptxed prints them: status updates left out, 16-digit instruction IPs. */
export function asPtxed(lines: readonly string[]): string[] {
  const out: string[] = [];
  for (const l of lines) {
    if (l.startsWith('su ')) continue;
    if (l.startsWith('I ? ')) out.push(`? ${formatAddr(parseInt(l.slice(4), 16))}`);
    else if (l.startsWith('I ')) out.push(formatAddr(parseInt(l.slice(2), 16)));
    else out.push(l);
  }
  return out;
}
