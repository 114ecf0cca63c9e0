// Where our flow decode of a shared snapshot differs from OpenCSD 1.8.0's listing because OpenCSD
// is wrong: the listing lines we do not produce, by snapshot, and why. The snapshot and CLI
// listing tests drop exactly these lines from the expected output (and check they were there).

export interface OpenCsdError {
  /** Start of the listing line (Idx, ID, element and its first fields). */
  line: string;
  why: string;
}

export const OPENCSD_ERRORS: Record<string, OpenCsdError[]> = {
  'ete-ete_ip': [
    {
      line: 'Idx:282; ID:2; OCSD_GEN_TRC_ELEM_INSTR_RANGE(exec range=0x1aa948:[0x1b37f4] num_i(9131)',
      why:
        'a BX LR is taken (E atom), then an SVC exception (E1:E0 = 0b01, return address 0x1b37f4) with no address packet ' +
        'between: where the BX LR went is not traced, so the instructions before the SVC are unknown (IHI 0064, Exception ' +
        'packet: they run from the target of the previous P0 element). OpenCSD walks from the instruction after the BX LR, ' +
        'inventing 9131 A32 instructions; we output the EXCEPTION alone.',
    },
  ],
};

/** `lines` without the listing lines OpenCSD gets wrong for snapshot `name`; `missing` lists those not found. */
export function withoutOpenCsdErrors(name: string, lines: readonly string[]): { lines: string[]; missing: string[] } {
  const errs = OPENCSD_ERRORS[name] ?? [];
  const found = new Set<number>();
  const kept = lines.filter((l) => {
    const i = errs.findIndex((e) => l.startsWith(e.line));
    if (i < 0) return true;
    found.add(i);
    return false;
  });
  return { lines: kept, missing: errs.filter((_, i) => !found.has(i)).map((e) => e.line) };
}
