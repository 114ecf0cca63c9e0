// What `hwtrace score` reports for one decoder on one corpus, built from an alignment.

import { formatAddr0x } from '../../arch/common/address.js';
import type { Alignment } from './align.js';

export interface ScoreError {
  code: string;
  offset: number;
  ip: string | null;
  message: string;
}

export interface ScoreReport {
  arch: string;
  decoder: string;
  /** Instructions in the truth that the trace configuration covers. */
  truth: number;
  decoded: number;
  reconstructed: number;
  wrong: number;
  missing: number;
  errors: ScoreError[];
  firstDivergence: null | { truthIndex: number; traceOffset: number | null; expected: string | null; decoded: string | null };
}

/**
 * The report for alignment `al`, whose decoded addresses were tagged with trace offsets. When the
 * decoded side had ended at the first difference, the last error's offset says where it stopped.
 */
export function scoreReport(arch: string, decoder: string, al: Alignment, errors: ScoreError[]): ScoreReport {
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
    arch, decoder, truth: al.truth, decoded: al.decoded, reconstructed: al.reconstructed, wrong: al.wrong, missing: al.missing, errors,
    firstDivergence: first,
  };
}
