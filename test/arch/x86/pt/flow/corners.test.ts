// Hand-written traces for the hard corners (SDM "Intel Processor Trace"; libipt's semantics):
// compressed returns across an interrupt, TIP.PGD with a suppressed IP at a far transfer,
// OVF while tracing, while disabled and inside PSB+, MODE.Exec changes, a PSB+ that disagrees
// with the flow, and the errors libipt names (nomap, bad_query, retstack_empty, bad_retcomp).

import t from 'tap';
import { formatAddr } from '../../../../../arch/common/address.js';
import { PtFlowDecoder, PtImage, PtxedPrinter } from '../../../../../arch/x86/pt/flow/index.js';
import { PtEncoder } from '../../../../../arch/x86/pt/encoder.js';
import { PT_FUP, PT_MODE_EXEC, PT_OVF, PT_PSB, PT_PSBEND, PT_TIP, PT_TIP_PGD, PT_TIP_PGE } from '../../../../../arch/x86/pt/opcodes.js';
import { PtPacket } from '../../../../../arch/x86/pt/packet.js';

// 64-bit code at 0x1000:
//   1000 call 1010   1005 nop   1006 jmp rax   1008 jz 1005   100a syscall   100c nop
//   1010 nop         1011 nop   1012 ret
// Handler at 0x2000: nop; iretq.  32-bit code at 0x5000: inc eax (40); ret (c3).
const code = new Uint8Array(0x20);
code.set([0xe8, 0x0b, 0x00, 0x00, 0x00, 0x90, 0xff, 0xe0, 0x74, 0xfb, 0x0f, 0x05, 0x90], 0);
code.set([0x90, 0x90, 0xc3], 0x10);
const handler = Uint8Array.from([0x90, 0x48, 0xcf]);
const code32 = Uint8Array.from([0x40, 0xc3]);

function image(): PtImage {
  const im = new PtImage();
  im.add(code, 0x1000);
  im.add(handler, 0x2000);
  im.add(code32, 0x5000);
  return im;
}

class Trace {
  readonly enc = new PtEncoder();
  private readonly p = new PtPacket();
  /** Offset of the next packet. */
  get at(): number {
    return this.enc.offset;
  }
  psb(fup?: number, mode = 64): this {
    this.enc.simple(PT_PSB);
    this.mode(mode);
    if (fup !== undefined) this.enc.ip(PT_FUP, fup);
    this.enc.simple(PT_PSBEND);
    return this;
  }
  mode(bits: number): this {
    this.p.type = PT_MODE_EXEC;
    this.p.csl = bits === 64 ? 1 : 0;
    this.p.csd = bits === 32 ? 1 : 0;
    this.p.iflag = 0;
    this.enc.encode(this.p);
    return this;
  }
  ip(type: number, ip?: number): this {
    if (ip === undefined) this.enc.ipSuppressed(type);
    else this.enc.ip(type, ip);
    return this;
  }
  /** TNT-8 from a string of ! (taken) and . (not taken), oldest first. */
  tnt(bits: string): this {
    let v = 1;
    for (const c of bits) v = (v << 1) | (c === '!' ? 1 : 0);
    this.enc.out.push(v << 1);
    return this;
  }
  ovf(): this {
    this.enc.simple(PT_OVF);
    return this;
  }
  bytes(): Uint8Array {
    return this.enc.bytes().slice();
  }
}

function decode(trace: Uint8Array, resync = false): string[] {
  const im = image();
  let text = '';
  const printer = new PtxedPrinter(im, (s) => {
    text += s;
  });
  new PtFlowDecoder(im, printer, { resyncOnError: resync }).decode(trace);
  printer.flush();
  return text.split('\n').filter((l) => l !== '' && !l.startsWith('[paging') && !l.startsWith('[exec mode: 64'));
}

const ips = (...a: number[]): string[] => a.map(formatAddr);
const err = (offset: number, ip: number, msg: string): string => `[${formatAddr(offset)}, ${formatAddr(ip)}: error: ${msg}]`;

t.test('a compressed return across an interrupt', async (t) => {
  const tr = new Trace().psb(0x1000);
  tr.ip(PT_FUP, 0x1011).ip(PT_TIP, 0x2000); // interrupt before 1011
  tr.ip(PT_TIP, 0x1011); // iretq
  tr.tnt('!'); // ret compressed: back to 1005 from the call before the interrupt
  tr.ip(PT_FUP, 0x1006).ip(PT_TIP_PGD); // tracing stops before jmp rax
  t.same(decode(tr.bytes()), [
    '[enabled]', ...ips(0x1000, 0x1010), '[interrupt]', ...ips(0x2000, 0x2001, 0x1011, 0x1012, 0x1005), '[disabled]',
  ]);
});

t.test('TIP.PGD with suppressed IP binds to the far transfer; TIP.PGE resumes', async (t) => {
  const tr = new Trace().psb(0x1008);
  tr.tnt('.'); // jz not taken
  tr.ip(PT_TIP_PGD); // syscall into untraced code
  tr.mode(64).ip(PT_TIP_PGE, 0x100c);
  tr.ip(PT_FUP, 0x100d).ip(PT_TIP_PGD);
  t.same(decode(tr.bytes()), ['[enabled]', ...ips(0x1008, 0x100a), '[disabled]', '[enabled]', ...ips(0x100c), '[disabled]']);
});

t.test('OVF while tracing: flow resumes at the FUP after it', async (t) => {
  const tr = new Trace().psb(0x1010).ovf().ip(PT_FUP, 0x1005);
  tr.ip(PT_TIP, 0x1010); // jmp rax
  tr.ip(PT_TIP, 0x1005); // ret, not compressed
  tr.ip(PT_FUP, 0x1006).ip(PT_TIP_PGD);
  t.same(decode(tr.bytes()), ['[enabled]', '[overflow]', ...ips(0x1005, 0x1006, 0x1010, 0x1011, 0x1012, 0x1005), '[disabled]']);
});

t.test('OVF while disabled: tracing resumes at the TIP.PGE', async (t) => {
  const tr = new Trace().psb().ovf().mode(64).ip(PT_TIP_PGE, 0x1010);
  tr.ip(PT_TIP, 0x1005).ip(PT_FUP, 0x1005).ip(PT_TIP_PGD);
  t.same(decode(tr.bytes()), ['[overflow]', '[enabled]', ...ips(0x1010, 0x1011, 0x1012), '[disabled]']);
});

t.test('OVF inside PSB+ ends it; the FUP after it gives the IP', async (t) => {
  const tr = new Trace();
  tr.enc.simple(PT_PSB);
  tr.mode(64).ip(PT_FUP, 0x1010).ovf().ip(PT_FUP, 0x1005);
  tr.ip(PT_TIP_PGD, 0x1010); // jmp rax leaves the traced range
  t.same(decode(tr.bytes()), ['[overflow]', ...ips(0x1005, 0x1006), '[disabled]']);
});

t.test('MODE.Exec binds to the next TIP: 32-bit code decodes as such', async (t) => {
  const tr = new Trace().psb(0x1005);
  tr.mode(32).ip(PT_TIP, 0x5000); // jmp rax into 32-bit code
  tr.ip(PT_TIP, 0x1005); // ret
  tr.mode(64).ip(PT_FUP, 0x1005).ip(PT_TIP_PGD);
  t.same(decode(tr.bytes()), ['[enabled]', ...ips(0x1005, 0x1006), '[exec mode: 32-bit]', ...ips(0x5000, 0x5001), '[disabled]']);
});

t.test('a PSB+ whose MODE.Exec disagrees with the flow: bad_status_update at the PSB', async (t) => {
  const tr = new Trace().psb(0x1005);
  const at = tr.at;
  tr.psb(0x1006, 32);
  tr.ip(PT_TIP, 0x1010);
  const out = decode(tr.bytes());
  t.same(out.slice(0, 1), ['[enabled]']);
  t.ok(out.includes(err(at, 0x1005, 'bad status update')), out.join('\n'));
});

t.test('errors as libipt names them, at the offset of the next packet', async (t) => {
  {
    const tr = new Trace().psb(0x1005);
    const at = tr.at;
    tr.ip(PT_TIP, 0x9000).tnt('!');
    t.same(decode(tr.bytes()), ['[enabled]', ...ips(0x1005, 0x1006), err(tr.at - 1, 0x9000, 'no memory mapped at this address')], 'nomap');
    t.ok(at < tr.at);
  }
  {
    const tr = new Trace().psb(0x1008);
    const at = tr.at;
    tr.ip(PT_TIP, 0x1010);
    t.same(decode(tr.bytes()), ['[enabled]', ...ips(0x1008), err(at, 0x1008, 'trace stream does not match query')], 'bad_query: a TIP where a TNT bit is wanted');
  }
  {
    const tr = new Trace().psb(0x1010);
    tr.tnt('!');
    const end = tr.at;
    t.same(decode(tr.bytes()), ['[enabled]', ...ips(0x1010, 0x1011, 0x1012), err(end, 0x1012, 'compressed return without call')], 'retstack_empty');
  }
  {
    const tr = new Trace().psb(0x1000);
    tr.tnt('.');
    const end = tr.at;
    t.same(decode(tr.bytes()), ['[enabled]', ...ips(0x1000, 0x1010, 0x1011, 0x1012), err(end, 0x1012, 'bad compressed return')], 'bad_retcomp');
  }
});

t.test('--resync-on-error continues at the next PSB', async (t) => {
  const tr = new Trace().psb(0x1008);
  const at = tr.at;
  tr.ip(PT_TIP, 0x1010); // bad_query
  tr.psb(0x1010).ip(PT_TIP, 0x1005).ip(PT_FUP, 0x1005).ip(PT_TIP_PGD);
  t.same(decode(tr.bytes(), false), ['[enabled]', ...ips(0x1008), err(at, 0x1008, 'trace stream does not match query')]);
  t.same(decode(tr.bytes(), true), [
    '[enabled]', ...ips(0x1008), err(at, 0x1008, 'trace stream does not match query'), '[enabled]', ...ips(0x1010, 0x1011, 0x1012), '[disabled]',
  ]);
});
