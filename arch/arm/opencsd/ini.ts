// The small INI dialect of OpenCSD snapshot files: `[section]`, `key=value`, `;` or `#`
// comments. Order and duplicate keys are kept (trace.ini may map one core to several sources).

import { HwtraceError } from '../../common/errors.js';

export interface IniSection {
  /** Name as written, without brackets. */
  name: string;
  /** key/value pairs in file order, duplicates kept. */
  entries: [string, string][];
  /** 1-based line of the `[section]` header. */
  line: number;
}

export interface IniFile {
  /** Path, for error messages. */
  path: string;
  sections: IniSection[];
}

export function parseIni(text: string, path: string): IniFile {
  const sections: IniSection[] = [];
  let current: IniSection | undefined;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith(';') || line.startsWith('#')) continue;
    if (line.startsWith('[')) {
      const close = line.indexOf(']');
      if (close < 0) throw new HwtraceError('bad_snapshot', `${path}:${i + 1}: section header '${line}' has no closing ']'`);
      current = { name: line.slice(1, close).trim(), entries: [], line: i + 1 };
      sections.push(current);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0) throw new HwtraceError('bad_snapshot', `${path}:${i + 1}: expected key=value, got '${line}'`);
    if (current === undefined) throw new HwtraceError('bad_snapshot', `${path}:${i + 1}: '${line}' is outside any [section]`);
    current.entries.push([line.slice(0, eq).trim(), line.slice(eq + 1).trim()]);
  }
  return { path, sections };
}

/** The first section with this name (case-insensitive). */
export function iniSection(ini: IniFile, name: string): IniSection | undefined {
  const n = name.toLowerCase();
  return ini.sections.find((s) => s.name.toLowerCase() === n);
}

/** The first value of `key` in a section (case-insensitive key). */
export function iniValue(section: IniSection | undefined, key: string): string | undefined {
  if (section === undefined) return undefined;
  const k = key.toLowerCase();
  return section.entries.find((e) => e[0].toLowerCase() === k)?.[1];
}

/** A required value: a clear error naming the file, section and key when it is missing. */
export function iniRequire(ini: IniFile, sectionName: string, key: string, why = ''): string {
  const v = iniValue(iniSection(ini, sectionName), key);
  if (v === undefined || v === '') {
    throw new HwtraceError('bad_snapshot', `${ini.path}: [${sectionName}] ${key}= is missing${why ? ` (${why})` : ''}`);
  }
  return v;
}

/** Writes sections back as INI text. */
export function formatIni(sections: readonly { name: string; entries: readonly (readonly [string, string])[] }[]): string {
  const out: string[] = [];
  for (const s of sections) {
    if (out.length > 0) out.push('');
    out.push(`[${s.name}]`);
    for (const [k, v] of s.entries) out.push(`${k}=${v}`);
  }
  return out.join('\n') + '\n';
}

/**
 * Parses an unsigned register/number value as C's strtoul(s, 0, 0) does: 0x.. hex, 0.. octal,
 * else decimal. Returns undefined when it is not a number.
 */
export function parseIniNumber(text: string): bigint | undefined {
  const t = text.trim().toLowerCase();
  if (/^0x[0-9a-f]+$/.test(t)) return BigInt(t);
  if (/^0[0-7]+$/.test(t)) return BigInt('0o' + t.slice(1));
  if (/^[0-9]+$/.test(t)) return BigInt(t);
  return undefined;
}
