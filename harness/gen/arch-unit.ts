// What `gen` needs from each architecture: a trace unit for a machine, built from the CLI's
// trace options, writing its streams to sinks the generator provides.

import type { ExecSink, SyncSink } from '../../arch/common/events.js';
import type { ChunkSink } from '../../arch/common/stream.js';
import type { Isa, Machine } from '../../sim/index.js';

/** A trace unit attached to one run. */
export interface AttachedTraceUnit {
  /** Receives the executor's events. */
  sink: ExecSink;
  /** Flushes every stream (the generator ends the sinks afterwards). */
  finish(): void;
  /** The configuration as it goes into the manifest (register values, enables, periods). */
  config: Record<string, unknown>;
  /** Deterministic counts the unit adds to the corpus summary, read after `finish`. */
  summary(): Record<string, number>;
}

/** One trace output stream, e.g. `cpu0.pt` or `etm-10.bin`, stored as `<arch>/trace/<name>`. */
export type OpenTraceStream = (name: string) => ChunkSink;

export interface ArchTraceUnitFactory {
  /** `x86` or `arm`, as corpora name the architecture. */
  arch: 'x86' | 'arm';
  /** The simulator ISA it traces. */
  isa: Isa;
  /** Builds the trace unit for `machine`, with trace options already checked. */
  attach(machine: Machine, options: Record<string, unknown>, open: OpenTraceStream, sync: SyncSink): AttachedTraceUnit;
}
