#!/usr/bin/env node
// The `hwtrace` command. Each verb lives in its own module; this file only wires them and
// turns errors into one line and an exit code (0 ok, 1 failure, 2 usage).

import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { HwtraceError, UsageError } from '../../arch/common/errors.js';
import { packageVersion } from './version.js';
import { commands } from './commands.js';

export async function main(argv: string[]): Promise<number> {
  let cli = yargs(argv)
    .scriptName('hwtrace')
    .usage('hwtrace <command> [options]\n\nTests hardware instruction-trace decoders (Intel PT, Arm ETMv4/ETE) against known truth.')
    .version(packageVersion())
    .strict()
    .demandCommand(1, 'hwtrace: name a command (see hwtrace --help)')
    .recommendCommands()
    .wrap(Math.min(100, process.stdout.columns || 100))
    .fail((msg, err) => {
      throw err ?? new UsageError(msg);
    });
  for (const command of commands) cli = command(cli);
  try {
    await cli.parseAsync();
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    return report(e);
  }
}

function report(e: unknown): number {
  if (e instanceof UsageError) {
    process.stderr.write(`hwtrace: ${e.message.split('\n')[0]}\n`);
    return 2;
  }
  if (e instanceof HwtraceError) {
    process.stderr.write(`hwtrace: ${e.message}\n`);
    return 1;
  }
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err.code === 'string' && typeof err.path === 'string') {
    process.stderr.write(`hwtrace: ${err.path}: ${err.message}\n`);
    return 1;
  }
  throw e;
}

// `hwtrace dump … | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

process.exitCode = await main(hideBin(process.argv));
