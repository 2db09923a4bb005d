/*
 * The writer and reader behind every saved-state stream (file, caller's
 * stream ops, teleport socket).
 */
#include "ssm_stream.h"

#include <stdarg.h>
#include <stdio.h>

#include <vmm/err.h>

#include "crc32c.h"

void ssm_writer_init(struct ssm_writer *w, PCSSMSTRMOPS ops, void *user)
{
    w->ops = ops;
    w->user = user;
    w->off = 0;
    w->crc = 0;
    w->rc = VINF_SUCCESS;
    w->holes_ok = false;
    w->msg[0] = '\0';
}

static void vformat(char *msg, int rc, const char *fmt, va_list va)
{
    if (msg[0])
        return;                        /* keep the first, most specific message */
    (void)rc;
    vsnprintf(msg, SSM_MSG_SIZE, fmt, va);
}

int ssm_writer_fail(struct ssm_writer *w, int rc, const char *fmt, ...)
{
    if (RT_SUCCESS(w->rc)) {
        w->rc = rc;
        va_list va;
        va_start(va, fmt);
        vformat(w->msg, rc, fmt, va);
        va_end(va);
    }
    return w->rc;
}

static int write_bytes(struct ssm_writer *w, const void *buf, size_t len, bool checked)
{
    if (RT_FAILURE(w->rc))
        return w->rc;
    int rc = w->ops->pfnIsOk ? w->ops->pfnIsOk(w->user) : VINF_SUCCESS;
    if (RT_FAILURE(rc))
        return ssm_writer_fail(w, rc, "the stream reported a problem at offset %llu (status %d): saving stopped",
                               (unsigned long long)w->off, rc);
    if (len == 0)
        return VINF_SUCCESS;
    rc = w->ops->pfnWrite(w->user, w->off, buf, len);
    if (RT_FAILURE(rc))
        return ssm_writer_fail(w, rc, "writing %zu bytes at offset %llu failed (status %d)", len,
                               (unsigned long long)w->off, rc);
    if (checked)
        w->crc = crc32c(w->crc, buf, len);
    w->off += len;
    return VINF_SUCCESS;
}

int ssm_write(struct ssm_writer *w, const void *buf, size_t len)
{
    return write_bytes(w, buf, len, true);
}

int ssm_write_unchecked(struct ssm_writer *w, const void *buf, size_t len)
{
    return write_bytes(w, buf, len, false);
}

int ssm_write_hole(struct ssm_writer *w, uint64_t len)
{
    if (RT_FAILURE(w->rc))
        return w->rc;
    if (!w->holes_ok)
        return ssm_writer_fail(w, VERR_SSM_IPE_1, "a hole at offset %llu in a stream that cannot have one",
                               (unsigned long long)w->off);
    w->off += len;                     /* later writes extend the file over it */
    return VINF_SUCCESS;
}

void ssm_reader_init(struct ssm_reader *r, PCSSMSTRMOPS ops, void *user)
{
    r->ops = ops;
    r->user = user;
    r->off = 0;
    r->crc = 0;
    r->rc = VINF_SUCCESS;
    r->msg[0] = '\0';
}

int ssm_reader_fail(struct ssm_reader *r, int rc, const char *fmt, ...)
{
    if (RT_SUCCESS(r->rc)) {
        r->rc = rc;
        va_list va;
        va_start(va, fmt);
        vformat(r->msg, rc, fmt, va);
        va_end(va);
    }
    return r->rc;
}

static int read_bytes(struct ssm_reader *r, void *buf, size_t len, const char *what, bool checked)
{
    if (RT_FAILURE(r->rc))
        return r->rc;
    uint8_t *p = buf;
    size_t done = 0;
    while (done < len) {
        size_t got = 0;
        int rc = r->ops->pfnRead(r->user, r->off + done, p + done, len - done, &got);
        if (RT_FAILURE(rc) && rc != VERR_EOF)
            return ssm_reader_fail(r, rc, "%s: reading at offset %llu failed (status %d)", what,
                                   (unsigned long long)r->off + done, rc);
        if (got > len - done)          /* a stream that claims more than asked is broken */
            return ssm_reader_fail(r, VERR_SSM_STREAM_ERROR, "%s: the stream returned more bytes than asked at "
                                   "offset %llu", what, (unsigned long long)r->off + done);
        if (got == 0) {
            if (done == 0)
                return VERR_EOF;
            return ssm_reader_fail(r, VERR_SSM_INTEGRITY_SIZE, "%s at offset %llu: the stream ends after %zu of "
                                   "%zu bytes (truncated)", what, (unsigned long long)r->off, done, len);
        }
        done += got;
    }
    if (checked)
        r->crc = crc32c(r->crc, buf, len);
    r->off += len;
    return VINF_SUCCESS;
}

int ssm_read(struct ssm_reader *r, void *buf, size_t len, const char *what)
{
    return read_bytes(r, buf, len, what, true);
}

int ssm_read_unchecked(struct ssm_reader *r, void *buf, size_t len, const char *what)
{
    return read_bytes(r, buf, len, what, false);
}

void ssm_reader_skip(struct ssm_reader *r, uint64_t len)
{
    r->off += len;
}
