/* What pt-libipt's subcommands share (pt-libipt.c, pt-libipt-flow.c, pt-libipt-timing.c):
 * reading a trace, parsing numbers and CPUs, the pt_config options every decoder takes, and
 * adding a file to a traced memory image. Messages go to stderr, prefixed "pt-libipt:". */

#ifndef PT_LIBIPT_IO_H
#define PT_LIBIPT_IO_H

#include <intel-pt.h>

#include <stddef.h>
#include <stdint.h>

/* Reads a whole file into memory (libipt decodes one contiguous buffer); pipes work too.
 * 0, or -1 after a message. Free *buf with free(). */
int read_file(const char *name, uint8_t **buf, size_t *size);

/* C's number syntax (0x… hex, 0… octal, else decimal), the whole string: 0, or -1. */
int parse_u64(const char *s, uint64_t *out);

/* An Intel FAMILY/MODEL[/STEPPING] (decimal; at most 65535/255/255): 0, or -1 when the text
 * is not one. */
int parse_cpu(struct pt_cpu *cpu, const char *text);

/* The options that describe the traced CPU: --cpu none|F/M[/S], --mtc-freq N, --nom-freq N,
 * --cpuid-0x15.eax N, --cpuid-0x15.ebx N. 0: `name` was one and `value` is set in *config;
 * 1: `name` is not one of them; -1: a bad value (after a message). */
int config_option(struct pt_config *config, const char *name, const char *value);

/* The errata workarounds libipt knows for config->cpu (none without --cpu): 0, or -1 after a
 * message. Call once the options are parsed. */
int config_errata(struct pt_config *config);

/* Adds FILE's bytes [from, from+size) (size 0: to the end of the file) at ADDR, for the address
 * space `asid` (NULL: any). Through `iscache` when it is not NULL, so that blocks can be read
 * again by their section id; else straight into the image (pt_image_add_file). 0, or -1 after
 * a message. */
int add_image(struct pt_image *image, struct pt_image_section_cache *iscache, const char *file, uint64_t from,
	      uint64_t size, uint64_t addr, const struct pt_asid *asid);

#endif
