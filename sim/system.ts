// A simulated system before lowering: the kernel and the user processes, each with its own
// generated program, built deterministically from a workload spec and a seed.

import { Rng } from './rng.js';
import { generateProgram } from './program/generate.js';
import type { Program } from './program/model.js';
import { type KernelModel, buildKernel } from './workloads/kernel.js';
import type { WorkloadSpec } from './workloads/spec.js';

export interface ProcessModel {
  /** 0-based process number; also its address-space id. */
  index: number;
  /** Process id (x86: chooses CR3; Arm: the CONTEXTIDR value). */
  pid: number;
  program: Program;
  callDepth: number;
}

export interface SystemModel {
  spec: WorkloadSpec;
  seed: bigint;
  kernel: KernelModel;
  processes: ProcessModel[];
  /** Seed of the executor's PRNG (branch outcomes, trip counts, stalls): the same for every ISA. */
  execSeed: bigint;
  /** Seed of lowering's PRNG (registers, instruction choices). */
  lowerSeed: bigint;
}

/** First process id; process n has pid FIRST_PID + n. */
export const FIRST_PID = 1000;

function draw64(r: Rng): bigint {
  return (BigInt(r.nextU32()) << 32n) | BigInt(r.nextU32());
}

/** Builds the system of a (checked) workload spec. Same spec and seed, same system. */
export function buildSystem(spec: WorkloadSpec, seed: number | bigint): SystemModel {
  const root = new Rng(seed);
  const execSeed = draw64(root);
  const lowerSeed = draw64(root);
  const kernel = buildKernel(spec.kernel, root.fork());
  const processes: ProcessModel[] = [];
  for (let p = 0; p < spec.processes; p++) {
    const g = generateProgram(spec.program, root.fork(), { name: `proc${p}`, kernel: false, syscalls: true, main: true });
    processes.push({ index: p, pid: FIRST_PID + p, program: g.program, callDepth: g.callDepth });
  }
  return { spec, seed: BigInt(seed), kernel, processes, execSeed, lowerSeed };
}
