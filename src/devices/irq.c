/*
 * Interrupt lines from device models: forwarded to the engine, which owns
 * the interrupt controllers (in-kernel under KVM, its own models under the
 * interpreter).
 */
#include "device.h"

#include <vmm/err.h>

#include "../core/vm_internal.h"

void irq_set(struct VM *vm, uint32_t gsi, int level)
{
    if (vm && vm->engine && vm->engine->irq_set)
        vm->engine->irq_set(vm, gsi, level);
}

int irq_msi(struct VM *vm, uint64_t addr, uint32_t data)
{
    if (!vm || !vm->engine)
        return VERR_INVALID_STATE;
    if (!vm->engine->msi_send)
        return VERR_NOT_SUPPORTED;
    return vm->engine->msi_send(vm, addr, data);
}
