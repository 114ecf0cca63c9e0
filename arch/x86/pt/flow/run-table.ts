// The runs of one block cache as records in one Int32Array, for the walk's common case: a run
// (the straight-line instructions from an entry offset to the first control-flow instruction)
// holds its count, offsets and class, and the ids of the runs that follow it (branch taken,
// next instruction), linked the first time they are needed. Following a link is one load from
// the record just read, where the per-offset maps take four dependent loads from four arrays.
// Runs get an id only where the walk enters code, so the table grows with the code walked.

import { X86Class } from '../../isa/classify.js';
import type { PtBlockCache } from './block-cache.js';

// const enums: the hot loop gets literals (V8 loads and checks an imported binding at every use).

/**
 * Record layout: RunField.STRIDE int32 per run. A run's id is the index of its record's first
 * slot (a multiple of STRIDE), so a field is `rec[id + RunField.X]`.
 */
export const enum RunField {
  /** count << KIND_BITS | kind (RunKind): instructions in the run (its last one included), what ends it. */
  HEAD = 0,
  /** Offset of its first instruction. */
  START = 1,
  /** Offset of its last instruction. */
  LAST = 2,
  /** Class (X86Class) of its last instruction. */
  CLS = 3,
  /** Offset after its last instruction (may be the section's size). */
  NEXT = 4,
  /** Offset of the last instruction's direct target; -1 when it has none in this section. */
  TARGET = 5,
  /** Id of the run at TARGET (0: not linked yet). TAKEN + 1 === FALL: a TNT bit picks one. */
  TAKEN = 6,
  /** Id of the run at NEXT (0: not linked yet). */
  FALL = 7,
  STRIDE = 8,
  KIND_BITS = 4,
  KIND_MASK = 15,
}

/** What the walk does after a run: the classes it follows itself, and the rest (SLOW). */
export const enum RunKind {
  /** Not a branch (a run cut by length): the next run. */
  OTHER = 0,
  /** A conditional branch: a TNT bit. */
  COND = 1,
  /** A direct jump. */
  JUMP = 2,
  /** A direct call. */
  CALL = 3,
  /** A near return: a TNT bit when compressed, else a TIP. */
  RETURN = 4,
  /** Indirect and far transfers, PTWRITE, MOV CR3, undecodable code. */
  SLOW = 5,
}

function kindOf(cls: number): RunKind {
  switch (cls) {
    case X86Class.OTHER:
      return RunKind.OTHER;
    case X86Class.COND_JUMP:
      return RunKind.COND;
    case X86Class.JUMP:
      return RunKind.JUMP;
    case X86Class.CALL:
      return RunKind.CALL;
    case X86Class.RETURN:
      return RunKind.RETURN;
    default:
      return RunKind.SLOW;
  }
}

export class PtRunTable {
  /** The records; the first is unused (id 0 means "none yet" in idAt and the links). */
  rec: Int32Array;
  /** Slots in use, the unused first record included. */
  private used: number = RunField.STRIDE;
  /** Per offset: id of the run entered there (0: none yet). */
  private readonly idAt: Int32Array;
  readonly codeSize: number;

  constructor(
    private readonly cache: PtBlockCache,
    private readonly start: number,
    codeSize: number,
  ) {
    this.codeSize = codeSize;
    this.idAt = new Int32Array(codeSize);
    // About one entry point every 32 bytes to start with; doubled when full.
    this.rec = new Int32Array(Math.max(16, codeSize >> 5) * RunField.STRIDE);
  }

  /** Id of the run entered at `off` (0 ≤ off < codeSize), classifying the code if needed. May grow `rec`. */
  at(off: number): number {
    const id = this.idAt[off]!;
    return id !== 0 ? id : this.add(off);
  }

  /** Id of the run entered at `off` (0 ≤ off < codeSize), 0 when there is none yet. */
  known(off: number): number {
    return this.idAt[off]!;
  }

  /** Id of the run at run `id`'s direct target, 0 when that is outside the section. May grow `rec`. */
  taken(id: number): number {
    const to = this.rec[id + RunField.TARGET]!;
    if (to < 0) return 0;
    const t = this.at(to);
    this.rec[id + RunField.TAKEN] = t;
    return t;
  }

  /** Id of the run after run `id`, 0 when that is outside the section. May grow `rec`. */
  fall(id: number): number {
    const to = this.rec[id + RunField.NEXT]!;
    if (to >= this.codeSize) return 0;
    const t = this.at(to);
    this.rec[id + RunField.FALL] = t;
    return t;
  }

  private add(off: number): number {
    const c = this.cache;
    const n = c.runCount[off] !== 0 ? c.runCount[off]! : c.fill(off);
    const last = c.runLast[off]!;
    if (this.used === this.rec.length) {
      const bigger = new Int32Array(this.rec.length * 2);
      bigger.set(this.rec);
      this.rec = bigger;
    }
    const id = this.used;
    this.used += RunField.STRIDE;
    const r = this.rec;
    const cls = c.cls[last]!;
    r[id + RunField.HEAD] = (n << RunField.KIND_BITS) | kindOf(cls);
    r[id + RunField.START] = off;
    r[id + RunField.LAST] = last;
    r[id + RunField.CLS] = cls;
    r[id + RunField.NEXT] = last + c.length[last]!;
    // A target outside the section (or none: NaN) fails the range test.
    const to = c.target[last]! - this.start;
    r[id + RunField.TARGET] = to >= 0 && to < this.codeSize ? to : -1;
    this.idAt[off] = id;
    return id;
  }
}
