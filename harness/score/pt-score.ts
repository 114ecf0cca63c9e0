// Scoring the builtin Intel PT flow decoder on a corpus: decode the trace with the corpus's own
// images, expand the truth to the instructions the trace configuration covers (OS / user), and
// align the two address sequences.

import type { X86Context } from '../../arch/common/context.js';
import { formatAddr0x } from '../../arch/common/address.js';
import { type FlowSink, PtFlowDecoder, forEachInstruction } from '../../arch/x86/pt/flow/index.js';
import type { CorpusArchView } from '../export/corpus-arch.js';
import { corpusContextOf, corpusImage, corpusTrace } from '../cli/decode-pt.js';
import { StreamAligner } from './align.js';
import { type ScoreError, type ScoreReport, scoreReport } from './report.js';
import { truthPuller } from './truth-pull.js';

export type { ScoreReport };

function traced(view: CorpusArchView): { os: boolean; user: boolean } {
  const cfg = (view.reader.manifest as unknown as { config?: Record<string, { os?: boolean; user?: boolean }> }).config?.['x86'];
  return { os: cfg?.os !== false, user: cfg?.user !== false };
}

/** Keeps kernel instructions when OS tracing is on, user ones when USER is. */
function coveredByTrace(view: CorpusArchView): (ctx: number) => boolean {
  const { os, user } = traced(view);
  const contexts = view.machine.contexts;
  return (i) => {
    const c = contexts[i];
    const kernel = c !== undefined && c.arch === 'x86' && (c as X86Context).cpl === 0;
    return kernel ? os : user;
  };
}

export function scorePtCorpus(view: CorpusArchView): ScoreReport {
  const image = corpusImage(view);
  const trace = corpusTrace(view);
  const aligner = new StreamAligner(truthPuller(view, { keep: coveredByTrace(view) }));
  const errors: ScoreError[] = [];
  let offset = 0;
  const push = (ip: number): void => aligner.push(ip, offset);
  let dec: PtFlowDecoder;
  const sink: FlowSink = {
    range: (start, _end, count, _ctx, section, bitness) => {
      offset = dec.offset;
      forEachInstruction(image, section, bitness as 16 | 32 | 64, start, count, push);
    },
    event: () => {},
    error: (e) => {
      errors.push({ code: e.code, offset: e.offset, ip: Number.isNaN(e.ip) ? null : formatAddr0x(e.ip), message: e.message });
    },
  };
  dec = new PtFlowDecoder(image, sink, { resyncOnError: true, contextOf: corpusContextOf(view) });
  dec.decode(trace);
  return scoreReport('x86', 'hwtrace-pt-flow', aligner.finish(), errors);
}
