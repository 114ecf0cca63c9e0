/* The helpers pt-libipt's subcommands share: see pt-libipt-io.h. */

#include "pt-libipt-io.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int read_file(const char *name, uint8_t **buf, size_t *size)
{
	FILE *f = fopen(name, "rb");
	uint8_t *data = NULL;
	size_t cap = 0, len = 0;

	if (!f) {
		fprintf(stderr, "pt-libipt: cannot open %s: %s\n", name, strerror(errno));
		return -1;
	}
	/* Read until the end rather than trusting a size: pipes have none. */
	for (;;) {
		size_t n;

		if (len == cap) {
			uint8_t *next;

			cap = cap ? cap * 2 : (1u << 20);
			next = realloc(data, cap);
			if (!next) {
				fprintf(stderr, "pt-libipt: %s: out of memory\n", name);
				free(data);
				fclose(f);
				return -1;
			}
			data = next;
		}
		n = fread(data + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		fprintf(stderr, "pt-libipt: cannot read %s\n", name);
		free(data);
		fclose(f);
		return -1;
	}
	fclose(f);
	*buf = data;
	*size = len;
	return 0;
}

int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (!s || !*s)
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 0);
	return errno || *end ? -1 : 0;
}

int parse_cpu(struct pt_cpu *cpu, const char *text)
{
	unsigned family = 0, model = 0, stepping = 0;

	if (sscanf(text, "%u/%u/%u", &family, &model, &stepping) < 2 || family > 0xffff || model > 0xff ||
	    stepping > 0xff)
		return -1;
	memset(cpu, 0, sizeof(*cpu));
	cpu->vendor = pcv_intel;
	cpu->family = (uint16_t) family;
	cpu->model = (uint8_t) model;
	cpu->stepping = (uint8_t) stepping;
	return 0;
}

/* A number option's value, at most `max`: 0, or -1 after a message. */
static int parse_number(const char *name, const char *value, uint64_t max, uint64_t *out)
{
	if (parse_u64(value, out) < 0 || *out > max) {
		fprintf(stderr, "pt-libipt: %s: bad value %s\n", name, value);
		return -1;
	}
	return 0;
}

int config_option(struct pt_config *config, const char *name, const char *value)
{
	uint64_t n;

	if (strcmp(name, "--cpu") == 0) {
		if (strcmp(value, "none") == 0) {
			memset(&config->cpu, 0, sizeof(config->cpu));
			return 0;
		}
		if (parse_cpu(&config->cpu, value) < 0) {
			fprintf(stderr, "pt-libipt: --cpu needs none or FAMILY/MODEL[/STEPPING], got %s\n", value);
			return -1;
		}
	} else if (strcmp(name, "--mtc-freq") == 0) {
		if (parse_number(name, value, 0xf, &n) < 0)
			return -1;
		config->mtc_freq = (uint8_t) n;
	} else if (strcmp(name, "--nom-freq") == 0) {
		if (parse_number(name, value, 0xff, &n) < 0)
			return -1;
		config->nom_freq = (uint8_t) n;
	} else if (strcmp(name, "--cpuid-0x15.eax") == 0) {
		if (parse_number(name, value, 0xffffffffu, &n) < 0)
			return -1;
		config->cpuid_0x15_eax = (uint32_t) n;
	} else if (strcmp(name, "--cpuid-0x15.ebx") == 0) {
		if (parse_number(name, value, 0xffffffffu, &n) < 0)
			return -1;
		config->cpuid_0x15_ebx = (uint32_t) n;
	} else {
		return 1;
	}
	return 0;
}

int config_errata(struct pt_config *config)
{
	if (config->cpu.vendor && pt_cpu_errata(&config->errata, &config->cpu) < 0) {
		fprintf(stderr, "pt-libipt: no errata known for cpu %u/%u/%u\n", (unsigned) config->cpu.family,
			(unsigned) config->cpu.model, (unsigned) config->cpu.stepping);
		return -1;
	}
	return 0;
}

int add_image(struct pt_image *image, struct pt_image_section_cache *iscache, const char *file, uint64_t from,
	      uint64_t size, uint64_t addr, const struct pt_asid *asid)
{
	int isid, errcode;

	if (!size) {
		FILE *f = fopen(file, "rb");
		long len;

		if (!f || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0) {
			fprintf(stderr, "pt-libipt: cannot open %s: %s\n", file, strerror(errno));
			if (f)
				fclose(f);
			return -1;
		}
		fclose(f);
		if ((uint64_t) len < from) {
			fprintf(stderr, "pt-libipt: %s is shorter than 0x%" PRIx64 "\n", file, from);
			return -1;
		}
		size = (uint64_t) len - from;
	}
	if (!iscache) {
		errcode = pt_image_add_file(image, file, from, size, asid, addr);
	} else {
		isid = pt_iscache_add_file(iscache, file, from, size, addr);
		errcode = isid < 0 ? isid : pt_image_add_cached(image, iscache, isid, asid);
	}
	if (errcode < 0) {
		fprintf(stderr, "pt-libipt: cannot add %s at 0x%" PRIx64 ": %s\n", file, addr,
			pt_errstr(pt_errcode(errcode)));
		return -1;
	}
	return 0;
}
