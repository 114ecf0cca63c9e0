/* libipt's time at every instruction, for hwtrace's timing differential tests.
 *
 *   pt-libipt-time --pt FILE --raw FILE:ADDR[:CR3] [--raw ...] [--resync-on-error] [--cpu F/M[/S]]
 *                  [--mtc-freq N] [--nom-freq N] [--cpuid-0x15.eax N] [--cpuid-0x15.ebx N]
 *
 * One line per instruction, after pt_insn_next() returned it (before its events are drained):
 *   `i IP TSC LOST_MTC LOST_CYC T` (IP and TSC 16 hex digits; T: 1 = time, 0 = pte_no_time)
 * one per event as pt_insn_event() returned it:
 *   `e TYPE HAS_TSC TSC LOST_MTC LOST_CYC` (TYPE: enum pt_event_type number)
 * and one per error: `x OFFSET IP NAME` (libipt's error text).
 * With --block, libipt's block decoder: one line per block after pt_blk_next() returned it,
 *   `b IP NINSN TSC LOST_MTC LOST_CYC T` (IP: the block's first instruction),
 * with the same event and error lines.
 */

#include <intel-pt.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int read_file(const char *name, uint8_t **buf, size_t *size)
{
	FILE *f = fopen(name, "rb");
	long len;

	if (!f) {
		fprintf(stderr, "pt-libipt-time: cannot open %s: %s\n", name, strerror(errno));
		return -1;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return -1;
	}
	*buf = malloc(len ? (size_t) len : 1);
	if (!*buf || fread(*buf, 1, (size_t) len, f) != (size_t) len) {
		fclose(f);
		return -1;
	}
	fclose(f);
	*size = (size_t) len;
	return 0;
}

/* --raw FILE:ADDR[:CR3]: the image for any address space, or for CR3's. */
static int add_raw(struct pt_image *image, char *arg)
{
	char *colon = strrchr(arg, ':'), *second;
	struct pt_asid asid;
	uint64_t addr;
	int errcode, have_cr3 = 0;

	if (!colon) {
		fprintf(stderr, "pt-libipt-time: --raw needs FILE:ADDR, got %s\n", arg);
		return -1;
	}
	*colon = '\0';
	pt_asid_init(&asid);
	second = strrchr(arg, ':');
	if (second && strncmp(colon + 1, "0x", 2) == 0 && strncmp(second + 1, "0x", 2) == 0) {
		asid.cr3 = strtoull(colon + 1, NULL, 0);
		have_cr3 = 1;
		*second = '\0';
		addr = strtoull(second + 1, NULL, 0);
	} else {
		addr = strtoull(colon + 1, NULL, 0);
	}
	errcode = pt_image_add_file(image, arg, 0, UINT64_MAX, have_cr3 ? &asid : NULL, addr);
	if (errcode < 0) {
		fprintf(stderr, "pt-libipt-time: cannot add %s: %s\n", arg, pt_errstr(pt_errcode(errcode)));
		return -1;
	}
	return 0;
}

static void print_time(struct pt_insn_decoder *dec, uint64_t ip)
{
	uint64_t tsc = 0;
	uint32_t lost_mtc = 0, lost_cyc = 0;
	int errcode = pt_insn_time(dec, &tsc, &lost_mtc, &lost_cyc);

	printf("i %016" PRIx64 " %016" PRIx64 " %u %u %d\n", ip, tsc, lost_mtc, lost_cyc, errcode < 0 ? 0 : 1);
}

static void print_error(struct pt_insn_decoder *dec, uint64_t ip, int errcode)
{
	uint64_t offset = 0;

	pt_insn_get_offset(dec, &offset);
	printf("x %016" PRIx64 " %016" PRIx64 " %s\n", offset, ip, pt_errstr(pt_errcode(errcode)));
}

static int drain_blk(struct pt_block_decoder *dec, int status)
{
	while (status & pts_event_pending) {
		struct pt_event ev;

		status = pt_blk_event(dec, &ev, sizeof(ev));
		if (status < 0)
			return status;
		printf("e %d %d %016" PRIx64 " %u %u\n", (int) ev.type, ev.has_tsc, ev.tsc, ev.lost_mtc, ev.lost_cyc);
	}
	return status;
}

/* The block decoder's loop: like the instruction decoder's below. */
static int decode_blocks(const struct pt_config *config, struct pt_image *image, int resync)
{
	struct pt_block_decoder *dec = pt_blk_alloc_decoder(config);

	if (!dec) {
		fprintf(stderr, "pt-libipt-time: cannot allocate the block decoder\n");
		return 1;
	}
	pt_blk_set_image(dec, image);
	for (;;) {
		struct pt_block block;
		uint64_t offset = 0;
		int status;

		block.ip = 0;
		block.ninsn = 0;
		status = pt_blk_sync_forward(dec);
		if (status < 0) {
			if (status != -pte_eos) {
				pt_blk_get_offset(dec, &offset);
				printf("x %016" PRIx64 " %016" PRIx64 " %s\n", offset, (uint64_t) 0, pt_errstr(pt_errcode(status)));
			}
			break;
		}
		for (;;) {
			uint64_t tsc = 0;
			uint32_t lost_mtc = 0, lost_cyc = 0;
			int errcode;

			status = drain_blk(dec, status);
			if (status < 0)
				break;
			if (status & pts_eos) {
				status = -pte_eos;
				break;
			}
			status = pt_blk_next(dec, &block, sizeof(block));
			if (status < 0 && !block.ninsn)
				break;
			errcode = pt_blk_time(dec, &tsc, &lost_mtc, &lost_cyc);
			printf("b %016" PRIx64 " %u %016" PRIx64 " %u %u %d\n", block.ip, block.ninsn, tsc, lost_mtc, lost_cyc, errcode < 0 ? 0 : 1);
			if (status < 0)
				break;
		}
		if (status == -pte_eos)
			break;
		pt_blk_get_offset(dec, &offset);
		printf("x %016" PRIx64 " %016" PRIx64 " %s\n", offset, block.end_ip, pt_errstr(pt_errcode(status)));
		if (!resync)
			break;
	}
	pt_blk_free_decoder(dec);
	return 0;
}

static int drain(struct pt_insn_decoder *dec, int status)
{
	while (status & pts_event_pending) {
		struct pt_event ev;

		status = pt_insn_event(dec, &ev, sizeof(ev));
		if (status < 0)
			return status;
		printf("e %d %d %016" PRIx64 " %u %u\n", (int) ev.type, ev.has_tsc, ev.tsc, ev.lost_mtc, ev.lost_cyc);
	}
	return status;
}

int main(int argc, char **argv)
{
	struct pt_config config;
	struct pt_image *image = pt_image_alloc(NULL);
	struct pt_insn_decoder *dec;
	const char *pt = NULL;
	uint8_t *buf;
	size_t size;
	int resync = 0, block = 0, i;

	pt_config_init(&config);
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--resync-on-error") == 0) {
			resync = 1;
			continue;
		}
		if (strcmp(a, "--block") == 0) {
			block = 1;
			continue;
		}
		if (!v) {
			fprintf(stderr, "pt-libipt-time: %s needs a value\n", a);
			return 2;
		}
		i++;
		if (strcmp(a, "--pt") == 0)
			pt = v;
		else if (strcmp(a, "--raw") == 0) {
			if (add_raw(image, argv[i]) < 0)
				return 1;
		} else if (strcmp(a, "--cpu") == 0) {
			unsigned f = 0, m = 0, s = 0;

			if (sscanf(v, "%u/%u/%u", &f, &m, &s) < 2) {
				fprintf(stderr, "pt-libipt-time: bad --cpu %s\n", v);
				return 2;
			}
			config.cpu.vendor = pcv_intel;
			config.cpu.family = (uint16_t) f;
			config.cpu.model = (uint8_t) m;
			config.cpu.stepping = (uint8_t) s;
			if (pt_cpu_errata(&config.errata, &config.cpu) < 0) {
				fprintf(stderr, "pt-libipt-time: unknown cpu %s\n", v);
				return 2;
			}
		} else if (strcmp(a, "--mtc-freq") == 0)
			config.mtc_freq = (uint8_t) strtoul(v, NULL, 0);
		else if (strcmp(a, "--nom-freq") == 0)
			config.nom_freq = (uint8_t) strtoul(v, NULL, 0);
		else if (strcmp(a, "--cpuid-0x15.eax") == 0)
			config.cpuid_0x15_eax = (uint32_t) strtoul(v, NULL, 0);
		else if (strcmp(a, "--cpuid-0x15.ebx") == 0)
			config.cpuid_0x15_ebx = (uint32_t) strtoul(v, NULL, 0);
		else {
			fprintf(stderr, "pt-libipt-time: unknown option %s\n", a);
			return 2;
		}
	}
	if (!pt || read_file(pt, &buf, &size) < 0) {
		fprintf(stderr, "pt-libipt-time: --pt FILE is required\n");
		return 2;
	}
	config.begin = buf;
	config.end = buf + size;
	if (block) {
		int rc = decode_blocks(&config, image, resync);

		pt_image_free(image);
		free(buf);
		return rc;
	}
	dec = pt_insn_alloc_decoder(&config);
	if (!dec) {
		fprintf(stderr, "pt-libipt-time: cannot allocate the decoder\n");
		return 1;
	}
	pt_insn_set_image(dec, image);

	for (;;) {
		struct pt_insn insn;
		int status;

		insn.ip = 0;
		status = pt_insn_sync_forward(dec);
		if (status < 0) {
			if (status == -pte_eos)
				break;
			print_error(dec, 0, status);
			break;
		}
		for (;;) {
			status = drain(dec, status);
			if (status < 0)
				break;
			if (status & pts_eos) {
				status = -pte_eos;
				break;
			}
			status = pt_insn_next(dec, &insn, sizeof(insn));
			if (status < 0) {
				if (insn.iclass != ptic_error)
					print_time(dec, insn.ip);
				break;
			}
			print_time(dec, insn.ip);
		}
		if (status == -pte_eos)
			break;
		print_error(dec, insn.ip, status);
		if (!resync)
			break;
	}
	pt_insn_free_decoder(dec);
	pt_image_free(image);
	free(buf);
	return 0;
}
