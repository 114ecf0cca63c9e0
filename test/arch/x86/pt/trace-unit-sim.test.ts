// The PT trace unit driven by the simulator (no reference decoder needed): the packets decode
// without error, every PSB is reported to the truth at its offset, and the control-flow packets
// account for every branch the executor reports — one TNT bit per conditional branch, one TIP
// per indirect branch, return, far transfer and interrupt (returns may be TNT bits instead).

import t from 'tap';
import type { DecodeError } from '../../../../arch/common/errors.js';
import { type SyncSink, Xfer } from '../../../../arch/common/events.js';
import { MemorySink } from '../../../../arch/common/stream.js';
import { PT_FUP, PT_PIP, PT_PSB, PT_PSBEND, PT_TIP, PT_TNT_8 } from '../../../../arch/x86/pt/opcodes.js';
import { PtPacket } from '../../../../arch/x86/pt/packet.js';
import { decodeAll } from '../../../../arch/x86/pt/run.js';
import type { PtTraceOptions } from '../../../../arch/x86/pt/trace-config.js';
import { PtTraceUnit } from '../../../../arch/x86/pt/trace-unit.js';
import { Executor } from '../../../../sim/exec/executor.js';
import { buildMachine } from '../../../../sim/machine.js';
import { buildWorkload } from '../../../../sim/workloads/index.js';

function popcount(v: number): number {
  let n = 0;
  for (; v; v &= v - 1) n++;
  return n;
}

class Offsets implements SyncSink {
  list: number[] = [];
  sync(_stream: number, offset: number): void {
    this.list.push(offset);
  }
}

const CONFIGS: Record<string, PtTraceOptions> = {
  plain: {},
  noretc: { disRetc: true },
  timing: { tscEn: true, tscPeriod: 30_000, mtcEn: true, mtcFreq: 0, cycEn: true, psbFreq: 2048 },
};

for (const workload of ['static', 'multiproc'] as const) {
  for (const [name, options] of Object.entries(CONFIGS)) {
    t.test(`${workload} ${name}: packets account for every branch`, async (t) => {
      const m = buildMachine(buildWorkload({ workload }, 11), 'x86');
      const out = new MemorySink();
      const syncs = new Offsets();
      const unit = new PtTraceUnit(m, options, out, syncs);
      const ex = new Executor(m, { sink: unit, limit: 300_000 });
      ex.run();
      ex.finish();
      unit.finish();
      const bytes = out.bytes();
      t.equal(unit.bytes, bytes.length);

      let bits = 0;
      let ones = 0;
      let tips = 0;
      let fups = 0;
      let pips = 0;
      let inPsb = false;
      const psbs: number[] = [];
      const errors: DecodeError[] = [];
      for (const x of decodeAll(bytes)) {
        if (!(x instanceof PtPacket)) {
          errors.push(x);
          continue;
        }
        if (x.type === PT_PSB) {
          inPsb = true;
          psbs.push(x.offset);
        } else if (x.type === PT_PSBEND) inPsb = false;
        else if (inPsb) continue;
        else if (x.type === PT_TNT_8) {
          bits += x.bits;
          ones += popcount(x.lo);
        } else if (x.type === PT_TIP) tips++;
        else if (x.type === PT_FUP) fups++;
        else if (x.type === PT_PIP) pips++;
      }
      t.same(errors, [], 'no decode errors');
      t.same(syncs.list, psbs, `all ${psbs.length} PSBs reported at their offsets`);
      t.equal(unit.psbCount, psbs.length);

      const s = ex.stats;
      const n = (k: number): number => s.branches[k] ?? 0;
      const cond = n(Xfer.COND_TAKEN) + n(Xfer.COND_NOT_TAKEN);
      const indirect = n(Xfer.IND_JUMP) + n(Xfer.IND_CALL) + n(Xfer.SYSCALL) + n(Xfer.SYSRET) + n(Xfer.IRET) + s.interrupts;
      const compressed = bits - cond;
      t.equal(fups, s.interrupts + 1, 'a FUP per interrupt, and one at the end');
      t.equal(pips, s.contextSwitches, 'a PIP per MOV CR3');
      t.equal(tips + compressed, indirect + n(Xfer.RETURN), 'every return is a TIP or a TNT bit');
      t.equal(ones - compressed, n(Xfer.COND_TAKEN), 'taken bits: taken branches plus compressed returns');
      if (options.disRetc) t.equal(compressed, 0, 'DisRETC: no compressed returns');
      else t.ok(compressed > n(Xfer.RETURN) / 2, `${compressed} of ${n(Xfer.RETURN)} returns compressed`);
      t.ok(bytes.length / 300_000 < 0.3, `${(bytes.length / 300_000).toFixed(3)} bytes per instruction`);
    });
  }
}
