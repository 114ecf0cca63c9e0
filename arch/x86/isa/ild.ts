// x86 instruction lengths and classes exactly as libipt 2.0.5 decodes them. libipt's instruction
// length decoder (pt_ild, built from XED's length tables) is a pure length decoder: it gives a
// length to opcodes that are invalid in the current mode (06, 9a, d4 in 64-bit mode …), to
// undefined 0F opcodes and to register-only forms given a memory ModRM, and it has lengths of its
// own for a few valid ones (UD0/UD1: 2 bytes). An Intel PT decoder that must equal libipt on
// corrupted traces (which land in data and mid-instruction) needs the same lengths, and libipt's
// classes for what it decodes (9a, ea, ce: far transfers that take a TIP).
//
// The tables below are libipt's facts, checked byte for byte against libipt itself by
// test/arch/x86/isa/ild-libipt.test.ts. libipt's only failures are: running out of bytes (more
// than 15, or the end of the bytes given) and a VEX (c4) map number of 5 or more.

import { X86Class } from './classes.js';

/** The longest instruction libipt reads. */
export const ILD_MAX_LENGTH = 15;

// ModRM kinds.
const M_NONE = 0;
const M_YES = 1;
/** A ModRM byte whose mod field is ignored: never a SIB or displacement (MOV to/from CR/DR). */
const M_IGNORE_MOD = 2;

// Displacement kinds (beyond what the ModRM gives).
const D_PRESERVE = 0;
const D_BRDISP8 = 1;
/** Near branch displacement: 32 bits in 64-bit mode whatever the operand size, else z. */
const D_BRDISP_NEAR = 2;
/** moffs (a0-a3): the address size. */
const D_MEMDISP_V = 3;
/** Far pointer offset (9a, ea): z of the operand size. */
const D_BRDISP_Z = 4;
/** c7: /7 is XBEGIN with a z displacement. */
const D_C7 = 5;

// Immediate kinds.
const I_NONE = 0;
const I_8 = 1;
const I_Z = 2;
const I_V = 3;
const I_16 = 4;
/** z of the operand size that defaults to 64 bits in 64-bit mode (push imm). */
const I_Z_DF64 = 5;
/** f6 /0 /1: imm8. */
const I_F6 = 6;
/** f7 /0 /1: imm z. */
const I_F7 = 7;
/** c7 /0: imm z. */
const I_C7 = 8;
/** c8 ENTER: imm16 then imm8. */
const I_ENTER = 9;
/** 0f 78 with 66 or f2 (EXTRQ/INSERTQ): imm8, imm8; VMREAD (no prefix) has none. */
const I_0F78 = 10;

// Maps, as libipt numbers them: VEX/EVEX map fields index the same numbers.
const MAP_0 = 0;
const MAP_0F = 1;
const MAP_3A = 3;
const MAP_3DNOW = 4;
/** 0f 39, 0f 3b..3f: a ModRM, nothing else. */
const MAP_INVALID = 5;

/** Per opcode, 16 to a row; see the kind constants for the letters. */
function grid(rows: readonly string[], letters: string): Uint8Array {
  const t = new Uint8Array(256);
  rows.forEach((row, hi) => {
    for (let lo = 0; lo < 16; lo++) t[hi * 16 + lo] = letters.indexOf(row[lo]!);
  });
  return t;
}

const MODRM_LETTERS = '.mi';
//                                 0123456789abcdef
const MODRM_0 = grid([
  'mmmm....mmmm....', // 0x
  'mmmm....mmmm....', // 1x
  'mmmm....mmmm....', // 2x
  'mmmm....mmmm....', // 3x
  '................', // 4x
  '................', // 5x
  '..mm.....m.m....', // 6x
  '................', // 7x
  'mmmmmmmmmmmmmmmm', // 8x
  '................', // 9x
  '................', // ax
  '................', // bx
  'mm..mmmm........', // cx
  'mmmm....mmmmmmmm', // dx
  '................', // ex
  '......mm......mm', // fx
], MODRM_LETTERS);
const MODRM_0F = grid([
  'mmmm.........m..', // 0x
  'mmmmmmmmmmmmmmmm', // 1x
  'iiii....mmmmmmmm', // 2x
  '................', // 3x
  'mmmmmmmmmmmmmmmm', // 4x
  'mmmmmmmmmmmmmmmm', // 5x
  'mmmmmmmmmmmmmmmm', // 6x
  'mmmmmmm.mmmmmmmm', // 7x
  '................', // 8x
  'mmmmmmmmmmmmmmmm', // 9x
  '...mmm.....mmmmm', // ax
  'mmmmmmmmm.mmmmmm', // bx
  'mmmmmmmm........', // cx
  'mmmmmmmmmmmmmmmm', // dx
  'mmmmmmmmmmmmmmmm', // ex
  'mmmmmmmmmmmmmmm.', // fx
], MODRM_LETTERS);

const DISP_LETTERS = '.8Bmzc';
const DISP_0 = grid([
  '................', '................', '................', '................',
  '................', '................', '................', '8888888888888888', // 7x
  '................', '..........z.....', // 9x
  'mmmm............', // ax
  '................', '.......c........', // cx
  '................', '8888....BBz8....', // ex
  '................',
], DISP_LETTERS);
const DISP_0F = grid([
  '................', '................', '................', '................',
  '................', '................', '................', '................',
  'BBBBBBBBBBBBBBBB', // 8x
  '................', '................', '................', '................',
  '................', '................', '................',
], DISP_LETTERS);

const IMM_LETTERS = '.bzvwdfgcex';
const IMM_0 = grid([
  '....bz......bz..', // 0x
  '....bz......bz..', // 1x
  '....bz......bz..', // 2x
  '....bz......bz..', // 3x
  '................', // 4x
  '................', // 5x
  '........dzbb....', // 6x
  '................', // 7x
  'bzbb............', // 8x
  '..........w.....', // 9x
  '........bz......', // ax
  'bbbbbbbbvvvvvvvv', // bx
  'bbw...bce.w..b..', // cx
  '....bb..........', // dx
  '....bbbb..w.....', // ex
  '......fg........', // fx
], IMM_LETTERS);
const IMM_0F = grid([
  '................', '................', '................', '................',
  '................', '................', '................',
  'bbbb....x.......', // 7x
  '................', '................',
  '....b.......b...', // ax
  '..........b.....', // bx
  '..b.bbb.........', // cx
  '................', '................', '................',
], IMM_LETTERS);

// What each byte is before the opcode.
const P_NONE = 0;
const P_OSZ = 1;
const P_ASZ = 2;
const P_SEG = 3;
const P_LOCK = 4;
const P_F2 = 5;
const P_F3 = 6;
const P_REX = 7;
const P_VEX3 = 8;
const P_VEX2 = 9;
const P_EVEX = 10;

const PREFIX = new Uint8Array(256);
PREFIX[0x66] = P_OSZ;
PREFIX[0x67] = P_ASZ;
for (const b of [0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65]) PREFIX[b] = P_SEG;
PREFIX[0xf0] = P_LOCK;
PREFIX[0xf2] = P_F2;
PREFIX[0xf3] = P_F3;
for (let b = 0x40; b <= 0x4f; b++) PREFIX[b] = P_REX;
PREFIX[0xc4] = P_VEX3;
PREFIX[0xc5] = P_VEX2;
PREFIX[0x62] = P_EVEX;

/** Why decoding stopped short: the bytes ran out (or 15 were not enough), or the bytes are bad. */
const FAIL_SHORT = -1;
const FAIL_BAD = -2;

/**
 * libipt's length decoder. One object decodes any number of instructions; each decode() leaves
 * the instruction's length, class and branch displacement in the fields (no allocation).
 */
export class X86Ild {
  /** Length of the instruction last decoded (0 when it did not decode). */
  length = 0;
  /** Its class (X86Class): INVALID for bad bytes, TRUNCATED when the bytes end inside it. */
  cls: number = X86Class.INVALID;
  /** Its direct branch displacement (COND_JUMP, JUMP, CALL), else 0. */
  displacement = 0;

  // Decoding state (libipt's struct pt_ild).
  private bytes: Uint8Array = new Uint8Array(0);
  private base = 0;
  private max = 0;
  private bitness = 64;
  private osz = 0;
  private asz = 0;
  private f3 = 0;
  private lastF2F3 = 0;
  private vex = 0;
  private rexR = 0;
  private rexW = 0;
  private map = 0;
  private opcode = 0;
  private modrm = 0;
  private dispBytes = 0;
  private dispPos = 0;
  private imm1 = 0;
  private imm2 = 0;

  /**
   * Decodes the instruction at `bytes[off]` in a 16-, 32- or 64-bit code segment, reading at most
   * to `end` (the end of the bytes by default). Returns its class and sets the fields. When the
   * bytes end inside the instruction before 15 bytes, the class is TRUNCATED: the caller decides
   * whether more bytes follow elsewhere (libipt reads on into the next section, and reports
   * bad_insn when there is none).
   */
  decode(bytes: Uint8Array, off: number, bitness: 16 | 32 | 64, end: number = bytes.length): number {
    const avail = end - off;
    this.bytes = bytes;
    this.base = off;
    this.max = avail < ILD_MAX_LENGTH ? (avail > 0 ? avail : 0) : ILD_MAX_LENGTH;
    this.bitness = bitness;
    this.osz = this.asz = this.f3 = this.lastF2F3 = this.vex = this.rexR = this.rexW = 0;
    this.opcode = this.modrm = this.dispBytes = this.dispPos = this.imm1 = this.imm2 = 0;
    this.map = MAP_INVALID;
    this.displacement = 0;
    const n = this.prefixes();
    if (n < 0) {
      this.length = 0;
      this.cls = n === FAIL_SHORT && avail < ILD_MAX_LENGTH ? X86Class.TRUNCATED : X86Class.INVALID;
      return this.cls;
    }
    this.length = n;
    this.cls = this.classify();
    return this.cls;
  }

  /** Target of the direct branch just decoded at `ip` (libipt does not wrap it to the mode's width). */
  target(ip: number): number {
    return ip + this.length + this.displacement;
  }

  private byte(i: number): number {
    return this.bytes[this.base + i]!;
  }

  /** Legacy prefixes, REX, VEX and EVEX; then the opcode. Returns the length or a FAIL_ code. */
  private prefixes(): number {
    const mode64 = this.bitness === 64;
    let rex = 0;
    let pos = 0;
    for (;;) {
      if (pos >= this.max) return FAIL_SHORT;
      const b = this.byte(pos);
      switch (PREFIX[b]) {
        case P_OSZ: this.osz = 1; break;
        case P_ASZ: this.asz = 1; break;
        case P_SEG: case P_LOCK: break;
        case P_F2: this.lastF2F3 = 2; break;
        case P_F3: this.f3 = 1; this.lastF2F3 = 3; break;
        case P_REX:
          // A REX prefix counts only right before the opcode; outside 64-bit mode it is INC/DEC.
          if (!mode64) return this.opcodeAt(pos);
          rex = b;
          pos++;
          continue;
        case P_VEX2: case P_VEX3: case P_EVEX:
          return this.vexAt(pos, PREFIX[b]!);
        default:
          if (rex & 4) this.rexR = 1;
          if (rex & 8) this.rexW = 1;
          return this.opcodeAt(pos);
      }
      rex = 0;
      pos++;
    }
  }

  /** c5 (2-byte VEX), c4 (3-byte VEX), 62 (EVEX): outside 64-bit mode only when the next byte's top bits are 11 (else LDS/LES/BOUND). */
  private vexAt(pos: number, kind: number): number {
    if (this.max <= pos + 1) return FAIL_SHORT;
    const p1 = this.byte(pos + 1);
    if (this.bitness !== 64 && (p1 & 0xc0) !== 0xc0) return this.opcodeAt(pos);
    const size = kind === P_VEX2 ? 2 : kind === P_VEX3 ? 3 : 4;
    if (this.max < pos + size + 1) return FAIL_SHORT;
    this.vex = 1;
    if (p1 & 0x80) this.rexR = 1;
    if (kind === P_VEX2) {
      this.map = MAP_0F;
    } else {
      if (this.byte(pos + 2) & 0x80) this.rexW = 1;
      const map = kind === P_VEX3 ? p1 & 0x1f : p1 & 0x03;
      if (map >= MAP_INVALID) return FAIL_BAD;
      this.map = map;
      if (map === MAP_3A) this.imm1 = 1;
    }
    this.opcode = this.byte(pos + size);
    return this.modrmAt(pos + size + 1);
  }

  private opcodeAt(pos: number): number {
    const b = this.byte(pos);
    if (b !== 0x0f) {
      this.map = MAP_0;
      this.opcode = b;
      return this.modrmAt(pos + 1);
    }
    pos++;
    if (pos >= this.max) return FAIL_SHORT;
    const m = this.byte(pos);
    if (m === 0x0f) {
      // 3DNow!: ModRM, then the real opcode as an immediate byte.
      this.map = MAP_3DNOW;
      this.opcode = 0x0f;
      return this.modrmAt(pos + 1);
    }
    if ((m & 0xf8) !== 0x38) {
      this.map = MAP_0F;
      this.opcode = m;
      return this.modrmAt(pos + 1);
    }
    this.map = m === 0x38 ? 2 : m === 0x3a ? MAP_3A : MAP_INVALID;
    if (m === 0x3a) this.imm1 = 1;
    pos++;
    if (pos >= this.max) return FAIL_SHORT;
    this.opcode = this.byte(pos);
    return this.modrmAt(pos + 1);
  }

  private modrmAt(pos: number): number {
    const map = this.map;
    const has = map >= 2 ? M_YES : map === MAP_0 ? MODRM_0[this.opcode]! : MODRM_0F[this.opcode]!;
    if (has === M_NONE) return this.dispAt(pos);
    if (pos >= this.max) return FAIL_SHORT;
    const modrm = this.byte(pos);
    this.modrm = modrm;
    pos++;
    if (has === M_IGNORE_MOD) return this.dispAt(pos);
    const mod = modrm >> 6;
    const rm = modrm & 7;
    if (mod === 3) return this.dispAt(pos);
    if (this.addr16()) {
      this.dispBytes = mod === 1 ? 1 : mod === 2 || rm === 6 ? 2 : 0;
      return this.dispAt(pos);
    }
    this.dispBytes = mod === 1 ? 1 : mod === 2 || rm === 5 ? 4 : 0;
    if (rm !== 4) return this.dispAt(pos);
    if (pos >= this.max) return FAIL_SHORT;
    if (mod === 0 && (this.byte(pos) & 7) === 5) this.dispBytes = 4;
    return this.dispAt(pos + 1);
  }

  private dispAt(pos: number): number {
    const map = this.map;
    if (this.dispBytes === 0 && map <= MAP_0F) {
      switch (map === MAP_0 ? DISP_0[this.opcode] : DISP_0F[this.opcode]) {
        case D_BRDISP8: this.dispBytes = 1; break;
        case D_BRDISP_NEAR: this.dispBytes = this.bitness === 64 ? 4 : this.z(this.eosz()); break;
        case D_MEMDISP_V: this.dispBytes = this.v(this.easz()); break;
        case D_BRDISP_Z: this.dispBytes = this.z(this.eosz()); break;
        case D_C7: if (map === MAP_0 && ((this.modrm >> 3) & 7) === 7) this.dispBytes = this.z(this.eosz()); break;
        default: break;
      }
    }
    if (this.dispBytes !== 0) {
      if (pos + this.dispBytes > this.max) return FAIL_SHORT;
      this.dispPos = pos;
      pos += this.dispBytes;
    }
    return this.immAt(pos);
  }

  private immAt(pos: number): number {
    const map = this.map;
    if (map === MAP_3DNOW) {
      if (this.max <= pos) return FAIL_SHORT;
      this.opcode = this.byte(pos);
      return pos + 1;
    }
    if (map <= MAP_0F) {
      const reg = (this.modrm >> 3) & 7;
      switch (map === MAP_0 ? IMM_0[this.opcode] : IMM_0F[this.opcode]) {
        case I_8: this.imm1 = 1; break;
        case I_Z: this.imm1 = this.z(this.eosz()); break;
        case I_V: this.imm1 = this.v(this.eosz()); break;
        case I_16: this.imm1 = 2; break;
        case I_Z_DF64: this.imm1 = this.z(this.bitness === 64 && !this.rexW && !this.osz ? 64 : this.eosz()); break;
        case I_F6: if (map === MAP_0 && reg < 2) this.imm1 = 1; break;
        case I_F7: if (map === MAP_0 && reg < 2) this.imm1 = this.z(this.eosz()); break;
        case I_C7: if (map === MAP_0 && reg === 0) this.imm1 = this.z(this.eosz()); break;
        case I_ENTER: if (map === MAP_0) { this.imm1 = 2; this.imm2 = 1; } break;
        case I_0F78: if (map === MAP_0F && (this.osz || this.lastF2F3 === 2)) { this.imm1 = 1; this.imm2 = 1; } break;
        default: break;
      }
    }
    pos += this.imm1 + this.imm2;
    return pos > this.max ? FAIL_SHORT : pos;
  }

  private addr16(): boolean {
    return this.bitness === 16 ? !this.asz : this.bitness === 32 ? this.asz === 1 : false;
  }

  /** Effective operand size in bits. */
  private eosz(): number {
    if (this.bitness === 64) return this.rexW ? 64 : this.osz ? 16 : 32;
    return (this.bitness === 32) !== (this.osz === 1) ? 32 : 16;
  }

  /** Effective address size in bits. */
  private easz(): number {
    if (this.bitness === 64) return this.asz ? 32 : 64;
    return (this.bitness === 32) !== (this.asz === 1) ? 32 : 16;
  }

  private z(size: number): number {
    return size === 16 ? 2 : 4;
  }

  private v(size: number): number {
    return size >> 3;
  }

  /** libipt's classes (pt_instruction_decode), in X86Class terms; sets the displacement of direct branches. */
  private classify(): number {
    const map = this.map;
    if (map > MAP_0F || this.vex) return X86Class.OTHER;
    const op = this.opcode;
    if (map === MAP_0F) {
      if (op >= 0x80 && op <= 0x8f) return this.direct(X86Class.COND_JUMP);
      switch (op) {
        case 0x05: case 0x34: return X86Class.SYSCALL;
        case 0x07: case 0x35: return X86Class.SYSRET;
        case 0x01:
          if (this.modrm === 0xc1) return X86Class.VM_EXIT;
          if (this.modrm === 0xc2 || this.modrm === 0xc3) return X86Class.VM_ENTRY;
          if (this.modrm === 0xec) return X86Class.IRET; // UIRET (libipt: a far return, whatever the prefixes)
          return X86Class.OTHER;
        case 0x22: return ((this.modrm >> 3) & 7) === 3 && !this.rexR ? X86Class.MOV_CR3 : X86Class.OTHER;
        case 0xae: return this.f3 && !this.osz && ((this.modrm >> 3) & 7) === 4 ? X86Class.PTWRITE : X86Class.OTHER;
        default: return X86Class.OTHER;
      }
    }
    if (op >= 0x70 && op <= 0x7f) return this.direct(X86Class.COND_JUMP);
    switch (op) {
      case 0xe0: case 0xe1: case 0xe2: case 0xe3: return this.direct(X86Class.COND_JUMP);
      case 0xe8: return this.direct(X86Class.CALL);
      case 0xe9: case 0xeb: return this.direct(X86Class.JUMP);
      case 0x9a: return X86Class.FAR_CALL;
      case 0xea: return X86Class.FAR_JUMP;
      case 0xc2: case 0xc3: return X86Class.RETURN;
      case 0xca: case 0xcb: return X86Class.FAR_RETURN;
      case 0xcc: case 0xcd: case 0xce: case 0xf1: return X86Class.INT;
      case 0xcf: return X86Class.IRET;
      case 0xff:
        switch ((this.modrm >> 3) & 7) {
          case 2: return X86Class.IND_CALL;
          case 3: return X86Class.FAR_CALL;
          case 4: return X86Class.IND_JUMP;
          case 5: return X86Class.FAR_JUMP;
          default: return X86Class.OTHER;
        }
      default: return X86Class.OTHER;
    }
  }

  private direct(cls: number): number {
    const at = this.base + this.dispPos;
    const b = this.bytes;
    switch (this.dispBytes) {
      case 1: this.displacement = (b[at]! << 24) >> 24; break;
      case 2: this.displacement = ((b[at]! | (b[at + 1]! << 8)) << 16) >> 16; break;
      default: this.displacement = b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24); break;
    }
    return cls;
  }
}
