// The truth's instruction addresses in order, pulled one at a time for the streaming aligner.

import { TruthCursor } from '../../corpora/truth/index.js';
import type { CorpusArchView } from '../export/corpus-arch.js';

export interface TruthPullOptions {
  /** Per context index: whether the trace covers its instructions (default: all). */
  keep?: (ctx: number) => boolean;
  /** Stop after this many instructions (those after it are not in the trace). */
  limit?: number;
}

/** A function returning the next truth instruction address, NaN at the end. */
export function truthPuller(view: CorpusArchView, options: TruthPullOptions = {}): () => number {
  const table = view.truthTable();
  const cursor = new TruthCursor(table, view.truthStream());
  const nctx = view.machine.contexts.length;
  const keep = new Uint8Array(nctx);
  for (let i = 0; i < nctx; i++) keep[i] = options.keep === undefined || options.keep(i) ? 1 : 0;
  let limit = options.limit ?? Number.POSITIVE_INFINITY;
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
    if (limit <= 0) return Number.NaN;
    limit--;
    const a = addr;
    addr += table.lengths[len++]!;
    left--;
    return a;
  };
}
