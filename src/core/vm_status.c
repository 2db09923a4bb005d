/*
 * VMR3QueryStatus: one consistent-enough snapshot of what a front end shows
 * about a running VM (the control socket's "status"), so that front ends
 * need not reach into the VM structure.  VMR3QueryEngineStats: the engine's
 * own counters as one line of text (engine_ops.stats).
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

VMMR3DECL(int) VMR3QueryEngineStats(PUVM pUVM, char *pszBuf, size_t cbBuf)
{
    PVM vm = uvm_vm(pUVM);
    if (!vm)
        return VERR_INVALID_VM_HANDLE;
    if (!pszBuf)
        return VERR_INVALID_POINTER;
    if (!cbBuf)
        return VERR_BUFFER_OVERFLOW;
    pszBuf[0] = '\0';
    VMSTATE state = atomic_load(&vm->enmVMState);
    if (state == VMSTATE_DESTROYING || state == VMSTATE_TERMINATED)
        return VERR_INVALID_VM_HANDLE;  /* the engine's data is going away */
    const struct engine_ops *engine = vm->engine;
    if (!engine || !engine->stats)
        return VINF_SUCCESS;            /* no engine-specific counters */
    return engine->stats(vm, pszBuf, cbBuf);
}
