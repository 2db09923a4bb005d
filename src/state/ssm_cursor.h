/*
 * A bounds-checked cursor over a unit payload: puts fail once the buffer
 * is full, gets once the payload is used up (then `bad` is set and every
 * later get yields 0), so a short or long payload is one check at the end.
 */
#ifndef PETREL_SSM_CURSOR_H
#define PETREL_SSM_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct ssm_cursor {
    uint8_t *buf;                      /* NULL for a get cursor's const data */
    const uint8_t *in;
    size_t len, pos;
    bool bad;
};

static inline struct ssm_cursor ssm_cursor_out(uint8_t *buf, size_t len)
{
    return (struct ssm_cursor){ .buf = buf, .len = len };
}

static inline struct ssm_cursor ssm_cursor_in(const uint8_t *in, size_t len)
{
    return (struct ssm_cursor){ .in = in, .len = len };
}

static inline void ssm_put(struct ssm_cursor *c, uint64_t v, unsigned bytes)
{
    if (c->bad || c->len - c->pos < bytes) {
        c->bad = true;
        return;
    }
    for (unsigned i = 0; i < bytes; i++)
        c->buf[c->pos++] = (uint8_t)(v >> (8 * i));
}

static inline void ssm_put_bytes(struct ssm_cursor *c, const void *p, size_t n)
{
    if (c->bad || c->len - c->pos < n) {
        c->bad = true;
        return;
    }
    memcpy(c->buf + c->pos, p, n);
    c->pos += n;
}

static inline uint64_t ssm_get(struct ssm_cursor *c, unsigned bytes)
{
    if (c->bad || c->len - c->pos < bytes) {
        c->bad = true;
        return 0;
    }
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; i++)
        v |= (uint64_t)c->in[c->pos++] << (8 * i);
    return v;
}

static inline void ssm_get_bytes(struct ssm_cursor *c, void *p, size_t n)
{
    if (c->bad || c->len - c->pos < n) {
        c->bad = true;
        memset(p, 0, n);
        return;
    }
    memcpy(p, c->in + c->pos, n);
    c->pos += n;
}

/* A boolean byte: anything but 0/1 marks the payload bad. */
static inline bool ssm_get_bool(struct ssm_cursor *c)
{
    uint64_t v = ssm_get(c, 1);
    if (v > 1)
        c->bad = true;
    return v == 1;
}

#endif /* PETREL_SSM_CURSOR_H */
