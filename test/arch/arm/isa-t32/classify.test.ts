// T32 waypoint classification, one row per instruction form. Encodings and branch targets were
// assembled and disassembled with LLVM (llvm-mc -triple=thumbv8a, llvm-objdump): a 32-bit
// instruction is written as (first halfword << 16) | second halfword.
import t from 'tap';
import { A64Waypoint, WpSub, WpType, type A64ClassifyOptions } from '../../../../arch/arm/isa-a64/classify.js';
import { classifyT32, t32ItLength, t32Size } from '../../../../arch/arm/isa-t32/classify.js';

interface Row {
  name: string;
  op: number;
  /** Instruction address (for the PC-relative target). */
  at?: number;
  type: number;
  sub?: number;
  /** Target address for direct branches. */
  target?: number;
  cond?: boolean;
  link?: boolean;
  exchange?: boolean;
}

const ROWS: Row[] = [
  // Direct branches (targets as llvm-objdump prints them).
  { name: 'beq 0x22', op: 0xd00f, at: 0x0, type: WpType.BR, target: 0x22, cond: true },
  { name: 'b 0x22 (T2)', op: 0xe00e, at: 0x2, type: WpType.BR, target: 0x22 },
  { name: 'cbz r0, 0x22', op: 0xb168, at: 0x4, type: WpType.BR, target: 0x22, cond: true },
  { name: 'cbnz r3, 0x22', op: 0xb963, at: 0x6, type: WpType.BR, target: 0x22, cond: true },
  { name: 'beq.w 0x1026', op: 0xf001800d, at: 0x8, type: WpType.BR, target: 0x1026, cond: true },
  { name: 'bne.w 0x0 (backward)', op: 0xf47faff8, at: 0xc, type: WpType.BR, target: 0x0, cond: true },
  { name: 'b.w 0x101028', op: 0xf101b80a, at: 0x10, type: WpType.BR, target: 0x101028 },
  { name: 'bl 0x101028', op: 0xf101f808, at: 0x14, type: WpType.BR, sub: WpSub.LINK, target: 0x101028, link: true },
  { name: 'bl 0x0 (backward)', op: 0xf7fffff0, at: 0x1c, type: WpType.BR, sub: WpSub.LINK, target: 0x0, link: true },
  { name: 'blx 0x104 (to A32, aligned PC)', op: 0xf000e800, at: 0x100, type: WpType.BR, sub: WpSub.LINK, target: 0x104, link: true, exchange: true },
  { name: 'blx 0x108 (from a halfword address)', op: 0xf7ffeffe, at: 0x10a, type: WpType.BR, sub: WpSub.LINK, target: 0x108, link: true, exchange: true },
  // Indirect branches.
  { name: 'bx lr', op: 0x4770, type: WpType.BR_INDIRECT, sub: WpSub.V7_IMPLIED_RET },
  { name: 'bx r3', op: 0x4718, type: WpType.BR_INDIRECT },
  { name: 'blx r4', op: 0x47a0, type: WpType.BR_INDIRECT, sub: WpSub.LINK, link: true },
  { name: 'mov pc, lr', op: 0x46f7, type: WpType.BR_INDIRECT, sub: WpSub.V7_IMPLIED_RET },
  { name: 'mov pc, r2', op: 0x4697, type: WpType.BR_INDIRECT },
  { name: 'add pc, r1', op: 0x448f, type: WpType.BR_INDIRECT },
  { name: 'pop {r4, pc}', op: 0xbd10, type: WpType.BR_INDIRECT, sub: WpSub.V7_IMPLIED_RET },
  { name: 'pop {pc}', op: 0xbd00, type: WpType.BR_INDIRECT, sub: WpSub.V7_IMPLIED_RET },
  { name: 'tbb [r0, r1]', op: 0xe8d0f001, type: WpType.BR_INDIRECT },
  { name: 'tbh [r0, r1, lsl #1]', op: 0xe8d0f011, type: WpType.BR_INDIRECT },
  { name: 'pop.w {r4-r11, pc}', op: 0xe8bd8ff0, type: WpType.BR_INDIRECT, sub: WpSub.V7_IMPLIED_RET },
  { name: 'ldm.w r0, {r1, pc}', op: 0xe8908002, type: WpType.BR_INDIRECT },
  { name: 'ldmdb r0, {r1, pc}', op: 0xe9108002, type: WpType.BR_INDIRECT },
  { name: 'ldr.w pc, [r0, #8]', op: 0xf8d0f008, type: WpType.BR_INDIRECT },
  { name: 'ldr pc, [r0, #-8]', op: 0xf850fc08, type: WpType.BR_INDIRECT },
  { name: 'ldr pc, [sp], #4', op: 0xf85dfb04, type: WpType.BR_INDIRECT, sub: WpSub.V7_IMPLIED_RET },
  { name: 'ldr.w pc, [r0, r1, lsl #2]', op: 0xf850f021, type: WpType.BR_INDIRECT },
  { name: 'ldr.w pc, [pc, #64] (literal)', op: 0xf8dff040, type: WpType.BR_INDIRECT },
  { name: 'ldr.w pc, [pc, #-64] (literal)', op: 0xf85ff040, type: WpType.BR_INDIRECT },
  { name: 'subs pc, lr, #4', op: 0xf3de8f04, type: WpType.BR_INDIRECT },
  { name: 'eret (subs pc, lr, #0)', op: 0xf3de8f00, type: WpType.BR_INDIRECT },
  { name: 'bxj r2', op: 0xf3c28f00, type: WpType.BR_INDIRECT },
  { name: 'rfeia r0', op: 0xe990c000, type: WpType.BR_INDIRECT },
  { name: 'rfedb sp!', op: 0xe83dc000, type: WpType.BR_INDIRECT },
  // Barriers and hints.
  { name: 'isb sy', op: 0xf3bf8f6f, type: WpType.ISB },
  { name: 'dsb sy', op: 0xf3bf8f4f, type: WpType.OTHER },
  { name: 'wfi (WFx not waypoints)', op: 0xbf30, type: WpType.OTHER },
  // Not waypoints.
  { name: 'svc #1', op: 0xdf01, type: WpType.OTHER },
  { name: 'udf #2', op: 0xde02, type: WpType.OTHER },
  { name: 'nop', op: 0xbf00, type: WpType.OTHER },
  { name: 'it eq', op: 0xbf08, type: WpType.OTHER },
  { name: 'movs r0, #1', op: 0x2001, type: WpType.OTHER },
  { name: 'cmp r0, r1', op: 0x4288, type: WpType.OTHER },
  { name: 'add r0, r1 (not the PC)', op: 0x4408, type: WpType.OTHER },
  { name: 'ldr.w r7, [r7, #1311]', op: 0xf8d7751f, type: WpType.OTHER },
  { name: 'ldr r0, [sp], #4', op: 0xf85d0b04, type: WpType.OTHER },
  { name: 'ldm.w r0, {r1, r2} (no PC)', op: 0xe8900006, type: WpType.OTHER },
  { name: 'movw r0, #0', op: 0xf2400000, type: WpType.OTHER },
  { name: 'msr apsr_nzcvq, r0', op: 0xf3808800, type: WpType.OTHER },
  { name: 'udf.w #0', op: 0xf7f0a000, type: WpType.OTHER },
];

const NO_WFX: A64ClassifyOptions = { wfxWaypoints: false, tstartWaypoint: false };

t.test('classification rows', async (t) => {
  const w = new A64Waypoint();
  for (const r of ROWS) {
    const at = r.at ?? 0x1000;
    const type = classifyT32(r.op, at, w, NO_WFX);
    t.equal(type, r.type, `${r.name}: type`);
    t.equal(w.sub, r.sub ?? WpSub.NONE, `${r.name}: subtype`);
    if (r.target !== undefined) t.equal(at + w.offset, r.target, `${r.name}: target`);
    t.equal(w.cond, r.cond ?? false, `${r.name}: conditional`);
    t.equal(w.link, r.link ?? false, `${r.name}: link`);
    t.equal(w.exchange, r.exchange ?? false, `${r.name}: exchange`);
    t.equal(t32Size(r.op > 0xffff ? r.op >>> 16 : r.op), r.op > 0xffff ? 4 : 2, `${r.name}: size`);
  }
});

t.test('WFI/WFE (16- and 32-bit) are waypoints only when configured', async (t) => {
  const w = new A64Waypoint();
  for (const op of [0xbf30, 0xbf20, 0xf3af8003, 0xf3af8002]) {
    t.equal(classifyT32(op, 0, w, NO_WFX), WpType.OTHER);
    t.equal(classifyT32(op, 0, w, { wfxWaypoints: true, tstartWaypoint: false }), WpType.WFI_WFE);
  }
});

t.test('IT block lengths', async (t) => {
  // it eq, ite ne, itte ne, ittet ne; the hints (mask 0) open no block.
  t.same([0xbf08, 0xbf14, 0xbf1a, 0xbf1b].map(t32ItLength), [1, 2, 3, 4]);
  t.same([0xbf00, 0xbf10, 0xbf20, 0xbf30, 0x4770].map(t32ItLength), [0, 0, 0, 0, 0]);
});
