// `hwtrace export CORPUS --to DIR --as raw|opencsd`: a corpus as files other tools read.

import { join } from 'node:path';
import type { Argv } from 'yargs';
import { CorpusReader } from '../../corpora/reader.js';
import { CorpusArchView, chooseArch, corpusArches } from '../export/corpus-arch.js';
import { exportRaw } from '../export/raw.js';
import { exportOpencsd } from '../export/opencsd.js';

export function exportCommand(cli: Argv): Argv {
  return cli.command(
    'export <corpus>',
    'Write a corpus out as raw files (trace, images, truth.txt) or as an OpenCSD snapshot directory',
    (y) =>
      y
        .positional('corpus', { type: 'string', demandOption: true, describe: 'corpus file (.zip) made by hwtrace gen' })
        .option('to', { type: 'string', demandOption: true, describe: 'output directory' })
        .option('as', { choices: ['raw', 'opencsd'] as const, default: 'raw' as const, describe: 'what to write' })
        .option('arch', { choices: ['x86', 'arm'] as const, describe: 'which architecture of a two-architecture corpus (default: all, one subdirectory each)' })
        .example('hwtrace export demo.zip --to out --as raw', 'trace.pt / trace-<id>.bin, image-*.bin, images.txt, truth.txt')
        .example('hwtrace export demo.zip --to snap --as opencsd --arch arm', 'a snapshot directory for trc_pkt_lister'),
    (argv) => {
      const reader = CorpusReader.open(argv.corpus);
      const arches = argv.arch !== undefined ? [chooseArch(reader, argv.arch)] : argv.as === 'opencsd' ? [chooseArch(reader, 'arm')] : corpusArches(reader);
      for (const arch of arches) {
        const dir = arches.length > 1 ? join(argv.to, arch) : argv.to;
        const view = new CorpusArchView(reader, arch);
        if (argv.as === 'opencsd') {
          const files = exportOpencsd(view, dir);
          process.stdout.write(`${arch}: snapshot ${dir} (${files.length} files)\n`);
        } else {
          const r = exportRaw(view, dir);
          process.stdout.write(`${arch}: ${dir}: ${r.traces.join(', ')}, ${r.images.length} images, truth.txt (${r.truthInstructions} instructions)\n`);
        }
      }
    },
  );
}
