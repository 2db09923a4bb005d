/*
 * The built-in device models, found by their CFGM name under /Devices.
 */
#include "device.h"

#include <stddef.h>
#include <string.h>

extern const struct device_ops debug_console_device;
extern const struct device_ops debug_exit_device;

static const struct device_ops *const builtin_devices[] = {
    &debug_console_device,
    &debug_exit_device,
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
