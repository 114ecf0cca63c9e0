// `hwtrace decode --pt FILE --raw FILE:ADDR …` (ptxed's command line and text: a drop-in for
// `ptxed`, iced-x86's disassembly standing in for XED's) and `hwtrace decode CORPUS` for an x86
// corpus (its own images, address spaces by CR3). Decoding stops at the first error unless
// --resync-on-error asks to go on at the next PSB.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import type { Argv } from 'yargs';
import { addrFromParts, formatAddr0x, parseAddr } from '../../arch/common/address.js';
import { HwtraceError, UsageError } from '../../arch/common/errors.js';
import {
  FLOW_EVENT_NAMES, PtFlowDecoder, PtImage, PtxedPrinter, type FlowSink, type PtFlowOptions, type PtTimeConfig, type PtxedPrintOptions,
} from '../../arch/x86/pt/flow/index.js';
import { type PtAddrFilter, type PtCpu, cpuErrata } from '../../arch/x86/pt/flow/errata.js';
import type { CorpusArchView } from '../export/corpus-arch.js';
import { imageStart } from '../gen/machine-info.js';
import { spaceLabel } from '../export/raw.js';

/** ptxed's flags (no value), with their help. */
const FLAGS: ReadonlyArray<[string, string]> = [
  ['insn-decoder', 'PT: use libipt\'s instruction flow decoder (as ptxed --insn-decoder)'],
  ['block-decoder', 'PT: use libipt\'s block decoder (the default, as ptxed)'],
  ['block:show-blocks', 'PT: show blocks in the output'],
  ['block:end-on-call', 'PT: blocks end after direct calls'],
  ['block:end-on-jump', 'PT: blocks end after direct jumps'],
  ['no-inst', 'PT: do not print instructions (only addresses)'],
  ['quiet', 'PT: do not print anything (except errors and statistics)'],
  ['offset', 'PT: print the offset into the trace file'],
  ['time', 'PT: print the current timestamp'],
  ['raw-insn', 'PT: print the raw bytes of each instruction'],
  ['att', 'PT: print instructions in AT&T syntax'],
  ['check', 'PT: perform checks (each instruction\'s length against a fresh decode)'],
  ['event:time', 'PT: print the tsc for events if available'],
  ['event:ip', 'PT: print the ip of events if available'],
  ['event:tick', 'PT: request tick events'],
  ['event:iflags', 'PT: report MODE.Exec\'s interrupt flag as events'],
  ['stat', 'PT: print statistics (even when quiet); all of them unless some are selected'],
  ['stat:insn', 'PT: collect the number of instructions'],
  ['stat:blocks', 'PT: collect the number of blocks'],
  ['resync-on-error', 'PT: after an error, continue at the next PSB (default: stop)'],
];

/** ptxed's options with a value (numbers as C reads them: 0x… hex, 0… octal, else decimal). */
const VALUES: ReadonlyArray<[string, string]> = [
  ['cpu', 'PT: none|auto|FAMILY/MODEL[/STEPPING] of the recording CPU: libipt\'s errata workarounds for it'],
  ['mtc-freq', 'PT: the MTC frequency (IA32_RTIT_CTL[17:14])'],
  ['nom-freq', 'PT: the nominal frequency (MSR_PLATFORM_INFO[15:8])'],
  ['cpuid-0x15.eax', 'PT: the value of cpuid[0x15].eax'],
  ['cpuid-0x15.ebx', 'PT: the value of cpuid[0x15].ebx'],
  ...[0, 1, 2, 3].flatMap((n): Array<[string, string]> => [
    [`filter:addr${n}_cfg`, `PT: IA32_RTIT_CTL.ADDR${n}_CFG`],
    [`filter:addr${n}_a`, `PT: IA32_RTIT_ADDR${n}_A`],
    [`filter:addr${n}_b`, `PT: IA32_RTIT_ADDR${n}_B`],
  ]),
];

/** ptxed's options, for `hwtrace decode --pt`. */
export function ptDecodeOptions(y: Argv): Argv {
  let out = y.parserConfiguration({ 'dot-notation': false, 'boolean-negation': false });
  out = out
    .option('raw', { type: 'string', array: true, describe: 'PT: code FILE[:FROM[-TO]]:BASE (ptxed --raw), repeatable' })
    .option('images', { type: 'string', describe: 'PT: images.txt from `hwtrace export --as raw` (file address cr3=…|- per line)' });
  for (const [name, describe] of VALUES) out = out.option(name, { type: 'string', describe });
  for (const [name, describe] of FLAGS) out = out.option(name, { type: 'boolean', describe, ...(name === 'quiet' ? { alias: 'q' } : {}) });
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

/** A number as C's strtoull(…, 0) reads it, whole, as a bigint (null when it is not one). */
function cNumber(text: string): bigint | null {
  const t = text.trim();
  if (/^0[xX][0-9a-fA-F]+$/.test(t) || /^[1-9][0-9]*$/.test(t) || t === '0') return BigInt(t);
  if (/^0[0-7]+$/.test(t)) return BigInt('0o' + t.slice(1));
  return null;
}

/** An option's number, at most `max`. */
function optionNumber(name: string, text: string, max: number): number {
  const v = cNumber(text);
  if (v === null || v > BigInt(max)) throw new UsageError(`--${name} ${text}: want a number from 0 to ${max} (0x… hex, 0… octal or decimal)`);
  return Number(v);
}

/** An option's 64-bit address (canonical). */
function optionAddr(name: string, text: string): number {
  const v = cNumber(text);
  if (v === null || v > 0xffffffffffffffffn) throw new UsageError(`--${name} ${text}: want a 64-bit address (0x… hex, 0… octal or decimal)`);
  const a = addrFromParts(Number(v >> 32n), Number(v & 0xffffffffn));
  if (Number.isNaN(a)) throw new UsageError(`--${name} ${text}: not a canonical address`);
  return a;
}

/** ptxed's `FILE[:FROM[-TO]]`: the file and its byte range (TO exclusive; the rest of the file without it). */
function fileRange(option: string, arg: string): { file: string; from?: number; to?: number } {
  const m = /^(.+):([^:-]+)(?:-([^:-]+))?$/.exec(arg);
  if (!m || existsSync(arg)) return { file: arg };
  const from = cNumber(m[2]!);
  const to = m[3] === undefined ? null : cNumber(m[3]);
  if (from === null || (m[3] !== undefined && to === null)) throw new UsageError(`--${option} ${arg}: bad file range ${m[2]}${m[3] === undefined ? '' : `-${m[3]}`}`);
  return { file: m[1]!, from: Number(from), ...(to === null ? {} : { to: Number(to) }) };
}

/** The bytes of `FILE[:FROM[-TO]]`. */
function readRange(option: string, arg: string, what: string): Uint8Array {
  const r = fileRange(option, arg);
  const bytes = readFile(r.file, what);
  if (r.from === undefined) return bytes;
  const to = r.to ?? bytes.length;
  if (!(r.from <= to && to <= bytes.length)) throw new UsageError(`--${option} ${arg}: range is outside ${r.file} (${bytes.length} bytes)`);
  return bytes.subarray(r.from, to);
}

/** ptxed's --raw: `file[:from[-to]]:base` (from/to: byte range of the file). */
export function addRawImage(image: PtImage, arg: string): void {
  const colon = arg.lastIndexOf(':');
  if (colon <= 0) throw new UsageError(`--raw ${arg}: want FILE[:FROM[-TO]]:BASE`);
  const baseText = arg.slice(colon + 1);
  const base = cNumber(baseText);
  if (base === null || base > 0xffffffffffffffffn) throw new UsageError(`--raw ${arg}: bad base address ${baseText}`);
  const vaddr = addrFromParts(Number(base >> 32n), Number(base & 0xffffffffn));
  if (Number.isNaN(vaddr)) throw new UsageError(`--raw ${arg}: ${baseText} is not a canonical address`);
  const spec = arg.slice(0, colon);
  image.add(readRange('raw', spec, 'image'), vaddr, Number.NaN, fileRange('raw', spec).file);
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

/** ptxed --cpu: none, auto (this machine, from /proc/cpuinfo) or FAMILY/MODEL[/STEPPING]. */
export function parseCpu(text: string): PtCpu | undefined {
  if (text === 'none') return undefined;
  if (text === 'auto') return thisCpu();
  const m = /^([^/]+)\/([^/]+)(?:\/([^/]+))?$/.exec(text);
  const parts = m ? [m[1]!, m[2]!, m[3]].map((p) => (p === undefined ? 0n : cNumber(p))) : [];
  if (!m || parts.some((p) => p === null) || parts[0]! > 0xffffn || parts[1]! > 0xffn || parts[2]! > 0xffn) {
    throw new UsageError(`--cpu ${text}: want none, auto or FAMILY/MODEL[/STEPPING]`);
  }
  return { family: Number(parts[0]), model: Number(parts[1]), stepping: Number(parts[2]) };
}

function thisCpu(): PtCpu {
  let info = '';
  try {
    info = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    throw new UsageError('--cpu auto: cannot read /proc/cpuinfo');
  }
  const field = (name: string): string | undefined => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(info)?.[1];
  if (field('vendor_id') !== 'GenuineIntel') throw new UsageError('--cpu auto: this is not an Intel CPU');
  return { family: Number(field('cpu family')), model: Number(field('model')), stepping: Number(field('stepping') ?? 0) };
}

/** The decoding options ptxed takes (what changes the flow, not the text). */
export function ptFlowOptions(argv: Record<string, unknown>): PtFlowOptions {
  const str = (name: string): string | undefined => (typeof argv[name] === 'string' ? (argv[name] as string) : undefined);
  const time: PtTimeConfig = {};
  const mtc = str('mtc-freq');
  if (mtc !== undefined) time.mtcFreq = optionNumber('mtc-freq', mtc, 0xf);
  const nom = str('nom-freq');
  if (nom !== undefined) time.nomFreq = optionNumber('nom-freq', nom, 0xff);
  const eax = str('cpuid-0x15.eax');
  if (eax !== undefined) time.cpuid15Eax = optionNumber('cpuid-0x15.eax', eax, 0xffffffff);
  const ebx = str('cpuid-0x15.ebx');
  if (ebx !== undefined) time.cpuid15Ebx = optionNumber('cpuid-0x15.ebx', ebx, 0xffffffff);
  const filter: PtAddrFilter = { cfg: [0, 0, 0, 0], a: [0, 0, 0, 0], b: [0, 0, 0, 0] };
  for (let n = 0; n < 4; n++) {
    const cfg = str(`filter:addr${n}_cfg`);
    if (cfg !== undefined) filter.cfg[n] = optionNumber(`filter:addr${n}_cfg`, cfg, 0xf);
    const a = str(`filter:addr${n}_a`);
    if (a !== undefined) filter.a[n] = optionAddr(`filter:addr${n}_a`, a);
    const b = str(`filter:addr${n}_b`);
    if (b !== undefined) filter.b[n] = optionAddr(`filter:addr${n}_b`, b);
  }
  const cpuText = str('cpu');
  const cpu = cpuText === undefined ? undefined : parseCpu(cpuText);
  if (cpu !== undefined && cpuErrata(cpu) === null) throw new UsageError(`--cpu ${cpuText}: libipt knows no errata for this CPU (family 6 only)`);
  return {
    resyncOnError: flag(argv, 'resync-on-error'),
    time,
    ...(cpu === undefined ? {} : { cpu }),
    filter,
    tick: flag(argv, 'event:tick'),
    iflags: flag(argv, 'event:iflags'),
    blockDecoder: !flag(argv, 'insn-decoder'),
  };
}

/** What ptxed prints, from its options. */
export function ptxedPrintOptions(argv: Record<string, unknown>): PtxedPrintOptions {
  if (flag(argv, 'insn-decoder') && flag(argv, 'block-decoder')) throw new UsageError('--insn-decoder and --block-decoder: choose one');
  return {
    disasm: !flag(argv, 'no-inst'),
    rawInsn: flag(argv, 'raw-insn'),
    att: flag(argv, 'att'),
    quiet: flag(argv, 'quiet'),
    eventIp: flag(argv, 'event:ip'),
    eventTime: flag(argv, 'event:time'),
    offset: flag(argv, 'offset'),
    time: flag(argv, 'time'),
    check: flag(argv, 'check'),
    blockDecoder: !flag(argv, 'insn-decoder'),
    showBlocks: flag(argv, 'block:show-blocks'),
    endOnCall: flag(argv, 'block:end-on-call'),
    endOnJump: flag(argv, 'block:end-on-jump'),
    stats: statFlags(argv) !== null,
  };
}

/** ptxed's statistics: null without --stat*, else which; --stat alone collects all there are. */
export function statFlags(argv: Record<string, unknown>): { insn: boolean; blocks: boolean } | null {
  const insn = flag(argv, 'stat:insn');
  const blocks = flag(argv, 'stat:blocks');
  if (insn || blocks) return { insn, blocks };
  if (!flag(argv, 'stat')) return null;
  return { insn: true, blocks: !flag(argv, 'insn-decoder') };
}

function stdoutWriter(): (s: string) => void {
  return (s) => {
    process.stdout.write(s);
  };
}

/** Decodes `trace` into ptxed's text on stdout; exit code 1 after errors. */
function printFlow(image: PtImage, trace: Uint8Array, argv: Record<string, unknown>, flowOptions: PtFlowOptions): void {
  const stats = statFlags(argv);
  const printer = new PtxedPrinter(image, stdoutWriter(), ptxedPrintOptions(argv));
  try {
    const dec = new PtFlowDecoder(image, printer, flowOptions);
    printer.attach(dec);
    dec.decode(trace);
    printer.finish();
    if (stats) printer.printStats(stats.insn, stats.blocks);
    printer.flush();
  } finally {
    printer.dispose();
  }
  if (printer.errors > 0) process.exitCode = 1;
}

export function runPtDecode(argv: Record<string, unknown>): void {
  const file = argv['pt'];
  if (typeof file !== 'string' || file === '') throw new UsageError('decode --pt needs a trace file');
  const flowOptions = ptFlowOptions(argv);
  ptxedPrintOptions(argv);
  const image = new PtImage();
  const raws = argv['raw'];
  for (const r of Array.isArray(raws) ? raws : raws === undefined ? [] : [raws]) addRawImage(image, String(r));
  if (typeof argv['images'] === 'string') addImageList(image, argv['images']);
  if (image.sections.length === 0) throw new UsageError('decode --pt needs code: --raw FILE:ADDR (or --images LIST)');
  const trace = readRange('pt', file, 'PT trace');
  printFlow(image, trace, argv, flowOptions);
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
  const contextOf = corpusContextOf(view);
  if (argv['format'] === 'json') {
    const options = { ...ptFlowOptions(argv), contextOf };
    const sink = new JsonRanges(stdoutWriter());
    new PtFlowDecoder(image, sink, options).decode(trace);
    sink.flush();
    if (sink.errors > 0) process.exitCode = 1;
    return;
  }
  printFlow(image, trace, argv, { ...ptFlowOptions(argv), contextOf });
}
