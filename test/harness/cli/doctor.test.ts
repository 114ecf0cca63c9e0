import t from 'tap';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../../../harness/adapters/native/tools.js';

// Runs the built CLI as users do (npm test builds dist/ first).
const cli = join(packageRoot(), 'dist', 'harness', 'cli', 'main.js');
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });

t.test('--help lists the commands and --version prints the package version', async (t) => {
  const help = run('--help');
  t.equal(help.status, 0);
  t.match(help.stdout, /hwtrace doctor/);
  const v = run('--version');
  t.equal(v.status, 0);
  t.match(v.stdout.trim(), /^\d+\.\d+\.\d+$/);
});

t.test('usage errors exit 2 with one line', async (t) => {
  for (const args of [['no-such-command'], [], ['doctor', '--format', 'xml']]) {
    const r = run(...args);
    t.equal(r.status, 2, args.join(' '));
    t.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
    t.match(r.stderr, /^hwtrace: /);
  }
});

t.test('doctor reports node and both reference decoders', async (t) => {
  const r = run('doctor', '--format', 'json');
  t.equal(r.status, 0);
  const report = JSON.parse(r.stdout) as { node: string; tools: Array<{ name: string; installed: boolean; version?: string }> };
  t.equal(report.node, process.versions.node);
  const names = report.tools.map((x) => x.name);
  t.same(names, ['libipt', 'opencsd trc_pkt_lister']);
  for (const tool of report.tools) {
    if (!tool.installed) {
      if (process.env['CI']) t.fail(`CI must have ${tool.name}`);
      else t.skip(`${tool.name} not installed here`, () => {});
      continue;
    }
    t.match(tool.version, /^\d+\.\d+\.\d+$/, `${tool.name} version`);
  }
  const text = run('doctor');
  t.match(text.stdout, /^node \d+/m);
  t.match(text.stdout, /^libipt /m);
});
