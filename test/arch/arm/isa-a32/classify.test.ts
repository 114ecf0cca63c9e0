// A32 waypoint classification, one row per instruction form (encodings from the Arm ARM).
import t from 'tap';
import { classifyA32 } from '../../../../arch/arm/isa-a32/classify.js';
import { A64Waypoint, WpSub, WpType } from '../../../../arch/arm/isa-a64/classify.js';

interface Row {
  name: string;
  op: number;
  type: number;
  sub?: number;
  offset?: number;
  cond?: boolean;
  link?: boolean;
  exchange?: boolean;
}

const ROWS: Row[] = [
  { name: 'B +8 (AL)', op: 0xea000000, type: WpType.BR, offset: 8 },
  { name: 'BEQ -8', op: 0x0afffffc, type: WpType.BR, offset: -8, cond: true },
  { name: 'BL +0x108', op: 0xeb000040, type: WpType.BR, sub: WpSub.LINK, offset: 0x108, link: true },
  { name: 'BLX imm (H=1) to T32', op: 0xfb000040, type: WpType.BR, sub: WpSub.LINK, offset: 0x10a, link: true, exchange: true },
  { name: 'BX LR', op: 0xe12fff1e, type: WpType.BR_INDIRECT, sub: WpSub.V7_IMPLIED_RET },
  { name: 'BXNE LR', op: 0x112fff1e, type: WpType.BR_INDIRECT, sub: WpSub.V7_IMPLIED_RET, cond: true },
  { name: 'BX R3', op: 0xe12fff13, type: WpType.BR_INDIRECT },
  { name: 'BLX R3', op: 0xe12fff33, type: WpType.BR_INDIRECT, sub: WpSub.LINK, link: true },
  { name: 'MOV PC, LR', op: 0xe1a0f00e, type: WpType.BR_INDIRECT, sub: WpSub.V7_IMPLIED_RET },
  { name: 'ADD PC, PC, R0, LSL #2', op: 0xe08ff100, type: WpType.BR_INDIRECT },
  { name: 'POP {R4, PC}', op: 0xe8bd8010, type: WpType.BR_INDIRECT, sub: WpSub.V7_IMPLIED_RET },
  { name: 'LDM R0, {R1, PC}', op: 0xe8908002, type: WpType.BR_INDIRECT },
  { name: 'LDR PC, [SP], #4', op: 0xe49df004, type: WpType.BR_INDIRECT, sub: WpSub.V7_IMPLIED_RET },
  { name: 'LDR PC, [R1, #8]', op: 0xe591f008, type: WpType.BR_INDIRECT },
  { name: 'ERET (no A64 subtype)', op: 0xe160006e, type: WpType.BR_INDIRECT },
  { name: 'ISB SY', op: 0xf57ff06f, type: WpType.ISB },
  { name: 'CMP PC, R0 (no write)', op: 0xe15f0000, type: WpType.OTHER },
  { name: 'MOV R0, R1', op: 0xe1a00001, type: WpType.OTHER },
  { name: 'LDR R0, [R1]', op: 0xe5910000, type: WpType.OTHER },
  { name: 'PUSH {R4, LR}', op: 0xe92d4010, type: WpType.OTHER },
  { name: 'SVC #0', op: 0xef000000, type: WpType.OTHER },
  { name: 'DSB SY', op: 0xf57ff04f, type: WpType.OTHER },
];

t.test('classification table', async (t) => {
  const w = new A64Waypoint();
  for (const r of ROWS) {
    t.equal(classifyA32(r.op, w), r.type, `${r.name}: type`);
    t.equal(w.sub, r.sub ?? WpSub.NONE, `${r.name}: subtype`);
    if (r.offset !== undefined) t.equal(w.offset, r.offset, `${r.name}: target offset`);
    t.equal(w.cond, r.cond ?? false, `${r.name}: conditional`);
    t.equal(w.link, r.link ?? false, `${r.name}: link`);
    t.equal(w.exchange, r.exchange ?? false, `${r.name}: changes instruction set`);
  }
});
