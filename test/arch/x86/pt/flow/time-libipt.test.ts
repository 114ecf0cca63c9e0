// PtClock against libipt 2.0.5 (`pt-libipt time`, a small C driver printing pt_insn_time() after
// every instruction): hand-built streams where every instruction is `jne .` (75 fe) taking
// one TNT bit, with timing packets, PSB+ and OVF between the TNT packets. libipt "preserves
// the time at the query": the time an instruction reports is the clock when its TNT packet
// was taken, or when the first event after it (CBR, PSB+, OVF) was fetched, which libipt does
// in the same pt_insn_next() once the TNT bits are used up. The model below drives PtClock
// with exactly those latches, so any difference is the clock's.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { PtClock, type PtTimeConfig } from '../../../../../arch/x86/pt/flow/time.js';
import { PT_END, PtPacketDecoder } from '../../../../../arch/x86/pt/decoder.js';
import { PtEncoder } from '../../../../../arch/x86/pt/encoder.js';
import {
  PT_CBR, PT_CYC, PT_FUP, PT_MODE_EXEC, PT_MTC, PT_OVF, PT_PSB, PT_PSBEND, PT_TMA, PT_TNT_8, PT_TSC,
} from '../../../../../arch/x86/pt/opcodes.js';
import { PtPacket } from '../../../../../arch/x86/pt/packet.js';
import { Rng } from '../../../../../sim/rng.js';
import { needNativeTool } from '../../../../helpers/reference.js';

const ADDR = 0x1000;
const CODE = Uint8Array.from([0x75, 0xfe]);

/** Builds the stream. */
class TimeStream {
  readonly enc = new PtEncoder();
  private readonly p = new PtPacket();
  psb(header: (s: TimeStream) => void): this {
    this.enc.simple(PT_PSB);
    this.p.type = PT_MODE_EXEC;
    this.p.csl = 1;
    this.p.csd = 0;
    this.p.iflag = 0;
    this.enc.encode(this.p);
    header(this);
    this.enc.ip(PT_FUP, ADDR);
    this.enc.simple(PT_PSBEND);
    return this;
  }
  tsc(v: number, hi = Math.floor(v / 2 ** 32)): this {
    this.p.type = PT_TSC;
    this.p.hi = hi;
    this.p.lo = v % 2 ** 32;
    this.enc.encode(this.p);
    return this;
  }
  tma(ctc: number, fc: number): this {
    this.p.type = PT_TMA;
    this.p.ctc = ctc;
    this.p.fc = fc;
    this.enc.encode(this.p);
    return this;
  }
  mtc(ctc: number): this {
    this.p.type = PT_MTC;
    this.p.ctc = ctc;
    this.enc.encode(this.p);
    return this;
  }
  cyc(v: number, hi = Math.floor(v / 2 ** 32)): this {
    this.p.type = PT_CYC;
    this.p.hi = hi;
    this.p.lo = v % 2 ** 32;
    this.enc.encode(this.p);
    return this;
  }
  cbr(r: number): this {
    this.p.type = PT_CBR;
    this.p.ratio = r;
    this.enc.encode(this.p);
    return this;
  }
  /** One taken branch. */
  tnt(): this {
    this.enc.out.push(0b110);
    return this;
  }
  ovf(): this {
    this.enc.simple(PT_OVF);
    this.enc.ip(PT_FUP, ADDR);
    return this;
  }
  bytes(): Uint8Array {
    return this.enc.bytes().slice();
  }
}

/** libipt's texts for the errors PtClock returns. */
const MESSAGE: Readonly<Record<string, string>> = {
  bad_context: 'unexpected packet context',
  bad_packet: 'unknown packet',
  internal: 'internal error',
};

/** `tsc lostMtc lostCyc hasTime` per instruction, or an error line, as the model expects. */
function model(trace: Uint8Array, config: PtTimeConfig): string[] {
  const clock = new PtClock(config);
  const pk = new PtPacketDecoder();
  pk.push(trace);
  pk.end();
  const p = pk.packet;
  const out: string[] = [];
  let first = true;
  let inPsb = false;
  /** The last instruction's line while libipt may still fetch an event for it (-1: none). */
  let pending = -1;
  const line = (): string => {
    clock.latch();
    const c = clock;
    return `${c.queryTimeHi.toString(16).padStart(8, '0')}${c.queryTimeLo.toString(16).padStart(8, '0')} ${c.queryLostMtc} ${c.queryLostCyc} ${c.queryHasTime ? 1 : 0}`;
  };
  const event = (): void => {
    if (pending >= 0) out[pending] = line();
    pending = -1;
  };
  let psbOffset = 0;
  // libipt reports an error in PSB+ at the PSB (it moves back there to allow a resync).
  const fail = (code: string): boolean => {
    out.push(`error ${inPsb ? psbOffset : p.offset} ${MESSAGE[code] ?? code}`);
    return false;
  };
  const step = (): boolean => {
    const type = pk.next();
    let err = '';
    switch (type) {
      case PT_END: return false;
      case PT_PSB:
        if (first) clock.reset();
        first = false;
        clock.psb();
        inPsb = true;
        psbOffset = p.offset;
        return true;
      case PT_PSBEND:
        clock.psbEnd();
        inPsb = false;
        event();
        return true;
      case PT_OVF:
        clock.overflow();
        inPsb = false;
        event();
        return true;
      case PT_TNT_8:
        pending = out.length;
        out.push(line());
        return true;
      case PT_TSC: err = clock.tsc(p.lo, p.hi); break;
      case PT_TMA: err = clock.tma(p.ctc, p.fc); break;
      case PT_MTC: err = clock.mtc(p.ctc); break;
      case PT_CYC: err = clock.cyc(p.lo, p.hi); break;
      case PT_CBR:
        err = clock.cbr(p.ratio);
        // A CBR is an event of its own, in PSB+ one of PSBEND's.
        if (err === '' && !inPsb) event();
        break;
      default: return true;
    }
    return err === '' ? true : fail(err);
  };
  while (step());
  return out;
}

function libipt(tool: string, dir: string, trace: Uint8Array, config: PtTimeConfig): string[] {
  writeFileSync(join(dir, 'trace.pt'), trace);
  if (!existsSync(join(dir, 'code.bin'))) writeFileSync(join(dir, 'code.bin'), CODE);
  const args = ['time', '--pt', join(dir, 'trace.pt'), '--raw', `${join(dir, 'code.bin')}:0x${ADDR.toString(16)}`];
  if (config.mtcFreq !== undefined) args.push('--mtc-freq', String(config.mtcFreq));
  if (config.nomFreq !== undefined) args.push('--nom-freq', String(config.nomFreq));
  if (config.cpuid15Eax !== undefined) args.push('--cpuid-0x15.eax', String(config.cpuid15Eax));
  if (config.cpuid15Ebx !== undefined) args.push('--cpuid-0x15.ebx', String(config.cpuid15Ebx));
  if (config.skl168) args.push('--cpu', '6/78/3');
  const r = spawnSync(tool, args, { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`pt-libipt time failed: ${r.stderr}`);
  const out: string[] = [];
  for (const line of r.stdout.split('\n')) {
    const f = line.split(' ');
    if (f[0] === 'i') out.push(`${f[2]} ${f[3]} ${f[4]} ${f[5]}`);
    else if (f[0] === 'x' && f[3] !== 'reached') out.push(`error ${parseInt(f[1]!, 16)} ${f.slice(3).join(' ')}`);
  }
  return out;
}

const tool = needNativeTool(t, 'pt-libipt');
if (tool !== undefined) {
  const dir = mkdtempSync(join(tmpdir(), 'hwtrace-time-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));

  t.test('hand-picked stream', async (t) => {
    const cfg: PtTimeConfig = { mtcFreq: 3, cpuid15Eax: 2, cpuid15Ebx: 175, nomFreq: 30 };
    const s = new TimeStream().psb((h) => h.tsc(0x123456789a).tma(0x1234, 0x20).cbr(30)).tnt();
    s.mtc(0x47).tnt().cyc(100).tnt().mtc(0x48).tnt().cyc(3).tnt().ovf().tnt().cyc(44).tnt();
    const trace = s.bytes();
    t.same(model(trace, cfg), libipt(tool, dir, trace, cfg));
  });

  t.test('random timing streams with bad TMA and CBR 0: the same error at the same offset', async (t) => {
    const deadline = Date.now() + 10_000;
    let n = 0;
    let errors = 0;
    for (let seed = 1; seed <= 300 && Date.now() < deadline; seed++) {
      const { trace, config } = randomStream(new Rng(seed * 7919), true);
      const want = libipt(tool, dir, trace, config);
      const got = model(trace, config);
      n++;
      if (want.length > 0 && want[want.length - 1]!.startsWith('error')) errors++;
      if (JSON.stringify(got) !== JSON.stringify(want)) {
        t.same(got, want, `seed ${seed * 7919} ${JSON.stringify(config)}`);
        break;
      }
    }
    t.ok(n >= 20 && errors >= n / 2, `${n} streams, ${errors} ending in an error`);
  });

  t.test('random timing streams, error-free', async (t) => {
    const deadline = Date.now() + 15_000;
    let n = 0;
    let insns = 0;
    for (let seed = 1; seed <= 400 && Date.now() < deadline; seed++) {
      const { trace, config } = randomStream(new Rng(seed), false);
      const want = libipt(tool, dir, trace, config);
      const got = model(trace, config);
      insns += want.length;
      n++;
      if (JSON.stringify(got) !== JSON.stringify(want)) {
        t.same(got, want, `seed ${seed} ${JSON.stringify(config)}`);
        break;
      }
    }
    t.ok(n >= 20 && insns > 1000, `${n} streams, ${insns} instructions compared`);
  });
}

/** Uniform below 2^n, n ≤ 53. */
function bits(rng: Rng, n: number): number {
  return n <= 32 ? rng.below(2 ** n) : rng.below(2 ** (n - 32)) * 2 ** 32 + rng.below(2 ** 32);
}

/** A random stream of timing packets between one-bit TNTs; with `errors`, bad TMA and CBR 0 too. */
function randomStream(rng: Rng, errors: boolean): { trace: Uint8Array; config: PtTimeConfig } {
  const mtcFreq = rng.range(0, 15);
  const config: PtTimeConfig = {
    mtcFreq,
    cpuid15Eax: rng.chance(0.1) ? 0 : rng.pick([1, 2, 3, 7, rng.range(1, 0xffffffff)]),
    cpuid15Ebx: rng.chance(0.1) ? 0 : rng.pick([1, 84, 175, 250, rng.range(1, 0xffff), rng.range(1, 0xffffffff)]),
    nomFreq: rng.chance(0.3) ? 0 : rng.range(1, 255),
    skl168: rng.chance(0.2),
  };
  const big = rng.chance(0.1);
  let tsc = big ? 2 ** 52 + rng.below(2 ** 30) * 1024 : bits(rng, 40);
  let ctc = rng.below(2 ** 24);
  const s = new TimeStream();
  const tscPacket = (): void => {
    if (rng.chance(0.05)) s.tsc(rng.below(2 ** 32), rng.range(0x200000, 0xffffff));
    else s.tsc(tsc % 2 ** 56);
    if (rng.chance(0.85) || errors) {
      const fc = rng.chance(0.1) ? 0 : rng.below(512);
      s.tma(rng.chance(0.1) ? rng.below(65536) : ctc & 0xffff, fc);
      if (errors && rng.chance(0.05)) s.tma(ctc & 0xffff, fc);
    }
  };
  const header = (h: TimeStream): void => {
    const k = rng.below(5);
    for (let i = 0; i < k; i++) {
      switch (rng.below(5)) {
        case 0: tscPacket(); break;
        case 1: h.cbr(rng.range(errors && rng.chance(0.05) ? 0 : 1, 255)); break;
        case 2: h.mtc((ctc / 2 ** mtcFreq) & 0xff); break;
        case 3: h.cyc(rng.below(4096)); break;
        default: tscPacket();
      }
    }
  };
  s.psb(header);
  const count = rng.range(20, 200);
  for (let i = 0; i < count; i++) {
    const k = rng.below(4);
    for (let j = 0; j < k; j++) {
      tsc += rng.below(100000);
      switch (rng.weighted([4, 8, 10, 1, 1, 2, 1])) {
        case 0: tscPacket(); break;
        case 1:
          ctc += rng.chance(0.9) ? 2 ** mtcFreq * rng.range(1, 3) : rng.below(2 ** 24);
          s.mtc((ctc / 2 ** mtcFreq) & 0xff);
          break;
        case 2: {
          const r = rng.weighted([20, 3, 1]);
          if (r === 0) s.cyc(rng.range(1, 4096));
          else if (r === 1) s.cyc(bits(rng, 40));
          else s.cyc(rng.below(2 ** 32), rng.below(2 ** 29));
          break;
        }
        case 3: s.cbr(rng.range(errors && rng.chance(0.1) ? 0 : 1, 255)); break;
        case 4: s.ovf(); break;
        case 5: s.psb(header); break;
        default: if (errors) s.tma(rng.below(65536), rng.below(512));
      }
    }
    s.tnt();
  }
  return { trace: s.bytes(), config };
}
