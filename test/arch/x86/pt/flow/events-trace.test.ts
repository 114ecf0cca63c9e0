// Event Trace (SDM "Control Flow Event" and "Event Data" packets; libipt 2.1+). Debian's libipt
// 2.0.5 has no Event Trace, so these traces are hand-built from the SDM and the expected lines
// say what we understand ptxed 2.1 prints (`[interrupt 3, cr2: …]`, `[vmexit, vmxr: …]`, …),
// not checked against a binary:
// - CFE with IP=1 binds to the FUP after it (the event is reported when the flow reaches that IP);
//   for interrupt-like types the FUP is also the source of the asynchronous branch (its TIP).
// - CFE with IP=0 binds to the next FUP + TIP.
// - EVD packets before a CFE add its data: page-fault address (CR2) to INTR, VMX exit reason and
//   qualification to VMEXIT.
// - With the `iflags` option MODE.Exec's IF bit becomes IFLAGS events (interrupts enabled or not).

import t from 'tap';
import { run } from './events-helper.js';

const a = (x: number): string => x.toString(16).padStart(16, '0');

t.test('CFE INTR with IP: event at the FUP, then the interrupt; EVD gives CR2', async (t) => {
  t.same(run('psb; mode 64; fup 0x1000; psbend; evd 0 0xdead000; cfe 1 14 ip; fup 0x1011; tip 0x2000; cfe 2 0 ip; fup 0x2001; tip 0x1011; tnt !; fup 0x1006; pgd'), [
    `su [exec mode: 64-bit, ip: ${a(0x1000)}]`, 'I 1000', 'I 1010',
    `[interrupt e, cr2: ${a(0xdead000)}, ip: ${a(0x1011)}]`, `[interrupt, from: ${a(0x1011)}, to: ${a(0x2000)}]`,
    'I 2000', `[iret, ip: ${a(0x2001)}]`, 'I 2001', 'I 1011', 'I 1012', 'I 1005', `[disabled, at: ${a(0x1006)}]`,
  ]);
});

t.test('CFE VMEXIT without IP binds to the next FUP + TIP; EVD gives reason and qualification', async (t) => {
  t.same(run('psb; mode 64; fup 0x1000; psbend; evd 2 0x30; evd 1 0x5; cfe 8 0; fup 0x1011; vmcs 0x9000; tip 0x2000; cfe 7 0 ip; fup 0x2001; tip 0x1011; fup 0x1011; pgd'), [
    `su [exec mode: 64-bit, ip: ${a(0x1000)}]`, 'I 1000', 'I 1010',
    `[vmexit, vmxr: 30, vmxq: 5, ip: ${a(0x1011)}]`, `[interrupt, from: ${a(0x1011)}, to: ${a(0x2000)}]`, `[vmcs, base: ${a(0x9000)}, ip: ${a(0x2000)}]`,
    'I 2000', `[vmentry, ip: ${a(0x2001)}]`, 'I 2001', `[disabled, at: ${a(0x1011)}]`,
  ]);
});

t.test('CFE while tracing is disabled is reported at once', async (t) => {
  t.same(run('psb; mode 64; psbend; cfe 3 0; cfe 6 0; cfe 5 0x12; cfe 0xa 0; mode 64; pge 0x1010; fup 0x1011; pgd'), [
    'su [exec mode: 64-bit]', '[smi]', '[init]', '[sipi: 12]', '[shutdown]', `[enabled, ip: ${a(0x1010)}]`, `[exec mode: 64-bit, ip: ${a(0x1010)}]`, 'I 1010',
    `[disabled, at: ${a(0x1011)}]`,
  ]);
});

t.test('MODE.Exec IF as IFLAGS events with the iflags option', async (t) => {
  const tr = 'psb; mode 64 if; fup 0x1006; psbend; mode 64; tip 0x1010; mode 64; tip 0x1005; mode 64 if; fup 0x1005; tip 0x2000; fup 0x2000; pgd';
  t.same(run(tr, { iflags: true }), [
    `su [exec mode: 64-bit, ip: ${a(0x1006)}]`, `su [interrupts enabled, ip: ${a(0x1006)}]`, 'I 1006',
    `[exec mode: 64-bit, ip: ${a(0x1010)}]`, `[interrupts disabled, ip: ${a(0x1010)}]`, 'I 1010', 'I 1011', 'I 1012',
    `[exec mode: 64-bit, ip: ${a(0x1005)}]`,
    `[interrupt, from: ${a(0x1005)}, to: ${a(0x2000)}]`, `[exec mode: 64-bit, ip: ${a(0x2000)}]`, `[interrupts enabled, ip: ${a(0x2000)}]`,
    `[disabled, at: ${a(0x2000)}]`,
  ]);
  t.notOk(run(tr).some((l) => l.includes('interrupts')), 'no IFLAGS without the option');
});
