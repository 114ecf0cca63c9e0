// What the trace unit needs to know about an execution context, by interned context id: the
// fields a context packet carries (EL, NS, NSE, SF, VMID, CONTEXTIDR). Filled lazily from a
// ContextTable-like lookup into typed arrays, so that a context change costs array reads.

import { HwtraceError } from '../../common/errors.js';
import type { ExecContext } from '../../common/context.js';

/** Anything that maps a context id to its context (arch/common's ContextTable is one). */
export interface ContextLookup {
  get(id: number): ExecContext;
}

/** NS and NSE bits of a security state (ETE's FEAT_RME encoding; ETMv4 only has NS). */
function securityBits(s: string): number {
  switch (s) {
    case 'nonsecure':
      return 1;
    case 'secure':
      return 0;
    case 'realm':
      return 3;
    case 'root':
      return 2;
    default:
      throw new HwtraceError('bad_context', `unknown Arm security state '${s}'`);
  }
}

export class EtmContextFields {
  /** Context info byte without the V/C bits: EL[1:0], NSE[3], SF[4], NS[5]. */
  info = new Int16Array(16).fill(-1);
  vmid = new Float64Array(16);
  cid = new Float64Array(16);

  constructor(private readonly lookup: ContextLookup) {}

  /** Makes sure `id` is cached (it is cheap to call on every context change). */
  load(id: number): void {
    if (id < this.info.length && this.info[id]! >= 0) return;
    const c = this.lookup.get(id);
    if (c.arch !== 'arm') throw new HwtraceError('bad_context', `context ${id} is not an Arm context (${c.arch}): an ETM traces AArch64 execution`);
    if (!(Number.isInteger(c.el) && c.el >= 0 && c.el <= 3)) throw new HwtraceError('bad_context', `context ${id}: exception level ${c.el} is not 0..3`);
    for (const [what, v] of [['VMID', c.vmid], ['CONTEXTIDR', c.contextId]] as const) {
      if (!(Number.isInteger(v) && v >= 0 && v <= 0xffffffff)) throw new HwtraceError('bad_context', `context ${id}: ${what} ${v} is not a 32-bit value`);
    }
    if (id >= this.info.length) {
      let n = this.info.length;
      while (n <= id) n *= 2;
      const info = new Int16Array(n).fill(-1);
      info.set(this.info);
      this.info = info;
      const vmid = new Float64Array(n);
      vmid.set(this.vmid);
      this.vmid = vmid;
      const cid = new Float64Array(n);
      cid.set(this.cid);
      this.cid = cid;
    }
    const sec = securityBits(c.security);
    this.info[id] = c.el | ((sec & 2) << 2) | (c.sf ? 0x10 : 0) | ((sec & 1) << 5);
    this.vmid[id] = c.vmid;
    this.cid[id] = c.contextId;
  }
}
