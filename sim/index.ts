// The simulator's public entry points: workload spec → system → machine (per ISA) → executor.
export { Rng } from './rng.js';
export * from './program/model.js';
export * from './program/generate.js';
export type { Isa, IsaBackend, LoweredProgram, TermPlan } from './lower/lower.js';
export { lowerProgram } from './lower/lower.js';
export { X86Backend, X86_LENGTH_WEIGHTS } from './lower/x86.js';
export { A64Backend, A64Cond } from './lower/a64.js';
export * from './workloads/index.js';
export * from './system.js';
export * from './machine.js';
export * from './images.js';
export * from './exec/tables.js';
export * from './exec/executor.js';
export * from './sinks.js';
