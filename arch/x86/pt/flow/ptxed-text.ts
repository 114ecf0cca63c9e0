// ptxed's text (libipt 2.0.5's tool) for the PT flow decoder's output: one line per instruction
// (`[offset  ][time  ][? ]ip[  disassembly]`), events in brackets, errors as ptxed's diagnose()
// prints them (`[offset, ip: error: message]`, hex without leading zeros), statistics at the end.
// With `blockDecoder` it shows what ptxed shows with libipt's block decoder: instructions grouped
// into libipt's blocks (runs joined across direct jumps and calls, split at events and sections)
// for --block:show-blocks and --stat:blocks, the offset and time taken once per block.

import { formatAddr } from '../../../common/address.js';
import { X86Class } from '../../isa/classify.js';
import type { DecodeError } from '../../../common/errors.js';
import { ptxedEventText } from './event-text.js';
import { forEachInstruction } from './expand.js';
import type { PtImage } from './image.js';
import { type BlockOutput, LibiptBlocks } from './ptxed/blocks.js';
import { PtxedDisassembler } from './ptxed/disasm.js';
import { EV_ASYNC, EV_HAS_TIME, EV_STATUS_UPDATE, FlowEvent, type FlowSink } from './sink.js';

export interface PtxedPrintOptions {
  /** Disassemble each instruction after its address (ptxed's default; the CLI sets it unless --no-inst). */
  disasm?: boolean;
  /** --no-inst: addresses only (overrides `disasm`). */
  noInst?: boolean;
  /** --raw-insn: the instruction bytes before the disassembly. */
  rawInsn?: boolean;
  /** --att: AT&T syntax. */
  att?: boolean;
  /** --quiet: nothing but errors (and statistics). */
  quiet?: boolean;
  /** --event:ip: the IP of events that have one. */
  eventIp?: boolean;
  /** --event:time: the TSC of events that have one. */
  eventTime?: boolean;
  /** --offset: the trace offset before each instruction and inside each event. */
  offset?: boolean;
  /** --time: the time of the last event before each instruction. */
  time?: boolean;
  /** --check: check each instruction's length against a fresh decode. */
  check?: boolean;
  /** Show libipt's block decoder (ptxed's default) rather than its instruction decoder. */
  blockDecoder?: boolean;
  /** --block:show-blocks: a `[block]` line before each block. */
  showBlocks?: boolean;
  /** --block:end-on-call / --block:end-on-jump: blocks end after direct calls / jumps. */
  endOnCall?: boolean;
  endOnJump?: boolean;
  /** Statistics are collected (ptxed --stat*): `[block N]` then numbers the blocks. */
  stats?: boolean;
}

/** Where the decoder stands: libipt's decoder position and the time (PtFlowDecoder has both). */
export interface PtxedPosition {
  readonly offset: number;
  readonly clock: { readonly time: number };
  /** The address space (CR3, VMCS base; NaN: unknown) the decoder reads code in now. */
  readonly codeSpace?: { readonly cr3: number; readonly vmcs: number };
}

const FLUSH_AT = 1 << 16;
/** ptxed pads --raw-insn bytes to the longest instruction. */
const MAX_INSN = 15;

/** A 64-bit value in hex without leading zeros (printf's %PRIx64). */
export function hex(v: number): string {
  const s = formatAddr(v);
  let i = 0;
  while (i < 15 && s.charCodeAt(i) === 48) i++;
  return i === 0 ? s : s.slice(i);
}

export class PtxedPrinter implements FlowSink {
  instructions = 0;
  /** Straight-line runs reported by the decoder. */
  ranges = 0;
  errors = 0;
  private text = '';
  /** The time of the last event (ptxed's `time`, printed by --time). */
  private eventTime = 0;
  private position: PtxedPosition | null = null;
  private readonly disasm: PtxedDisassembler | null;
  private readonly printInsn: boolean;
  private readonly o: PtxedPrintOptions;
  /** Block decoder: libipt's blocks (runs tagged with their line prefix). */
  private readonly blockModel: LibiptBlocks | null;
  // forEachInstruction's callback state.
  private prefix = '';
  private section = 0;
  private bitness: 16 | 32 | 64 = 64;
  private readonly lineFn = (ip: number): void => {
    this.line(ip);
  };
  private readonly checkFn = (ip: number): void => {
    this.checkInstruction(ip);
  };
  // Instruction decoder: libipt's last pt_insn (the last run's last instruction; after a failed
  // decode none, with the IP that failed), which ptxed prints again when pt_insn_next fails
  // while tracing is disabled.
  private lastStart = Number.NaN;
  private lastCount = 0;
  private lastSection = 0;
  private lastBitness: 16 | 32 | 64 = 64;
  private lastSpeculative = false;
  private failedIp = Number.NaN;
  /** Where the last event line starts in `text` (-1: something else came after it). */
  private eventLineAt = -1;

  constructor(
    private readonly image: PtImage,
    private readonly write: (s: string) => void,
    options: PtxedPrintOptions = {},
  ) {
    this.o = options;
    this.printInsn = options.disasm === true && options.noInst !== true;
    this.disasm = this.printInsn || options.check ? new PtxedDisassembler(options.att === true) : null;
    // Quiet and without statistics or checks, blocks show nowhere: not formed.
    const blocksShow = !options.quiet || options.stats === true || options.check === true;
    this.blockModel = options.blockDecoder && blocksShow ? new LibiptBlocks(image, this.blockOutput(), options.endOnCall, options.endOnJump) : null;
  }

  /** Blocks as libipt's block decoder forms them (with `blockDecoder`; 0 otherwise). */
  get blocks(): number {
    return this.blockModel === null ? 0 : this.blockModel.blocks;
  }

  /** The decoder whose position and time the --offset / --time columns show. */
  attach(position: PtxedPosition): this {
    this.position = position;
    return this;
  }

  private offsetNow(): number {
    return this.position === null ? 0 : this.position.offset;
  }

  range(start: number, _end: number, count: number, _ctx: number, section: number, bitness: number, _time: number, speculative?: boolean): void {
    this.instructions += count;
    this.ranges++;
    this.eventLineAt = -1;
    const mode = bitness as 16 | 32 | 64;
    const prefix = this.linePrefix(speculative === true);
    const blocks = this.blockModel;
    if (this.o.blockDecoder !== true) {
      this.lastStart = start;
      this.lastCount = count;
      this.lastSection = section;
      this.lastBitness = mode;
      this.lastSpeculative = speculative === true;
    }
    if (blocks !== null) {
      blocks.add(start, count, section, mode, prefix);
    } else {
      if (this.o.check) this.walk(start, count, section, mode, prefix, this.checkFn);
      if (!this.o.quiet) this.walk(start, count, section, mode, prefix, this.lineFn);
    }
    if (this.text.length >= FLUSH_AT) this.flush();
  }

  event(kind: number, ip: number, value: number, extra?: number, flags = 0, time?: number): void {
    if (kind === FlowEvent.END_OF_TRACE) {
      // Not a libipt event but ptxed's own line: no columns, and the time stays.
      this.blockModel?.beforeEvent(false);
      if (!this.o.quiet) this.text += '[end of trace]\n';
      return;
    }
    const blocks = this.blockModel;
    if (blocks !== null) {
      // libipt walks to an event that waits for an IP or instruction without its block cache.
      blocks.beforeEvent(!(flags & EV_STATUS_UPDATE) && waitsForFlow(kind, flags));
      // libipt's block decoder ticks at the instruction that took the timing packet's branch,
      // the last of the block (its instruction decoder: at the next instruction).
      if (kind === FlowEvent.TICK && !Number.isNaN(ip) && !Number.isNaN(blocks.lastIp)) ip = blocks.lastIp;
    }
    this.eventTime = time ?? (this.position === null ? 0 : this.position.clock.time);
    if (this.o.quiet || flags & EV_STATUS_UPDATE) return;
    const s = ptxedEventText(kind, ip, value, this.o, extra, flags);
    if (s === null) return;
    let head = '';
    if (this.o.offset) head += `${formatAddr(this.offsetNow())}  `;
    if (this.o.eventTime && (time === undefined || flags & EV_HAS_TIME)) head += `${formatAddr(this.eventTime)}  `;
    this.eventLineAt = this.text.length;
    this.text += `[${head}${s}]\n`;
  }

  /** An error; `sync`: it came from (re)synchronising, libipt's pt_*_sync_forward (ptxed: `sync error`). */
  error(e: DecodeError & { ip: number; sync?: boolean; idle?: boolean; fetch?: boolean }): void {
    this.blockModel?.beforeEvent(false);
    this.errors++;
    // The event being reported when the next one failed to fetch: ptxed does not print it.
    if (e.fetch === true && this.eventLineAt >= 0) this.text = this.text.slice(0, this.eventLineAt);
    this.eventLineAt = -1;
    let ip = e.ip;
    if (this.o.blockDecoder !== true) ip = this.lastInstructionAt(e);
    this.text += `[${hex(e.offset)}, ${hex(Number.isNaN(ip) ? 0 : ip)}: ${e.sync === true ? 'sync error' : 'error'}: ${e.message}]\n`;
  }

  /**
   * ptxed with the instruction decoder names the IP of libipt's last instruction in an error
   * without one of its own (tracing disabled). An error from pt_insn_next while tracing is
   * disabled (`idle`) leaves that instruction in place, and ptxed prints and counts it again.
   * A failed decode leaves no instruction, only its IP. The error's IP.
   */
  private lastInstructionAt(e: { code: string; ip: number; idle?: boolean; sync?: boolean }): number {
    if (e.idle === true || (Number.isNaN(e.ip) && e.sync !== true)) {
      if (this.lastCount === 0) return this.failedIp;
      let last = Number.NaN;
      forEachInstruction(this.image, this.lastSection, this.lastBitness, this.lastStart, this.lastCount, (at) => {
        last = at;
      });
      if (e.idle !== true) return last;
      this.instructions++;
      if (!this.o.quiet) {
        this.prefix = this.linePrefix(this.lastSpeculative);
        this.section = this.lastSection;
        this.bitness = this.lastBitness;
        this.line(last);
      }
      return last;
    }
    if (e.code === 'nomap' || e.code === 'bad_insn') {
      this.lastCount = 0;
      this.failedIp = e.ip;
    }
    return e.ip;
  }

  /** The end of the trace: what is held back is printed. */
  finish(): void {
    this.blockModel?.finish();
  }

  /** ptxed's statistics lines (--stat, --stat:insn, --stat:blocks). */
  printStats(insn: boolean, blocks: boolean): void {
    if (insn) this.text += `insn: ${this.instructions}.\n`;
    if (blocks) this.text += `blocks:\t${this.blocks}.\n`;
  }

  /** Writes what is buffered (call finish() first at the end of the trace). */
  flush(): void {
    if (this.text.length === 0) return;
    this.write(this.text);
    this.text = '';
    this.eventLineAt = -1;
  }

  /** Frees the disassembler's WASM objects. */
  dispose(): void {
    this.disasm?.free();
  }

  // Lines -----------------------------------------------------------------------------------

  private walk(start: number, count: number, section: number, bitness: 16 | 32 | 64, prefix: string, fn: (ip: number) => void): void {
    this.prefix = prefix;
    this.section = section;
    this.bitness = bitness;
    forEachInstruction(this.image, section, bitness, start, count, fn);
  }

  private blockOutput(): BlockOutput {
    return {
      openBlock: (prefix) => {
        if (this.o.showBlocks && !this.o.quiet) this.text += this.o.stats ? `[block ${this.blockModel!.blocks.toString(16)}]\n` : '[block]\n';
        // ptxed takes the offset and time once per block.
        this.prefix = prefix;
      },
      instruction: (ip, section, bitness) => {
        this.section = section;
        this.bitness = bitness;
        if (this.o.check) this.checkInstruction(ip);
        if (!this.o.quiet) this.line(ip);
      },
    };
  }

  /** One instruction line. */
  private line(ip: number): void {
    this.text += this.printInsn ? this.prefix + formatAddr(ip) + this.instructionText(ip) + '\n' : this.prefix + formatAddr(ip) + '\n';
  }

  /** `[offset  ][time  ][? ]` for the instructions that follow. */
  private linePrefix(speculative: boolean): string {
    let p = '';
    if (this.o.offset) p += `${formatAddr(this.offsetNow())}  `;
    if (this.o.time) p += `${formatAddr(this.eventTime)}  `;
    if (speculative) p += '? ';
    return p;
  }

  /** What follows the address: [raw bytes] and the disassembly, as ptxed's xed_print_insn. */
  private instructionText(ip: number): string {
    const { text, bytes, off } = this.disassemble(ip);
    if (text === null) return ' [xed decode error: (2) GENERAL_ERROR]';
    let raw = '';
    if (this.o.rawInsn) {
      const n = this.disasm!.length;
      for (let k = 0; k < n; k++) raw += ' ' + bytes[off + k]!.toString(16).padStart(2, '0');
      raw += '   '.repeat(MAX_INSN - n);
    }
    return `${raw}  ${text}`;
  }

  /**
   * The instruction at `ip` of the current section, disassembled (sets disasm.length); where the
   * section's end cuts it, read on into the section after it, as the decoder walked it.
   */
  private disassemble(ip: number): { text: string | null; bytes: Uint8Array; off: number } {
    const s = this.image.sections[this.section]!;
    const off = ip - s.start;
    const text = this.disasm!.format(s.bytes, off, ip, this.bitness);
    if (text !== null || off + MAX_INSN <= s.bytes.length) return { text, bytes: s.bytes, off };
    const space = this.position?.codeSpace;
    const across = this.image.bytesAcross(this.section, ip, space?.cr3 ?? Number.NaN, space?.vmcs ?? Number.NaN);
    if (across === null) return { text, bytes: s.bytes, off };
    return { text: this.disasm!.formatOnce(across, ip, this.bitness), bytes: across, off: 0 };
  }

  /** --check: our length (the block cache's) must be what a fresh decode finds. */
  private checkInstruction(ip: number): void {
    const s = this.image.sections[this.section]!;
    const off = ip - s.start;
    const cache = this.image.cache(this.section, this.bitness);
    let ours = cache.length[off]!;
    if (cache.cls[off] === X86Class.TRUNCATED) {
      // Read on into the next section, as the decoder did.
      const space = this.position?.codeSpace;
      ours = this.image.joined(this.section, ip, space?.cr3 ?? Number.NaN, space?.vmcs ?? Number.NaN, this.bitness)?.length ?? ours;
    }
    const { text } = this.disassemble(ip);
    const offset = hex(this.offsetNow());
    if (text === null) this.text += `[${offset}, ${hex(ip)}: check error: invalid instruction]\n`;
    else if (this.disasm!.length !== ours) this.text += `[${offset}, ${hex(ip)}: check error: length ${ours}, decoded ${this.disasm!.length}]\n`;
  }
}

/**
 * Events libipt's block decoder walks to (from the last instruction that needed trace) without
 * its block cache: those bound to an IP or to an instruction of the flow. The others (CBR, TSC
 * ticks, enable, overflow, …) are taken where the block ended.
 */
function waitsForFlow(kind: number, flags: number): boolean {
  switch (kind) {
    case FlowEvent.DISABLED:
    case FlowEvent.INTERRUPT:
    case FlowEvent.PAGING:
    case FlowEvent.VMCS:
    case FlowEvent.EXEC_MODE:
    case FlowEvent.TSX:
    case FlowEvent.EXSTOP:
    case FlowEvent.MWAIT:
    case FlowEvent.PTWRITE:
      return true;
    default:
      return (flags & EV_ASYNC) !== 0;
  }
}

/** Counts only (ptxed --quiet --stat, the benchmark). */
export class CountingSink implements FlowSink {
  instructions = 0;
  ranges = 0;
  errors: Array<DecodeError & { ip: number }> = [];
  range(_s: number, _e: number, count: number): void {
    this.instructions += count;
    this.ranges++;
  }
  event(): void {}
  error(e: DecodeError & { ip: number }): void {
    this.errors.push(e);
  }
}
