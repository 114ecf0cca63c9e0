/* libipt's time at every instruction, for hwtrace's timing differential tests. Called from
 * pt-libipt.c's main:
 *
 *   pt-libipt time --pt FILE --raw FILE:ADDR[:CR3] [--raw ...] [--block] [--resync-on-error]
 *                  [--cpu F/M[/S]] [--mtc-freq N] [--nom-freq N] [--cpuid-0x15.eax N]
 *                  [--cpuid-0x15.ebx N]
 *
 * One line per instruction, after pt_insn_next() returned it (before its events are drained):
 *   `i IP TSC LOST_MTC LOST_CYC T` (IP and TSC 16 hex digits; T: 1 = time, 0 = pte_no_time)
 * one per event as pt_insn_event() returned it:
 *   `e TYPE HAS_TSC TSC LOST_MTC LOST_CYC` (TYPE: enum pt_event_type number)
 * and one per error: `x OFFSET IP NAME` (libipt's error text).
 * With --block, libipt's block decoder: one line per block after pt_blk_next() returned it,
 *   `b IP NINSN TSC LOST_MTC LOST_CYC T` (IP: the block's first instruction),
 * with the same event and error lines.
 * --raw's CR3 (both it and ADDR written 0x…) puts the file in that address space only.
 */

#include "pt-libipt-io.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One of libipt's decoders that keep time: the block decoder when `blk` is set, else the
 * instruction decoder. The last instruction and block stay between calls, as libipt leaves
 * them untouched on some errors and the error lines report their IPs. */
struct timed_decoder {
	struct pt_insn_decoder *insn_dec;
	struct pt_block_decoder *blk;
	struct pt_insn insn;
	struct pt_block block;
};

static int timed_sync(struct timed_decoder *d)
{
	return d->blk ? pt_blk_sync_forward(d->blk) : pt_insn_sync_forward(d->insn_dec);
}

static void print_error(struct timed_decoder *d, uint64_t ip, int status)
{
	uint64_t offset = 0;

	if (d->blk)
		pt_blk_get_offset(d->blk, &offset);
	else
		pt_insn_get_offset(d->insn_dec, &offset);
	printf("x %016" PRIx64 " %016" PRIx64 " %s\n", offset, ip, pt_errstr(pt_errcode(status)));
}

static int drain_events(struct timed_decoder *d, int status)
{
	while (status & pts_event_pending) {
		struct pt_event ev;

		status = d->blk ? pt_blk_event(d->blk, &ev, sizeof(ev)) : pt_insn_event(d->insn_dec, &ev, sizeof(ev));
		if (status < 0)
			return status;
		printf("e %d %d %016" PRIx64 " %u %u\n", (int) ev.type, ev.has_tsc, ev.tsc, ev.lost_mtc, ev.lost_cyc);
	}
	return status;
}

/* The next instruction and its `i` line (also when an error came after it was decoded). */
static int next_insn(struct timed_decoder *d)
{
	uint64_t tsc = 0;
	uint32_t lost_mtc = 0, lost_cyc = 0;
	int status = pt_insn_next(d->insn_dec, &d->insn, sizeof(d->insn)), errcode;

	if (status < 0 && d->insn.iclass == ptic_error)
		return status;
	errcode = pt_insn_time(d->insn_dec, &tsc, &lost_mtc, &lost_cyc);
	printf("i %016" PRIx64 " %016" PRIx64 " %u %u %d\n", d->insn.ip, tsc, lost_mtc, lost_cyc, errcode < 0 ? 0 : 1);
	return status;
}

/* The next block and its `b` line (also when an error came after some of it was decoded). */
static int next_block(struct timed_decoder *d)
{
	uint64_t tsc = 0;
	uint32_t lost_mtc = 0, lost_cyc = 0;
	int status = pt_blk_next(d->blk, &d->block, sizeof(d->block)), errcode;

	if (status < 0 && !d->block.ninsn)
		return status;
	errcode = pt_blk_time(d->blk, &tsc, &lost_mtc, &lost_cyc);
	printf("b %016" PRIx64 " %u %016" PRIx64 " %u %u %d\n", d->block.ip, d->block.ninsn, tsc, lost_mtc, lost_cyc,
	       errcode < 0 ? 0 : 1);
	return status;
}

/* Sync, then instructions (or blocks) and their events until the end or an error; with
 * `resync`, on at the next PSB after an error. */
static void decode(struct timed_decoder *d, int resync)
{
	for (;;) {
		int status;

		d->insn.ip = 0;
		d->block.ip = 0;
		d->block.ninsn = 0;
		status = timed_sync(d);
		if (status < 0) {
			if (status != -pte_eos)
				print_error(d, 0, status);
			return;
		}
		for (;;) {
			status = drain_events(d, status);
			if (status < 0)
				break;
			if (status & pts_eos) {
				status = -pte_eos;
				break;
			}
			status = d->blk ? next_block(d) : next_insn(d);
			if (status < 0)
				break;
		}
		if (status == -pte_eos)
			return;
		print_error(d, d->blk ? d->block.end_ip : d->insn.ip, status);
		if (!resync)
			return;
	}
}

/* --raw FILE:ADDR[:CR3]: the image for any address space, or for CR3's. */
static int add_raw(struct pt_image *image, char *arg)
{
	char *colon = strrchr(arg, ':'), *second;
	struct pt_asid asid;
	uint64_t addr;

	if (!colon) {
		fprintf(stderr, "pt-libipt: --raw needs FILE:ADDR[:CR3], got %s\n", arg);
		return -1;
	}
	*colon = '\0';
	pt_asid_init(&asid);
	second = strrchr(arg, ':');
	/* FILE:ADDR:CR3 only when both numbers are hex: a file name may hold colons. */
	if (second && strncmp(colon + 1, "0x", 2) == 0 && strncmp(second + 1, "0x", 2) == 0) {
		*second = '\0';
		if (parse_u64(colon + 1, &asid.cr3) < 0 || parse_u64(second + 1, &addr) < 0) {
			fprintf(stderr, "pt-libipt: --raw: bad address or CR3 for %s\n", arg);
			return -1;
		}
	} else if (parse_u64(colon + 1, &addr) < 0) {
		fprintf(stderr, "pt-libipt: --raw: bad address for %s\n", arg);
		return -1;
	}
	/* Straight into the image, not through a section cache: the block decoder forms other
	 * blocks with one, and the `b` lines are its blocks without. */
	return add_image(image, NULL, arg, 0, 0, addr, &asid);
}

int time_main(int argc, char **argv)
{
	struct timed_decoder d;
	struct pt_config config;
	struct pt_image *image = pt_image_alloc(NULL);
	const char *pt = NULL;
	uint8_t *buf;
	size_t size;
	int resync = 0, block = 0, i, r;

	pt_config_init(&config);
	for (i = 0; i < argc; i++) {
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
			fprintf(stderr, "pt-libipt: time: %s needs a value\n", a);
			return 2;
		}
		i++;
		if (strcmp(a, "--pt") == 0)
			pt = v;
		else if (strcmp(a, "--raw") == 0) {
			if (add_raw(image, argv[i]) < 0)
				return 1;
		} else if ((r = config_option(&config, a, v)) != 0) {
			if (r > 0)
				fprintf(stderr, "pt-libipt: time: unknown option %s\n", a);
			return 2;
		}
	}
	if (!pt) {
		fprintf(stderr, "pt-libipt: time: --pt FILE is required\n");
		return 2;
	}
	if (config_errata(&config) < 0)
		return 2;
	if (read_file(pt, &buf, &size) < 0)
		return 1;
	config.begin = buf;
	config.end = buf + size;

	memset(&d, 0, sizeof(d));
	if (block) {
		d.blk = pt_blk_alloc_decoder(&config);
		if (d.blk)
			pt_blk_set_image(d.blk, image);
	} else {
		d.insn_dec = pt_insn_alloc_decoder(&config);
		if (d.insn_dec)
			pt_insn_set_image(d.insn_dec, image);
	}
	if (!d.blk && !d.insn_dec) {
		fprintf(stderr, "pt-libipt: time: cannot allocate the decoder\n");
		return 1;
	}
	decode(&d, resync);
	if (d.blk)
		pt_blk_free_decoder(d.blk);
	else
		pt_insn_free_decoder(d.insn_dec);
	pt_image_free(image);
	free(buf);
	return 0;
}
