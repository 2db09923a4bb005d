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
    /* MSI-X: msi == NULL when not offered; vectors VIRTIO_MSI_NO_VECTOR or < msix_count */
    virtio_msi_fn *msi;
    void *msi_opaque;
    uint16_t msix_count;
    uint64_t msix_base;                  /* atomics, as bar_base */
    bool msix_decode;
    uint16_t config_vector, queue_vector[VIRTIO_PCI_MAX_QUEUES];
    uint32_t msix_pending;
    uint8_t msix_table[VIRTIO_PCI_MSIX_MAX * 16];
    struct virtqueue queues[VIRTIO_PCI_MAX_QUEUES];
    char broken_reason[96];
};

/* Makes BAR0 and COMMAND.MEMORY visible to the router; lock held. */
void virtio_pci_publish_bar(struct virtio_pci *t);
/* Recomputes the INTx level from ISR and COMMAND.INTX_DISABLE; lock held. */
void virtio_pci_update_irq(struct virtio_pci *t);
/* Raises the ISR bit and interrupts: MSI-X vector when enabled, else INTx; lock held. */
void virtio_pci_signal(struct virtio_pci *t, uint8_t isr_bit, uint16_t vector);
/* MSI-X enabled in the capability's message control; lock held. */
bool virtio_pci_msix_enabled(const struct virtio_pci *t);
/* Puts the capability into config space (after config_space_init) and resets table and vectors. */
void virtio_pci_msix_init(struct virtio_pci *t);
/* A config-space byte write to the capability's message control or BAR2: true if handled. */
bool virtio_pci_msix_config_byte(struct virtio_pci *t, unsigned off, uint8_t b);
/* Makes BAR2 visible to the router (with virtio_pci_publish_bar); lock held. */
void virtio_pci_msix_publish(struct virtio_pci *t);
/* Config space bytes of the capability and BAR2 were written: mask/enable changes; lock held. */
void virtio_pci_msix_config_written(struct virtio_pci *t);
/* A vector the driver asks for, as it reads back (NO_VECTOR if it cannot be mapped). */
uint16_t virtio_pci_msix_vector(const struct virtio_pci *t, uint16_t v);
/* Marks the device broken; lock held. */
void virtio_pci_break_locked(struct virtio_pci *t, const char *why);
/* Resets the virtio state (not the PCI function); lock not held, quiesces first. */
void virtio_pci_device_reset(struct virtio_pci *t);

#endif /* PETREL_VIRTIO_PCI_INTERNAL_H */
