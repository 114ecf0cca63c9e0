// The timed part of bench/pt-flow.ts in a process of its own, as libipt's runs are: our flow
// decoder on a trace and images written by it (trace.pt, images.txt: `file address cr3=0x…|-`),
// `runs` times, each with a fresh image (the code classified again, as libipt's fresh decoder
// does). Prints one JSON line: {"insns": N, "errors": N, "seconds": [...]}.
//
//   node dist/bench/pt-flow-decode.js DIR [RUNS]

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAddr } from '../arch/common/address.js';
import { CountingSink, PtFlowDecoder, PtImage } from '../arch/x86/pt/flow/index.js';

const [dir, runsArg] = process.argv.slice(2);
if (dir === undefined) throw new Error('usage: pt-flow-decode DIR [RUNS]');
const runs = Number(runsArg ?? 3);
const trace = new Uint8Array(readFileSync(join(dir, 'trace.pt')));
const images = readFileSync(join(dir, 'images.txt'), 'utf8')
  .trim()
  .split('\n')
  .map((line) => {
    const [file, addr, space] = line.split(' ');
    return { bytes: new Uint8Array(readFileSync(join(dir, file!))), start: parseAddr(addr!), cr3: space === '-' ? Number.NaN : Number(space!.slice(4)) };
  });

const seconds: number[] = [];
let insns = 0;
let errors = 0;
for (let r = 0; r < runs; r++) {
  const image = new PtImage();
  for (const im of images) image.add(im.bytes, im.start, im.cr3);
  const sink = new CountingSink();
  const t0 = performance.now();
  new PtFlowDecoder(image, sink).decode(trace);
  seconds.push((performance.now() - t0) / 1000);
  insns = sink.instructions;
  errors = sink.errors.length;
}
console.log(JSON.stringify({ insns, errors, seconds }));
