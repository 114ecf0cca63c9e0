// Helpers for the trace-unit tests: a small driver that feeds hand-built event sequences to an
// ExecSink the way the executor does, and a decode of the unit's bytes with our packet decoder
// into plain records.

import { ContextTable } from '../../../../arch/common/context.js';
import type { DecodeError } from '../../../../arch/common/errors.js';
import { type ClockConfig, Xfer } from '../../../../arch/common/events.js';
import { MemorySink } from '../../../../arch/common/stream.js';
import type { Etm4Config } from '../../../../arch/arm/etm4/config.js';
import { Etm4PacketDecoder } from '../../../../arch/arm/etm4/decoder.js';
import { atomString } from '../../../../arch/arm/etm4/listing.js';
import { packetTypeName } from '../../../../arch/arm/etm4/packet-types.js';
import { EtmTraceUnit } from '../../../../arch/arm/etm4/trace-unit.js';
import type { EtmTraceOptions } from '../../../../arch/arm/etm4/trace-config.js';

export const CLOCK: ClockConfig = { coreHz: 1_000_000_000, tscHz: 1_000_000_000, crystalHz: 25_000_000, timerHz: 100_000_000, timeBase: 0x5000 };

export const USER = 0x400000;
export const KERNEL = -0x7fffeffff000; // 0xffff800010001000
export const VECTOR_SVC = KERNEL + 0x400;
export const VECTOR_IRQ = KERNEL + 0x480;

/** Contexts: 0/1 = process 1000 user/kernel, 2/3 = process 1001 user/kernel. */
export function contexts(): ContextTable {
  const t = new ContextTable();
  for (const pid of [1000, 1001]) {
    t.intern({ arch: 'arm', el: 0, security: 'nonsecure', sf: true, vmid: 0, contextId: pid });
    t.intern({ arch: 'arm', el: 1, security: 'nonsecure', sf: true, vmid: 0, contextId: pid });
  }
  return t;
}

export interface Rec {
  type: string;
  index: number;
  addr: number;
  atoms: string;
  exc: number;
  el: number;
  cid: number;
  ctxt: boolean;
  ts: number;
  cc: number;
  ccValid: boolean;
  raw: string;
}

export interface Decoded {
  recs: Rec[];
  errors: DecodeError[];
}

export function decode(bytes: Uint8Array, cfg: Etm4Config): Decoded {
  const recs: Rec[] = [];
  const errors: DecodeError[] = [];
  const d = new Etm4PacketDecoder(cfg, {
    packet(p) {
      recs.push({
        type: packetTypeName(p.type).replace(/^I_/, ''),
        index: p.index,
        addr: p.address,
        atoms: atomString(p.atomBits, p.atomCount),
        exc: p.excType,
        el: p.el,
        cid: p.contextId,
        ctxt: p.ctxtUpdated,
        ts: p.timestamp,
        cc: p.cycleCount,
        ccValid: p.ccValid,
        raw: Buffer.from(p.bytes()).toString('hex'),
      });
    },
    error(e) {
      errors.push(e);
    },
  });
  d.push(bytes);
  d.end();
  return { recs, errors };
}

/** All atoms of the stream, in order. */
export function allAtoms(recs: Rec[]): string {
  return recs.filter((r) => r.type.startsWith('ATOM')).map((r) => r.atoms).join('');
}

/** The packets other than atoms, as `TYPE` or `TYPE@addr`. */
export function addressRecs(recs: Rec[]): Rec[] {
  return recs.filter((r) => r.type.startsWith('ADDR'));
}

/** Drives an ExecSink like the executor: 4-byte instructions, one cycle each, a context. */
export class Driver {
  pc: number;
  cycle = 0;
  syncs: number[] = [];
  readonly out = new MemorySink();
  readonly unit: EtmTraceUnit;

  constructor(
    opts: Partial<EtmTraceOptions> = {},
    public ctx = 0,
    start = USER,
  ) {
    this.pc = start;
    this.unit = new EtmTraceUnit({ options: opts, contexts: contexts(), clock: CLOCK, out: this.out, sync: { sync: (_s, off) => this.syncs.push(off) }, chunkSize: 64 });
    this.unit.begin(ctx, start, 0);
  }

  /** `n` straight-line instructions; the last is the branch reported next, if any. */
  run(n: number): this {
    this.unit.block(this.pc, n, this.ctx, this.cycle);
    this.pc += 4 * n;
    this.cycle += n;
    return this;
  }

  /** Runs `n` instructions ending in a transfer of `kind` to `to` (in context `toCtx`). */
  br(n: number, kind: number, to?: number, toCtx = this.ctx): this {
    this.run(n);
    const from = this.pc - 4;
    const dest = kind === Xfer.COND_NOT_TAKEN ? this.pc : to!;
    this.unit.branch(kind, from, this.pc, dest, toCtx, this.cycle);
    this.pc = dest;
    this.ctx = toCtx;
    return this;
  }

  irq(n: number, toCtx: number): this {
    this.run(n);
    this.unit.interrupt(1, 0, this.pc, VECTOR_IRQ, toCtx, this.cycle);
    this.pc = VECTOR_IRQ;
    this.ctx = toCtx;
    return this;
  }

  switchTo(n: number, ctx: number): this {
    this.run(n);
    this.unit.contextSwitch(this.pc - 4, this.pc, ctx, this.cycle);
    this.ctx = ctx;
    return this;
  }

  wait(cycles: number): this {
    this.cycle += cycles;
    return this;
  }

  finish(tail = 0): Decoded {
    if (tail) this.run(tail);
    this.unit.end(this.pc, this.cycle);
    this.unit.finish();
    return decode(this.out.bytes(), this.unit.config);
  }
}
