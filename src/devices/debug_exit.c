/*
 * Debug exit (like QEMU's isa-debug-exit): a write of value v to port 0xF4
 * (any width; the value is masked to the access size) powers the VM off and
 * records the exit code (v << 1) | 1, truncated to 32 bits.  The code is
 * always odd, so a front end can tell a guest-chosen exit from a plain
 * power-off (0); `petrel run` exits with it.  Reads return all ones.
 */
#include "device.h"

#include <stdlib.h>

#include <vmm/err.h>
#include <vmm/vmapi.h>

#include "../core/vm_internal.h"

#define DEBUGEXIT_PORT 0xf4

struct debugexit {
    PVM vm;
};

static void debugexit_write(void *opaque, uint16_t port, unsigned size, uint32_t value)
{
    struct debugexit *de = opaque;
    (void)port; (void)size;
    uint32_t code = (uint32_t)(((uint64_t)value << 1) | 1);
    vm_guest_request_power_off(de->vm, true, code);
}

static const struct io_port_ops debugexit_ops = { .write = debugexit_write };

static void debugexit_destroy(void *state)
{
    free(state);
}

static int debugexit_create(PVM vm, PCFGMNODE config, void **state)
{
    (void)config;
    struct debugexit *de = calloc(1, sizeof(*de));
    if (!de)
        return VMSetError(vm, VERR_NO_MEMORY, RT_SRC_POS, "debug exit: out of memory");
    de->vm = vm;
    int rc = io_bus_register_ports(vm->io, DEBUGEXIT_PORT, 1, &debugexit_ops, de, "debugexit");
    if (RT_FAILURE(rc)) {
        free(de);
        return VMSetError(vm, rc, RT_SRC_POS, "debug exit: port %#x is already taken", DEBUGEXIT_PORT);
    }
    *state = de;
    return VINF_SUCCESS;
}

const struct device_ops debug_exit_device = {
    .name = "debugexit",
    .create = debugexit_create,
    .destroy = debugexit_destroy,
};
