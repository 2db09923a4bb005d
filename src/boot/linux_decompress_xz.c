/*
 * xz (CONFIG_KERNEL_XZ) and legacy .lzma (CONFIG_KERNEL_LZMA) payloads
 * through liblzma.  Both decoders stop at the end of their stream, so
 * trailing bytes are ignored; memory use is capped.
 */
#include "linux_boot_internal.h"

#include <lzma.h>

#include <vmm/err.h>

#define XZ_MEMLIMIT (UINT64_C(256) << 20)   /* dictionary memory; kernels use <= 32 MiB */

static int lzma_run(lzma_stream *s, const char *name, const uint8_t *in, size_t in_size,
                    uint8_t *out, size_t out_size, char *err, size_t err_size)
{
    s->next_in = in;
    s->avail_in = in_size;
    s->next_out = out;
    s->avail_out = out_size;
    /* Once the output is full, liblzma reports LZMA_BUF_ERROR (no progress) if
     * the stream holds more, LZMA_STREAM_END if it ends exactly there. */
    lzma_ret ret;
    do
        ret = lzma_code(s, LZMA_FINISH);
    while (ret == LZMA_OK);
    size_t produced = out_size - s->avail_out;
    lzma_end(s);
    if (ret != LZMA_STREAM_END || produced != out_size)
        return linux_err(err, err_size, VERR_ZIP_CORRUPTED,
                         "%s kernel payload is corrupt or does not match its size trailer "
                         "(liblzma status %d, %zu of %zu bytes decoded)", name, (int)ret, produced, out_size);
    return VINF_SUCCESS;
}

int linux_decompress_xz(const uint8_t *in, size_t in_size, uint8_t *out, size_t out_size,
                        char *err, size_t err_size)
{
    lzma_stream s = LZMA_STREAM_INIT;
    if (lzma_stream_decoder(&s, XZ_MEMLIMIT, 0) != LZMA_OK)
        return linux_err(err, err_size, VERR_NO_MEMORY, "liblzma: cannot initialize the xz decoder");
    return lzma_run(&s, "xz", in, in_size, out, out_size, err, err_size);
}

int linux_decompress_lzma(const uint8_t *in, size_t in_size, uint8_t *out, size_t out_size,
                          char *err, size_t err_size)
{
    lzma_stream s = LZMA_STREAM_INIT;
    if (lzma_alone_decoder(&s, XZ_MEMLIMIT) != LZMA_OK)
        return linux_err(err, err_size, VERR_NO_MEMORY, "liblzma: cannot initialize the lzma decoder");
    return lzma_run(&s, "lzma", in, in_size, out, out_size, err, err_size);
}
