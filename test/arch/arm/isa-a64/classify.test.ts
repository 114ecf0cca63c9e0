// A64 waypoint classification, one row per instruction form (encodings from the Arm ARM).
import t from 'tap';
import { A64Waypoint, WpSub, WpType, classifyA64 } from '../../../../arch/arm/isa-a64/classify.js';
import { encodeB, encodeBCond, encodeBL, encodeBLR, encodeBR, encodeCBZ, encodeERET, encodeRET, encodeTBZ } from '../../../../arch/arm/isa-a64/encode.js';

/** A FEAT_CMPBR compare-and-branch: top byte, cc, Rm/imm6 field at [20:16], bits[15:14], imm9 (words), Rt. */
function cmpbr(top: number, cc: number, rm: number, b1514: number, imm9: number, rt: number): number {
  return ((top << 24) | (cc << 21) | (rm << 16) | (b1514 << 14) | ((imm9 & 0x1ff) << 5) | rt) >>> 0;
}

interface Row {
  name: string;
  op: number;
  type: number;
  sub?: number;
  offset?: number;
  cond?: boolean;
  link?: boolean;
  wfx?: boolean;
}

const ROWS: Row[] = [
  { name: 'B +8', op: 0x14000002, type: WpType.BR, offset: 8 },
  { name: 'B -4', op: 0x17ffffff, type: WpType.BR, offset: -4 },
  { name: 'BL +0x100', op: 0x94000040, type: WpType.BR, sub: WpSub.LINK, offset: 0x100, link: true },
  { name: 'B.EQ +12', op: 0x54000060, type: WpType.BR, offset: 12, cond: true },
  { name: 'B.NE -8', op: 0x54ffffc1, type: WpType.BR, offset: -8, cond: true },
  { name: 'BC.EQ +12 (FEAT_HBC)', op: 0x54000070, type: WpType.BR, offset: 12, cond: true },
  { name: 'CBZ x0, +16', op: 0xb4000080, type: WpType.BR, offset: 16, cond: true },
  { name: 'CBNZ w3, -4', op: 0x35ffffe3, type: WpType.BR, offset: -4, cond: true },
  { name: 'TBZ w1, #3, +8', op: 0x36180041, type: WpType.BR, offset: 8, cond: true },
  { name: 'TBNZ x2, #33, -16', op: 0xb70fff82, type: WpType.BR, offset: -16, cond: true },
  { name: 'CB<cc> x1, x2, +8 (FEAT_CMPBR)', op: cmpbr(0xf4, 0, 2, 0b00, 2, 1), type: WpType.BR, offset: 8, cond: true },
  { name: 'CBB<cc> w1, w2, -4', op: cmpbr(0x74, 1, 2, 0b10, -1, 1), type: WpType.BR, offset: -4, cond: true },
  { name: 'CBH<cc> w1, w2, +0x3fc', op: cmpbr(0x74, 3, 2, 0b11, 0xff, 1), type: WpType.BR, offset: 0x3fc, cond: true },
  { name: 'CBH<cc> w1, w2, -0x400', op: cmpbr(0x74, 3, 2, 0b11, 0x100, 1), type: WpType.BR, offset: -0x400, cond: true },
  { name: 'CB<cc> x1, #5, +8 (immediate)', op: cmpbr(0xf5, 0, 5 << 1, 0b00, 2, 1), type: WpType.BR, offset: 8, cond: true },
  { name: 'CMPBR register form with bits[15:14] = 01 is unallocated', op: cmpbr(0xf4, 0, 2, 0b01, 2, 1), type: WpType.OTHER },
  { name: 'BR x17', op: 0xd61f0220, type: WpType.BR_INDIRECT },
  { name: 'BLR x8', op: 0xd63f0100, type: WpType.BR_INDIRECT, sub: WpSub.LINK, link: true },
  { name: 'RET', op: 0xd65f03c0, type: WpType.BR_INDIRECT, sub: WpSub.RET },
  { name: 'RET x1', op: 0xd65f0020, type: WpType.BR_INDIRECT, sub: WpSub.RET },
  { name: 'ERET', op: 0xd69f03e0, type: WpType.BR_INDIRECT, sub: WpSub.ERET },
  { name: 'BRAA x1, x2', op: 0xd71f0822, type: WpType.BR_INDIRECT },
  { name: 'BRAB x1, x2', op: 0xd71f0c22, type: WpType.BR_INDIRECT },
  { name: 'BLRAA x1, x2', op: 0xd73f0822, type: WpType.BR_INDIRECT, sub: WpSub.LINK, link: true },
  { name: 'BRAAZ x3', op: 0xd61f087f, type: WpType.BR_INDIRECT },
  { name: 'BLRABZ x3', op: 0xd63f0c7f, type: WpType.BR_INDIRECT, sub: WpSub.LINK, link: true },
  { name: 'RETAA', op: 0xd65f0bff, type: WpType.BR_INDIRECT, sub: WpSub.RET },
  { name: 'RETAB', op: 0xd65f0fff, type: WpType.BR_INDIRECT, sub: WpSub.RET },
  { name: 'ERETAA', op: 0xd69f0bff, type: WpType.BR_INDIRECT, sub: WpSub.ERET },
  { name: 'ERETAB', op: 0xd69f0fff, type: WpType.BR_INDIRECT, sub: WpSub.ERET },
  { name: 'RETAASPPC label (FEAT_PAuth_LR)', op: 0x5500021f, type: WpType.BR_INDIRECT, sub: WpSub.RET },
  { name: 'RETABSPPC label', op: 0x5520021f, type: WpType.BR_INDIRECT, sub: WpSub.RET },
  { name: 'ISB', op: 0xd5033fdf, type: WpType.ISB },
  { name: 'WFI (not a waypoint by default)', op: 0xd503207f, type: WpType.OTHER },
  { name: 'WFI with WFXMODE', op: 0xd503207f, type: WpType.WFI_WFE, wfx: true },
  { name: 'WFE with WFXMODE', op: 0xd503205f, type: WpType.WFI_WFE, wfx: true },
  { name: 'WFET x0 with WFXMODE', op: 0xd5031000, type: WpType.WFI_WFE, wfx: true },
  { name: 'WFIT x1 with WFXMODE', op: 0xd5031021, type: WpType.WFI_WFE, wfx: true },
  { name: 'TSTART x0', op: 0xd5233060, type: WpType.TSTART },
  { name: 'NOP', op: 0xd503201f, type: WpType.OTHER },
  { name: 'DSB SY (not a waypoint for ETMv4)', op: 0xd5033f9f, type: WpType.OTHER },
  { name: 'ADD x0, x0, #1', op: 0x91000400, type: WpType.OTHER },
  { name: 'LDR x0, [x1]', op: 0xf9400020, type: WpType.OTHER },
  { name: 'SVC #0', op: 0xd4000001, type: WpType.OTHER },
  { name: 'unallocated BR form (op3 = 1)', op: 0xd61f0420, type: WpType.OTHER },
];

t.test('classification table', async (t) => {
  const w = new A64Waypoint();
  for (const r of ROWS) {
    const got = classifyA64(r.op, w, { wfxWaypoints: r.wfx ?? false, tstartWaypoint: true });
    t.equal(got, r.type, `${r.name}: type`);
    t.equal(w.type, r.type, `${r.name}: w.type`);
    t.equal(w.sub, r.sub ?? WpSub.NONE, `${r.name}: subtype`);
    if (r.offset !== undefined) t.equal(w.offset, r.offset, `${r.name}: target offset`);
    t.equal(w.cond, r.cond ?? false, `${r.name}: conditional`);
    t.equal(w.link, r.link ?? false, `${r.name}: link`);
  }
});

t.test('signed and unsigned opcode values classify the same', async (t) => {
  const w = new A64Waypoint();
  t.equal(classifyA64(0xd5033fdf | 0, w), WpType.ISB);
  t.equal(classifyA64(0xd65f03c0 | 0, w), WpType.BR_INDIRECT);
});

t.test('targets of our encoder branches come back exactly', async (t) => {
  const w = new A64Waypoint();
  let bad = 0;
  for (let i = 0; i < 2000; i++) {
    const from = 0x400000 + i * 4;
    const near = from + ((i * 7919) % 8000) * 4 - 16000;
    const tbzTo = from + ((i % 100) - 50) * 4;
    const cases: [number, number, boolean, boolean, number][] = [
      [encodeB(from, near), WpType.BR, false, false, near],
      [encodeBL(from, near), WpType.BR, false, true, near],
      [encodeBCond(i % 14, from, near), WpType.BR, true, false, near],
      [encodeCBZ((i & 1) === 1, (i & 2) === 2, i & 31, from, near), WpType.BR, true, false, near],
      [encodeTBZ((i & 1) === 1, i & 31, i & 63, from, tbzTo), WpType.BR, true, false, tbzTo],
    ];
    for (const [op, type, cond, link, target] of cases) {
      classifyA64(op, w);
      if (w.type !== type || w.cond !== cond || w.link !== link || from + w.offset !== target) bad++;
    }
  }
  t.equal(bad, 0, 'every direct branch decodes to its target with the right flags');
  t.equal(classifyA64(encodeBR(17), w), WpType.BR_INDIRECT);
  t.equal(classifyA64(encodeBLR(3), w), WpType.BR_INDIRECT);
  t.ok(w.link);
  t.equal(classifyA64(encodeRET(), w), WpType.BR_INDIRECT);
  t.equal(w.sub, WpSub.RET);
  t.equal(classifyA64(encodeERET(), w), WpType.BR_INDIRECT);
  t.equal(w.sub, WpSub.ERET);
});
