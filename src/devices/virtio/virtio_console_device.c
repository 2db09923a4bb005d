/*
 * virtio-console as a VM device: /Devices/virtio-console/N/Config with
 * Console (a back-end spec as for the serial port: stdio | stdout | none |
 * file:PATH | unix:PATH; default none) and PciSlot.  It sits on the bus of /Devices/pci/0
 * (created before it); saved state: a unit per device (struct
 * virtio_pci_saved, docs/virtio.md).
 */
#include <stdlib.h>

#include <vmm/err.h>
#include <vmm/vmapi.h>

#include "../console_backend.h"
#include "../device.h"
#include "virtio_console.h"
#include "virtio_pci_vm.h"

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
