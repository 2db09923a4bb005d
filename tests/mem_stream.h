/*
 * Test helper: SSMSTRMOPS over a growable memory buffer, plus a counter of
 * close calls (the API must close exactly once).  Header-only.
 */
#ifndef PETREL_TEST_MEM_STREAM_H
#define PETREL_TEST_MEM_STREAM_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <vmm/err.h>
#include <vmm/ssm.h>

struct mem_stream {
    uint8_t *buf;
    size_t   len, cap;
    size_t   fail_after;               /* writes fail once len would pass this (0 = never) */
    unsigned closes;
    bool     cancelled;
};

static inline int ms_write(void *u, uint64_t off, const void *b, size_t n)
{
    struct mem_stream *m = u;
    if (off != m->len)
        return VERR_INVALID_PARAMETER;  /* the writer is sequential */
    if (m->fail_after && m->len + n > m->fail_after)
        return VERR_DISK_FULL;
    if (m->len + n > m->cap) {
        size_t cap = (m->len + n) * 2;
        uint8_t *nb = realloc(m->buf, cap);
        if (!nb)
            return VERR_NO_MEMORY;
        m->buf = nb;
        m->cap = cap;
    }
    memcpy(m->buf + m->len, b, n);
    m->len += n;
    return VINF_SUCCESS;
}

static inline int ms_read(void *u, uint64_t off, void *b, size_t n, size_t *got)
{
    struct mem_stream *m = u;
    size_t left = off < m->len ? m->len - (size_t)off : 0;
    *got = n < left ? n : left;
    if (*got)
        memcpy(b, m->buf + off, *got);
    return VINF_SUCCESS;
}

static inline int ms_seek(void *u, int64_t o, unsigned how, uint64_t *a) { (void)u; (void)o; (void)how; (void)a; return VERR_NOT_SUPPORTED; }
static inline uint64_t ms_tell(void *u) { return ((struct mem_stream *)u)->len; }
static inline int ms_size(void *u, uint64_t *c) { *c = ((struct mem_stream *)u)->len; return VINF_SUCCESS; }
static inline int ms_isok(void *u) { (void)u; return VINF_SUCCESS; }
static inline int ms_close(void *u, bool cancelled)
{
    struct mem_stream *m = u;
    m->closes++;
    m->cancelled = cancelled;
    return VINF_SUCCESS;
}

static const SSMSTRMOPS mem_stream_ops = {
    SSMSTRMOPS_VERSION, ms_write, ms_read, ms_seek, ms_tell, ms_size, ms_isok, ms_close, SSMSTRMOPS_VERSION
};

#endif
