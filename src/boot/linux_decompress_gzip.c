/*
 * gzip payloads (CONFIG_KERNEL_GZIP) through zlib.
 */
#include "linux_boot_internal.h"

#include <zlib.h>

#include <vmm/err.h>

int linux_decompress_gzip(const uint8_t *in, size_t in_size, uint8_t *out, size_t out_size,
                          char *err, size_t err_size)
{
    if (in_size > UINT32_MAX || out_size > UINT32_MAX)
        return linux_err(err, err_size, VERR_IMAGE_TOO_BIG, "gzip kernel payload is too large");
    z_stream zs = { 0 };
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)     /* 16: gzip wrapper only */
        return linux_err(err, err_size, VERR_NO_MEMORY, "zlib: cannot initialize the inflater");
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)in_size;
    zs.next_out = out;
    zs.avail_out = (uInt)out_size;
    int zrc;
    do
        zrc = inflate(&zs, Z_FINISH);
    while (zrc == Z_OK);
    size_t produced = zs.total_out;
    const char *msg = zs.msg;
    inflateEnd(&zs);
    if (zrc != Z_STREAM_END)
        return linux_err(err, err_size, VERR_ZIP_CORRUPTED,
                         "gzip kernel payload is corrupt or truncated (zlib: %s, %zu of %zu bytes decoded)",
                         msg ? msg : zrc == Z_BUF_ERROR ? "unexpected end of data or output full" : "error",
                         produced, out_size);
    if (produced != out_size)
        return linux_err(err, err_size, VERR_ZIP_CORRUPTED,
                         "gzip kernel payload decoded to %zu bytes, its size trailer says %zu",
                         produced, out_size);
    return VINF_SUCCESS;
}
