// A CodeView over the memory dumps of an OpenCSD snapshot. Like OpenCSD's DecodeTree, every
// core's [dumpN] images go into one global map (trc_pkt_lister maps them all for every source).

import { existsSync, readFileSync } from 'node:fs';
import type { CodeView } from '../../../common/codeview.js';
import { HwtraceError } from '../../../common/errors.js';
import type { Snapshot } from '../../opencsd/snapshot.js';

interface Region {
  start: number;
  end: number;
  bytes: Uint8Array;
}

export class SnapshotMemory implements CodeView {
  readonly regions: Region[] = [];
  /** Dumps whose file is missing (OpenCSD warns and maps the rest); each names the device and section. */
  readonly missing: string[] = [];
  private last: Region | undefined;

  constructor(s: Snapshot) {
    const files = new Map<string, Uint8Array>();
    for (const d of s.devices) {
      for (const m of d.dumps) {
        let data = files.get(m.file);
        if (data === undefined) {
          if (!existsSync(m.file)) {
            this.missing.push(`${d.file}: [${m.section}] file=${m.file} does not exist`);
            continue;
          }
          try {
            data = new Uint8Array(readFileSync(m.file));
          } catch (err) {
            throw new HwtraceError('bad_snapshot', `${d.file}: [${m.section}] file=${m.file}: ${(err as Error).message}`);
          }
          files.set(m.file, data);
        }
        const len = Math.max(0, Math.min(m.length ?? data.length - m.offset, data.length - m.offset));
        this.regions.push({ start: m.address, end: m.address + len, bytes: data.subarray(m.offset, m.offset + len) });
      }
    }
  }

  read(_ctx: number, _time: number, addr: number, out: Uint8Array): number {
    let r = this.last;
    if (r === undefined || addr < r.start || addr >= r.end) {
      r = undefined;
      for (const x of this.regions) {
        if (addr >= x.start && addr < x.end) {
          r = x;
          break;
        }
      }
      if (r === undefined) return 0;
      this.last = r;
    }
    const off = addr - r.start;
    const n = Math.min(out.length, r.end - addr);
    // A plain copy: small reads, no subarray object per call.
    const b = r.bytes;
    for (let i = 0; i < n; i++) out[i] = b[off + i]!;
    return n;
  }
}
