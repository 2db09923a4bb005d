/*
 * VMR3Save / VMR3LoadFromFile / VMR3LoadFromStream (VMR3Teleport is in
 * teleport_api.c).  The stream is written and read on the caller's thread;
 * state transitions and the final suspend follow the API (spec §6.3/6.4).
 * Deviations, as the spec recommends: a live save that fails while the VM
 * still runs (including when the stream cannot even be opened: quirk Q2)
 * returns the VM to RUNNING; a user suspend or reset during a live save
 * ends the save normally (quirk Q1).
 */
#include <stdio.h>

#include "../core/vm_internal.h"
#include "../devices/uart16550.h"
#include "ssm_file.h"
#include "ssm_live.h"
#include "ssm_stream_io.h"

#define SSM_SAVE_DOWNTIME_MS 250u        /* VMR3Save's fixed maximum downtime */

static bool stream_ops_valid(PCSSMSTRMOPS ops)
{
    return ops->u32Version == SSMSTRMOPS_VERSION && ops->u32EndVersion == SSMSTRMOPS_VERSION;
}

static bool stream_ops_complete(PCSSMSTRMOPS ops)
{
    return ops->pfnWrite && ops->pfnRead && ops->pfnSeek && ops->pfnTell && ops->pfnSize && ops->pfnClose;
}

static int save_checked(PUVM pUVM, const char *pszFilename, PCSSMSTRMOPS pStreamOps, void *pvStreamOpsUser,
                        uint32_t flags, PFNVMPROGRESS pfnProgress, void *pvUser, bool *pfSuspended)
{
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
    if (pStreamOps && !stream_ops_complete(pStreamOps))
        return VERR_INVALID_PARAMETER;
    struct ssm_target target = { .filename = pszFilename, .ops = pStreamOps, .user = pvStreamOpsUser,
                                 .raw_ram = (flags & VMSAVE_F_RAW_RAM) != 0 };
    struct ssm_progress progress = { .uvm = pUVM, .fn = pfnProgress, .user = pvUser };
    return ssm_save_vm(vm, &target, &progress, SSM_LIVE_SAVE, SSM_SAVE_DOWNTIME_MS, pfSuspended);
}

VMMR3DECL(int) VMR3Save(PUVM pUVM, const char *pszFilename, PCSSMSTRMOPS pStreamOps, void *pvStreamOpsUser,
                        bool fContinueAfterwards, PFNVMPROGRESS pfnProgress, void *pvUser, bool *pfSuspended)
{
    (void)fContinueAfterwards;         /* only tells units what comes next; no unit cares yet */
    return save_checked(pUVM, pszFilename, pStreamOps, pvStreamOpsUser, 0, pfnProgress, pvUser, pfSuspended);
}

VMMR3DECL(int) VMR3SaveToFileEx(PUVM pUVM, const char *pszFilename, uint32_t fFlags, bool fContinueAfterwards,
                                PFNVMPROGRESS pfnProgress, void *pvUser, bool *pfSuspended)
{
    (void)fContinueAfterwards;
    if (fFlags & ~VMSAVE_F_VALID_MASK)
        return VERR_INVALID_FLAGS;
    if (!pszFilename)
        return VERR_INVALID_POINTER;
    return save_checked(pUVM, pszFilename, NULL, NULL, fFlags, pfnProgress, pvUser, pfSuspended);
}

/* --- load --- */

static void cpus_mark_started(PVM vm)
{
    for (VMCPUID i = 0; i < vm->cCpus; i++)
        atomic_store(&vm->apCpus[i]->started, true);
}

static int load_vm(PVM vm, const char *filename, PCSSMSTRMOPS ops, void *user, struct ssm_progress *progress,
                   bool teleporting)
{
    int rc = vm_state_try_set(vm, "VMR3Load", 2, VMSTATE_CREATED, VMSTATE_LOADING,
                              VMSTATE_SUSPENDED, VMSTATE_LOADING);
    if (RT_FAILURE(rc))
        return rc;
    vm->teleported_not_resumed = teleporting;
    uart16550_hold_vm_input(vm);       /* console input typed meanwhile waits for the loaded UART */
    struct ssm_file file;
    char msg[SSM_MSG_SIZE] = "";
    if (filename) {
        rc = ssm_file_open(&file, filename);
        ops = &ssm_file_ops;
        user = &file;
        if (RT_FAILURE(rc))
            snprintf(msg, sizeof(msg), "cannot open '%s' (status %d)", filename, rc);
    }
    if (RT_SUCCESS(rc)) {
        rc = ssm_load_stream(vm, ops, user, filename ? file.fd : -1, progress, msg, sizeof(msg));
        int rc2 = ops->pfnClose(user, RT_FAILURE(rc));
        if (RT_SUCCESS(rc) && RT_FAILURE(rc2)) {
            rc = rc2;
            snprintf(msg, sizeof(msg), "closing the stream failed (status %d)", rc2);
        }
    }
    if (RT_FAILURE(rc)) {
        vm->teleported_not_resumed = false;
        VMSetError(vm, rc, RT_SRC_POS, "Unable to restore the virtual machine's saved state from '%s': %s",
                   filename ? filename : "(stream)", msg);
        vm_state_set(vm, VMSTATE_LOAD_FAILURE, VMSTATE_LOADING);
        return rc;
    }
    cpus_mark_started(vm);             /* a restored CREATED VM resumes, it is not powered on */
    vm_state_set(vm, VMSTATE_SUSPENDED, VMSTATE_LOADING);
    ssm_progress_report(progress, 100);
    return rc;
}

VMMR3DECL(int) VMR3LoadFromFile(PUVM pUVM, const char *pszFilename, PFNVMPROGRESS pfnProgress, void *pvUser)
{
    PVM vm = uvm_vm(pUVM);
    if (!vm)
        return VERR_INVALID_VM_HANDLE;
    if (!pszFilename)
        return VERR_INVALID_POINTER;
    struct ssm_progress progress = { .uvm = pUVM, .fn = pfnProgress, .user = pvUser };
    return load_vm(vm, pszFilename, NULL, NULL, &progress, false);
}

VMMR3DECL(int) VMR3LoadFromStream(PUVM pUVM, PCSSMSTRMOPS pStreamOps, void *pvStreamOpsUser,
                                  PFNVMPROGRESS pfnProgress, void *pvProgressUser, bool fTeleporting)
{
    PVM vm = uvm_vm(pUVM);
    if (!vm)
        return VERR_INVALID_VM_HANDLE;
    if (!pStreamOps)
        return VERR_INVALID_POINTER;
    if (!stream_ops_valid(pStreamOps))
        return VERR_INVALID_MAGIC;
    if (!stream_ops_complete(pStreamOps))
        return VERR_INVALID_PARAMETER;
    struct ssm_progress progress = { .uvm = pUVM, .fn = pfnProgress, .user = pvProgressUser };
    return load_vm(vm, NULL, pStreamOps, pvStreamOpsUser, &progress, fTeleporting);
}
