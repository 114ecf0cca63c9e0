// Snapshot directories: reading OpenCSD's, errors that name the file and key, and writing
// snapshots that read back the same and that OpenCSD's trc_pkt_lister lists as we do.

import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAddr } from '../../../../arch/common/address.js';
import { HwtraceError } from '../../../../arch/common/errors.js';
import { ByteBuffer } from '../../../../arch/common/stream.js';
import { defaultEtm4Config } from '../../../../arch/arm/etm4/config.js';
import { Etm4PacketEncoder } from '../../../../arch/arm/etm4/encoder.js';
import { formatPacketLine } from '../../../../arch/arm/etm4/listing.js';
import { FrameFormatter } from '../../../../arch/arm/coresight/formatter.js';
import { parseIni, formatIni, parseIniNumber } from '../../../../arch/arm/opencsd/ini.js';
import { planSnapshotDecode, runSnapshotDecode } from '../../../../arch/arm/opencsd/snapshot-decode.js';
import { coreOfSource, coreProfile, etm4ConfigOf, readSnapshot, sourcesOfBuffer } from '../../../../arch/arm/opencsd/snapshot-reader.js';
import { writeSnapshot, type SnapshotSpec } from '../../../../arch/arm/opencsd/snapshot-writer.js';
import { needTrcPktLister } from '../../../helpers/reference.js';
import { parseListing, snapshotDir } from './fixtures.js';

function tmp(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'hwtrace-ss-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A copy of a fixture snapshot that the test may break. */
function copyOf(t: Test, name: string): string {
  const dir = tmp(t);
  cpSync(snapshotDir(name), dir, { recursive: true });
  return dir;
}

t.test('juno_r1_1: devices, registers, memory dumps, buffers, source mapping', async (t) => {
  const s = readSnapshot(snapshotDir('juno_r1_1'));
  t.equal(s.version, '1.0');
  t.equal(s.devices.length, 13);
  t.same(s.buffers.map((b) => [b.name, b.format]), [['ETB_0', 'coresight'], ['ETB_1', 'coresight']]);
  const etm0 = s.devices.find((d) => d.name === 'ETM_0')!;
  t.equal(etm0.class, 'trace_source');
  t.equal(etm0.regs.get('TRCIDR0')!.value, 0x28000ea1n);
  t.equal(etm0.regs.get('TRCIDR0')!.name, 'TRCIDR0', 'the (0x078) suffix is not part of the name');
  t.same(sourcesOfBuffer(s, 'ETB_0').map((d) => d.name), ['ETM_0', 'ETM_1', 'ETM_2', 'ETM_3', 'ETM_4', 'ETM_5']);
  t.equal(coreOfSource(s, 'ETM_4')!.type, 'Cortex-A57');
  const cpu = s.devices.find((d) => d.name === 'cpu_0')!;
  t.same(cpu.dumps.map((m) => [m.section, m.address, m.length, m.offset, m.space]), [['dump1', parseAddr('0xFFFFFFC000081000'), 0x50000, 0, 'ANY']]);
  t.ok(cpu.dumps[0]!.file.endsWith('kernel_dump.bin'));
  const cfg = etm4ConfigOf(s, etm0);
  t.equal(cfg.traceId, 0x10);
  t.equal(cfg.profile, 'A');
});

t.test('ETE snapshots: type ETE, TRCDEVARCH, several sessions (the first buffer listed is decoded)', async (t) => {
  const s = readSnapshot(snapshotDir('ete-q_elem'));
  t.same(s.buffers.map((b) => b.name), ['ETB_2', 'ETB_1'], 'buffers=buffer2,buffer1');
  t.same(s.coreSources, [['cpu_0', 'ETE_0_s1'], ['cpu_0', 'ETE_0_s2']], 'a core may appear twice');
  const plan = planSnapshotDecode(s, { packet() {}, error() {} });
  t.equal(plan.buffer.name, 'ETB_2');
  t.same(plan.sources.map((x) => [x.device.name, x.traceId, x.config.ete]), [['ETE_0_s2', 0, true]], 'unformatted: ID printed as 0');
  const juno = planSnapshotDecode(readSnapshot(snapshotDir('juno_r1_1')), { packet() {}, error() {} }, { buffer: 'ETB_1' });
  t.same(juno.sources, []);
  t.same(juno.skipped.map((x) => [x.device.name, x.reason]), [['STM_12', 'STM trace is not decoded']]);
});

t.test('core types give the profile', async (t) => {
  t.same(coreProfile('Cortex-M55'), { profile: 'M', archV8: true });
  t.same(coreProfile('Cortex-M4'), { profile: 'M', archV8: false });
  t.same(coreProfile('Cortex-A53'), { profile: 'A', archV8: true });
  t.same(coreProfile('ARMv8.2-A'), { profile: 'A', archV8: true });
  t.same(coreProfile('ARM-AA64'), { profile: 'A', archV8: true });
});

t.test('errors name the file and the key', async (t) => {
  const missingFile = tmp(t);
  t.throws(() => readSnapshot(missingFile), { code: 'bad_snapshot', message: /snapshot\.ini.*ENOENT/ });

  let dir = copyOf(t, 'ss_raw');
  writeFileSync(join(dir, 'etm_0.ini'), readFileSync(join(dir, 'etm_0.ini'), 'utf8').replace('type=ETM4', 'type=ETM9'));
  t.throws(() => readSnapshot(dir), { message: new RegExp(`etm_0\\.ini: \\[device\\] type=ETM9 is not a known trace source type`) });

  dir = copyOf(t, 'ss_raw');
  writeFileSync(join(dir, 'cpu_0.ini'), readFileSync(join(dir, 'cpu_0.ini'), 'utf8').replace('type=Cortex-A53', 'type=Pentium'));
  t.throws(() => readSnapshot(dir), { message: /cpu_0\.ini: \[device\] type=Pentium is not a known core type/ });

  dir = copyOf(t, 'ss_raw');
  writeFileSync(join(dir, 'etm_0.ini'), readFileSync(join(dir, 'etm_0.ini'), 'utf8').replace(/^TRCIDR0.*$/m, ''));
  const s = readSnapshot(dir);
  t.throws(() => etm4ConfigOf(s, s.devices.find((d) => d.name === 'etm_0')!), { message: /etm_0\.ini: \[regs\] TRCIDR0 is missing/ });

  dir = copyOf(t, 'ss_raw');
  writeFileSync(join(dir, 'etm_0.ini'), readFileSync(join(dir, 'etm_0.ini'), 'utf8').replace(/^TRCIDR2.*$/m, 'TRCIDR2(0x07A)=banana'));
  t.throws(() => readSnapshot(dir), { message: /etm_0\.ini: \[regs\] TRCIDR2\(0x07A\)=banana is not a number/ });

  dir = copyOf(t, 'ss_raw');
  writeFileSync(join(dir, 'trace.ini'), readFileSync(join(dir, 'trace.ini'), 'utf8').replace('format=source_data', 'format=mystery'));
  t.throws(() => readSnapshot(dir), { message: /trace\.ini: \[buffer0\] format=mystery is not one of/ });

  dir = copyOf(t, 'ss_raw');
  writeFileSync(join(dir, 'snapshot.ini'), readFileSync(join(dir, 'snapshot.ini'), 'utf8').replace('device1=etm_0.ini', 'device1=nothere.ini'));
  t.throws(() => readSnapshot(dir), { message: /snapshot\.ini: \[device_list\] device1=nothere\.ini: cannot read/ });

  dir = copyOf(t, 'ss_raw');
  writeFileSync(join(dir, 'cpu_0.ini'), readFileSync(join(dir, 'cpu_0.ini'), 'utf8').replace(/^address=.*$/m, ''));
  t.throws(() => readSnapshot(dir), { message: /cpu_0\.ini: \[dump1\] address= is missing/ });

  dir = copyOf(t, 'ss_raw');
  rmSync(join(dir, 'trace.bin'));
  const s2 = readSnapshot(dir);
  const plan = planSnapshotDecode(s2, { packet() {}, error() {} });
  t.throws(() => runSnapshotDecode(plan, { packet() {}, error() {} }), /trace\.bin/);
  t.ok(HwtraceError);
});

t.test('ini: comments, order and duplicates kept, strtoul-style numbers, round trip', async (t) => {
  const ini = parseIni('; c\n[a]\nx=1\nx=2\n# d\n[B]\ny = 0x10 \n', 'f.ini');
  t.same(ini.sections.map((s) => [s.name, s.entries]), [['a', [['x', '1'], ['x', '2']]], ['B', [['y', '0x10']]]]);
  t.same(parseIni(formatIni(ini.sections), 'g').sections.map((s) => s.entries), ini.sections.map((s) => s.entries));
  t.equal(parseIniNumber('0x1F'), 31n);
  t.equal(parseIniNumber('017'), 15n);
  t.equal(parseIniNumber('17'), 17n);
  t.equal(parseIniNumber('0xFFFFFFC000081000'), 0xffffffc000081000n);
  t.equal(parseIniNumber('x'), undefined);
  t.throws(() => parseIni('[a\n', 'h.ini'), /h\.ini:1/);
  t.throws(() => parseIni('k=v\n', 'h.ini'), /outside any \[section\]/);
});

function specWithTrace(): { spec: SnapshotSpec; trace: Uint8Array } {
  const cfg = defaultEtm4Config(0x10);
  const enc = new Etm4PacketEncoder(cfg, new ByteBuffer(256));
  enc.async();
  enc.traceInfo({ info: 0 });
  enc.encode({ kind: 'addrContext', is: 0, wide: true, hi: 0, lo: 0x400000, el: 1, sf: 1, ns: 1, nse: 0, vmid: 5, contextId: 0x1234 });
  enc.atoms(0b111, 3);
  enc.atoms(0b10, 2);
  enc.address(0, 0x400000, 0);
  enc.atoms(1, 1);
  enc.timestampUpdate(0, 0x1234);
  enc.async();
  const fmt = new FrameFormatter(new ByteBuffer(64));
  fmt.write(0x10, enc.out.view());
  fmt.flush();
  const code = new Uint8Array(24);
  const r = cfg.registers;
  const spec: SnapshotSpec = {
    description: 'written by hwtrace tests',
    devices: [
      { name: 'cpu_0', class: 'core', type: 'Cortex-A53', regs: { 'PC(size:64)': 0x400000n }, dumps: [{ file: 'code.bin', address: 0x400000, data: code }] },
      { name: 'etm_0', class: 'trace_source', type: 'ETM4', regs: { TRCCONFIGR: r.TRCCONFIGR, TRCTRACEIDR: r.TRCTRACEIDR, TRCIDR0: r.TRCIDR0, TRCIDR1: r.TRCIDR1, TRCIDR2: r.TRCIDR2, TRCIDR8: r.TRCIDR8 } },
    ],
    buffers: [{ name: 'ETB_0', file: 'trace.bin', format: 'coresight', data: fmt.output.view().slice() }],
    sourceBuffers: [['etm_0', 'ETB_0']],
    coreSources: [['cpu_0', 'etm_0']],
  };
  return { spec, trace: enc.out.view().slice() };
}

function ourListing(dir: string): string[] {
  const lines: string[] = [];
  const sink = { packet: (p: Parameters<typeof formatPacketLine>[0]) => lines.push(formatPacketLine(p, { ete: false }).replace('; Decoder Sync point TINFO', '')), error() {} };
  runSnapshotDecode(planSnapshotDecode(readSnapshot(dir), sink), sink);
  return lines;
}

t.test('writer: what we write reads back the same', async (t) => {
  const dir = tmp(t);
  const { spec } = specWithTrace();
  const files = writeSnapshot(dir, spec);
  t.same(files.sort(), ['code.bin', 'cpu_0.ini', 'etm_0.ini', 'snapshot.ini', 'trace.bin', 'trace.ini']);
  const s = readSnapshot(dir);
  t.equal(s.description, 'written by hwtrace tests');
  t.same(s.devices.map((d) => [d.name, d.class, d.type]), [['cpu_0', 'core', 'Cortex-A53'], ['etm_0', 'trace_source', 'ETM4']]);
  t.same(s.devices[0]!.dumps.map((m) => [m.address, m.length]), [[0x400000, 24]]);
  t.equal(s.devices[0]!.regs.get('PC')!.value, 0x400000n);
  t.same(s.sourceBuffers, [['etm_0', 'ETB_0']]);
  t.equal(etm4ConfigOf(s, s.devices[1]!).traceId, 0x10);
  t.same(
    ourListing(dir).map((l) => /\t(I_\w+)/.exec(l)![1]),
    ['I_ASYNC', 'I_TRACE_INFO', 'I_ADDR_CTXT_L_64IS0', 'I_ATOM_F3', 'I_ATOM_F2', 'I_ADDR_MATCH', 'I_ATOM_F1', 'I_TIMESTAMP', 'I_ASYNC'],
  );
  t.throws(() => writeSnapshot(tmp(t), { ...spec, buffers: [{ name: 'x', file: '../escape.bin', format: 'coresight' }] }), /relative path inside/);
});

t.test('writer: OpenCSD trc_pkt_lister lists what we wrote exactly as we do', async (t) => {
  const lister = needTrcPktLister(t);
  if (!lister) return;
  const dir = tmp(t);
  writeSnapshot(dir, specWithTrace().spec);
  const r = spawnSync(lister, ['-ss_dir', dir, '-pkt_mon', '-no_time_print', '-logfilename', join(dir, 'out.ppl')], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  const theirs = parseListing(readFileSync(join(dir, 'out.ppl'), 'utf8')).map((p) => p.line);
  t.ok(theirs.length > 5);
  t.same(ourListing(dir), theirs);
});
