// The P0 element stack (IHI 0064 §6.5 "speculation"): packets become elements, newest at the
// head; commit resolves from the oldest, cancel and mispredict act on the newest. A ring of
// parallel typed arrays, so pushing and resolving allocate nothing.

export const P0 = {
  ATOM: 0,
  EXCEPT: 1,
  Q: 2,
  /** Uncommitted elements the decoder never saw (Trace Info SPEC field). */
  UNSEEN: 3,
  TSTART: 4,
  /** ETE source address: the taken branch at this address (one E atom). */
  SRC_ADDR: 5,
  // Not P0: resolved in order as commits pass them.
  ADDR: 8,
  CTXT: 9,
  TRACE_ON: 10,
  TS: 11,
  CC: 12,
  EVENT: 13,
  MARKER: 14,
  EXCEPT_RET: 15,
  MEMTRANS: 16,
  ITE: 17,
} as const;

/** Kinds that count as P0 elements (speculation depth). */
export function isP0(kind: number): boolean {
  return kind < 8;
}

/** Kinds a cancel keeps (they are not speculative: timing and markers). */
export function survivesCancel(kind: number): boolean {
  return kind >= P0.TS && kind <= P0.MARKER;
}

export class P0Stack {
  private cap = 64;
  private mask = 63;
  /** Ring positions: tail = oldest, count elements from there. */
  tail = 0;
  count = 0;
  kind = new Uint8Array(64);
  idx = new Float64Array(64);
  /** Address, timestamp, Q count... */
  a = new Float64Array(64);
  /** Atom bits (bit0 oldest), exception type, context VMID... */
  b = new Float64Array(64);
  /** Atom count, IS, exception addr_interp, context info byte... */
  c = new Int32Array(64);
  /** Context ID, cycle count. */
  d = new Float64Array(64);

  /** Ring slot of the i-th element from the oldest. */
  slot(i: number): number {
    return (this.tail + i) & this.mask;
  }

  push(kind: number, idx: number, a: number, b: number, c: number, d: number): number {
    if (this.count === this.cap) this.grow();
    const s = (this.tail + this.count) & this.mask;
    this.count++;
    this.kind[s] = kind;
    this.idx[s] = idx;
    this.a[s] = a;
    this.b[s] = b;
    this.c[s] = c;
    this.d[s] = d;
    return s;
  }

  dropOldest(): void {
    this.tail = (this.tail + 1) & this.mask;
    this.count--;
  }

  /** Removes the i-th element from the oldest, keeping order. */
  removeAt(i: number): void {
    for (let k = i; k > 0; k--) this.copy(this.slot(k - 1), this.slot(k));
    this.dropOldest();
  }

  clear(): void {
    this.tail = 0;
    this.count = 0;
  }

  private copy(from: number, to: number): void {
    this.kind[to] = this.kind[from]!;
    this.idx[to] = this.idx[from]!;
    this.a[to] = this.a[from]!;
    this.b[to] = this.b[from]!;
    this.c[to] = this.c[from]!;
    this.d[to] = this.d[from]!;
  }

  private grow(): void {
    const n = this.cap * 2;
    const kind = new Uint8Array(n);
    const idx = new Float64Array(n);
    const a = new Float64Array(n);
    const b = new Float64Array(n);
    const c = new Int32Array(n);
    const d = new Float64Array(n);
    for (let i = 0; i < this.count; i++) {
      const s = this.slot(i);
      kind[i] = this.kind[s]!;
      idx[i] = this.idx[s]!;
      a[i] = this.a[s]!;
      b[i] = this.b[s]!;
      c[i] = this.c[s]!;
      d[i] = this.d[s]!;
    }
    this.kind = kind;
    this.idx = idx;
    this.a = a;
    this.b = b;
    this.c = c;
    this.d = d;
    this.cap = n;
    this.mask = n - 1;
    this.tail = 0;
  }
}
