// Configuration from ID/config registers, and the 256-entry header table built from it.

import t from 'tap';
import { defaultEteConfig, defaultEtm4Config, etm4Config } from '../../../../arch/arm/etm4/config.js';
import { atomHeader } from '../../../../arch/arm/etm4/encoder.js';
import { Kind, buildHeaderTable } from '../../../../arch/arm/etm4/header-table.js';
import { PacketType, packetTypeFromName, packetTypeName, PACKET_TYPE_COUNT } from '../../../../arch/arm/etm4/packet-types.js';
import { HwtraceError } from '../../../../arch/common/errors.js';

t.test('Cortex-A53 ETMv4.0 registers (Juno)', async (t) => {
  const c = etm4Config({ TRCCONFIGR: 0xc1, TRCTRACEIDR: 0x10, TRCIDR0: 0x28000ea1, TRCIDR1: 0x4100f403, TRCIDR2: 0x00000488 });
  t.equal(c.fullVersion, 0x40);
  t.equal(c.traceId, 0x10);
  t.equal(c.cidBytes, 4);
  t.equal(c.vmidBytes, 1);
  t.equal(c.ccSize, 12);
  t.equal(c.commitOpt1, true);
  t.equal(c.qSupported, false);
  t.equal(c.vaSize, 64);
  t.equal(c.tsSize, 64);
  t.equal(c.maxSpec, 0);
  t.equal(c.ete, false);
});

t.test('ETE takes its version from TRCDEVARCH; 32-bit VMID; Q; CCSIZE', async (t) => {
  const c = etm4Config({ TRCCONFIGR: 0xa001, TRCTRACEIDR: 1, TRCIDR0: 0x2801cea1, TRCIDR1: 0x4100fff0, TRCIDR2: 0xd0001088, TRCDEVARCH: 0x47715a13 }, { ete: true });
  t.equal(c.major, 5);
  t.equal(c.minor, 1);
  t.equal(c.fullVersion, 0x51);
  t.equal(c.vmidBytes, 4);
  t.equal(c.ccSize, 20);
  t.equal(c.qSupported, true);
  t.equal(defaultEteConfig().ete, true);
});

t.test('ETMv4.0 has no 16/32-bit VMID; later versions do', async (t) => {
  t.equal(etm4Config({ TRCCONFIGR: 0, TRCTRACEIDR: 1, TRCIDR0: 0, TRCIDR1: 0x4100f403, TRCIDR2: 0x2 << 10 }).vmidBytes, 0);
  t.equal(etm4Config({ TRCCONFIGR: 0, TRCTRACEIDR: 1, TRCIDR0: 0, TRCIDR1: 0x4200f410, TRCIDR2: 0x2 << 10 }).vmidBytes, 2);
  t.equal(etm4Config({ TRCCONFIGR: 0, TRCTRACEIDR: 1, TRCIDR0: 0, TRCIDR1: 0x4200f410, TRCIDR2: 0x4 << 10 }).vmidBytes, 4);
});

t.test('register values must be 32-bit', async (t) => {
  t.throws(() => etm4Config({ TRCCONFIGR: -1, TRCTRACEIDR: 0, TRCIDR0: 0, TRCIDR2: 0 }), HwtraceError);
  t.throws(() => etm4Config({ TRCCONFIGR: 2 ** 32, TRCTRACEIDR: 0, TRCIDR0: 0, TRCIDR2: 0 }), /TRCCONFIGR/);
});

t.test('header table: every byte has a type; configuration switches headers on and off', async (t) => {
  const etm = buildHeaderTable(defaultEtm4Config());
  const ete = buildHeaderTable(defaultEteConfig());
  t.equal(etm.kind[0x07], Kind.NO_PAYLOAD, 'ETMv4: exception return');
  t.equal(ete.kind[0x07], Kind.INVALID_CFG, 'ETE: 0x07 reserved for the configuration');
  t.equal(etm.kind[0x70], Kind.RESERVED, 'ETMv4.0: no Ignore packet');
  t.equal(ete.kind[0x70], Kind.NO_PAYLOAD, 'ETE: Ignore');
  t.equal(etm.kind[0xa5], Kind.RESERVED, 'no Q support');
  t.equal(ete.kind[0xa5], Kind.Q, 'Q');
  t.equal(ete.kind[0xa3], Kind.RESERVED, 'reserved Q type');
  t.equal(etm.kind[0xb4], Kind.RESERVED, 'ETMv4: no source address packets');
  t.equal(ete.kind[0xb4], Kind.ADDR_SHORT);
  t.equal(etm.kind[0x88], Kind.RESERVED, 'ETMv4.0: no TS marker');
  t.equal(ete.kind[0x88], Kind.NO_PAYLOAD);
  const m = buildHeaderTable(etm4Config({ TRCCONFIGR: 1, TRCTRACEIDR: 1, TRCIDR0: 0x28000ea1, TRCIDR1: 0x4200f420, TRCIDR2: 0x488 }, { profile: 'M', archV8: true }));
  t.equal(m.kind[0x05], Kind.NO_PAYLOAD, 'v8-M ETMv4.2: function return');
  t.equal(etm.kind[0x05], Kind.RESERVED);
  for (let h = 0; h < 256; h++) t.ok(etm.type[h]! < PACKET_TYPE_COUNT, `0x${h.toString(16)} has a type`);
});

t.test('atom headers: 0xC0..0xFF, and the encoder agrees on every pattern', async (t) => {
  const tab = buildHeaderTable(defaultEtm4Config());
  for (let h = 0; h < 256; h++) {
    t.equal(tab.kind[h] === Kind.ATOM, h >= 0xc0, `0x${h.toString(16)}`);
    if (h >= 0xc0) t.equal(atomHeader(tab.atomBits[h]!, tab.atomCount[h]!), h);
  }
  t.equal(tab.atomCount[0xd4], 24);
  t.equal(tab.atomBits[0xe0], 0b0111, 'EEEN');
});

t.test('the decoder hot loop uses these Kind values as literals', async (t) => {
  // decoder.ts switches on numbers for speed; this pins them.
  t.same(
    [Kind.RESERVED, Kind.INVALID_CFG, Kind.EXTENSION, Kind.TRACE_INFO, Kind.TIMESTAMP, Kind.NO_PAYLOAD, Kind.EXCEPTION, Kind.CCNT_F1, Kind.CCNT_F2, Kind.CCNT_F3, Kind.SPEC_FIELD, Kind.SPEC_SINGLE],
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
  );
  t.same([Kind.COND_I, Kind.COND_RES, Kind.CONTEXT, Kind.ADDR_CTXT, Kind.ADDR_MATCH, Kind.ADDR_SHORT, Kind.ADDR_LONG32, Kind.ADDR_LONG64, Kind.Q, Kind.ATOM, Kind.ITE, Kind.EVENT], [12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23]);
});

t.test('packet type names are OpenCSD’s', async (t) => {
  t.equal(packetTypeName(PacketType.ATOM_F3), 'I_ATOM_F3');
  t.equal(packetTypeName(PacketType.SRC_ADDR_L_32IS0), 'I_SCR_ADDR_L_32IS0', 'OpenCSD spelling kept');
  t.equal(packetTypeName(PacketType.ASYNC_PAD), 'I_ASYNC');
  t.equal(packetTypeFromName('I_TRACE_INFO'), PacketType.TRACE_INFO);
  t.equal(packetTypeFromName('I_NOPE'), undefined);
  t.equal(packetTypeName(999), 'I_UNKNOWN');
});
