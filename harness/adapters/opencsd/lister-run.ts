// Runs Debian's trc_pkt_lister (libopencsd-bin) on a snapshot directory and streams its
// output line by line, so a large decode never sits in memory whole.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { HwtraceError } from '../../../arch/common/errors.js';
import { parseListerElement, type ListerElement } from './lister-parse.js';

export interface ListerOptions {
  /** Decode to generic elements (-decode); packets only otherwise. */
  decode?: boolean;
  /** Extra trc_pkt_lister arguments. */
  args?: string[];
  /** Executable, default `trc_pkt_lister` on PATH. */
  command?: string;
}

/** Every output line of `trc_pkt_lister -ss_dir DIR …`. Throws if the program fails to run. */
export async function* listerLines(ssDir: string, opts: ListerOptions = {}): AsyncGenerator<string> {
  const args = ['-logstdout', '-ss_dir', resolve(ssDir), ...(opts.decode === false ? [] : ['-decode']), ...(opts.args ?? [])];
  // trc_pkt_lister also writes trc_pkt_lister.ppl into its working directory whatever it is
  // told (1.3.3): run it in a directory of its own and remove that afterwards.
  const cwd = mkdtempSync(join(tmpdir(), 'hwtrace-lister-'));
  const child = spawn(opts.command ?? 'trc_pkt_lister', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    if (stderr.length < 4096) stderr += d;
  });
  const exited = new Promise<number>((resolve, reject) => {
    child.on('error', (e) => reject(new HwtraceError('opencsd_missing', `cannot run ${opts.command ?? 'trc_pkt_lister'}: ${e.message}`)));
    child.on('close', (code) => resolve(code ?? -1));
  });
  const rl = createInterface({ input: child.stdout, crlfDelay: Infinity });
  // trc_pkt_lister exits 0 even when it cannot read the snapshot: a run that worked says
  // "Trace buffer done"; otherwise its last words say why.
  let done = false;
  let last = '';
  try {
    for await (const line of rl) {
      if (line.startsWith('Trace Packet Lister : Trace buffer done')) done = true;
      if (line.trim()) last = line.trim();
      yield line;
    }
  } finally {
    rl.close();
    if (child.exitCode === null) child.kill();
  }
  let code: number;
  try {
    code = await exited;
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
  if (code !== 0 || !done) {
    const why = code !== 0 ? `exited ${code}: ${stderr.trim().split('\n')[0] ?? ''}` : `did not decode: ${last}`;
    throw new HwtraceError('opencsd_failed', `trc_pkt_lister on ${ssDir} ${why}`);
  }
}

/** The generic trace elements trc_pkt_lister decodes from a snapshot, in output order. */
export async function* listerElements(ssDir: string, opts: ListerOptions = {}): AsyncGenerator<ListerElement> {
  for await (const line of listerLines(ssDir, { ...opts, decode: true })) {
    const e = parseListerElement(line);
    if (e) yield e;
  }
}
