// The flow decoder reproduces the simulator's ground truth exactly: both workloads (processes at
// shared and at distinct addresses), several seeds, timing on and off, return compression on and
// off, user-only tracing; and from a later PSB on, the truth from that segment on.

import t, { type Test } from 'tap';
import { formatAddr } from '../../../../../arch/common/address.js';
import { type FlowSink, PtFlowDecoder, type PtImage, forEachInstruction } from '../../../../../arch/x86/pt/flow/index.js';
import type { PtTraceOptions } from '../../../../../arch/x86/pt/trace-config.js';
import { type SimRun, imageOf, simulate } from './corpus-helper.js';

const INSNS = 150_000;

const CONFIGS: Record<string, PtTraceOptions> = {
  plain: {},
  timing: { tscEn: true, tscPeriod: 50_000, mtcEn: true, mtcFreq: 3, cycEn: true },
  noretc: { disRetc: true, psbFreq: 2048 },
  'noretc+timing': { disRetc: true, tscEn: true, mtcEn: true, mtcFreq: 0, cycEn: true, cycThresh: 2 },
  'user-only': { os: false, psbFreq: 2048 },
  'user-only+timing+noretc': { os: false, disRetc: true, tscEn: true, mtcEn: true, mtcFreq: 5, cycEn: true },
};

const WORKLOADS: Array<{ name: string; workload: 'static' | 'multiproc'; distinct: boolean; seeds: number[] }> = [
  { name: 'static', workload: 'static', distinct: false, seeds: [1, 2] },
  { name: 'multiproc', workload: 'multiproc', distinct: false, seeds: [1, 2, 3] },
  { name: 'multiproc-distinct', workload: 'multiproc', distinct: true, seeds: [4] },
];

/** Decodes `trace`, collecting every instruction address and the errors. */
export function decodeIps(image: PtImage, trace: Uint8Array): { ips: number[]; errors: string[]; iced: number } {
  const ips: number[] = [];
  const errors: string[] = [];
  const push = (ip: number): void => {
    ips.push(ip);
  };
  const sink: FlowSink = {
    range: (start, _end, count, _ctx, section, bitness) => forEachInstruction(image, section, bitness as 64, start, count, push),
    event: () => {},
    error: (e) => {
      errors.push(`${e.code} at ${e.offset}, ip ${formatAddr(e.ip || 0)}`);
    },
  };
  const dec = new PtFlowDecoder(image, sink);
  dec.decode(trace);
  return { ips, errors, iced: dec.stats.fills };
}

function sameIps(t: Test, got: number[], want: number[], what: string): void {
  let i = 0;
  const n = Math.min(got.length, want.length);
  while (i < n && got[i] === want[i]) i++;
  if (i === n && got.length === want.length) {
    t.pass(`${what}: ${want.length} instructions identical`);
    return;
  }
  t.fail(`${what}: first difference at instruction ${i} of ${want.length} (decoded ${got.length})`, {
    decoded: got.slice(Math.max(0, i - 3), i + 3).map(formatAddr),
    truth: want.slice(Math.max(0, i - 3), i + 3).map(formatAddr),
  });
}

function check(t: Test, run: SimRun, label: string): void {
  const whole = decodeIps(imageOf(run), run.trace);
  t.same(whole.errors, [], `${label}: no errors`);
  sameIps(t, whole.ips, run.truth, label);
  t.ok(whole.iced < run.truth.length / 20, `${label}: ${whole.iced} classifier calls for ${run.truth.length} instructions`);
  const k = Math.floor((run.segments.length * 3) / 4);
  if (k > 0) {
    const seg = run.segments[k]!;
    const tail = decodeIps(imageOf(run), run.trace.subarray(seg.offset));
    t.same(tail.errors, [], `${label}: no errors from PSB ${k}`);
    sameIps(t, tail.ips, run.truth.slice(seg.index), `${label}, from PSB ${k} of ${run.segments.length}`);
  }
}

t.test('decodes exactly to the truth: workloads × seeds × trace configurations', async (t) => {
  for (const w of WORKLOADS) {
    for (const seed of w.seeds) {
      for (const [name, options] of Object.entries(CONFIGS)) {
        const run = simulate(w.workload, w.distinct, seed, INSNS, options);
        t.ok(run.segments.length >= 2, `${w.name} seed ${seed} ${name}: ${run.segments.length} PSBs`);
        check(t, run, `${w.name} seed ${seed} ${name}`);
      }
    }
  }
});

t.test('a longer multiproc run (1M instructions, timing on)', async (t) => {
  const run = simulate('multiproc', false, 7, 1_000_000, CONFIGS['timing']!);
  check(t, run, 'multiproc seed 7 1M');
});
