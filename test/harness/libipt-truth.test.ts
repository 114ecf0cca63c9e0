// Intel's reference decoder reproduces the ground truth: the simulator runs a workload with the
// PT trace unit and the truth writer, the trace and the code images go to a temporary directory
// (each process image tied to its CR3, the kernel to every address space), libipt's instruction
// decoder (build/native/pt-libipt insn) decodes them, and its IP sequence must equal the truth's
// instruction addresses exactly (and its block decoder counts as many) — for both workloads, several seeds, timing on and off, return
// compression on and off, and user-only tracing. A decode restarted at a later PSB must match
// the truth from that segment on.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { formatAddr } from '../../arch/common/address.js';
import type { X86Context } from '../../arch/common/context.js';
import { MemorySink } from '../../arch/common/stream.js';
import { ptCpuid15, ptNominalFreq } from '../../arch/x86/pt/trace-clock.js';
import type { PtTraceOptions } from '../../arch/x86/pt/trace-config.js';
import { PtTraceUnit } from '../../arch/x86/pt/trace-unit.js';
import { TruthWriter, forEachTruthRecord, readTruthBlocks, readTruthSegments } from '../../corpora/truth/index.js';
import { Executor } from '../../sim/exec/executor.js';
import { type Machine, buildMachine } from '../../sim/machine.js';
import { buildWorkload } from '../../sim/workloads/index.js';
import { needNativeTool } from '../helpers/reference.js';

const INSNS = 200_000;

const CONFIGS: Record<string, PtTraceOptions> = {
  plain: {},
  timing: { tscEn: true, tscPeriod: 50_000, mtcEn: true, mtcFreq: 3, cycEn: true },
  noretc: { disRetc: true, psbFreq: 2048 },
  'noretc+timing': { disRetc: true, tscEn: true, mtcEn: true, mtcFreq: 0, cycEn: true, cycThresh: 2 },
  'user-only': { os: false, psbFreq: 2048 },
  'user-only+timing+noretc': { os: false, disRetc: true, tscEn: true, mtcEn: true, mtcFreq: 5, cycEn: true },
};

const WORKLOADS: Array<{ name: string; workload: 'static' | 'multiproc'; distinct: boolean; seeds: number[] }> = [
  { name: 'static', workload: 'static', distinct: false, seeds: [1, 2, 3] },
  { name: 'multiproc', workload: 'multiproc', distinct: false, seeds: [1, 2, 3] },
  { name: 'multiproc-distinct', workload: 'multiproc', distinct: true, seeds: [4] },
];

interface Generated {
  dir: string;
  machine: Machine;
  trace: Uint8Array;
  /** The instructions a decoder should see, as libipt prints them. */
  truth: string[];
  /** Per PSB: its trace offset and the index in `truth` of the first instruction after it. */
  segments: Array<{ offset: number; index: number }>;
  args: string[];
}

function isKernel(m: Machine, ctx: number): boolean {
  return (m.contexts.get(ctx) as X86Context).cpl === 0;
}

/**
 * Runs the workload with the trace unit and writes trace.pt, the images and images.txt into a
 * temporary directory. `keep(ctx, visitCtx)` says which truth instructions a decoder should see
 * (`visitCtx`: the context the current run of same-privilege code started in).
 */
function generate(workload: 'static' | 'multiproc', distinct: boolean, seed: number, insns: number, options: PtTraceOptions,
  keep: (m: Machine, ctx: number, visitCtx: number) => boolean): Generated {
  const machine = buildMachine(buildWorkload({ workload, distinctAddresses: distinct }, seed), 'x86');
  const traceOut = new MemorySink();
  const truthOut = new MemorySink();
  const truth = new TruthWriter(truthOut);
  const unit = new PtTraceUnit(machine, options, traceOut, truth);
  const ex = new Executor(machine, { sink: unit, truth, limit: insns });
  ex.run();
  ex.finish();
  unit.finish();
  const tables = truth.finish();

  const dir = mkdtempSync(join(tmpdir(), 'hwtrace-libipt-'));
  const trace = traceOut.bytes();
  writeFileSync(join(dir, 'trace.pt'), trace);
  const lines: string[] = [];
  for (const im of machine.images) {
    const file = `image-${im.id}.bin`;
    writeFileSync(join(dir, file), im.bytes);
    let ctx = '-';
    if (im.space >= 0) {
      const id = machine.ctxSpace.findIndex((s) => s === im.space);
      ctx = `cr3=0x${(machine.contexts.get(id) as X86Context).cr3.toString(16)}`;
    }
    lines.push(`${file} 0x${formatAddr(im.start)} ${ctx}`);
  }
  writeFileSync(join(dir, 'images.txt'), lines.join('\n') + '\n');

  const table = readTruthBlocks(tables.blocks);
  const segs = readTruthSegments(tables.segments);
  const out: string[] = [];
  const segments: Array<{ offset: number; index: number }> = [];
  let executed = 0;
  let s = 0;
  let visitCtx = -1;
  let visitKernel = false;
  forEachTruthRecord(table, [truthOut.bytes()], (id) => {
    while (s < segs.length && segs[s]!.instruction <= executed) segments.push({ offset: segs[s++]!.traceOffset, index: out.length });
    const ctx = table.ctx[id]!;
    const kernel = isKernel(machine, ctx);
    if (kernel !== visitKernel || visitCtx < 0) {
      visitKernel = kernel;
      visitCtx = ctx;
    }
    const n = table.count[id]!;
    executed += n;
    if (!keep(machine, ctx, visitCtx)) return;
    let a = table.start[id]!;
    const f = table.lenFirst[id]!;
    for (let k = 0; k < n; k++) {
      out.push(formatAddr(a));
      a += table.lengths[f + k]!;
    }
  });
  const { eax, ebx } = ptCpuid15(machine.clock);
  const args = ['--images', join(dir, 'images.txt'), '--mtc-freq', String(unit.config.mtcFreq), '--cpuid-0x15.eax', String(eax),
    '--cpuid-0x15.ebx', String(ebx), '--nom-freq', String(ptNominalFreq(machine.clock))];
  return { dir, machine, trace, truth: out, segments, args };
}

/** libipt's instruction IPs for `trace` (a file in g.dir), and any error lines it printed. */
function libipt(tool: string, g: Generated, traceFile: string): { ips: string[]; errors: string[]; status: number | null } {
  const r = spawnSync(tool, ['insn', '--pt', join(g.dir, traceFile), ...g.args], { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.error) throw r.error;
  const ips: string[] = [];
  const errors: string[] = [];
  for (const line of r.stdout.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('[')) {
      if (line.includes('error')) errors.push(line);
    } else ips.push(line);
  }
  if (r.stderr) errors.push(r.stderr.trim());
  return { ips, errors, status: r.status };
}

/** Asserts equality of two IP lists, reporting the first difference with some context. */
function sameIps(t: Test, got: string[], want: string[], what: string): void {
  let i = 0;
  const n = Math.min(got.length, want.length);
  while (i < n && got[i] === want[i]) i++;
  if (i === n && got.length === want.length) {
    t.pass(`${what}: ${want.length} instructions identical`);
    return;
  }
  t.fail(`${what}: first difference at instruction ${i} of ${want.length} (libipt gave ${got.length})`, {
    libipt: got.slice(Math.max(0, i - 3), i + 3),
    truth: want.slice(Math.max(0, i - 3), i + 3),
  });
}

const traced = (options: PtTraceOptions) => (m: Machine, ctx: number): boolean =>
  isKernel(m, ctx) ? options.os !== false : options.user !== false;

/** Checks a whole decode, then decodes again from the PSB three quarters in and from the last one. */
function check(t: Test, tool: string, g: Generated, label: string): void {
  const whole = libipt(tool, g, 'trace.pt');
  t.same(whole.errors, [], `${label}: no decode errors`);
  t.equal(whole.status, 0, `${label}: pt-libipt exit status`);
  sameIps(t, whole.ips, g.truth, label);
  const block = spawnSync(tool, ['block', '--count', '--pt', join(g.dir, 'trace.pt'), ...g.args], { encoding: 'utf8' });
  t.match(block.stdout, new RegExp(`^insns ${g.truth.length}\\nblocks \\d+\\nerrors 0\\n`), `${label}: libipt's block decoder counts the same instructions`);
  const picks = new Set([Math.floor((g.segments.length * 3) / 4), g.segments.length - 1]);
  for (const k of picks) {
    if (k <= 0) continue;
    const seg = g.segments[k]!;
    const file = `tail-${k}.pt`;
    writeFileSync(join(g.dir, file), g.trace.subarray(seg.offset));
    const tail = libipt(tool, g, file);
    t.same(tail.errors, [], `${label}: no errors from PSB ${k}`);
    sameIps(t, tail.ips, g.truth.slice(seg.index), `${label}, decoded from PSB ${k} of ${g.segments.length} (offset ${seg.offset})`);
  }
}

t.test('libipt reproduces the truth: workloads × seeds × trace configurations', async (t) => {
  const tool = needNativeTool(t, 'pt-libipt');
  if (!tool) return;
  for (const w of WORKLOADS) {
    for (const seed of w.seeds) {
      for (const [name, options] of Object.entries(CONFIGS)) {
        const g = generate(w.workload, w.distinct, seed, INSNS, options, traced(options));
        try {
          t.ok(g.segments.length >= 2, `${w.name} seed ${seed} ${name}: ${g.segments.length} PSBs, ${g.trace.length} bytes`);
          check(t, tool, g, `${w.name} seed ${seed} ${name}`);
        } finally {
          rmSync(g.dir, { recursive: true, force: true });
        }
      }
    }
  }
});

t.test('libipt on a longer multiproc run (1M instructions, timing on)', async (t) => {
  const tool = needNativeTool(t, 'pt-libipt');
  if (!tool) return;
  const options = CONFIGS['timing']!;
  const g = generate('multiproc', false, 7, 1_000_000, options, traced(options));
  try {
    check(t, tool, g, 'multiproc seed 7 1M');
  } finally {
    rmSync(g.dir, { recursive: true, force: true });
  }
});

t.test('kernel-only tracing: exact without MOV CR3; libipt binds the IP-less TIP.PGD to MOV CR3', async (t) => {
  const tool = needNativeTool(t, 'pt-libipt');
  if (!tool) return;
  const options: PtTraceOptions = { user: false, tscEn: true, mtcEn: true };
  for (const seed of [1, 2]) {
    const g = generate('static', false, seed, INSNS, options, traced(options));
    try {
      check(t, tool, g, `static seed ${seed} kernel-only`);
    } finally {
      rmSync(g.dir, { recursive: true, force: true });
    }
  }
  // The scheduler's MOV CR3 is followed by straight-line code and IRET. The CPU sends PIP at the
  // MOV CR3 and TIP.PGD (IP suppressed: the target is in user space) at the IRET, with no
  // packet in between, so the TIP.PGD could belong to either: libipt binds an IP-less TIP.PGD
  // to the first instruction that changes CPL or CR3 (pt_insn_at_disabled_event), i.e. to the
  // MOV CR3, and loses the instructions after it. What libipt shows is then exactly the kernel
  // code up to each address-space switch.
  for (const seed of [1, 3]) {
    const g = generate('multiproc', false, seed, INSNS, options,
      (m, ctx, visitCtx) => isKernel(m, ctx) && ctx === visitCtx);
    try {
      const whole = libipt(tool, g, 'trace.pt');
      t.same(whole.errors, [], `multiproc seed ${seed} kernel-only: no decode errors`);
      sameIps(t, whole.ips, g.truth, `multiproc seed ${seed} kernel-only, minus the code after each MOV CR3`);
    } finally {
      rmSync(g.dir, { recursive: true, force: true });
    }
  }
});
