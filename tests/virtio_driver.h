/*
 * A minimal virtio 1.x driver for the tests: it talks to a transport
 * through its PCI config space and BAR functions and builds split
 * virtqueues in guest RAM, as a guest kernel would.  Header-only.
 *
 * Guest RAM layout (16 MiB): queue rings at 0x10000 (desc), 0x11000
 * (avail), 0x12000 (used); indirect tables at 0x20000; data from 0x100000.
 */
#ifndef PETREL_TEST_VIRTIO_DRIVER_H
#define PETREL_TEST_VIRTIO_DRIVER_H

#include <stdint.h>
#include <string.h>
#include <time.h>

#include "devices/virtio/virtio.h"
#include "devices/virtio/virtio_pci.h"
#include "memory/guest_ram.h"

#define DRV_RAM_SIZE   (UINT64_C(16) << 20)
#define DRV_DESC       UINT64_C(0x10000)
#define DRV_AVAIL      UINT64_C(0x11000)
#define DRV_USED       UINT64_C(0x12000)
#define DRV_INDIRECT   UINT64_C(0x20000)
#define DRV_DATA       UINT64_C(0x100000)

struct drv {
    struct guest_ram ram;
    struct virtio_pci *t;
    int irq_level, irq_raises;
    uint16_t qsize, avail_idx, used_seen;
};

static inline void drv_irq(void *opaque, int level)
{
    struct drv *d = opaque;
    __atomic_store_n(&d->irq_level, level, __ATOMIC_SEQ_CST);
    if (level)
        __atomic_fetch_add(&d->irq_raises, 1, __ATOMIC_SEQ_CST);
}

static inline uint64_t drv_rd(struct drv *d, uint64_t off, unsigned size) { return virtio_pci_bar_read(d->t, off, size); }
static inline void drv_wr(struct drv *d, uint64_t off, unsigned size, uint64_t v) { virtio_pci_bar_write(d->t, off, size, v); }
static inline uint8_t drv_status(struct drv *d) { return (uint8_t)drv_rd(d, 0x14, 1); }

static inline uint64_t drv_device_features(struct drv *d)
{
    drv_wr(d, 0x00, 4, 0);
    uint64_t lo = drv_rd(d, 0x04, 4);
    drv_wr(d, 0x00, 4, 1);
    return lo | drv_rd(d, 0x04, 4) << 32;
}

/* ACKNOWLEDGE, DRIVER, features, FEATURES_OK; returns the status read back. */
static inline uint8_t drv_negotiate(struct drv *d, uint64_t features)
{
    drv_wr(d, 0x14, 1, 0);
    drv_wr(d, 0x14, 1, VIRTIO_STATUS_ACKNOWLEDGE);
    drv_wr(d, 0x14, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    drv_wr(d, 0x08, 4, 0);
    drv_wr(d, 0x0C, 4, (uint32_t)features);
    drv_wr(d, 0x08, 4, 1);
    drv_wr(d, 0x0C, 4, (uint32_t)(features >> 32));
    drv_wr(d, 0x14, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    return drv_status(d);
}

/* Queue q at the fixed ring addresses (size qsize), then DRIVER_OK. */
static inline void drv_setup_queue(struct drv *d, unsigned q, uint16_t qsize)
{
    uint8_t zero[0x3000] = { 0 };
    guest_ram_write(&d->ram, DRV_DESC, zero, sizeof(zero));
    drv_wr(d, 0x16, 2, q);
    drv_wr(d, 0x18, 2, qsize);
    drv_wr(d, 0x20, 4, (uint32_t)DRV_DESC);       /* 64-bit fields as two dwords, as Linux does */
    drv_wr(d, 0x24, 4, 0);
    drv_wr(d, 0x28, 8, DRV_AVAIL);
    drv_wr(d, 0x30, 8, DRV_USED);
    drv_wr(d, 0x1C, 2, 1);
    d->qsize = qsize;
    d->avail_idx = d->used_seen = 0;
}

static inline void drv_driver_ok(struct drv *d)
{
    drv_wr(d, 0x14, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
           VIRTIO_STATUS_DRIVER_OK);
}

static inline void drv_desc_at(struct drv *d, uint64_t table, unsigned i, uint64_t addr, uint32_t len,
                               uint16_t flags, uint16_t next)
{
    uint8_t e[16];
    memcpy(e, &addr, 8);
    memcpy(e + 8, &len, 4);
    memcpy(e + 12, &flags, 2);
    memcpy(e + 14, &next, 2);
    guest_ram_write(&d->ram, table + 16u * i, e, sizeof(e));
}

static inline void drv_desc(struct drv *d, unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    drv_desc_at(d, DRV_DESC, i, addr, len, flags, next);
}

/* Ring indices are shared with the device's threads: atomics, as in a guest kernel. */
static inline void drv_ring_store16(struct drv *d, uint64_t gpa, uint16_t v)
{
    __atomic_store_n((uint16_t *)guest_ram_ptr(&d->ram, gpa, 2), v, __ATOMIC_SEQ_CST);
}

/* Offers the chain starting at head and kicks queue q. */
static inline void drv_submit(struct drv *d, unsigned q, uint16_t head)
{
    guest_ram_write(&d->ram, DRV_AVAIL + 4 + 2u * (d->avail_idx % d->qsize), &head, 2);
    d->avail_idx++;
    drv_ring_store16(d, DRV_AVAIL + 2, d->avail_idx);
    drv_wr(d, VIRTIO_PCI_NOTIFY + VIRTIO_PCI_NOTIFY_MULT * q, 2, q);
}

static inline uint16_t drv_used_idx(struct drv *d)
{
    return __atomic_load_n((uint16_t *)guest_ram_ptr(&d->ram, DRV_USED + 2, 2), __ATOMIC_SEQ_CST);
}

/* Waits (up to 5 s) for the next used element; returns its written length, -1 on timeout. */
static inline int64_t drv_wait_used(struct drv *d, uint16_t *id)
{
    for (int i = 0; i < 50000; i++) {
        if (drv_used_idx(d) != d->used_seen) {
            uint32_t e[2];
            guest_ram_read(&d->ram, DRV_USED + 4 + 8u * (d->used_seen % d->qsize), e, sizeof(e));
            d->used_seen++;
            /* The device publishes used->idx and decides the interrupt under its lock:
             * taking the lock once makes that decision visible to the caller. */
            (void)virtio_pci_config_read(d->t, 0, 4);
            if (id)
                *id = (uint16_t)e[0];
            return e[1];
        }
        struct timespec ts = { 0, 100000 };
        nanosleep(&ts, NULL);
    }
    return -1;
}

#endif /* PETREL_TEST_VIRTIO_DRIVER_H */
