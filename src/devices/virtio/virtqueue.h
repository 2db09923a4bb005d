/*
 * Split virtqueues (virtio 1.2 section 2.7), device side.  Everything the
 * guest wrote is validated before use: ring addresses at enable time,
 * then every index, descriptor, indirect table and buffer as it is read.
 * A violation returns a VERR_* status and a reason; the transport then
 * marks the device DEVICE_NEEDS_RESET.  Guest memory is only touched
 * through guest_ram_read/guest_ram_write/guest_ram_ptr, so a hostile
 * guest can never make the host access memory outside guest RAM.
 *
 * Not thread-safe: the transport's lock serializes all calls.
 */
#ifndef PETREL_VIRTQUEUE_H
#define PETREL_VIRTQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct guest_ram;

#define VQ_MAX_SIZE       256u            /* largest queue the devices offer */
#define VQ_CHAIN_MAX      512u            /* buffers in one chain (direct + indirect) */
#define VQ_INDIRECT_MAX   1024u           /* descriptors in one indirect table */
#define VQ_CHAIN_MAX_BYTES (UINT64_C(256) << 20)

#define VRING_DESC_F_NEXT      1
#define VRING_DESC_F_WRITE     2
#define VRING_DESC_F_INDIRECT  4
#define VRING_AVAIL_F_NO_INTERRUPT 1

struct virtqueue {
    uint16_t size;                /* power of two, 1..VQ_MAX_SIZE */
    bool     enabled;
    bool     event_idx;           /* VIRTIO_RING_F_EVENT_IDX negotiated */
    bool     indirect;            /* VIRTIO_RING_F_INDIRECT_DESC negotiated */
    uint64_t desc, avail, used;   /* guest-physical ring addresses */
    uint16_t last_avail;          /* next avail entry the device takes */
    uint16_t used_idx;            /* the device's copy of used->idx */
    uint16_t signalled_used;      /* used_idx when interrupts were last decided */
};

struct vq_buf {
    uint64_t gpa;
    uint32_t len;
};

/* One descriptor chain: n_out device-readable buffers, then n_in writable ones. */
struct vq_chain {
    uint16_t head;
    unsigned n_out, n_in;
    uint64_t out_bytes, in_bytes;
    struct vq_buf buf[VQ_CHAIN_MAX];
};

/* Back to the state after reset (disabled, size = max_size, addresses 0). */
void vq_reset(struct virtqueue *vq, uint16_t max_size);

/* Checks size and ring placement before the queue is enabled; reason on failure. */
int vq_validate(const struct virtqueue *vq, const struct guest_ram *ram, const char **why);

/* Takes the next available chain: 1 = got one, 0 = ring empty, VERR_* = the guest broke the ring. */
int vq_pop(struct virtqueue *vq, struct guest_ram *ram, struct vq_chain *c, const char **why);

/* Returns a chain to the guest with written bytes (VERR_* if the ring is gone). */
int vq_push(struct virtqueue *vq, struct guest_ram *ram, uint16_t head, uint32_t written);

/* After pushes: does the driver want an interrupt (flags or used_event)? */
bool vq_should_notify(struct virtqueue *vq, struct guest_ram *ram);

/* Copies out of / into a chain's readable / writable buffers from byte offset off. */
size_t vq_chain_read(const struct vq_chain *c, struct guest_ram *ram, uint64_t off, void *dst, size_t len);
size_t vq_chain_write(const struct vq_chain *c, struct guest_ram *ram, uint64_t off, const void *src, size_t len);

#endif /* PETREL_VIRTQUEUE_H */
