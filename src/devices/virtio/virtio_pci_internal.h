/*
 * The transport's state, shared by its files (virtio_pci.c: PCI config
 * space and life cycle; virtio_pci_bar.c: the BAR's registers).
 */
#ifndef PETREL_VIRTIO_PCI_INTERNAL_H
#define PETREL_VIRTIO_PCI_INTERNAL_H

#include <pthread.h>

#include "virtio_pci.h"

struct virtio_pci {
    pthread_mutex_t lock;
    const struct virtio_device_ops *ops;
    void *dev;
    struct guest_ram *ram;
    virtio_irq_fn *irq;
    void *irq_opaque;
    uint64_t offered;                    /* device features incl. transport bits */

    uint8_t cfg[256];                    /* PCI configuration space */
    uint64_t bar_base;                   /* atomics: read by the MMIO router */
    bool bar_decode;

    uint32_t device_feature_select, driver_feature_select;
    uint64_t driver_features;
    uint8_t status, config_generation, isr;
    uint16_t queue_select;
    bool irq_level;
    struct virtqueue queues[VIRTIO_PCI_MAX_QUEUES];
    char broken_reason[96];
};

/* Makes BAR0 and COMMAND.MEMORY visible to the router; lock held. */
void virtio_pci_publish_bar(struct virtio_pci *t);
/* Recomputes the INTx level from ISR and COMMAND.INTX_DISABLE; lock held. */
void virtio_pci_update_irq(struct virtio_pci *t);
/* Marks the device broken; lock held. */
void virtio_pci_break_locked(struct virtio_pci *t, const char *why);
/* Resets the virtio state (not the PCI function); lock not held, quiesces first. */
void virtio_pci_device_reset(struct virtio_pci *t);

#endif /* PETREL_VIRTIO_PCI_INTERNAL_H */
