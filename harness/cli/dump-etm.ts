// `hwtrace dump --ss-dir DIR`: lists the ETMv4/ETE packets of an OpenCSD snapshot as
// trc_pkt_lister does (`Idx:N; ID:xx; [bytes];<TAB>I_NAME : description`), one object per packet
// with --format json, or totals by packet type with --stats. Decode errors go to stderr (text)
// or into the JSON stream, and make the exit code 1.

import type { Argv } from 'yargs';
import { HwtraceError, UsageError, type DecodeError } from '../../arch/common/errors.js';
import type { Etm4PacketSink } from '../../arch/arm/etm4/decoder.js';
import { formatPacketLine, packetToJson } from '../../arch/arm/etm4/listing.js';
import type { Etm4Packet } from '../../arch/arm/etm4/packet.js';
import { Etm4Stats } from '../../arch/arm/etm4/stats.js';
import { planSnapshotDecode, runSnapshotDecode, type SnapshotDecodeOptions } from '../../arch/arm/opencsd/snapshot-decode.js';
import { readSnapshot } from '../../arch/arm/opencsd/snapshot-reader.js';
import { LineWriter, parseTraceId } from './etm-cli-shared.js';

export function etmDumpOptions(y: Argv): Argv {
  return y
    .option('id', { type: 'string', describe: 'ETM/ETE: list only this trace ID (hex 0x10 or decimal)' })
    .option('buffer', { type: 'string', describe: 'ETM/ETE: snapshot trace buffer name (default: the first in trace.ini)' })
    .option('dstream-format', { type: 'boolean', default: false, describe: 'ETM/ETE: DSTREAM capture with 512-byte blocks and footers' })
    .option('tpiu-hsync', { type: 'boolean', default: false, describe: 'ETM/ETE: TPIU capture also has HSYNC half-words' });
}

function errorLine(e: DecodeError): string {
  const where = e.traceId === undefined ? `Idx:${e.offset}` : `ID:${e.traceId.toString(16)} Idx:${e.offset}`;
  return `hwtrace: ${where}: ${e.code}: ${e.message}`;
}

function errorJson(e: DecodeError): Record<string, unknown> {
  const o: Record<string, unknown> = { error: e.code, idx: e.offset };
  if (e.traceId !== undefined) o['id'] = e.traceId;
  o['message'] = e.message;
  return o;
}

export function runEtmDump(argv: Record<string, unknown>): void {
  const dir = argv['ss-dir'] ?? argv['ssDir'];
  if (typeof dir !== 'string' || dir === '') throw new UsageError('dump needs --ss-dir DIR (an OpenCSD snapshot directory)');
  const format = argv['format'] ?? 'text';
  if (format !== 'text' && format !== 'json') throw new UsageError(`--format ${String(format)}: expected text or json`);
  const statsOnly = argv['stats'] === true;
  const traceId = parseTraceId(argv['id']);
  const buffer = argv['buffer'];
  if (buffer !== undefined && typeof buffer !== 'string') throw new UsageError('--buffer needs a buffer name');

  const snapshot = readSnapshot(dir);
  const out = new LineWriter();
  const json = format === 'json';
  let listing: Etm4PacketSink | undefined;
  let eteById = new Map<number, boolean>();
  if (!statsOnly) {
    listing = {
      packet(p: Etm4Packet): void {
        const opts = { ete: eteById.get(p.traceId) ?? false };
        out.line(json ? JSON.stringify(packetToJson(p, opts)) : formatPacketLine(p, opts));
      },
      error(e: DecodeError): void {
        if (json) out.line(JSON.stringify(errorJson(e)));
        else {
          out.flush();
          process.stderr.write(errorLine(e) + '\n');
        }
      },
    };
  }
  const stats = new Etm4Stats(listing);
  const sink: Etm4PacketSink = statsOnly
    ? {
        packet: (p) => stats.packet(p),
        error: (e) => {
          stats.error(e);
          if (!json) process.stderr.write(errorLine(e) + '\n');
        },
      }
    : stats;
  const base: SnapshotDecodeOptions = {
    ...(typeof buffer === 'string' ? { buffer } : {}),
    dstreamFormat: argv['dstream-format'] === true || argv['dstreamFormat'] === true,
    tpiuHsync: argv['tpiu-hsync'] === true || argv['tpiuHsync'] === true,
    // Listing order (packets of several IDs interleaved as trc_pkt_lister prints them) costs
    // throughput; totals do not need it.
    listingOrder: !statsOnly,
  };
  const opts: SnapshotDecodeOptions = traceId === undefined ? base : { ...base, traceIds: [traceId] };
  const plan = planSnapshotDecode(snapshot, sink, opts);
  if (plan.sources.length === 0) {
    if (traceId !== undefined) {
      const ids = planSnapshotDecode(snapshot, sink, base).sources.map((s) => '0x' + s.config.traceId.toString(16));
      throw new UsageError(`--id 0x${traceId.toString(16)}: no ETMv4/ETE source with that trace ID in buffer ${plan.buffer.name} (have: ${ids.join(', ') || 'none'})`);
    }
    throw new HwtraceError('bad_snapshot', `${snapshot.traceIni}: buffer ${plan.buffer.name} has no ETMv4/ETE trace source to decode`);
  }
  eteById = new Map(plan.sources.map((s) => [s.traceId, s.config.ete]));
  const t0 = performance.now();
  const bytes = runSnapshotDecode(plan, sink, opts);
  const seconds = (performance.now() - t0) / 1000;
  out.flush();

  if (statsOnly) {
    const mbps = seconds > 0 ? bytes / 1e6 / seconds : 0;
    if (json) {
      process.stdout.write(
        JSON.stringify({
          buffer: plan.buffer.name,
          ids: plan.sources.map((s) => s.traceId),
          bytes,
          packets: stats.packets,
          errors: stats.errors,
          seconds,
          mbPerSec: mbps,
          types: Object.fromEntries(stats.countsByName()),
          errorCodes: Object.fromEntries(stats.errorsByCode),
        }) + '\n',
      );
    } else {
      const lines = [
        `buffer   ${plan.buffer.name} (${plan.buffer.format}), trace IDs ${plan.sources.map((s) => '0x' + s.traceId.toString(16)).join(', ')}`,
        `bytes    ${bytes}`,
        `packets  ${stats.packets}`,
        `errors   ${stats.errors}`,
        `MB/s     ${mbps.toFixed(1)}`,
        'packets by type:',
        ...stats.countsByName().map(([name, n]) => `  ${name.padEnd(20)} ${n}`),
      ];
      for (const [code, n] of stats.errorsByCode) lines.push(`  error ${code.padEnd(14)} ${n}`);
      process.stdout.write(lines.join('\n') + '\n');
    }
  }
  if (stats.errors > 0) process.exitCode = 1;
}
