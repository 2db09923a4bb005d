/*
 * The transport's BAR0 registers (virtio 1.2 section 4.1.4): common
 * configuration, ISR status, device configuration and notifications.
 *
 * The common configuration is handled as a 0x38-byte image: a read copies
 * bytes out of it, a write is merged into it and every field the write
 * touched is applied, so any access width works the same way.
 */
#include "virtio_pci_internal.h"

#include <string.h>

#include <vmm/err.h>

#include "virtio.h"

#define COMMON_SIZE 0x38u

enum {
    C_DFSELECT = 0x00, C_DF = 0x04, C_GFSELECT = 0x08, C_GF = 0x0C, C_MSIX = 0x10, C_NUMQ = 0x12,
    C_STATUS = 0x14, C_GEN = 0x15, C_QSELECT = 0x16, C_QSIZE = 0x18, C_QMSIX = 0x1A, C_QENABLE = 0x1C,
    C_QNOFF = 0x1E, C_QDESC = 0x20, C_QDRIVER = 0x28, C_QDEVICE = 0x30,
};

/* What a register write asks to be done once the lock is dropped. */
enum { AFTER_NOTHING, AFTER_RESET, AFTER_KICK_ALL, AFTER_KICK_ONE };

static struct virtqueue *selected(struct virtio_pci *t)
{
    return t->queue_select < t->ops->num_queues ? &t->queues[t->queue_select] : NULL;
}

static void common_image(struct virtio_pci *t, uint8_t *img)
{
    struct virtqueue *vq = selected(t);
    uint32_t dsel = t->device_feature_select, gsel = t->driver_feature_select;
    uint32_t df = dsel < 2 ? (uint32_t)(t->offered >> (32 * dsel)) : 0;
    uint32_t gf = gsel < 2 ? (uint32_t)(t->driver_features >> (32 * gsel)) : 0;
    uint16_t nq = t->ops->num_queues, qs = vq ? vq->size : 0;
    uint16_t qv = vq ? t->queue_vector[t->queue_select] : (uint16_t)VIRTIO_MSI_NO_VECTOR;
    uint16_t qe = vq ? vq->enabled : 0, qoff = vq ? t->queue_select : 0;
    uint64_t z = 0;
    memset(img, 0, COMMON_SIZE);
    memcpy(img + C_DFSELECT, &dsel, 4);
    memcpy(img + C_DF, &df, 4);
    memcpy(img + C_GFSELECT, &gsel, 4);
    memcpy(img + C_GF, &gf, 4);
    memcpy(img + C_MSIX, &t->config_vector, 2);
    memcpy(img + C_NUMQ, &nq, 2);
    img[C_STATUS] = t->status;
    img[C_GEN] = t->config_generation;
    memcpy(img + C_QSELECT, &t->queue_select, 2);
    memcpy(img + C_QSIZE, &qs, 2);
    memcpy(img + C_QMSIX, &qv, 2);
    memcpy(img + C_QENABLE, &qe, 2);
    memcpy(img + C_QNOFF, &qoff, 2);
    memcpy(img + C_QDESC, vq ? &vq->desc : &z, 8);
    memcpy(img + C_QDRIVER, vq ? &vq->avail : &z, 8);
    memcpy(img + C_QDEVICE, vq ? &vq->used : &z, 8);
}

static int status_write(struct virtio_pci *t, uint8_t v)
{
    if (v == 0) {
        t->status = 0;                           /* stops pops until the reset is done */
        return AFTER_RESET;
    }
    uint8_t old = t->status;
    if ((v & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK)) {
        bool ok = !(t->driver_features & ~t->offered) &&
                  (t->driver_features & VIRTIO_BIT(VIRTIO_F_VERSION_1));
        if (!ok)
            v &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;   /* the driver reads it back and gives up */
        for (unsigned q = 0; q < VIRTIO_PCI_MAX_QUEUES; q++) {
            t->queues[q].event_idx = t->driver_features & VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX);
            t->queues[q].indirect = t->driver_features & VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC);
        }
    }
    t->status = (uint8_t)(v | (old & VIRTIO_STATUS_NEEDS_RESET));
    if ((t->status & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK))
        return AFTER_KICK_ALL;                   /* buffers queued before DRIVER_OK */
    return AFTER_NOTHING;
}

static void queue_enable(struct virtio_pci *t, struct virtqueue *vq, uint16_t v)
{
    const char *why = "";
    if (v != 1 || vq->enabled)
        return;                                  /* the driver may not write 0 (4.1.4.3.2) */
    if (RT_FAILURE(vq_validate(vq, t->ram, &why))) {
        virtio_pci_break_locked(t, why);
        return;
    }
    vq->last_avail = vq->used_idx = vq->signalled_used = 0;
    vq->enabled = true;
}

static bool touched(unsigned off, unsigned size, unsigned field, unsigned len)
{
    return off < field + len && field < off + size;
}

static int common_write(struct virtio_pci *t, unsigned off, unsigned size, uint64_t value)
{
    uint8_t img[COMMON_SIZE];
    common_image(t, img);
    memcpy(img + off, &value, size);
    if (touched(off, size, C_DFSELECT, 4))
        memcpy(&t->device_feature_select, img + C_DFSELECT, 4);
    if (touched(off, size, C_GFSELECT, 4))
        memcpy(&t->driver_feature_select, img + C_GFSELECT, 4);
    if (touched(off, size, C_GF, 4) && t->driver_feature_select < 2 &&
        !(t->status & VIRTIO_STATUS_FEATURES_OK)) {
        uint32_t half;
        unsigned shift = 32 * t->driver_feature_select;
        memcpy(&half, img + C_GF, 4);
        t->driver_features = (t->driver_features & ~((uint64_t)UINT32_MAX << shift)) | (uint64_t)half << shift;
    }
    if (touched(off, size, C_MSIX, 2)) {       /* a vector that cannot be mapped reads back NO_VECTOR */
        uint16_t v;
        memcpy(&v, img + C_MSIX, 2);
        t->config_vector = virtio_pci_msix_vector(t, v);
    }
    if (touched(off, size, C_QSELECT, 2))
        memcpy(&t->queue_select, img + C_QSELECT, 2);
    struct virtqueue *vq = selected(t);
    if (vq && touched(off, size, C_QMSIX, 2)) {
        uint16_t v;
        memcpy(&v, img + C_QMSIX, 2);
        t->queue_vector[t->queue_select] = virtio_pci_msix_vector(t, v);
    }
    if (vq && !vq->enabled) {                    /* queue setup is frozen once enabled */
        if (touched(off, size, C_QSIZE, 2))
            memcpy(&vq->size, img + C_QSIZE, 2);
        if (touched(off, size, C_QDESC, 8))
            memcpy(&vq->desc, img + C_QDESC, 8);
        if (touched(off, size, C_QDRIVER, 8))
            memcpy(&vq->avail, img + C_QDRIVER, 8);
        if (touched(off, size, C_QDEVICE, 8))
            memcpy(&vq->used, img + C_QDEVICE, 8);
    }
    if (vq && touched(off, size, C_QENABLE, 2)) {
        uint16_t v;
        memcpy(&v, img + C_QENABLE, 2);
        queue_enable(t, vq, v);
    }
    if (touched(off, size, C_STATUS, 1))
        return status_write(t, img[C_STATUS]);
    return AFTER_NOTHING;
}

static bool size_ok(unsigned size)
{
    return size == 1 || size == 2 || size == 4 || size == 8;
}

uint64_t virtio_pci_bar_read(struct virtio_pci *t, uint64_t offset, unsigned size)
{
    uint64_t v = 0;
    if (!size_ok(size) || offset >= VIRTIO_PCI_BAR_SIZE || offset + size > VIRTIO_PCI_BAR_SIZE)
        return UINT64_MAX;
    pthread_mutex_lock(&t->lock);
    if (offset < VIRTIO_PCI_COMMON + COMMON_SIZE && offset + size <= COMMON_SIZE) {
        uint8_t img[COMMON_SIZE];
        common_image(t, img);
        memcpy(&v, img + offset, size);
    } else if (offset == VIRTIO_PCI_ISR) {
        v = t->isr;                              /* reading acknowledges */
        t->isr = 0;
        virtio_pci_update_irq(t);
    } else if (offset >= VIRTIO_PCI_DEVCFG && offset + size <= VIRTIO_PCI_DEVCFG + t->ops->config_size) {
        t->ops->config_read(t->dev, (unsigned)(offset - VIRTIO_PCI_DEVCFG), &v, size);
    }
    pthread_mutex_unlock(&t->lock);
    return v;
}

/* A write to the notification area (the value is the queue index: no NOTIFICATION_DATA). */
static int notify_write(struct virtio_pci *t, uint64_t offset, unsigned *q)
{
    *q = (unsigned)((offset - VIRTIO_PCI_NOTIFY) / VIRTIO_PCI_NOTIFY_MULT);
    if (*q >= t->ops->num_queues) {
        virtio_pci_break_locked(t, "notification for a queue that does not exist");
        return AFTER_NOTHING;
    }
    bool live = (t->status & VIRTIO_STATUS_DRIVER_OK) && !(t->status & VIRTIO_STATUS_NEEDS_RESET);
    return live && t->queues[*q].enabled ? AFTER_KICK_ONE : AFTER_NOTHING;
}

static void kick(struct virtio_pci *t, unsigned q)
{
    if (t->ops->notify)
        t->ops->notify(t->dev, q);
}

void virtio_pci_bar_write(struct virtio_pci *t, uint64_t offset, unsigned size, uint64_t value)
{
    int after = AFTER_NOTHING;
    unsigned q = 0;
    if (!size_ok(size) || offset >= VIRTIO_PCI_BAR_SIZE || offset + size > VIRTIO_PCI_BAR_SIZE)
        return;
    pthread_mutex_lock(&t->lock);
    if (offset + size <= COMMON_SIZE)
        after = common_write(t, (unsigned)offset, size, value);
    else if (offset >= VIRTIO_PCI_DEVCFG && offset + size <= VIRTIO_PCI_DEVCFG + t->ops->config_size) {
        if (t->ops->config_write)
            t->ops->config_write(t->dev, (unsigned)(offset - VIRTIO_PCI_DEVCFG), &value, size);
    } else if (offset >= VIRTIO_PCI_NOTIFY)
        after = notify_write(t, offset, &q);
    uint16_t nq = t->ops->num_queues;
    pthread_mutex_unlock(&t->lock);
    if (after == AFTER_RESET)
        virtio_pci_device_reset(t);
    else if (after == AFTER_KICK_ONE)
        kick(t, q);
    else if (after == AFTER_KICK_ALL)
        for (unsigned i = 0; i < nq; i++)
            kick(t, i);
}
