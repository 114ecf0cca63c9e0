// Time per instruction through the flow decoder, against libipt 2.0.5 (pt-libipt-time prints
// pt_insn_time() after every pt_insn_next()): simulator runs with TSC, MTC and CYC packets.
// Our side: the `time` of each range the flow decoder reports, for every instruction in it.
// The IP sequences must agree; then the times are compared instruction by instruction.
// The time comparison is a todo until the flow decoder latches PtClock where libipt's query
// decoder preserves its time and gives a branch the time after its own query (see time.ts).

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { formatAddr } from '../../../../../arch/common/address.js';
import type { ClockConfig } from '../../../../../arch/common/events.js';
import { type FlowSink, PtFlowDecoder, type PtImage, type PtTimeConfig, forEachInstruction } from '../../../../../arch/x86/pt/flow/index.js';
import type { PtTraceOptions } from '../../../../../arch/x86/pt/trace-config.js';
import { ptCpuid15, ptNominalFreq } from '../../../../../arch/x86/pt/trace-clock.js';
import { needNativeTool } from '../../../../helpers/reference.js';
import { type SimRun, imageOf, simulate } from './corpus-helper.js';

function timeConfig(run: SimRun): PtTimeConfig {
  const clock = (run.machine as unknown as { clock: ClockConfig }).clock;
  const { eax, ebx } = ptCpuid15(clock);
  return { mtcFreq: run.mtcFreq, nomFreq: ptNominalFreq(clock), cpuid15Eax: eax, cpuid15Ebx: ebx };
}

/** `ip time` per instruction (16 hex digits each), ours. */
function ours(run: SimRun, config: PtTimeConfig): string[] {
  const image: PtImage = imageOf(run);
  const out: string[] = [];
  let time = '';
  const each = (ip: number): void => {
    out.push(`${formatAddr(ip)} ${time}`);
  };
  const sink: FlowSink = {
    range(start, _end, count, _ctx, section, bitness, t) {
      time = t.toString(16).padStart(16, '0');
      forEachInstruction(image, section, bitness as 16 | 32 | 64, start, count, each);
    },
    event() {},
    error() {},
  };
  new PtFlowDecoder(image, sink, { time: config }).decode(run.trace);
  return out;
}

/** pt-libipt-time's output lines starting with `kind` (`i` instructions, `b` blocks), without it. */
function libiptLines(tool: string, dir: string, run: SimRun, config: PtTimeConfig, kind: string, extra: string[] = []): string[][] {
  writeFileSync(join(dir, 'trace.pt'), run.trace);
  const args = ['--pt', join(dir, 'trace.pt')];
  run.images.forEach((im, i) => {
    const f = join(dir, `image-${i}.bin`);
    writeFileSync(f, im.bytes);
    args.push('--raw', `${f}:0x${formatAddr(im.start)}${Number.isNaN(im.cr3) ? '' : `:0x${im.cr3.toString(16)}`}`);
  });
  args.push('--mtc-freq', String(config.mtcFreq), '--nom-freq', String(config.nomFreq));
  args.push('--cpuid-0x15.eax', String(config.cpuid15Eax), '--cpuid-0x15.ebx', String(config.cpuid15Ebx));
  const r = spawnSync(tool, [...args, ...extra], { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.error) throw r.error;
  return r.stdout.split('\n').filter((l) => l.startsWith(kind + ' ')).map((l) => l.split(' ').slice(1));
}

/** `ip time` per instruction, libipt's instruction decoder. */
function libipt(tool: string, dir: string, run: SimRun, config: PtTimeConfig): string[] {
  return libiptLines(tool, dir, run, config, 'i').map((f) => `${f[0]} ${f[1]}`);
}

const CASES: Array<[string, PtTraceOptions, 'static' | 'multiproc']> = [
  ['TSC in PSB+ only', { tscEn: true }, 'static'],
  ['TSC + MTC (freq 3)', { tscEn: true, mtcEn: true, mtcFreq: 3 }, 'static'],
  ['TSC + MTC (freq 9) + periodic TSC', { tscEn: true, mtcEn: true, mtcFreq: 9, tscPeriod: 20000 }, 'static'],
  ['TSC + MTC + CYC', { tscEn: true, mtcEn: true, mtcFreq: 2, cycEn: true }, 'static'],
  ['TSC + CYC (threshold 4), no MTC', { tscEn: true, cycEn: true, cycThresh: 4 }, 'static'],
  ['multiproc: TSC + MTC + CYC', { tscEn: true, mtcEn: true, mtcFreq: 3, cycEn: true }, 'multiproc'],
  ['multiproc: TSC + MTC (freq 0) + periodic TSC', { tscEn: true, mtcEn: true, mtcFreq: 0, tscPeriod: 5000 }, 'multiproc'],
];

const tool = process.env['PT_LIBIPT_TIME'] ?? needNativeTool(t, 'pt-libipt-time');
if (tool !== undefined) {
  const dir = mkdtempSync(join(tmpdir(), 'hwtrace-time-flow-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, options, workload] of CASES) {
    t.test(name, async (t) => {
      const run = simulate(workload, false, 11, 60_000, { psbFreq: 4096, ...options });
      const config = timeConfig(run);
      const want = libipt(tool, dir, run, config);
      const got = ours(run, config);
      t.equal(got.length, want.length, 'instruction count');
      let ipDiff = -1;
      let timeDiff = 0;
      let first = -1;
      for (let i = 0; i < Math.min(got.length, want.length); i++) {
        if (got[i]!.slice(0, 16) !== want[i]!.slice(0, 16)) {
          ipDiff = i;
          break;
        }
        if (got[i] !== want[i]) {
          timeDiff++;
          if (first < 0) first = i;
        }
      }
      t.equal(ipDiff, -1, 'the same instructions');
      t.ok(want.length > 10_000, `libipt decoded ${want.length} instructions`);
      const detail = first < 0 ? '' : `; first at #${first}: ours ${got[first]}, libipt ${want[first]}`;
      t.equal(timeDiff, 0, `the same time at every instruction: ${timeDiff} of ${want.length} differ${detail}`, {
        todo: 'flow decoder: latch()/mark() at libipt query points and the post-query time for a branch',
      });
    });
  }

  // What the decoder's ranges can rely on: libipt's block decoder reports for a block the time
  // its instruction decoder reports at the block's last instruction (the one whose query ends it).
  t.test('libipt: pt_blk_time() of a block = pt_insn_time() at its last instruction', async (t) => {
    const run = simulate('multiproc', false, 11, 60_000, { psbFreq: 4096, tscEn: true, mtcEn: true, mtcFreq: 2, cycEn: true });
    const config = timeConfig(run);
    const insns = libiptLines(tool, dir, run, config, 'i');
    const blocks = libiptLines(tool, dir, run, config, 'b', ['--block']);
    let k = 0;
    let bad = 0;
    for (const b of blocks) {
      const n = Number(b[1]);
      if (insns[k]?.[0] !== b[0] || insns[k + n - 1]?.[1] !== b[2]) bad++;
      k += n;
    }
    t.equal(k, insns.length, 'the blocks hold the same instructions');
    t.ok(blocks.length > 5000, `${blocks.length} blocks`);
    t.equal(bad, 0);
  });
}
