// Scoring the builtin ETMv4 flow decoder on an ARM corpus: decode with the corpus's own images
// and align the instructions of its INSTR_RANGE elements with the truth. The instructions after
// the last waypoint cannot be described by ETMv4 (the corpus summary's `untracedTail`), so the
// truth stops before them.

import { HwtraceError } from '../../arch/common/errors.js';
import { Elem, type FlowElement } from '../../arch/arm/etm4/flow/elements.js';
import type { CorpusArchView } from '../export/corpus-arch.js';
import { decodeCorpusFlow } from '../cli/decode-etm.js';
import { StreamAligner } from './align.js';
import { type ScoreError, type ScoreReport, scoreReport } from './report.js';
import { truthPuller } from './truth-pull.js';

const T32 = 2;

function untracedTail(view: CorpusArchView): number {
  const s = view.reader.manifest.summary as Record<string, Record<string, unknown> | undefined> | null;
  const n = s?.['arm']?.['untracedTail'];
  return typeof n === 'number' ? n : 0;
}

export function scoreEtmCorpus(view: CorpusArchView): ScoreReport {
  const total = view.truthTable().summary.instructions;
  const aligner = new StreamAligner(truthPuller(view, { limit: total - untracedTail(view) }));
  const errors: ScoreError[] = [];
  const element = (e: FlowElement): void => {
    if (e.type !== Elem.INSTR_RANGE) {
      if (e.type === Elem.ADDR_NACC) errors.push({ code: 'addr_nacc', offset: e.idx, ip: null, message: 'no memory at the address' });
      return;
    }
    // A64 and A32 instructions are 4 bytes; the simulator lowers no T32.
    if (e.isa === T32) throw new HwtraceError('not_supported', `score: T32 range at trace byte ${e.idx}: T32 instruction lengths are not tracked`);
    let a = e.start;
    for (let k = 0; k < e.n; k++, a += 4) aligner.push(a, e.idx);
  };
  decodeCorpusFlow(view, {
    element,
    error: (err) => errors.push({ code: err.code, offset: err.offset, ip: null, message: err.message }),
  });
  return scoreReport('arm', 'hwtrace-etm4-flow', aligner.finish(), errors);
}
