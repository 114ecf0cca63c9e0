// Compiles the native reference-decoder drivers with the system compiler. A tool whose library
// is not installed is skipped with a message; under CI (CI set) that is an error, because CI
// must run the differential tests, not skip them.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { NATIVE_TOOLS, findHeader, nativeBinaryPath, nativeInputPaths, nativeSourcePaths } from './tools.js';

function main(): number {
  const strict = Boolean(process.env['CI']);
  let failed = 0;
  for (const tool of NATIVE_TOOLS) {
    const srcs = nativeSourcePaths(tool);
    const out = nativeBinaryPath(tool.name);
    if (!srcs.every((s) => existsSync(s))) continue; // not written yet: nothing to build
    if (findHeader(tool.header) === undefined) {
      const msg = `build:native: skipping ${tool.name}: ${tool.header} not found (apt-get install ${tool.debianPackage})`;
      console.error(msg);
      if (strict) failed++;
      continue;
    }
    if (existsSync(out) && nativeInputPaths(tool).every((s) => statSync(out).mtimeMs >= statSync(s).mtimeMs)) continue;
    mkdirSync(dirname(out), { recursive: true });
    const args = [...tool.flags, '-o', out, ...srcs, ...tool.libs];
    const r = spawnSync(tool.compiler, args, { stdio: 'inherit' });
    if (r.status !== 0) {
      console.error(`build:native: ${tool.compiler} ${args.join(' ')} failed`);
      failed++;
    } else {
      console.error(`build:native: built ${out}`);
    }
  }
  return failed === 0 ? 0 : 1;
}

process.exitCode = main();
