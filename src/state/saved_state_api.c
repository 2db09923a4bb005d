/*
 * VMR3Save / VMR3Teleport / VMR3LoadFromFile / VMR3LoadFromStream.
 *
 * The saved-state format is not built yet (see the saved-state issue):
 * these calls validate their arguments and the VM state exactly as the API
 * says, then fail with VERR_NOT_IMPLEMENTED and a VM error saying so,
 * leaving the VM untouched.
 */
#include "../core/vm_internal.h"

static int not_yet(PVM vm, const char *who)
{
    return VMSetError(vm, VERR_NOT_IMPLEMENTED, RT_SRC_POS,
                      "%s: saved state is not implemented in this version of Petrel", who);
}

/* The states a call is legal in; anything else is the usual invalid-state error. */
static int check_state(PVM vm, const char *who, const VMSTATE *legal, unsigned count)
{
    VMSTATE cur = atomic_load(&vm->enmVMState);
    for (unsigned i = 0; i < count; i++)
        if (legal[i] == cur)
            return VINF_SUCCESS;
    return VMSetError(vm, VERR_VM_INVALID_VM_STATE, RT_SRC_POS,
                      "%s failed because the current VM state, %s, is not one it accepts", who,
                      VMR3GetStateName(cur));
}

static bool stream_ops_valid(PCSSMSTRMOPS ops)
{
    return ops->u32Version == SSMSTRMOPS_VERSION && ops->u32EndVersion == SSMSTRMOPS_VERSION;
}

VMMR3DECL(int) VMR3Save(PUVM pUVM, const char *pszFilename, PCSSMSTRMOPS pStreamOps, void *pvStreamOpsUser,
                        bool fContinueAfterwards, PFNVMPROGRESS pfnProgress, void *pvUser, bool *pfSuspended)
{
    (void)pvStreamOpsUser; (void)fContinueAfterwards; (void)pfnProgress; (void)pvUser;
    if (!pfSuspended)
        return VERR_INVALID_POINTER;
    *pfSuspended = false;
    PVM vm = uvm_vm(pUVM);
    if (!vm)
        return VERR_INVALID_VM_HANDLE;
    if (!pszFilename && !pStreamOps)
        return VERR_INVALID_POINTER;
    if ((pszFilename && pStreamOps) || (!pStreamOps && !*pszFilename))
        return VERR_INVALID_PARAMETER;
    if (pStreamOps && !stream_ops_valid(pStreamOps))
        return VERR_INVALID_MAGIC;
    static const VMSTATE legal[] = { VMSTATE_SUSPENDED, VMSTATE_RUNNING };
    int rc = check_state(vm, "VMR3Save", legal, 2);
    return RT_FAILURE(rc) ? rc : not_yet(vm, "VMR3Save");
}

VMMR3DECL(int) VMR3Teleport(PUVM pUVM, uint32_t cMsDowntime, PCSSMSTRMOPS pStreamOps, void *pvStreamOpsUser,
                            PFNVMPROGRESS pfnProgress, void *pvProgressUser, bool *pfSuspended)
{
    (void)cMsDowntime; (void)pvStreamOpsUser; (void)pfnProgress; (void)pvProgressUser;
    if (!pfSuspended)
        return VERR_INVALID_POINTER;
    *pfSuspended = false;
    PVM vm = uvm_vm(pUVM);
    if (!vm)
        return VERR_INVALID_VM_HANDLE;
    if (!pStreamOps)
        return VERR_INVALID_POINTER;
    if (!stream_ops_valid(pStreamOps))
        return VERR_INVALID_MAGIC;
    /* Fails fast in a wrong state (the intent behind the API's quirk Q3). */
    static const VMSTATE legal[] = { VMSTATE_SUSPENDED, VMSTATE_RUNNING };
    int rc = check_state(vm, "VMR3Teleport", legal, 2);
    return RT_FAILURE(rc) ? rc : not_yet(vm, "VMR3Teleport");
}

VMMR3DECL(int) VMR3LoadFromFile(PUVM pUVM, const char *pszFilename, PFNVMPROGRESS pfnProgress, void *pvUser)
{
    (void)pfnProgress; (void)pvUser;
    PVM vm = uvm_vm(pUVM);
    if (!vm)
        return VERR_INVALID_VM_HANDLE;
    if (!pszFilename)
        return VERR_INVALID_POINTER;
    static const VMSTATE legal[] = { VMSTATE_CREATED, VMSTATE_SUSPENDED };
    int rc = check_state(vm, "VMR3Load", legal, 2);
    return RT_FAILURE(rc) ? rc : not_yet(vm, "VMR3LoadFromFile");
}

VMMR3DECL(int) VMR3LoadFromStream(PUVM pUVM, PCSSMSTRMOPS pStreamOps, void *pvStreamOpsUser,
                                  PFNVMPROGRESS pfnProgress, void *pvProgressUser, bool fTeleporting)
{
    (void)pvStreamOpsUser; (void)pfnProgress; (void)pvProgressUser; (void)fTeleporting;
    PVM vm = uvm_vm(pUVM);
    if (!vm)
        return VERR_INVALID_VM_HANDLE;
    if (!pStreamOps)
        return VERR_INVALID_POINTER;
    if (!stream_ops_valid(pStreamOps))
        return VERR_INVALID_MAGIC;
    static const VMSTATE legal[] = { VMSTATE_CREATED, VMSTATE_SUSPENDED };
    int rc = check_state(vm, "VMR3Load", legal, 2);
    return RT_FAILURE(rc) ? rc : not_yet(vm, "VMR3LoadFromStream");
}
