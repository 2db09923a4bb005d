/*
 * Host-side decompression of a bzImage payload.  The format is recognized
 * by its magic bytes; the kernel's build appends the decompressed size as a
 * 32-bit little-endian trailer to every compressed payload (size_append),
 * so the output buffer is allocated once with that exact size (bounded by
 * the caller's limit) and each decoder must fill it exactly.
 */
#include "linux_boot_internal.h"

#include <stdlib.h>
#include <string.h>

#include <vmm/err.h>

typedef int decode_fn(const uint8_t *in, size_t in_size, uint8_t *out, size_t out_size,
                      char *err, size_t err_size);

struct payload_format {
    const char *name;
    const uint8_t *magic;
    size_t magic_len;
    decode_fn *decode;          /* NULL: recognized but not supported */
};

static const struct payload_format formats[] = {
    { "gzip",       (const uint8_t *)"\x1f\x8b", 2, linux_decompress_gzip },
    { "xz",         (const uint8_t *)"\xfd" "7zXZ\0", 6, linux_decompress_xz },
    { "zstd",       (const uint8_t *)"\x28\xb5\x2f\xfd", 4, linux_decompress_zstd },
    { "lz4",        (const uint8_t *)"\x02\x21\x4c\x18", 4, linux_decompress_lz4 },
    { "lzma",       (const uint8_t *)"\x5d\x00\x00", 3, linux_decompress_lzma },
    { "bzip2",      (const uint8_t *)"BZh", 3, NULL },
    { "lzo",        (const uint8_t *)"\x89LZO\0\r\n\x1a\n", 9, NULL },
    { "lz4 frame",  (const uint8_t *)"\x04\x22\x4d\x18", 4, NULL },
};

static const struct payload_format *format_detect(const uint8_t *in, size_t in_size)
{
    for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
        if (in_size >= formats[i].magic_len && memcmp(in, formats[i].magic, formats[i].magic_len) == 0)
            return &formats[i];
    return NULL;
}

/* An uncompressed payload (CONFIG_KERNEL_UNCOMPRESSED) is the ELF itself: copy it. */
static int payload_copy(const uint8_t *in, size_t in_size, size_t limit, uint8_t **out,
                        size_t *out_size, char *err, size_t err_size)
{
    if (in_size > limit)
        return linux_err(err, err_size, VERR_IMAGE_TOO_BIG,
                         "uncompressed kernel is %zu bytes, more than the limit of %zu", in_size, limit);
    *out = malloc(in_size);
    if (!*out)
        return linux_err(err, err_size, VERR_NO_MEMORY, "out of memory for a %zu-byte kernel", in_size);
    memcpy(*out, in, in_size);
    *out_size = in_size;
    return VINF_SUCCESS;
}

static int payload_decode(const struct payload_format *f, const uint8_t *in, size_t in_size,
                          size_t limit, uint8_t **out, size_t *out_size, char *err, size_t err_size)
{
    uint32_t expect;
    memcpy(&expect, in + in_size - 4, 4);     /* the size trailer (x86 is little-endian) */
    if (expect == 0 || expect > limit)
        return linux_err(err, err_size, VERR_IMAGE_TOO_BIG,
                         "%s kernel payload claims to decompress to %u bytes, more than the limit of %zu "
                         "(guest RAM, at most %llu MiB): corrupt kernel or too little guest RAM",
                         f->name, expect, limit, (unsigned long long)(LINUX_MAX_DECOMPRESSED >> 20));
    uint8_t *buf = malloc(expect);
    if (!buf)
        return linux_err(err, err_size, VERR_NO_MEMORY, "out of memory for a %u-byte kernel", expect);
    int rc = f->decode(in, in_size - 4, buf, expect, err, err_size);
    if (RT_FAILURE(rc)) {
        free(buf);
        return rc;
    }
    *out = buf;
    *out_size = expect;
    return VINF_SUCCESS;
}

int linux_decompress(const uint8_t *in, size_t in_size, size_t limit, uint8_t **out,
                     size_t *out_size, const char **format, char *err, size_t err_size)
{
    *out = NULL;
    *out_size = 0;
    *format = "unknown";
    if (linux_elf_is_elf(in, in_size)) {
        *format = "none";
        return payload_copy(in, in_size, limit, out, out_size, err, err_size);
    }
    const struct payload_format *f = format_detect(in, in_size);
    if (!f)
        return linux_err(err, err_size, VERR_NOT_SUPPORTED,
                         "unknown kernel payload compression (first bytes %02x %02x %02x %02x)",
                         in_size > 0 ? in[0] : 0, in_size > 1 ? in[1] : 0,
                         in_size > 2 ? in[2] : 0, in_size > 3 ? in[3] : 0);
    *format = f->name;
    if (!f->decode)
        return linux_err(err, err_size, VERR_NOT_SUPPORTED,
                         "kernel payload is %s-compressed, which Petrel cannot decompress on the host "
                         "(supported: gzip, xz, lzma, zstd, lz4); use the 32-bit entry (the kernel's "
                         "own decompressor) or a kernel built with another compression", f->name);
    if (in_size <= f->magic_len + 4)
        return linux_err(err, err_size, VERR_BAD_EXE_FORMAT,
                         "%s kernel payload is truncated (%zu bytes)", f->name, in_size);
    return payload_decode(f, in, in_size, limit, out, out_size, err, err_size);
}
