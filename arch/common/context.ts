// Execution contexts: who is running. Interned to small integers per corpus so hot paths
// carry an int, not an object.

/** x86-64: paging and virtualisation state as Intel PT reports it (PIP, VMCS, MODE.Exec). */
export interface X86Context {
  arch: 'x86';
  /** CR3 value (page-table base), as a number. */
  cr3: number;
  /** VMCS pointer of the running guest, 0 when none. */
  vmcs: number;
  /** Non-root (VMX guest) bit from PIP. */
  nr: boolean;
  /** Current privilege level, 0 = kernel, 3 = user. */
  cpl: number;
  /** Code size: 16, 32 or 64 bits. */
  mode: 16 | 32 | 64;
}

/** AArch64: what an ETMv4 context packet carries. */
export interface ArmContext {
  arch: 'arm';
  /** Exception level 0..3. */
  el: number;
  /** Security state. */
  security: 'secure' | 'nonsecure' | 'realm' | 'root';
  /** AArch64 (true) or AArch32. */
  sf: boolean;
  vmid: number;
  contextId: number;
}

export type ExecContext = X86Context | ArmContext;

/** A stable text key for a context; two contexts are the same when their keys are. */
export function contextKey(c: ExecContext): string {
  if (c.arch === 'x86') return `x86:${c.cr3}:${c.vmcs}:${c.nr ? 1 : 0}:${c.cpl}:${c.mode}`;
  return `arm:${c.el}:${c.security}:${c.sf ? 1 : 0}:${c.vmid}:${c.contextId}`;
}

/** Interns contexts to small integer ids, in order of first appearance (so ids are deterministic). */
export class ContextTable {
  private readonly ids = new Map<string, number>();
  private readonly list: ExecContext[] = [];

  /** The id of `c`, adding it if new. */
  intern(c: ExecContext): number {
    const key = contextKey(c);
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.list.length;
      this.ids.set(key, id);
      this.list.push({ ...c });
    }
    return id;
  }

  /** The context behind an id; throws on an id this table never gave out. */
  get(id: number): ExecContext {
    const c = this.list[id];
    if (c === undefined) throw new RangeError(`unknown context id ${id}`);
    return c;
  }

  get size(): number {
    return this.list.length;
  }

  /** All contexts, index = id. */
  entries(): readonly ExecContext[] {
    return this.list;
  }
}
