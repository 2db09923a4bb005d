/*
 * virtio-rng as a VM device: /Devices/virtio-rng/N/Config (PciSlot).
 * It sits on the bus of /Devices/pci/0
 * (created before it); saved state: a unit per device (struct
 * virtio_pci_saved, docs/virtio.md).
 */
#include <vmm/err.h>
#include <vmm/vmapi.h>

#include "../device.h"
#include "virtio_pci_vm.h"
#include "virtio_rng.h"

static void rng_destroy(void *dev)
{
    virtio_rng_destroy(dev);
}

static int rng_create(struct VM *vm, PCFGMNODE cfg, void **state)
{
    struct virtio_rng *r = virtio_rng_create();
    if (!r)
        return VMSetError(vm, VERR_NO_MEMORY, RT_SRC_POS, "virtio-rng: out of memory");
    struct virtio_vm_dev *d = NULL;
    int rc = virtio_vm_dev_create(vm, cfg, "virtio-rng", &virtio_rng_ops, r, 0, &d);
    if (RT_FAILURE(rc)) {
        virtio_rng_destroy(r);
        return rc;
    }
    d->dev_destroy = rng_destroy;
    virtio_rng_attach(r, d->transport);
    *state = d;
    return VINF_SUCCESS;
}

const struct device_ops virtio_rng_device_ops = {
    .name = "virtio-rng",
    .create = rng_create,
    .destroy = virtio_vm_dev_destroy,
    .reset = virtio_vm_dev_reset,
    .saved_version = VIRTIO_PCI_SAVED_VERSION,
    .saved_size = sizeof(struct virtio_pci_saved),
    .save = virtio_vm_dev_save,
    .load = virtio_vm_dev_load,
};
