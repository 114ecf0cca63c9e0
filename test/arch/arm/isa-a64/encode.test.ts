import t from 'tap';
import {
  BRANCH_REACH, Cond, LogicOp, MoveWide, Shift, SP, SysRegs, XZR, encodeAddSubImm, encodeAddSubReg, encodeAdr, encodeB,
  encodeBCond, encodeBL, encodeBLR, encodeBR, encodeCBZ, encodeCsel, encodeERET, encodeHVC, encodeLdrStrImm, encodeLogicalReg,
  encodeLslImm, encodeMRS, encodeMSR, encodeMadd, encodeMoveWide, encodeMovReg, encodeNOP, encodePair, encodeRET, encodeSVC,
  encodeTBZ, inReach, readInsn, writeInsn,
} from '../../../../arch/arm/isa-a64/index.js';

// Expected words: the Arm ARM encodings, as printed by `llvm-mc -triple=aarch64 -show-encoding`
// for the assembly in each message (checked once when this test was written).
t.test('fixed encodings match the Arm ARM', async (t) => {
  const cases: Array<[number, number, string]> = [
    [encodeRET(), 0xd65f03c0, 'ret'],
    [encodeNOP(), 0xd503201f, 'nop'],
    [encodeBR(3), 0xd61f0060, 'br x3'],
    [encodeBLR(9), 0xd63f0120, 'blr x9'],
    [encodeERET(), 0xd69f03e0, 'eret'],
    [encodeSVC(0), 0xd4000001, 'svc #0'],
    [encodeHVC(0), 0xd4000002, 'hvc #0'],
    [encodeMSR(SysRegs.CONTEXTIDR_EL1, 0), 0xd518d020, 'msr contextidr_el1, x0'],
    [encodeMSR(SysRegs.TTBR0_EL1, 1), 0xd5182001, 'msr ttbr0_el1, x1'],
    [encodeMRS(5, SysRegs.CONTEXTIDR_EL1), 0xd538d025, 'mrs x5, contextidr_el1'],
    [encodeAddSubImm(true, false, false, 1, 2, 0x123), 0x91048c41, 'add x1, x2, #0x123'],
    [encodeAddSubImm(true, false, false, 1, 2, 5, true), 0x91401441, 'add x1, x2, #5, lsl #12'],
    [encodeAddSubImm(false, true, false, 3, 4, 7), 0x51001c83, 'sub w3, w4, #7'],
    [encodeAddSubImm(true, true, true, XZR, 1, 5), 0xf100143f, 'cmp x1, #5'],
    [encodeAddSubReg(true, false, false, 1, 2, 3, Shift.LSL, 3), 0x8b030c41, 'add x1, x2, x3, lsl #3'],
    [encodeAddSubReg(true, true, true, XZR, 2, 3), 0xeb03005f, 'cmp x2, x3'],
    [encodeLogicalReg(true, LogicOp.ORR, 1, 2, 3), 0xaa030041, 'orr x1, x2, x3'],
    [encodeMovReg(true, 1, 3), 0xaa0303e1, 'mov x1, x3'],
    [encodeLogicalReg(false, LogicOp.EOR, 5, 6, 7, Shift.ROR, 4), 0x4ac710c5, 'eor w5, w6, w7, ror #4'],
    [encodeLogicalReg(true, LogicOp.AND, 1, 2, 3, Shift.ASR, 2), 0x8a830841, 'and x1, x2, x3, asr #2'],
    [encodeMoveWide(true, MoveWide.MOVZ, 1, 0x1234, 1), 0xd2a24681, 'movz x1, #0x1234, lsl #16'],
    [encodeMoveWide(true, MoveWide.MOVK, 1, 0xbeef, 3), 0xf2f7dde1, 'movk x1, #0xbeef, lsl #48'],
    [encodeMoveWide(false, MoveWide.MOVN, 2, 5), 0x128000a2, 'movn w2, #5'],
    [encodeLdrStrImm(true, 3, 1, 2, 16), 0xf9400841, 'ldr x1, [x2, #16]'],
    [encodeLdrStrImm(false, 3, 1, SP, 8), 0xf90007e1, 'str x1, [sp, #8]'],
    [encodeLdrStrImm(true, 2, 3, 4, 4092), 0xb94ffc83, 'ldr w3, [x4, #4092]'],
    [encodeLdrStrImm(false, 0, 5, 6, 1), 0x390004c5, 'strb w5, [x6, #1]'],
    [encodeLdrStrImm(true, 0, 5, 6, 4095), 0x397ffcc5, 'ldrb w5, [x6, #4095]'],
    [encodeMadd(true, 1, 2, 3, 4), 0x9b031041, 'madd x1, x2, x3, x4'],
    [encodeMadd(true, 1, 2, 3, XZR), 0x9b037c41, 'mul x1, x2, x3'],
    [encodeCsel(true, 1, 2, 3, Cond.NE), 0x9a831041, 'csel x1, x2, x3, ne'],
    [encodeLslImm(true, 1, 2, 3), 0xd37df041, 'lsl x1, x2, #3'],
    [encodePair(false, 'pre', 29, 30, SP, -16), 0xa9bf7bfd, 'stp x29, x30, [sp, #-16]!'],
    [encodePair(true, 'post', 29, 30, SP, 16), 0xa8c17bfd, 'ldp x29, x30, [sp], #16'],
    [encodeAdr(1, 0x1000, 0x100c), 0x10000061, 'adr x1, #12'],
  ];
  for (const [got, want, asm] of cases) t.equal(got.toString(16), want.toString(16), asm);
});

t.test('branch displacements match the Arm ARM', async (t) => {
  const at = 0x400100;
  const cases: Array<[number, number, string]> = [
    [encodeB(at, at + 8), 0x14000002, 'b #8'],
    [encodeB(at, at - 4), 0x17ffffff, 'b #-4'],
    [encodeBL(at, at + 0x100), 0x94000040, 'bl #0x100'],
    [encodeBCond(Cond.NE, at, at - 8), 0x54ffffc1, 'b.ne #-8'],
    [encodeBCond(Cond.EQ, at, at + 0x40), 0x54000200, 'b.eq #0x40'],
    [encodeCBZ(true, false, 3, at, at + 12), 0xb4000063, 'cbz x3, #12'],
    [encodeCBZ(false, true, 4, at, at - 16), 0x35ffff84, 'cbnz w4, #-16'],
    [encodeTBZ(false, 5, 33, at, at + 20), 0xb60800a5, 'tbz x5, #33, #20'],
    [encodeTBZ(true, 6, 3, at, at - 8), 0x371fffc6, 'tbnz w6, #3, #-8'],
  ];
  for (const [got, want, asm] of cases) t.equal(got.toString(16), want.toString(16), asm);
});

t.test('branches work at kernel (negative) addresses and at the edges of their reach', async (t) => {
  const k = -0x7ffff0000000; // 0xffff800010000000
  t.equal(encodeB(k, k + 0x10), 0x14000004);
  t.equal(encodeBL(k, k - (BRANCH_REACH.imm26)), 0x96000000, 'BL to the most negative reach');
  t.equal(encodeB(k, k + BRANCH_REACH.imm26 - 4), 0x15ffffff, 'B to the most positive reach');
  t.equal(encodeBCond(Cond.EQ, k, k + BRANCH_REACH.imm19 - 4), 0x547fffe0);
  t.equal(encodeTBZ(false, 0, 0, k, k - BRANCH_REACH.imm14), 0x36040000, "tbz w0, #0, #-32768");
  t.throws(() => encodeB(k, k + BRANCH_REACH.imm26), /out of the/, 'one word past the reach');
  t.throws(() => encodeBCond(0, k, k - BRANCH_REACH.imm19 - 4), /out of the/);
  t.throws(() => encodeTBZ(false, 0, 0, k, k + BRANCH_REACH.imm14), /out of the/);
  t.throws(() => encodeB(k, k + 2), /aligned/);
  t.ok(inReach(k, k + BRANCH_REACH.imm14 - 4, BRANCH_REACH.imm14));
  t.notOk(inReach(k, k + BRANCH_REACH.imm14, BRANCH_REACH.imm14));
});

t.test('operands out of range are refused with the field named', async (t) => {
  t.throws(() => encodeBR(32), /register 32/);
  t.throws(() => encodeSVC(0x10000), /SVC imm/);
  t.throws(() => encodeAddSubImm(true, false, false, 1, 2, 4096), /imm12/);
  t.throws(() => encodeLdrStrImm(true, 3, 1, 2, 12), /multiple of 8/);
  t.throws(() => encodeAddSubReg(true, false, false, 1, 2, 3, Shift.ROR), /ROR/);
  t.throws(() => encodeMoveWide(false, MoveWide.MOVZ, 1, 1, 2), /hw/);
  t.throws(() => encodeTBZ(false, 1, 64, 0, 4), /TBZ bit/);
});

t.test('writeInsn/readInsn are little-endian and inverse', async (t) => {
  const buf = new Uint8Array(8);
  writeInsn(buf, 4, 0xd65f03c0);
  t.same(Array.from(buf.subarray(4)), [0xc0, 0x03, 0x5f, 0xd6]);
  t.equal(readInsn(buf, 4), 0xd65f03c0);
});

// OpenCSD's A64 waypoint masks (trc_idec_arminst.cpp, as summarised in
// /work/shared/reference/coresight.md §b): what the ETM decoder treats as a branch.
function openCsdWaypoint(i: number): string {
  if ((i & 0x7c000000) === 0x14000000) return (i & 0x80000000) ? 'BL' : 'B';
  if ((i & 0xff000010) === 0x54000000) return 'B.cond';
  if ((i & 0x7c000000) === 0x34000000) return 'CB/TB';
  if (((i & 0xffdffc1f) >>> 0) === 0xd61f0000) return (i & 0x00200000) ? 'BLR' : 'BR';
  if (((i & 0xfffffc1f) >>> 0) === 0xd65f0000) return 'RET';
  if (i === 0xd69f03e0) return 'ERET';
  if (((i & 0xfffff0ff) >>> 0) === 0xd50330df) return 'ISB';
  return 'other';
}

t.test('our branches are OpenCSD waypoints of the right kind; our non-branches are not', async (t) => {
  const at = 0x400000;
  t.equal(openCsdWaypoint(encodeB(at, at + 64)), 'B');
  t.equal(openCsdWaypoint(encodeBL(at, at - 64)), 'BL');
  for (let c = 0; c < 14; c++) t.equal(openCsdWaypoint(encodeBCond(c, at, at + 4 * c)), 'B.cond', `cond ${c}`);
  t.equal(openCsdWaypoint(encodeCBZ(true, false, 1, at, at + 8)), 'CB/TB');
  t.equal(openCsdWaypoint(encodeCBZ(false, true, 1, at, at + 8)), 'CB/TB');
  t.equal(openCsdWaypoint(encodeTBZ(false, 1, 40, at, at + 8)), 'CB/TB');
  t.equal(openCsdWaypoint(encodeTBZ(true, 1, 2, at, at + 8)), 'CB/TB');
  for (let r = 0; r < 31; r++) {
    t.equal(openCsdWaypoint(encodeBR(r)), 'BR');
    t.equal(openCsdWaypoint(encodeBLR(r)), 'BLR');
  }
  t.equal(openCsdWaypoint(encodeRET()), 'RET');
  t.equal(openCsdWaypoint(encodeERET()), 'ERET');
  const others = [
    encodeNOP(), encodeSVC(0), encodeHVC(0), encodeMSR(SysRegs.CONTEXTIDR_EL1, 3), encodeMSR(SysRegs.TTBR0_EL1, 3),
    encodeAddSubImm(true, false, false, 1, 2, 3), encodeAddSubReg(false, true, true, XZR, 1, 2), encodeLogicalReg(true, LogicOp.EOR, 1, 2, 3),
    encodeMoveWide(true, MoveWide.MOVK, 1, 0xffff, 3), encodeLdrStrImm(true, 3, 1, 2, 8), encodeMadd(true, 1, 2, 3, 4),
    encodeCsel(false, 1, 2, 3, Cond.GT), encodeLslImm(false, 1, 2, 5), encodePair(false, 'offset', 1, 2, SP, 16), encodeAdr(1, at, at + 100),
  ];
  for (const w of others) t.equal(openCsdWaypoint(w), 'other', w.toString(16));
});
