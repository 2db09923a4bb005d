/*
 * The VM's device instances: built from /Devices/<name>/<instance>/Config
 * (the debug console and debug-exit port always exist, instance 0 with no
 * Config when not configured), and their life-cycle hooks in creation order.
 */
#include "vm_machine_devices.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <vmm/err.h>

static const char *const always_present[] = { "debugcon", "debugexit" };

static int device_instantiate(PVM vm, const char *name, PCFGMNODE config, struct device_instance ***tail)
{
    const struct device_ops *ops = device_find(name);
    if (!ops)
        return VMSetError(vm, VERR_PDM_DEVICE_NOT_FOUND, RT_SRC_POS,
                          "/Devices/%s: there is no device model called '%s'", name, name);
    struct device_instance *inst = calloc(1, sizeof(*inst));
    if (!inst)
        return VMSetError(vm, VERR_NO_MEMORY, RT_SRC_POS, "out of memory creating device '%s'", name);
    int rc = ops->create(vm, config, &inst->state);
    if (RT_FAILURE(rc)) {
        free(inst);
        return rc;                     /* the device raised the error */
    }
    inst->ops = ops;
    **tail = inst;
    *tail = &inst->next;
    return VINF_SUCCESS;
}

/*
 * Buses come first whatever the order of /Devices: their functions (the
 * virtio devices on "pci") plug into them when they are created.
 */
static bool is_bus(const char *name)
{
    return !strcmp(name, "pci");
}

static int devices_create_pass(PVM vm, PCFGMNODE devs, bool buses, struct device_instance ***tail)
{
    for (PCFGMNODE dev = CFGMR3GetFirstChild(devs); dev; dev = CFGMR3GetNextChild(dev)) {
        char name[64];
        if (RT_FAILURE(CFGMR3GetName(dev, name, sizeof(name))))
            return VMSetError(vm, VERR_INVALID_PARAMETER, RT_SRC_POS, "a /Devices entry has a name that is too long");
        if (is_bus(name) != buses)
            continue;
        for (PCFGMNODE inst = CFGMR3GetFirstChild(dev); inst; inst = CFGMR3GetNextChild(inst)) {
            int rc = device_instantiate(vm, name, CFGMR3GetChild(inst, "Config"), tail);
            if (RT_FAILURE(rc))
                return rc;
        }
    }
    return VINF_SUCCESS;
}

static int devices_create_configured(PVM vm, PCFGMNODE devs, struct device_instance ***tail)
{
    int rc = devices_create_pass(vm, devs, true, tail);
    return RT_SUCCESS(rc) ? devices_create_pass(vm, devs, false, tail) : rc;
}

int vm_devices_create(PVM vm)
{
    struct device_instance **tail = &vm->devices;
    PCFGMNODE devs = CFGMR3GetChild(CFGMR3GetRoot(vm), "Devices");
    for (size_t i = 0; i < sizeof(always_present) / sizeof(always_present[0]); i++) {
        PCFGMNODE node = CFGMR3GetChild(devs, always_present[i]);
        if (CFGMR3GetFirstChild(node))
            continue;                  /* configured: created with the others */
        int rc = device_instantiate(vm, always_present[i], NULL, &tail);
        if (RT_FAILURE(rc))
            return rc;
    }
    return devices_create_configured(vm, devs, &tail);
}

void vm_devices_destroy(PVM vm)
{
    struct device_instance *d = vm->devices;
    vm->devices = NULL;
    while (d) {
        struct device_instance *next = d->next;
        if (d->ops->destroy)
            d->ops->destroy(d->state);
        free(d);
        d = next;
    }
}

void vm_devices_reset(PVM vm)
{
    for (struct device_instance *d = vm->devices; d; d = d->next)
        if (d->ops->reset)
            d->ops->reset(d->state);
}

void vm_devices_notify(PVM vm, enum vm_machine_event what)
{
    for (struct device_instance *d = vm->devices; d; d = d->next) {
        void (*hook)(void *) = what == VM_MACHINE_POWER_ON ? d->ops->power_on
                             : what == VM_MACHINE_SUSPEND ? d->ops->suspend
                             : what == VM_MACHINE_RESUME ? d->ops->resume : d->ops->power_off;
        if (hook)
            hook(d->state);
    }
}
