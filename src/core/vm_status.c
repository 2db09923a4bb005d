/*
 * VMR3QueryStatus: one consistent-enough snapshot of what a front end shows
 * about a running VM (the control socket's "status"), so that front ends
 * need not reach into the VM structure.
 */
#include <string.h>

#include "vm_internal.h"

VMMR3DECL(int) VMR3QueryStatus(PUVM pUVM, PVMR3STATUS pStatus)
{
    if (!pStatus)
        return VERR_INVALID_POINTER;
    if (pStatus->cbStruct != sizeof(*pStatus))
        return VERR_VERSION_MISMATCH;
    PVM vm = uvm_vm(pUVM);
    if (!vm)
        return VERR_INVALID_VM_HANDLE;
    memset(pStatus, 0, sizeof(*pStatus));
    pStatus->cbStruct = sizeof(*pStatus);
    pStatus->enmState = atomic_load(&vm->enmVMState);
    pStatus->cCpus = vm->cCpus;
    pStatus->uCpuExecutionCap = atomic_load(&vm->exec_cap);
    pStatus->cbRam = vm->ram.size;
    pStatus->bMainExecutionEngine = vm->bMainExecutionEngine;
    pStatus->fPowerOffInsteadOfReset = atomic_load(&pUVM->power_off_instead_of_reset);
    pStatus->cSoftResets = atomic_load(&vm->reset_count_soft);
    pStatus->cHardResets = atomic_load(&vm->reset_count_hard);
    pStatus->cResets = pStatus->cSoftResets + pStatus->cHardResets;
    return VINF_SUCCESS;
}
