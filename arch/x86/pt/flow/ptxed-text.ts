// ptxed-style text for the PT flow decoder's output: one 16-hex-digit IP per instruction,
// events in brackets, errors as `[offset, ip: error: message]`.

import { formatAddr } from '../../../common/address.js';
import type { DecodeError } from '../../../common/errors.js';
import { forEachInstruction } from './expand.js';
import type { PtImage } from './image.js';
import { ptxedEventText } from './event-text.js';
import type { FlowSink } from './sink.js';

export interface PtxedPrintOptions {
  /** --no-inst: no instruction lines. */
  noInst?: boolean;
  /** --quiet: nothing but errors. */
  quiet?: boolean;
  /** --event:ip: the IP of events that have one. */
  eventIp?: boolean;
}

const FLUSH_AT = 1 << 16;

export class PtxedPrinter implements FlowSink {
  instructions = 0;
  ranges = 0;
  errors = 0;
  private text = '';
  private readonly insnFn = (ip: number): void => {
    this.text += formatAddr(ip) + '\n';
  };

  constructor(
    private readonly image: PtImage,
    private readonly write: (s: string) => void,
    private readonly options: PtxedPrintOptions = {},
  ) {}

  range(start: number, _end: number, count: number, _ctx: number, section: number, bitness: number): void {
    this.instructions += count;
    this.ranges++;
    if (this.options.quiet || this.options.noInst) return;
    forEachInstruction(this.image, section, bitness as 16 | 32 | 64, start, count, this.insnFn);
    if (this.text.length >= FLUSH_AT) this.flush();
  }

  event(kind: number, ip: number, value: number): void {
    if (this.options.quiet) return;
    const s = ptxedEventText(kind, ip, value, this.options);
    if (s !== null) this.text += `[${s}]\n`;
  }

  error(e: DecodeError & { ip: number }): void {
    this.errors++;
    this.text += `[${formatAddr(e.offset)}, ${formatAddr(Number.isNaN(e.ip) ? 0 : e.ip)}: error: ${e.message}]\n`;
  }

  flush(): void {
    if (this.text.length === 0) return;
    this.write(this.text);
    this.text = '';
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
