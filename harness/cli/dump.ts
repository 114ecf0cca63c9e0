// `hwtrace dump`: list trace packets as the reference tools do — ptdump for Intel PT
// (--pt FILE), trc_pkt_lister for CoreSight ETMv4/ETE snapshots (--ss-dir DIR).

import type { Argv } from 'yargs';
import { UsageError } from '../../arch/common/errors.js';
import { ptDumpOptions, runPtDump } from './dump-pt.js';
import { etmDumpOptions, runEtmDump } from './dump-etm.js';

export function dumpCommand(cli: Argv): Argv {
  return cli.command(
    'dump',
    'List trace packets: Intel PT as ptdump does (--pt FILE), ETMv4/ETE as trc_pkt_lister does (--ss-dir DIR)',
    (y) =>
      etmDumpOptions(
        ptDumpOptions(
          y
            .option('pt', { type: 'string', describe: 'raw Intel PT trace file' })
            .option('ss-dir', { type: 'string', describe: 'OpenCSD snapshot directory' })
            .option('format', { choices: ['text', 'json'] as const, default: 'text' as const, describe: 'output format' })
            .option('stats', { type: 'boolean', default: false, describe: 'print only totals: bytes, packets, errors, counts by type, MB/s' })
            .conflicts('pt', 'ss-dir')
            .check((argv) => {
              if (argv.pt === undefined && argv['ss-dir'] === undefined) throw new UsageError('dump needs --pt FILE or --ss-dir DIR');
              return true;
            }),
        ),
      ),
    async (argv) => {
      if (argv.pt !== undefined) await runPtDump(argv as unknown as Record<string, unknown>);
      else await runEtmDump(argv as unknown as Record<string, unknown>);
    },
  );
}
