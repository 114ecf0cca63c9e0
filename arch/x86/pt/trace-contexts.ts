// What the trace unit needs to know about each execution context, looked up once per context id
// and kept in typed arrays: whether tracing is on there (ContextEn: the OS/User bits against
// CPL, and the CR3 filter), and the values PIP, VMCS and MODE.Exec report.

import type { ExecContext } from '../../common/context.js';
import { HwtraceError } from '../../common/errors.js';
import type { PtTraceConfig } from './trace-config.js';

/** Where context ids come from: a ContextTable (e.g. a simulator Machine's `contexts`). */
export interface PtContextSource {
  get(id: number): ExecContext;
}

export class PtContextCache {
  /** 0 = not looked up yet, 1 = ContextEn clear, 2 = ContextEn set. */
  private state = new Uint8Array(16);
  private cr3s = new Float64Array(16);
  private vmcss = new Float64Array(16);
  private nrs = new Uint8Array(16);
  private modes = new Uint8Array(16);

  constructor(private readonly source: PtContextSource, private readonly config: PtTraceConfig) {}

  /** ContextEn in context `id`. */
  enabled(id: number): boolean {
    return (id < this.state.length && this.state[id] !== 0 ? this.state[id]! : this.load(id)) === 2;
  }

  cr3(id: number): number {
    this.enabled(id);
    return this.cr3s[id]!;
  }

  vmcs(id: number): number {
    this.enabled(id);
    return this.vmcss[id]!;
  }

  /** The VMX non-root (guest) bit. */
  nr(id: number): number {
    this.enabled(id);
    return this.nrs[id]!;
  }

  /** Code size: 16, 32 or 64. */
  mode(id: number): number {
    this.enabled(id);
    return this.modes[id]!;
  }

  private load(id: number): number {
    if (!(Number.isInteger(id) && id >= 0)) throw new HwtraceError('bad_context', `context id ${id} is not a context table index`);
    const c = this.source.get(id);
    if (c.arch !== 'x86') throw new HwtraceError('bad_context', `context ${id} is an ${c.arch} context; Intel PT traces x86 contexts only`);
    if (id >= this.state.length) this.grow(id + 1);
    const cfg = this.config;
    const on = (c.cpl === 0 ? cfg.os : cfg.user) && (cfg.cr3Match === null || c.cr3 === cfg.cr3Match);
    this.cr3s[id] = c.cr3;
    this.vmcss[id] = c.vmcs;
    this.nrs[id] = c.nr ? 1 : 0;
    this.modes[id] = c.mode;
    this.state[id] = on ? 2 : 1;
    return this.state[id]!;
  }

  private grow(n: number): void {
    let size = this.state.length;
    while (size < n) size *= 2;
    const grow8 = (a: Uint8Array) => {
      const b = new Uint8Array(size);
      b.set(a);
      return b;
    };
    const grow64 = (a: Float64Array) => {
      const b = new Float64Array(size);
      b.set(a);
      return b;
    };
    this.state = grow8(this.state);
    this.nrs = grow8(this.nrs);
    this.modes = grow8(this.modes);
    this.cr3s = grow64(this.cr3s);
    this.vmcss = grow64(this.vmcss);
  }
}
