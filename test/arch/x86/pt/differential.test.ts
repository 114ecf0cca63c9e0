// hwtrace's PT packet decoder against libipt's (pt-libipt driver): the same packets, fields,
// errors and resync points, line for line, on (a) streams hwtrace's encoder makes from random
// packet sequences covering every type and IP compression, (b) streams libipt's own encoder
// makes, (c) random and corrupted bytes, (d) a realistic multi-MiB stream.
// libipt 2.0.5 knows neither CFE/EVD nor TRIG, so those are compared only where it knows
// them: not at all (they are covered by the property and listing tests instead).

import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { bufferChunks } from '../../../../arch/common/stream.js';
import {
  IPC_FULL, IPC_SEXT_48, IPC_SUPPRESSED, IPC_UPDATE_16, IPC_UPDATE_32, IPC_UPDATE_48, PT_FUP, PT_MNEMONICS,
  PT_PSB, PT_PWRE, PT_TIP, PT_TIP_PGD, PT_TIP_PGE, PtEncoder, PtLastIp, formatPacketSpec, parsePacketSpec,
  ptStats,
} from '../../../../arch/x86/index.js';
import { Rng } from '../../../../sim/rng.js';
import { mutatePtBytes, ptPacketTypes, randomPtBytes, randomPtPacket, randomPtStream } from '../../../../bench/fuzz/pt.js';
import { RealisticPtStream, writeLibiptStream } from '../../../../bench/pt-packets.js';
import { needNativeTool } from '../../../helpers/reference.js';
import {
  LIBIPT20, cleanupTemp, firstDifference, libiptCount, libiptEncode, libiptPackets, libiptPacketsOfFile, ourPackets, tempFile,
} from './libipt.js';

const tool = needNativeTool(t, 'pt-libipt');
t.teardown(cleanupTemp);

const OPTS20 = { eventTrace: false, trig: false, libipt20: true };

if (tool !== undefined) {
  t.test('(a) hwtrace-encoded random packet sequences: every type and IP compression', async (t) => {
    const r = new Rng(0xa11);
    const seenTypes = new Set<string>();
    const seenIpc = new Set<number>();
    let packets = 0;
    for (let i = 0; i < 100; i++) {
      const s = randomPtStream(r, r.range(1, 250), OPTS20);
      for (const p of s.packets) {
        seenTypes.add(PT_MNEMONICS[p.type]!);
        if (p.type >= PT_FUP && p.type <= PT_TIP_PGD) seenIpc.add(p.ipc);
      }
      packets += s.packets.length;
      const theirs = libiptPackets(tool, s.bytes);
      const diff = firstDifference(ourPackets(s.bytes), theirs) ?? firstDifference(ourPackets(s.bytes, LIBIPT20, r.range(1, 9)), theirs);
      if (diff !== undefined) {
        t.fail(`stream ${i}: ${diff}`);
        return;
      }
    }
    const expected = ptPacketTypes(OPTS20).map((x) => PT_MNEMONICS[x]!);
    t.same([...seenTypes].sort(), [...expected].sort(), 'every packet type libipt 2.0 knows was generated');
    t.same([...seenIpc].sort(), [IPC_SUPPRESSED, IPC_UPDATE_16, IPC_UPDATE_32, IPC_SEXT_48, IPC_UPDATE_48, IPC_FULL], 'every IP compression was generated');
    t.ok(packets > 10000, `${packets} packets compared`);
  });

  t.test('(a) IPs compressed by hwtrace are the IPs libipt reconstructs', async (t) => {
    const r = new Rng(0x1b);
    const enc = new PtEncoder();
    const want: number[] = [];
    const regions = [0x400000, 0x7f3a12340000, -0x7f000000, 0xff0000000000, -0x100000000000000, 0x100000000000000 - 0x80000000];
    enc.simple(PT_PSB);
    for (let i = 0; i < 3000; i++) {
      if (r.chance(0.02)) {
        enc.simple(PT_PSB);
        want.push(Number.NaN);
        continue;
      }
      const base = r.pick(regions);
      const ip = base + r.below(2 ** r.range(4, 30));
      enc.ip(r.pick([PT_TIP, PT_FUP, PT_TIP_PGE, PT_TIP_PGD]), ip);
      want.push(ip);
    }
    const lines = libiptPackets(tool, enc.bytes());
    const last = new PtLastIp();
    const got: number[] = [];
    const ipcs = new Set<string>();
    for (const line of lines.slice(1)) {
      const p = parsePacketSpec(line.split(' ').slice(2).join(' '));
      if (p.type === PT_PSB) {
        last.reset();
        got.push(Number.NaN);
        continue;
      }
      ipcs.add(String(p.ipc));
      last.update(p.ipc, p.lo, p.hi);
      got.push(last.ip);
    }
    t.equal(got.length, want.length, 'one IP packet per IP');
    const bad = want.findIndex((w, i) => !(Object.is(w, got[i]) || w === got[i]));
    t.equal(bad, -1, bad < 0 ? 'every IP round-trips through libipt' : `IP ${bad}: wanted ${want[bad]?.toString(16)}, libipt gives ${got[bad]?.toString(16)}`);
    t.same([...ipcs].sort(), ['1', '2', '3', '4', '6'], 'the encoder used every compression');
  });

  t.test('(b) streams made by libipt\'s encoder', async (t) => {
    const r = new Rng(0xb0b);
    const types = ptPacketTypes(OPTS20).filter((x) => x !== PT_PSB);
    for (let i = 0; i < 120; i++) {
      const lines = ['psb'];
      const n = r.range(1, 150);
      for (let k = 0; k < n; k++) {
        if (r.chance(0.03)) {
          lines.push('psb');
          continue;
        }
        const p = randomPtPacket(r, r.pick(types), OPTS20);
        // libipt puts PWRE's HW flag in byte 2 bit 3: exercise it through its own encoder.
        if (p.type === PT_PWRE) p.lo |= r.below(2) << 3;
        lines.push(formatPacketSpec(p, 'libipt-2.0'));
      }
      const bytes = libiptEncode(tool, lines);
      const ours = ourPackets(bytes);
      // The first sync lands on the last of several leading PSBs, as in libipt.
      let skip = 0;
      while (lines[skip + 1] === 'psb') skip++;
      const want = lines.slice(skip);
      const got = ours.map((l) => l.split(' ').slice(2).join(' '));
      const d = firstDifference(got, want);
      if (d !== undefined) {
        t.fail(`stream ${i}, hwtrace vs the packets given to libipt's encoder: ${d}`);
        return;
      }
      const d2 = firstDifference(ours, libiptPackets(tool, bytes));
      if (d2 !== undefined) {
        t.fail(`stream ${i}, hwtrace vs libipt's decoder: ${d2}`);
        return;
      }
    }
    t.pass('120 libipt-encoded streams decode alike');
  });

  t.test('(c) random and corrupted bytes: same packets, errors and resync points', async (t) => {
    const r = new Rng(0xc0c);
    const inputs: Uint8Array[] = [];
    for (let i = 0; i < 80; i++) inputs.push(randomPtBytes(r));
    for (let i = 0; i < 80; i++) inputs.push(mutatePtBytes(r, randomPtStream(r, r.range(1, 80), OPTS20).bytes));
    let errors = 0;
    for (const [i, input] of inputs.entries()) {
      for (const noSync of [false, true]) {
        const theirs = libiptPackets(tool, input, noSync ? ['--no-sync'] : []);
        const opts = { ...LIBIPT20, noSync };
        const d = firstDifference(ourPackets(input, opts), theirs) ?? firstDifference(ourPackets(input, opts, r.range(1, 20)), theirs);
        if (d !== undefined) {
          t.fail(`input ${i}${noSync ? ' (--no-sync)' : ''}: ${d}`);
          return;
        }
        errors += theirs.filter((l) => l.includes(' error ')).length;
      }
    }
    t.ok(errors > 150, `${errors} decode errors compared, with their offsets`);
  });

  t.test('(d) a realistic 1 MiB stream: every line; counts by type', async (t) => {
    const gen = new RealisticPtStream(7);
    const bytes = gen.take(1 << 20).slice();
    const theirs = libiptPackets(tool, bytes);
    const ours = ourPackets(bytes, LIBIPT20, 65521);
    t.equal(firstDifference(ours, theirs), undefined, `${theirs.length} packets alike`);
    const file = tempFile('realistic.pt');
    writeFileSync(file, bytes);
    const c = libiptCount(tool, file);
    const s = ptStats(bufferChunks(bytes, 1 << 16));
    t.same(s.byType, c.byType, 'counts by type');
    t.equal(s.errors, 0);
    t.equal(c.errors, 0);
  });

  t.test('(d) a libipt-encoded realistic stream: counts by type and zero errors', async (t) => {
    const file = tempFile('libipt-realistic.pt');
    writeLibiptStream(tool, file, 1, 3);
    const c = libiptCount(tool, file);
    const ours = ptStats(bufferChunks(new Uint8Array(readFileSync(file)), 1 << 20));
    t.same(ours.byType, c.byType, 'counts by type');
    t.equal(ours.packets, c.packets);
    t.equal(ours.errors, 0);
    t.equal(c.errors, 0);
    const lines = libiptPacketsOfFile(tool, file);
    t.equal(firstDifference(ourPackets(new Uint8Array(readFileSync(file))), lines), undefined, 'every line alike');
  });
}
