// Scoring the builtin Intel PT flow decoder on a corpus: decode the trace with the corpus's own
// images, expand the truth to the instructions the trace configuration covers (OS / user), and
// align the two address sequences.

import type { X86Context } from '../../arch/common/context.js';
import { formatAddr0x } from '../../arch/common/address.js';
import { type FlowSink, PtFlowDecoder, forEachInstruction } from '../../arch/x86/pt/flow/index.js';
import { forEachTruthRecord } from '../../corpora/truth/index.js';
import type { CorpusArchView } from '../export/corpus-arch.js';
import { corpusContextOf, corpusImage, corpusTrace } from '../cli/decode-pt.js';
import { alignSequences } from './align.js';

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

/** A growable Float64Array. */
class Addrs {
  a = new Float64Array(1 << 16);
  n = 0;
  push(v: number): void {
    if (this.n === this.a.length) {
      const b = new Float64Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = v;
  }
}

function traced(view: CorpusArchView): { os: boolean; user: boolean } {
  const cfg = (view.reader.manifest as unknown as { config?: Record<string, { os?: boolean; user?: boolean }> }).config?.['x86'];
  return { os: cfg?.os !== false, user: cfg?.user !== false };
}

export function scorePtCorpus(view: CorpusArchView): ScoreReport {
  const image = corpusImage(view);
  const trace = corpusTrace(view);
  const decoded = new Addrs();
  // Per range: index of its first instruction and the decoder's trace position.
  const rangeFirst = new Addrs();
  const rangeOffset = new Addrs();
  const errors: ScoreReport['errors'] = [];
  const push = (ip: number): void => decoded.push(ip);
  let dec: PtFlowDecoder;
  const sink: FlowSink = {
    range: (start, _end, count, _ctx, section, bitness) => {
      rangeFirst.push(decoded.n);
      rangeOffset.push(dec.offset);
      forEachInstruction(image, section, bitness as 16 | 32 | 64, start, count, push);
    },
    event: () => {},
    error: (e) => {
      errors.push({ code: e.code, offset: e.offset, ip: Number.isNaN(e.ip) ? null : formatAddr0x(e.ip), message: e.message });
    },
  };
  dec = new PtFlowDecoder(image, sink, { resyncOnError: true, contextOf: corpusContextOf(view) });
  dec.decode(trace);

  const { os, user } = traced(view);
  const table = view.truthTable();
  const contexts = view.machine.contexts;
  const truth = new Addrs();
  forEachTruthRecord(table, view.truthStream(), (id) => {
    const c = contexts[table.ctx[id]!] as X86Context | undefined;
    const kernel = c !== undefined && c.cpl === 0;
    if (kernel ? !os : !user) return;
    let a = table.start[id]!;
    const f = table.lenFirst[id]!;
    const n = table.count[id]!;
    for (let k = 0; k < n; k++) {
      truth.push(a);
      a += table.lengths[f + k]!;
    }
  });

  const al = alignSequences(truth.a, truth.n, decoded.a, decoded.n);
  let first: ScoreReport['firstDivergence'] = null;
  if (al.firstTruth >= 0) {
    let offset: number | null = null;
    if (al.firstDecoded < decoded.n) {
      // The range holding the first differing decoded instruction.
      let lo = 0;
      let hi = rangeFirst.n - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (rangeFirst.a[mid]! <= al.firstDecoded) lo = mid;
        else hi = mid - 1;
      }
      offset = rangeOffset.n > 0 ? rangeOffset.a[lo]! : null;
    } else if (errors.length > 0) {
      offset = errors[errors.length - 1]!.offset;
    }
    first = {
      truthIndex: al.firstTruth,
      traceOffset: offset,
      expected: al.firstTruth < truth.n ? formatAddr0x(truth.a[al.firstTruth]!) : null,
      decoded: al.firstDecoded < decoded.n ? formatAddr0x(decoded.a[al.firstDecoded]!) : null,
    };
  }
  return {
    arch: 'x86', decoder: 'hwtrace-pt-flow', truth: truth.n, decoded: decoded.n, reconstructed: al.reconstructed, wrong: al.wrong,
    missing: al.missing, errors, firstDivergence: first,
  };
}
