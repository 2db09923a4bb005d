/*
 * Saved state of a virtio-pci transport (see virtio_pci.h).  A load
 * accepts only what a guest could have produced on this very device:
 * the read-only parts of the PCI config space, the offered features and
 * the device configuration must be equal, negotiated features a subset,
 * and every enabled queue must pass the same checks as at enable time.
 */
#include "virtio_pci_internal.h"

#include <string.h>

#include <vmm/err.h>

#include "virtio.h"

/* Config-space bytes a guest can change: COMMAND, STATUS (INTx), BAR0/1, BAR2 (MSI-X),
 * interrupt line, the PCI_CFG window's bar, offset and length, and the MSI-X message
 * control's upper byte (enable, function mask; its table size bits are checked apart). */
static bool guest_writable(unsigned off)
{
    return (off >= 0x04 && off < 0x08) || (off >= 0x10 && off < 0x1C) || off == 0x3C || off == 0x88 ||
           (off >= 0x8C && off < 0x94) || off == VIRTIO_PCI_MSIX_CAP + 3;
}

/* MSI-X parts of a saved state: what this transport could have produced. */
static bool msix_load_ok(const struct virtio_pci *t, const struct virtio_pci_saved *o)
{
    unsigned ctrl_hi = VIRTIO_PCI_MSIX_CAP + 3, n = t->msi ? t->msix_count : 0;
    if ((o->pci_config[ctrl_hi] & 0x3F) != (t->cfg[ctrl_hi] & 0x3F) || (!t->msi && o->pci_config[ctrl_hi]))
        return false;
    if (!t->msi && (o->pci_config[0x18] | o->pci_config[0x19] | o->pci_config[0x1A] | o->pci_config[0x1B]))
        return false;
    if ((o->pci_config[0x19] & 0x0F) || o->pci_config[0x18])
        return false;                                         /* BAR2: 4 KiB aligned, 32-bit memory */
    if (virtio_pci_msix_vector(t, o->config_vector) != o->config_vector || (o->msix_pending >> n))
        return false;
    for (unsigned q = 0; q < VIRTIO_PCI_MAX_QUEUES; q++)
        if (virtio_pci_msix_vector(t, o->queue_vector[q]) != o->queue_vector[q])
            return false;
    for (unsigned i = 0; i < sizeof(o->msix_table); i++) {
        unsigned v = i / 16, b = i % 16;
        bool reserved = b >= 13 || (b == 12 && (o->msix_table[i] & 0xFE));
        if (o->msix_table[i] && (v >= n || reserved))
            return false;
    }
    return true;
}

static void device_config(struct virtio_pci *t, uint8_t *out)
{
    memset(out, 0, 64);
    unsigned n = t->ops->config_size < 64 ? t->ops->config_size : 64;
    if (n)
        t->ops->config_read(t->dev, 0, out, n);
}

void virtio_pci_save(struct virtio_pci *t, struct virtio_pci_saved *o)
{
    memset(o, 0, sizeof(*o));
    pthread_mutex_lock(&t->lock);
    o->device_id = t->ops->device_id;
    o->num_queues = t->ops->num_queues;
    o->device_feature_select = t->device_feature_select;
    o->driver_feature_select = t->driver_feature_select;
    o->status = t->status;
    o->config_generation = t->config_generation;
    o->isr = t->isr;
    o->queue_select = t->queue_select;
    o->offered = t->offered;
    o->driver_features = t->driver_features;
    memcpy(o->pci_config, t->cfg, sizeof(o->pci_config));
    device_config(t, o->device_config);
    for (unsigned q = 0; q < VIRTIO_PCI_MAX_QUEUES; q++) {
        const struct virtqueue *vq = &t->queues[q];
        o->queues[q] = (struct virtio_pci_saved_queue){
            vq->desc, vq->avail, vq->used, vq->size, vq->last_avail, vq->used_idx, vq->signalled_used,
            vq->enabled, vq->event_idx, vq->indirect, { 0 } };
        o->queue_vector[q] = t->queue_vector[q];
    }
    o->config_vector = t->config_vector;
    o->msix_pending = t->msix_pending;
    memcpy(o->msix_table, t->msix_table, sizeof(o->msix_table));
    pthread_mutex_unlock(&t->lock);
}

static bool load_ok(struct virtio_pci *t, const struct virtio_pci_saved *o)
{
    uint8_t cfg[64];
    if (o->device_id != t->ops->device_id || o->num_queues != t->ops->num_queues || o->offered != t->offered ||
        (o->driver_features & ~o->offered) || (o->isr & ~(VIRTIO_ISR_QUEUE | VIRTIO_ISR_CONFIG)))
        return false;
    for (unsigned i = 0; i < sizeof(o->pci_config); i++)
        if (!guest_writable(i) && o->pci_config[i] != t->cfg[i])
            return false;
    if (!msix_load_ok(t, o))
        return false;
    device_config(t, cfg);
    if (memcmp(cfg, o->device_config, sizeof(cfg)) != 0)
        return false;
    for (unsigned q = 0; q < VIRTIO_PCI_MAX_QUEUES; q++) {
        const struct virtio_pci_saved_queue *s = &o->queues[q];
        struct virtqueue vq = { s->size, s->enabled, s->event_idx, s->indirect, s->desc, s->avail, s->used,
                                s->last_avail, s->used_idx, s->signalled_used };
        const char *why = "";
        if (s->enabled > 1 || s->event_idx > 1 || s->indirect > 1 || (s->enabled && q >= o->num_queues))
            return false;
        if (s->enabled && RT_FAILURE(vq_validate(&vq, t->ram, &why)))
            return false;
        if (s->size > t->ops->queue_size)
            return false;
    }
    return true;
}

int virtio_pci_load(struct virtio_pci *t, const struct virtio_pci_saved *o)
{
    pthread_mutex_lock(&t->lock);
    if (!load_ok(t, o)) {
        pthread_mutex_unlock(&t->lock);
        return VERR_SSM_UNEXPECTED_DATA;
    }
    t->device_feature_select = o->device_feature_select;
    t->driver_feature_select = o->driver_feature_select;
    t->status = o->status;
    t->config_generation = o->config_generation;
    t->isr = o->isr;
    t->queue_select = o->queue_select;
    t->driver_features = o->driver_features;
    memcpy(t->cfg, o->pci_config, sizeof(t->cfg));
    for (unsigned q = 0; q < VIRTIO_PCI_MAX_QUEUES; q++) {
        const struct virtio_pci_saved_queue *s = &o->queues[q];
        t->queues[q] = (struct virtqueue){ s->size, s->enabled, s->event_idx, s->indirect, s->desc, s->avail,
                                           s->used, s->last_avail, s->used_idx, s->signalled_used };
        t->queue_vector[q] = o->queue_vector[q];
    }
    t->config_vector = o->config_vector;
    t->msix_pending = o->msix_pending;
    memcpy(t->msix_table, o->msix_table, sizeof(t->msix_table));
    t->broken_reason[0] = 0;
    virtio_pci_publish_bar(t);
    virtio_pci_update_irq(t);                    /* the line as loaded (the callback sees changes only) */
    pthread_mutex_unlock(&t->lock);
    return VINF_SUCCESS;
}
