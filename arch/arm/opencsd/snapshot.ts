// The OpenCSD snapshot directory model (what trc_pkt_lister -ss_dir reads):
//   snapshot.ini  [snapshot] version=, description=; [device_list] any=<device.ini>; [trace] metadata=trace.ini
//   <device>.ini  [device] name= class= type=; [regs] NAME(optional suffix)=value; [dumpN] file= address= ...
//   trace.ini     [trace_buffers] buffers=b0,b1; [b0] name= file= format=; [source_buffers] src=buffer;
//                 [core_trace_sources] core=source

import type { Addr } from '../../common/address.js';

/** A register value from a device's [regs] section. */
export interface SnapshotRegister {
  /** Name as written before any `(suffix)`, e.g. `TRCIDR0`. */
  name: string;
  /** The value text as written. */
  text: string;
  /** The value (up to 64 bits). */
  value: bigint;
}

/** A memory image of a core: one [dumpN] section. */
export interface MemoryDump {
  /** Section name, e.g. `dump1`. */
  section: string;
  /** Path of the image file (resolved against the snapshot directory). */
  file: string;
  /** Virtual address of the first byte used. */
  address: Addr;
  /** Bytes used from the file; undefined = to the end of the file. */
  length: number | undefined;
  /** Offset of the first byte used within the file. */
  offset: number;
  /** Memory space (EL1N, EL2, S, N, ANY, ...); `ANY` when not given. */
  space: string;
}

export interface SnapshotDevice {
  /** The device .ini file (resolved path). */
  file: string;
  name: string;
  /** `core`, `trace_source`, or another class (kept as written). */
  class: string;
  type: string;
  /** Registers by upper-case name. */
  regs: Map<string, SnapshotRegister>;
  dumps: MemoryDump[];
}

/** The formats trace.ini may give a buffer. */
export type TraceBufferFormat = 'coresight' | 'source_data' | 'dstream_coresight';

export interface TraceBuffer {
  /** Section name in trace.ini, e.g. `buffer0`. */
  section: string;
  name: string;
  /** Path of the trace data file (resolved). */
  file: string;
  format: TraceBufferFormat;
}

export interface Snapshot {
  dir: string;
  version: string;
  description: string | undefined;
  devices: SnapshotDevice[];
  /** In the order of `[trace_buffers] buffers=`; trc_pkt_lister decodes the first by default. */
  buffers: TraceBuffer[];
  /** [source_buffers]: trace source device name → buffer name. */
  sourceBuffers: [string, string][];
  /** [core_trace_sources]: core device name → trace source device name (a core may appear twice). */
  coreSources: [string, string][];
  /** Paths of snapshot.ini and trace.ini (for messages). */
  snapshotIni: string;
  traceIni: string;
}
