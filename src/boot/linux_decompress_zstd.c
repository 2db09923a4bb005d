/*
 * zstd payloads (CONFIG_KERNEL_ZSTD) through libzstd.  One-shot decoding
 * into the exact-size buffer: no window buffer is allocated, whatever
 * window size the frame header claims.
 */
#include "linux_boot_internal.h"

#include <zstd.h>

#include <vmm/err.h>

int linux_decompress_zstd(const uint8_t *in, size_t in_size, uint8_t *out, size_t out_size,
                          char *err, size_t err_size)
{
    /* The frame is followed by the size trailer (already cut) and maybe padding. */
    size_t frame = ZSTD_findFrameCompressedSize(in, in_size);
    if (ZSTD_isError(frame))
        return linux_err(err, err_size, VERR_ZIP_CORRUPTED, "zstd kernel payload is corrupt or truncated (%s)",
                         ZSTD_getErrorName(frame));
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    if (!dctx)
        return linux_err(err, err_size, VERR_NO_MEMORY, "libzstd: cannot create a decoder");
    size_t n = ZSTD_decompressDCtx(dctx, out, out_size, in, frame);
    ZSTD_freeDCtx(dctx);
    if (ZSTD_isError(n))
        return linux_err(err, err_size, VERR_ZIP_CORRUPTED,
                         "zstd kernel payload is corrupt or larger than its size trailer says (%s)",
                         ZSTD_getErrorName(n));
    if (n != out_size)
        return linux_err(err, err_size, VERR_ZIP_CORRUPTED,
                         "zstd kernel payload decoded to %zu bytes, its size trailer says %zu", n, out_size);
    return VINF_SUCCESS;
}
