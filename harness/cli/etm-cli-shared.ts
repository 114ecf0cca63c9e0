// Pieces the ETM `dump` and `decode` commands share: batched line output and the --id option.

import { UsageError } from '../../arch/common/errors.js';

/** Buffers output lines and writes them to stdout in large pieces. */
export class LineWriter {
  private parts: string[] = [];
  private size = 0;
  line(s: string): void {
    this.parts.push(s);
    this.size += s.length;
    if (this.size > 1 << 16) this.flush();
  }
  flush(): void {
    if (this.parts.length === 0) return;
    process.stdout.write(this.parts.join('\n') + '\n');
    this.parts = [];
    this.size = 0;
  }
}

/** `--id` as trc_pkt_lister takes it: hex (0x10) or decimal, 0..0x7f; undefined when not given. */
export function parseTraceId(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const t = String(v).trim().toLowerCase();
  const n = /^0x[0-9a-f]+$/.test(t) ? parseInt(t, 16) : /^[0-9]+$/.test(t) ? parseInt(t, 10) : NaN;
  if (!(n >= 0 && n <= 0x7f)) throw new UsageError(`--id ${String(v)}: a trace ID is 0..0x7f (hex like 0x10, or decimal)`);
  return n;
}
