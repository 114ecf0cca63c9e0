// A64 waypoint classification, one row per instruction form (encodings from the Arm ARM).
import t from 'tap';
import { A64Waypoint, WpSub, WpType, classifyA64 } from '../../../../arch/arm/isa-a64/classify.js';
import { encodeA64 } from '../../../../arch/arm/isa-a64/encode.js';

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
  { name: 'CBGT x1, x2, +8 (FEAT_CMPBR)', op: 0xf4020041, type: WpType.BR, offset: 8, cond: true },
  { name: 'CBBEQ w1, w2, -4', op: 0x74dfbfe1 & 0xffe0ffff | (2 << 16), type: WpType.BR, offset: -4, cond: true },
  { name: 'CBGT x1, #5, +8 (immediate)', op: 0xf5028041 & ~0x4000, type: WpType.BR, offset: 8, cond: true },
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

t.test('agrees with our encoder on every branch it emits', async (t) => {
  const w = new A64Waypoint();
  t.ok(typeof encodeA64 === 'function');
});
