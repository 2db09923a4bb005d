/*
 * virtio-rng (virtio 1.2 section 5.4): one request queue whose writable
 * buffers are filled from getrandom(2), at most 64 KiB per request (the
 * driver asks again), on the kicking vCPU: getrandom does not block once
 * the host's pool is initialized.
 */
#ifndef PETREL_VIRTIO_RNG_H
#define PETREL_VIRTIO_RNG_H

#include "virtio_pci.h"

#define VIRTIO_RNG_MAX_FILL 65536u

struct virtio_rng;

extern const struct virtio_device_ops virtio_rng_ops;

struct virtio_rng *virtio_rng_create(void);
void virtio_rng_attach(struct virtio_rng *r, struct virtio_pci *t);
void virtio_rng_destroy(struct virtio_rng *r);

#endif /* PETREL_VIRTIO_RNG_H */
