/* Instruction-flow decoding with libipt's instruction and block decoders, for hwtrace's
 * differential tests and benchmarks. Called from pt-libipt.c's main for the `insn` and
 * `block` subcommands.
 *
 *   pt-libipt insn  --pt FILE [--raw FILE:ADDR[:CR3]]... [--images LIST] [options]
 *   pt-libipt block --pt FILE ... --count
 *
 * LIST is hwtrace's export `images.txt`: one line per image, `file address context`, where
 * context is `cr3=0x…` (the image belongs to that address space) or `-` (any). Relative file
 * names are taken relative to LIST's directory.
 *
 * Output (insn, without --count) follows ptxed: one 16-hex-digit IP per instruction, events in
 * brackets, errors as `[offset, ip: error: message]`. --count prints only totals:
 * `insns N`, `blocks N`, `errors N`, `seconds S`. Options: --resync-on-error (continue at the
 * next PSB after an error; default: stop), --cpu F/M[/S] (enables libipt's errata
 * workarounds for that CPU), --mtc-freq N, --nom-freq N, --cpuid-0x15.eax N, --cpuid-0x15.ebx N.
 */

#include <intel-pt.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct flow_options {
	const char *pt;
	int count_only;
	int resync_on_error;
	int use_block;
};

struct flow_totals {
	uint64_t insns;
	uint64_t blocks;
	uint64_t errors;
};

static int read_file(const char *name, uint8_t **buf, size_t *size)
{
	FILE *f = fopen(name, "rb");
	long len;

	if (!f) {
		fprintf(stderr, "pt-libipt: cannot open %s: %s\n", name, strerror(errno));
		return -1;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		fprintf(stderr, "pt-libipt: cannot size %s\n", name);
		fclose(f);
		return -1;
	}
	*buf = malloc(len ? (size_t) len : 1);
	if (!*buf || fread(*buf, 1, (size_t) len, f) != (size_t) len) {
		fprintf(stderr, "pt-libipt: cannot read %s\n", name);
		fclose(f);
		return -1;
	}
	fclose(f);
	*size = (size_t) len;
	return 0;
}

/* Adds FILE at ADDR, for address space CR3 when have_cr3 (else for any). */
static int add_image(struct pt_image *image, const char *file, uint64_t addr, int have_cr3, uint64_t cr3)
{
	struct pt_asid asid;
	int errcode;

	pt_asid_init(&asid);
	if (have_cr3)
		asid.cr3 = cr3;
	errcode = pt_image_add_file(image, file, 0, UINT64_MAX, have_cr3 ? &asid : NULL, addr);
	if (errcode < 0) {
		fprintf(stderr, "pt-libipt: cannot add %s at 0x%" PRIx64 ": %s\n", file, addr,
			pt_errstr(pt_errcode(errcode)));
		return -1;
	}
	return 0;
}

/* --raw FILE:ADDR[:CR3] */
static int add_raw(struct pt_image *image, char *arg)
{
	char *colon = strrchr(arg, ':'), *second;
	uint64_t addr, cr3 = 0;
	int have_cr3 = 0;

	if (!colon) {
		fprintf(stderr, "pt-libipt: --raw needs FILE:ADDR, got %s\n", arg);
		return -1;
	}
	*colon = '\0';
	second = strrchr(arg, ':');
	if (second && strncmp(colon + 1, "0x", 2) == 0 && strncmp(second + 1, "0x", 2) == 0) {
		/* FILE:ADDR:CR3 */
		cr3 = strtoull(colon + 1, NULL, 0);
		have_cr3 = 1;
		*second = '\0';
		addr = strtoull(second + 1, NULL, 0);
	} else {
		addr = strtoull(colon + 1, NULL, 0);
	}
	return add_image(image, arg, addr, have_cr3, cr3);
}

static int add_image_list(struct pt_image *image, const char *list)
{
	char line[4096], file[4096], ctx[256], path[8192];
	const char *slash = strrchr(list, '/');
	int dirlen = slash ? (int) (slash - list) : 0;
	FILE *f = fopen(list, "r");
	int lineno = 0, failed = 0;

	if (!f) {
		fprintf(stderr, "pt-libipt: cannot open %s: %s\n", list, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		unsigned long long addr;
		int n;

		lineno++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		n = sscanf(line, "%4095s %llx %255s", file, &addr, ctx);
		if (n < 2) {
			fprintf(stderr, "pt-libipt: %s:%d: expected 'file address context'\n", list, lineno);
			fclose(f);
			return -1;
		}
		if (file[0] == '/' || !dirlen)
			snprintf(path, sizeof(path), "%s", file);
		else
			snprintf(path, sizeof(path), "%.*s/%s", dirlen, list, file);
		if (n == 3 && strncmp(ctx, "cr3=", 4) == 0)
			failed = add_image(image, path, addr, 1, strtoull(ctx + 4, NULL, 0)) < 0;
		else
			failed = add_image(image, path, addr, 0, 0) < 0;
		if (failed)
			break;
	}
	fclose(f);
	return failed ? -1 : 0;
}

static void print_event(const struct pt_event *ev)
{
	switch (ev->type) {
	case ptev_enabled:
		printf("[%s]\n", ev->variant.enabled.resumed ? "resumed" : "enabled");
		break;
	case ptev_disabled:
	case ptev_async_disabled:
		printf("[disabled]\n");
		break;
	case ptev_async_branch:
		printf("[interrupt]\n");
		break;
	case ptev_paging:
	case ptev_async_paging:
		printf("[paging, cr3: %016" PRIx64 "%s]\n", ev->variant.paging.cr3,
		       ev->variant.paging.non_root ? ", nr" : "");
		break;
	case ptev_vmcs:
	case ptev_async_vmcs:
		printf("[vmcs, base: %016" PRIx64 "]\n", ev->variant.vmcs.base);
		break;
	case ptev_overflow:
		printf("[overflow]\n");
		break;
	case ptev_exec_mode: {
		const char *m = ev->variant.exec_mode.mode == ptem_64bit ? "64-bit" :
				ev->variant.exec_mode.mode == ptem_32bit ? "32-bit" :
				ev->variant.exec_mode.mode == ptem_16bit ? "16-bit" : "unknown";
		printf("[exec mode: %s]\n", m);
		break;
	}
	case ptev_tsx:
		printf("[%s]\n", ev->variant.tsx.aborted ? "aborted" :
		       ev->variant.tsx.speculative ? "begin transaction" : "committed");
		break;
	case ptev_stop:
		printf("[stopped]\n");
		break;
	case ptev_exstop:
		printf("[exstop]\n");
		break;
	case ptev_ptwrite:
		printf("[ptwrite: %" PRIx64 "]\n", ev->variant.ptwrite.payload);
		break;
	default:
		break;
	}
}

static void print_error(uint64_t offset, uint64_t ip, int errcode)
{
	printf("[%016" PRIx64 ", %016" PRIx64 ": error: %s]\n", offset, ip, pt_errstr(pt_errcode(errcode)));
}

static int drain_insn_events(struct pt_insn_decoder *dec, int status, int quiet)
{
	while (status & pts_event_pending) {
		struct pt_event ev;

		status = pt_insn_event(dec, &ev, sizeof(ev));
		if (status < 0)
			return status;
		if (!quiet)
			print_event(&ev);
	}
	return status;
}

static int drain_blk_events(struct pt_block_decoder *dec, int status)
{
	while (status & pts_event_pending) {
		struct pt_event ev;

		status = pt_blk_event(dec, &ev, sizeof(ev));
		if (status < 0)
			return status;
	}
	return status;
}

static void decode_insn(struct pt_insn_decoder *dec, const struct flow_options *opt, struct flow_totals *tot)
{
	for (;;) {
		struct pt_insn insn;
		uint64_t offset = 0;
		int status = pt_insn_sync_forward(dec);

		if (status < 0) {
			if (status == -pte_eos)
				return;
			pt_insn_get_offset(dec, &offset);
			tot->errors++;
			if (!opt->count_only)
				print_error(offset, 0, status);
			return;
		}
		memset(&insn, 0, sizeof(insn));
		for (;;) {
			status = drain_insn_events(dec, status, opt->count_only);
			if (status < 0)
				break;
			if (status & pts_eos) {
				status = -pte_eos;
				break;
			}
			status = pt_insn_next(dec, &insn, sizeof(insn));
			if (status < 0) {
				if (insn.iclass != ptic_error) {
					tot->insns++;
					if (!opt->count_only)
						printf("%016" PRIx64 "\n", insn.ip);
				}
				break;
			}
			tot->insns++;
			if (!opt->count_only)
				printf("%016" PRIx64 "\n", insn.ip);
		}
		if (status == -pte_eos)
			return;
		pt_insn_get_offset(dec, &offset);
		tot->errors++;
		if (!opt->count_only)
			print_error(offset, insn.ip, status);
		if (!opt->resync_on_error)
			return;
	}
}

static void decode_block(struct pt_block_decoder *dec, const struct flow_options *opt, struct flow_totals *tot)
{
	for (;;) {
		struct pt_block block;
		uint64_t offset = 0;
		int status = pt_blk_sync_forward(dec);

		if (status < 0) {
			if (status != -pte_eos)
				tot->errors++;
			return;
		}
		memset(&block, 0, sizeof(block));
		for (;;) {
			status = drain_blk_events(dec, status);
			if (status < 0)
				break;
			if (status & pts_eos) {
				status = -pte_eos;
				break;
			}
			status = pt_blk_next(dec, &block, sizeof(block));
			/* A block returned with an error still holds the instructions decoded so far. */
			tot->insns += block.ninsn;
			if (block.ninsn)
				tot->blocks++;
			block.ninsn = 0;
			if (status < 0)
				break;
		}
		if (status == -pte_eos)
			return;
		pt_blk_get_offset(dec, &offset);
		tot->errors++;
		if (!opt->count_only)
			print_error(offset, block.ip, status);
		if (!opt->resync_on_error)
			return;
	}
}

int flow_main(int argc, char **argv, int use_block)
{
	struct flow_options opt = { NULL, 0, 0, use_block };
	struct flow_totals tot = { 0, 0, 0 };
	struct pt_config config;
	struct pt_image *image = pt_image_alloc("hwtrace");
	uint8_t *trace = NULL;
	size_t size = 0;
	struct timespec t0, t1;
	int i;

	pt_config_init(&config);
	for (i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--count") == 0) {
			opt.count_only = 1;
			continue;
		}
		if (strcmp(a, "--resync-on-error") == 0) {
			opt.resync_on_error = 1;
			continue;
		}
		if (!v) {
			fprintf(stderr, "pt-libipt: %s needs a value\n", a);
			return 2;
		}
		i++;
		if (strcmp(a, "--pt") == 0) {
			opt.pt = v;
		} else if (strcmp(a, "--raw") == 0) {
			char *copy = strdup(v);
			int r = add_raw(image, copy);

			free(copy);
			if (r < 0)
				return 1;
		} else if (strcmp(a, "--images") == 0) {
			if (add_image_list(image, v) < 0)
				return 1;
		} else if (strcmp(a, "--cpu") == 0) {
			unsigned f = 0, m = 0, s = 0;

			if (sscanf(v, "%u/%u/%u", &f, &m, &s) < 2) {
				fprintf(stderr, "pt-libipt: --cpu needs FAMILY/MODEL[/STEPPING]\n");
				return 2;
			}
			config.cpu.vendor = pcv_intel;
			config.cpu.family = (uint16_t) f;
			config.cpu.model = (uint8_t) m;
			config.cpu.stepping = (uint8_t) s;
			if (pt_cpu_errata(&config.errata, &config.cpu) < 0) {
				fprintf(stderr, "pt-libipt: unknown cpu %s\n", v);
				return 2;
			}
		} else if (strcmp(a, "--mtc-freq") == 0) {
			config.mtc_freq = (uint8_t) strtoul(v, NULL, 0);
		} else if (strcmp(a, "--nom-freq") == 0) {
			config.nom_freq = (uint8_t) strtoul(v, NULL, 0);
		} else if (strcmp(a, "--cpuid-0x15.eax") == 0) {
			config.cpuid_0x15_eax = (uint32_t) strtoul(v, NULL, 0);
		} else if (strcmp(a, "--cpuid-0x15.ebx") == 0) {
			config.cpuid_0x15_ebx = (uint32_t) strtoul(v, NULL, 0);
		} else {
			fprintf(stderr, "pt-libipt: unknown option %s\n", a);
			return 2;
		}
	}
	if (!opt.pt) {
		fprintf(stderr, "pt-libipt: %s needs --pt FILE\n", use_block ? "block" : "insn");
		return 2;
	}
	if (read_file(opt.pt, &trace, &size) < 0)
		return 1;
	config.begin = trace;
	config.end = trace + size;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (use_block) {
		struct pt_block_decoder *dec = pt_blk_alloc_decoder(&config);

		if (!dec || pt_blk_set_image(dec, image) < 0) {
			fprintf(stderr, "pt-libipt: cannot create the block decoder\n");
			return 1;
		}
		decode_block(dec, &opt, &tot);
		pt_blk_free_decoder(dec);
	} else {
		struct pt_insn_decoder *dec = pt_insn_alloc_decoder(&config);

		if (!dec || pt_insn_set_image(dec, image) < 0) {
			fprintf(stderr, "pt-libipt: cannot create the instruction decoder\n");
			return 1;
		}
		decode_insn(dec, &opt, &tot);
		pt_insn_free_decoder(dec);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (opt.count_only)
		printf("insns %" PRIu64 "\nblocks %" PRIu64 "\nerrors %" PRIu64 "\nseconds %.6f\n", tot.insns,
		       tot.blocks, tot.errors, (double) (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	pt_image_free(image);
	free(trace);
	return tot.errors ? 1 : 0;
}
