// Writes an OpenCSD snapshot directory that trc_pkt_lister (and readSnapshot) can read: used to
// hand our synthetic traces and memory images to the reference decoder.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatAddr0x, type Addr } from '../../common/address.js';
import { HwtraceError } from '../../common/errors.js';
import { formatIni } from './ini.js';
import type { TraceBufferFormat } from './snapshot.js';

export interface MemoryDumpSpec {
  /** File name inside the snapshot directory. */
  file: string;
  address: Addr;
  /** Bytes to write to `file` (omit when the file is written by someone else). */
  data?: Uint8Array;
  length?: number;
  offset?: number;
  /** EL1N, EL2, S, N, ANY... (omitted: any). */
  space?: string;
}

export interface DeviceSpec {
  name: string;
  class: 'core' | 'trace_source' | string;
  type: string;
  /** Register values (numbers are written as 0x%08X, bigints as 0x%X, strings as given). */
  regs?: Record<string, number | bigint | string>;
  dumps?: MemoryDumpSpec[];
  /** Device file name (default `<name>.ini`). */
  file?: string;
}

export interface TraceBufferSpec {
  name: string;
  /** Data file name inside the snapshot directory. */
  file: string;
  format: TraceBufferFormat;
  data?: Uint8Array;
}

export interface SnapshotSpec {
  description?: string;
  devices: DeviceSpec[];
  /** Written in this order; trc_pkt_lister decodes the first. */
  buffers: TraceBufferSpec[];
  /** Trace source name → buffer name. */
  sourceBuffers: [string, string][];
  /** Core name → trace source name. */
  coreSources: [string, string][];
}

function regText(v: number | bigint | string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint') return '0x' + v.toString(16).toUpperCase();
  if (!Number.isInteger(v) || v < 0) throw new HwtraceError('bad_snapshot', `register value ${v} is not an unsigned integer`);
  return '0x' + v.toString(16).toUpperCase().padStart(8, '0');
}

function safeFile(name: string, what: string): string {
  if (name === '' || name.includes('..') || name.startsWith('/')) throw new HwtraceError('bad_snapshot', `${what}: '${name}' must be a relative path inside the snapshot`);
  return name;
}

/** Writes snapshot.ini, trace.ini, one .ini per device and any data given. Returns the file names written. */
export function writeSnapshot(dir: string, spec: SnapshotSpec): string[] {
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  const put = (name: string, data: string | Uint8Array): void => {
    const path = join(dir, name);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, data);
    written.push(name);
  };
  const deviceFiles: string[] = [];
  for (const d of spec.devices) {
    const file = safeFile(d.file ?? `${d.name}.ini`, `device ${d.name}`);
    deviceFiles.push(file);
    const sections: { name: string; entries: [string, string][] }[] = [
      { name: 'device', entries: [['name', d.name], ['class', d.class], ['type', d.type]] },
    ];
    if (d.regs) sections.push({ name: 'regs', entries: Object.entries(d.regs).map(([k, v]) => [k, regText(v)] as [string, string]) });
    (d.dumps ?? []).forEach((m, i) => {
      const entries: [string, string][] = [['file', safeFile(m.file, `device ${d.name} dump`)], ['address', formatAddr0x(m.address)]];
      const length = m.length ?? m.data?.length;
      if (length !== undefined) entries.push(['length', '0x' + length.toString(16)]);
      if (m.offset !== undefined) entries.push(['offset', '0x' + m.offset.toString(16)]);
      if (m.space !== undefined) entries.push(['space', m.space]);
      sections.push({ name: `dump${i + 1}`, entries });
      if (m.data) put(m.file, m.data);
    });
    put(file, formatIni(sections));
  }
  const snapshotSections = [
    { name: 'snapshot', entries: [['version', '1.0'], ...(spec.description ? [['description', spec.description]] : [])] as [string, string][] },
    { name: 'device_list', entries: deviceFiles.map((f, i) => [`device${i}`, f] as [string, string]) },
    { name: 'trace', entries: [['metadata', 'trace.ini']] as [string, string][] },
  ];
  put('snapshot.ini', formatIni(snapshotSections));
  const traceSections: { name: string; entries: [string, string][] }[] = [
    { name: 'trace_buffers', entries: [['buffers', spec.buffers.map((_, i) => `buffer${i}`).join(',')]] },
  ];
  spec.buffers.forEach((b, i) => {
    traceSections.push({ name: `buffer${i}`, entries: [['name', b.name], ['file', safeFile(b.file, `buffer ${b.name}`)], ['format', b.format]] });
    if (b.data) put(b.file, b.data);
  });
  traceSections.push({ name: 'source_buffers', entries: spec.sourceBuffers.map(([s, b]) => [s, b] as [string, string]) });
  traceSections.push({ name: 'core_trace_sources', entries: spec.coreSources.map(([c, s]) => [c, s] as [string, string]) });
  put('trace.ini', formatIni(traceSections));
  return written;
}
