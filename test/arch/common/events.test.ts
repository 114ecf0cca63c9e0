import t from 'tap';
import { Cause, type ClockConfig, type ExecSink, NullExecSink, XFER_NAMES, Xfer, counterAt, isFarTransfer } from '../../../arch/common/events.js';

t.test('Xfer kinds are stable, distinct numbers with names', async (t) => {
  // Stored in recordings: changing a value is a format change.
  t.same(Xfer, {
    COND_NOT_TAKEN: 1, COND_TAKEN: 2, JUMP: 3, CALL: 4, IND_JUMP: 5, IND_CALL: 6, RETURN: 7,
    SYSCALL: 8, SYSRET: 9, IRET: 10, HYPERCALL: 11, VM_ENTRY: 12,
  });
  t.equal(XFER_NAMES[Xfer.IND_CALL], 'ind_call');
  t.equal(XFER_NAMES[Xfer.RETURN], 'return');
  t.same(Cause, { TIMER_IRQ: 1, VM_EXIT: 2 });
});

t.test('far transfers are exactly the privilege/address-space changing kinds', async (t) => {
  const far = Object.values(Xfer).filter(isFarTransfer);
  t.same(far, [Xfer.SYSCALL, Xfer.SYSRET, Xfer.IRET, Xfer.HYPERCALL, Xfer.VM_ENTRY]);
});

t.test('counterAt converts core cycles to a counter, monotonic and exact on round ratios', async (t) => {
  const clock: ClockConfig = { coreHz: 3e9, tscHz: 2.4e9, crystalHz: 24e6, timerHz: 50e6, timeBase: 1000 };
  t.equal(counterAt(clock, clock.tscHz, 0), 1000);
  t.equal(counterAt(clock, clock.tscHz, 5), 1004);
  t.equal(counterAt(clock, clock.crystalHz, 125), 1001);
  t.equal(counterAt(clock, clock.timerHz, 3e9), 1000 + 50e6, 'one second of cycles is timerHz ticks');
  let prev = -1;
  for (let c = 0; c < 1e12; c = c * 3 + 7) {
    const v = counterAt(clock, clock.tscHz, c);
    if (v < prev) t.fail(`counter went backwards at cycle ${c}`);
    prev = v;
  }
  t.pass('monotonic');
});

t.test('NullExecSink implements every ExecSink method', async (t) => {
  const s: ExecSink = new NullExecSink();
  const methods = ['begin', 'block', 'branch', 'interrupt', 'contextSwitch', 'codeWrite', 'end'] as const;
  for (const m of methods) t.type(s[m], 'function', m);
  s.begin(0, 0x400000, 0);
  s.block(0x400000, 3, 0, 0);
  s.branch(Xfer.CALL, 0x400008, 0x40000d, 0x401000, 0, 4);
  s.interrupt(Cause.TIMER_IRQ, 0xec, 0x401000, -0x7f000000, 1, 9);
  s.contextSwitch(-0x7f000000, -0x7effffff, 2, 12);
  s.codeWrite(0x400000, 0x400004, 0, 0x500000, 16, 3, 13);
  s.end(0x401000, 20);
  t.pass('all calls accepted');
});

t.test('counterAt is exact far past 2^53 of cycle × hz', async (t) => {
  const clock = { coreHz: 3_000_000_000, tscHz: 2_400_000_000, crystalHz: 100_000_000, timerHz: 50_000_000, timeBase: 1000 };
  for (const cycle of [0, 1, 4, 5, 3_750_000_123, 7_700_000_001, 123_456_789_012_345]) {
    for (const hz of [clock.tscHz, clock.crystalHz, clock.timerHz, 2_399_999_999]) {
      const want = BigInt(clock.timeBase) + (BigInt(cycle) * BigInt(hz)) / BigInt(clock.coreHz);
      t.equal(BigInt(counterAt(clock, hz, cycle)), want, `cycle ${cycle} at ${hz} Hz`);
    }
  }
});
