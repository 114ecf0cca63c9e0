// Errors. Two kinds, kept apart on purpose:
// - DecodeError: a plain record a decoder reports about its input and then keeps going
//   (resync). It is data, never thrown, so the hot path stays exception-free.
// - HwtraceError: thrown outside hot paths (bad options, bad corpus, bad snapshot). It carries
//   a stable `code` and says what and where, so the CLI prints one line, never a stack.

/** A problem found in a trace, reported with where it is; decoding goes on after it. */
export interface DecodeError {
  /** Stable machine-readable kind, e.g. `bad_opc`, `bad_packet`, `nosync`. */
  code: string;
  /** Byte offset in the trace (of the stream the decoder was given). */
  offset: number;
  /** Instruction pointer, where one applies. */
  ip?: number;
  /** CoreSight trace ID, where one applies. */
  traceId?: number;
  message: string;
}

/** A failure that stops an operation: bad options, a refused corpus, a bad snapshot. */
export class HwtraceError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'HwtraceError';
    this.code = code;
  }
}

/** Bad command-line usage; the CLI exits 2 on it. */
export class UsageError extends HwtraceError {
  constructor(message: string) {
    super('usage', message);
    this.name = 'UsageError';
  }
}
