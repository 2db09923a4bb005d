/*
 * VMR3PressPowerButton: the ACPI power button, for front ends that want the
 * guest to shut down cleanly (`petrel ctl PATH poweroff --acpi`).
 */
#include "vm_internal.h"

#include "../devices/acpi_pm.h"

VMMR3DECL(int) VMR3PressPowerButton(PUVM pUVM)
{
    PVM vm = uvm_vm(pUVM);
    if (!vm)
        return VERR_INVALID_VM_HANDLE;
    VMSTATE st = atomic_load(&vm->enmVMState);
    /* A suspended guest finds the press latched in PM1_STS when it resumes. */
    if (st != VMSTATE_RUNNING && st != VMSTATE_SUSPENDED)
        return VMSetError(vm, VERR_VM_INVALID_VM_STATE, RT_SRC_POS,
                          "the power button can only be pressed while the VM is running or suspended "
                          "(it is %s)", VMGetStateName(st));
    int rc = acpi_pm_press_power_button_vm(vm);
    if (rc == VERR_NOT_FOUND)
        return VMSetError(vm, VERR_NOT_SUPPORTED, RT_SRC_POS,
                          "this machine has no ACPI power button (no /Devices/acpi device is configured)");
    return rc;
}
