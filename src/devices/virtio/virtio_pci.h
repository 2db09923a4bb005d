/*
 * The virtio 1.x ("modern") PCI transport shared by every virtio device
 * (virtio 1.2 section 4.1).  PCI function: vendor 0x1AF4, device
 * 0x1040 + virtio id, revision 1, one 64-bit memory BAR (BAR0/1, 16 KiB):
 *
 *   0x0000  common configuration (feature bits, status, queues)
 *   0x1000  ISR status (read clears, deasserts INTx)
 *   0x2000  device-specific configuration
 *   0x3000  queue notifications: queue q at 0x3000 + 4*q
 *
 * reachable through vendor capabilities 0x40.. (common, notify, ISR,
 * device cfg), and through the PCI_CFG window (capability at 0x84: BAR
 * accesses of 1, 2 or 4 bytes through config space).  Interrupts: INTx
 * (pin A), and MSI-X once virtio_pci_set_msi() gave the transport a way to
 * send messages: capability at 0x98, one vector per queue plus one for
 * configuration changes, table and PBA in a 4 KiB 32-bit memory BAR2 of
 * their own (virtio_pci_msix.c):
 *
 *   BAR2 + 0x000  MSI-X table (16 bytes per vector)
 *   BAR2 + 0x800  pending bit array
 *
 * The transport is independent of the VM: it is given guest RAM and an
 * interrupt-line callback, so tests drive it directly.  One mutex guards
 * its state; device callbacks run without it (they call back in).
 */
#ifndef PETREL_VIRTIO_PCI_H
#define PETREL_VIRTIO_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "virtqueue.h"

struct guest_ram;
struct virtio_pci;

#define VIRTIO_PCI_VENDOR      0x1AF4
#define VIRTIO_PCI_DEVICE_BASE 0x1040
#define VIRTIO_PCI_BAR_SIZE    0x4000u
#define VIRTIO_PCI_COMMON      0x0000u
#define VIRTIO_PCI_ISR         0x1000u
#define VIRTIO_PCI_DEVCFG      0x2000u
#define VIRTIO_PCI_NOTIFY      0x3000u
#define VIRTIO_PCI_NOTIFY_MULT 4u
#define VIRTIO_PCI_MAX_QUEUES  8u
#define VIRTIO_PCI_MSIX_BAR_SIZE 0x1000u
#define VIRTIO_PCI_MSIX_TABLE    0x000u
#define VIRTIO_PCI_MSIX_PBA      0x800u
#define VIRTIO_PCI_MSIX_MAX      (VIRTIO_PCI_MAX_QUEUES + 1u)   /* vectors: one per queue + config */
#define VIRTIO_PCI_MSIX_CAP      0x98u
#define VIRTIO_MSI_NO_VECTOR     0xFFFFu

struct virtio_device_ops {
    uint16_t device_id;          /* VIRTIO_ID_* */
    uint32_t pci_class;          /* class << 16 | subclass << 8 | prog-if */
    uint16_t num_queues;         /* <= VIRTIO_PCI_MAX_QUEUES */
    uint16_t queue_size;         /* largest size offered, <= VQ_MAX_SIZE */
    uint32_t config_size;        /* bytes of device-specific configuration */
    /* Device configuration bytes [off, off+len) (within config_size); transport lock held. */
    void (*config_read)(void *dev, unsigned off, void *buf, unsigned len);
    void (*config_write)(void *dev, unsigned off, const void *buf, unsigned len);   /* may be NULL */
    /* The driver kicked queue q (DRIVER_OK, queue enabled); no lock held, any vCPU. */
    void (*notify)(void *dev, unsigned q);
    /* Before a reset: wait until no request touches guest memory any more; may be NULL. */
    void (*quiesce)(void *dev);
    /* After a reset (device status 0 or machine reset); transport lock held; may be NULL. */
    void (*reset)(void *dev);
};

typedef void virtio_irq_fn(void *opaque, int level);
/* Sends one MSI message (address, data as the guest programmed them); any thread, transport lock held. */
typedef void virtio_msi_fn(void *opaque, uint64_t addr, uint32_t data);

/* features: the device-specific bits offered (the transport adds VERSION_1, INDIRECT_DESC, EVENT_IDX). */
struct virtio_pci *virtio_pci_create(const struct virtio_device_ops *ops, void *dev, uint64_t features,
                                     struct guest_ram *ram, virtio_irq_fn *irq, void *irq_opaque);
void virtio_pci_destroy(struct virtio_pci *t);
/* Offers MSI-X (num_queues + 1 vectors) delivered through msi; call right after
 * create, before the guest sees the function. */
void virtio_pci_set_msi(struct virtio_pci *t, virtio_msi_fn *msi, void *msi_opaque);
/* Machine reset: the device is reset and the PCI function back to power-on state. */
void virtio_pci_reset(struct virtio_pci *t);

/* PCI configuration space (the pci_function_ops of the function). */
uint32_t virtio_pci_config_read(void *t, unsigned offset, unsigned size);
void     virtio_pci_config_write(void *t, unsigned offset, unsigned size, uint32_t value);
/* BAR0 accesses, offset relative to the BAR (size 1, 2, 4 or 8). */
uint64_t virtio_pci_bar_read(struct virtio_pci *t, uint64_t offset, unsigned size);
void     virtio_pci_bar_write(struct virtio_pci *t, uint64_t offset, unsigned size, uint64_t value);
/* Where the guest placed BAR0, and whether memory decoding is on (lock-free). */
bool     virtio_pci_bar_decodes(const struct virtio_pci *t, uint64_t *base);
/* Firmware's job: places BAR0 (the guest may move it). */
void     virtio_pci_set_bar(struct virtio_pci *t, uint64_t base);
/* The MSI-X BAR (BAR2): accesses relative to it, where it is, firmware's placement. */
uint64_t virtio_pci_msix_read(struct virtio_pci *t, uint64_t offset, unsigned size);
void     virtio_pci_msix_write(struct virtio_pci *t, uint64_t offset, unsigned size, uint64_t value);
bool     virtio_pci_msix_decodes(const struct virtio_pci *t, uint64_t *base);
void     virtio_pci_set_msix_bar(struct virtio_pci *t, uint64_t base);

/*
 * Saved state (one unit per virtio device, see docs/saved-state-format.md):
 * the PCI function's config space, the negotiation, the queues, the MSI-X
 * vectors, table and pending bits (version 2; version 1 had no MSI-X and is
 * refused by the saved-state reader), and a copy
 * of the device configuration so that a restore onto a different disk
 * (another capacity, say) is refused.  Taken while no request is in flight
 * (the devices drain on suspend).
 */
#define VIRTIO_PCI_SAVED_VERSION 2u          /* 2: MSI-X vectors, table and pending bits */
struct virtio_pci_saved_queue {
    uint64_t desc, avail, used;
    uint16_t size, last_avail, used_idx, signalled_used;
    uint8_t  enabled, event_idx, indirect, pad[5];
};
struct virtio_pci_saved {
    uint16_t device_id, num_queues;
    uint32_t device_feature_select, driver_feature_select;
    uint8_t  status, config_generation, isr, pad[5];
    uint16_t queue_select, pad2[3];
    uint64_t offered, driver_features;
    uint8_t  pci_config[256];
    uint8_t  device_config[64];          /* the first 64 bytes; compared on load */
    struct virtio_pci_saved_queue queues[VIRTIO_PCI_MAX_QUEUES];
    /* MSI-X (the enable and function-mask bits are in pci_config) */
    uint16_t config_vector, queue_vector[VIRTIO_PCI_MAX_QUEUES];
    uint16_t pad3;
    uint32_t msix_pending;
    uint8_t  msix_table[VIRTIO_PCI_MSIX_MAX * 16];
};
void virtio_pci_save(struct virtio_pci *t, struct virtio_pci_saved *out);
/* Validates (VERR_SSM_UNEXPECTED_DATA, nothing changed) and applies. */
int  virtio_pci_load(struct virtio_pci *t, const struct virtio_pci_saved *in);

/* --- for device models --- */

/* Next chain of queue q: 1 = got one, 0 = nothing (or device not live); a
 * malformed chain marks the device NEEDS_RESET and returns VERR_*. */
int  virtio_pci_pop(struct virtio_pci *t, unsigned q, struct vq_chain *c);
/* Returns a chain with written bytes; interrupts the guest if it asks for it. */
void virtio_pci_push(struct virtio_pci *t, unsigned q, uint16_t head, uint32_t written);
/* Marks the device DEVICE_NEEDS_RESET (reason kept) and raises a config interrupt. */
void virtio_pci_set_broken(struct virtio_pci *t, const char *why);
/* The configuration changed: bump the generation, config interrupt. */
void virtio_pci_config_changed(struct virtio_pci *t);
uint64_t virtio_pci_features(struct virtio_pci *t);      /* negotiated */
struct guest_ram *virtio_pci_ram(struct virtio_pci *t);
/* Why the device needs a reset ("" if it does not). */
const char *virtio_pci_broken_reason(struct virtio_pci *t);

#endif /* PETREL_VIRTIO_PCI_H */
