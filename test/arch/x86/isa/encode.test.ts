import t from 'tap';
import { Decoder, DecoderOptions, FlowControl, Mnemonic, Register } from 'iced-x86';
import {
  BRANCH_LENGTH, CONDITIONS, IndirectForm, MAX_INSN_LENGTH, buildBodyPool, encodeCall, encodeIndirectCall, encodeIndirectJump,
  encodeIret, encodeJcc, encodeJmp, encodeMovToCr3, encodeRet, encodeSyscall, encodeSysret, encodeVmcall, fitsRel8, toRip,
} from '../../../../arch/x86/isa/index.js';

interface Decoded { len: number; flow: FlowControl; target: bigint; text: string; mnemonic: Mnemonic; count: number }

/** Decodes `bytes` at `ip`: the first instruction, and how many instructions the bytes hold. */
function decode(bytes: Uint8Array, ip: number): Decoded {
  const d = new Decoder(64, bytes, DecoderOptions.None);
  d.ip = toRip(ip);
  const i = d.decode();
  const out = { len: i.length, flow: i.flowControl, target: i.nearBranchTarget, text: i.toString(), mnemonic: i.mnemonic, count: 1 };
  i.free();
  while (d.canDecode) {
    d.decode().free();
    out.count++;
  }
  d.free();
  return out;
}

const KERNEL = -0x7f000000; // 0xffffffff81000000
const USER = 0x400000;

t.test('Jcc, JMP and CALL decode to the target they were encoded with', async (t) => {
  for (const at of [USER, KERNEL]) {
    for (let cc = 0; cc < 16; cc++) {
      for (const [short, target] of [[true, at + 100], [true, at - 126], [false, at + 0x12345], [false, at - 0x54321]] as const) {
        const b = encodeJcc(cc, short, at, target);
        const d = decode(b, at);
        t.equal(d.len, short ? BRANCH_LENGTH.jccShort : BRANCH_LENGTH.jccNear, `j${CONDITIONS[cc]} length`);
        t.equal(d.flow, FlowControl.ConditionalBranch);
        t.equal(d.target, toRip(target), `j${CONDITIONS[cc]} ${short ? 'short' : 'near'} at ${at}`);
      }
    }
    const j = decode(encodeJmp(true, at, at + 2), at);
    t.same([j.len, j.flow, j.target], [2, FlowControl.UnconditionalBranch, toRip(at + 2)]);
    const jn = decode(encodeJmp(false, at, at - 0x1000), at);
    t.same([jn.len, jn.flow, jn.target], [5, FlowControl.UnconditionalBranch, toRip(at - 0x1000)]);
    const c = decode(encodeCall(at, at + 0x777), at);
    t.same([c.len, c.flow, c.target], [5, FlowControl.Call, toRip(at + 0x777)]);
  }
  t.throws(() => encodeJcc(16, true, 0, 2), /condition code/);
  t.throws(() => encodeJmp(true, USER, USER + 200), /cannot encode/, 'rel8 out of range is refused by the encoder');
});

t.test('fitsRel8 matches the rel8 range measured from the next instruction', async (t) => {
  t.ok(fitsRel8(0x1000, 2, 0x1002 + 127));
  t.notOk(fitsRel8(0x1000, 2, 0x1002 + 128));
  t.ok(fitsRel8(0x1000, 2, 0x1002 - 128));
  t.notOk(fitsRel8(0x1000, 2, 0x1002 - 129));
});

t.test('indirect jumps and calls in every form decode as indirect branches', async (t) => {
  for (const at of [USER, KERNEL]) {
    for (const form of [IndirectForm.REG, IndirectForm.TABLE, IndirectForm.RIP, IndirectForm.OBJECT]) {
      for (const reg of [Register.RAX, Register.R13, Register.RBP, Register.R12]) {
        const j = decode(encodeIndirectJump(form, reg, at + 0x800000, at, at + 0x9000), at);
        t.equal(j.flow, FlowControl.IndirectBranch, `jmp form ${form}: ${j.text}`);
        t.equal(j.count, 1);
        const c = decode(encodeIndirectCall(form, reg, 0x18, at, at + 0x9000), at);
        t.equal(c.flow, FlowControl.IndirectCall, `call form ${form}: ${c.text}`);
        if (form === IndirectForm.RIP) t.match(c.text, at === USER ? /\[409000h\]/i : /\[0FFFFFFFF81009000h\]/i, 'RIP-relative operand points where asked');
      }
    }
  }
});

t.test('system instructions have their documented encodings', async (t) => {
  const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
  t.equal(hex(encodeRet()), 'c3');
  t.equal(hex(encodeSyscall()), '0f05');
  t.equal(hex(encodeSysret()), '480f07');
  t.equal(hex(encodeIret()), '48cf');
  t.equal(hex(encodeVmcall()), '0f01c1');
  t.equal(hex(encodeMovToCr3(Register.RAX)), '0f22d8');
  t.equal(decode(encodeMovToCr3(Register.R9), 0).text, 'mov cr3,r9');
  t.equal(decode(encodeMovToCr3(Register.RAX), 0).flow, FlowControl.Next, 'MOV CR3 is not a branch');
});

t.test('the body pool has every length 1..15, each entry one non-branch instruction of that length', async (t) => {
  let s = 12345;
  const next = (): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
  const pool = buildBodyPool(next, 4);
  t.equal(pool.byLength.length, MAX_INSN_LENGTH + 1);
  const mnemonics = new Set<Mnemonic>();
  for (let len = 1; len <= MAX_INSN_LENGTH; len++) {
    const list = pool.byLength[len]!;
    t.ok(list.length > 0, `length ${len} present`);
    for (const b of list) {
      const d = decode(b, USER);
      if (d.len !== len || d.count !== 1 || d.flow !== FlowControl.Next) t.fail(`${Buffer.from(b).toString('hex')} (${d.text}): length ${d.len}, ${d.count} instructions, flow ${d.flow}`);
      mnemonics.add(d.mnemonic);
    }
  }
  t.ok(mnemonics.size >= 20, `a varied mix of mnemonics (${mnemonics.size})`);
  t.notOk(mnemonics.has(Mnemonic.Int3) || mnemonics.has(Mnemonic.Syscall), 'no traps or system calls in bodies');
});

t.test('the body pool is deterministic for a given random source', async (t) => {
  const mk = (seed: number) => {
    let s = seed;
    return buildBodyPool(() => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0), 3);
  };
  const flat = (p: ReturnType<typeof mk>): string => p.byLength.map((l) => l.map((b) => Buffer.from(b).toString('hex')).join(',')).join('|');
  t.equal(flat(mk(7)), flat(mk(7)));
  t.not(flat(mk(7)), flat(mk(8)));
});
