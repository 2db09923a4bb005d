/*
 * The virtio device models as VM devices, configured under /Devices:
 *
 *   virtio-blk/N/Config   Path (string, required): raw image or block device
 *                         ReadOnly (bool, default false), Serial (string, <= 20 chars)
 *                         PciSlot (1-31, default: first free)
 *   virtio-rng/N/Config   PciSlot
 *   virtio-console/N/Config  Console (back-end spec as for the serial port:
 *                         stdio | stdout | none | file:PATH | unix:PATH;
 *                         default none), PciSlot
 *
 *   virtio-net/N/Config  Backend ("tap:NAME" or "none", default none),
 *                         Mac ("52:54:00:12:34:56"; default ...:56 + N), PciSlot
 *
 * They sit on the bus of /Devices/pci/0 (created before them).  Saved
 * state: a unit per device (struct virtio_pci_saved); a restore opens the
 * disk at the same Path, which must have the same size.
 */
#include <stdlib.h>
#include <string.h>

#include <vmm/err.h>
#include <vmm/vmapi.h>

#include "../../core/vm_internal.h"
#include "../device.h"
#include "../console_backend.h"
#include "virtio_blk.h"
#include "virtio_console.h"
#include "virtio_net.h"
#include "virtio_pci_vm.h"
#include "virtio_rng.h"

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

/* The console's state: the device model and the back end it owns. */
struct console_dev {
    struct virtio_console *console;
    struct console_backend *be;
};

static void console_destroy(void *dev)
{
    struct console_dev *c = dev;
    virtio_console_destroy(c->console);          /* first: detaches the back end's input */
    console_backend_destroy(c->be);
    free(c);
}

static int console_create(struct VM *vm, PCFGMNODE cfg, void **state)
{
    char spec[4096], err[512];
    int rc = CFGMR3QueryStringDef(cfg, "Console", spec, sizeof(spec), "none");
    if (RT_FAILURE(rc))
        return VMSetError(vm, VERR_INVALID_PARAMETER, RT_SRC_POS, "virtio-console: Console must be a string");
    struct console_dev *c = calloc(1, sizeof(*c));
    if (!c)
        return VMSetError(vm, VERR_NO_MEMORY, RT_SRC_POS, "virtio-console: out of memory");
    rc = console_backend_create(spec, &c->be, err, sizeof(err));
    if (RT_FAILURE(rc)) {
        free(c);
        return VMSetError(vm, rc, RT_SRC_POS, "virtio-console: %s", err);
    }
    c->console = virtio_console_create(c->be);
    struct virtio_vm_dev *d = NULL;
    rc = c->console ? virtio_vm_dev_create(vm, cfg, "virtio-console", &virtio_console_ops, c->console, 0, &d)
                    : VMSetError(vm, VERR_NO_MEMORY, RT_SRC_POS, "virtio-console: out of memory");
    if (RT_FAILURE(rc)) {
        console_destroy(c);
        return rc;
    }
    d->dev_destroy = console_destroy;
    d->dev = c;
    rc = virtio_console_attach(c->console, d->transport);
    if (RT_FAILURE(rc)) {
        virtio_vm_dev_destroy(d);
        return VMSetError(vm, rc, RT_SRC_POS, "virtio-console: cannot start the console input");
    }
    *state = d;
    return VINF_SUCCESS;
}

/* Back-end input must not reach guest RAM while the VM is stopped (saved state). */
static void console_stop(void *state)
{
    struct console_dev *c = ((struct virtio_vm_dev *)state)->dev;
    virtio_console_pause(c->console, true);
}

static void console_go(void *state)
{
    struct console_dev *c = ((struct virtio_vm_dev *)state)->dev;
    virtio_console_pause(c->console, false);
}

const struct device_ops virtio_console_device_ops = {
    .name = "virtio-console",
    .create = console_create,
    .destroy = virtio_vm_dev_destroy,
    .reset = virtio_vm_dev_reset,
    .power_on = console_go,
    .suspend = console_stop,
    .resume = console_go,
    .power_off = console_stop,
    .saved_version = VIRTIO_PCI_SAVED_VERSION,
    .saved_size = sizeof(struct virtio_pci_saved),
    .save = virtio_vm_dev_save,
    .load = virtio_vm_dev_load,
};

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
    if (mac_text[0] && !virtio_net_parse_mac(mac_text, mac))
        return VMSetError(vm, VERR_INVALID_PARAMETER, RT_SRC_POS,
                          "virtio-net: Mac '%s' is not a unicast address like 52:54:00:12:34:56", mac_text);
    struct virtio_net *n = NULL;
    rc = virtio_net_create(backend, mac, &n, err, sizeof(err));
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
