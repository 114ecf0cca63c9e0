// Workloads: a JSON spec and a seed to runnable machines, in one call (what `hwtrace gen` uses).
// `static` and `multiproc` are presets of one parameterised system (spec.ts); the kernel they
// share is built in kernel.ts.

import type { Isa } from '../lower/lower.js';
import { type Machine, buildMachine } from '../machine.js';
import { type SystemModel, buildSystem } from '../system.js';
import { resolveWorkloadSpec } from './spec.js';

export * from './spec.js';
export * from './kernel.js';

/** Builds the system of a workload spec (JSON, defaults filled in) with a seed. */
export function buildWorkload(spec: unknown, seed: number | bigint): SystemModel {
  return buildSystem(resolveWorkloadSpec(spec), seed);
}

/** The machines of a workload for each requested ISA (same system, so the same block sequence). */
export function buildMachines(spec: unknown, seed: number | bigint, isas: readonly Isa[]): Machine[] {
  const model = buildWorkload(spec, seed);
  return isas.map((isa) => buildMachine(model, isa));
}
