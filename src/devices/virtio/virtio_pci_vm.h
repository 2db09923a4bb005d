/*
 * Putting a virtio-pci transport into a VM: a free slot on the host bridge
 * (or /Devices/<name>/N/Config/PciSlot), INTx pin A routed as the DSDT's
 * _PRT says, MSI-X messages sent with irq_msi(), and BAR0 and BAR2 decoded
 * through a per-VM router.
 *
 * Why a router: the I/O bus's tables are read lock-free by every vCPU and
 * must not change while the VM runs, but the guest moves BARs and toggles
 * memory decoding at any time.  So the first virtio device claims the
 * whole 32-bit PCI window of the DSDT once ([end of low RAM rounded up to
 * 1 MiB, 0xFEC00000)) and the router hands each access to the transport
 * whose BAR holds it while its memory decoding is on.  Like firmware,
 * device k's BAR0 starts at window base + k * 16 KiB and its MSI-X BAR2
 * (when the engine can send MSIs) at window base + 32 * 16 KiB + k * 4 KiB;
 * a BAR the guest puts outside the window is not decoded.
 */
#ifndef PETREL_VIRTIO_PCI_VM_H
#define PETREL_VIRTIO_PCI_VM_H

#include <vmm/cfgm.h>

#include "virtio_pci.h"

struct VM;
struct virtio_pci_router;

/* The device instance state of every "virtio-*" device model. */
struct virtio_vm_dev {
    struct VM *vm;
    struct virtio_pci *transport;
    struct virtio_pci_router *router;
    unsigned slot;
    uint32_t gsi;
    void *dev;                           /* the device model's own state */
    void (*dev_destroy)(void *dev);
};

/* Creates the transport for dev and plugs it in (VBox status, error set on the VM). */
int  virtio_vm_dev_create(struct VM *vm, PCFGMNODE cfg, const char *name, const struct virtio_device_ops *ops,
                          void *dev, uint64_t features, struct virtio_vm_dev **out);
/* Device-model hooks shared by all virtio devices (state = struct virtio_vm_dev). */
void virtio_vm_dev_destroy(void *state);
void virtio_vm_dev_reset(void *state);
void virtio_vm_dev_save(void *state, void *saved);         /* struct virtio_pci_saved */
int  virtio_vm_dev_load(void *state, const void *saved);

#endif /* PETREL_VIRTIO_PCI_VM_H */
