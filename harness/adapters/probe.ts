// Finds the reference decoders: Intel's libipt and Arm's OpenCSD (library and trc_pkt_lister).

import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { readFileSync } from 'node:fs';
import { findHeader, findNativeTool } from './native/tools.js';
import { packageVersion } from '../cli/version.js';

export interface ToolReport {
  name: string;
  installed: boolean;
  version?: string;
  detail?: string;
  hint?: string;
}

export interface EnvironmentReport {
  hwtrace: string;
  node: string;
  tools: ToolReport[];
}

/** Finds a shared library in the loader cache (`ldconfig -p`). */
function findSharedLibrary(soname: string): string | undefined {
  const r = spawnSync('ldconfig', ['-p'], { encoding: 'utf8' });
  const line = (r.stdout ?? '').split('\n').find((l) => l.includes(soname));
  return line?.split('=>')[1]?.trim();
}

function libipt(): ToolReport {
  const header = findHeader('intel-pt.h');
  const lib = findSharedLibrary('libipt.so');
  if (!header || !lib) {
    return { name: 'libipt', installed: false, hint: 'apt-get install libipt-dev' };
  }
  const text = readFileSync(header, 'utf8');
  const num = (k: string) => text.match(new RegExp(`#define\\s+LIBIPT_VERSION_${k}\\s+(\\d+)`))?.[1];
  const version = [num('MAJOR'), num('MINOR'), num('PATCH')].map((v) => (typeof v === 'string' ? v : '?')).join('.');
  const driver = findNativeTool('pt-libipt');
  return {
    name: 'libipt',
    installed: true,
    version,
    detail: `${lib}, header ${header}${driver ? `, driver ${driver}` : ', driver not built (npm run build:native)'}`,
  };
}

function opencsd(): ToolReport {
  const r = spawnSync('trc_pkt_lister', ['-logstdout', '-help'], { encoding: 'utf8', cwd: tmpdir() });
  if (r.error) return { name: 'opencsd trc_pkt_lister', installed: false, hint: 'apt-get install libopencsd-bin' };
  const version = /Library Version\s*:\s*(\S+)/.exec(`${r.stdout}${r.stderr}`)?.[1] ?? 'unknown';
  const header = findHeader('opencsd/ocsd_if_types.h');
  const driver = findNativeTool('etm-opencsd');
  return {
    name: 'opencsd trc_pkt_lister',
    installed: true,
    version,
    detail: `trc_pkt_lister on PATH, ${header ? `headers ${header}` : 'headers missing (apt-get install libopencsd-dev)'}${driver ? `, driver ${driver}` : ''}`,
  };
}

export function probeEnvironment(): EnvironmentReport {
  return { hwtrace: packageVersion(), node: process.versions.node, tools: [libipt(), opencsd()] };
}
