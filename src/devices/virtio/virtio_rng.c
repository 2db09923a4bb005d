/*
 * virtio-rng from getrandom(2) (see virtio_rng.h).
 */
#include "virtio_rng.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/random.h>

#include "virtio.h"

struct virtio_rng {
    struct virtio_pci *t;
    struct vq_chain chain;               /* reused: pops are serialized by lock */
    pthread_mutex_t lock;
};

struct virtio_rng *virtio_rng_create(void)
{
    struct virtio_rng *r = calloc(1, sizeof(*r));
    if (r)
        pthread_mutex_init(&r->lock, NULL);
    return r;
}

void virtio_rng_attach(struct virtio_rng *r, struct virtio_pci *t)
{
    r->t = t;
}

void virtio_rng_destroy(struct virtio_rng *r)
{
    if (!r)
        return;
    pthread_mutex_destroy(&r->lock);
    free(r);
}

static uint32_t fill(struct virtio_rng *r)
{
    uint8_t buf[4096];
    uint64_t want = r->chain.in_bytes < VIRTIO_RNG_MAX_FILL ? r->chain.in_bytes : VIRTIO_RNG_MAX_FILL;
    uint32_t done = 0;
    while (done < want) {
        size_t n = want - done < sizeof(buf) ? (size_t)(want - done) : sizeof(buf);
        ssize_t got = getrandom(buf, n, 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        done += (uint32_t)vq_chain_write(&r->chain, virtio_pci_ram(r->t), done, buf, (size_t)got);
    }
    return done;
}

static void rng_notify(void *dev, unsigned q)
{
    struct virtio_rng *r = dev;
    pthread_mutex_lock(&r->lock);
    while (virtio_pci_pop(r->t, q, &r->chain) == 1)
        virtio_pci_push(r->t, q, r->chain.head, fill(r));
    pthread_mutex_unlock(&r->lock);
}

/* A fill in progress finishes before the reset goes on. */
static void rng_quiesce(void *dev)
{
    struct virtio_rng *r = dev;
    pthread_mutex_lock(&r->lock);
    pthread_mutex_unlock(&r->lock);
}

const struct virtio_device_ops virtio_rng_ops = {
    .device_id = VIRTIO_ID_RNG,
    .pci_class = 0x00FF00,               /* unclassified */
    .num_queues = 1,
    .queue_size = 64,
    .config_size = 0,
    .notify = rng_notify,
    .quiesce = rng_quiesce,
};
