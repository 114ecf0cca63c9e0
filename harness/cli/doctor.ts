// `hwtrace doctor`: what this machine has for hwtrace — Node, and the reference decoders.

import type { Argv } from 'yargs';
import { probeEnvironment, type ToolReport } from '../adapters/probe.js';

export function doctorCommand(cli: Argv): Argv {
  return cli.command(
    'doctor',
    'Report Node and the reference decoders (libipt, OpenCSD) this machine has',
    (y) => y.option('format', { choices: ['text', 'json'] as const, default: 'text' as const, describe: 'output format' }),
    (argv) => {
      const env = probeEnvironment();
      if (argv.format === 'json') {
        process.stdout.write(JSON.stringify(env) + '\n');
        return;
      }
      const lines = [`hwtrace ${env.hwtrace}`, `node ${env.node}`, ...env.tools.map(describe)];
      process.stdout.write(lines.join('\n') + '\n');
    },
  );
}

function describe(t: ToolReport): string {
  if (!t.installed) return `${t.name}: not installed (${t.hint})`;
  return `${t.name} ${t.version}: ${t.detail}`;
}
