// `hwtrace decode`: reconstruct the executed instructions from a trace and memory images.
// Intel PT as ptxed does (--pt FILE --raw FILE:ADDR …), ETMv4/ETE snapshots as
// `trc_pkt_lister -decode` does (--ss-dir DIR), or a corpus with its own images (CORPUS).

import type { Argv } from 'yargs';
import { UsageError } from '../../arch/common/errors.js';
import { CorpusReader } from '../../corpora/reader.js';
import { CorpusArchView, chooseArch } from '../export/corpus-arch.js';
import { ptDecodeOptions, runPtDecode, runPtDecodeCorpus } from './decode-pt.js';
import { etmDecodeOptions, runEtmDecode, runEtmDecodeCorpus } from './decode-etm.js';

export function decodeCommand(cli: Argv): Argv {
  return cli.command(
    'decode [corpus]',
    'Reconstruct executed instructions: Intel PT as ptxed does (--pt), ETMv4 snapshots as trc_pkt_lister -decode does (--ss-dir), or a corpus',
    (y) =>
      etmDecodeOptions(
        ptDecodeOptions(
          y
            .positional('corpus', { type: 'string', describe: 'corpus file made by hwtrace gen (decoded with its own images)' })
            .option('pt', { type: 'string', describe: 'raw Intel PT trace file' })
            .option('ss-dir', { type: 'string', describe: 'OpenCSD snapshot directory' })
            .option('arch', { choices: ['x86', 'arm'] as const, describe: 'which architecture of a two-architecture corpus' })
            .option('format', { choices: ['text', 'json'] as const, default: 'text' as const, describe: 'output format' })
            .check((argv) => {
              const given = [argv.corpus, argv.pt, argv['ss-dir']].filter((v) => v !== undefined).length;
              if (given !== 1) throw new UsageError('decode needs exactly one of CORPUS, --pt FILE or --ss-dir DIR');
              return true;
            }),
        ),
      ),
    async (argv) => {
      const args = argv as unknown as Record<string, unknown>;
      if (argv.pt !== undefined) return runPtDecode(args);
      if (argv['ss-dir'] !== undefined) return runEtmDecode(args);
      const reader = CorpusReader.open(String(args['corpus']));
      const view = new CorpusArchView(reader, chooseArch(reader, args['arch'] as string | undefined));
      return view.arch === 'x86' ? runPtDecodeCorpus(view, args) : runEtmDecodeCorpus(view, args);
    },
  );
}
