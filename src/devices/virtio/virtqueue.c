/*
 * Split virtqueues, device side (see virtqueue.h).  All guest-visible
 * fields are little-endian, as is the host.
 */
#include "virtqueue.h"

#include <string.h>

#include <vmm/err.h>

#include "../../memory/guest_ram.h"

#define DESC_SIZE 16u

struct vring_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

void vq_reset(struct virtqueue *vq, uint16_t max_size)
{
    memset(vq, 0, sizeof(*vq));
    vq->size = max_size;
}

static bool ring_ok(const struct guest_ram *ram, uint64_t gpa, uint64_t len, uint64_t align)
{
    return gpa % align == 0 && guest_ram_contains(ram, gpa, len);
}

int vq_validate(const struct virtqueue *vq, const struct guest_ram *ram, const char **why)
{
    uint64_t n = vq->size;
    if (n == 0 || n > VQ_MAX_SIZE || (n & (n - 1))) {
        *why = "queue size is not a power of two up to the maximum";
        return VERR_INVALID_PARAMETER;
    }
    if (!ring_ok(ram, vq->desc, DESC_SIZE * n, 16)) {
        *why = "descriptor table outside guest RAM or misaligned";
        return VERR_OUT_OF_RANGE;
    }
    if (!ring_ok(ram, vq->avail, 6 + 2 * n, 2)) {
        *why = "available ring outside guest RAM or misaligned";
        return VERR_OUT_OF_RANGE;
    }
    if (!ring_ok(ram, vq->used, 6 + 8 * n, 4)) {
        *why = "used ring outside guest RAM or misaligned";
        return VERR_OUT_OF_RANGE;
    }
    return VINF_SUCCESS;
}

/*
 * Ring indices and event fields are shared with the guest's vCPUs: they
 * are read and written as atomics (sequentially consistent, so the store
 * of used->idx is ordered before the load of used_event, the barrier
 * virtio's event suppression needs).  Their alignment was checked at
 * enable time.
 */
static uint16_t ring_load16(const struct guest_ram *ram, uint64_t gpa, bool *ok)
{
    uint16_t *p = guest_ram_ptr(ram, gpa, 2);
    if (!p || (gpa & 1)) {
        *ok = false;
        return 0;
    }
    return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

static int ring_store16(struct guest_ram *ram, uint64_t gpa, uint16_t v)
{
    uint16_t *p = guest_ram_ptr(ram, gpa, 2);
    if (!p || (gpa & 1))
        return VERR_OUT_OF_RANGE;
    __atomic_store_n(p, v, __ATOMIC_SEQ_CST);
    guest_ram_mark_dirty(ram, gpa, 2);
    return VINF_SUCCESS;
}

/* State of one walk through a descriptor table (the ring's or an indirect one). */
struct walk {
    uint64_t table;
    uint32_t entries;
    bool in_indirect;
};

static int fail(const char **why, const char *reason)
{
    *why = reason;
    return VERR_INVALID_PARAMETER;
}

static int add_buffer(struct vq_chain *c, const struct guest_ram *ram, const struct vring_desc *d, const char **why)
{
    if (c->n_out + c->n_in >= VQ_CHAIN_MAX)
        return fail(why, "descriptor chain too long");
    if (d->len && !guest_ram_ptr(ram, d->addr, d->len))
        return fail(why, "buffer outside guest RAM");
    bool writable = d->flags & VRING_DESC_F_WRITE;
    if (!writable && c->n_in)
        return fail(why, "device-readable buffer after a writable one");
    uint64_t *total = writable ? &c->in_bytes : &c->out_bytes;
    if (c->out_bytes + c->in_bytes + d->len > VQ_CHAIN_MAX_BYTES)
        return fail(why, "descriptor chain larger than the device accepts");
    *total += d->len;
    c->buf[c->n_out + c->n_in] = (struct vq_buf){ d->addr, d->len };
    if (writable)
        c->n_in++;
    else
        c->n_out++;
    return VINF_SUCCESS;
}

/* Switches the walk to an indirect table; the descriptor holding it is no buffer. */
static int enter_indirect(const struct virtqueue *vq, const struct guest_ram *ram, struct walk *w,
                          const struct vring_desc *d, const char **why)
{
    if (!vq->indirect)
        return fail(why, "indirect descriptor without VIRTIO_RING_F_INDIRECT_DESC");
    if (w->in_indirect)
        return fail(why, "indirect descriptor inside an indirect table");
    if (d->flags & VRING_DESC_F_NEXT)
        return fail(why, "indirect descriptor with NEXT set");
    if (d->len == 0 || d->len % DESC_SIZE || d->len / DESC_SIZE > VQ_INDIRECT_MAX)
        return fail(why, "indirect table length is not a multiple of 16 up to the maximum");
    if (!ring_ok(ram, d->addr, d->len, 1))
        return fail(why, "indirect table outside guest RAM");
    *w = (struct walk){ d->addr, d->len / DESC_SIZE, true };
    return VINF_SUCCESS;
}

static int walk_chain(const struct virtqueue *vq, const struct guest_ram *ram, struct vq_chain *c, const char **why)
{
    struct walk w = { vq->desc, vq->size, false };
    uint32_t idx = c->head, seen = 0;
    for (;;) {
        struct vring_desc d;
        if (idx >= w.entries)
            return fail(why, "descriptor index out of range");
        if (++seen > w.entries)
            return fail(why, "loop in a descriptor chain");
        if (RT_FAILURE(guest_ram_read(ram, w.table + (uint64_t)idx * DESC_SIZE, &d, sizeof(d))))
            return fail(why, "descriptor outside guest RAM");
        int rc;
        if (d.flags & VRING_DESC_F_INDIRECT) {
            rc = enter_indirect(vq, ram, &w, &d, why);
            idx = 0;
            seen = 0;
            if (RT_FAILURE(rc))
                return rc;
            continue;
        }
        rc = add_buffer(c, ram, &d, why);
        if (RT_FAILURE(rc))
            return rc;
        if (!(d.flags & VRING_DESC_F_NEXT))
            return VINF_SUCCESS;
        idx = d.next;
    }
}

int vq_pop(struct virtqueue *vq, struct guest_ram *ram, struct vq_chain *c, const char **why)
{
    bool ok = true;
    uint16_t avail_idx = ring_load16(ram, vq->avail + 2, &ok);
    if (!ok)
        return fail(why, "available ring outside guest RAM");
    uint16_t pending = (uint16_t)(avail_idx - vq->last_avail);
    if (pending == 0)
        return 0;
    if (pending > vq->size)
        return fail(why, "available index ran more than the queue size ahead");
    c->head = ring_load16(ram, vq->avail + 4 + UINT64_C(2) * (vq->last_avail % vq->size), &ok);
    if (!ok)
        return fail(why, "available ring outside guest RAM");
    c->n_out = c->n_in = 0;
    c->out_bytes = c->in_bytes = 0;
    int rc = walk_chain(vq, ram, c, why);
    if (RT_FAILURE(rc))
        return rc;
    vq->last_avail++;
    if (vq->event_idx) {                         /* avail_event: kick me for anything newer */
        if (RT_FAILURE(ring_store16(ram, vq->used + 4 + UINT64_C(8) * vq->size, vq->last_avail)))
            return fail(why, "used ring outside guest RAM");
    }
    return 1;
}

int vq_push(struct virtqueue *vq, struct guest_ram *ram, uint16_t head, uint32_t written)
{
    uint32_t elem[2] = { head, written };
    int rc = guest_ram_write(ram, vq->used + 4 + UINT64_C(8) * (vq->used_idx % vq->size), elem, sizeof(elem));
    if (RT_FAILURE(rc))
        return rc;
    vq->used_idx++;
    return ring_store16(ram, vq->used + 2, vq->used_idx);      /* publishes the element */
}

bool vq_should_notify(struct virtqueue *vq, struct guest_ram *ram)
{
    uint16_t old = vq->signalled_used, now = vq->used_idx;
    bool ok = true;
    vq->signalled_used = now;
    if (old == now)
        return false;
    if (!vq->event_idx)
        return !(ring_load16(ram, vq->avail, &ok) & VRING_AVAIL_F_NO_INTERRUPT) || !ok;
    uint16_t used_event = ring_load16(ram, vq->avail + 4 + UINT64_C(2) * vq->size, &ok);
    /* vring_need_event: did used_idx step past used_event since the last decision? */
    return !ok || (uint16_t)(now - used_event - 1) < (uint16_t)(now - old);
}

/* Copies between a flat range of a chain's buffers [first, first+count) and host memory. */
static size_t chain_copy(const struct vq_chain *c, struct guest_ram *ram, unsigned first, unsigned count,
                         uint64_t off, uint8_t *host, size_t len, bool to_guest)
{
    size_t done = 0;
    for (unsigned i = first; i < first + count && done < len; i++) {
        const struct vq_buf *b = &c->buf[i];
        if (off >= b->len) {
            off -= b->len;
            continue;
        }
        size_t n = b->len - off < len - done ? (size_t)(b->len - off) : len - done;
        int rc = to_guest ? guest_ram_write(ram, b->gpa + off, host + done, n)
                          : guest_ram_read(ram, b->gpa + off, host + done, n);
        if (RT_FAILURE(rc))
            break;
        done += n;
        off = 0;
    }
    return done;
}

size_t vq_chain_read(const struct vq_chain *c, struct guest_ram *ram, uint64_t off, void *dst, size_t len)
{
    return chain_copy(c, ram, 0, c->n_out, off, dst, len, false);
}

size_t vq_chain_write(const struct vq_chain *c, struct guest_ram *ram, uint64_t off, const void *src, size_t len)
{
    return chain_copy(c, ram, c->n_out, c->n_in, off, (uint8_t *)src, len, true);
}
