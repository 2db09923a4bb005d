/*
 * Interrupt lines from device models: forwarded to the engine, which owns
 * the interrupt controllers (in-kernel under KVM, its own models under the
 * interpreter).
 */
#include "device.h"

#include "../core/vm_internal.h"

void irq_set(struct VM *vm, uint32_t gsi, int level)
{
    if (vm && vm->engine && vm->engine->irq_set)
        vm->engine->irq_set(vm, gsi, level);
}
