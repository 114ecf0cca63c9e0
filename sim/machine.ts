// A machine: a system lowered to one instruction set, with its address layout, its execution
// contexts (interned per ISA: x86 CR3 + CPL, Arm CONTEXTIDR + EL) and its code images.

import { type Addr, parseAddr } from '../arch/common/address.js';
import { type ClockConfig } from '../arch/common/events.js';
import { ContextTable, type ExecContext } from '../arch/common/context.js';
import { Rng } from './rng.js';
import { ALL_SPACES, type CodeImage } from './images.js';
import { A64Backend } from './lower/a64.js';
import { type IsaBackend, type Isa, type LoweredProgram, lowerProgram } from './lower/lower.js';
import { X86Backend } from './lower/x86.js';
import type { Program } from './program/model.js';
import type { SystemModel } from './system.js';

/** Where user programs are laid out (process n at USER_BASE + n × USER_STRIDE with distinct addresses). */
export const USER_BASE = 0x400000;
export const USER_STRIDE = 0x10000000;

/** Kernel text: Linux's x86-64 __START_KERNEL_map + 16 MiB, and an arm64 kernel image address. */
export const KERNEL_BASE: Readonly<Record<Isa, Addr>> = {
  x86: parseAddr('0xffffffff81000000'),
  a64: parseAddr('0xffff800010000000'),
};

/** CR3 of process n (a page-aligned page-table base). */
export function x86Cr3(processIndex: number): number {
  return 0x1a000000 + processIndex * 0x1000;
}

export interface Machine {
  isa: Isa;
  model: SystemModel;
  clock: ClockConfig;
  contexts: ContextTable;
  /** Context id of process n in user mode / in the kernel. */
  userCtx: Int32Array;
  kernelCtx: Int32Array;
  /** Address space (process index) of each context id. */
  ctxSpace: Int32Array;
  kernel: LoweredProgram;
  processes: LoweredProgram[];
  /** Code images; image id = truth code version. Kernel first, then processes in order. */
  images: CodeImage[];
}

function backendFor(isa: Isa, base: Addr, rng: Rng): IsaBackend {
  return isa === 'x86' ? new X86Backend(base, rng) : new A64Backend();
}

function lower(isa: Isa, program: Program, base: Addr, rng: Rng): LoweredProgram {
  return lowerProgram(program, backendFor(isa, base, rng), base, rng);
}

function contextsOf(isa: Isa, pid: number, index: number): [ExecContext, ExecContext] {
  if (isa === 'x86') {
    const cr3 = x86Cr3(index);
    return [
      { arch: 'x86', cr3, vmcs: 0, nr: false, cpl: 3, mode: 64 },
      { arch: 'x86', cr3, vmcs: 0, nr: false, cpl: 0, mode: 64 },
    ];
  }
  return [
    { arch: 'arm', el: 0, security: 'nonsecure', sf: true, vmid: 0, contextId: pid },
    { arch: 'arm', el: 1, security: 'nonsecure', sf: true, vmid: 0, contextId: pid },
  ];
}

/** Lowers every program of `model` to `isa` and lays out the address spaces. Deterministic. */
export function buildMachine(model: SystemModel, isa: Isa): Machine {
  const rng = new Rng(model.lowerSeed);
  const kernel = lower(isa, model.kernel.program, KERNEL_BASE[isa], rng.fork());
  const processes = model.processes.map((p) =>
    lower(isa, p.program, USER_BASE + (model.spec.distinctAddresses ? p.index * USER_STRIDE : 0), rng.fork()));

  const contexts = new ContextTable();
  const n = model.processes.length;
  const userCtx = new Int32Array(n);
  const kernelCtx = new Int32Array(n);
  const spaces: number[] = [];
  for (const p of model.processes) {
    const [user, kern] = contextsOf(isa, p.pid, p.index);
    userCtx[p.index] = contexts.intern(user);
    kernelCtx[p.index] = contexts.intern(kern);
    spaces[userCtx[p.index]!] = p.index;
    spaces[kernelCtx[p.index]!] = p.index;
  }

  const images: CodeImage[] = [
    { id: 0, space: ALL_SPACES, start: kernel.base, bytes: kernel.bytes, validFrom: 0, validTo: Infinity, name: 'kernel' },
    ...processes.map((lp, i) => ({ id: i + 1, space: i, start: lp.base, bytes: lp.bytes, validFrom: 0, validTo: Infinity, name: `proc${i}` })),
  ];
  const c = model.spec.clock;
  const clock: ClockConfig = { coreHz: c.coreHz, tscHz: c.tscHz, crystalHz: c.crystalHz, timerHz: c.timerHz, timeBase: c.timeBase };
  return { isa, model, clock, contexts, userCtx, kernelCtx, ctxSpace: Int32Array.from(spaces), kernel, processes, images };
}
