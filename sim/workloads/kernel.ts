// The simulated kernel: generated service functions plus fixed entry code, laid out like a
// small OS. Two vector stubs sit where AArch64's vector table puts the entries taken from EL0
// (VBAR+0x400 synchronous, used by SVC; VBAR+0x480 IRQ), and jump to the system-call entry
// (dispatch through the system-call table, then SYSRET/ERET) and the interrupt entry (timer
// tick, scheduler test, address-space switch, IRET/ERET). x86 uses the same layout.

import type { Rng } from '../rng.js';
import { generateProgram } from '../program/generate.js';
import { type Func, type Program, Term, relocateFunctions, validateProgram } from '../program/model.js';
import type { KernelSpec } from './spec.js';

/** Offsets of the EL0 entries in an AArch64 vector table (Arm ARM D1.10.2). */
export const VECTOR_EL0_SYNC = 0x400;
export const VECTOR_EL0_IRQ = 0x480;

export interface KernelModel {
  program: Program;
  /** Function a system call enters. */
  syscallVector: number;
  /** Function the timer interrupt enters. */
  irqVector: number;
  /** The system-call table: kernel functions the entry dispatches to. */
  syscallTable: number[];
  /** The function the timer interrupt calls every tick. */
  tick: number;
  callDepth: number;
}

const FIXED = 4; // vector stubs and entries come before the generated functions

export function buildKernel(spec: KernelSpec, rng: Rng): KernelModel {
  const gen = generateProgram(spec, rng, { name: 'kernel', kernel: true, syscalls: false, main: false });
  const services = relocateFunctions(gen.program.functions, FIXED);
  // Handlers are the shallowest functions (they may call the deeper ones).
  const byLevel = services.map((_, i) => i).sort((a, b) => gen.level[a]! - gen.level[b]! || a - b);
  const syscallTable = byLevel.slice(0, spec.syscallHandlers).map((i) => i + FIXED);
  const tick = byLevel[0]! + FIXED;
  const body = (lo: number, hi: number): number => rng.range(lo, hi);
  const fixed: Func[] = [
    { name: 'vector_el0_sync', placeAt: VECTOR_EL0_SYNC, blocks: [{ body: 0, term: Term.JUMP, targetFn: 2, target: 0 }] },
    { name: 'vector_el0_irq', placeAt: VECTOR_EL0_IRQ, blocks: [{ body: 0, term: Term.JUMP, targetFn: 3, target: 0 }] },
    {
      name: 'syscall_entry',
      blocks: [
        { body: body(3, 8), term: Term.IND_CALL, callees: syscallTable, weights: syscallTable.map((_, i) => 1 + ((i * 7) % 5)) },
        { body: body(2, 5), term: Term.SYSRET },
      ],
    },
    {
      name: 'irq_entry',
      blocks: [
        { body: body(4, 10), term: Term.CALL, callees: [tick] },
        { body: body(2, 4), term: Term.COND, target: 3, cond: { rule: 'sched' } },
        { body: body(3, 8), term: Term.CTX_SWITCH },
        { body: body(2, 6), term: Term.IRET },
      ],
    },
  ];
  const program: Program = { name: 'kernel', kernel: true, functions: [...fixed, ...services], entry: 2 };
  const callDepth = validateProgram(program);
  return { program, syscallVector: 0, irqVector: 1, syscallTable, tick, callDepth };
}
