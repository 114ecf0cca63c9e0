/* pt-libipt: drives the system libipt (Intel's Processor Trace decoder library) so hwtrace can
 * compare its own decoders with it. Built by `npm run build:native` (cc ... -lipt).
 *
 * Subcommands (one table entry each, so later ones such as `insn`/`block` slot in beside them):
 *
 *   pt-libipt --version
 *       "libipt MAJOR.MINOR.PATCH[EXT]" from pt_library_version().
 *
 *   pt-libipt packets [--no-sync] [--cpu F/M[/S]] FILE
 *       libipt's packet decoder: pt_pkt_sync_forward, then pt_pkt_next until the end. One line
 *       per packet:
 *           OFFSET SIZE MNEMONIC [KEY=VALUE ...]
 *       OFFSET and every VALUE are lowercase hex without 0x; SIZE is decimal. Mnemonics are
 *       ptdump's (pad psb psbend fup tip tip.pge tip.pgd tnt.8 tnt.64 mode.exec mode.tsx pip
 *       vmcs cbr tsc tma mtc cyc stop ovf mnt exstop mwait pwre pwrx ptw); the keys of each are
 *       in print_packet() below. A decode error prints
 *           OFFSET error CODE
 *       with CODE the libipt error name without its pte_ prefix (bad_opc, bad_packet, eos, ...),
 *       after which the decoder resyncs forward to the next PSB as ptdump does. A packet cut
 *       off by the end of the file is reported as `error eos` at its offset (ptdump stays silent
 *       there; hwtrace reports it, and so does this driver).
 *
 *   pt-libipt count [--no-sync] FILE
 *       The same decode loop, no per-packet output. Prints one line of JSON:
 *       {"bytes":..,"packets":..,"errors":..,"byType":{"tnt.8":..,...},"seconds":..,
 *        "cpuSeconds":..,"mbPerSec":..,"packetsPerSec":..}; MB = 10^6 bytes; the times (wall
 *       clock, and CPU time of the process) cover decoding only (the file is read into memory
 *       first).
 *
 *   pt-libipt encode [--repeat N] OUT
 *       Reads packets from stdin, one per line as `MNEMONIC [KEY=VALUE ...]` (the `packets`
 *       form without OFFSET and SIZE; blank lines and lines starting with # are skipped),
 *       encodes them with libipt's encoder (pt_enc_next) and writes the stream to OUT,
 *       N times over (default 1). IP packets are written with the given ipc and raw payload.
 *
 *   pt-libipt errors
 *       Every libipt error code: "NUMBER NAME MESSAGE" per line (pt_errstr).
 *
 *   pt-libipt insn ... / pt-libipt block ... / pt-libipt ptxed ...
 *       libipt's instruction and block decoders printed as ptxed prints them (without XED):
 *       implemented in pt-libipt-flow.c (flow_main), which is compiled into the same binary.
 *
 *   pt-libipt time --pt FILE --raw FILE:ADDR[:CR3] [--raw ...] [--block] [...]
 *       libipt's time (pt_insn_time, pt_blk_time) at every instruction or block, for the
 *       timing differential tests: implemented in pt-libipt-timing.c (time_main).
 *
 * The file, number and option helpers the subcommands share are in pt-libipt-io.c.
 *
 * libipt 2.0.5 (Debian bookworm) predates the Event Trace packets CFE and EVD (libipt 2.1) and
 * TRIG (libipt 2.2): it reports their opcodes as bad_opc, so hwtrace compares them only where
 * libipt knows them. MODE.Exec's IF bit (bit 2) is likewise unknown to 2.0.5 and not printed.
 */

#include "pt-libipt-io.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const error_names[] = {
	"ok", "internal", "invalid", "nosync", "bad_opc", "bad_packet", "bad_context", "eos",
	"bad_query", "nomem", "bad_config", "noip", "ip_suppressed", "nomap", "bad_insn",
	"no_time", "no_cbr", "bad_image", "bad_lock", "not_supported", "retstack_empty",
	"bad_retcomp", "bad_status_update", "no_enable", "event_ignored", "overflow", "bad_file",
	"bad_cpu",
};

#define N_ERRORS ((int) (sizeof(error_names) / sizeof(error_names[0])))

static const char *error_name(int status)
{
	int code = status < 0 ? -status : status;

	return code < N_ERRORS ? error_names[code] : "unknown_error";
}

/* The ptdump mnemonic of a packet; mode splits by leaf. */
static const char *mnemonic(const struct pt_packet *p)
{
	switch (p->type) {
	case ppt_pad: return "pad";
	case ppt_psb: return "psb";
	case ppt_psbend: return "psbend";
	case ppt_fup: return "fup";
	case ppt_tip: return "tip";
	case ppt_tip_pge: return "tip.pge";
	case ppt_tip_pgd: return "tip.pgd";
	case ppt_tnt_8: return "tnt.8";
	case ppt_tnt_64: return "tnt.64";
	case ppt_mode:
		return p->payload.mode.leaf == pt_mol_tsx ? "mode.tsx" : "mode.exec";
	case ppt_pip: return "pip";
	case ppt_vmcs: return "vmcs";
	case ppt_cbr: return "cbr";
	case ppt_tsc: return "tsc";
	case ppt_tma: return "tma";
	case ppt_mtc: return "mtc";
	case ppt_cyc: return "cyc";
	case ppt_stop: return "stop";
	case ppt_ovf: return "ovf";
	case ppt_mnt: return "mnt";
	case ppt_exstop: return "exstop";
	case ppt_mwait: return "mwait";
	case ppt_pwre: return "pwre";
	case ppt_pwrx: return "pwrx";
	case ppt_ptw: return "ptw";
	case ppt_unknown: return "unknown";
	case ppt_invalid: return "invalid";
	}
	return "invalid";
}

/* Index into the by-type counters: mnemonics in a fixed order. */
static const char *const count_names[] = {
	"pad", "psb", "psbend", "fup", "tip", "tip.pge", "tip.pgd", "tnt.8", "tnt.64",
	"mode.exec", "mode.tsx", "pip", "vmcs", "cbr", "tsc", "tma", "mtc", "cyc", "stop", "ovf",
	"mnt", "exstop", "mwait", "pwre", "pwrx", "ptw", "unknown", "invalid",
};

#define N_COUNTS ((int) (sizeof(count_names) / sizeof(count_names[0])))

static int count_index(const struct pt_packet *p)
{
	const char *name = mnemonic(p);
	int i;

	for (i = 0; i < N_COUNTS; i++)
		if (strcmp(count_names[i], name) == 0)
			return i;
	return N_COUNTS - 1;
}

static void print_packet(FILE *out, uint64_t offset, const struct pt_packet *p)
{
	fprintf(out, "%" PRIx64 " %u %s", offset, (unsigned) p->size, mnemonic(p));
	switch (p->type) {
	case ppt_fup:
	case ppt_tip:
	case ppt_tip_pge:
	case ppt_tip_pgd:
		fprintf(out, " ipc=%x ip=%" PRIx64, (unsigned) p->payload.ip.ipc, p->payload.ip.ip);
		break;
	case ppt_tnt_8:
	case ppt_tnt_64:
		fprintf(out, " n=%x tnt=%" PRIx64, (unsigned) p->payload.tnt.bit_size, p->payload.tnt.payload);
		break;
	case ppt_mode:
		if (p->payload.mode.leaf == pt_mol_tsx)
			fprintf(out, " intx=%x abrt=%x", (unsigned) p->payload.mode.bits.tsx.intx,
				(unsigned) p->payload.mode.bits.tsx.abrt);
		else
			fprintf(out, " csl=%x csd=%x", (unsigned) p->payload.mode.bits.exec.csl,
				(unsigned) p->payload.mode.bits.exec.csd);
		break;
	case ppt_pip:
		fprintf(out, " cr3=%" PRIx64 " nr=%x", p->payload.pip.cr3, (unsigned) p->payload.pip.nr);
		break;
	case ppt_vmcs:
		fprintf(out, " base=%" PRIx64, p->payload.vmcs.base);
		break;
	case ppt_cbr:
		fprintf(out, " ratio=%x", (unsigned) p->payload.cbr.ratio);
		break;
	case ppt_tsc:
		fprintf(out, " tsc=%" PRIx64, p->payload.tsc.tsc);
		break;
	case ppt_tma:
		fprintf(out, " ctc=%x fc=%x", (unsigned) p->payload.tma.ctc, (unsigned) p->payload.tma.fc);
		break;
	case ppt_mtc:
		fprintf(out, " ctc=%x", (unsigned) p->payload.mtc.ctc);
		break;
	case ppt_cyc:
		fprintf(out, " value=%" PRIx64, p->payload.cyc.value);
		break;
	case ppt_mnt:
		fprintf(out, " payload=%" PRIx64, p->payload.mnt.payload);
		break;
	case ppt_exstop:
		fprintf(out, " ip=%x", (unsigned) p->payload.exstop.ip);
		break;
	case ppt_mwait:
		fprintf(out, " hints=%x ext=%x", p->payload.mwait.hints, p->payload.mwait.ext);
		break;
	case ppt_pwre:
		fprintf(out, " state=%x sub=%x hw=%x", (unsigned) p->payload.pwre.state,
			(unsigned) p->payload.pwre.sub_state, (unsigned) p->payload.pwre.hw);
		break;
	case ppt_pwrx:
		fprintf(out, " last=%x deepest=%x int=%x st=%x hw=%x", (unsigned) p->payload.pwrx.last,
			(unsigned) p->payload.pwrx.deepest, (unsigned) p->payload.pwrx.interrupt,
			(unsigned) p->payload.pwrx.store, (unsigned) p->payload.pwrx.autonomous);
		break;
	case ppt_ptw:
		fprintf(out, " plc=%x payload=%" PRIx64 " ip=%x", (unsigned) p->payload.ptw.plc,
			p->payload.ptw.payload, (unsigned) p->payload.ptw.ip);
		break;
	default:
		break;
	}
	fputc('\n', out);
}

struct decode_options {
	int no_sync;
	int have_cpu;
	struct pt_cpu cpu;
};

/* Parses [--no-sync] [--cpu F/M[/S]] FILE; returns the index of FILE or -1. */
static int parse_decode_args(int argc, char **argv, struct decode_options *opt)
{
	int i;

	memset(opt, 0, sizeof(*opt));
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--no-sync") == 0)
			opt->no_sync = 1;
		else if (strcmp(argv[i], "--cpu") == 0 && i + 1 < argc) {
			if (parse_cpu(&opt->cpu, argv[++i]) < 0) {
				fprintf(stderr, "pt-libipt: bad --cpu '%s' (want family/model[/stepping])\n", argv[i]);
				return -1;
			}
			opt->have_cpu = 1;
		} else if (argv[i][0] == '-') {
			fprintf(stderr, "pt-libipt: unknown option '%s'\n", argv[i]);
			return -1;
		} else if (i + 1 == argc)
			return i;
	}
	fprintf(stderr, "pt-libipt: missing FILE\n");
	return -1;
}

static struct pt_packet_decoder *alloc_decoder(uint8_t *buf, size_t size, const struct decode_options *opt)
{
	struct pt_config config;
	struct pt_packet_decoder *dec;

	pt_config_init(&config);
	config.begin = buf;
	config.end = buf + size;
	if (opt->have_cpu) {
		config.cpu = opt->cpu;
		/* Decoding packets goes on without errata workarounds. */
		config_errata(&config);
	}
	dec = pt_pkt_alloc_decoder(&config);
	if (!dec)
		fprintf(stderr, "pt-libipt: cannot allocate a packet decoder\n");
	return dec;
}

/* What the decode loop reports, one call per packet or error. */
struct decode_sink {
	void (*packet)(struct decode_sink *sink, uint64_t offset, const struct pt_packet *p);
	void (*error)(struct decode_sink *sink, uint64_t offset, int status);
};

/* ptdump's loop: sync forward, decode until an error, report it, sync forward again. */
static int decode_all(struct pt_packet_decoder *dec, size_t size, const struct decode_options *opt,
		      struct decode_sink *sink)
{
	int status = opt->no_sync ? pt_pkt_sync_set(dec, 0ull) : pt_pkt_sync_forward(dec);

	if (status == -pte_eos)
		return 0;
	if (status < 0) {
		sink->error(sink, 0, status);
		return status;
	}
	for (;;) {
		struct pt_packet packet;
		uint64_t offset = 0;

		status = pt_pkt_get_offset(dec, &offset);
		if (status < 0) {
			sink->error(sink, offset, status);
			return status;
		}
		status = pt_pkt_next(dec, &packet, sizeof(packet));
		if (status >= 0) {
			sink->packet(sink, offset, &packet);
			continue;
		}
		if (status == -pte_eos && offset >= size)
			return 0;
		sink->error(sink, offset, status);
		status = pt_pkt_sync_forward(dec);
		if (status == -pte_eos)
			return 0;
		if (status < 0) {
			sink->error(sink, offset, status);
			return status;
		}
	}
}

struct print_sink {
	struct decode_sink base;
	FILE *out;
};

static void print_sink_packet(struct decode_sink *sink, uint64_t offset, const struct pt_packet *p)
{
	print_packet(((struct print_sink *) sink)->out, offset, p);
}

static void print_sink_error(struct decode_sink *sink, uint64_t offset, int status)
{
	fprintf(((struct print_sink *) sink)->out, "%" PRIx64 " error %s\n", offset, error_name(status));
}

static int cmd_packets(int argc, char **argv)
{
	struct decode_options opt;
	struct print_sink sink = { { print_sink_packet, print_sink_error }, stdout };
	struct pt_packet_decoder *dec;
	uint8_t *buf;
	size_t size;
	int file = parse_decode_args(argc, argv, &opt), status;

	if (file < 0)
		return 2;
	if (read_file(argv[file], &buf, &size) < 0)
		return 1;
	dec = alloc_decoder(buf, size, &opt);
	if (!dec) {
		free(buf);
		return 1;
	}
	status = decode_all(dec, size, &opt, &sink.base);
	pt_pkt_free_decoder(dec);
	free(buf);
	return status < 0 ? 1 : 0;
}

struct count_sink {
	struct decode_sink base;
	uint64_t packets, errors;
	uint64_t by_type[N_COUNTS];
};

static void count_sink_packet(struct decode_sink *sink, uint64_t offset, const struct pt_packet *p)
{
	struct count_sink *c = (struct count_sink *) sink;

	(void) offset;
	c->packets++;
	/* The common types first, so counting costs little next to decoding. */
	switch (p->type) {
	case ppt_tnt_8: c->by_type[7]++; break;
	case ppt_pad: c->by_type[0]++; break;
	case ppt_tip: c->by_type[4]++; break;
	case ppt_cyc: c->by_type[17]++; break;
	case ppt_mtc: c->by_type[16]++; break;
	default: c->by_type[count_index(p)]++; break;
	}
}

static void count_sink_error(struct decode_sink *sink, uint64_t offset, int status)
{
	(void) offset;
	(void) status;
	((struct count_sink *) sink)->errors++;
}

static double clock_seconds(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

static int cmd_count(int argc, char **argv)
{
	struct decode_options opt;
	struct count_sink sink;
	struct pt_packet_decoder *dec;
	uint8_t *buf;
	size_t size;
	double t0, c0, seconds, cpu;
	int file = parse_decode_args(argc, argv, &opt), i, first = 1;

	if (file < 0)
		return 2;
	if (read_file(argv[file], &buf, &size) < 0)
		return 1;
	dec = alloc_decoder(buf, size, &opt);
	if (!dec) {
		free(buf);
		return 1;
	}
	memset(&sink, 0, sizeof(sink));
	sink.base.packet = count_sink_packet;
	sink.base.error = count_sink_error;
	t0 = clock_seconds(CLOCK_MONOTONIC);
	c0 = clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
	decode_all(dec, size, &opt, &sink.base);
	seconds = clock_seconds(CLOCK_MONOTONIC) - t0;
	cpu = clock_seconds(CLOCK_PROCESS_CPUTIME_ID) - c0;
	pt_pkt_free_decoder(dec);
	free(buf);

	printf("{\"bytes\":%zu,\"packets\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"byType\":{", size,
	       sink.packets, sink.errors);
	for (i = 0; i < N_COUNTS; i++) {
		if (!sink.by_type[i])
			continue;
		printf("%s\"%s\":%" PRIu64, first ? "" : ",", count_names[i], sink.by_type[i]);
		first = 0;
	}
	printf("},\"seconds\":%.6f,\"cpuSeconds\":%.6f,\"mbPerSec\":%.3f,\"packetsPerSec\":%.0f}\n", seconds,
	       cpu, seconds > 0 ? (double) size / 1e6 / seconds : 0.0,
	       seconds > 0 ? (double) sink.packets / seconds : 0.0);
	return 0;
}

/* --- encode: text lines to packets --- */

static int field(const char *line, const char *key, uint64_t *value)
{
	size_t klen = strlen(key);
	const char *p = line;

	while ((p = strstr(p, key)) != NULL) {
		if ((p == line || p[-1] == ' ') && p[klen] == '=') {
			char *end;

			errno = 0;
			*value = strtoull(p + klen + 1, &end, 16);
			return (errno == 0 && end != p + klen + 1) ? 0 : -1;
		}
		p += klen;
	}
	return -1;
}

static int parse_line(const char *line, struct pt_packet *p, int lineno)
{
	char name[16];
	uint64_t a = 0, b = 0, c = 0, d = 0, e = 0;
	int ok = 1;

	memset(p, 0, sizeof(*p));
	if (sscanf(line, "%15s", name) != 1)
		return -1;
#define F(k, v) (ok = ok && field(line, k, &(v)) == 0)
	if (!strcmp(name, "pad")) p->type = ppt_pad;
	else if (!strcmp(name, "psb")) p->type = ppt_psb;
	else if (!strcmp(name, "psbend")) p->type = ppt_psbend;
	else if (!strcmp(name, "stop")) p->type = ppt_stop;
	else if (!strcmp(name, "ovf")) p->type = ppt_ovf;
	else if (!strcmp(name, "fup") || !strcmp(name, "tip") || !strcmp(name, "tip.pge") || !strcmp(name, "tip.pgd")) {
		p->type = !strcmp(name, "fup") ? ppt_fup : !strcmp(name, "tip") ? ppt_tip
			: !strcmp(name, "tip.pge") ? ppt_tip_pge : ppt_tip_pgd;
		F("ipc", a); F("ip", b);
		p->payload.ip.ipc = (enum pt_ip_compression) a;
		p->payload.ip.ip = b;
	} else if (!strcmp(name, "tnt.8") || !strcmp(name, "tnt.64")) {
		p->type = !strcmp(name, "tnt.8") ? ppt_tnt_8 : ppt_tnt_64;
		F("n", a); F("tnt", b);
		p->payload.tnt.bit_size = (uint8_t) a;
		p->payload.tnt.payload = b;
	} else if (!strcmp(name, "mode.exec")) {
		p->type = ppt_mode;
		F("csl", a); F("csd", b);
		p->payload.mode.leaf = pt_mol_exec;
		p->payload.mode.bits.exec.csl = a & 1;
		p->payload.mode.bits.exec.csd = b & 1;
	} else if (!strcmp(name, "mode.tsx")) {
		p->type = ppt_mode;
		F("intx", a); F("abrt", b);
		p->payload.mode.leaf = pt_mol_tsx;
		p->payload.mode.bits.tsx.intx = a & 1;
		p->payload.mode.bits.tsx.abrt = b & 1;
	} else if (!strcmp(name, "pip")) {
		p->type = ppt_pip;
		F("cr3", a); F("nr", b);
		p->payload.pip.cr3 = a;
		p->payload.pip.nr = b & 1;
	} else if (!strcmp(name, "vmcs")) {
		p->type = ppt_vmcs;
		F("base", a);
		p->payload.vmcs.base = a;
	} else if (!strcmp(name, "cbr")) {
		p->type = ppt_cbr;
		F("ratio", a);
		p->payload.cbr.ratio = (uint8_t) a;
	} else if (!strcmp(name, "tsc")) {
		p->type = ppt_tsc;
		F("tsc", a);
		p->payload.tsc.tsc = a;
	} else if (!strcmp(name, "tma")) {
		p->type = ppt_tma;
		F("ctc", a); F("fc", b);
		p->payload.tma.ctc = (uint16_t) a;
		p->payload.tma.fc = (uint16_t) b;
	} else if (!strcmp(name, "mtc")) {
		p->type = ppt_mtc;
		F("ctc", a);
		p->payload.mtc.ctc = (uint8_t) a;
	} else if (!strcmp(name, "cyc")) {
		p->type = ppt_cyc;
		F("value", a);
		p->payload.cyc.value = a;
	} else if (!strcmp(name, "mnt")) {
		p->type = ppt_mnt;
		F("payload", a);
		p->payload.mnt.payload = a;
	} else if (!strcmp(name, "exstop")) {
		p->type = ppt_exstop;
		F("ip", a);
		p->payload.exstop.ip = a & 1;
	} else if (!strcmp(name, "mwait")) {
		p->type = ppt_mwait;
		F("hints", a); F("ext", b);
		p->payload.mwait.hints = (uint32_t) a;
		p->payload.mwait.ext = (uint32_t) b;
	} else if (!strcmp(name, "pwre")) {
		p->type = ppt_pwre;
		F("state", a); F("sub", b); F("hw", c);
		p->payload.pwre.state = (uint8_t) a;
		p->payload.pwre.sub_state = (uint8_t) b;
		p->payload.pwre.hw = c & 1;
	} else if (!strcmp(name, "pwrx")) {
		p->type = ppt_pwrx;
		F("last", a); F("deepest", b); F("int", c); F("st", d); F("hw", e);
		p->payload.pwrx.last = (uint8_t) a;
		p->payload.pwrx.deepest = (uint8_t) b;
		p->payload.pwrx.interrupt = c & 1;
		p->payload.pwrx.store = d & 1;
		p->payload.pwrx.autonomous = e & 1;
	} else if (!strcmp(name, "ptw")) {
		p->type = ppt_ptw;
		F("plc", a); F("payload", b); F("ip", c);
		p->payload.ptw.plc = (uint8_t) a;
		p->payload.ptw.payload = b;
		p->payload.ptw.ip = c & 1;
	} else {
		fprintf(stderr, "pt-libipt: line %d: unknown packet '%s'\n", lineno, name);
		return -1;
	}
#undef F
	if (!ok) {
		fprintf(stderr, "pt-libipt: line %d: missing or bad field in '%s'\n", lineno, line);
		return -1;
	}
	return 0;
}

static int cmd_encode(int argc, char **argv)
{
	struct pt_config config;
	struct pt_encoder *enc;
	const char *out_path = NULL;
	unsigned long repeat = 1;
	size_t cap = 1u << 16, used = 0;
	uint8_t *buf;
	char line[512];
	int i, lineno = 0;
	FILE *out;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc)
			repeat = strtoul(argv[++i], NULL, 10);
		else if (argv[i][0] == '-') {
			fprintf(stderr, "pt-libipt: unknown option '%s'\n", argv[i]);
			return 2;
		} else
			out_path = argv[i];
	}
	if (!out_path) {
		fprintf(stderr, "pt-libipt: encode needs OUT\n");
		return 2;
	}
	buf = malloc(cap);
	if (!buf)
		return 1;
	while (fgets(line, sizeof(line), stdin)) {
		struct pt_packet packet;
		uint64_t offset = 0;
		size_t len = strlen(line);
		int status;

		lineno++;
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = 0;
		if (!len || line[0] == '#')
			continue;
		if (parse_line(line, &packet, lineno) < 0) {
			free(buf);
			return 2;
		}
		/* The encoder writes into a fixed buffer: give it room for one more packet. */
		if (cap - used < 64) {
			uint8_t *next = realloc(buf, cap * 2);

			if (!next) {
				free(buf);
				return 1;
			}
			buf = next;
			cap *= 2;
		}
		pt_config_init(&config);
		config.begin = buf + used;
		config.end = buf + cap;
		enc = pt_alloc_encoder(&config);
		if (!enc) {
			free(buf);
			return 1;
		}
		status = pt_enc_next(enc, &packet);
		if (status >= 0)
			status = pt_enc_get_offset(enc, &offset);
		pt_free_encoder(enc);
		if (status < 0) {
			fprintf(stderr, "pt-libipt: line %d: pt_enc_next: %s (%s)\n", lineno,
				error_name(status), pt_errstr(pt_errcode(status)));
			free(buf);
			return 1;
		}
		used += (size_t) offset;
	}
	out = fopen(out_path, "wb");
	if (!out) {
		fprintf(stderr, "pt-libipt: %s: %s\n", out_path, strerror(errno));
		free(buf);
		return 1;
	}
	while (repeat--) {
		if (fwrite(buf, 1, used, out) != used) {
			fprintf(stderr, "pt-libipt: %s: write error\n", out_path);
			fclose(out);
			free(buf);
			return 1;
		}
	}
	free(buf);
	return fclose(out) == 0 ? 0 : 1;
}

static int cmd_errors(int argc, char **argv)
{
	int i;

	(void) argc;
	(void) argv;
	for (i = 0; i < N_ERRORS; i++)
		printf("%d %s %s\n", i, error_names[i], pt_errstr((enum pt_error_code) i));
	return 0;
}

static int cmd_version(int argc, char **argv)
{
	struct pt_version v = pt_library_version();

	(void) argc;
	(void) argv;
	printf("libipt %u.%u.%u%s\n", (unsigned) v.major, (unsigned) v.minor, (unsigned) v.patch,
	       v.ext ? v.ext : "");
	return 0;
}

/* libipt's instruction and block decoders live in pt-libipt-flow.c and pt-libipt-timing.c,
 * compiled with this file. */
int flow_main(int argc, char **argv, int mode);
int time_main(int argc, char **argv);

static int cmd_insn(int argc, char **argv)
{
	return flow_main(argc, argv, 0);
}

static int cmd_block(int argc, char **argv)
{
	return flow_main(argc, argv, 1);
}

static int cmd_ptxed(int argc, char **argv)
{
	return flow_main(argc, argv, 2);
}

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *usage;
};

static const struct command commands[] = {
	{ "--version", cmd_version, "--version" },
	{ "packets", cmd_packets, "packets [--no-sync] [--cpu F/M[/S]] FILE" },
	{ "count", cmd_count, "count [--no-sync] [--cpu F/M[/S]] FILE" },
	{ "encode", cmd_encode, "encode [--repeat N] OUT  < packet lines" },
	{ "errors", cmd_errors, "errors" },
	{ "insn", cmd_insn, "insn --pt FILE [...]   (see pt-libipt-flow.c)" },
	{ "block", cmd_block, "block --pt FILE [...]  (see pt-libipt-flow.c)" },
	{ "ptxed", cmd_ptxed, "ptxed --pt FILE [...]  (ptxed without XED; see pt-libipt-flow.c)" },
	{ "time", time_main, "time --pt FILE --raw FILE:ADDR[:CR3] [...]  (see pt-libipt-timing.c)" },
};

int main(int argc, char **argv)
{
	size_t i;

	if (argc >= 2)
		for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
			if (strcmp(argv[1], commands[i].name) == 0)
				return commands[i].run(argc - 2, argv + 2);
	fprintf(stderr, "usage:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(stderr, "  pt-libipt %s\n", commands[i].usage);
	return 2;
}
