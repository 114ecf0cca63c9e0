// The project's small C/C++ programs that drive the reference decoders (libipt, OpenCSD).
// Sources sit beside this file; `npm run build:native` compiles them into build/native/.

import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface NativeTool {
  /** Executable name under build/native/. */
  name: string;
  /** Source files beside this module (in the package, not in dist/); the first holds main(). */
  sources: string[];
  /** Headers beside it that the sources include: a change to one rebuilds the tool too. */
  headers?: string[];
  compiler: 'cc' | 'c++';
  flags: string[];
  libs: string[];
  /** A system header whose presence says the reference library is installed. */
  header: string;
  /** The Debian package that provides it. */
  debianPackage: string;
}

export const NATIVE_TOOLS: readonly NativeTool[] = [
  {
    name: 'pt-libipt',
    sources: ['pt-libipt.c', 'pt-libipt-io.c', 'pt-libipt-flow.c', 'pt-libipt-timing.c'],
    headers: ['pt-libipt-io.h'],
    compiler: 'cc',
    flags: ['-O2', '-std=gnu11', '-Wall'],
    libs: ['-lipt'],
    header: 'intel-pt.h',
    debianPackage: 'libipt-dev',
  },
  {
    name: 'etm-opencsd',
    sources: ['etm-opencsd.cpp'],
    compiler: 'c++',
    flags: ['-O2', '-std=c++17', '-Wall'],
    libs: ['-lopencsd_c_api', '-lopencsd', '-lstdc++'],
    header: 'opencsd/ocsd_if_types.h',
    debianPackage: 'libopencsd-dev',
  },
];

/** The package root: this file is at <root>/harness/adapters/native or <root>/dist/harness/adapters/native. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = resolve(dir, '..');
  }
  throw new Error('hwtrace: cannot find the package root from ' + fileURLToPath(import.meta.url));
}

export function nativeSourcePaths(tool: NativeTool): string[] {
  return tool.sources.map((s) => join(packageRoot(), 'harness', 'adapters', 'native', s));
}

/** Everything the binary is built from (sources and headers), for the up-to-date check. */
export function nativeInputPaths(tool: NativeTool): string[] {
  return [...tool.sources, ...(tool.headers ?? [])].map((s) => join(packageRoot(), 'harness', 'adapters', 'native', s));
}

export function nativeBinaryPath(name: string): string {
  return join(packageRoot(), 'build', 'native', name);
}

/** Path of a built native tool, or undefined when it has not been built (library missing). */
export function findNativeTool(name: string): string | undefined {
  const p = nativeBinaryPath(name);
  return existsSync(p) ? p : undefined;
}

const INCLUDE_DIRS = ['/usr/include', '/usr/local/include', '/usr/include/x86_64-linux-gnu', '/usr/include/aarch64-linux-gnu'];

/** Where a system header is, if installed. */
export function findHeader(header: string): string | undefined {
  for (const dir of INCLUDE_DIRS) {
    const p = join(dir, header);
    if (existsSync(p)) return p;
  }
  return undefined;
}
