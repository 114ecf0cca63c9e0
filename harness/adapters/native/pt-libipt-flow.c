/* Instruction-flow decoding with libipt's instruction and block decoders, printed as ptxed
 * (libipt 2.0.5's tool) prints it with --no-inst: hwtrace's reference for `hwtrace decode --pt`
 * and for its differential tests and benchmarks. Called from pt-libipt.c's main:
 *
 *   pt-libipt ptxed [ptxed options]        ptxed itself, without XED: the block decoder unless
 *                                          --insn-decoder
 *   pt-libipt insn  [ptxed options]        the instruction decoder; stops at the first error
 *   pt-libipt block [ptxed options]        the block decoder; stops at the first error
 *                                          (all three continue at the next PSB with --resync-on-error)
 *
 * ptxed options: --pt FILE[:FROM[-TO]], --raw FILE[:FROM[-TO]]:BASE (repeatable), --cpu
 * none|F/M[/S] (with the errata workarounds libipt knows for it), --mtc-freq N, --nom-freq N,
 * --cpuid-0x15.eax N, --cpuid-0x15.ebx N, --filter:addrN_cfg|_a|_b V, --event:tick,
 * --insn-decoder, --block-decoder, --block:end-on-call, --block:end-on-jump (what is decoded);
 * --no-inst, --quiet|-q, --offset, --time, --event:time, --event:ip, --block:show-blocks, --stat,
 * --stat:insn, --stat:blocks, --check, --att, --raw-insn (what is printed; instructions are always
 * printed as addresses only, so --no-inst, --att and --raw-insn change nothing, and --check has
 * nothing to check without XED). Numbers are C's (0x… hex, 0… octal, else decimal).
 *
 * hwtrace's additions: --images LIST (hwtrace export's images.txt: `file address context` per
 * line, context `cr3=0x…` for an address space or `-` for any; relative names are relative to
 * LIST's directory), --count: no listing, only `insns N`, `blocks N` (non-empty blocks),
 * `errors N`, `seconds S` (decoding time, the trace in memory), and --no-iscache: images go
 * straight into the image (pt_image_add_file) instead of through an image section cache as
 * ptxed loads them; libipt's block decoder then forms other blocks and runs about half as fast
 * (its block cache is not used), and block listings cannot be printed (--count only). Options
 * are taken in any order; --no-iscache must come before the images.
 *
 * Block mode prints every instruction of a block, as ptxed does: the instructions' bytes come
 * from the image section cache (pt_iscache_read with the block's isid, or the block's raw bytes
 * for a truncated last instruction) and their lengths from insn_length() below, a small x86
 * length decoder (legacy, VEX and EVEX encodings) standing in for XED's.
 */

#include "pt-libipt-io.h"

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
	int quiet;
	int print_offset;
	int print_time;
	int print_event_time;
	int print_event_ip;
	int track_blocks;
	int print_stats;
	unsigned stat_flags;
};

enum { stat_insn = 1, stat_blocks = 2 };

struct flow_totals {
	uint64_t insns;
	uint64_t blocks;
	uint64_t errors;
	/* Non-empty blocks, for --count. */
	uint64_t full_blocks;
};

static struct pt_image_section_cache *iscache;
/* --no-iscache: images added straight to the image, as before hwtrace printed blocks. */
static int no_iscache;

/* x86 instruction length --------------------------------------------------------------------- */

/* Length of the instruction at b[0..n) in a 16-, 32- or 64-bit code segment, or -1 when it is
 * invalid there or does not fit; *disp is its branch displacement (relative jumps, calls,
 * Jcc, LOOP/JCXZ), else 0. Follows the SDM's encoding rules as Intel CPUs (and libipt's decoder)
 * apply them: 66 does not shorten near branch displacements in 64-bit mode. */
static int insn_length(const uint8_t *b, int n, int mode, int64_t *disp)
{
	int i = 0, p66 = 0, p67 = 0, rex_w = 0, map = 0, vex = 0, rel = 0;
	int osz, asz, immz, opc, modrm = 0, imm = 0, reg_form = 0;

	if (n > 15)
		n = 15;
	for (;; i++) {
		if (i >= n)
			return -1;
		switch (b[i]) {
		case 0x66: p66 = 1; rex_w = 0; continue;
		case 0x67: p67 = 1; rex_w = 0; continue;
		case 0xf0: case 0xf2: case 0xf3: case 0x2e: case 0x36: case 0x3e: case 0x26: case 0x64: case 0x65:
			rex_w = 0;
			continue;
		}
		if (mode == 64 && (b[i] & 0xf0) == 0x40) {
			rex_w = (b[i] >> 3) & 1;
			continue;
		}
		break;
	}
	osz = mode == 16 ? (p66 ? 32 : 16) : rex_w ? 64 : p66 ? 16 : 32;
	asz = mode == 16 ? (p67 ? 32 : 16) : mode == 32 ? (p67 ? 16 : 32) : (p67 ? 32 : 64);
	immz = osz == 16 ? 2 : 4;
	opc = b[i++];
	if (opc == 0x0f) {
		if (i >= n)
			return -1;
		opc = b[i++];
		map = 1;
		if (opc == 0x38 || opc == 0x3a) {
			map = opc == 0x38 ? 2 : 3;
			if (i >= n)
				return -1;
			opc = b[i++];
		}
	} else if ((opc == 0xc4 || opc == 0xc5 || opc == 0x62) && i < n && (mode == 64 || (b[i] & 0xc0) == 0xc0)) {
		/* VEX (C5: 1 byte, C4: 2 bytes) or EVEX (3 bytes) prefix, then the opcode. */
		int extra = opc == 0xc5 ? 1 : opc == 0xc4 ? 2 : 3;

		map = opc == 0xc5 ? 1 : opc == 0xc4 ? (b[i] & 0x1f) : (b[i] & 0x03);
		if (map < 1 || map > 3)
			return -1;
		i += extra;
		if (i >= n)
			return -1;
		opc = b[i++];
		vex = 1;
	}

	if (vex) {
		modrm = !(map == 1 && opc == 0x77);
		if (map == 3 || (map == 1 && ((opc >= 0x70 && opc <= 0x73) || (opc >= 0xc4 && opc <= 0xc6) || opc == 0xc2)))
			imm = 1;
	} else if (map == 0) {
		if (mode == 64) {
			switch (opc) {
			case 0x06: case 0x07: case 0x0e: case 0x16: case 0x17: case 0x1e: case 0x1f: case 0x27:
			case 0x2f: case 0x37: case 0x3f: case 0x60: case 0x61: case 0x62: case 0x82: case 0x9a:
			case 0xc4: case 0xc5: case 0xce: case 0xd4: case 0xd5: case 0xd6: case 0xea:
				return -1;
			}
		}
		if (opc < 0x40) {
			modrm = (opc & 7) < 4;
			imm = (opc & 7) == 4 ? 1 : (opc & 7) == 5 ? immz : 0;
		} else {
			switch (opc) {
			case 0x62: case 0x63: case 0xc4: case 0xc5: case 0xd0: case 0xd1: case 0xd2: case 0xd3:
			case 0xfe: case 0xff: case 0x8f: case 0xf6: case 0xf7:
				modrm = 1;
				break;
			case 0x69: case 0xc7: case 0x81:
				modrm = 1;
				imm = immz;
				break;
			case 0x6b: case 0xc0: case 0xc1: case 0xc6: case 0x80: case 0x82: case 0x83:
				modrm = 1;
				imm = 1;
				break;
			case 0x68: case 0xa9:
				imm = immz;
				break;
			case 0xe8: case 0xe9:
				imm = mode == 64 ? 4 : immz;
				rel = 1;
				break;
			case 0xeb:
				imm = 1;
				rel = 1;
				break;
			case 0x6a: case 0xa8: case 0xcd: case 0xd4: case 0xd5:
				imm = 1;
				break;
			case 0xc2: case 0xca:
				imm = 2;
				break;
			case 0xc8:
				imm = 3;
				break;
			case 0x9a: case 0xea:
				imm = osz == 16 ? 4 : 6;
				break;
			case 0xa0: case 0xa1: case 0xa2: case 0xa3:
				imm = asz / 8;
				break;
			default:
				if (opc >= 0x84 && opc <= 0x8e)
					modrm = 1;
				else if (opc >= 0xd8 && opc <= 0xdf)
					modrm = 1;
				else if ((opc >= 0x70 && opc <= 0x7f) || (opc >= 0xe0 && opc <= 0xe3))
					imm = rel = 1;
				else if ((opc >= 0xb0 && opc <= 0xb7) || (opc >= 0xe4 && opc <= 0xe7))
					imm = 1;
				else if (opc >= 0xb8 && opc <= 0xbf)
					imm = osz == 64 ? 8 : immz;
			}
		}
	} else if (map == 1) {
		switch (opc) {
		case 0x04: case 0x0a: case 0x0c: case 0x24: case 0x25: case 0x26: case 0x27: case 0x36:
		case 0x39: case 0x3b: case 0x3c: case 0x3d: case 0x3e: case 0x3f: case 0x7a: case 0x7b:
		case 0xa6: case 0xa7:
			return -1;
		case 0x05: case 0x06: case 0x07: case 0x08: case 0x09: case 0x0b: case 0x0e: case 0x30:
		case 0x31: case 0x32: case 0x33: case 0x34: case 0x35: case 0x37: case 0x77: case 0xa0:
		case 0xa1: case 0xa2: case 0xa8: case 0xa9: case 0xaa:
			break;
		case 0x20: case 0x21: case 0x22: case 0x23:
			modrm = 1;
			reg_form = 1;
			break;
		case 0x70: case 0x71: case 0x72: case 0x73: case 0xa4: case 0xac: case 0xba: case 0xc2:
		case 0xc4: case 0xc5: case 0xc6: case 0x0f:
			modrm = 1;
			imm = 1;
			break;
		default:
			if (opc >= 0x80 && opc <= 0x8f) {
				imm = mode == 64 ? 4 : immz;
				rel = 1;
			}
			else if (!(opc >= 0xc8 && opc <= 0xcf))
				modrm = 1;
		}
	} else {
		modrm = 1;
		imm = map == 3;
	}

	if (modrm) {
		int m, mod, rm;

		if (i >= n)
			return -1;
		m = b[i++];
		mod = reg_form ? 3 : m >> 6;
		rm = m & 7;
		if (!vex && map == 0 && (opc == 0xf6 || opc == 0xf7) && ((m >> 3) & 7) < 2)
			imm = opc == 0xf6 ? 1 : immz;
		if (mod != 3) {
			if (asz == 16) {
				if (mod == 0 && rm == 6)
					i += 2;
				else
					i += mod == 1 ? 1 : mod == 2 ? 2 : 0;
			} else {
				if (rm == 4) {
					if (i >= n)
						return -1;
					if (mod == 0 && (b[i] & 7) == 5)
						i += 4;
					i++;
				} else if (mod == 0 && rm == 5) {
					i += 4;
				}
				i += mod == 1 ? 1 : mod == 2 ? 4 : 0;
			}
		}
	}
	i += imm;
	if (i > n)
		return -1;
	*disp = 0;
	if (rel) {
		/* The branch displacement: the last imm bytes, little-endian, signed. */
		uint64_t v = 0;
		int k;

		for (k = imm - 1; k >= 0; k--)
			v = (v << 8) | b[i - imm + k];
		*disp = imm == 1 ? (int8_t) v : imm == 2 ? (int16_t) v : (int32_t) v;
	}
	return i;
}

static int mode_bits(enum pt_exec_mode mode)
{
	return mode == ptem_16bit ? 16 : mode == ptem_32bit ? 32 : 64;
}

/* Input -------------------------------------------------------------------------------------- */

/* Splits ptxed's `FILE[:FROM[-TO]]` (in place): *from and *size (0: to the end of the file). */
static int file_range(char *arg, uint64_t *from, uint64_t *size)
{
	char *colon = strrchr(arg, ':'), *dash;
	uint64_t to = 0;

	*from = 0;
	*size = 0;
	if (!colon)
		return 0;
	*colon = '\0';
	dash = strchr(colon + 1, '-');
	if (dash)
		*dash = '\0';
	if (parse_u64(colon + 1, from) < 0 || (dash && (parse_u64(dash + 1, &to) < 0 || to < *from)))
		return -1;
	if (dash)
		*size = to - *from;
	return 0;
}

/* ptxed's --raw FILE[:FROM[-TO]]:BASE */
static int add_raw(struct pt_image *image, char *arg)
{
	char *colon = strrchr(arg, ':');
	uint64_t base, from, size;

	if (!colon || parse_u64(colon + 1, &base) < 0) {
		fprintf(stderr, "pt-libipt: --raw needs FILE[:FROM[-TO]]:BASE, got %s\n", arg);
		return -1;
	}
	*colon = '\0';
	if (file_range(arg, &from, &size) < 0) {
		fprintf(stderr, "pt-libipt: --raw: bad file range in %s\n", arg);
		return -1;
	}
	return add_image(image, no_iscache ? NULL : iscache, arg, from, size, base, NULL);
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
		struct pt_asid asid;
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
		pt_asid_init(&asid);
		if (n == 3 && strncmp(ctx, "cr3=", 4) == 0)
			asid.cr3 = strtoull(ctx + 4, NULL, 0);
		/* Without a CR3 the asid matches any address space. */
		failed = add_image(image, no_iscache ? NULL : iscache, path, 0, 0, addr, &asid) < 0;
		if (failed)
			break;
	}
	fclose(f);
	return failed ? -1 : 0;
}

/* ptxed's text ------------------------------------------------------------------------------- */

static const char *exec_mode_name(enum pt_exec_mode mode)
{
	switch (mode) {
	case ptem_16bit: return "16-bit";
	case ptem_32bit: return "32-bit";
	case ptem_64bit: return "64-bit";
	case ptem_unknown: return "<unknown>";
	default: return "<invalid>";
	}
}

static void print_event(const struct pt_event *ev, const struct flow_options *opt, uint64_t offset)
{
	int ip = opt->print_event_ip;

	printf("[");
	if (opt->print_offset)
		printf("%016" PRIx64 "  ", offset);
	if (opt->print_event_time && ev->has_tsc)
		printf("%016" PRIx64 "  ", ev->tsc);
	switch (ev->type) {
	case ptev_enabled:
		printf("%s", ev->variant.enabled.resumed ? "resumed" : "enabled");
		if (ip)
			printf(", ip: %016" PRIx64, ev->variant.enabled.ip);
		break;
	case ptev_disabled:
		printf("disabled");
		if (ip && !ev->ip_suppressed)
			printf(", ip: %016" PRIx64, ev->variant.disabled.ip);
		break;
	case ptev_async_disabled:
		printf("disabled");
		if (ip) {
			printf(", at: %016" PRIx64, ev->variant.async_disabled.at);
			if (!ev->ip_suppressed)
				printf(", ip: %016" PRIx64, ev->variant.async_disabled.ip);
		}
		break;
	case ptev_async_branch:
		printf("interrupt");
		if (ip) {
			printf(", from: %016" PRIx64, ev->variant.async_branch.from);
			if (!ev->ip_suppressed)
				printf(", to: %016" PRIx64, ev->variant.async_branch.to);
		}
		break;
	case ptev_paging:
		printf("paging, cr3: %016" PRIx64 "%s", ev->variant.paging.cr3, ev->variant.paging.non_root ? ", nr" : "");
		break;
	case ptev_async_paging:
		printf("paging, cr3: %016" PRIx64 "%s", ev->variant.async_paging.cr3,
		       ev->variant.async_paging.non_root ? ", nr" : "");
		if (ip)
			printf(", ip: %016" PRIx64, ev->variant.async_paging.ip);
		break;
	case ptev_overflow:
		printf("overflow");
		if (ip && !ev->ip_suppressed)
			printf(", ip: %016" PRIx64, ev->variant.overflow.ip);
		break;
	case ptev_exec_mode:
		printf("exec mode: %s", exec_mode_name(ev->variant.exec_mode.mode));
		if (ip && !ev->ip_suppressed)
			printf(", ip: %016" PRIx64, ev->variant.exec_mode.ip);
		break;
	case ptev_tsx:
		printf("%s", ev->variant.tsx.aborted ? "aborted" :
		       ev->variant.tsx.speculative ? "begin transaction" : "committed");
		if (ip && !ev->ip_suppressed)
			printf(", ip: %016" PRIx64, ev->variant.tsx.ip);
		break;
	case ptev_stop:
		printf("stopped");
		break;
	case ptev_vmcs:
		printf("vmcs, base: %016" PRIx64, ev->variant.vmcs.base);
		break;
	case ptev_async_vmcs:
		printf("vmcs, base: %016" PRIx64, ev->variant.async_vmcs.base);
		if (ip)
			printf(", ip: %016" PRIx64, ev->variant.async_vmcs.ip);
		break;
	case ptev_exstop:
		printf("exstop");
		if (ip && !ev->ip_suppressed)
			printf(", ip: %016" PRIx64, ev->variant.exstop.ip);
		break;
	case ptev_mwait:
		printf("mwait %" PRIx32 " %" PRIx32, ev->variant.mwait.hints, ev->variant.mwait.ext);
		if (ip && !ev->ip_suppressed)
			printf(", ip: %016" PRIx64, ev->variant.mwait.ip);
		break;
	case ptev_pwre:
		printf("pwre c%u.%u", (ev->variant.pwre.state + 1) & 0xf, (ev->variant.pwre.sub_state + 1) & 0xf);
		if (ev->variant.pwre.hw)
			printf(" hw");
		break;
	case ptev_pwrx:
		printf("pwrx ");
		if (ev->variant.pwrx.interrupt)
			printf("int: ");
		if (ev->variant.pwrx.store)
			printf("st: ");
		if (ev->variant.pwrx.autonomous)
			printf("hw: ");
		printf("c%u (c%u)", (ev->variant.pwrx.last + 1) & 0xf, (ev->variant.pwrx.deepest + 1) & 0xf);
		break;
	case ptev_ptwrite:
		printf("ptwrite: %" PRIx64, ev->variant.ptwrite.payload);
		if (ip && !ev->ip_suppressed)
			printf(", ip: %016" PRIx64, ev->variant.ptwrite.ip);
		break;
	case ptev_tick:
		printf("tick");
		if (ip && !ev->ip_suppressed)
			printf(", ip: %016" PRIx64, ev->variant.tick.ip);
		break;
	case ptev_cbr:
		printf("cbr: %x", ev->variant.cbr.ratio);
		break;
	case ptev_mnt:
		printf("mnt: %" PRIx64, ev->variant.mnt.payload);
		break;
	}
	printf("]\n");
}

/* One instruction line: [offset  ][time  ][? ]ip */
static void print_insn_ip(const struct flow_options *opt, uint64_t offset, uint64_t time, int speculative, uint64_t ip)
{
	if (opt->print_offset)
		printf("%016" PRIx64 "  ", offset);
	if (opt->print_time)
		printf("%016" PRIx64 "  ", time);
	if (speculative)
		printf("? ");
	printf("%016" PRIx64 "\n", ip);
}

/* ptxed's diagnose(): the decoder's position, the IP, the kind of error and libipt's message. */
static void diagnose(int ok, uint64_t pos, uint64_t ip, const char *errtype, int errcode)
{
	if (!ok) {
		printf("could not determine offset: %s\n", pt_errstr(pte_internal));
		printf("[?, %" PRIx64 ": %s: %s]\n", ip, errtype, pt_errstr(pt_errcode(errcode)));
	} else {
		printf("[%" PRIx64 ", %" PRIx64 ": %s: %s]\n", pos, ip, errtype, pt_errstr(pt_errcode(errcode)));
	}
}

static void print_stats(const struct flow_options *opt, const struct flow_totals *tot)
{
	if (opt->stat_flags & stat_insn)
		printf("insn: %" PRIu64 ".\n", tot->insns);
	if (opt->stat_flags & stat_blocks)
		printf("blocks:\t%" PRIu64 ".\n", tot->blocks);
}

/* The instruction decoder (ptxed's decode_insn) --------------------------------------------- */

static int drain_insn_events(struct pt_insn_decoder *dec, int status, const struct flow_options *opt, uint64_t *time)
{
	while (status & pts_event_pending) {
		struct pt_event ev;
		uint64_t offset = 0;

		if (opt->print_offset && pt_insn_get_offset(dec, &offset) < 0)
			return -pte_internal;
		status = pt_insn_event(dec, &ev, sizeof(ev));
		if (status < 0)
			return status;
		*time = ev.tsc;
		/* Status updates repeat what the decoder knows already (PSB+): ptxed does not show them. */
		if (!opt->quiet && !ev.status_update)
			print_event(&ev, opt, offset);
	}
	return status;
}

static void insn_error(struct pt_insn_decoder *dec, const struct flow_options *opt, struct flow_totals *tot,
		       uint64_t ip, const char *errtype, int status)
{
	uint64_t pos = 0;
	int ok = pt_insn_get_offset(dec, &pos) >= 0;

	tot->errors++;
	if (!opt->count_only)
		diagnose(ok, pos, ip, errtype, status);
}

static void decode_insn(struct pt_insn_decoder *dec, const struct flow_options *opt, struct flow_totals *tot)
{
	uint64_t offset = 0, sync = 0, time = 0;
	int print = !opt->quiet;

	for (;;) {
		struct pt_insn insn;
		int status;

		/* The IP is used for error reports. */
		memset(&insn, 0, sizeof(insn));
		status = pt_insn_sync_forward(dec);

		if (status < 0) {
			uint64_t new_sync = 0;

			if (status == -pte_eos)
				return;
			insn_error(dec, opt, tot, insn.ip, "sync error", status);
			/* Retry while the decoder makes progress (ptxed). */
			if (!opt->resync_on_error || pt_insn_get_offset(dec, &new_sync) < 0 || new_sync <= sync)
				return;
			sync = new_sync;
			continue;
		}
		for (;;) {
			status = drain_insn_events(dec, status, opt, &time);
			if (status < 0)
				break;
			if (status & pts_eos) {
				if (!(status & pts_ip_suppressed) && print)
					printf("[end of trace]\n");
				status = -pte_eos;
				break;
			}
			if (opt->print_offset && pt_insn_get_offset(dec, &offset) < 0) {
				status = -pte_internal;
				break;
			}
			status = pt_insn_next(dec, &insn, sizeof(insn));
			if (status < 0) {
				/* The instruction may have been decoded before the error. */
				if (insn.iclass != ptic_error) {
					tot->insns++;
					if (print)
						print_insn_ip(opt, offset, time, insn.speculative, insn.ip);
				}
				break;
			}
			tot->insns++;
			if (print)
				print_insn_ip(opt, offset, time, insn.speculative, insn.ip);
		}
		if (status == -pte_eos)
			return;
		insn_error(dec, opt, tot, insn.ip, "error", status);
		if (!opt->resync_on_error)
			return;
	}
}

/* The block decoder (ptxed's decode_block) --------------------------------------------------- */

/* The bytes of the instruction at `ip` of `block` (ptxed's block_fetch_insn): its size, or a
 * negative error. */
static int block_fetch(const struct pt_block *block, uint64_t ip, uint8_t raw[pt_max_insn_size])
{
	if (!block->ninsn)
		return -pte_invalid;
	if (ip == block->end_ip && block->truncated) {
		if (!block->size || block->size > pt_max_insn_size)
			return -pte_bad_insn;
		memcpy(raw, block->raw, block->size);
		return block->size;
	}
	return pt_iscache_read(iscache, raw, pt_max_insn_size, block->isid, ip);
}

/* The IP of the instruction after the one at `ip` of `block` (ptxed's xed_next_ip: a block goes
 * on through direct jumps and calls, so a branch displacement is added; a conditional branch
 * ends its block, so its displacement never matters), or a negative error. */
static int block_next_ip(const struct pt_block *block, uint64_t ip, uint64_t *next)
{
	uint8_t raw[pt_max_insn_size];
	int size = block_fetch(block, ip, raw), len;
	int64_t disp;

	if (size < 0)
		return size;
	len = insn_length(raw, size, mode_bits(block->mode), &disp);
	if (len < 0)
		return -pte_bad_insn;
	*next = ip + (uint64_t) len + (uint64_t) disp;
	return 0;
}

static void print_block(struct pt_block_decoder *dec, const struct pt_block *block, const struct flow_options *opt,
			const struct flow_totals *tot, uint64_t offset, uint64_t time)
{
	uint64_t ip = block->ip;
	uint16_t ninsn = block->ninsn;

	if (opt->track_blocks) {
		printf("[block");
		if (opt->print_stats)
			printf(" %" PRIx64, tot->blocks);
		printf("]\n");
	}
	while (ninsn) {
		int err;

		if (opt->print_offset)
			printf("%016" PRIx64 "  ", offset);
		if (opt->print_time)
			printf("%016" PRIx64 "  ", time);
		if (block->speculative)
			printf("? ");
		printf("%016" PRIx64, ip);
		err = block_next_ip(block, ip, &ip);
		if (err == -pte_bad_insn) {
			uint64_t pos = 0;
			int ok = pt_blk_get_offset(dec, &pos) >= 0;

			printf("\n");
			diagnose(ok, pos, ip, "reconstruct error", err);
			break;
		}
		if (err < 0) {
			printf(" [fetch error: %s]\n", pt_errstr(pt_errcode(err)));
			break;
		}
		printf("\n");
		ninsn--;
	}
}

static int drain_blk_events(struct pt_block_decoder *dec, int status, const struct flow_options *opt, uint64_t *time)
{
	while (status & pts_event_pending) {
		struct pt_event ev;
		uint64_t offset = 0;

		if (opt->print_offset && pt_blk_get_offset(dec, &offset) < 0)
			return -pte_internal;
		status = pt_blk_event(dec, &ev, sizeof(ev));
		if (status < 0)
			return status;
		*time = ev.tsc;
		/* Status updates repeat what the decoder knows already (PSB+): ptxed does not show them. */
		if (!opt->quiet && !ev.status_update)
			print_event(&ev, opt, offset);
	}
	return status;
}

/* ptxed's diagnose_block(): the IP is the block's when it is empty, else its last instruction's,
 * or for nomap and bad_insn the one after it (where decoding failed). */
static void block_error(struct pt_block_decoder *dec, const struct flow_options *opt, struct flow_totals *tot,
			const struct pt_block *block, const char *errtype, int status)
{
	uint64_t ip = block->ip, pos = 0;
	int ok;

	tot->errors++;
	if (opt->count_only)
		return;
	if (block->ninsn) {
		ip = block->end_ip;
		if (status == -pte_nomap || status == -pte_bad_insn) {
			int err = block_next_ip(block, block->end_ip, &ip);

			if (err < 0) {
				ok = pt_blk_get_offset(dec, &pos) >= 0;
				diagnose(ok, pos, block->end_ip, "reconstruct error", err);
				ip = block->end_ip;
			}
		}
	}
	ok = pt_blk_get_offset(dec, &pos) >= 0;
	diagnose(ok, pos, ip, errtype, status);
}

static void take_block(struct pt_block_decoder *dec, const struct pt_block *block, const struct flow_options *opt,
		       struct flow_totals *tot, uint64_t offset, uint64_t time)
{
	tot->insns += block->ninsn;
	tot->blocks++;
	if (block->ninsn)
		tot->full_blocks++;
	if (!opt->quiet)
		print_block(dec, block, opt, tot, offset, time);
}

static void decode_block(struct pt_block_decoder *dec, const struct flow_options *opt, struct flow_totals *tot)
{
	uint64_t offset = 0, sync = 0, time = 0;

	for (;;) {
		struct pt_block block;
		int status;

		/* The IP and the count are used for error reports. */
		block.ip = 0;
		block.ninsn = 0;
		status = pt_blk_sync_forward(dec);
		if (status < 0) {
			uint64_t new_sync = 0;

			if (status == -pte_eos)
				return;
			block_error(dec, opt, tot, &block, "sync error", status);
			if (!opt->resync_on_error || pt_blk_get_offset(dec, &new_sync) < 0 || new_sync <= sync)
				return;
			sync = new_sync;
			continue;
		}
		for (;;) {
			status = drain_blk_events(dec, status, opt, &time);
			if (status < 0)
				break;
			if (status & pts_eos) {
				if (!(status & pts_ip_suppressed) && !opt->quiet)
					printf("[end of trace]\n");
				status = -pte_eos;
				break;
			}
			if (opt->print_offset && pt_blk_get_offset(dec, &offset) < 0) {
				status = -pte_internal;
				break;
			}
			status = pt_blk_next(dec, &block, sizeof(block));
			if (status < 0) {
				/* A block returned with an error still holds the instructions decoded so far. */
				if (block.ninsn)
					take_block(dec, &block, opt, tot, offset, time);
				break;
			}
			take_block(dec, &block, opt, tot, offset, time);
		}
		if (status == -pte_eos)
			return;
		block_error(dec, opt, tot, &block, "error", status);
		if (!opt->resync_on_error)
			return;
	}
}

/* Options ------------------------------------------------------------------------------------ */

static int set_filter(struct pt_config *config, const char *name, const char *v)
{
	unsigned n;
	char kind[8];
	uint64_t value;

	if (sscanf(name, "--filter:addr%u_%7s", &n, kind) != 2 || n > 3)
		return 1;
	if (parse_u64(v, &value) < 0) {
		fprintf(stderr, "pt-libipt: %s: bad value %s\n", name, v);
		return -1;
	}
	if (strcmp(kind, "cfg") == 0) {
		if (value > 0xf) {
			fprintf(stderr, "pt-libipt: %s: bad value %s\n", name, v);
			return -1;
		}
		config->addr_filter.config.addr_cfg &= ~((uint64_t) 0xf << (4 * n));
		config->addr_filter.config.addr_cfg |= value << (4 * n);
	} else if (strcmp(kind, "a") == 0 || strcmp(kind, "b") == 0) {
		uint64_t *regs[4][2] = {
			{ &config->addr_filter.addr0_a, &config->addr_filter.addr0_b },
			{ &config->addr_filter.addr1_a, &config->addr_filter.addr1_b },
			{ &config->addr_filter.addr2_a, &config->addr_filter.addr2_b },
			{ &config->addr_filter.addr3_a, &config->addr_filter.addr3_b },
		};
		*regs[n][kind[0] == 'b'] = value;
	} else {
		return 1;
	}
	return 0;
}

/* mode: 0 insn, 1 block, 2 ptxed (block unless --insn-decoder) */
int flow_main(int argc, char **argv, int mode)
{
	struct flow_options opt;
	struct flow_totals tot = { 0, 0, 0, 0 };
	struct pt_config config;
	struct pt_image *image;
	uint8_t *trace = NULL;
	size_t size = 0;
	uint64_t pt_from = 0, pt_size = 0;
	int tick = 0, end_on_call = 0, end_on_jump = 0, i, status = 0;
	struct timespec t0, t1;
	static char outbuf[1 << 16];

	memset(&opt, 0, sizeof(opt));
	opt.use_block = mode != 0;
	setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));
	iscache = pt_iscache_alloc(NULL);
	image = pt_image_alloc("hwtrace");
	pt_config_init(&config);
	for (i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		int r;

		if (strcmp(a, "--count") == 0) opt.count_only = 1;
		else if (strcmp(a, "--no-iscache") == 0) no_iscache = 1;
		else if (strcmp(a, "--resync-on-error") == 0) opt.resync_on_error = 1;
		else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) opt.quiet = 1;
		else if (strcmp(a, "--offset") == 0) opt.print_offset = 1;
		else if (strcmp(a, "--time") == 0) opt.print_time = 1;
		else if (strcmp(a, "--event:time") == 0) opt.print_event_time = 1;
		else if (strcmp(a, "--event:ip") == 0) opt.print_event_ip = 1;
		else if (strcmp(a, "--event:tick") == 0) tick = 1;
		else if (strcmp(a, "--block:show-blocks") == 0) opt.track_blocks = 1;
		else if (strcmp(a, "--block:end-on-call") == 0) end_on_call = 1;
		else if (strcmp(a, "--block:end-on-jump") == 0) end_on_jump = 1;
		else if (strcmp(a, "--insn-decoder") == 0) opt.use_block = 0;
		else if (strcmp(a, "--block-decoder") == 0) opt.use_block = 1;
		else if (strcmp(a, "--stat") == 0) opt.print_stats = 1;
		else if (strcmp(a, "--stat:insn") == 0) {
			opt.print_stats = 1;
			opt.stat_flags |= stat_insn;
		} else if (strcmp(a, "--stat:blocks") == 0) {
			opt.print_stats = 1;
			opt.stat_flags |= stat_blocks;
		} else if (strcmp(a, "--no-inst") == 0 || strcmp(a, "--check") == 0 || strcmp(a, "--att") == 0 ||
			   strcmp(a, "--raw-insn") == 0) {
			/* Nothing to do without a disassembler. */
		} else if (!v) {
			fprintf(stderr, "pt-libipt: unknown option or missing value: %s\n", a);
			return 2;
		} else if (i++, strcmp(a, "--pt") == 0) {
			char *copy = strdup(v);

			if (file_range(copy, &pt_from, &pt_size) < 0) {
				fprintf(stderr, "pt-libipt: --pt: bad file range in %s\n", v);
				return 2;
			}
			opt.pt = copy;
		} else if (strcmp(a, "--raw") == 0) {
			char *copy = strdup(v);

			r = add_raw(image, copy);
			free(copy);
			if (r < 0)
				return 1;
		} else if (strcmp(a, "--images") == 0) {
			if (add_image_list(image, v) < 0)
				return 1;
		} else if ((r = config_option(&config, a, v)) <= 0) {
			if (r < 0)
				return 2;
		} else if ((r = set_filter(&config, a, v)) <= 0) {
			if (r < 0)
				return 2;
		} else {
			fprintf(stderr, "pt-libipt: unknown option %s\n", a);
			return 2;
		}
	}
	if (!opt.pt) {
		fprintf(stderr, "pt-libipt: needs --pt FILE\n");
		return 2;
	}
	/* --stat alone collects everything there is for the decoder. */
	if (opt.print_stats && !opt.stat_flags)
		opt.stat_flags = stat_insn | (opt.use_block ? stat_blocks : 0);
	if (config_errata(&config) < 0)
		return 2;
	if (opt.count_only)
		opt.quiet = 1;
	if (read_file(opt.pt, &trace, &size) < 0)
		return 1;
	if (pt_from > size || pt_size > size - pt_from) {
		fprintf(stderr, "pt-libipt: --pt: range outside %s (%zu bytes)\n", opt.pt, size);
		return 2;
	}
	config.begin = trace + pt_from;
	config.end = pt_size ? trace + pt_from + pt_size : trace + size;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (opt.use_block) {
		struct pt_block_decoder *dec;

		config.flags.variant.block.enable_tick_events = (uint32_t) tick;
		config.flags.variant.block.end_on_call = (uint32_t) end_on_call;
		config.flags.variant.block.end_on_jump = (uint32_t) end_on_jump;
		dec = pt_blk_alloc_decoder(&config);
		if (!dec || pt_blk_set_image(dec, image) < 0) {
			fprintf(stderr, "pt-libipt: cannot create the block decoder\n");
			return 1;
		}
		decode_block(dec, &opt, &tot);
		pt_blk_free_decoder(dec);
	} else {
		struct pt_insn_decoder *dec;

		config.flags.variant.insn.enable_tick_events = (uint32_t) tick;
		dec = pt_insn_alloc_decoder(&config);
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
		       tot.full_blocks, tot.errors, (double) (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	else if (opt.print_stats)
		print_stats(&opt, &tot);
	fflush(stdout);
	pt_image_free(image);
	pt_iscache_free(iscache);
	free(trace);
	status = tot.errors ? 1 : 0;
	return status;
}
