// Shared by the ARM tests: where the OpenCSD fixtures are, and how to read trc_pkt_lister listings.

import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** test/fixtures/opencsd */
export const OPENCSD_FIXTURES = resolve(here, '../../../fixtures/opencsd');

export function snapshotDir(name: string): string {
  return join(OPENCSD_FIXTURES, 'snapshots', name);
}

export function expectedListing(name: string): string {
  return readFileSync(join(OPENCSD_FIXTURES, 'expected', `${name}.ppl`), 'utf8');
}

/** Every snapshot directory name in the fixtures. */
export function snapshotNames(): string[] {
  return readdirSync(join(OPENCSD_FIXTURES, 'snapshots')).sort();
}

/** One packet line of a trc_pkt_lister listing. */
export interface ListedPacket {
  idx: number;
  id: number;
  type: string;
  /** The whole line from `Idx:` on (error-log text before it on the same line removed). */
  line: string;
}

// Packet lines, with the raw bytes (-pkt_mon / -decode) or without them (plain listing).
// Error messages are sometimes printed on the same line just before `Idx:`.
const PACKET_LINE = /Idx:(\d+); ID:([0-9a-f]+);( \[[^\]]*\];)?\t(I_[A-Z0-9_]+)( : .*)?$/;

/** The packet lines of a listing (generic-element, frame and log lines skipped). */
export function parseListing(text: string): ListedPacket[] {
  const out: ListedPacket[] = [];
  for (const raw of text.split('\n')) {
    const m = PACKET_LINE.exec(raw);
    if (!m) continue;
    out.push({ idx: Number(m[1]), id: parseInt(m[2]!, 16), type: m[4]!, line: m[0] });
  }
  return out;
}

/** `Frame Data; Index N; ID_DATA[0xNN]; bytes` lines of an -o_raw_unpacked listing. */
export function parseIdData(text: string): { index: number; id: number; bytes: number[] }[] {
  const out: { index: number; id: number; bytes: number[] }[] = [];
  for (const line of text.split('\n')) {
    const m = /^Frame Data; Index\s+(\d+);\s+ID_DATA\[0x([0-9a-f]+)\]; ((?:[0-9a-f]{2} )*)/.exec(line);
    if (m) out.push({ index: Number(m[1]), id: parseInt(m[2]!, 16), bytes: m[3]!.trim() === '' ? [] : m[3]!.trim().split(' ').map((h) => parseInt(h, 16)) });
  }
  return out;
}
