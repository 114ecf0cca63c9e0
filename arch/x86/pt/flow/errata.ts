// libipt 2.0.5's Intel PT errata per CPU (pt_cpu_errata), and the address-filter check the flow
// decoder needs for SKL014. The table was read off libipt 2.0.5 itself (every family-6 model
// through pt_cpu_errata; the stepping does not matter there; other families are unknown, as
// there). The descriptions are the errata's (Intel specification updates, as libipt quotes them).
// The flow decoder acts on BDM70, BDM64, SKD010, SKD022, SKL014, SKL168, APL11 and APL12 as
// libipt 2.0.5 does (BDM64: a TSX abort's IP that the code after a branch cannot reach is where
// that branch went; libipt's block decoder checks it at blocks' ends only, the instruction
// decoder after every branch: PtFlowOptions.blockDecoder). SKD007 and SKZ84 (corrupt CYC/TMA
// bytes, fixed up in libipt's packet layer) are set here but not acted on yet: with such a
// --cpu, traces that hit them decode as without the erratum.

export interface PtCpu {
  family: number;
  model: number;
  stepping?: number;
}

export interface PtErrata {
  /** BDM70: PSB+ may hold FUP and MODE.Exec before a TIP.PGE while tracing is disabled. */
  bdm70: boolean;
  /** BDM64: a wrong branch packet may precede the one of a TSX abort. */
  bdm64: boolean;
  /** SKD007: an OVF may replace the rest of a multi-byte CYC (a packet-layer matter). */
  skd007: boolean;
  /** SKD022: a VM entry that clears TraceEn may send FUP + TIP.PGD. */
  skd022: boolean;
  /** SKD010: the FUP (or TIP.PGE) after an OVF may be missing. */
  skd010: boolean;
  /** SKL014: a TIP.PGD at a direct branch may have no IP. */
  skl014: boolean;
  /** APL12: an OVF may be followed by a FUP while FilterEn is clear. */
  apl12: boolean;
  /** APL11: an OVF may be followed by a TIP.PGD. */
  apl11: boolean;
  /** SKL168: a CYC (and MTC) right before a PSB may be lost (a timing matter). */
  skl168: boolean;
  /** SKZ84: with VMX TSC scaling/offsetting, TMA is corrupt and followed by a bogus byte (packet layer). */
  skz84: boolean;
}

export const NO_ERRATA: Readonly<PtErrata> = Object.freeze({
  bdm70: false, bdm64: false, skd007: false, skd022: false, skd010: false, skl014: false, apl12: false, apl11: false, skl168: false, skz84: false,
});

type Erratum = keyof PtErrata;

/** Family 6 models and their errata (libipt 2.0.5). */
const BROADWELL: Erratum[] = ['bdm70', 'bdm64'];
const SKYLAKE_CLIENT: Erratum[] = ['bdm70', 'skd007', 'skd022', 'skd010', 'skl014', 'skl168'];
const SERVER: Erratum[] = ['bdm70', 'skd022', 'skl014'];
const SERVER_TSC: Erratum[] = [...SERVER, 'skz84'];
const GOLDMONT: Erratum[] = ['apl12', 'apl11'];
const ATOM: Erratum[] = ['apl11'];
const MODELS: ReadonlyMap<number, Erratum[]> = new Map<number, Erratum[]>([
  [0x3d, BROADWELL], [0x47, BROADWELL], [0x4f, BROADWELL], [0x56, BROADWELL],
  [0x4e, SKYLAKE_CLIENT], [0x5e, SKYLAKE_CLIENT], [0x8e, SKYLAKE_CLIENT], [0x9e, SKYLAKE_CLIENT], [0xa5, SKYLAKE_CLIENT], [0xa6, SKYLAKE_CLIENT],
  [0x55, SERVER_TSC], [0x6a, SERVER_TSC], [0x6c, SERVER_TSC], [0x8f, SERVER_TSC],
  [0x66, SERVER], [0x7d, SERVER], [0x7e, SERVER], [0x8c, SERVER], [0x8d, SERVER], [0xa7, SERVER], [0xa8, SERVER],
  [0x97, [...SERVER, 'apl11']], [0x9a, [...SERVER, 'apl11']], [0xbf, [...SERVER, 'apl11']],
  [0x5c, GOLDMONT], [0x5f, GOLDMONT],
  [0x7a, ATOM], [0x86, ATOM], [0x96, ATOM], [0x9c, ATOM],
]);

/** libipt's errata for `cpu`, or null for a CPU libipt does not know (its pte_bad_cpu). */
export function cpuErrata(cpu: PtCpu): PtErrata | null {
  if (cpu.family !== 6) return null;
  const list = MODELS.get(cpu.model);
  if (!list) return null;
  const e: PtErrata = { ...NO_ERRATA };
  for (const k of list) e[k] = true;
  return e;
}

/** IA32_RTIT_CTL.ADDRn_CFG and IA32_RTIT_ADDRn_A/B (ptxed --filter:addrN_cfg/_a/_b). */
export interface PtAddrFilter {
  /** Per range n = 0..3: 0 unused, 1 filter (trace inside), 2 stop (TraceStop inside). */
  cfg: number[];
  a: number[];
  b: number[];
}

const CFG_FILTER = 1;
const CFG_STOP = 2;

/** True when any range is configured (libipt applies SKL014 only then). */
export function hasAddrFilter(f: PtAddrFilter | undefined): f is PtAddrFilter {
  return f !== undefined && f.cfg.some((c) => c !== 0);
}

/**
 * Whether `addr` is traced under the filter configuration: inside some filter range when there
 * are any (A and B inclusive), and inside no stop range. libipt's pt_filter_addr_check.
 */
export function addrFiltered(f: PtAddrFilter, addr: number): boolean {
  let anyFilter = false;
  let inFilter = false;
  for (let n = 0; n < 4; n++) {
    const cfg = f.cfg[n] ?? 0;
    const a = f.a[n] ?? 0;
    const b = f.b[n] ?? 0;
    const inside = a <= addr && addr <= b;
    if (cfg === CFG_FILTER) {
      anyFilter = true;
      if (inside) inFilter = true;
    } else if (cfg === CFG_STOP && inside) return false;
  }
  return !anyFilter || inFilter;
}
