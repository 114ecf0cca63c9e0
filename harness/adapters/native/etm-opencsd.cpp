// etm-opencsd: runs the system OpenCSD library (Debian libopencsd, C API) over a trace buffer
// and counts what comes out, for hwtrace's benchmarks and differential tests.
//
//   etm-opencsd [options] --etm4 ID,IDR0,IDR1,IDR2,IDR8,CONFIGR [--ete ID,IDR0,IDR1,IDR2,IDR8,CONFIGR,DEVARCH] ... FILE
//
// Modes:
//   --mode packets (default)  frame deformatter + ETMv4/ETE packet processor only, with a
//                             counting packet sink: packets by type.
//   --mode decode             packet processor + packet decoder to generic trace elements,
//                             with memory images (--mem ADDR:FILE); counts elements and
//                             instructions (INSTR_RANGE num_instr).
// Input framing: --format memory (ETB/ETR frames, default), tpiu (FSYNCs), raw (one source,
// no frames: the first --etm4/--ete is used).
// --repeat N decodes the buffer N times with a fresh decode tree each time and reports every
// run's time, so a caller can take the best or the median.
// Output: one JSON object on stdout. Exit 0, or 2 on bad usage, 1 on library errors.

#include <opencsd/c_api/opencsd_c_api.h>
#include <opencsd/etmv4/trc_pkt_types_etmv4.h>
#include <opencsd/ete/trc_pkt_types_ete.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace {

struct Source {
  bool ete = false;
  uint32_t id = 0, idr0 = 0, idr1 = 0, idr2 = 0, idr8 = 0, configr = 0, devarch = 0x47705A13;
};

struct MemImage {
  uint64_t address = 0;
  std::string file;
};

struct Counts {
  uint64_t packets = 0;
  std::map<int, uint64_t> byType;
  uint64_t elements = 0;
  uint64_t instructions = 0;
  std::map<int, uint64_t> byElement;
};

[[noreturn]] void usage(const char *msg) {
  std::fprintf(stderr, "etm-opencsd: %s\n", msg);
  std::fprintf(stderr,
               "usage: etm-opencsd [--mode packets|decode] [--format memory|tpiu|raw] [--repeat N]\n"
               "                   [--mem ADDR:FILE]... --etm4 ID,IDR0,IDR1,IDR2,IDR8,CONFIGR\n"
               "                   [--ete ID,IDR0,IDR1,IDR2,IDR8,CONFIGR,DEVARCH]... FILE\n");
  std::exit(2);
}

bool parseList(const char *text, std::vector<uint32_t> &out) {
  std::string s(text);
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t comma = s.find(',', pos);
    std::string item = s.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    char *end = nullptr;
    unsigned long v = std::strtoul(item.c_str(), &end, 0);
    if (item.empty() || *end != '\0' || v > 0xFFFFFFFFul) return false;
    out.push_back(static_cast<uint32_t>(v));
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return true;
}

const char *packetName(int t) {
  switch (t) {
    case ETM4_PKT_I_NOTSYNC: return "I_NOT_SYNC";
    case ETM4_PKT_I_INCOMPLETE_EOT: return "I_INCOMPLETE_EOT";
    case ETM4_PKT_I_BAD_SEQUENCE: return "I_BAD_SEQUENCE";
    case ETM4_PKT_I_RESERVED: return "I_RESERVED";
    case ETM4_PKT_I_RESERVED_CFG: return "I_RESERVED_CFG";
    case ETM4_PKT_I_TRACE_INFO: return "I_TRACE_INFO";
    case ETM4_PKT_I_TIMESTAMP: return "I_TIMESTAMP";
    case ETM4_PKT_I_TRACE_ON: return "I_TRACE_ON";
    case ETM4_PKT_I_FUNC_RET: return "I_FUNC_RET";
    case ETM4_PKT_I_EXCEPT: return "I_EXCEPT";
    case ETM4_PKT_I_EXCEPT_RTN: return "I_EXCEPT_RTN";
    case ETE_PKT_I_TRANS_ST: return "I_TRANS_ST";
    case ETE_PKT_I_TRANS_COMMIT: return "I_TRANS_COMMIT";
    case ETM4_PKT_I_CCNT_F1: return "I_CCNT_F1";
    case ETM4_PKT_I_CCNT_F2: return "I_CCNT_F2";
    case ETM4_PKT_I_CCNT_F3: return "I_CCNT_F3";
    case ETM4_PKT_I_COMMIT: return "I_COMMIT";
    case ETM4_PKT_I_CANCEL_F1: return "I_CANCEL_F1";
    case ETM4_PKT_I_CANCEL_F1_MISPRED: return "I_CANCEL_F1_MISPRED";
    case ETM4_PKT_I_MISPREDICT: return "I_MISPREDICT";
    case ETM4_PKT_I_CANCEL_F2: return "I_CANCEL_F2";
    case ETM4_PKT_I_CANCEL_F3: return "I_CANCEL_F3";
    case ETM4_PKT_I_IGNORE: return "I_IGNORE";
    case ETM4_PKT_I_EVENT: return "I_EVENT";
    case ETM4_PKT_I_CTXT: return "I_CTXT";
    case ETM4_PKT_I_ADDR_CTXT_L_32IS0: return "I_ADDR_CTXT_L_32IS0";
    case ETM4_PKT_I_ADDR_CTXT_L_32IS1: return "I_ADDR_CTXT_L_32IS1";
    case ETM4_PKT_I_ADDR_CTXT_L_64IS0: return "I_ADDR_CTXT_L_64IS0";
    case ETM4_PKT_I_ADDR_CTXT_L_64IS1: return "I_ADDR_CTXT_L_64IS1";
    case ETE_PKT_I_TS_MARKER: return "I_TS_MARKER";
    case ETM4_PKT_I_ADDR_MATCH: return "I_ADDR_MATCH";
    case ETM4_PKT_I_ADDR_S_IS0: return "I_ADDR_S_IS0";
    case ETM4_PKT_I_ADDR_S_IS1: return "I_ADDR_S_IS1";
    case ETM4_PKT_I_ADDR_L_32IS0: return "I_ADDR_L_32IS0";
    case ETM4_PKT_I_ADDR_L_32IS1: return "I_ADDR_L_32IS1";
    case ETM4_PKT_I_ADDR_L_64IS0: return "I_ADDR_L_64IS0";
    case ETM4_PKT_I_ADDR_L_64IS1: return "I_ADDR_L_64IS1";
    case ETM4_PKT_I_Q: return "I_Q";
    case ETE_PKT_I_SRC_ADDR_MATCH: return "I_SRC_ADDR_MATCH";
    case ETE_PKT_I_SRC_ADDR_S_IS0: return "I_SRC_ADDR_S_IS0";
    case ETE_PKT_I_SRC_ADDR_S_IS1: return "I_SRC_ADDR_S_IS1";
    case ETE_PKT_I_SRC_ADDR_L_32IS0: return "I_SCR_ADDR_L_32IS0";
    case ETE_PKT_I_SRC_ADDR_L_32IS1: return "I_SRC_ADDR_L_32IS1";
    case ETE_PKT_I_SRC_ADDR_L_64IS0: return "I_SRC_ADDR_L_64IS0";
    case ETE_PKT_I_SRC_ADDR_L_64IS1: return "I_SRC_ADDR_L_64IS1";
    case ETM4_PKT_I_ATOM_F1: return "I_ATOM_F1";
    case ETM4_PKT_I_ATOM_F2: return "I_ATOM_F2";
    case ETM4_PKT_I_ATOM_F3: return "I_ATOM_F3";
    case ETM4_PKT_I_ATOM_F4: return "I_ATOM_F4";
    case ETM4_PKT_I_ATOM_F5: return "I_ATOM_F5";
    case ETM4_PKT_I_ATOM_F6: return "I_ATOM_F6";
    case ETM4_PKT_I_ASYNC: return "I_ASYNC";
    case ETM4_PKT_I_DISCARD: return "I_DISCARD";
    case ETM4_PKT_I_OVERFLOW: return "I_OVERFLOW";
    case ETE_PKT_I_PE_RESET: return "I_PE_RESET";
    case ETE_PKT_I_TRANS_FAIL: return "I_TRANS_FAIL";
    default: return nullptr;
  }
}

// Packet sink: counts packets by type. Only the type field is read, so the cost measured is
// OpenCSD's deformatting and packet processing.
ocsd_datapath_resp_t countPacket(const void *ctx, const ocsd_datapath_op_t op, const ocsd_trc_index_t, const void *pkt) {
  if (op != OCSD_OP_DATA || pkt == nullptr) return OCSD_RESP_CONT;
  Counts *c = static_cast<Counts *>(const_cast<void *>(ctx));
  c->packets++;
  c->byType[static_cast<const ocsd_etmv4_i_pkt *>(pkt)->type]++;
  return OCSD_RESP_CONT;
}

// Generic element sink for --mode decode.
ocsd_datapath_resp_t countElement(const void *ctx, const ocsd_trc_index_t, const uint8_t, const ocsd_generic_trace_elem *elem) {
  Counts *c = static_cast<Counts *>(const_cast<void *>(ctx));
  c->elements++;
  c->byElement[elem->elem_type]++;
  if (elem->elem_type == OCSD_GEN_TRC_ELEM_INSTR_RANGE) c->instructions += elem->num_instr_range;
  return OCSD_RESP_CONT;
}

struct Options {
  bool decode = false;
  std::string format = "memory";
  int repeat = 1;
  std::vector<Source> sources;
  std::vector<MemImage> mems;
  std::string file;
};

Options parseArgs(int argc, char **argv) {
  Options o;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto value = [&]() -> const char * {
      if (i + 1 >= argc) usage((a + " needs a value").c_str());
      return argv[++i];
    };
    if (a == "--mode") {
      std::string m = value();
      if (m == "packets") o.decode = false;
      else if (m == "decode") o.decode = true;
      else usage("--mode is packets or decode");
    } else if (a == "--format") {
      o.format = value();
      if (o.format != "memory" && o.format != "tpiu" && o.format != "raw") usage("--format is memory, tpiu or raw");
    } else if (a == "--repeat") {
      o.repeat = std::atoi(value());
      if (o.repeat < 1 || o.repeat > 1000) usage("--repeat is 1..1000");
    } else if (a == "--etm4" || a == "--ete") {
      std::vector<uint32_t> v;
      bool ete = a == "--ete";
      if (!parseList(value(), v) || v.size() != (ete ? 7u : 6u)) usage(ete ? "--ete ID,IDR0,IDR1,IDR2,IDR8,CONFIGR,DEVARCH" : "--etm4 ID,IDR0,IDR1,IDR2,IDR8,CONFIGR");
      Source s;
      s.ete = ete;
      s.id = v[0];
      s.idr0 = v[1];
      s.idr1 = v[2];
      s.idr2 = v[3];
      s.idr8 = v[4];
      s.configr = v[5];
      if (ete) s.devarch = v[6];
      if (s.id == 0 || s.id >= 0x70) usage("trace ID must be 0x01..0x6f");
      o.sources.push_back(s);
    } else if (a == "--mem") {
      std::string m = value();
      size_t colon = m.find(':');
      if (colon == std::string::npos) usage("--mem ADDR:FILE");
      MemImage img;
      img.address = std::strtoull(m.substr(0, colon).c_str(), nullptr, 0);
      img.file = m.substr(colon + 1);
      o.mems.push_back(img);
    } else if (!a.empty() && a[0] == '-') {
      usage(("unknown option " + a).c_str());
    } else {
      if (!o.file.empty()) usage("one input file only");
      o.file = a;
    }
  }
  if (o.file.empty()) usage("no input file");
  if (o.sources.empty()) usage("no --etm4/--ete source");
  return o;
}

std::vector<uint8_t> readFile(const std::string &path) {
  std::vector<uint8_t> data;
  FILE *f = std::fopen(path.c_str(), "rb");
  if (!f) {
    std::fprintf(stderr, "etm-opencsd: cannot open %s\n", path.c_str());
    std::exit(1);
  }
  uint8_t buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) data.insert(data.end(), buf, buf + n);
  std::fclose(f);
  return data;
}

// Builds a decode tree, pushes the whole buffer through it, returns the seconds spent.
double runOnce(const Options &o, const std::vector<uint8_t> &data, Counts &counts, bool &failed) {
  const bool raw = o.format == "raw";
  uint32_t flags = o.format == "tpiu" ? OCSD_DFRMTR_HAS_FSYNCS : OCSD_DFRMTR_FRAME_MEM_ALIGN;
  dcd_tree_handle_t tree = ocsd_create_dcd_tree(raw ? OCSD_TRC_SRC_SINGLE : OCSD_TRC_SRC_FRAME_FORMATTED, raw ? 0 : flags);
  if (tree == C_API_INVALID_TREE_HANDLE) {
    std::fprintf(stderr, "etm-opencsd: cannot create a decode tree\n");
    std::exit(1);
  }
  const int createFlags = o.decode ? OCSD_CREATE_FLG_FULL_DECODER : OCSD_CREATE_FLG_PACKET_PROC;
  for (size_t i = 0; i < o.sources.size() && (!raw || i == 0); i++) {
    const Source &s = o.sources[i];
    unsigned char csid = 0;
    ocsd_err_t err;
    if (s.ete) {
      ocsd_ete_cfg cfg{};
      cfg.reg_idr0 = s.idr0;
      cfg.reg_idr1 = s.idr1;
      cfg.reg_idr2 = s.idr2;
      cfg.reg_idr8 = s.idr8;
      cfg.reg_devarch = s.devarch;
      cfg.reg_configr = s.configr;
      cfg.reg_traceidr = s.id;
      cfg.arch_ver = ARCH_AA64;
      cfg.core_prof = profile_CortexA;
      err = ocsd_dt_create_decoder(tree, OCSD_BUILTIN_DCD_ETE, createFlags, &cfg, &csid);
    } else {
      ocsd_etmv4_cfg cfg{};
      cfg.reg_idr0 = s.idr0;
      cfg.reg_idr1 = s.idr1;
      cfg.reg_idr2 = s.idr2;
      cfg.reg_idr8 = s.idr8;
      cfg.reg_configr = s.configr;
      cfg.reg_traceidr = s.id;
      cfg.arch_ver = ARCH_V8;
      cfg.core_prof = profile_CortexA;
      err = ocsd_dt_create_decoder(tree, OCSD_BUILTIN_DCD_ETMV4I, createFlags, &cfg, &csid);
    }
    if (err != OCSD_OK) {
      std::fprintf(stderr, "etm-opencsd: cannot create the decoder for trace ID 0x%x (OpenCSD error %d)\n", s.id, static_cast<int>(err));
      std::exit(1);
    }
    if (!o.decode) ocsd_dt_attach_packet_callback(tree, csid, OCSD_C_API_CB_PKT_SINK, reinterpret_cast<void *>(&countPacket), &counts);
  }
  if (o.decode) {
    ocsd_dt_set_gen_elem_outfn(tree, countElement, &counts);
    for (const MemImage &m : o.mems) {
      if (ocsd_dt_add_binfile_mem_acc(tree, m.address, OCSD_MEM_SPACE_ANY, m.file.c_str()) != OCSD_OK) {
        std::fprintf(stderr, "etm-opencsd: cannot map %s at 0x%" PRIx64 "\n", m.file.c_str(), m.address);
        std::exit(1);
      }
    }
  }
  auto t0 = std::chrono::steady_clock::now();
  uint32_t pos = 0;
  const uint32_t size = static_cast<uint32_t>(data.size());
  while (pos < size) {
    uint32_t done = 0;
    ocsd_datapath_resp_t r = ocsd_dt_process_data(tree, OCSD_OP_DATA, pos, size - pos, data.data() + pos, &done);
    pos += done;
    if (OCSD_DATA_RESP_IS_FATAL(r)) {
      failed = true;
      break;
    }
    if (OCSD_DATA_RESP_IS_WAIT(r)) {
      uint32_t flushDone = 0;
      ocsd_dt_process_data(tree, OCSD_OP_FLUSH, 0, 0, nullptr, &flushDone);
    }
  }
  uint32_t eot = 0;
  ocsd_dt_process_data(tree, OCSD_OP_EOT, 0, 0, nullptr, &eot);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ocsd_destroy_dcd_tree(tree);
  return seconds;
}

}  // namespace

int main(int argc, char **argv) {
  Options o = parseArgs(argc, argv);
  std::vector<uint8_t> data = readFile(o.file);
  ocsd_def_errlog_init(OCSD_ERR_SEV_NONE, 0);
  Counts counts;
  std::vector<double> times;
  bool failed = false;
  for (int r = 0; r < o.repeat; r++) {
    Counts c;
    times.push_back(runOnce(o, data, c, failed));
    counts = c;
  }
  double best = times[0];
  for (double t : times) best = t < best ? t : best;
  std::printf("{\"library\":\"%s\",\"mode\":\"%s\",\"format\":\"%s\",\"bytes\":%zu,\"runs\":[", ocsd_get_version_str(), o.decode ? "decode" : "packets", o.format.c_str(), data.size());
  for (size_t i = 0; i < times.size(); i++) std::printf("%s%.6f", i ? "," : "", times[i]);
  std::printf("],\"seconds\":%.6f,\"mbPerSec\":%.3f,\"packets\":%" PRIu64 ",\"types\":{", best, best > 0 ? data.size() / 1e6 / best : 0.0, counts.packets);
  bool first = true;
  for (const auto &kv : counts.byType) {
    const char *name = packetName(kv.first);
    if (name) std::printf("%s\"%s\":%" PRIu64, first ? "" : ",", name, kv.second);
    else std::printf("%s\"0x%x\":%" PRIu64, first ? "" : ",", kv.first, kv.second);
    first = false;
  }
  std::printf("},\"elements\":%" PRIu64 ",\"instructions\":%" PRIu64 ",\"elementTypes\":{", counts.elements, counts.instructions);
  first = true;
  for (const auto &kv : counts.byElement) {
    std::printf("%s\"%d\":%" PRIu64, first ? "" : ",", kv.first, kv.second);
    first = false;
  }
  std::printf("},\"fatal\":%s}\n", failed ? "true" : "false");
  return failed ? 1 : 0;
}
