// CoreSight frames: formatter and deformatter are inverses (memory and TPIU modes, any chunking,
// FSYNC/HSYNC), run indices are counted as OpenCSD counts them, and broken captures give errors.

import t from 'tap';
import fc from 'fast-check';
import type { DecodeError } from '../../../../arch/common/errors.js';
import { ByteBuffer } from '../../../../arch/common/stream.js';
import { CoresightDemux, type IdStreamDecoder } from '../../../../arch/arm/coresight/demux.js';
import { FrameDeformatter, type FrameSink } from '../../../../arch/arm/coresight/deformatter.js';
import { DstreamUnpacker } from '../../../../arch/arm/coresight/dstream.js';
import { FrameFormatter } from '../../../../arch/arm/coresight/formatter.js';
import { FSYNC, isValidTraceId } from '../../../../arch/arm/coresight/frame.js';

/** Collects deformatted bytes per ID (and runs) through the generic data() interface. */
class Collect implements FrameSink {
  readonly bytes = new Map<number, number[]>();
  readonly runs: [number, number, number[]][] = [];
  readonly errors: DecodeError[] = [];
  resets = 0;
  data(id: number, index: number, buf: Uint8Array, s: number, e: number): void {
    const part = Array.from(buf.subarray(s, e));
    this.runs.push([id, index, part]);
    this.bytes.set(id, [...(this.bytes.get(id) ?? []), ...part]);
  }
  error(e: DecodeError): void {
    this.errors.push(e);
  }
  reset(): void {
    this.resets++;
  }
}

/** An IdStreamDecoder that just records what the demux hands it. */
class Recorder implements IdStreamDecoder {
  readonly bytes: number[] = [];
  readonly indices: number[] = [];
  pushRange(d: Uint8Array, s: number, e: number, index: number): void {
    for (let i = s; i < e; i++) {
      this.bytes.push(d[i]!);
      this.indices.push(index + i - s);
    }
  }
  pushMapped(d: Uint8Array, s: number, e: number, off: Int32Array, idx: Float64Array, runs: number): void {
    let r = 0;
    for (let i = s; i < e; i++) {
      while (r + 1 < runs && off[r + 1]! <= i) r++;
      this.bytes.push(d[i]!);
      this.indices.push(idx[r]! + i - off[r]!);
    }
  }
  end(): void {}
  reset(): void {}
}

const streamArb = fc.array(fc.record({ id: fc.integer({ min: 1, max: 0x6f }), data: fc.uint8Array({ minLength: 1, maxLength: 40 }) }), { minLength: 1, maxLength: 30 });

function format(writes: { id: number; data: Uint8Array }[], mode: 'memory' | 'tpiu', fsyncEvery = 1): { framed: Uint8Array; sent: Map<number, number[]> } {
  const fmt = new FrameFormatter(new ByteBuffer(64), { mode, fsyncEvery });
  const sent = new Map<number, number[]>();
  for (const w of writes) {
    fmt.write(w.id, w.data);
    sent.set(w.id, [...(sent.get(w.id) ?? []), ...w.data]);
  }
  fmt.flush();
  return { framed: fmt.output.view().slice(), sent };
}

function feed(df: FrameDeformatter, data: Uint8Array, chunk: number): void {
  for (let i = 0; i < data.length; i += chunk) df.push(data.subarray(i, i + chunk));
  df.end();
}

t.test('memory mode: deformatting undoes formatting, in any chunking', async (t) => {
  fc.assert(
    fc.property(streamArb, fc.integer({ min: 1, max: 50 }), (writes, chunk) => {
      const { framed, sent } = format(writes, 'memory');
      if (framed.length % 16 !== 0) return false;
      const c = new Collect();
      feed(new FrameDeformatter(c), framed, chunk);
      if (c.errors.length > 0) return false;
      for (const [id, bytes] of sent) if (JSON.stringify(c.bytes.get(id)) !== JSON.stringify(bytes)) return false;
      return [...c.bytes.keys()].every((id) => id === 0 || sent.has(id));
    }),
    { numRuns: 300 },
  );
  t.pass('property held');
});

t.test('the demux delivers the same bytes and indices batched (lanes) and immediately', async (t) => {
  fc.assert(
    fc.property(streamArb, fc.integer({ min: 1, max: 70 }), (writes, chunk) => {
      const { framed } = format(writes, 'memory');
      const ids = [...new Set(writes.map((w) => w.id))];
      const out = (immediate: boolean): string => {
        const demux = new CoresightDemux({ immediate });
        const rec = ids.map((id) => {
          const r = new Recorder();
          demux.attach(id, r);
          return r;
        });
        const df = new FrameDeformatter(demux);
        for (let i = 0; i < framed.length; i += chunk) {
          df.push(framed.subarray(i, i + chunk));
          demux.flush();
        }
        df.end();
        demux.end();
        return JSON.stringify(rec.map((r) => [r.bytes, r.indices]));
      };
      // And both equal the generic data() path.
      const c = new Collect();
      feed(new FrameDeformatter(c), framed, framed.length);
      const generic = JSON.stringify(
        ids.map((id) => {
          const runs = c.runs.filter((r) => r[0] === id);
          return [runs.flatMap((r) => r[2]), runs.flatMap((r) => r[2].map((_, k) => r[1] + k))];
        }),
      );
      return out(true) === generic && out(false) === generic;
    }),
    { numRuns: 200 },
  );
  t.pass('property held');
});

t.test('TPIU mode: FSYNCs between frames and HSYNCs inside them are removed', async (t) => {
  fc.assert(
    fc.property(streamArb, fc.integer({ min: 1, max: 4 }), fc.array(fc.nat(), { maxLength: 6 }), fc.integer({ min: 1, max: 33 }), (writes, every, hsyncAt, chunk) => {
      const { framed, sent } = format(writes, 'tpiu', every);
      // Insert HSYNC half-words (FF 7F) at even offsets after the first FSYNC.
      const bytes = Array.from(framed);
      for (const h of hsyncAt) {
        const at = 4 + 2 * (h % Math.max(1, (bytes.length - 4) >> 1));
        bytes.splice(at, 0, 0xff, 0x7f);
      }
      const c = new Collect();
      feed(new FrameDeformatter(c, { mode: 'tpiu', hsync: true }), Uint8Array.from(bytes), chunk);
      if (c.errors.length > 0) return false;
      for (const [id, data] of sent) if (JSON.stringify(c.bytes.get(id)) !== JSON.stringify(data)) return false;
      return true;
    }),
    { numRuns: 300 },
  );
  t.pass('property held');
});

t.test('indices are counted as OpenCSD counts them around an ID change', async (t) => {
  // Frame: data 0xAA 0xBB for the current ID 0x10, then ID 0x11 at byte 2 with aux bit 1
  // (byte 3 still belongs to 0x10), then data for 0x11 from byte 4.
  const f = new Uint8Array(16);
  f[0] = 0x21; // ID 0x10
  f[1] = 0xaa;
  f[2] = 0x23; // ID 0x11
  f[3] = 0xbb; // old ID (aux bit 1)
  for (let i = 4; i < 15; i++) f[i] = i & 1 ? 0x60 + i : 0x60 + i - (i & 1);
  f[15] = 0b0000_0010; // aux bit 1 set: byte 3 belongs to the previous ID
  const c = new Collect();
  const df = new FrameDeformatter(c);
  df.push(new Uint8Array(32).fill(0)); // two frames of null-ID... (ID unknown: no ID byte yet)
  df.push(f);
  df.end();
  const runs = c.runs.filter((r) => r[0] === 0x10 || r[0] === 0x11);
  t.same(runs.map((r) => [r[0], r[1], r[2].length]), [
    [0x10, 32, 2],
    [0x11, 34, 11],
  ], 'the 0x11 run starts at the index of its ID byte (frame start + 2), not of its first data byte');
  t.same(runs[0]![2], [0xaa, 0xbb]);
  t.equal(c.runs[0]![0], -1, 'data before any ID byte has ID -1');
});

t.test('memory mode: a partial frame at the end is an error; 4 FSYNCs reset when asked', async (t) => {
  const c = new Collect();
  const df = new FrameDeformatter(c);
  df.push(new Uint8Array(20));
  df.end();
  t.same(c.errors.map((e) => [e.code, e.offset]), [['truncated_frame', 16]]);

  const r = new Collect();
  const four = new Uint8Array(16);
  for (let i = 0; i < 16; i += 4) four.set(FSYNC, i);
  const { framed } = format([{ id: 0x10, data: Uint8Array.of(1, 2, 3) }], 'memory');
  const dfr = new FrameDeformatter(r, { resetOn4xFsync: true });
  dfr.push(framed);
  dfr.push(four);
  dfr.push(framed);
  dfr.end();
  t.equal(r.resets, 1);
  t.same(r.bytes.get(0x10), [1, 2, 3, 1, 2, 3]);
  t.equal(dfr.fsyncs, 4);
});

t.test('TPIU: data before the first FSYNC is skipped with an error; an FSYNC inside a frame is an error', async (t) => {
  const { framed, sent } = format([{ id: 0x12, data: Uint8Array.from({ length: 40 }, (_, i) => i) }], 'tpiu', 1);
  const c = new Collect();
  feed(new FrameDeformatter(c, { mode: 'tpiu' }), Uint8Array.from([7, 7, 7, ...framed]), 5);
  t.same(c.errors.map((e) => e.code), ['no_fsync']);
  t.same(c.bytes.get(0x12), sent.get(0x12));

  const broken = Array.from(framed);
  broken.splice(4 + 6, 0, 0xff, 0xff, 0xff, 0x7f); // an FSYNC 6 bytes into the first frame
  const b = new Collect();
  feed(new FrameDeformatter(b, { mode: 'tpiu' }), Uint8Array.from(broken), 64);
  t.ok(b.errors.some((e) => e.code === 'fsync_inside_frame' && e.offset === 10));

  const none = new Collect();
  feed(new FrameDeformatter(none, { mode: 'tpiu' }), new Uint8Array(64).fill(0x11), 64);
  t.same(none.errors.map((e) => e.code), ['no_fsync']);
  t.equal(none.runs.length, 0);
});

t.test('null and reserved IDs reach the sink but no decoder; the demux counts them', async (t) => {
  const frame = new Uint8Array(16);
  frame[0] = (0x72 << 1) | 1; // reserved ID 0x72
  frame[1] = 0x55;
  const demux = new CoresightDemux({ immediate: true });
  const rec = new Recorder();
  demux.attach(0x10, rec);
  const df = new FrameDeformatter(demux);
  df.push(frame);
  df.end();
  t.equal(rec.bytes.length, 0);
  t.equal(demux.droppedBytes, 14);
  t.equal(demux.bytesById[0x72], 14);
  t.throws(() => demux.attach(0x70, rec), RangeError);
  t.throws(() => new FrameFormatter().write(0, Uint8Array.of(1)), RangeError);
  t.notOk(isValidTraceId(0x7f));
  t.ok(isValidTraceId(0x6f));
});

t.test('DSTREAM blocks: 8-byte footers removed from each 512-byte block, in any chunking', async (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 700 }), (blocks, chunk) => {
      const raw = new Uint8Array(blocks * 512);
      const want: number[] = [];
      for (let i = 0; i < raw.length; i++) {
        const inFooter = i % 512 >= 504;
        raw[i] = inFooter ? 0xee : (i * 7) & 0xff;
        if (!inFooter) want.push(raw[i]!);
      }
      const got: number[] = [];
      const u = new DstreamUnpacker((d) => got.push(...d));
      for (let i = 0; i < raw.length; i += chunk) u.push(raw.subarray(i, i + chunk));
      return u.footers === blocks && JSON.stringify(got) === JSON.stringify(want);
    }),
    { numRuns: 100 },
  );
  t.pass('property held');
});
