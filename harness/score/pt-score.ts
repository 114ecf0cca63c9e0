// Scoring the builtin Intel PT flow decoder on a corpus: decode the trace with the corpus's own
// images, expand the truth to the instructions the trace configuration covers (OS / user), and
// align the two address sequences.

import type { X86Context } from '../../arch/common/context.js';
import { formatAddr0x } from '../../arch/common/address.js';
import { type FlowSink, PtFlowDecoder, forEachInstruction } from '../../arch/x86/pt/flow/index.js';
import { TruthCursor } from '../../corpora/truth/index.js';
import type { CorpusArchView } from '../export/corpus-arch.js';
import { corpusContextOf, corpusImage, corpusTrace } from '../cli/decode-pt.js';
import { StreamAligner } from './align.js';

export interface ScoreReport {
  arch: string;
  decoder: string;
  /** Instructions in the truth that the trace configuration covers. */
  truth: number;
  decoded: number;
  reconstructed: number;
  wrong: number;
  missing: number;
  errors: Array<{ code: string; offset: number; ip: string | null; message: string }>;
  firstDivergence: null | { truthIndex: number; traceOffset: number | null; expected: string | null; decoded: string | null };
}

function traced(view: CorpusArchView): { os: boolean; user: boolean } {
  const cfg = (view.reader.manifest as unknown as { config?: Record<string, { os?: boolean; user?: boolean }> }).config?.['x86'];
  return { os: cfg?.os !== false, user: cfg?.user !== false };
}

/**
 * The truth's instruction addresses in order, pulled one at a time (NaN at the end), keeping only
 * the instructions the trace configuration covers (kernel with OS, user with USER).
 */
function truthPuller(view: CorpusArchView): () => number {
  const { os, user } = traced(view);
  const table = view.truthTable();
  const contexts = view.machine.contexts;
  const cursor = new TruthCursor(table, view.truthStream());
  const keep = new Uint8Array(contexts.length);
  contexts.forEach((c, i) => {
    const kernel = c.arch === 'x86' && (c as X86Context).cpl === 0;
    keep[i] = (kernel ? os : user) ? 1 : 0;
  });
  let addr = 0;
  let left = 0;
  let len = 0;
  return () => {
    while (left === 0) {
      if (!cursor.next()) return Number.NaN;
      const id = cursor.id;
      if (keep[table.ctx[id]!] !== 1) continue;
      addr = table.start[id]!;
      left = table.count[id]!;
      len = table.lenFirst[id]!;
    }
    const a = addr;
    addr += table.lengths[len++]!;
    left--;
    return a;
  };
}

export function scorePtCorpus(view: CorpusArchView): ScoreReport {
  const image = corpusImage(view);
  const trace = corpusTrace(view);
  const aligner = new StreamAligner(truthPuller(view));
  const errors: ScoreReport['errors'] = [];
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
  const al = aligner.finish();

  let first: ScoreReport['firstDivergence'] = null;
  if (al.firstTruth >= 0) {
    const traceOffset = !Number.isNaN(al.firstTag) ? al.firstTag : errors.length > 0 ? errors[errors.length - 1]!.offset : null;
    first = {
      truthIndex: al.firstTruth,
      traceOffset,
      expected: Number.isNaN(al.firstExpected) ? null : formatAddr0x(al.firstExpected),
      decoded: Number.isNaN(al.firstGot) ? null : formatAddr0x(al.firstGot),
    };
  }
  return {
    arch: 'x86', decoder: 'hwtrace-pt-flow', truth: al.truth, decoded: al.decoded, reconstructed: al.reconstructed, wrong: al.wrong,
    missing: al.missing, errors, firstDivergence: first,
  };
}
