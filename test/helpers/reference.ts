// Finds the reference decoders for differential tests. Where one is missing the test skips
// with a clear message, except under CI, where a missing reference decoder is a failure.

import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { findNativeTool } from '../../harness/adapters/native/tools.js';

import type { Test } from 'tap';

type Skippable = Pick<Test, 'skip' | 'fail'>;

function missing(t: Skippable, what: string): undefined {
  const msg = `${what} is not available; install it (see .ci/run) to run this test`;
  if (process.env['CI']) t.fail(`CI must not skip: ${msg}`);
  else t.skip(msg, () => {});
  return undefined;
}

/** Path of a built native driver (`pt-libipt`, `etm-opencsd`), or undefined after skipping. */
export function needNativeTool(t: Skippable, name: string): string | undefined {
  return findNativeTool(name) ?? missing(t, `native tool ${name} (npm run build:native)`);
}

/** `trc_pkt_lister` from Debian's libopencsd-bin, or undefined after skipping. */
export function needTrcPktLister(t: Skippable): string | undefined {
  const r = spawnSync('trc_pkt_lister', ['-logstdout', '-help'], { encoding: 'utf8', cwd: tmpdir() });
  if (r.error) return missing(t, 'trc_pkt_lister (libopencsd-bin)');
  return 'trc_pkt_lister';
}
