// `hwtrace dump --pt FILE`: lists Intel PT packets as libipt's ptdump does, with ptdump's
// options, so the two outputs can be diffed; `--format json` prints one object per packet or
// error; `--stats` prints only totals (bytes, packets, errors, counts by mnemonic, MB/s).
// Decode errors are listed where they occur and make the exit code 1.

import { openSync, closeSync, readFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import { HwtraceError, UsageError, type DecodeError } from '../../arch/common/errors.js';
import { fileChunks } from '../../arch/common/stream.js';
import {
  DEFAULT_PTDUMP_OPTIONS, PT_END, PT_ERROR, PtDumpListing, PtPacketDecoder, packetJson, ptStats,
  type PtDecoderOptions, type PtDumpOptions,
} from '../../arch/x86/index.js';

const BOOLEAN_OPTIONS: ReadonlyArray<[string, string]> = [
  ['no-sync', "don't search for the first PSB: decode from offset 0"],
  ['quiet', "don't print anything but errors"],
  ['no-pad', "don't show PAD packets"],
  ['no-timing', "don't show timing packets (tsc, tma, mtc, cyc, cbr)"],
  ['no-cyc', "don't show CYC packets and ignore them when tracking time"],
  ['no-offset', "don't show the offset as the first column"],
  ['raw', 'show the raw packet bytes'],
  ['lastip', 'show the last IP after each packet with an IP payload'],
  ['exec-mode', 'show the execution mode on mode.exec packets'],
  ['time', 'show the estimated TSC on timing packets'],
  ['tcal', 'show time calibration (fast-counter:cycles ratio) on timing packets'],
  ['time-delta', 'show --time / --tcal as deltas to the previous value'],
  ['no-tcal', 'skip time calibration (CYC then cannot be turned into time)'],
  ['no-wall-clock', 'print relative time before the first TSC instead of an error'],
  ['fixed-offset-width', 'print offsets as 16 hex digits'],
];

/** ptdump's options, for `hwtrace dump`. */
export function ptDumpOptions(y: Argv): Argv {
  // ptdump has both --tcal and --no-tcal, and dotted names like --cpuid-0x15.eax: take option
  // names literally instead of as negations and nested objects.
  let out = y.parserConfiguration({ 'boolean-negation': false, 'dot-notation': false });
  for (const [name, describe] of BOOLEAN_OPTIONS) out = out.option(name, { type: 'boolean', describe: `PT: ${describe}` });
  return out
    .option('cpu', { type: 'string', describe: 'PT: none | auto | FAMILY/MODEL[/STEPPING]: the CPU the trace was recorded on (errata)' })
    .option('mtc-freq', { type: 'string', describe: 'PT: MTC frequency, IA32_RTIT_CTL[17:14] (0-15)' })
    .option('nom-freq', { type: 'string', describe: 'PT: nominal frequency, MSR_PLATFORM_INFO[15:8] (0-255)' })
    .option('cpuid-0x15.eax', { type: 'string', describe: 'PT: CPUID[0x15].EAX, TSC:crystal clock denominator' })
    .option('cpuid-0x15.ebx', { type: 'string', describe: 'PT: CPUID[0x15].EBX, TSC:crystal clock numerator' });
}

function flag(argv: Record<string, unknown>, name: string): boolean {
  return argv[name] === true;
}

function integer(argv: Record<string, unknown>, name: string, max: number): number {
  const v = argv[name];
  if (v === undefined) return 0;
  const t = String(v).trim().toLowerCase();
  const n = /^0x[0-9a-f]+$/.test(t) ? Number.parseInt(t, 16) : /^[0-9]+$/.test(t) ? Number.parseInt(t, 10) : Number.NaN;
  if (!(n >= 0 && n <= max)) throw new UsageError(`--${name} ${String(v)}: want an integer 0..${max} (decimal or 0x hex)`);
  return n;
}

interface Cpu {
  family: number;
  model: number;
  stepping: number;
}

function readHostCpu(): Cpu {
  let text: string;
  try {
    text = readFileSync('/proc/cpuinfo', 'utf8');
  } catch (e) {
    throw new HwtraceError('bad_cpu', `--cpu auto: cannot read /proc/cpuinfo: ${(e as Error).message}`);
  }
  const field = (k: string): number => Number(new RegExp(`^${k}\\s*:\\s*(\\d+)`, 'm').exec(text)?.[1] ?? Number.NaN);
  const cpu = { family: field('cpu family'), model: field('model'), stepping: field('stepping') };
  if (!/GenuineIntel/.test(text) || Number.isNaN(cpu.family) || Number.isNaN(cpu.model)) {
    throw new HwtraceError('bad_cpu', '--cpu auto: this host is not an Intel CPU that /proc/cpuinfo describes');
  }
  return cpu;
}

function parseCpu(v: unknown): Cpu | undefined {
  if (v === undefined || v === 'none') return undefined;
  if (v === 'auto') return readHostCpu();
  const m = /^(\d+)\/(\d+)(?:\/(\d+))?$/.exec(String(v));
  if (!m) throw new UsageError(`--cpu ${String(v)}: want none, auto, or FAMILY/MODEL[/STEPPING] in decimal (e.g. 6/78)`);
  const cpu = { family: Number(m[1]), model: Number(m[2]), stepping: Number(m[3] ?? 0) };
  if (cpu.family > 0xffff || cpu.model > 0xff || cpu.stepping > 0xff) throw new UsageError(`--cpu ${String(v)}: family ≤ 65535, model and stepping ≤ 255`);
  return cpu;
}

/** SKL168 (CYC dropped right before PSB) affects Skylake and Kaby Lake clients. */
function hasSkl168(cpu: Cpu | undefined): boolean {
  return cpu !== undefined && cpu.family === 6 && [0x4e, 0x5e, 0x8e, 0x9e].includes(cpu.model);
}

/** The listing options from the command line; UsageError on a bad value. */
export function ptDumpListingOptions(argv: Record<string, unknown>): PtDumpOptions {
  if (flag(argv, 'time') && flag(argv, 'tcal')) throw new UsageError('specify either --time or --tcal, not both');
  const cpu = parseCpu(argv['cpu']);
  return {
    ...DEFAULT_PTDUMP_OPTIONS,
    offset: !flag(argv, 'no-offset'),
    fixedOffsetWidth: flag(argv, 'fixed-offset-width'),
    raw: flag(argv, 'raw'),
    lastIp: flag(argv, 'lastip'),
    execMode: flag(argv, 'exec-mode'),
    noPad: flag(argv, 'no-pad'),
    noTiming: flag(argv, 'no-timing'),
    noCyc: flag(argv, 'no-cyc'),
    time: flag(argv, 'time'),
    tcal: flag(argv, 'tcal'),
    timeDelta: flag(argv, 'time-delta'),
    noTcal: flag(argv, 'no-tcal'),
    noWallClock: flag(argv, 'no-wall-clock'),
    quiet: flag(argv, 'quiet'),
    timing: {
      mtcFreq: integer(argv, 'mtc-freq', 15),
      nomFreq: integer(argv, 'nom-freq', 255),
      cpuid15Eax: integer(argv, 'cpuid-0x15.eax', 0xffffffff),
      cpuid15Ebx: integer(argv, 'cpuid-0x15.ebx', 0xffffffff),
      skl168: hasSkl168(cpu),
    },
  };
}

/** Writes to stdout, waiting when the pipe is full. */
class Output {
  private parts: string[] = [];
  private size = 0;
  line(s: string): void {
    this.parts.push(s);
    this.size += s.length + 1;
  }
  get pending(): number {
    return this.size;
  }
  async flush(): Promise<void> {
    if (this.parts.length === 0) return;
    const text = this.parts.join('\n') + '\n';
    this.parts = [];
    this.size = 0;
    if (!process.stdout.write(text)) await new Promise<void>((resolve) => process.stdout.once('drain', () => resolve()));
  }
}

function errorJson(e: DecodeError): string {
  return JSON.stringify({ offset: e.offset, error: e.code, message: e.message });
}

function checkReadable(file: string): void {
  try {
    closeSync(openSync(file, 'r'));
  } catch (e) {
    throw new HwtraceError('bad_file', `cannot read PT trace ${file}: ${(e as Error).message}`);
  }
}

function* chunksOf(file: string): Generator<Uint8Array> {
  try {
    yield* fileChunks(file);
  } catch (e) {
    throw new HwtraceError('bad_file', `cannot read PT trace ${file}: ${(e as Error).message}`);
  }
}

async function runStats(file: string, decoderOptions: PtDecoderOptions, json: boolean, out: Output): Promise<number> {
  const t0 = process.hrtime.bigint();
  const s = ptStats(chunksOf(file), decoderOptions);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const mbPerSec = seconds > 0 ? s.bytes / 1e6 / seconds : 0;
  if (json) {
    out.line(JSON.stringify({ bytes: s.bytes, packets: s.packets, errors: s.errors, skippedBytes: s.skippedBytes, byType: s.byType, mbPerSec: Number(mbPerSec.toFixed(1)) }));
  } else {
    const rows: Array<[string, string]> = [
      ['bytes', String(s.bytes)], ['packets', String(s.packets)], ['errors', String(s.errors)],
      ['skipped bytes', String(s.skippedBytes)], ['MB/s', mbPerSec.toFixed(1)],
      ...Object.entries(s.byType).map(([k, v]): [string, string] => [k, String(v)]),
    ];
    for (const [k, v] of rows) out.line(`${k.padEnd(14)}${v.padStart(12)}`);
  }
  await out.flush();
  return s.errors;
}

async function runListing(file: string, decoderOptions: PtDecoderOptions, listing: PtDumpOptions, json: boolean, out: Output): Promise<number> {
  const dec = new PtPacketDecoder(decoderOptions);
  const text = new PtDumpListing(listing, (l) => out.line(l));
  const drain = (): boolean => {
    for (;;) {
      const t = dec.next();
      if (t >= 0) {
        if (json) {
          if (!listing.quiet) out.line(JSON.stringify(packetJson(dec.packet)));
        } else {
          text.packet(dec.packet, dec.packetBytes());
        }
      } else if (t === PT_ERROR) {
        if (json) out.line(errorJson(dec.error!));
        else text.error(dec.error!);
      } else {
        return t === PT_END;
      }
    }
  };
  for (const chunk of chunksOf(file)) {
    dec.push(chunk);
    const ended = drain();
    if (out.pending > 1 << 16) await out.flush();
    if (ended) break;
  }
  dec.end();
  drain();
  await out.flush();
  return dec.errors;
}

/** Runs `hwtrace dump --pt FILE ...` (argv as yargs parsed it). */
export async function runPtDump(argv: Record<string, unknown>): Promise<void> {
  const file = argv['pt'];
  if (typeof file !== 'string' || file === '') throw new UsageError('dump --pt needs a trace file');
  const listing = ptDumpListingOptions(argv);
  const format = argv['format'] ?? 'text';
  if (format !== 'text' && format !== 'json') throw new UsageError(`--format ${String(format)}: want text or json`);
  checkReadable(file);
  const decoderOptions: PtDecoderOptions = { noSync: flag(argv, 'no-sync') };
  const out = new Output();
  const errors = argv['stats'] === true
    ? await runStats(file, decoderOptions, format === 'json', out)
    : await runListing(file, decoderOptions, listing, format === 'json', out);
  if (errors > 0) process.exitCode = 1;
}
