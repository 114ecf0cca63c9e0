import type { Addr } from './address.js';

/**
 * The one way a flow decoder sees memory: copy the bytes of context `ctx` at `addr`, as they
 * were at `time`, into `out`. Returns how many bytes were available (0 = unmapped). Fewer than
 * `out.length` means the mapping ends there.
 */
export interface CodeView {
  read(ctx: number, time: number, addr: Addr, out: Uint8Array): number;
}
