// Known answers: byte sequences chosen to hit every corner of the grammar (unsynchronised
// scanning, A-sync and extension errors, address history and its printing, timestamps, Trace
// Info sections, ETE-only packets, reserved headers, truncation at the end), with the listing
// OpenCSD 1.3.3's trc_pkt_lister -pkt_mon printed for each. Our listing must be identical (we
// also print 1.8.0's "Decoder Sync point TINFO" note, removed before comparing), whatever
// way the bytes are split into chunks.

import t from 'tap';
import { etm4Config, type Etm4Config } from '../../../../arch/arm/etm4/config.js';
import { Etm4PacketDecoder } from '../../../../arch/arm/etm4/decoder.js';
import { formatPacketLine } from '../../../../arch/arm/etm4/listing.js';

interface Golden {
  name: string;
  /** `ETM4|ETE TRCCONFIGR TRCIDR0 TRCIDR1 TRCIDR2 TRCIDR8 [TRCDEVARCH]` */
  config: string;
  hex: string;
  lines: string[];
}

export const GOLDEN: Golden[] = [
  {
    name: 'unsync_zeros',
    config: 'ETM4 0xC1 0x28000EA1 0x4100F403 0x00000488 0',
    hex: 'ff00000000000000000000000000800100000000000000000000000001f70000000000000000000000800100f7',
    lines: [
      'Idx:0; ID:0; [0xff ];\tI_NOT_SYNC : I Stream not synchronised',
      'Idx:1; ID:0; [0x00 ];\tI_ASYNC : Alignment Synchronisation.',
      'Idx:1; ID:0; [0x00 ];\tI_ASYNC : Alignment Synchronisation.',
      'Idx:1; ID:0; [0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x80 ];\tI_ASYNC : Alignment Synchronisation.',
      'Idx:15; ID:0; [0x01 0x00 ];\tI_TRACE_INFO : Trace Info.; INFO=0x0 { CC.0 }',
      'Idx:17; ID:0; [0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x01 ];\tI_BAD_SEQUENCE : Invalid Sequence in packet.[I_ASYNC]',
      'Idx:29; ID:0; [0xf7 ];\tI_ATOM_F1 : Atom format 1.; E',
      'Idx:30; ID:0; [0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x80 ];\tI_ASYNC : Alignment Synchronisation.',
      'Idx:42; ID:0; [0x01 0x00 ];\tI_TRACE_INFO : Trace Info.; INFO=0x0 { CC.0 }',
      'Idx:44; ID:0; [0xf7 ];\tI_ATOM_F1 : Atom format 1.; E',
    ],
  },
  {
    name: 'unsync_chunks',
    config: 'ETM4 0xC1 0x28000EA1 0x4100F403 0x00000488 0',
    hex: 'fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0ef0001ff000000000000000000000000800100',
    lines: [
      'Idx:0; ID:0; [0xff 0xfe 0xfd 0xfc 0xfb 0xfa 0xf9 0xf8 ];\tI_NOT_SYNC : I Stream not synchronised',
      'Idx:8; ID:0; [0xf7 0xf6 0xf5 0xf4 0xf3 0xf2 0xf1 0xf0 ];\tI_NOT_SYNC : I Stream not synchronised',
      'Idx:16; ID:0; [0xef ];\tI_NOT_SYNC : I Stream not synchronised',
      'Idx:17; ID:0; [0x00 0x01 0xff ];\tI_NOT_SYNC : I Stream not synchronised',
      'Idx:20; ID:0; [0x00 ];\tI_ASYNC : Alignment Synchronisation.',
      'Idx:20; ID:0; [0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x80 ];\tI_ASYNC : Alignment Synchronisation.',
      'Idx:33; ID:0; [0x01 0x00 ];\tI_TRACE_INFO : Trace Info.; INFO=0x0 { CC.0 }',
    ],
  },
  {
    name: 'eot_unsync',
    config: 'ETM4 0xC1 0x28000EA1 0x4100F403 0x00000488 0',
    hex: 'fffefd000000',
    lines: [
      'Idx:0; ID:0; [0xff 0xfe 0xfd ];\tI_NOT_SYNC : I Stream not synchronised',
      'Idx:3; ID:0; [0x00 0x00 0x00 ];\tI_INCOMPLETE_EOT : Incomplete packet at end of trace.[I_ASYNC]',
    ],
  },
  {
    name: 'eot_synced',
    config: 'ETM4 0xC1 0x28000EA1 0x4100F403 0x00000488 0',
    hex: '00000000000000000000008001009d0102',
    lines: [
      'Idx:0; ID:0; [0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x80 ];\tI_ASYNC : Alignment Synchronisation.',
      'Idx:12; ID:0; [0x01 0x00 ];\tI_TRACE_INFO : Trace Info.; INFO=0x0 { CC.0 }',
      'Idx:14; ID:0; [0x9d 0x01 0x02 ];\tI_INCOMPLETE_EOT : Incomplete packet at end of trace.[I_ADDR_L_64IS0]',
    ],
  },
  {
    name: 'timestamps',
    config: 'ETM4 0xD1 0x08000EA1 0x4100F403 0x0E000488 0x10',
    hex: '000000000000000000000080010002ff7f02810103808001810102ffffffffffffffffff02808080808080010280808080808080810103018080808001',
    lines: [
      'Idx:0; ID:0; [0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x80 ];\tI_ASYNC : Alignment Synchronisation.',
      'Idx:12; ID:0; [0x01 0x00 ];\tI_TRACE_INFO : Trace Info.; INFO=0x0 { CC.0 }',
      'Idx:14; ID:0; [0x02 0xff 0x7f ];\tI_TIMESTAMP : Timestamp.; Updated val = 0x3fff',
      'Idx:17; ID:0; [0x02 0x81 0x01 ];\tI_TIMESTAMP : Timestamp.; Updated val = 0x81',
      'Idx:20; ID:0; [0x03 0x80 0x80 0x01 0x81 0x01 ];\tI_TIMESTAMP : Timestamp.; Updated val = 0x4000; CC=0x81',
      'Idx:26; ID:0; [0x02 0xff 0xff 0xff 0xff 0xff 0xff 0xff 0xff 0xff ];\tI_TIMESTAMP : Timestamp.; Updated val = 0xffffffffffffffff',
      'Idx:36; ID:0; [0x02 0x80 0x80 0x80 0x80 0x80 0x80 0x01 ];\tI_TIMESTAMP : Timestamp.; Updated val = 0xfffe040000000000',
      'Idx:44; ID:0; [0x02 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x81 0x01 ];\tI_TIMESTAMP : Timestamp.; Updated val = 0x102000000000000',
      'Idx:54; ID:0; [0x03 0x01 0x80 0x80 0x80 0x80 0x01 ];\tI_TIMESTAMP : Timestamp.; Updated val = 0x102000000000001; CC=0x0',
    ],
  },
  {
    name: 'trace_info_ete',
    config: 'ETE 0x11 0x2801cea1 0x4100fff0 0xd0001088 0x10 0x47705a13',
    hex: '000000000000000000000080011f7f02030405019f010102010304018f8101820183018401010e010f0c320d32101f010901051001010110',
    lines: [
      'Idx:0; ID:0; [0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x80 ];\tI_ASYNC : Alignment Synchronisation.',
      'Idx:12; ID:0; [0x01 0x1f 0x7f 0x02 0x03 0x04 0x05 ];\tI_TRACE_INFO : Trace Info.; INFO=0x7f { CC.1, TSTATE.1 }; CC_THRESHOLD=0x4',
      'Idx:19; ID:0; [0x01 0x9f 0x01 0x01 0x02 0x01 0x03 0x04 ];\tI_TRACE_INFO : Trace Info.; INFO=0x1 { CC.1, TSTATE.0 }; CC_THRESHOLD=0x3',
      'Idx:27; ID:0; [0x01 0x8f 0x81 0x01 0x82 0x01 0x83 0x01 0x84 0x01 0x01 ];\tI_TRACE_INFO : Trace Info.; INFO=0x82 { CC.0, TSTATE.0 }',
      'Idx:38; ID:0; [0x0e 0x01 ];\tI_CCNT_F1 : Cycle Count format 1.; Count=0x2',
      'Idx:40; ID:0; [0x0f ];\tI_CCNT_F1 : Cycle Count format 1.; Count=0x0',
      'Idx:41; ID:0; [0x0c 0x32 ];\tI_CCNT_F2 : Cycle Count format 2.; Count=0x3',
      'Idx:43; ID:0; [0x0d 0x32 ];\tI_CCNT_F2 : Cycle Count format 2.; Count=0x3',
      'Idx:45; ID:0; [0x10 ];\tI_CCNT_F3 : Cycle Count format 3.; Count=0x1',
      'Idx:46; ID:0; [0x1f ];\tI_CCNT_F3 : Cycle Count format 3.; Count=0x4',
      'Idx:47; ID:0; [0x01 0x09 0x01 0x05 ];\tI_TRACE_INFO : Trace Info.; INFO=0x1 { CC.1, TSTATE.0 }; CC_THRESHOLD=0x5',
      'Idx:51; ID:0; [0x10 ];\tI_CCNT_F3 : Cycle Count format 3.; Count=0x5',
      'Idx:52; ID:0; [0x01 0x01 0x01 ];\tI_TRACE_INFO : Trace Info.; INFO=0x1 { CC.1, TSTATE.0 }; CC_THRESHOLD=0x5',
      'Idx:55; ID:0; [0x10 ];\tI_CCNT_F3 : Cycle Count format 3.; Count=0x0',
    ],
  },
  {
    name: 'speculation',
    config: 'ETE 0x11 0x2801cea1 0x4100fff0 0xd0001088 0x10 0x47705a13',
    hex: '00000000000000000000008001002d052e052f06303132333435363738393a3b3c3d3e3f',
    lines: [
      'Idx:0; ID:0; [0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x80 ];\tI_ASYNC : Alignment Synchronisation.',
      'Idx:12; ID:0; [0x01 0x00 ];\tI_TRACE_INFO : Trace Info.; INFO=0x0 { CC.0, TSTATE.0 }',
      'Idx:14; ID:0; [0x2d 0x05 ];\tI_COMMIT : Commit; Commit(5)',
      'Idx:16; ID:0; [0x2e 0x05 ];\tI_CANCEL_F1 : Cancel Format 1.; Cancel(5)',
      'Idx:18; ID:0; [0x2f 0x06 ];\tI_CANCEL_F1_MISPRED : Cancel Format 1 + Mispredict.; Cancel(6), Mispredict',
      'Idx:20; ID:0; [0x30 ];\tI_MISPREDICT : Mispredict.; Mispredict',
      'Idx:21; ID:0; [0x31 ];\tI_MISPREDICT : Mispredict.; Atom: E, Mispredict',
      'Idx:22; ID:0; [0x32 ];\tI_MISPREDICT : Mispredict.; Atom: EE, Mispredict',
      'Idx:23; ID:0; [0x33 ];\tI_MISPREDICT : Mispredict.; Atom: N, Mispredict',
      'Idx:24; ID:0; [0x34 ];\tI_CANCEL_F2 : Cancel Format 2.; Cancel(1), Mispredict',
      'Idx:25; ID:0; [0x35 ];\tI_CANCEL_F2 : Cancel Format 2.; Atom: E, Cancel(1), Mispredict',
      'Idx:26; ID:0; [0x36 ];\tI_CANCEL_F2 : Cancel Format 2.; Atom: EE, Cancel(1), Mispredict',
      'Idx:27; ID:0; [0x37 ];\tI_CANCEL_F2 : Cancel Format 2.; Atom: N, Cancel(1), Mispredict',
      'Idx:28; ID:0; [0x38 ];\tI_CANCEL_F3 : Cancel Format 3.; Cancel(2), Mispredict',
      'Idx:29; ID:0; [0x39 ];\tI_CANCEL_F3 : Cancel Format 3.; Atom: E, Cancel(2), Mispredict',
      'Idx:30; ID:0; [0x3a ];\tI_CANCEL_F3 : Cancel Format 3.; Cancel(3), Mispredict',
      'Idx:31; ID:0; [0x3b ];\tI_CANCEL_F3 : Cancel Format 3.; Atom: E, Cancel(3), Mispredict',
      'Idx:32; ID:0; [0x3c ];\tI_CANCEL_F3 : Cancel Format 3.; Cancel(4), Mispredict',
      'Idx:33; ID:0; [0x3d ];\tI_CANCEL_F3 : Cancel Format 3.; Atom: E, Cancel(4), Mispredict',
      'Idx:34; ID:0; [0x3e ];\tI_CANCEL_F3 : Cancel Format 3.; Cancel(5), Mispredict',
      'Idx:35; ID:0; [0x3f ];\tI_CANCEL_F3 : Cancel Format 3.; Atom: E, Cancel(5), Mispredict',
    ],
  },
  {
    name: 'exceptions_ete',
    config: 'ETE 0x11 0x2801cea1 0x4100fff0 0xd0001088 0x10 0x47705a13',
    hex: '000000000000000000000080010006000006019d063180063100068085068801060306580619',
    lines: [
      'Idx:0; ID:0; [0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x80 ];\tI_ASYNC : Alignment Synchronisation.',
      'Idx:12; ID:0; [0x01 0x00 ];\tI_TRACE_INFO : Trace Info.; INFO=0x0 { CC.0, TSTATE.0 }',
      'Idx:14; ID:0; [0x06 0x00 0x00 ];\tI_PE_RESET : PE Reset.',
      'Idx:17; ID:0; [0x06 0x01 0x9d ];\tI_PE_RESET : PE Reset.',
      'Idx:20; ID:0; [0x06 0x31 0x80 ];\tI_TRANS_FAIL : Transaction Fail.',
      'Idx:23; ID:0; [0x06 0x31 0x00 ];\tI_TRANS_FAIL : Transaction Fail.',
      'Idx:26; ID:0; [0x06 0x80 0x85 ];\tI_EXCEPT : Exception.;  Reserved;',
      'Idx:29; ID:0; [0x06 0x88 0x01 ];\tI_EXCEPT : Exception.;  Reserved;',
      'Idx:32; ID:0; [0x06 0x03 ];\tI_EXCEPT : Exception.;  Debug Halt; Ret Addr Follows;',
      'Idx:34; ID:0; [0x06 0x58 ];\tI_EXCEPT : Exception.;  Data Fault; Ret Addr Follows, Match Prev;',
      'Idx:36; ID:0; [0x06 0x19 ];\tI_EXCEPT : Exception.;  Data Fault; Ret Addr Follows;',
    ],
  },
  {
    name: 'exceptions_etm4',
    config: 'ETM4 0xC1 0x28000EA1 0x4100F403 0x00000488 0',
    hex: '000000000000000000000080010006030658061d060d06170607060506a09d07',
    lines: [
      'Idx:0; ID:0; [0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x80 ];\tI_ASYNC : Alignment Synchronisation.',
      'Idx:12; ID:0; [0x01 0x00 ];\tI_TRACE_INFO : Trace Info.; INFO=0x0 { CC.0 }',
      'Idx:14; ID:0; [0x06 0x03 ];\tI_EXCEPT : Exception.;  Debug Halt; Ret Addr Follows;',
      'Idx:16; ID:0; [0x06 0x58 ];\tI_EXCEPT : Exception.;  Data Fault; Ret Addr Follows, Match Prev;',
      'Idx:18; ID:0; [0x06 0x1d ];\tI_EXCEPT : Exception.;  IRQ; Ret Addr Follows;',
      'Idx:20; ID:0; [0x06 0x0d ];\tI_EXCEPT : Exception.;  Inst Debug; Ret Addr Follows;',
      'Idx:22; ID:0; [0x06 0x17 ];\tI_EXCEPT : Exception.;  Inst Fault; Ret Addr Follows;',
      'Idx:24; ID:0; [0x06 0x07 ];\tI_EXCEPT : Exception.;  Trap; Ret Addr Follows;',
      'Idx:26; ID:0; [0x06 0x05 ];\tI_EXCEPT : Exception.;  Call; Ret Addr Follows;',
      'Idx:28; ID:0; [0x06 0xa0 0x9d ];\tI_EXCEPT : Exception.;  Reserved;',
      'Idx:31; ID:0; [0x07 ];\tI_EXCEPT_RTN : Exception Return.',
    ],
  },
  {
    name: 'context',
    config: 'ETM4 0xC1 0x28000EA1 0x4100F403 0x00000488 0',
    hex: '000000000000000000000080010080810081c001020304058110813181f20000000000',
    lines: [
      'Idx:0; ID:0; [0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x80 ];\tI_ASYNC : Alignment Synchronisation.',
      'Idx:12; ID:0; [0x01 0x00 ];\tI_TRACE_INFO : Trace Info.; INFO=0x0 { CC.0 }',
      'Idx:14; ID:0; [0x80 ];\tI_CTXT : Context Packet.; Ctxt: Same',
      'Idx:15; ID:0; [0x81 0x00 ];\tI_CTXT : Context Packet.; Ctxt: AArch32, EL0, S; ',
      'Idx:17; ID:0; [0x81 0xc0 0x01 0x02 0x03 0x04 0x05 ];\tI_CTXT : Context Packet.; Ctxt: AArch32, EL0, S; CID=0x05040302; VMID=0x0001; ',
      'Idx:24; ID:0; [0x81 0x10 ];\tI_CTXT : Context Packet.; Ctxt: AArch64,EL0, S; ',
      'Idx:26; ID:0; [0x81 0x31 ];\tI_CTXT : Context Packet.; Ctxt: AArch64,EL1, NS; ',
      'Idx:28; ID:0; [0x81 0xf2 0x00 0x00 0x00 0x00 0x00 ];\tI_CTXT : Context Packet.; Ctxt: AArch64,EL2, NS; CID=0x00000000; VMID=0x0000; ',
    ],
  },
  {
    name: 'addresses',
    config: 'ETM4 0xC1 0x28000EA1 0x4100F403 0x00000488 0',
    hex: '00000000000000000000008095589581819a0102030495019d01020304050607089a0102030481109a0102030481009a01020304010090919296019681819b010203049e010203040506070882010203041086010203040506070831',
    lines: [
      'Idx:0; ID:0; [0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x80 ];\tI_ASYNC : Alignment Synchronisation.',
      'Idx:12; ID:0; [0x95 0x58 ];\tI_ADDR_S_IS0 : Address, Short, IS0.; Addr=0x?????160 (8:0) ~[0x160]',
      'Idx:14; ID:0; [0x95 0x81 0x81 ];\tI_ADDR_S_IS0 : Address, Short, IS0.; Addr=0x???10204 (16:0) ~[0x10204]',
      'Idx:17; ID:0; [0x9a 0x01 0x02 0x03 0x04 ];\tI_ADDR_L_32IS0 : Address, Long, 32 bit, IS0.; Addr=0x04030404; ',
      'Idx:22; ID:0; [0x95 0x01 ];\tI_ADDR_S_IS0 : Address, Short, IS0.; Addr=0x04030404 ~[0x4]',
      'Idx:24; ID:0; [0x9d 0x01 0x02 0x03 0x04 0x05 0x06 0x07 0x08 ];\tI_ADDR_L_64IS0 : Address, Long, 64 bit, IS0.; Addr=0x0807060504030404; ',
      'Idx:33; ID:0; [0x9a 0x01 0x02 0x03 0x04 ];\tI_ADDR_L_32IS0 : Address, Long, 32 bit, IS0.; Addr=0x0000000004030404; ',
      'Idx:38; ID:0; [0x81 0x10 ];\tI_CTXT : Context Packet.; Ctxt: AArch64,EL0, S; ',
      'Idx:40; ID:0; [0x9a 0x01 0x02 0x03 0x04 ];\tI_ADDR_L_32IS0 : Address, Long, 32 bit, IS0.; Addr=0x0000000004030404; ',
      'Idx:45; ID:0; [0x81 0x00 ];\tI_CTXT : Context Packet.; Ctxt: AArch32, EL0, S; ',
      'Idx:47; ID:0; [0x9a 0x01 0x02 0x03 0x04 ];\tI_ADDR_L_32IS0 : Address, Long, 32 bit, IS0.; Addr=0x0000000004030404; ',
      'Idx:52; ID:0; [0x01 0x00 ];\tI_TRACE_INFO : Trace Info.; INFO=0x0 { CC.0 }',
      'Idx:54; ID:0; [0x90 ];\tI_ADDR_MATCH : Exact Address Match., [0]; Addr=0x0000000000000000; ',
      'Idx:55; ID:0; [0x91 ];\tI_ADDR_MATCH : Exact Address Match., [1]; Addr=0x0000000000000000; ',
      'Idx:56; ID:0; [0x92 ];\tI_ADDR_MATCH : Exact Address Match., [2]; Addr=0x0000000000000000; ',
      'Idx:57; ID:0; [0x96 0x01 ];\tI_ADDR_S_IS1 : Address, Short, IS1.; Addr=0x0000000000000002 ~[0x2]',
      'Idx:59; ID:0; [0x96 0x81 0x81 ];\tI_ADDR_S_IS1 : Address, Short, IS1.; Addr=0x0000000000008102 ~[0x8102]',
      'Idx:62; ID:0; [0x9b 0x01 0x02 0x03 0x04 ];\tI_ADDR_L_32IS1 : Address, Long, 32 bit, IS1.; Addr=0x0000000004030202; ',
      'Idx:67; ID:0; [0x9e 0x01 0x02 0x03 0x04 0x05 0x06 0x07 0x08 ];\tI_ADDR_L_64IS1 : Address, Long, 64 bit, IS1.; Addr=0x0807060504030202; ',
      'Idx:76; ID:0; [0x82 0x01 0x02 0x03 0x04 0x10 ];\tI_ADDR_CTXT_L_32IS0 : Address & Context, Long, 32 bit, IS0.; Addr=0x0000000004030404; Ctxt: AArch64,EL0, S; ',
      'Idx:82; ID:0; [0x86 0x01 0x02 0x03 0x04 0x05 0x06 0x07 0x08 0x31 ];\tI_ADDR_CTXT_L_64IS1 : Address & Context, Long, 64 bit, IS1.; Addr=0x0807060504030202; Ctxt: AArch64,EL1, NS; ',
    ],
  },
  {
    name: 'exact_match',
    config: 'ETM4 0xC1 0x28000EA1 0x4100F403 0x00000488 0',
    hex: '00000000000000000000008090919a01020304909295019190',
    lines: [
      'Idx:0; ID:0; [0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x80 ];\tI_ASYNC : Alignment Synchronisation.',
      'Idx:12; ID:0; [0x90 ];\tI_ADDR_MATCH : Exact Address Match., [0]; Addr=0x0000000000000000; ',
      'Idx:13; ID:0; [0x91 ];\tI_ADDR_MATCH : Exact Address Match., [1]; Addr=0x0000000000000000; ',
      'Idx:14; ID:0; [0x9a 0x01 0x02 0x03 0x04 ];\tI_ADDR_L_32IS0 : Address, Long, 32 bit, IS0.; Addr=0x0000000004030404; ',
      'Idx:19; ID:0; [0x90 ];\tI_ADDR_MATCH : Exact Address Match., [0]; Addr=0x0000000004030404; ',
      'Idx:20; ID:0; [0x92 ];\tI_ADDR_MATCH : Exact Address Match., [2]; Addr=0x0000000000000000; ',
      'Idx:21; ID:0; [0x95 0x01 ];\tI_ADDR_S_IS0 : Address, Short, IS0.; Addr=0x0000000000000004 ~[0x4]',
      'Idx:23; ID:0; [0x91 ];\tI_ADDR_MATCH : Exact Address Match., [1]; Addr=0x0000000000000000; ',
      'Idx:24; ID:0; [0x90 ];\tI_ADDR_MATCH : Exact Address Match., [0]; Addr=0x0000000000000000; ',
    ],
  },
  {
    name: 'q',
    config: 'ETM4 0xC1 0x28018EA1 0x4100F403 0x00000488 0',
    hex: '000000000000000000000080a50101aa0102030405a0010100a005a18501a201a3a5810101a681018101ab0102030405ac05afa4',
    lines: [
      'Idx:0; ID:0; [0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x80 ];\tI_ASYNC : Alignment Synchronisation.',
      'Idx:12; ID:0; [0xa5 0x01 0x01 ];\tI_Q : Q Packet.; Count(1); Addr=0x?????004 (8:0) ~[0x4]',
      'Idx:15; ID:0; [0xaa 0x01 0x02 0x03 0x04 0x05 ];\tI_Q : Q Packet.; Count(5); Addr=0x04030404 ~[0x4030404]',
      'Idx:21; ID:0; [0xa0 0x01 ];\tI_Q : Q Packet.; Count(1); [0]; Addr=0x04030404 ~[0x4030404]',
      'Idx:23; ID:0; [0x01 0x00 ];\tI_TRACE_INFO : Trace Info.; INFO=0x0 { CC.0 }',
      'Idx:25; ID:0; [0xa0 0x05 ];\tI_Q : Q Packet.; Count(5); [0]; Addr=0x0000000000000000',
      'Idx:27; ID:0; [0xa1 0x85 0x01 ];\tI_Q : Q Packet.; Count(133); [1]; Addr=0x0000000000000000',
      'Idx:30; ID:0; [0xa2 0x01 ];\tI_Q : Q Packet.; Count(1); [2]; Addr=0x0000000000000000',
      'Idx:32; ID:0; [0xa3 ];\tI_RESERVED : Reserved Packet Header',
      'Idx:33; ID:0; [0xa5 0x81 0x01 0x01 ];\tI_Q : Q Packet.; Count(1); Addr=0x0000000000000204 ~[0x204]',
      'Idx:37; ID:0; [0xa6 0x81 0x01 0x81 0x01 ];\tI_Q : Q Packet.; Count(129); Addr=0x0000000000000102 ~[0x102]',
      'Idx:42; ID:0; [0xab 0x01 0x02 0x03 0x04 0x05 ];\tI_Q : Q Packet.; Count(5); Addr=0x0000000004030202 ~[0x4030202]',
      'Idx:48; ID:0; [0xac 0x05 ];\tI_Q : Q Packet.; Count(5)',
      'Idx:50; ID:0; [0xaf ];\tI_Q : Q Packet.; Count(Unknown)',
      'Idx:51; ID:0; [0xa4 ];\tI_RESERVED : Reserved Packet Header',
    ],
  },
  {
    name: 'ete_only',
    config: 'ETE 0x11 0x2801cea1 0x4100fff0 0xd0001088 0x10 0x47705a13',
    hex: '0000000000000000000000800100b0b1b2b3b401b501b601020304b701020304b80102030405060708b90102030405060708ba0a0b8870070905',
    lines: [
      'Idx:0; ID:0; [0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x80 ];\tI_ASYNC : Alignment Synchronisation.',
      'Idx:12; ID:0; [0x01 0x00 ];\tI_TRACE_INFO : Trace Info.; INFO=0x0 { CC.0, TSTATE.0 }',
      'Idx:14; ID:0; [0xb0 ];\tI_SRC_ADDR_MATCH : Exact Source Address Match., [0]; Addr=0x0000000000000000; ',
      'Idx:15; ID:0; [0xb1 ];\tI_SRC_ADDR_MATCH : Exact Source Address Match., [1]; Addr=0x0000000000000000; ',
      'Idx:16; ID:0; [0xb2 ];\tI_SRC_ADDR_MATCH : Exact Source Address Match., [2]; Addr=0x0000000000000000; ',
      'Idx:17; ID:0; [0xb3 ];\tI_RESERVED : Reserved Packet Header',
      'Idx:18; ID:0; [0xb4 0x01 ];\tI_SRC_ADDR_S_IS0 : Source Address, Short, IS0.; Addr=0x0000000000000004 ~[0x4]',
      'Idx:20; ID:0; [0xb5 0x01 ];\tI_SRC_ADDR_S_IS1 : Source Address, Short, IS1.; Addr=0x0000000000000002 ~[0x2]',
      'Idx:22; ID:0; [0xb6 0x01 0x02 0x03 0x04 ];\tI_SCR_ADDR_L_32IS0 : Source Address, Long, 32 bit, IS0.; Addr=0x0000000004030404; ',
      'Idx:27; ID:0; [0xb7 0x01 0x02 0x03 0x04 ];\tI_SRC_ADDR_L_32IS1 : Source Address, Long, 32 bit, IS1.; Addr=0x0000000004030202; ',
      'Idx:32; ID:0; [0xb8 0x01 0x02 0x03 0x04 0x05 0x06 0x07 0x08 ];\tI_SRC_ADDR_L_64IS0 : Source Address, Long, 64 bit, IS0.; Addr=0x0807060504030404; ',
      'Idx:41; ID:0; [0xb9 0x01 0x02 0x03 0x04 0x05 0x06 0x07 0x08 ];\tI_SRC_ADDR_L_64IS1 : Source Address, Long, 64 bit, IS1.; Addr=0x0807060504030202; ',
      'Idx:50; ID:0; [0xba ];\tI_RESERVED : Reserved Packet Header',
      'Idx:51; ID:0; [0x0a ];\tI_TRANS_ST : Transaction Start.',
      'Idx:52; ID:0; [0x0b ];\tI_TRANS_COMMIT : Transaction Commit.',
      'Idx:53; ID:0; [0x88 ];\tI_TS_MARKER : Timestamp Marker',
      'Idx:54; ID:0; [0x70 ];\tI_IGNORE : Ignore.',
      'Idx:55; ID:0; [0x07 ];\tI_RESERVED_CFG : Reserved header for current configuration.[I_EXCEPT_RTN]',
      'Idx:56; ID:0; [0x09 ];\tI_RESERVED : Reserved Packet Header',
      'Idx:57; ID:0; [0x05 ];\tI_RESERVED : Reserved Packet Header',
    ],
  },
  {
    name: 'reserved_etm4',
    config: 'ETM4 0xC1 0x28000EA1 0x4100F403 0x00000488 0',
    hex: '000000000000000000000080010008202840474b4f606770848788898f939497999c9fb0babf050a0b09',
    lines: [
      'Idx:0; ID:0; [0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x80 ];\tI_ASYNC : Alignment Synchronisation.',
      'Idx:12; ID:0; [0x01 0x00 ];\tI_TRACE_INFO : Trace Info.; INFO=0x0 { CC.0 }',
      'Idx:14; ID:0; [0x08 ];\tI_RESERVED : Reserved Packet Header',
      'Idx:15; ID:0; [0x20 ];\tI_RESERVED_CFG : Reserved header for current configuration.[I_NUM_DS_MKR]',
      'Idx:16; ID:0; [0x28 ];\tI_RESERVED_CFG : Reserved header for current configuration.[I_UNNUM_DS_MKR]',
      'Idx:17; ID:0; [0x40 ];\tI_RESERVED_CFG : Reserved header for current configuration.[I_COND_I_F2]',
      'Idx:18; ID:0; [0x47 ];\tI_RESERVED : Reserved Packet Header',
      'Idx:19; ID:0; [0x4b ];\tI_RESERVED : Reserved Packet Header',
      'Idx:20; ID:0; [0x4f ];\tI_RESERVED : Reserved Packet Header',
      'Idx:21; ID:0; [0x60 ];\tI_RESERVED : Reserved Packet Header',
      'Idx:22; ID:0; [0x67 ];\tI_RESERVED : Reserved Packet Header',
      'Idx:23; ID:0; [0x70 ];\tI_RESERVED : Reserved Packet Header',
      'Idx:24; ID:0; [0x84 ];\tI_RESERVED : Reserved Packet Header',
      'Idx:25; ID:0; [0x87 ];\tI_RESERVED : Reserved Packet Header',
      'Idx:26; ID:0; [0x88 ];\tI_RESERVED : Reserved Packet Header',
      'Idx:27; ID:0; [0x89 ];\tI_RESERVED : Reserved Packet Header',
      'Idx:28; ID:0; [0x8f ];\tI_RESERVED : Reserved Packet Header',
      'Idx:29; ID:0; [0x93 ];\tI_RESERVED : Reserved Packet Header',
      'Idx:30; ID:0; [0x94 ];\tI_RESERVED : Reserved Packet Header',
      'Idx:31; ID:0; [0x97 ];\tI_RESERVED : Reserved Packet Header',
      'Idx:32; ID:0; [0x99 ];\tI_RESERVED : Reserved Packet Header',
      'Idx:33; ID:0; [0x9c ];\tI_RESERVED : Reserved Packet Header',
      'Idx:34; ID:0; [0x9f ];\tI_RESERVED : Reserved Packet Header',
      'Idx:35; ID:0; [0xb0 ];\tI_RESERVED : Reserved Packet Header',
      'Idx:36; ID:0; [0xba ];\tI_RESERVED : Reserved Packet Header',
      'Idx:37; ID:0; [0xbf ];\tI_RESERVED : Reserved Packet Header',
      'Idx:38; ID:0; [0x05 ];\tI_RESERVED : Reserved Packet Header',
      'Idx:39; ID:0; [0x0a ];\tI_RESERVED : Reserved Packet Header',
      'Idx:40; ID:0; [0x0b ];\tI_RESERVED : Reserved Packet Header',
      'Idx:41; ID:0; [0x09 ];\tI_RESERVED : Reserved Packet Header',
    ],
  },
  {
    name: 'extension',
    config: 'ETM4 0xC1 0x28000EA1 0x4100F403 0x00000488 0',
    hex: '000000000000000000000080010000030005000200f7000080000000000000000000000000000000000000000000000000000080',
    lines: [
      'Idx:0; ID:0; [0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x80 ];\tI_ASYNC : Alignment Synchronisation.',
      'Idx:12; ID:0; [0x01 0x00 ];\tI_TRACE_INFO : Trace Info.; INFO=0x0 { CC.0 }',
      'Idx:14; ID:0; [0x00 0x03 ];\tI_DISCARD : Discard.',
      'Idx:16; ID:0; [0x00 0x05 ];\tI_OVERFLOW : Overflow.',
      'Idx:18; ID:0; [0x00 0x02 ];\tI_BAD_SEQUENCE : Invalid Sequence in packet.[I_EXTENSION]',
      'Idx:20; ID:0; [0x00 0xf7 ];\tI_BAD_SEQUENCE : Invalid Sequence in packet.[I_EXTENSION]',
      'Idx:22; ID:0; [0x00 0x00 0x80 ];\tI_BAD_SEQUENCE : Invalid Sequence in packet.[I_ASYNC]',
      'Idx:25; ID:0; [0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 ];\tI_BAD_SEQUENCE : Invalid Sequence in packet.[I_ASYNC]',
      'Idx:37; ID:0; [0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 ];\tI_BAD_SEQUENCE : Invalid Sequence in packet.[I_ASYNC]',
      'Idx:49; ID:0; [0x00 0x00 0x80 ];\tI_BAD_SEQUENCE : Invalid Sequence in packet.[I_ASYNC]',
    ],
  },
  {
    name: 'atoms',
    config: 'ETM4 0xC1 0x28000EA1 0x4100F403 0x00000488 0',
    hex: '0000000000000000000000800100f6f7d8d9dadbf8f9fafbfcfdfeffdcdddedfd5d6d7f5c0c1d3d4e0e1f3f4717a7f',
    lines: [
      'Idx:0; ID:0; [0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x80 ];\tI_ASYNC : Alignment Synchronisation.',
      'Idx:12; ID:0; [0x01 0x00 ];\tI_TRACE_INFO : Trace Info.; INFO=0x0 { CC.0 }',
      'Idx:14; ID:0; [0xf6 ];\tI_ATOM_F1 : Atom format 1.; N',
      'Idx:15; ID:0; [0xf7 ];\tI_ATOM_F1 : Atom format 1.; E',
      'Idx:16; ID:0; [0xd8 ];\tI_ATOM_F2 : Atom format 2.; NN',
      'Idx:17; ID:0; [0xd9 ];\tI_ATOM_F2 : Atom format 2.; EN',
      'Idx:18; ID:0; [0xda ];\tI_ATOM_F2 : Atom format 2.; NE',
      'Idx:19; ID:0; [0xdb ];\tI_ATOM_F2 : Atom format 2.; EE',
      'Idx:20; ID:0; [0xf8 ];\tI_ATOM_F3 : Atom format 3.; NNN',
      'Idx:21; ID:0; [0xf9 ];\tI_ATOM_F3 : Atom format 3.; ENN',
      'Idx:22; ID:0; [0xfa ];\tI_ATOM_F3 : Atom format 3.; NEN',
      'Idx:23; ID:0; [0xfb ];\tI_ATOM_F3 : Atom format 3.; EEN',
      'Idx:24; ID:0; [0xfc ];\tI_ATOM_F3 : Atom format 3.; NNE',
      'Idx:25; ID:0; [0xfd ];\tI_ATOM_F3 : Atom format 3.; ENE',
      'Idx:26; ID:0; [0xfe ];\tI_ATOM_F3 : Atom format 3.; NEE',
      'Idx:27; ID:0; [0xff ];\tI_ATOM_F3 : Atom format 3.; EEE',
      'Idx:28; ID:0; [0xdc ];\tI_ATOM_F4 : Atom format 4.; NEEE',
      'Idx:29; ID:0; [0xdd ];\tI_ATOM_F4 : Atom format 4.; NNNN',
      'Idx:30; ID:0; [0xde ];\tI_ATOM_F4 : Atom format 4.; NENE',
      'Idx:31; ID:0; [0xdf ];\tI_ATOM_F4 : Atom format 4.; ENEN',
      'Idx:32; ID:0; [0xd5 ];\tI_ATOM_F5 : Atom format 5.; NNNNN',
      'Idx:33; ID:0; [0xd6 ];\tI_ATOM_F5 : Atom format 5.; NENEN',
      'Idx:34; ID:0; [0xd7 ];\tI_ATOM_F5 : Atom format 5.; ENENE',
      'Idx:35; ID:0; [0xf5 ];\tI_ATOM_F5 : Atom format 5.; NEEEE',
      'Idx:36; ID:0; [0xc0 ];\tI_ATOM_F6 : Atom format 6.; EEEE',
      'Idx:37; ID:0; [0xc1 ];\tI_ATOM_F6 : Atom format 6.; EEEEE',
      'Idx:38; ID:0; [0xd3 ];\tI_ATOM_F6 : Atom format 6.; EEEEEEEEEEEEEEEEEEEEEEE',
      'Idx:39; ID:0; [0xd4 ];\tI_ATOM_F6 : Atom format 6.; EEEEEEEEEEEEEEEEEEEEEEEE',
      'Idx:40; ID:0; [0xe0 ];\tI_ATOM_F6 : Atom format 6.; EEEN',
      'Idx:41; ID:0; [0xe1 ];\tI_ATOM_F6 : Atom format 6.; EEEEN',
      'Idx:42; ID:0; [0xf3 ];\tI_ATOM_F6 : Atom format 6.; EEEEEEEEEEEEEEEEEEEEEEN',
      'Idx:43; ID:0; [0xf4 ];\tI_ATOM_F6 : Atom format 6.; EEEEEEEEEEEEEEEEEEEEEEEN',
      'Idx:44; ID:0; [0x71 ];\tI_EVENT : Trace Event.',
      'Idx:45; ID:0; [0x7a ];\tI_EVENT : Trace Event.',
      'Idx:46; ID:0; [0x7f ];\tI_EVENT : Trace Event.',
    ],
  },
];

function configOf(g: Golden): Etm4Config {
  const [type, cfgr, idr0, idr1, idr2, idr8, devarch] = g.config.split(' ');
  const regs = { TRCCONFIGR: Number(cfgr), TRCTRACEIDR: 0x10, TRCIDR0: Number(idr0), TRCIDR1: Number(idr1), TRCIDR2: Number(idr2), TRCIDR8: Number(idr8) };
  return etm4Config(devarch === undefined ? regs : { ...regs, TRCDEVARCH: Number(devarch) }, { ete: type === 'ETE' });
}

function bytesOf(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g)!.map((h) => parseInt(h, 16)));
}

function list(cfg: Etm4Config, data: Uint8Array, chunks: number[]): string[] {
  const lines: string[] = [];
  // 1.3.3 predates FEAT_RME: it prints the security state from NS alone.
  const as133 = (l: string): string => l.replace('; Decoder Sync point TINFO', '').replace(', Realm;', ', NS;').replace(', Root;', ', S;');
  const dec = new Etm4PacketDecoder(cfg, { packet: (p) => lines.push(as133(formatPacketLine(p, { ete: cfg.ete }))), error: () => {} }, 0);
  let pos = 0;
  let k = 0;
  while (pos < data.length) {
    const n = Math.min(data.length - pos, chunks[k++ % chunks.length]!);
    dec.push(data.subarray(pos, pos + n));
    pos += n;
  }
  dec.end();
  return lines;
}

for (const g of GOLDEN) {
  t.test(g.name, async (t) => {
    const cfg = configOf(g);
    const data = bytesOf(g.hex);
    t.same(list(cfg, data, [data.length]), g.lines, 'whole buffer');
    t.same(list(cfg, data, [1]), g.lines, 'one byte at a time');
    t.same(list(cfg, data, [3, 1, 7, 2, 13]), g.lines, 'uneven chunks');
  });
}
