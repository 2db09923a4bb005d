/*
 * VMR3Teleport: a live save to the caller's stream (the target loads it
 * with VMR3LoadFromStream(fTeleporting = true)).  cMsDowntime bounds the
 * final pass: RAM passes repeat while the guest runs until the dirty pages
 * left would be sent within it at the measured rate (or the pass cap).
 */
#include "../core/vm_internal.h"
#include "ssm_live.h"

VMMR3DECL(int) VMR3Teleport(PUVM pUVM, uint32_t cMsDowntime, PCSSMSTRMOPS pStreamOps, void *pvStreamOpsUser,
                            PFNVMPROGRESS pfnProgress, void *pvProgressUser, bool *pfSuspended)
{
    if (!pfSuspended)
        return VERR_INVALID_POINTER;
    *pfSuspended = false;
    PVM vm = uvm_vm(pUVM);
    if (!vm)
        return VERR_INVALID_VM_HANDLE;
    if (!pStreamOps)
        return VERR_INVALID_POINTER;
    if (pStreamOps->u32Version != SSMSTRMOPS_VERSION || pStreamOps->u32EndVersion != SSMSTRMOPS_VERSION)
        return VERR_INVALID_MAGIC;
    if (!pStreamOps->pfnWrite || !pStreamOps->pfnRead || !pStreamOps->pfnSeek || !pStreamOps->pfnTell ||
        !pStreamOps->pfnSize || !pStreamOps->pfnClose)
        return VERR_INVALID_PARAMETER;
    /* Fails fast in a wrong state (the intent behind the API's quirk Q3). */
    struct ssm_target target = { .ops = pStreamOps, .user = pvStreamOpsUser };
    struct ssm_progress progress = { .uvm = pUVM, .fn = pfnProgress, .user = pvProgressUser };
    return ssm_save_vm(vm, &target, &progress, SSM_LIVE_TELEPORT, cMsDowntime, pfSuspended);
}
