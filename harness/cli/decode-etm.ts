// `hwtrace decode --ss-dir DIR`: reconstructs the executed instructions of an OpenCSD snapshot
// and prints packets and generic elements as `trc_pkt_lister -decode` does, or one JSON object
// per element with --format json. `--id N` keeps one trace ID. Decode errors go to stderr (text)
// or into the JSON stream.

import type { Argv } from 'yargs';
import { HwtraceError, UsageError, type DecodeError } from '../../arch/common/errors.js';
import { elementToJson, formatElementLine, type FlowElement } from '../../arch/arm/etm4/flow/elements.js';
import { decodeSnapshotFlow } from '../../arch/arm/etm4/flow/snapshot-flow.js';
import { formatPacketLine } from '../../arch/arm/etm4/listing.js';
import type { Etm4Packet } from '../../arch/arm/etm4/packet.js';
import type { SnapshotDecodeOptions } from '../../arch/arm/opencsd/snapshot-decode.js';
import { readSnapshot } from '../../arch/arm/opencsd/snapshot-reader.js';
import { etm4Config, type Etm4Registers } from '../../arch/arm/etm4/config.js';
import { Etm4PacketDecoder } from '../../arch/arm/etm4/decoder.js';
import { Etm4FlowDecoder } from '../../arch/arm/etm4/flow/flow-decoder.js';
import { ImageMemory, spaceOfContext } from '../../arch/arm/etm4/flow/image-memory.js';
import type { CorpusArchView } from '../export/corpus-arch.js';
import { imageStart } from '../gen/machine-info.js';
import { LineWriter, parseTraceId } from './etm-cli-shared.js';

export function etmDecodeOptions(y: Argv): Argv {
  return y
    .option('id', { type: 'string', describe: 'ETM/ETE: decode only this trace ID (hex 0x10 or decimal)' })
    .option('buffer', { type: 'string', describe: 'ETM/ETE: snapshot trace buffer name (default: the first in trace.ini)' })
    .option('elements-only', { type: 'boolean', default: false, describe: 'ETM/ETE text output: print the elements without the packets' });
}

function format(argv: Record<string, unknown>): 'text' | 'json' {
  const f = argv['format'] ?? 'text';
  if (f !== 'text' && f !== 'json') throw new UsageError(`--format ${String(f)}: expected text or json`);
  return f;
}

/** Where elements and errors go for the chosen format. */
function printers(out: LineWriter, json: boolean): { element: (e: FlowElement) => void; error: (e: DecodeError) => void; errors: () => number } {
  let errors = 0;
  return {
    element: json ? (e) => out.line(JSON.stringify(elementToJson(e))) : (e) => out.line(formatElementLine(e)),
    error: (e) => {
      errors++;
      if (json) out.line(JSON.stringify({ error: e.code, idx: e.offset, ...(e.traceId === undefined ? {} : { id: e.traceId }), message: e.message }));
      else {
        out.flush();
        process.stderr.write(`hwtrace: ${e.traceId === undefined ? '' : `ID:${e.traceId.toString(16)} `}Idx:${e.offset}: ${e.code}: ${e.message}\n`);
      }
    },
    errors: () => errors,
  };
}

export function runEtmDecode(argv: Record<string, unknown>): void {
  const dir = argv['ss-dir'] ?? argv['ssDir'];
  if (typeof dir !== 'string' || dir === '') throw new UsageError('decode needs --ss-dir DIR (an OpenCSD snapshot directory)');
  const json = format(argv) === 'json';
  const traceId = parseTraceId(argv['id']);
  const buffer = argv['buffer'];
  if (buffer !== undefined && typeof buffer !== 'string') throw new UsageError('--buffer needs a buffer name');
  const withPackets = !json && argv['elements-only'] !== true && argv['elementsOnly'] !== true;
  const snapshot = readSnapshot(dir);
  const out = new LineWriter();
  const p = printers(out, json);
  const opts: SnapshotDecodeOptions = {
    ...(typeof buffer === 'string' ? { buffer } : {}),
    ...(traceId === undefined ? {} : { traceIds: [traceId] }),
  };
  const ete = new Map<number, boolean>();
  const result = decodeSnapshotFlow(
    snapshot,
    {
      ...(withPackets ? { packet: (pk: Etm4Packet) => out.line(formatPacketLine(pk, { ete: ete.get(pk.traceId) ?? false })) } : {}),
      element: p.element,
      error: p.error,
      planned: (plan) => {
        for (const src of plan.sources) ete.set(src.traceId, src.config.ete);
      },
    },
    opts,
  );
  out.flush();
  if (result.decoders.length === 0) {
    throw new HwtraceError('bad_snapshot', `${snapshot.traceIni}: buffer ${result.plan.buffer.name} has no ETMv4/ETE trace source${traceId === undefined ? '' : ` with trace ID 0x${traceId.toString(16)}`} to decode`);
  }
  if (p.errors() > 0) process.exitCode = 1;
}

/** Decodes an ARM corpus with its own images and prints its elements. */
export function runEtmDecodeCorpus(view: CorpusArchView, argv: Record<string, unknown>): void {
  const json = format(argv) === 'json';
  const traceId = parseTraceId(argv['id']);
  const out = new LineWriter();
  const p = printers(out, json);
  decodeCorpusFlow(view, { element: p.element, error: p.error }, traceId);
  out.flush();
  if (p.errors() > 0) process.exitCode = 1;
}

/** What `hwtrace gen` records about the ARM trace in the manifest (config.arm). */
interface ArmCorpusRecord {
  stream: string;
  /** Register values by snapshot name, e.g. `TRCIDR0(0x078)`. */
  registers: Record<string, number>;
}

/** Etm4Registers from snapshot-style names (`TRCCONFIGR(0x004)`: the part before '(' counts). */
function registersByName(regs: Record<string, number>, what: string): Etm4Registers {
  const byName = new Map(Object.entries(regs).map(([k, v]) => [k.replace(/\(.*$/, '').toUpperCase(), v]));
  const need = (n: string): number => {
    const v = byName.get(n);
    if (typeof v !== 'number') throw new HwtraceError('bad_corpus', `${what}: config.arm.registers lacks ${n}`);
    return v;
  };
  const r: Etm4Registers = { TRCCONFIGR: need('TRCCONFIGR'), TRCTRACEIDR: need('TRCTRACEIDR'), TRCIDR0: need('TRCIDR0'), TRCIDR2: need('TRCIDR2') };
  const idr1 = byName.get('TRCIDR1');
  if (idr1 !== undefined) r.TRCIDR1 = idr1;
  const idr8 = byName.get('TRCIDR8');
  if (idr8 !== undefined) r.TRCIDR8 = idr8;
  return r;
}

function armCorpusRecord(view: CorpusArchView): ArmCorpusRecord {
  const config = view.reader.manifest.config as Record<string, unknown> | null;
  const arm = config?.['arm'] as Partial<ArmCorpusRecord> | undefined;
  if (!arm || typeof arm.stream !== 'string' || typeof arm.registers !== 'object' || arm.registers === null) {
    throw new HwtraceError('bad_corpus', `${view.reader.path}, member manifest.json: config.arm lacks stream or registers`);
  }
  return { stream: arm.stream, registers: arm.registers };
}

/**
 * Decodes an ARM corpus's trace with the corpus's own per-process images: the PE context the
 * trace reports selects the address space. Returns the flow decoder (for its counters).
 */
export function decodeCorpusFlow(view: CorpusArchView, h: { element: (e: FlowElement) => void; error?: (e: DecodeError) => void }, traceId?: number): Etm4FlowDecoder {
  if (view.arch !== 'arm') throw new HwtraceError('usage', 'ETM decode needs the ARM part of the corpus: use --arch arm');
  const rec = armCorpusRecord(view);
  const config = etm4Config(registersByName(rec.registers, `${view.reader.path}, member manifest.json`));
  const m = view.machine;
  const memory = new ImageMemory(m.images.map((im) => ({ start: imageStart(im), bytes: view.imageBytes(im.id), space: im.space })));
  const skip = traceId !== undefined && traceId !== config.traceId;
  const flow = new Etm4FlowDecoder(config, { element: skip ? () => {} : h.element }, {
    memory,
    memoryContext: spaceOfContext(m.contexts, m.ctxSpace),
    ...(h.error ? { error: h.error } : {}),
  });
  const packets = new Etm4PacketDecoder(config, flow, 0);
  for (const chunk of view.traceChunks(rec.stream)) packets.push(chunk);
  packets.end();
  flow.end();
  return flow;
}
