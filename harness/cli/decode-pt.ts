// `hwtrace decode --pt FILE --raw FILE:ADDR …` (ptxed's command line and text) and
// `hwtrace decode CORPUS` for an x86 corpus (its own images, address spaces by CR3).

import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import type { Argv } from 'yargs';
import { formatAddr0x, parseAddr } from '../../arch/common/address.js';
import { HwtraceError, UsageError } from '../../arch/common/errors.js';
import { FLOW_EVENT_NAMES, PtFlowDecoder, PtImage, PtxedPrinter, type FlowSink } from '../../arch/x86/pt/flow/index.js';
import type { CorpusArchView } from '../export/corpus-arch.js';
import { imageStart } from '../gen/machine-info.js';
import { spaceLabel } from '../export/raw.js';

const PRINT_FLAGS: ReadonlyArray<[string, string]> = [
  ['resync-on-error', 'PT: after an error, continue at the next PSB'],
  ['no-inst', "PT: don't print instructions (only events and errors)"],
  ['quiet', "PT: don't print anything but errors"],
  ['event:ip', 'PT: print the IP of events that have one'],
  ['stat', 'PT: print statistics at the end (instructions)'],
  ['stat:insn', 'PT: print the number of instructions at the end'],
  ['stat:blocks', 'PT: print the number of straight-line runs (blocks) at the end'],
];

/** ptxed's options, for `hwtrace decode --pt`. */
export function ptDecodeOptions(y: Argv): Argv {
  let out = y.parserConfiguration({ 'dot-notation': false, 'boolean-negation': false });
  out = out
    .option('raw', { type: 'string', array: true, describe: 'PT: code image FILE[:FROM[-TO]]:VADDR (ptxed --raw), repeatable' })
    .option('images', { type: 'string', describe: 'PT: images.txt from `hwtrace export --as raw` (file address cr3=…|- per line)' })
    .option('cpu', { type: 'string', describe: 'PT: FAMILY/MODEL[/STEPPING] of the recording CPU (accepted; no errata workarounds yet)' })
    .option('mtc-freq', { type: 'string', describe: 'PT: MTC frequency (accepted; timing is not used in the output yet)' })
    .option('nom-freq', { type: 'string', describe: 'PT: nominal frequency (accepted)' })
    .option('cpuid-0x15.eax', { type: 'string', describe: 'PT: CPUID[0x15].EAX (accepted)' })
    .option('cpuid-0x15.ebx', { type: 'string', describe: 'PT: CPUID[0x15].EBX (accepted)' });
  for (const [name, describe] of PRINT_FLAGS) out = out.option(name, { type: 'boolean', describe });
  return out;
}

function flag(argv: Record<string, unknown>, name: string): boolean {
  return argv[name] === true;
}

function readFile(file: string, what: string): Uint8Array {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new HwtraceError('bad_file', `cannot read ${what} ${file}: ${(e as Error).message}`);
  }
}

/** ptxed's --raw: `file[:from[-to]]:vaddr` (from/to: byte range of the file). */
export function addRawImage(image: PtImage, arg: string): void {
  const parts = arg.split(':');
  if (parts.length < 2 || parts.length > 3 || parts[0] === '') throw new UsageError(`--raw ${arg}: want FILE[:FROM[-TO]]:VADDR`);
  const file = parts[0]!;
  let bytes = readFile(file, 'image');
  if (parts.length === 3) {
    const m = /^(\w+)(?:-(\w+))?$/.exec(parts[1]!);
    if (!m) throw new UsageError(`--raw ${arg}: bad file range ${parts[1]}`);
    const from = parseAddr(m[1]!);
    const to = m[2] !== undefined ? parseAddr(m[2]) : bytes.length;
    if (!(from >= 0 && from <= to && to <= bytes.length)) throw new UsageError(`--raw ${arg}: range ${parts[1]} is outside ${file} (${bytes.length} bytes)`);
    bytes = bytes.subarray(from, to);
  }
  let vaddr: number;
  try {
    vaddr = parseAddr(parts[parts.length - 1]!);
  } catch (e) {
    throw new UsageError(`--raw ${arg}: ${(e as Error).message}`);
  }
  image.add(bytes, vaddr, Number.NaN, file);
}

/** hwtrace's images.txt: `file address context` lines (context `cr3=0x…` or `-`). */
export function addImageList(image: PtImage, list: string): void {
  const text = new TextDecoder().decode(readFile(list, 'image list'));
  let n = 0;
  for (const line of text.split('\n')) {
    n++;
    if (line.trim() === '') continue;
    const f = line.trim().split(/\s+/);
    if (f.length !== 3) throw new UsageError(`${list}:${n}: expected 'file address context'`);
    const file = isAbsolute(f[0]!) ? f[0]! : join(dirname(list), f[0]!);
    const cr3 = f[2] === '-' ? Number.NaN : /^cr3=(0x[0-9a-f]+)$/i.test(f[2]!) ? parseAddr(f[2]!.slice(4)) : Number.NaN;
    image.add(readFile(file, 'image'), parseAddr(f[1]!), cr3, file);
  }
}

function stdoutWriter(): (s: string) => void {
  return (s) => {
    process.stdout.write(s);
  };
}

function printStats(argv: Record<string, unknown>, write: (s: string) => void, insns: number, blocks: number): void {
  const insn = flag(argv, 'stat') || flag(argv, 'stat:insn');
  const blk = flag(argv, 'stat:blocks');
  if (!insn && !blk) return;
  let s = '\n';
  if (insn) s += `insn: ${insns}.\n`;
  if (blk) s += `blocks:\t${blocks}.\n`;
  write(s);
}

export function runPtDecode(argv: Record<string, unknown>): void {
  const file = argv['pt'];
  if (typeof file !== 'string' || file === '') throw new UsageError('decode --pt needs a trace file');
  const image = new PtImage();
  const raws = argv['raw'];
  for (const r of Array.isArray(raws) ? raws : raws === undefined ? [] : [raws]) addRawImage(image, String(r));
  if (typeof argv['images'] === 'string') addImageList(image, argv['images']);
  if (image.sections.length === 0) throw new UsageError('decode --pt needs code: --raw FILE:ADDR (or --images LIST)');
  const trace = readFile(file, 'PT trace');
  const write = stdoutWriter();
  const printer = new PtxedPrinter(image, write, { noInst: flag(argv, 'no-inst'), quiet: flag(argv, 'quiet'), eventIp: flag(argv, 'event:ip') });
  const dec = new PtFlowDecoder(image, printer, { resyncOnError: flag(argv, 'resync-on-error') });
  dec.decode(trace);
  printer.flush();
  printStats(argv, write, printer.instructions, printer.ranges);
  if (printer.errors > 0) process.exitCode = 1;
}

/** The corpus's images as a PtImage: process images tied to their address space's CR3. */
export function corpusImage(view: CorpusArchView): PtImage {
  const m = view.machine;
  const image = new PtImage();
  for (const im of m.images) {
    const label = spaceLabel(m, im.space);
    const cr3 = label.startsWith('cr3=') ? parseAddr(label.slice(4)) : Number.NaN;
    image.add(view.imageBytes(im.id), imageStart(im), cr3, im.name);
  }
  return image;
}

/** Reads a corpus's (only) x86 trace stream whole. */
export function corpusTrace(view: CorpusArchView): Uint8Array {
  const names = view.traceNames();
  if (names.length === 0) throw new HwtraceError('bad_corpus', `${view.reader.path} has no x86 trace`);
  const chunks = [...view.traceChunks(names[0]!)];
  const size = chunks.reduce((a, c) => a + c.length, 0);
  const trace = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    trace.set(c, at);
    at += c.length;
  }
  return trace;
}

/** Context id per CR3: the first context of the machine with that CR3. */
export function corpusContextOf(view: CorpusArchView): (cr3: number) => number {
  const byCr3 = new Map<number, number>();
  view.machine.contexts.forEach((c, i) => {
    if (c.arch === 'x86' && !byCr3.has(c.cr3)) byCr3.set(c.cr3, i);
  });
  return (cr3) => byCr3.get(cr3) ?? -1;
}

/** JSON lines: one object per range, event and error. */
class JsonRanges implements FlowSink {
  private text = '';
  errors = 0;
  instructions = 0;
  constructor(private readonly write: (s: string) => void) {}
  range(start: number, end: number, count: number, ctx: number): void {
    this.instructions += count;
    this.text += `{"start":"${formatAddr0x(start)}","end":"${formatAddr0x(end)}","count":${count},"ctx":${ctx}}\n`;
    if (this.text.length > 1 << 16) this.flush();
  }
  event(kind: number, ip: number, value: number): void {
    this.text += JSON.stringify({ event: FLOW_EVENT_NAMES[kind] ?? kind, ip: Number.isNaN(ip) ? null : formatAddr0x(ip), value }) + '\n';
  }
  error(e: { code: string; offset: number; ip: number; message: string }): void {
    this.errors++;
    this.text += JSON.stringify({ error: e.code, offset: e.offset, ip: Number.isNaN(e.ip) ? null : formatAddr0x(e.ip), message: e.message }) + '\n';
  }
  flush(): void {
    if (this.text !== '') this.write(this.text);
    this.text = '';
  }
}

export function runPtDecodeCorpus(view: CorpusArchView, argv: Record<string, unknown>): void {
  const image = corpusImage(view);
  const trace = corpusTrace(view);
  const write = stdoutWriter();
  const contextOf = corpusContextOf(view);
  const options = { resyncOnError: flag(argv, 'resync-on-error'), contextOf };
  if (argv['format'] === 'json') {
    const sink = new JsonRanges(write);
    new PtFlowDecoder(image, sink, options).decode(trace);
    sink.flush();
    if (sink.errors > 0) process.exitCode = 1;
    return;
  }
  const printer = new PtxedPrinter(image, write, { noInst: flag(argv, 'no-inst'), quiet: flag(argv, 'quiet'), eventIp: flag(argv, 'event:ip') });
  new PtFlowDecoder(image, printer, options).decode(trace);
  printer.flush();
  printStats(argv, write, printer.instructions, printer.ranges);
  if (printer.errors > 0) process.exitCode = 1;
}
