// The memory a flow decoder walks: code sections (bytes at an address), each visible in one
// address space (CR3) or in all of them (the kernel). Like libipt's image: sections selected by
// the current CR3 (and VMCS), a section may not be seen in another space. Also a CodeView (ctx = CR3).

import type { Addr } from '../../../common/address.js';
import type { CodeView } from '../../../common/codeview.js';
import { X86Class, classifyOne } from '../../isa/classify.js';
import { ILD_MAX_LENGTH } from '../../isa/ild.js';
import { PtBlockCache } from './block-cache.js';

export interface PtSection {
  readonly bytes: Uint8Array;
  readonly start: Addr;
  /** Exclusive. */
  readonly end: Addr;
  /** CR3 of the address space it belongs to; NaN = every address space. */
  readonly cr3: number;
  /** VMCS base of the virtual machine it belongs to; NaN = any (libipt's pt_asid.vmcs). */
  readonly vmcs: number;
  /** Name for messages (file name or image name). */
  readonly name: string;
  /** Classified code per execution mode, index bitness >> 5 (16, 32, 64 → 0, 1, 2), made on first use. */
  readonly caches: Array<PtBlockCache | undefined>;
}

export class PtImage implements CodeView {
  readonly sections: PtSection[] = [];

  add(bytes: Uint8Array, start: Addr, cr3: number = Number.NaN, name = `section ${this.sections.length}`, vmcs: number = Number.NaN): void {
    this.sections.push({ bytes, start, end: start + bytes.length, cr3, vmcs, name, caches: [undefined, undefined, undefined] });
  }

  /**
   * Index of the section holding `addr` in address space (`cr3`, `vmcs`), or -1. A section's
   * NaN CR3 or VMCS matches any; sections tied to the current CR3 / VMCS win over shared ones.
   */
  find(cr3: number, addr: Addr, vmcs: number = Number.NaN): number {
    let best = -1;
    let bestScore = -1;
    const s = this.sections;
    for (let i = 0; i < s.length; i++) {
      const x = s[i]!;
      if (addr < x.start || addr >= x.end || !visible(x, cr3, vmcs)) continue;
      const score = (Number.isNaN(x.cr3) ? 0 : 2) + (Number.isNaN(x.vmcs) ? 0 : 1);
      if (score === 3) return i;
      if (score > bestScore) {
        best = i;
        bestScore = score;
      }
    }
    return best;
  }

  /** True when no other section visible in (`cr3`, `vmcs`) overlaps section `i`: find() gives `i` for all of it. */
  alone(i: number, cr3: number, vmcs: number = Number.NaN): boolean {
    const s = this.sections;
    const x = s[i]!;
    for (let j = 0; j < s.length; j++) {
      const y = s[j]!;
      if (j !== i && y.start < x.end && x.start < y.end && visible(y, cr3, vmcs)) return false;
    }
    return true;
  }

  /**
   * The instruction at `addr` that the end of section `i` cuts, completed with the bytes of the
   * section mapped right after it in address space (`cr3`, `vmcs`), as libipt reads an
   * instruction across sections: its class, length and direct target. Null when nothing is
   * mapped there or the bytes still do not make an instruction.
   */
  joined(i: number, addr: Addr, cr3: number, vmcs: number, bitness: 16 | 32 | 64): { cls: number; length: number; target: number } | null {
    const bytes = this.bytesAcross(i, addr, cr3, vmcs);
    if (bytes === null) return null;
    const insn = classifyOne(bytes, addr, bitness);
    return insn.cls >= X86Class.INVALID ? null : insn;
  }

  /**
   * Up to 15 bytes from `addr` (in section `i`, less than 15 bytes before its end) on into the
   * section mapped right after it in (`cr3`, `vmcs`); null when nothing is mapped there.
   */
  bytesAcross(i: number, addr: Addr, cr3: number, vmcs: number): Uint8Array | null {
    const s = this.sections[i]!;
    const j = this.find(cr3, s.end, vmcs);
    if (j < 0) return null;
    const head = s.bytes.subarray(addr - s.start);
    const next = this.sections[j]!;
    const from = s.end - next.start;
    const tail = next.bytes.subarray(from, from + ILD_MAX_LENGTH - head.length);
    const bytes = new Uint8Array(head.length + tail.length);
    bytes.set(head, 0);
    bytes.set(tail, head.length);
    return bytes;
  }

  /** The block cache of section `i` for `bitness`. */
  cache(i: number, bitness: 16 | 32 | 64): PtBlockCache {
    const s = this.sections[i]!;
    return (s.caches[bitness >> 5] ??= new PtBlockCache(s.bytes, s.start, bitness));
  }

  read(ctx: number, _time: number, addr: Addr, out: Uint8Array): number {
    const i = this.find(ctx, addr);
    if (i < 0) return 0;
    const s = this.sections[i]!;
    const from = addr - s.start;
    const n = Math.min(out.length, s.bytes.length - from);
    out.set(s.bytes.subarray(from, from + n));
    return n;
  }
}

/** A section with a NaN CR3 or VMCS is seen in every address space or virtual machine. */
function visible(x: PtSection, cr3: number, vmcs: number): boolean {
  return (Number.isNaN(x.cr3) || x.cr3 === cr3) && (Number.isNaN(x.vmcs) || x.vmcs === vmcs);
}
