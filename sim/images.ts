// Code images: the bytes of code as they were in an address space over an interval of time.
// Static code has one image per program; JIT and self-modifying code will add new versions with
// later `validFrom` times. An image's id is the "code version" the ground truth names.

import type { Addr } from '../arch/common/address.js';
import type { CodeView } from '../arch/common/codeview.js';

/** Address space id of code mapped in every address space (the kernel). */
export const ALL_SPACES = -1;

export interface CodeImage {
  /** Index in the machine's image list; the truth's code version. */
  id: number;
  /** Address space (process index), or ALL_SPACES. */
  space: number;
  start: Addr;
  bytes: Uint8Array;
  /** First cycle at which these bytes are in place. */
  validFrom: number;
  /** First cycle at which they are no longer (Infinity: until the end). */
  validTo: number;
  /** What the image holds, for listings (e.g. `kernel`, `proc2`). */
  name: string;
}

/**
 * A CodeView over images: `ctx` is mapped to an address space by `ctxSpace` (context id → space),
 * and the image of that space (or of all spaces) valid at `time` that holds `addr` is read.
 */
export class ImageCodeView implements CodeView {
  constructor(
    private readonly images: readonly CodeImage[],
    private readonly ctxSpace: Int32Array,
  ) {}

  read(ctx: number, time: number, addr: Addr, out: Uint8Array): number {
    const space = ctx >= 0 && ctx < this.ctxSpace.length ? this.ctxSpace[ctx]! : -2;
    for (const im of this.images) {
      if (im.space !== ALL_SPACES && im.space !== space) continue;
      if (time < im.validFrom || time >= im.validTo) continue;
      const off = addr - im.start;
      if (off < 0 || off >= im.bytes.length) continue;
      const n = Math.min(out.length, im.bytes.length - off);
      out.set(im.bytes.subarray(off, off + n));
      return n;
    }
    return 0;
  }
}
