/*
 * virtio-blk as a VM device: /Devices/virtio-blk/N/Config with Path
 * (string, required: raw image or block device), ReadOnly (bool, default
 * false), Serial (string, <= 20 characters), PciSlot (1-31, default: the
 * first free).  A restore opens the disk at the same Path, which must have
 * the same size.  It sits on the bus of /Devices/pci/0
 * (created before it); saved state: a unit per device (struct
 * virtio_pci_saved, docs/virtio.md).
 */
#include <stdbool.h>

#include <vmm/err.h>
#include <vmm/vmapi.h>

#include "../device.h"
#include "virtio_blk.h"
#include "virtio_pci_vm.h"

static void blk_destroy(void *dev)
{
    virtio_blk_close(dev);
}

static int blk_create(struct VM *vm, PCFGMNODE cfg, void **state)
{
    char path[4096], serial[64], err[512];
    bool ro = false;
    int rc = CFGMR3QueryString(cfg, "Path", path, sizeof(path));
    if (RT_FAILURE(rc))
        return VMSetError(vm, VERR_INVALID_PARAMETER, RT_SRC_POS,
                          "virtio-blk: /Devices/virtio-blk/N/Config/Path (the disk image) is missing or too long");
    rc = CFGMR3QueryBoolDef(cfg, "ReadOnly", &ro, false);
    if (RT_FAILURE(rc))
        return VMSetError(vm, rc, RT_SRC_POS, "virtio-blk: ReadOnly must be a boolean");
    rc = CFGMR3QueryStringDef(cfg, "Serial", serial, sizeof(serial), "");
    if (RT_FAILURE(rc))
        return VMSetError(vm, VERR_INVALID_PARAMETER, RT_SRC_POS, "virtio-blk: Serial is longer than 20 characters");
    struct virtio_blk *b = NULL;
    rc = virtio_blk_open(path, ro, serial, &b, err, sizeof(err));
    if (RT_FAILURE(rc))
        return VMSetError(vm, rc, RT_SRC_POS, "virtio-blk: %s", err);
    struct virtio_vm_dev *d = NULL;
    rc = virtio_vm_dev_create(vm, cfg, "virtio-blk", &virtio_blk_ops, b, virtio_blk_features(b), &d);
    if (RT_SUCCESS(rc)) {
        d->dev_destroy = blk_destroy;
        rc = virtio_blk_attach(b, d->transport);
        if (RT_FAILURE(rc)) {
            virtio_vm_dev_destroy(d);
            return VMSetError(vm, rc, RT_SRC_POS, "virtio-blk: cannot start the I/O thread");
        }
        *state = d;
        return VINF_SUCCESS;
    }
    virtio_blk_close(b);
    return rc;
}

/* No request may be lost or half done when the VM stops. */
static void blk_power_off(void *state)
{
    virtio_blk_drain(((struct virtio_vm_dev *)state)->dev);
}

const struct device_ops virtio_blk_device_ops = {
    .name = "virtio-blk",
    .create = blk_create,
    .destroy = virtio_vm_dev_destroy,
    .reset = virtio_vm_dev_reset,
    .suspend = blk_power_off,
    .power_off = blk_power_off,
    .saved_version = VIRTIO_PCI_SAVED_VERSION,
    .saved_size = sizeof(struct virtio_pci_saved),
    .save = virtio_vm_dev_save,
    .load = virtio_vm_dev_load,
};
