/*
 * The built-in device models, found by their CFGM name under /Devices.
 */
#include "device.h"

#include <stddef.h>
#include <string.h>

extern const struct device_ops debug_console_device;
extern const struct device_ops debug_exit_device;
extern const struct device_ops uart16550_device_ops;
extern const struct device_ops i8042_device_ops;
extern const struct device_ops cmos_rtc_device_ops;
extern const struct device_ops acpi_pm_device_ops;
extern const struct device_ops pci_host_device_ops;
extern const struct device_ops virtio_blk_device_ops;
extern const struct device_ops virtio_rng_device_ops;
extern const struct device_ops virtio_console_device_ops;
extern const struct device_ops virtio_net_device_ops;

static const struct device_ops *const builtin_devices[] = {
    &debug_console_device,
    &debug_exit_device,
    &uart16550_device_ops,             /* "serial" */
    &i8042_device_ops,                 /* "i8042" */
    &cmos_rtc_device_ops,              /* "rtc" */
    &acpi_pm_device_ops,               /* "acpi" */
    &pci_host_device_ops,              /* "pci" */
    &virtio_blk_device_ops,            /* "virtio-blk" */
    &virtio_rng_device_ops,            /* "virtio-rng" */
    &virtio_console_device_ops,        /* "virtio-console" */
    &virtio_net_device_ops,            /* "virtio-net" */
};

const struct device_ops *device_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < sizeof(builtin_devices) / sizeof(builtin_devices[0]); i++)
        if (!strcmp(builtin_devices[i]->name, name))
            return builtin_devices[i];
    return NULL;
}
