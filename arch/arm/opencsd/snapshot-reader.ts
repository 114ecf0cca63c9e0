// Reads an OpenCSD snapshot directory. Every problem is a HwtraceError that names the file and
// the key (or section) at fault, so a user can fix a hand-written snapshot.

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAddr } from '../../common/address.js';
import { HwtraceError } from '../../common/errors.js';
import { etm4Config, type CoreProfile, type Etm4Config, type Etm4Registers } from '../etm4/config.js';
import { iniRequire, iniSection, iniValue, parseIni, parseIniNumber, type IniFile } from './ini.js';
import type { MemoryDump, Snapshot, SnapshotDevice, SnapshotRegister, TraceBuffer, TraceBufferFormat } from './snapshot.js';

const FORMATS: readonly TraceBufferFormat[] = ['coresight', 'source_data', 'dstream_coresight'];

/** Trace source types a snapshot may declare (we decode ETM4* and ETE; the others are listed but skipped). */
const SOURCE_TYPE = /^(ETM4(\.\d+)?|ETE|ETM3(\.\d+)?|ETMv3(\.\d+)?|PTM(\d(\.\d+)?)?|PFT(\d(\.\d+)?)?|STM|ITM)$/i;
/** Core types: OpenCSD's known core names and architecture patterns. */
const CORE_TYPE = /^(Cortex-[AMR]\d+[A-Z+]*|Neoverse-[A-Z0-9]+|ARMv[789](\.\d+)?-?[AMR]?|ARM-AA64(-P)?|ARM-AA32)$/i;

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new HwtraceError('bad_snapshot', `${what}: cannot read ${path} (${err.code ?? err.message})`);
  }
}

function parseRegs(ini: IniFile): Map<string, SnapshotRegister> {
  const regs = new Map<string, SnapshotRegister>();
  const sec = iniSection(ini, 'regs');
  if (sec === undefined) return regs;
  for (const [key, text] of sec.entries) {
    const paren = key.indexOf('(');
    const name = (paren < 0 ? key : key.slice(0, paren)).trim();
    const value = parseIniNumber(text);
    if (value === undefined) throw new HwtraceError('bad_snapshot', `${ini.path}: [regs] ${key}=${text} is not a number`);
    regs.set(name.toUpperCase(), { name, text, value });
  }
  return regs;
}

function parseDumps(ini: IniFile, dir: string): MemoryDump[] {
  const dumps: MemoryDump[] = [];
  for (const sec of ini.sections) {
    if (!/^dump\d*$/i.test(sec.name)) continue;
    const file = iniRequire(ini, sec.name, 'file', 'memory image file');
    const addressText = iniRequire(ini, sec.name, 'address', 'load address of the image');
    let address: number;
    try {
      address = parseAddr(addressText);
    } catch (e) {
      throw new HwtraceError('bad_snapshot', `${ini.path}: [${sec.name}] address=${addressText}: ${(e as Error).message}`);
    }
    const num = (key: string): number | undefined => {
      const t = iniValue(sec, key);
      if (t === undefined) return undefined;
      const v = parseIniNumber(t);
      if (v === undefined || v > BigInt(Number.MAX_SAFE_INTEGER)) throw new HwtraceError('bad_snapshot', `${ini.path}: [${sec.name}] ${key}=${t} is not a size`);
      return Number(v);
    };
    dumps.push({ section: sec.name, file: resolve(dir, file), address, length: num('length'), offset: num('offset') ?? 0, space: (iniValue(sec, 'space') ?? 'ANY').toUpperCase() });
  }
  return dumps;
}

function readDevice(path: string, dir: string, listedAs: string): SnapshotDevice {
  const ini = parseIni(readText(path, listedAs), path);
  const name = iniRequire(ini, 'device', 'name');
  const cls = iniRequire(ini, 'device', 'class');
  const type = iniRequire(ini, 'device', 'type');
  const lc = cls.toLowerCase();
  if (lc === 'trace_source' && !SOURCE_TYPE.test(type)) {
    throw new HwtraceError('bad_snapshot', `${path}: [device] type=${type} is not a known trace source type (ETM4, ETM4.x, ETE, ETM3, PTM, STM, ITM)`);
  }
  if (lc === 'core' && !CORE_TYPE.test(type)) {
    throw new HwtraceError('bad_snapshot', `${path}: [device] type=${type} is not a known core type (Cortex-A53, ARMv8.2-A, ARM-AA64, ...)`);
  }
  return { file: path, name, class: cls, type, regs: parseRegs(ini), dumps: parseDumps(ini, dir) };
}

function pairs(ini: IniFile, section: string): [string, string][] {
  return (iniSection(ini, section)?.entries ?? []).map(([k, v]) => [k, v] as [string, string]);
}

/** Reads snapshot.ini, every device file and trace.ini of a snapshot directory. */
export function readSnapshot(dirPath: string): Snapshot {
  const dir = resolve(dirPath);
  const snapshotIni = join(dir, 'snapshot.ini');
  const snap = parseIni(readText(snapshotIni, 'snapshot'), snapshotIni);
  if (iniSection(snap, 'snapshot') === undefined) throw new HwtraceError('bad_snapshot', `${snapshotIni}: no [snapshot] section`);
  const version = iniValue(iniSection(snap, 'snapshot'), 'version') ?? '1.0';
  const description = iniValue(iniSection(snap, 'snapshot'), 'description');

  const devices: SnapshotDevice[] = [];
  for (const [key, file] of pairs(snap, 'device_list')) {
    devices.push(readDevice(resolve(dir, file), dir, `${snapshotIni}: [device_list] ${key}=${file}`));
  }
  const names = new Set<string>();
  for (const d of devices) {
    if (names.has(d.name)) throw new HwtraceError('bad_snapshot', `${d.file}: [device] name=${d.name} is used by two devices`);
    names.add(d.name);
  }

  const meta = iniRequire(snap, 'trace', 'metadata', 'the trace.ini file');
  const traceIni = resolve(dir, meta);
  const trace = parseIni(readText(traceIni, `${snapshotIni}: [trace] metadata=${meta}`), traceIni);
  const list = iniRequire(trace, 'trace_buffers', 'buffers', 'comma-separated buffer sections');
  const buffers: TraceBuffer[] = [];
  for (const sectionName of list.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    if (iniSection(trace, sectionName) === undefined) {
      throw new HwtraceError('bad_snapshot', `${traceIni}: [trace_buffers] buffers= names '${sectionName}' but there is no [${sectionName}] section`);
    }
    const format = iniRequire(trace, sectionName, 'format').toLowerCase();
    if (!FORMATS.includes(format as TraceBufferFormat)) {
      throw new HwtraceError('bad_snapshot', `${traceIni}: [${sectionName}] format=${format} is not one of ${FORMATS.join(', ')}`);
    }
    buffers.push({
      section: sectionName,
      name: iniRequire(trace, sectionName, 'name'),
      file: resolve(dir, iniRequire(trace, sectionName, 'file', 'trace data file')),
      format: format as TraceBufferFormat,
    });
  }
  const sourceBuffers = pairs(trace, 'source_buffers');
  for (const [src, buf] of sourceBuffers) {
    if (!names.has(src)) throw new HwtraceError('bad_snapshot', `${traceIni}: [source_buffers] ${src}= names no device in ${snapshotIni}`);
    if (!buffers.some((b) => b.name === buf)) throw new HwtraceError('bad_snapshot', `${traceIni}: [source_buffers] ${src}=${buf}: no buffer is named ${buf}`);
  }
  const coreSources = pairs(trace, 'core_trace_sources');
  for (const [core, src] of coreSources) {
    if (!names.has(core)) throw new HwtraceError('bad_snapshot', `${traceIni}: [core_trace_sources] ${core}= names no device in ${snapshotIni}`);
    if (!names.has(src)) throw new HwtraceError('bad_snapshot', `${traceIni}: [core_trace_sources] ${core}=${src}: no device is named ${src}`);
  }
  return { dir, version, description, devices, buffers, sourceBuffers, coreSources, snapshotIni, traceIni };
}

/** The device with this name. */
export function snapshotDevice(s: Snapshot, name: string): SnapshotDevice | undefined {
  return s.devices.find((d) => d.name === name);
}

/** Trace source devices recorded into a buffer, in [source_buffers] order. */
export function sourcesOfBuffer(s: Snapshot, bufferName: string): SnapshotDevice[] {
  const out: SnapshotDevice[] = [];
  for (const [src, buf] of s.sourceBuffers) {
    const d = buf === bufferName ? snapshotDevice(s, src) : undefined;
    if (d !== undefined) out.push(d);
  }
  return out;
}

/** The core a trace source traces (from [core_trace_sources]). */
export function coreOfSource(s: Snapshot, sourceName: string): SnapshotDevice | undefined {
  const pair = s.coreSources.find(([, src]) => src === sourceName);
  return pair === undefined ? undefined : snapshotDevice(s, pair[0]);
}

/** True for trace source types this library decodes (ETMv4 and ETE instruction trace). */
export function isEtm4SourceType(type: string): boolean {
  return /^(ETM4(\.\d+)?|ETE)$/i.test(type);
}

/** Core profile and architecture from a core type name. */
export function coreProfile(type: string): { profile: CoreProfile; archV8: boolean } {
  const t = type.toLowerCase();
  const m = /^cortex-([amr])(\d+)/.exec(t);
  if (m) {
    const num = Number(m[2]);
    const profile = m[1]!.toUpperCase() as CoreProfile;
    // v8 and later M cores: M23, M33, M35P, M55, M85; A/R cores here are v8 except A5-A17, R4-R8.
    const archV8 = profile === 'M' ? num === 23 || num >= 33 : profile === 'A' ? num >= 32 : num >= 52;
    return { profile, archV8 };
  }
  const arch = /^armv(\d+)(?:\.\d+)?-?([amr])?/.exec(t);
  if (arch) return { profile: (arch[2]?.toUpperCase() ?? 'A') as CoreProfile, archV8: Number(arch[1]) >= 8 };
  return { profile: 'A', archV8: true };
}

function reg(dev: SnapshotDevice, name: string, required: boolean): number | undefined {
  const r = dev.regs.get(name);
  if (r === undefined) {
    if (required) throw new HwtraceError('bad_snapshot', `${dev.file}: [regs] ${name} is missing (required for a ${dev.type} trace source)`);
    return undefined;
  }
  if (r.value > 0xffffffffn) throw new HwtraceError('bad_snapshot', `${dev.file}: [regs] ${r.name}=${r.text} does not fit in 32 bits`);
  return Number(r.value);
}

/** The ETMv4/ETE configuration of a trace source device (its registers, and its core's profile). */
export function etm4ConfigOf(s: Snapshot, dev: SnapshotDevice): Etm4Config {
  if (!isEtm4SourceType(dev.type)) {
    throw new HwtraceError('bad_snapshot', `${dev.file}: [device] type=${dev.type} is not an ETMv4 or ETE trace source`);
  }
  const ete = dev.type.toUpperCase() === 'ETE';
  const regs: Etm4Registers = {
    TRCCONFIGR: reg(dev, 'TRCCONFIGR', true)!,
    TRCTRACEIDR: reg(dev, 'TRCTRACEIDR', true)!,
    TRCIDR0: reg(dev, 'TRCIDR0', true)!,
    TRCIDR2: reg(dev, 'TRCIDR2', true)!,
  };
  const idr1 = reg(dev, 'TRCIDR1', false);
  if (idr1 !== undefined) regs.TRCIDR1 = idr1;
  const idr8 = reg(dev, 'TRCIDR8', false);
  if (idr8 !== undefined) regs.TRCIDR8 = idr8;
  const devarch = reg(dev, 'TRCDEVARCH', false);
  if (devarch !== undefined) regs.TRCDEVARCH = devarch;
  const core = coreOfSource(s, dev.name);
  return etm4Config(regs, { ete, ...(core ? coreProfile(core.type) : {}) });
}
