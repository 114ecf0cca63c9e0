// x86 classification through iced-x86: classes, lengths and direct targets of the control-flow
// instructions an Intel PT decoder cares about, in 64-, 32- and 16-bit mode, and runs that stop
// at the first control-flow instruction.

import t from 'tap';
import { X86Class, classifyOne, classifyRun, isFarClass, type X86RunOut } from '../../../../arch/x86/isa/classify.js';
import { encodeCall, encodeIndirectCall, encodeIndirectJump, encodeJcc, encodeJmp, encodeMovToCr3, encodeRet } from '../../../../arch/x86/isa/encode.js';
import { Register } from 'iced-x86';

const B = (...x: number[]): Uint8Array => Uint8Array.from(x);
const IP = 0x400000;

t.test('64-bit: each class, its length and direct target', async (t) => {
  const cases: Array<[string, Uint8Array, number, number, number?]> = [
    ['nop', B(0x90), X86Class.OTHER, 1],
    ['mov rax, rbx', B(0x48, 0x89, 0xd8), X86Class.OTHER, 3],
    ['jz short +0x10', B(0x74, 0x10), X86Class.COND_JUMP, 2, IP + 0x12],
    ['jnz near', B(0x0f, 0x85, 0x00, 0x01, 0x00, 0x00), X86Class.COND_JUMP, 6, IP + 6 + 0x100],
    ['loop -2', B(0xe2, 0xfe), X86Class.COND_JUMP, 2, IP],
    ['jrcxz', B(0xe3, 0x05), X86Class.COND_JUMP, 2, IP + 7],
    ['jmp short', B(0xeb, 0x00), X86Class.JUMP, 2, IP + 2],
    ['jmp near back', B(0xe9, 0xfb, 0xff, 0xff, 0xff), X86Class.JUMP, 5, IP],
    ['call rel32', B(0xe8, 0x10, 0x00, 0x00, 0x00), X86Class.CALL, 5, IP + 0x15],
    ['jmp rax', B(0xff, 0xe0), X86Class.IND_JUMP, 2],
    ['call [rip+0]', B(0xff, 0x15, 0, 0, 0, 0), X86Class.IND_CALL, 6],
    ['ret', B(0xc3), X86Class.RETURN, 1],
    ['ret 8', B(0xc2, 0x08, 0x00), X86Class.RETURN, 3],
    ['retf', B(0xcb), X86Class.FAR_RETURN, 1],
    ['jmp far [rax]', B(0xff, 0x28), X86Class.FAR_JUMP, 2],
    ['call far [rax]', B(0xff, 0x18), X86Class.FAR_CALL, 2],
    ['syscall', B(0x0f, 0x05), X86Class.SYSCALL, 2],
    ['sysenter', B(0x0f, 0x34), X86Class.SYSCALL, 2],
    ['sysretq', B(0x48, 0x0f, 0x07), X86Class.SYSRET, 3],
    ['int 0x80', B(0xcd, 0x80), X86Class.INT, 2],
    ['int3', B(0xcc), X86Class.INT, 1],
    ['iretq', B(0x48, 0xcf), X86Class.IRET, 2],
    ['vmlaunch', B(0x0f, 0x01, 0xc2), X86Class.VM_ENTRY, 3],
    ['vmresume', B(0x0f, 0x01, 0xc3), X86Class.VM_ENTRY, 3],
    ['vmcall', B(0x0f, 0x01, 0xc1), X86Class.VM_EXIT, 3],
    ['ptwrite rax', B(0xf3, 0x48, 0x0f, 0xae, 0xe0), X86Class.PTWRITE, 5],
    ['mov cr3, rax', B(0x0f, 0x22, 0xd8), X86Class.MOV_CR3, 3],
    ['mov cr0, rax (not CR3)', B(0x0f, 0x22, 0xc0), X86Class.OTHER, 3],
    ['mov rax, cr3 (a read)', B(0x0f, 0x20, 0xd8), X86Class.OTHER, 3],
    // libipt's lengths and classes where the CPU would fault (see ild.test.ts).
    ['0x06 in 64-bit: one byte for libipt', B(0x06, 0x90), X86Class.OTHER, 1],
    ['9a in 64-bit: a far call for libipt', B(0x9a, 1, 2, 3, 4, 5, 6), X86Class.FAR_CALL, 7],
    ['ud1: two bytes for libipt', B(0x0f, 0xb9, 0xc0), X86Class.OTHER, 2],
    ['invalid (VEX map 8)', B(0xc4, 0xe8, 0x78, 0x90, 0xc0, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90), X86Class.INVALID, 0],
    ['invalid (16 bytes)', B(...Array<number>(15).fill(0x66), 0x90), X86Class.INVALID, 0],
    ['cut short', B(0x0f), X86Class.TRUNCATED, 0],
  ];
  for (const [name, bytes, cls, len, target] of cases) {
    const r = classifyOne(bytes, IP, 64);
    t.equal(r.name, classifyOne(bytes, IP, 64).name, `${name}: deterministic`);
    t.equal(r.cls, cls, `${name}: class ${r.name}`);
    t.equal(r.length, len, `${name}: length`);
    if (target !== undefined) t.equal(r.target, target, `${name}: target`);
    else t.ok(Number.isNaN(r.target), `${name}: no direct target`);
  }
  t.ok(isFarClass(X86Class.SYSCALL) && isFarClass(X86Class.IRET) && !isFarClass(X86Class.RETURN) && !isFarClass(X86Class.MOV_CR3));
});

t.test('kernel (negative) addresses and the simulator encodings', async (t) => {
  const k = -0x7f000000; // 0xffffffff81000000
  t.equal(classifyOne(encodeJmp(false, k, k + 0x1000), k).target, k + 0x1000);
  t.equal(classifyOne(encodeJcc(4, true, k, k - 0x20), k).target, k - 0x20);
  t.equal(classifyOne(encodeCall(k, k + 0x123456), k).target, k + 0x123456);
  t.equal(classifyOne(encodeRet(), k).cls, X86Class.RETURN);
  t.equal(classifyOne(encodeIndirectJump(0, Register.RAX, 0, k), k).cls, X86Class.IND_JUMP);
  t.equal(classifyOne(encodeIndirectCall(0, Register.RAX, 0, k), k).cls, X86Class.IND_CALL);
  t.equal(classifyOne(encodeMovToCr3(Register.RAX), k).cls, X86Class.MOV_CR3);
});

t.test('32- and 16-bit modes', async (t) => {
  // 0x06 is PUSH ES outside 64-bit mode.
  t.equal(classifyOne(B(0x06), 0x1000, 32).cls, X86Class.OTHER);
  t.equal(classifyOne(B(0x06), 0x1000, 16).length, 1);
  // E8 rel32 in 32-bit mode, E8 rel16 in 16-bit mode.
  const c32 = classifyOne(B(0xe8, 0x00, 0x10, 0x00, 0x00), 0x1000, 32);
  t.same([c32.cls, c32.length, c32.target], [X86Class.CALL, 5, 0x2005]);
  const c16 = classifyOne(B(0xe8, 0x00, 0x10), 0x100, 16);
  t.same([c16.cls, c16.length, c16.target], [X86Class.CALL, 3, 0x1103]);
  // Targets do not wrap in the mode's width: libipt adds in 64 bits (a 16-bit kernel-address
  // flow after a corrupted MODE.Exec goes where libipt goes).
  t.equal(classifyOne(B(0xeb, 0xfe - 4), 0x2, 16).target, -2);
  t.equal(classifyOne(B(0xcf), 0x100, 16).cls, X86Class.IRET);
  t.equal(classifyOne(B(0x40), 0x100, 32).cls, X86Class.OTHER, 'INC EAX, not a REX prefix');
  t.equal(classifyOne(B(0x40), 0x100, 32).length, 1);
});

t.test('a run stops at the first control-flow instruction, or at max', async (t) => {
  const out: X86RunOut = { lengths: new Uint8Array(8), classes: new Uint8Array(8), targets: new Float64Array(8) };
  const code = B(0x90, 0x48, 0x89, 0xd8, 0x74, 0x02, 0x90, 0xc3);
  t.equal(classifyRun(code, IP, 64, 8, out), 3);
  t.same(Array.from(out.lengths.subarray(0, 3)), [1, 3, 2]);
  t.same(Array.from(out.classes.subarray(0, 3)), [X86Class.OTHER, X86Class.OTHER, X86Class.COND_JUMP]);
  t.equal(classifyRun(code, IP, 64, 2, out), 2, 'cut at max');
  t.equal(classifyRun(B(0x90, 0x90, 0x0f), IP, 64, 8, out), 3);
  t.equal(out.classes[2], X86Class.TRUNCATED, 'bytes end inside an instruction');
});
