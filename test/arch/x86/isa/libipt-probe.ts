// Asks libipt 2.0.5 (through `pt-libipt insn`) what it makes of many byte strings at once, and
// predicts the same observation from our length decoder, so a test can compare the two.
//
// Each case gets a slot of its own: a 32-byte image section (the case's bytes, then NOPs) with
// unmapped space after it, and a trace segment `psb; mode M; psbend; pge SLOT; …`. libipt decodes
// the slot's first instruction, then the next one, and stops with an error at the latest where
// the NOPs run out; --resync-on-error takes it to the next segment. What it printed after the
// slot's first IP tells its length and class:
//   trace 'tip': `pge SLOT; tip T; tnt .`   trace 'tnt': `pge SLOT; tnt .; tnt .`
//   - an ordinary instruction: the next IP is SLOT + length (both traces);
//   - Jcc/LOOP/JrCXZ: an error at SLOT ('tip': the TIP does not answer a TNT query), SLOT + length
//     ('tnt': not taken);
//   - a direct JMP/CALL: the next IP is its target, or an error there (both);
//   - RET: T ('tip'), a bad compressed return ('tnt');
//   - indirect and far transfers: T ('tip'), an error at SLOT ('tnt');
//   - bytes libipt cannot decode: an error at SLOT before any IP.
// The packet after the last one a case may use (the final `tnt .`) keeps libipt from reading on
// into the next segment. A slot whose segment is lost anyway (a branch into another slot that uses
// the trace) is run again in a later batch.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X86Class } from '../../../../arch/x86/isa/classes.js';
import { X86Ild } from '../../../../arch/x86/isa/ild.js';
import { trace } from '../pt/flow/events-helper.js';

export type Bitness = 16 | 32 | 64;
export type ProbeTrace = 'tip' | 'tnt';

export interface ProbeCase {
  bytes: Uint8Array;
  bitness: Bitness;
  /** The section holds the bytes only, no NOPs after them: the bytes end at unmapped memory. */
  exact?: boolean;
}

const SLOT_SIZE = 32;
const SLOT_STRIDE = 0x40;
const SLOT_BASE = 0x100000;
/** The TIP target: a few NOPs, far from the slots. */
const TIP_TARGET = 0x40000000;
const NOP = 0x90;
const MSG_NOMAP = 'no memory mapped at this address';
const MSG_QUERY = 'trace stream does not match query';
const MSG_BAD = 'unknown instruction';

function hex(n: number): string {
  return n.toString(16);
}

/** The slot's image: the case's bytes, then NOPs. */
export function slotBytes(c: ProbeCase): Uint8Array {
  if (c.exact) return c.bytes.subarray(0, SLOT_SIZE);
  const img = new Uint8Array(SLOT_SIZE).fill(NOP);
  img.set(c.bytes.subarray(0, SLOT_SIZE), 0);
  return img;
}

/** libipt's observations for `cases` (same order), through the trace kind `kind`. */
export function probeLibipt(tool: string, cases: readonly ProbeCase[], kind: ProbeTrace, batch = 3000): string[] {
  const out: string[] = new Array<string>(cases.length).fill('');
  let todo = cases.map((_, i) => i);
  for (let round = 0; todo.length > 0 && round < 4; round++) {
    // A segment is lost when the slot before it took the trace (a branch into another slot):
    // the retries run without that neighbour, the last one a case at a time.
    const size = round < 3 ? batch : 1;
    const missed: number[] = [];
    for (let from = 0; from < todo.length; from += size) {
      const part = todo.slice(from, from + size);
      const got = runBatch(tool, part.map((i) => cases[i]!), kind);
      part.forEach((i, k) => {
        if (got[k] === undefined) missed.push(i);
        else out[i] = got[k]!;
      });
    }
    todo = missed;
  }
  if (todo.length > 0) throw new Error(`libipt probe: no answer for ${todo.length} cases`);
  return out;
}

function runBatch(tool: string, cases: readonly ProbeCase[], kind: ProbeTrace): Array<string | undefined> {
  const dir = mkdtempSync(join(tmpdir(), 'hwtrace-ild-'));
  try {
    const image = new Uint8Array((cases.length + 1) * SLOT_SIZE);
    const args = ['insn', '--pt', join(dir, 't.pt'), '--resync-on-error'];
    const img = join(dir, 'slots.bin');
    let text = '';
    cases.forEach((c, i) => {
      const bytes = slotBytes(c);
      image.set(bytes, i * SLOT_SIZE);
      const at = SLOT_BASE + i * SLOT_STRIDE;
      args.push('--raw', `${img}:${i * SLOT_SIZE}-${i * SLOT_SIZE + bytes.length}:0x${hex(at)}`);
      text += `psb; mode ${c.bitness}; psbend; pge ${at}; ${kind === 'tip' ? `tip ${TIP_TARGET}` : 'tnt .'}; tnt .;`;
    });
    image.fill(NOP, cases.length * SLOT_SIZE);
    args.push('--raw', `${img}:${cases.length * SLOT_SIZE}-${(cases.length + 1) * SLOT_SIZE}:0x${hex(TIP_TARGET)}`);
    writeFileSync(img, image);
    writeFileSync(join(dir, 't.pt'), trace(text));
    // A direct jump to itself (eb fe) runs forever without trace: libipt is stopped when its output
    // outgrows the buffer, and what it printed until then still counts.
    const r = spawnSync(tool, args, { encoding: 'utf8', maxBuffer: 1 << 23 });
    const overflow = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOBUFS';
    if (r.error && !overflow) throw r.error;
    if (!overflow && r.status !== 0 && r.status !== 1) throw new Error(`${tool} insn: exit ${r.status}: ${r.stderr}`);
    return parse(r.stdout, cases.length);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Per slot: `ip X` (the second IP printed), `err X: message` (an error at X), `bad: message` (no IP at all). */
function parse(stdout: string, n: number): Array<string | undefined> {
  const res: Array<string | undefined> = new Array<string | undefined>(n).fill(undefined);
  const lines = stdout.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i]!.startsWith('[enabled')) continue;
    const first = lines[i + 1] ?? '';
    const second = lines[i + 2] ?? '';
    const err = /^\[[0-9a-f]+, ([0-9a-f]+): error: (.*)\]$/;
    const e1 = err.exec(first);
    const slotOf = (ip: number): number => {
      const k = (ip - SLOT_BASE) / SLOT_STRIDE;
      return Number.isInteger(k) && k >= 0 && k < n ? k : -1;
    };
    if (e1) {
      const k = slotOf(parseInt(e1[1]!, 16));
      if (k >= 0) res[k] = `bad: ${e1[2]}`;
      continue;
    }
    if (!/^[0-9a-f]{16}$/.test(first)) continue;
    const k = slotOf(parseInt(first, 16));
    if (k < 0) continue;
    const e2 = err.exec(second);
    if (e2) {
      // Unmapped memory where it went (the section ended, or a branch target): where counts.
      const d = relative(e2[1]!, k);
      res[k] = e2[2] === MSG_NOMAP ? `ip ${d}` : `err ${d}: ${e2[2]}`;
    } else if (/^[0-9a-f]{16}$/.test(second)) {
      res[k] = `ip ${relative(second, k)}`;
    }
  }
  return res;
}

/** An IP (hex) relative to the slot (`+3`, `-ff`), or T for the TIP target. */
function relative(ipHex: string, slot: number): string {
  const ip = BigInt('0x' + ipHex);
  if (ip === BigInt(TIP_TARGET)) return 'T';
  const d = BigInt.asIntN(64, ip - BigInt(SLOT_BASE + slot * SLOT_STRIDE));
  return d < 0n ? `-${(-d).toString(16)}` : `+${d.toString(16)}`;
}


/**
 * What libipt should print for the case, by our decoder (see the file comment). Where the bytes
 * end inside an instruction with nothing mapped after them, libipt reports bad_insn.
 */
export function predict(ild: X86Ild, c: ProbeCase, kind: ProbeTrace): string {
  const bytes = slotBytes(c);
  const cls = ild.decode(bytes, 0, c.bitness);
  if (cls === X86Class.INVALID || cls === X86Class.TRUNCATED) return `bad: ${MSG_BAD}`;
  // Falling through, libipt decodes the next instruction before it prints this one's successor.
  const len = ild.length;
  const after = len < bytes.length ? ild.decode(bytes, len, c.bitness) : X86Class.OTHER;
  const next = after === X86Class.INVALID || after === X86Class.TRUNCATED ? `err +${hex(len)}: ${MSG_BAD}` : `ip +${hex(len)}`;
  ild.decode(bytes, 0, c.bitness);
  switch (cls) {
    case X86Class.OTHER: case X86Class.PTWRITE: case X86Class.MOV_CR3:
      return next;
    case X86Class.COND_JUMP:
      return kind === 'tip' ? `err +0: ${MSG_QUERY}` : next;
    case X86Class.JUMP: case X86Class.CALL: {
      const d = ild.length + ild.displacement;
      return `to ${d < 0 ? `-${hex(-d)}` : `+${hex(d)}`}`;
    }
    case X86Class.RETURN:
      return kind === 'tip' ? 'ip T' : 'err +0: bad compressed return';
    default:
      return kind === 'tip' ? 'ip T' : `err +0: ${MSG_QUERY}`;
  }
}

/**
 * True when libipt's observation is the predicted one. A direct branch (`to X`) matches whatever
 * libipt printed at its target: the next IP, or an error there (the target may be unmapped, or
 * inside another slot's bytes).
 */
export function matches(predicted: string, libipt: string): boolean {
  if (!predicted.startsWith('to ')) return predicted === libipt;
  const at = predicted.slice(3);
  return libipt === `ip ${at}` || libipt.startsWith(`err ${at}: `);
}
