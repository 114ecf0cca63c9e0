// Where libipt's block decoder (2.0.5) cuts the instruction flow into blocks, for ptxed's
// --block:show-blocks, --stat:blocks and per-block --offset/--time. A block always ends at an
// instruction that needs trace (conditional, indirect and far branches, returns), at a section
// change, before an event and (with end_on_call / end_on_jump) after direct calls / jumps. Past
// direct branches, where it ends depends on libipt's block cache, which remembers, per section
// and offset, what it found the first time through:
//   - on code seen before (cache hit), a block goes on through direct calls and jumps;
//   - on code seen for the first time (the cache is filled), it ends after a direct call or a
//     backward direct jump (libipt stops there to keep its return stack and to notice section
//     splits), and before code seen before (where the new entries link to the old ones);
//   - when an event is waiting for an IP (an asynchronous branch, a PIP for MOV CR3, a TIP.PGD
//     for a branch), libipt walks to it without the cache: one block, nothing remembered.
// The flow decoder's runs arrive here one by one; the runs since the last instruction that
// needed trace are held back until it is known whether an event waited for them.

import { X86Class } from '../../../isa/classify.js';
import type { PtImage } from '../image.js';

/** Where the blocks go. */
export interface BlockOutput {
  /** A block starts; `tag` is the one given with its first run. */
  openBlock(tag: string): void;
  /** An instruction of the current block. */
  instruction(ip: number, section: number, bitness: 16 | 32 | 64): void;
}

/** libipt counts a block's instructions in 16 bits. */
const MAX_BLOCK = 0xffff;

/** Classes whose successor is known without trace: libipt's block goes on from them. */
function needsTrace(cls: number): boolean {
  return !(cls === X86Class.OTHER || cls === X86Class.JUMP || cls === X86Class.CALL || cls === X86Class.PTWRITE || cls === X86Class.MOV_CR3);
}

export class LibiptBlocks {
  /** Blocks formed so far. */
  blocks = 0;
  /** The IP of the last instruction emitted (the end of the last block; NaN before any). */
  lastIp = Number.NaN;
  // The held-back runs (a segment): parallel arrays, `n` of them.
  private readonly starts: number[] = [];
  private readonly counts: number[] = [];
  private readonly sections: number[] = [];
  private readonly modes: Array<16 | 32 | 64> = [];
  private readonly tags: string[] = [];
  private n = 0;
  /** The last held-back run ends with an instruction that needs trace. */
  private ended = false;
  /** Per section and mode: offsets libipt's block cache has an entry for. */
  private readonly known = new Map<number, Uint8Array>();

  constructor(
    private readonly image: PtImage,
    private readonly out: BlockOutput,
    private readonly endOnCall = false,
    private readonly endOnJump = false,
  ) {}

  /** A run of the flow decoder; `tag` goes back to the output when a block starts in it. */
  add(start: number, count: number, section: number, bitness: 16 | 32 | 64, tag: string): void {
    if (this.ended) this.flush(false);
    const i = this.n++;
    this.starts[i] = start;
    this.counts[i] = count;
    this.sections[i] = section;
    this.modes[i] = bitness;
    this.tags[i] = tag;
    this.ended = needsTrace(this.lastClass(i));
  }

  /**
   * An event (or error) follows the held-back runs: `waited` when libipt would have walked to it
   * without its cache (the event binds to an IP or instruction in or at the end of these runs).
   */
  beforeEvent(waited: boolean): void {
    if (this.n > 0) this.flush(waited);
  }

  /** The end of the trace. */
  finish(): void {
    if (this.n > 0) this.flush(false);
  }

  private lastClass(i: number): number {
    const s = this.image.sections[this.sections[i]!]!;
    const cache = this.image.cache(this.sections[i]!, this.modes[i]!);
    let off = this.starts[i]! - s.start;
    for (let k = 1; k < this.counts[i]!; k++) off += cache.length[off]!;
    return cache.cls[off]!;
  }

  private knownOf(section: number, bitness: 16 | 32 | 64): Uint8Array {
    const key = section * 4 + (bitness >> 4);
    let k = this.known.get(key);
    if (k === undefined) {
      k = new Uint8Array(this.image.sections[section]!.bytes.length);
      this.known.set(key, k);
    }
    return k;
  }

  /** Emits the held-back runs as blocks; `uncached`: libipt walked them without its block cache. */
  private flush(uncached: boolean): void {
    const out = this.out;
    let open = false;
    let blockSection = -1;
    let ninsn = 0;
    for (let i = 0; i < this.n; i++) {
      const section = this.sections[i]!;
      const bitness = this.modes[i]!;
      const s = this.image.sections[section]!;
      const cache = this.image.cache(section, bitness);
      const known = this.knownOf(section, bitness);
      let off = this.starts[i]! - s.start;
      const count = this.counts[i]!;
      for (let k = 0; k < count; k++) {
        if (open && (section !== blockSection || ninsn === MAX_BLOCK)) open = false;
        if (!open) {
          this.blocks++;
          out.openBlock(this.tags[i]!);
          open = true;
          blockSection = section;
          ninsn = 0;
        }
        const ip = s.start + off;
        this.lastIp = ip;
        out.instruction(ip, section, bitness);
        ninsn++;
        const cls = cache.cls[off]!;
        const len = cache.length[off]!;
        if (needsTrace(cls) || (this.endOnCall && cls === X86Class.CALL) || (this.endOnJump && cls === X86Class.JUMP)) {
          open = false;
        } else if (!uncached && known[off] === 0) {
          // Filling the cache: stop after a direct call or a backward direct jump, and before
          // code the cache knows (the next instruction is this run's next, or the next run's first).
          known[off] = 1;
          if (cls === X86Class.CALL || (cls === X86Class.JUMP && cache.target[off]! <= ip)) open = false;
          else if (this.nextKnown(i, k, off + len)) open = false;
        }
        off += len;
      }
    }
    this.n = 0;
    this.ended = false;
  }

  /** Whether the block cache knows the instruction after instruction `k` of run `i` (at `nextOff` when in the run). */
  private nextKnown(i: number, k: number, nextOff: number): boolean {
    if (k + 1 < this.counts[i]!) return this.knownOf(this.sections[i]!, this.modes[i]!)[nextOff] === 1;
    if (i + 1 >= this.n) return false;
    const section = this.sections[i + 1]!;
    // Another section ends the block anyway.
    if (section !== this.sections[i]!) return false;
    return this.knownOf(section, this.modes[i + 1]!)[this.starts[i + 1]! - this.image.sections[section]!.start] === 1;
  }
}
