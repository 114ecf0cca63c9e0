// The Intel PT instruction-flow decoder: packets (PtPacketDecoder) + memory (PtImage) → runs of
// executed instructions, events and errors, with libipt's semantics (reference §2):
//
// - The packet stream is read ahead to the next packet the flow must consume (TNT, TIP, TIP.PGE,
//   TIP.PGD, or a whole FUP…TIP asynchronous event); status and timing packets on the way are
//   applied as they come (PIP while tracing is disabled at once, while enabled at the next
//   MOV CR3; MODE.Exec at the next TIP/TIP.PGE; PSB+ initialises on the first sync, is checked
//   later). Error offsets are the offset of that next packet, as libipt's decoder position.
// - The walk goes from one control-flow instruction to the next through the block cache (one
//   lookup per straight-line run), pops TNT bits at conditional branches and compressed returns
//   (64-entry return stack), takes TIPs at indirect and far transfers, applies an asynchronous
//   event (interrupt, async disable) when the flow reaches the FUP's IP.
// - Events are reported where libipt 2.0.5 reports them (its insn decoder, checked with the
//   library): event packets read ahead are queued (event-queue.ts) and reported once the TNT bits
//   before them are used up; those with a FUP (MODE.TSX, EXSTOP, MWAIT, CFE) when the flow reaches
//   its IP; PTW after its PTWRITE; PIP after the next MOV CR3 / VM entry / far branch, VMCS after
//   the next VMPTRLD / VM entry / far branch; PIP and VMCS between FUP and TIP after the branch
//   (VMCS first); MODE.Exec at every TIP / TIP.PGE it binds to; PSB+ content as status updates.
//   The `cpu` option switches on the errata workarounds that act here (SKL014 with `filter`,
//   SKD022, APL11/SKD010 after OVF); `tick` adds libipt's tick events at branches.
// - Time (time.ts, libipt's pt_time): timing packets drive PtClock as they are read; ranges carry
//   the time libipt's query decoder preserved at its last query (latch at each TNT / TIP taken,
//   mark + latchMark for an event fetched once the TNT bits are used up); events carry the
//   running time at their packet. Timing packets libipt rejects are errors where its query fails.
// - An error is reported with the trace offset and IP; decoding stops, or with resyncOnError
//   starts over at the next PSB after the error. `offset` is libipt's decoder position (ptxed's
//   --offset column).

import { X86Class } from '../../isa/classify.js';
import { PT_END, PT_ERROR } from '../decoder.js';
import { PT_PSB } from '../opcodes.js';
import { flowErrorMessage } from './errors.js';
import { EV_ASYNC, EV_NR, FlowEvent } from './sink.js';
import { P_TNT, P_TIP, P_PGE, P_PGD, P_ASYNC, P_OVF, P_END, P_ERROR, P_BOUND, FAIL_GO_ON, FAIL_SYNC, FAIL_END, FAIL_IDLE, FAIL_FETCH } from './flow-core.js';
import { AGAIN, GO, PtFlowWalker, STOP } from './flow-walker.js';

export class PtFlowDecoder extends PtFlowWalker {
  /** Decodes a whole trace. */
  decode(trace: Uint8Array): void {
    this.trace = trace;
    this.syncErrorOff = 0;
    this.startAt(0);
    while (!this.done) {
      if (this.state === 'unsynced') this.sync();
      else if (this.enabled) this.walk();
      else this.waitEnable();
    }
    this.stats.fills = 0;
    for (const s of this.image.sections) for (const c of s.caches) if (c) this.stats.fills += c.fills;
  }

  /** Finds the next PSB and reads its PSB+. */
  protected sync(): void {
    this.resetFlow();
    // libipt starts a fresh query decoder at each sync: time and calibration too.
    this.clock.reset();
    this.broken = false;
    this.peek = 0;
    const pk = this.pk;
    for (;;) {
      const t = pk.next();
      if (t === PT_END) {
        this.finish();
        return;
      }
      if (t === PT_ERROR) {
        // Before a PSB is found nothing is decoded; the packet decoder resyncs by itself.
        continue;
      }
      if (t === PT_PSB) break;
    }
    this.syncOff = pk.packet.offset + this.base;
    if (!this.psbPlus(true)) return;
    if (this.peek !== P_OVF && this.peek !== P_ERROR) this.readAhead();
    // libipt processes the first pending event inside its sync: an error there ends decoding.
    // (Unless it holds an earlier event waiting for its instruction: then the walk meets the error.)
    if ((this.peek as number) === P_ERROR && this.eventError) {
      if (!this.holdsEvent()) this.fail(this.peekErrCode, this.peekErrOff, Number.NaN, this.peekErrMsg, FAIL_END);
    }
    // So does an error in the read-ahead after the PSB+ (a bad packet, a timing packet it rejects).
    // (With tracing disabled after PSB+ the sync itself succeeded: an error like any other.)
    else if ((this.peek as number) === P_ERROR) this.fail(this.peekErrCode, this.peekOff, Number.NaN, this.peekErrMsg, this.enabled ? FAIL_SYNC : FAIL_GO_ON);
  }

  /** Applies a resolved OVF (peek P_OVF) and reads on. */
  protected takeOverflow(): void {
    const resume = this.peekIp;
    this.queryIp = Number.NaN;
    this.deliver(Number.NaN);
    this.emit(FlowEvent.OVERFLOW, resume, 0, Number.NaN, 0);
    this.speculative = false;
    if (Number.isNaN(resume)) {
      this.enabled = false;
      this.resumeIp = Number.NaN;
      this.go('OVERFLOW_DISABLED');
    } else {
      this.enabled = true;
      this.ip = resume;
      this.go('RESUME');
    }
    this.readAhead();
  }

  // Tracing disabled --------------------------------------------------------------------------

  protected waitEnable(): void {
    if (this.queue.length !== 0) this.deliver(Number.NaN);
    switch (this.peek) {
      case P_PGE: {
        // libipt fetches the enable and reads on past it: if that fails, no enable is reported.
        const bad = this.readAheadError(this.peekEnd);
        if (bad >= 0) {
          this.fail(this.scanCode, bad, Number.NaN, flowErrorMessage(this.scanCode), FAIL_FETCH);
          return;
        }
        const ip = this.peekIp;
        this.ip = ip;
        this.enabled = true;
        this.go('ENABLE');
        // libipt's `resumed`: tracing goes on where it stopped. It takes the TIP.PGE with the
        // last event bound to it (the MODE.Exec, when there is one).
        const end = this.skipTiming(this.peekEnd);
        this.eventOff = this.pendingMode !== 0 ? this.peekOff : end;
        this.emit(ip === this.resumeIp ? FlowEvent.RESUMED : FlowEvent.ENABLED, ip, 0, Number.NaN, 0);
        this.eventOff = end;
        this.takeMode(ip);
        this.eventOff = -1;
        this.readAhead();
        return;
      }
      case P_OVF:
        this.takeOverflow();
        return;
      case P_END:
        this.finish();
        return;
      case P_ERROR: {
        // A PSB+ with a FUP while disabled: libipt's instruction decoder wants an enable (idle).
        const how = this.peekErrCode === 'no_enable' ? FAIL_IDLE : this.eventError ? FAIL_FETCH : FAIL_GO_ON;
        this.fail(this.peekErrCode, this.eventError ? this.peekErrOff : this.peekOff, Number.NaN, this.peekErrMsg, how);
        return;
      }
      case P_ASYNC:
      case P_PGD: {
        // A FUP + TIP or a TIP.PGD while disabled: libipt takes it, reads on, and wants an
        // enable, unless the trace ends there.
        const at = this.skipTiming(this.peekEnd);
        if (at >= this.trace.length) this.finish();
        else this.fail('no_enable', at, Number.NaN, flowErrorMessage('no_enable'), FAIL_IDLE);
        return;
      }
      default:
        // A MODE.Exec waits for the enable: libipt's query for it meets the TIP or TNT instead.
        if (this.pendingMode !== 0 && (this.peek === P_TNT || this.peek === P_TIP)) this.fail('bad_query', this.peekOff, Number.NaN);
        else this.fail('no_enable', this.peekOff, Number.NaN, flowErrorMessage('no_enable'), FAIL_IDLE);
    }
  }

  /** tntBit taking a new TNT packet. */
  protected override tntBitSlow(at: number, next: number): number {
    if (this.peek !== P_TNT) return -1;
    if (this.peekBad) {
      this.fail(this.peekErrCode, this.peekOff, at, this.peekErrMsg);
      return -3;
    }
    this.queryIp = at;
    this.tntLo = this.peekLo;
    this.tntHi = this.peekHi;
    this.tntCount = this.peekBits;
    // libipt's time for the bits of this packet is the time at the packet, before the
    // packets after it; its tick comes after the query, which a read-ahead error fails.
    const tick = this.tick && this.tickDue(this.clockNow());
    const time = this.clockNow();
    this.readAhead();
    if (this.broken) return -3;
    // libipt's query reads ahead after the TNT and keeps a truncated last packet (pte_eos) for
    // the next query: these bits are still used.
    if ((this.peek as number) === P_ERROR && !this.eventError && this.peekErrCode !== 'eos') return -2;
    if (tick) this.emitTick(next, time);
    const n = --this.tntCount;
    if (n === 0) this.tntEmptied(at);
    return n >= 32 ? (this.tntHi >>> (n - 32)) & 1 : (this.tntLo >>> n) & 1;
  }

  /**
   * Before the run at `ip` with the TNT cache empty: queued events due here, and what `peek`
   * says happens here. GO: walk the run; AGAIN: continue at this.ip; STOP: the walk stops.
   */
  protected override beforeRun(ip: number): number {
    if (this.queue.length !== 0) {
      this.deliver(ip);
      if (this.broken) return STOP;
    }
    const peek = this.peek;
    if ((peek === P_ASYNC || peek === P_BOUND) && ip === this.asyncFrom) {
      this.ip = ip;
      if (peek === P_ASYNC) {
        this.takeAsync();
        return STOP;
      }
      if (this.statusErrorOff >= 0) {
        const off = this.statusErrorOff;
        this.statusErrorOff = -1;
        this.fail('bad_status_update', off, Number.isNaN(this.queryIp) ? ip : this.queryIp);
        return STOP;
      }
      this.readAhead();
      return AGAIN;
    }
    if (peek === P_OVF && !this.holdsEvent()) {
      this.takeOverflow();
      return STOP;
    }
    if (peek === P_END && this.queue.length === 0) {
      // libipt reports the end of the trace as soon as its TNT bits and events are used up.
      this.emit(FlowEvent.END_OF_TRACE, ip, 0, Number.NaN, 0);
      this.finish();
      return STOP;
    }
    if (peek === P_ERROR && this.eventError && !this.holdsEvent()) {
      // libipt fetches the event after the instruction that took the last packet: the error names that one.
      // (Not while it holds an earlier event waiting for its instruction or IP.)
      this.fail(this.peekErrCode, this.peekErrOff, Number.isNaN(this.queryIp) ? ip : this.queryIp, this.peekErrMsg, FAIL_FETCH);
      return STOP;
    }
    if (peek === P_PGE && this.queue.length === 0) {
      // An enable while tracing: libipt's bad_context when it takes the event.
      this.fail('bad_context', this.enableErrorOffset(), this.queryIp);
      return STOP;
    }
    return GO;
  }

  /**
   * Takes the TIP (or TIP.PGD) of an indirect or far transfer at `at` (the next instruction at
   * `next`; `resume`: where flow would resume if tracing stops here; `far`: a far transfer);
   * false when the walk stops.
   */
  protected override indirect(at: number, next: number, resume: number, far = false): boolean {
    for (;;) {
      const peek = this.peek;
      if ((peek === P_TIP || (peek === P_TNT && this.tntCount === 0)) && this.peekBad) {
        this.fail(this.peekErrCode, this.peekOff, at, this.peekErrMsg);
        return false;
      }
      if (peek === P_TIP) {
        if (Number.isNaN(this.peekIp)) {
          this.takeMode(Number.NaN);
          // libipt has read the TIP: it stands after it.
          this.fail('noip', this.peekEnd, at);
          return false;
        }
        const time = this.clockNow();
        this.queryIp = at;
        this.ip = this.peekIp;
        this.takeMode(this.ip);
        this.readAhead();
        if (this.broken) return false;
        if ((this.peek as number) === P_ERROR && this.peekErrCode !== 'eos') {
          this.fail(this.peekErrCode, this.peekOff, at, this.peekErrMsg);
          return false;
        }
        if (this.tick) this.tickAt(next, time);
        return true;
      }
      // An IP-less TIP.PGD binds to far transfers only (libipt); at a near one it is a mismatch.
      if (this.tntCount === 0 && peek === P_PGD && (far || !Number.isNaN(this.peekIp))) {
        this.disable(this.peekIp, resume);
        this.readAhead();
        return false;
      }
      if (this.tntCount === 0 && peek === P_TNT) {
        // libipt's indirect query takes a TNT into the empty cache and looks on for the TIP.
        this.queryIp = at;
        this.tntLo = this.peekLo;
        this.tntHi = this.peekHi;
        this.tntCount = this.peekBits;
        this.readAhead();
        if (this.broken) return false;
        if ((this.peek as number) === P_ERROR && this.peekErrCode !== 'eos') {
          this.fail(this.peekErrCode, this.peekOff, at, this.peekErrMsg);
          return false;
        }
        if (this.aheadEventOff >= 0) {
          // An event packet (PIP, MODE, PSB+) before the TIP: that query does not match.
          this.fail('bad_query', this.aheadEventOff, at);
          return false;
        }
        continue;
      }
      if (this.tntCount === 0 && peek === P_PGE && this.queue.length === 0) {
        this.fail('bad_context', this.enableErrorOffset(), this.queryIp);
        return false;
      }
      this.failQuery(at, true);
      return false;
    }
  }

  /**
   * The flow reached the FUP of an asynchronous event: events bound to that IP (a TSX abort, a
   * CFE), then the branch to the TIP's target (libipt's order: the branch, VMCS, paging, mode)
   * or the disable. SKD022: an asynchronous disable at VMLAUNCH/VMRESUME is a disable after it.
   */
  protected takeAsync(): void {
    const to = this.peekIp;
    const from = this.asyncFrom;
    this.asyncFrom = Number.NaN;
    if (this.queue.length !== 0) this.deliver(from);
    if (this.asyncDisable) {
      if (this.errata.skd022 && this.vmEntryAt(from)) return;
      // A MODE.Exec from before the FUP binds to the TIP.PGD: libipt reports it first.
      this.takeMode(to);
      this.enabled = false;
      this.resumeIp = from;
      this.go('DISABLE');
      this.emit(FlowEvent.DISABLED, from, 0, to, EV_ASYNC);
      this.asyncEffects(to);
      this.pendingMode = this.asyncMode !== 0 ? this.asyncMode : this.pendingMode;
      this.readAhead();
      return;
    }
    this.emit(FlowEvent.INTERRUPT, from, 0, to, 0);
    this.asyncEffects(to);
    if (this.asyncMode !== 0) this.pendingMode = this.asyncMode;
    this.takeMode(to);
    if (Number.isNaN(to)) {
      this.fail('noip', this.peekOff, from);
      return;
    }
    this.ip = to;
    this.readAhead();
  }

  /** VMCS and PIP read between the FUP and the TIP: asynchronous events at `to`. */
  protected asyncEffects(to: number): void {
    if (!Number.isNaN(this.asyncVmcs)) {
      this.apply(FlowEvent.VMCS, this.asyncVmcs, 0);
      this.emit(FlowEvent.VMCS, to, this.asyncVmcs, Number.NaN, EV_ASYNC);
      this.asyncVmcs = Number.NaN;
    }
    if (!Number.isNaN(this.asyncCr3)) {
      const flags = EV_ASYNC | (this.asyncNr ? EV_NR : 0);
      this.apply(FlowEvent.PAGING, this.asyncCr3, flags);
      this.emit(FlowEvent.PAGING, to, this.asyncCr3, Number.NaN, flags);
      this.asyncCr3 = Number.NaN;
    }
  }

  /** SKD022: the instruction at `ip` is a VM entry: it runs, then tracing is disabled (true). */
  protected vmEntryAt(ip: number): boolean {
    if (!(ip >= this.secStart && ip < this.secEnd) && !this.enterSection(ip)) return true;
    const off = ip - this.secStart;
    const cache = this.cache!;
    if (cache.runCount[off] === 0) cache.fill(off);
    if (cache.cls[off] !== X86Class.VM_ENTRY) return false;
    const next = ip + cache.length[off]!;
    this.sink.range(ip, next, 1, this.ctx, this.secIndex, this.bitness, this.clock.queryTime, this.speculative);
    this.stats.instructions++;
    this.stats.ranges++;
    this.disable(Number.NaN, Number.NaN);
    this.asyncEffects(Number.NaN);
    this.readAhead();
    return true;
  }
}
