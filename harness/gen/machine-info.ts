// machine.json: what a decoder or an exporter needs to know about a generated machine besides
// the trace — its contexts, address spaces, clock and code images — as plain JSON.

import { formatAddr0x, parseAddr, type Addr } from '../../arch/common/address.js';
import type { ExecContext } from '../../arch/common/context.js';
import type { ClockConfig } from '../../arch/common/events.js';
import { HwtraceError } from '../../arch/common/errors.js';
import type { Machine } from '../../sim/index.js';

export interface ImageInfo {
  /** Code version id, as the truth names it. */
  id: number;
  /** Address space (process index), or -1 for code mapped in every space (the kernel). */
  space: number;
  /** Start address, `0x` + 16 hex digits. */
  start: string;
  size: number;
  /** Cycles during which the bytes are in place; `validTo` null = until the end. */
  validFrom: number;
  validTo: number | null;
  name: string;
}

export interface MachineInfo {
  isa: 'x86' | 'a64';
  clock: ClockConfig;
  /** Interned contexts, index = context id. */
  contexts: ExecContext[];
  /** Address space of each context id. */
  ctxSpace: number[];
  /** Context ids of each process in user mode and in the kernel. */
  userCtx: number[];
  kernelCtx: number[];
  images: ImageInfo[];
}

export function machineInfo(m: Machine): MachineInfo {
  return {
    isa: m.isa,
    clock: { ...m.clock },
    contexts: m.contexts.entries().map((c) => ({ ...c })),
    ctxSpace: Array.from(m.ctxSpace),
    userCtx: Array.from(m.userCtx),
    kernelCtx: Array.from(m.kernelCtx),
    images: m.images.map((im) => ({
      id: im.id,
      space: im.space,
      start: formatAddr0x(im.start),
      size: im.bytes.length,
      validFrom: im.validFrom,
      validTo: Number.isFinite(im.validTo) ? im.validTo : null,
      name: im.name,
    })),
  };
}

/** Reads machine.json back, checking the fields that consumers rely on. */
export function parseMachineInfo(bytes: Uint8Array, what: string): MachineInfo {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new HwtraceError('bad_corpus', `${what}: not valid JSON (${(e as Error).message})`);
  }
  const m = v as MachineInfo;
  const ok = m && (m.isa === 'x86' || m.isa === 'a64') && Array.isArray(m.contexts) && Array.isArray(m.images) && Array.isArray(m.ctxSpace);
  if (!ok) throw new HwtraceError('bad_corpus', `${what}: missing isa, contexts, ctxSpace or images`);
  for (const im of m.images) {
    if (!Number.isInteger(im.id) || !Number.isInteger(im.space) || typeof im.start !== 'string' || !Number.isInteger(im.size)) {
      throw new HwtraceError('bad_corpus', `${what}: bad image entry ${JSON.stringify(im)}`);
    }
  }
  return m;
}

/** An image's start address as a number. */
export function imageStart(im: ImageInfo): Addr {
  return parseAddr(im.start);
}
