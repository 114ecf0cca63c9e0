// build/native/etm-opencsd (our C++ driver of the system OpenCSD): its packet counts agree with
// our decoder on a real multi-source buffer, and its full-decode mode counts the instructions
// OpenCSD 1.8.0's listing shows for that snapshot.

import t from 'tap';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { PacketType, packetTypeName } from '../../../../arch/arm/etm4/packet-types.js';
import { Etm4Stats } from '../../../../arch/arm/etm4/stats.js';
import { planSnapshotDecode, runSnapshotDecode } from '../../../../arch/arm/opencsd/snapshot-decode.js';
import { readSnapshot } from '../../../../arch/arm/opencsd/snapshot-reader.js';
import { needNativeTool } from '../../../helpers/reference.js';
import { expectedListing, snapshotDir } from './fixtures.js';

function sourceArgs(dir: string): string[] {
  const snap = readSnapshot(dir);
  const plan = planSnapshotDecode(snap, { packet() {}, error() {} });
  return plan.sources.flatMap((s) => {
    const r = s.config.registers;
    return ['--etm4', [s.config.traceId, r.TRCIDR0, r.TRCIDR1, r.TRCIDR2, r.TRCIDR8, r.TRCCONFIGR].map((v) => '0x' + v.toString(16)).join(',')];
  });
}

t.test('packet mode: same packets by type as our decoder (juno_r1_1, 6 sources)', async (t) => {
  const tool = needNativeTool(t, 'etm-opencsd');
  if (!tool) return;
  const dir = snapshotDir('juno_r1_1');
  const r = spawnSync(tool, ['--repeat', '2', ...sourceArgs(dir), join(dir, 'cstrace.bin')], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  const oc = JSON.parse(r.stdout) as { bytes: number; packets: number; types: Record<string, number>; runs: number[]; mbPerSec: number };
  t.equal(oc.bytes, 65536);
  t.equal(oc.runs.length, 2);
  t.ok(oc.mbPerSec > 0);
  const stats = new Etm4Stats();
  runSnapshotDecode(planSnapshotDecode(readSnapshot(dir), stats), stats, { listingOrder: false });
  // OpenCSD hands the first NOTSYNC of each stream to its packet sink once; the rest go to monitors.
  const ours = Object.fromEntries(stats.countsByName().filter(([n]) => n !== packetTypeName(PacketType.NOTSYNC)));
  const theirs = Object.fromEntries(Object.entries(oc.types).filter(([n]) => n !== 'I_NOT_SYNC'));
  t.same(theirs, ours);
});

t.test('decode mode: OpenCSD reconstructs the instructions of its own listing', async (t) => {
  const tool = needNativeTool(t, 'etm-opencsd');
  if (!tool) return;
  const dir = snapshotDir('juno_r1_1');
  const r = spawnSync(tool, ['--mode', 'decode', '--mem', `0xFFFFFFC000081000:${join(dir, 'kernel_dump.bin')}`, ...sourceArgs(dir), join(dir, 'cstrace.bin')], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  const oc = JSON.parse(r.stdout) as { instructions: number; elementTypes: Record<string, number> };
  const listing = expectedListing('juno_r1_1');
  const ranges = listing.match(/OCSD_GEN_TRC_ELEM_INSTR_RANGE/g)!.length;
  const instructions = [...listing.matchAll(/num_i\((\d+)\)/g)].reduce((n, m) => n + Number(m[1]), 0);
  t.equal(oc.elementTypes['5'], ranges, 'INSTR_RANGE elements');
  t.equal(oc.instructions, instructions);
});

t.test('bad usage exits 2 with a message', async (t) => {
  const tool = needNativeTool(t, 'etm-opencsd');
  if (!tool) return;
  const r = spawnSync(tool, ['--etm4', '1,2,3', 'x.bin'], { encoding: 'utf8' });
  t.equal(r.status, 2);
  t.match(r.stderr, /--etm4 ID,IDR0/);
});
