// Disassembly for ptxed-style listings: iced-x86 stands in for XED. Intel syntax set up to read
// like XED's (`mov qword ptr [rbp-0x8], rax`, `call 0x401000`, `jz 0x401014`), or AT&T (GNU as)
// for --att. Not byte-identical to XED (mnemonic aliases and operand details differ in places).
// One iced Decoder per section and mode, made on first use; called only for printed lines, and
// once per instruction of the code: the text and length are kept per section, mode and offset.

import {
  CC_a, CC_ae, CC_e, CC_g, CC_ge, CC_ne, Code, Decoder, DecoderOptions, Formatter, FormatterSyntax, Instruction, MemorySizeOptions,
} from 'iced-x86';

const TWO64 = 18446744073709551616n;

/** An address (canonical, possibly negative) as the unsigned 64-bit value iced wants. */
function toBig(ip: number): bigint {
  return ip < 0 ? BigInt(ip) + TWO64 : BigInt(ip);
}

export class PtxedDisassembler {
  /** Length of the instruction last formatted (0 when it did not decode). */
  length = 0;
  private readonly formatter: Formatter;
  private readonly insn = new Instruction();
  /** Per section bytes: decoders by bitness. */
  private readonly decoders = new Map<Uint8Array, Array<Decoder | undefined>>();
  /** Per section bytes and bitness: the text (null: undecodable) and length at each offset formatted so far. */
  private readonly texts = new Map<Uint8Array, Array<{ text: Array<string | null | undefined>; length: Uint8Array } | undefined>>();

  constructor(att = false) {
    const f = new Formatter(att ? FormatterSyntax.Gas : FormatterSyntax.Intel);
    f.hexPrefix = '0x';
    f.hexSuffix = '';
    f.uppercaseHex = false;
    f.smallHexNumbersInDecimal = false;
    f.addLeadingZeroToHexNumbers = false;
    f.branchLeadingZeros = false;
    f.displacementLeadingZeros = false;
    f.leadingZeros = false;
    f.showBranchSize = false;
    f.spaceAfterOperandSeparator = true;
    f.ripRelativeAddresses = true;
    if (!att) f.memorySizeOptions = MemorySizeOptions.Always;
    // XED's condition-code spellings: jz/jnz, jnb/jnbe, jnl/jnle (jb, jbe, jl, jle, jp, jnp as iced's).
    f.cc_e = CC_e.z;
    f.cc_ne = CC_ne.nz;
    f.cc_ae = CC_ae.nb;
    f.cc_a = CC_a.nbe;
    f.cc_ge = CC_ge.nl;
    f.cc_g = CC_g.nle;
    this.formatter = f;
  }

  /**
   * The text of the instruction at `ip`, found at `off` in `bytes` (a section), or null when
   * the bytes there do not decode in `bitness`-bit mode. Sets `length`.
   */
  format(bytes: Uint8Array, off: number, ip: number, bitness: 16 | 32 | 64): string | null {
    let seen = this.texts.get(bytes);
    if (seen === undefined) {
      seen = [];
      this.texts.set(bytes, seen);
    }
    const known = (seen[bitness] ??= { text: [], length: new Uint8Array(bytes.length) });
    const cached = known.text[off];
    if (cached !== undefined) {
      this.length = known.length[off]!;
      return cached;
    }
    const text = this.decode(bytes, off, ip, bitness);
    known.text[off] = text;
    known.length[off] = this.length;
    return text;
  }

  /**
   * format() for bytes that belong to no section (an instruction read across two), not kept:
   * a decoder made for this one call.
   */
  formatOnce(bytes: Uint8Array, ip: number, bitness: 16 | 32 | 64): string | null {
    const d = new Decoder(bitness, bytes, DecoderOptions.None);
    try {
      d.ip = toBig(ip);
      d.decodeOut(this.insn);
    } finally {
      d.free();
    }
    if (this.insn.code === Code.INVALID) {
      this.length = 0;
      return null;
    }
    this.length = this.insn.length;
    return this.formatter.format(this.insn);
  }

  private decode(bytes: Uint8Array, off: number, ip: number, bitness: 16 | 32 | 64): string | null {
    let byMode = this.decoders.get(bytes);
    if (byMode === undefined) {
      byMode = [];
      this.decoders.set(bytes, byMode);
    }
    const d = (byMode[bitness] ??= new Decoder(bitness, bytes, DecoderOptions.None));
    d.position = off;
    d.ip = toBig(ip);
    d.decodeOut(this.insn);
    if (this.insn.code === Code.INVALID) {
      this.length = 0;
      return null;
    }
    this.length = this.insn.length;
    return this.formatter.format(this.insn);
  }

  /** Frees iced's WASM objects. */
  free(): void {
    for (const byMode of this.decoders.values()) for (const d of byMode) d?.free();
    this.decoders.clear();
    this.texts.clear();
    this.insn.free();
    this.formatter.free();
  }
}
