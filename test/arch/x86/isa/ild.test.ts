// libipt's length decoder on hand-picked encodings: lengths from the SDM's encoding rules (Vol. 2,
// ch. 2: prefixes, REX, VEX/EVEX, ModRM/SIB/displacement by address size, immediates by operand
// size), libipt's own lengths where it differs from the CPU (invalid and undefined opcodes, UD0/UD1),
// its classes, and its two failures: more than 15 bytes and a VEX map of 5 or more.

import t from 'tap';
import { X86Class, X86_CLASS_NAMES } from '../../../../arch/x86/isa/classes.js';
import { ILD_MAX_LENGTH, X86Ild } from '../../../../arch/x86/isa/ild.js';

const ild = new X86Ild();

function hex(s: string): Uint8Array {
  const t = s.replace(/\s+/g, '');
  return Uint8Array.from({ length: t.length / 2 }, (_, i) => parseInt(t.slice(2 * i, 2 * i + 2), 16));
}

/** Length and class name of the first instruction in `s` (hex), padded with NOPs to 32 bytes. */
function decode(s: string, bitness: 16 | 32 | 64 = 64, pad = true): [number, string] {
  const b = hex(s);
  const bytes = pad ? new Uint8Array(32).fill(0x90) : b;
  if (pad) bytes.set(b);
  const cls = ild.decode(bytes, 0, bitness);
  return [ild.length, X86_CLASS_NAMES[cls]!];
}

t.test('lengths by the SDM (64-bit mode)', async (t) => {
  const cases: Array<[string, string, number]> = [
    ['nop', '90', 1],
    ['add al, imm8', '04 01', 2],
    ['add eax, imm32', '05 01020304', 5],
    ['add ax, imm16 (66)', '66 05 0102', 4],
    ['add rax, imm32 (REX.W keeps imm32)', '48 05 01020304', 6],
    ['mov eax, imm32', 'b8 01020304', 5],
    ['mov rax, imm64 (REX.W)', '48 b8 0102030405060708', 10],
    ['mov ax, imm16', '66 b8 0102', 4],
    ['REX before 66 does not count', '48 66 b8 0102', 5],
    ['mov al, moffs64', 'a0 0102030405060708', 9],
    ['mov al, moffs32 (67)', '67 a0 01020304', 6],
    ['mov [rax], eax', '89 00', 2],
    ['mov [rip+disp32], eax', '89 05 01020304', 6],
    ['mov [rax+disp8], eax', '89 40 01', 3],
    ['mov [rax+disp32], eax', '89 80 01020304', 6],
    ['SIB', '89 04 24', 3],
    ['SIB, no base: disp32', '89 04 25 01020304', 7],
    ['SIB + disp8', '89 44 24 08', 4],
    ['67: still 32-bit ModRM in 64-bit mode', '67 89 05 01020304', 7],
    ['mov dword [rax], imm32 (c7 /0)', 'c7 00 01020304', 6],
    ['xbegin rel32 (c7 f8)', 'c7 f8 01020304', 6],
    ['test byte [rax], imm8 (f6 /0)', 'f6 00 01', 3],
    ['not byte [rax] (f6 /2: no immediate)', 'f6 10', 2],
    ['test eax, imm32 (f7 /0)', 'f7 c0 01020304', 6],
    ['neg eax (f7 /3)', 'f7 d8', 2],
    ['push imm32', '68 01020304', 5],
    ['push imm16 (66)', '66 68 0102', 4],
    ['imul r, r/m, imm8', '6b c0 01', 3],
    ['enter imm16, imm8', 'c8 0100 02', 4],
    ['ret imm16', 'c2 0800', 3],
    ['retf imm16', 'ca 0800', 3],
    ['jcc rel8', '74 00', 2],
    ['jcc rel32', '0f 84 01020304', 6],
    ['jcc rel32 with 66 (still rel32 in 64-bit mode)', '66 0f 84 01020304', 7],
    ['call rel32', 'e8 01020304', 5],
    ['jmp rel32 with 66', '66 e9 01020304', 6],
    ['0f 38 opcode: ModRM, no immediate', '66 0f 38 00 c0', 5],
    ['0f 3a opcode: ModRM and imm8', '66 0f 3a 0f c0 01', 6],
    ['3DNow!: ModRM then the opcode byte', '0f 0f c0 9e', 4],
    ['3DNow! with disp32', '0f 0f 05 01020304 9e', 8],
    ['vzeroupper (c5)', 'c5 f8 77', 3],
    ['vaddps (c5) with ModRM', 'c5 fc 58 c0', 4],
    ['c4, map 0f 3a: imm8', 'c4 e3 7d 18 c0 01', 6],
    ['EVEX vaddps zmm', '62 f1 7c 48 58 c0', 6],
    ['EVEX + disp8', '62 f1 7c 48 58 40 01', 7],
    ['mov cr3, rax', '0f 22 d8', 3],
    ['mov cr0, rax: mod ignored, no disp', '0f 22 05', 3],
    ['extrq xmm, imm8, imm8 (66 0f 78)', '66 0f 78 c0 01 02', 6],
    ['vmread (0f 78, no prefix)', '0f 78 c0', 3],
    ['15 bytes of prefixes and NOP', '66666666666666666666666666 66 90', 15],
  ];
  for (const [name, s, len] of cases) t.equal(decode(s)[0], len, name);
});

t.test('lengths by address and operand size in 32- and 16-bit modes', async (t) => {
  t.equal(decode('05 01020304', 32)[0], 5, 'add eax, imm32');
  t.equal(decode('66 05 0102', 32)[0], 4, '66: imm16');
  t.equal(decode('05 0102', 16)[0], 3, '16-bit: imm16');
  t.equal(decode('66 05 01020304', 16)[0], 6, '16-bit, 66: imm32');
  t.equal(decode('89 06 0102', 16)[0], 4, '16-bit [disp16]');
  t.equal(decode('89 04', 16)[0], 2, '16-bit [si], no SIB');
  t.equal(decode('89 80 0102', 16)[0], 4, '16-bit [bx+si+disp16]');
  t.equal(decode('67 89 04 24', 16)[0], 4, '16-bit mode, 67: SIB');
  t.equal(decode('67 89 06 0102', 32)[0], 5, '32-bit mode, 67: 16-bit addressing');
  t.equal(decode('a0 0102', 16)[0], 3, 'moffs16');
  t.equal(decode('a0 01020304', 32)[0], 5, 'moffs32');
  t.equal(decode('e8 0102', 16)[0], 3, 'call rel16');
  t.equal(decode('66 e8 0102', 32)[0], 4, '32-bit, 66: call rel16');
  t.equal(decode('9a 01020304 0506', 32)[0], 7, 'call far ptr16:32');
  t.equal(decode('9a 0102 0304', 16)[0], 5, 'call far ptr16:16');
  t.same(decode('40', 32), [1, 'other'], 'inc eax, not REX');
  t.same(decode('c5 f8 77', 32), [3, 'other'], 'VEX: the next byte has 11 on top');
  t.same(decode('c5 38', 32), [2, 'other'], 'LDS: the next byte does not');
  t.same(decode('c4 05 01020304', 32), [6, 'other'], 'LES [disp32]');
  t.same(decode('62 05 01020304', 32), [6, 'other'], 'BOUND [disp32]');
});

t.test("libipt's lengths where the CPU faults or the opcode is undefined", async (t) => {
  const cases: Array<[string, string, number, string]> = [
    ['push es (invalid in 64-bit mode)', '06', 1, 'other'],
    ['aam imm8 (invalid in 64-bit mode)', 'd4 0a', 2, 'other'],
    ['82 /0 ib (invalid in 64-bit mode)', '82 c0 01', 3, 'other'],
    ['call far ptr (invalid in 64-bit mode): z + 2', '9a 01020304 0506', 7, 'far_call'],
    ['jmp far ptr (invalid in 64-bit mode)', 'ea 01020304 0506', 7, 'far_jump'],
    ['into (invalid in 64-bit mode)', 'ce', 1, 'int'],
    ['ud1: no ModRM for libipt', '0f b9 c0', 2, 'other'],
    ['ud0: no ModRM for libipt', '0f ff c0', 2, 'other'],
    ['undefined 0f 04', '0f 04', 2, 'other'],
    ['undefined 0f 7a: ModRM', '0f 7a 05 01020304', 7, 'other'],
    ['0f 39: ModRM after the next byte', '0f 39 00 c0', 4, 'other'],
    ['XOP is POP r/m for libipt', '8f e9 78 c0', 2, 'other'],
    ['call far [reg] (no register form)', 'ff d8', 2, 'far_call'],
    ['lock jz', 'f0 74 00', 3, 'cond_jump'],
    ['VEX-encoded jcc opcode: rel32, not a branch', 'c5 f8 84 01020304', 7, 'other'],
    ['vmmcall is not a branch', '0f 01 d9', 3, 'other'],
  ];
  for (const [name, s, len, cls] of cases) t.same(decode(s), [len, cls], name);
});

t.test("libipt's classes", async (t) => {
  const cases: Array<[string, string, number, number?]> = [
    ['jz', '74 10', X86Class.COND_JUMP, 0x10],
    ['loop', 'e2 fe', X86Class.COND_JUMP, -2],
    ['jrcxz', 'e3 05', X86Class.COND_JUMP, 5],
    ['jnz rel32', '0f 85 00010000', X86Class.COND_JUMP, 0x100],
    ['jmp rel8', 'eb f0', X86Class.JUMP, -16],
    ['jmp rel32', 'e9 fbffffff', X86Class.JUMP, -5],
    ['call rel32', 'e8 10000000', X86Class.CALL, 0x10],
    ['jmp rax', 'ff e0', X86Class.IND_JUMP],
    ['call [rip]', 'ff 15 00000000', X86Class.IND_CALL],
    ['jmp far [rax]', 'ff 28', X86Class.FAR_JUMP],
    ['ret', 'c3', X86Class.RETURN],
    ['retf', 'cb', X86Class.FAR_RETURN],
    ['iretq', '48 cf', X86Class.IRET],
    ['uiret', 'f3 0f 01 ec', X86Class.IRET],
    ['int3', 'cc', X86Class.INT],
    ['int 0x80', 'cd 80', X86Class.INT],
    ['int1', 'f1', X86Class.INT],
    ['syscall', '0f 05', X86Class.SYSCALL],
    ['sysenter', '0f 34', X86Class.SYSCALL],
    ['sysret', '48 0f 07', X86Class.SYSRET],
    ['sysexit', '0f 35', X86Class.SYSRET],
    ['vmcall', '0f 01 c1', X86Class.VM_EXIT],
    ['vmlaunch', '0f 01 c2', X86Class.VM_ENTRY],
    ['vmresume', '0f 01 c3', X86Class.VM_ENTRY],
    ['ptwrite rax', 'f3 48 0f ae e0', X86Class.PTWRITE],
    ['66 f3 0f ae e0 is not ptwrite', '66 f3 0f ae e0', X86Class.OTHER],
    ['mov cr3, rax', '0f 22 d8', X86Class.MOV_CR3],
    ['mov cr11, rax (REX.R) is not', '44 0f 22 d8', X86Class.OTHER],
    ['add [rax], al', '00 00', X86Class.OTHER],
  ];
  for (const [name, s, cls, disp] of cases) {
    t.equal(decode(s)[1], X86_CLASS_NAMES[cls], name);
    if (disp !== undefined) {
      t.equal(ild.displacement, disp, `${name}: displacement`);
      t.equal(ild.target(0x1000), 0x1000 + ild.length + disp, `${name}: target`);
    }
  }
});

t.test('failures: bytes running out, more than 15 bytes, a bad VEX map', async (t) => {
  t.same(decode('0f', 64, false), [0, 'truncated'], '0f at the end');
  t.same(decode('e8 0102', 64, false), [0, 'truncated'], 'rel32 cut');
  t.same(decode('89 04', 64, false), [0, 'truncated'], 'SIB missing');
  t.same(decode('c4 e1', 64, false), [0, 'truncated'], 'VEX cut');
  t.same(decode('c5', 32, false), [0, 'truncated'], 'c5 alone');
  t.same(decode('66', 64, false), [0, 'truncated'], 'a prefix alone');
  t.same(decode('0f 0f c0', 64, false), [0, 'truncated'], '3DNow! opcode byte missing');
  t.same(decode('', 64, false), [0, 'truncated'], 'no bytes');
  t.same(decode('66'.repeat(15) + '90'), [0, 'invalid'], '16 bytes');
  t.same(decode('66'.repeat(14) + '05 01020304'), [0, 'invalid'], '15 bytes of prefixes and opcode, immediate beyond');
  t.same(decode('c4 e8 78 90 c0'), [0, 'invalid'], 'VEX map 8');
  t.same(decode('c4 e5 78 90 c0'), [0, 'invalid'], 'VEX map 5');
  t.same(decode('c4 e4 78 90 c0 9e'), [6, 'other'], 'VEX map 4 is 3DNow!-like: ModRM then one byte');
  t.same(decode('62 f3 7d 48 0f c0 01'), [7, 'other'], 'EVEX map 3: imm8');
  // A decoder for a window of the bytes: `end` stops it as the bytes' end would.
  const b = hex('90 e8 01020304');
  t.equal(ild.decode(b, 1, 64, 4), X86Class.TRUNCATED, 'end inside the instruction');
  t.equal(ild.decode(b, 1, 64), X86Class.CALL, 'the whole instruction');
  t.equal(ILD_MAX_LENGTH, 15);
});
