// Arm DSTREAM capture files store TPIU data in 512-byte blocks whose last 8 bytes are a footer
// (capture bookkeeping, not trace). OpenCSD's trc_pkt_lister strips them with -dstream_format;
// trace indices then count only the remaining bytes. This undoes that packing, streaming.

export const DSTREAM_BLOCK = 512;
export const DSTREAM_FOOTER = 8;

export class DstreamUnpacker {
  /** Footers removed so far. */
  footers = 0;
  private posInBlock = 0;
  private readonly emit: (data: Uint8Array) => void;

  /** `emit` receives views of the trace bytes (valid during the call only). */
  constructor(emit: (data: Uint8Array) => void) {
    this.emit = emit;
  }

  push(chunk: Uint8Array): void {
    const payload = DSTREAM_BLOCK - DSTREAM_FOOTER;
    let i = 0;
    while (i < chunk.length) {
      if (this.posInBlock < payload) {
        const n = Math.min(payload - this.posInBlock, chunk.length - i);
        this.emit(chunk.subarray(i, i + n));
        i += n;
        this.posInBlock += n;
      } else {
        const n = Math.min(DSTREAM_BLOCK - this.posInBlock, chunk.length - i);
        i += n;
        this.posInBlock += n;
        if (this.posInBlock === DSTREAM_BLOCK) {
          this.posInBlock = 0;
          this.footers++;
        }
      }
    }
  }
}
