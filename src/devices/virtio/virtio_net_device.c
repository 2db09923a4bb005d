/*
 * virtio-net as a VM device: /Devices/virtio-net/N/Config with Backend
 * ("tap:NAME" or "none", default none), Mac ("52:54:00:12:34:56"; default
 * ...:56 + N), Offloads (1: checksum/TSO through the tap where it can, the
 * default; 0: none) and PciSlot.  It sits on the bus of /Devices/pci/0
 * (created before it); saved state: a unit per device (struct
 * virtio_pci_saved, docs/virtio.md).
 */
#include <vmm/err.h>
#include <vmm/vmapi.h>

#include "../../core/vm_internal.h"
#include "../device.h"
#include "virtio_net.h"
#include "virtio_pci_vm.h"

extern const struct device_ops virtio_net_device_ops;

static void net_destroy(void *dev)
{
    virtio_net_destroy(dev);
}

/* The default MAC: 52:54:00:12:34:56 for the first virtio-net, then :57, ... */
static unsigned net_ordinal(struct VM *vm)
{
    unsigned n = 0;
    for (struct device_instance *i = vm->devices; i; i = i->next)
        n += i->ops == &virtio_net_device_ops;
    return n;
}

static int net_create(struct VM *vm, PCFGMNODE cfg, void **state)
{
    char backend[256], mac_text[32], err[512];
    uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, (uint8_t)(0x56 + net_ordinal(vm)) };
    int rc = CFGMR3QueryStringDef(cfg, "Backend", backend, sizeof(backend), "none");
    if (RT_SUCCESS(rc))
        rc = CFGMR3QueryStringDef(cfg, "Mac", mac_text, sizeof(mac_text), "");
    if (RT_FAILURE(rc))
        return VMSetError(vm, VERR_INVALID_PARAMETER, RT_SRC_POS, "virtio-net: Backend and Mac must be short strings");
    uint64_t offloads = 1;
    if (RT_FAILURE(CFGMR3QueryIntegerDef(cfg, "Offloads", &offloads, 1)) || offloads > 1)
        return VMSetError(vm, VERR_INVALID_PARAMETER, RT_SRC_POS, "virtio-net: Offloads must be 0 or 1");
    if (mac_text[0] && !virtio_net_parse_mac(mac_text, mac))
        return VMSetError(vm, VERR_INVALID_PARAMETER, RT_SRC_POS,
                          "virtio-net: Mac '%s' is not a unicast address like 52:54:00:12:34:56", mac_text);
    struct virtio_net *n = NULL;
    rc = virtio_net_create(backend, mac, offloads != 0, &n, err, sizeof(err));
    if (RT_FAILURE(rc))
        return VMSetError(vm, rc, RT_SRC_POS, "virtio-net: %s", err);
    struct virtio_vm_dev *d = NULL;
    rc = virtio_vm_dev_create(vm, cfg, "virtio-net", &virtio_net_ops, n, virtio_net_features(n), &d);
    if (RT_FAILURE(rc)) {
        virtio_net_destroy(n);
        return rc;
    }
    d->dev_destroy = net_destroy;
    rc = virtio_net_attach(n, d->transport);
    if (RT_FAILURE(rc)) {
        virtio_vm_dev_destroy(d);
        return VMSetError(vm, rc, RT_SRC_POS, "virtio-net: cannot start the I/O thread");
    }
    *state = d;
    return VINF_SUCCESS;
}

/* No packet may move while the VM is stopped (saved state, power-off). */
static void net_stop(void *state)
{
    virtio_net_pause(((struct virtio_vm_dev *)state)->dev, true);
}

static void net_go(void *state)
{
    virtio_net_pause(((struct virtio_vm_dev *)state)->dev, false);
}

const struct device_ops virtio_net_device_ops = {
    .name = "virtio-net",
    .create = net_create,
    .destroy = virtio_vm_dev_destroy,
    .reset = virtio_vm_dev_reset,
    .power_on = net_go,
    .suspend = net_stop,
    .resume = net_go,
    .power_off = net_stop,
    .saved_version = VIRTIO_PCI_SAVED_VERSION,
    .saved_size = sizeof(struct virtio_pci_saved),
    .save = virtio_vm_dev_save,
    .load = virtio_vm_dev_load,
};
