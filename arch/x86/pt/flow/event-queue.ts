// Events read ahead of the flow, waiting for the point where libipt reports them: as soon as the
// TNT bits before them are used up (BIND_NOW), when the flow reaches an IP (BIND_IP, the FUP of
// MODE.TSX, EXSTOP, MWAIT), or after the next instruction of a kind (BIND_PTWRITE: a PTW binds
// after a PTWRITE; BIND_PIP: after MOV CR3, a VM entry or a far branch; BIND_VMCS: after VMPTRLD,
// a VM entry or a far branch). Like libipt's instruction decoder, which holds one event at a
// time, an entry waiting for an instruction holds back the entries after it. Events are rare:
// the walk looks at the queue once per run.

export const BIND_NOW = 0;
export const BIND_IP = 1;
export const BIND_PTWRITE = 2;
export const BIND_PIP = 3;
export const BIND_VMCS = 4;

const SIZE = 64;

export class FlowEventQueue {
  readonly kind = new Uint8Array(SIZE);
  readonly ip = new Float64Array(SIZE);
  readonly value = new Float64Array(SIZE);
  readonly extra = new Float64Array(SIZE);
  readonly flags = new Uint8Array(SIZE);
  readonly time = new Float64Array(SIZE);
  readonly bind = new Uint8Array(SIZE);
  /** Trace offset after the event's packet (libipt's position while it holds the event). */
  readonly end = new Float64Array(SIZE);
  /** Index of the oldest entry. */
  head = 0;
  /** Entries queued. */
  length = 0;

  /** Appends an entry; false when the queue is full (the caller reports the event at once). */
  push(kind: number, ip: number, value: number, extra: number, flags: number, time: number, bind: number, end = 0): boolean {
    if (this.length === SIZE) return false;
    const i = (this.head + this.length) % SIZE;
    this.kind[i] = kind;
    this.ip[i] = ip;
    this.value[i] = value;
    this.extra[i] = extra;
    this.flags[i] = flags;
    this.time[i] = time;
    this.bind[i] = bind;
    this.end[i] = end;
    this.length++;
    return true;
  }

  /** Drops the oldest entry. */
  shift(): void {
    this.head = (this.head + 1) % SIZE;
    this.length--;
  }

  /** Index of the most recent entry (length > 0). */
  get last(): number {
    return (this.head + this.length - 1) % SIZE;
  }

  /** Keeps only the entries with binding `keep` (in order). */
  keepOnly(keep: number): void {
    this.filter(keep, true);
  }

  /** Drops the entries with binding `bind` (the others stay in order). */
  drop(bind: number): void {
    this.filter(bind, false);
  }

  private filter(bind: number, keep: boolean): void {
    let n = 0;
    for (let k = 0; k < this.length; k++) {
      const i = (this.head + k) % SIZE;
      if ((this.bind[i] === bind) !== keep) continue;
      const j = (this.head + n) % SIZE;
      this.kind[j] = this.kind[i]!;
      this.ip[j] = this.ip[i]!;
      this.value[j] = this.value[i]!;
      this.extra[j] = this.extra[i]!;
      this.flags[j] = this.flags[i]!;
      this.time[j] = this.time[i]!;
      this.bind[j] = this.bind[i]!;
      this.end[j] = this.end[i]!;
      n++;
    }
    this.length = n;
  }

  clear(): void {
    this.head = 0;
    this.length = 0;
  }
}
