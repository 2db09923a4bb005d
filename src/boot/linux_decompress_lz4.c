/*
 * lz4 payloads (CONFIG_KERNEL_LZ4): the kernel uses lz4's legacy format,
 * a magic number followed by blocks of [le32 compressed size][LZ4 block],
 * each block decompressing to at most 8 MiB.  A repeated magic starts a
 * concatenated stream.
 */
#include "linux_boot_internal.h"

#include <limits.h>
#include <string.h>

#include <lz4.h>

#include <vmm/err.h>

#define LZ4_LEGACY_MAGIC  0x184c2102u
#define LZ4_LEGACY_BLOCK  (8u << 20)

static uint32_t le32_at(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

int linux_decompress_lz4(const uint8_t *in, size_t in_size, uint8_t *out, size_t out_size,
                         char *err, size_t err_size)
{
    size_t pos = 4, produced = 0;          /* the caller matched the magic */
    while (produced < out_size) {
        if (in_size - pos < 4)
            return linux_err(err, err_size, VERR_ZIP_CORRUPTED,
                             "lz4 kernel payload is truncated (%zu of %zu bytes decoded)", produced, out_size);
        uint32_t chunk = le32_at(in + pos);
        pos += 4;
        if (chunk == LZ4_LEGACY_MAGIC)
            continue;
        if (chunk == 0 || chunk > in_size - pos || chunk > (uint32_t)LZ4_compressBound(LZ4_LEGACY_BLOCK))
            return linux_err(err, err_size, VERR_ZIP_CORRUPTED,
                             "lz4 kernel payload is corrupt: block of %u bytes at offset %zu, %zu bytes left",
                             chunk, pos - 4, in_size - pos);
        size_t room = out_size - produced;
        int cap = (int)(room < LZ4_LEGACY_BLOCK ? room : LZ4_LEGACY_BLOCK);
        int n = LZ4_decompress_safe((const char *)in + pos, (char *)out + produced, (int)chunk, cap);
        if (n <= 0)
            return linux_err(err, err_size, VERR_ZIP_CORRUPTED,
                             "lz4 kernel payload is corrupt or larger than its size trailer says "
                             "(block at offset %zu)", pos - 4);
        produced += (size_t)n;
        pos += chunk;
    }
    for (; pos < in_size; pos++)          /* only zero padding may follow */
        if (in[pos] != 0)
            return linux_err(err, err_size, VERR_ZIP_CORRUPTED,
                             "lz4 kernel payload holds more data than its size trailer (%zu bytes) says",
                             out_size);
    return VINF_SUCCESS;
}
