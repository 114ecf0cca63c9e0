// A CodeView over code images tied to address spaces (a generated machine's or a corpus's):
// memory context = address space, -1 = unknown (any image may answer). Also maps the PE
// context a trace reports (CONTEXTIDR, VMID, EL) to the address space it runs in.

import type { CodeView } from '../../../common/codeview.js';
import type { ExecContext } from '../../../common/context.js';

export interface SpaceImage {
  start: number;
  bytes: Uint8Array;
  /** Address space, or -1 for code mapped in every space. */
  space: number;
}

export class ImageMemory implements CodeView {
  constructor(private readonly images: readonly SpaceImage[]) {}

  read(ctx: number, _time: number, addr: number, out: Uint8Array): number {
    for (const im of this.images) {
      if (ctx >= 0 && im.space >= 0 && im.space !== ctx) continue;
      const off = addr - im.start;
      if (off < 0 || off >= im.bytes.length) continue;
      const n = Math.min(out.length, im.bytes.length - off);
      out.set(im.bytes.subarray(off, off + n));
      return n;
    }
    return 0;
  }
}

/**
 * (CONTEXTIDR, EL) → address space, from the machine's contexts and the space of each (the VMID
 * is not used: it may not be traced). A pair shared by contexts of different spaces (context ID tracing off) maps to -1.
 */
export function spaceOfContext(contexts: readonly ExecContext[], ctxSpace: ArrayLike<number>): (cid: number, vmid: number, el: number) => number {
  const m = new Map<string, number>();
  contexts.forEach((c, i) => {
    if (c.arch !== 'arm') return;
    const key = `${c.contextId}:${c.el}`;
    const s = ctxSpace[i]!;
    const had = m.get(key);
    m.set(key, had === undefined || had === s ? s : -1);
  });
  return (cid, _vmid, el) => m.get(`${cid}:${el}`) ?? -1;
}
