/*
 * VM errors and runtime errors: the at-error and at-runtime-error callback
 * lists, VMSetError / VMR3SetError / VMSetRuntimeError, and the VM log.
 *
 * Errors are delivered on an EMT (a priority request when the caller is not
 * one), so they cannot deadlock against a device waiting in a suspend hook.
 * Callbacks receive the original format and a copy of the arguments.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm_internal.h"

/* --- the VM log: off unless PETREL_LOG names "stderr" or a file --- */

static pthread_once_t log_once = PTHREAD_ONCE_INIT;
static FILE *log_file;

static void log_open(void)
{
    const char *where = getenv("PETREL_LOG");
    if (!where || !*where)
        return;
    log_file = strcmp(where, "stderr") == 0 ? stderr : fopen(where, "a");
}

void vm_log(PUVM uvm, const char *fmt, ...)
{
    pthread_once(&log_once, log_open);
    if (!log_file)
        return;
    char line[2048];
    va_list va;
    va_start(va, fmt);
    vsnprintf(line, sizeof(line), fmt, va);
    va_end(va);
    fprintf(log_file, "petrel[%s]: %s\n", uvm && uvm->name ? uvm->name : "-", line);
    fflush(log_file);
}

/* --- VM errors --- */

int vm_set_error_worker(PUVM uvm, int rc, RT_SRC_POS_DECL, const char *fmt, va_list va)
{
    char msg[1024];
    va_list copy;
    va_copy(copy, va);
    vsnprintf(msg, sizeof(msg), fmt, copy);
    va_end(copy);
    vm_log(uvm, "VMSetError: %s(%d) %s: %s (%s)", pszFile, iLine, pszFunction, msg, RTErrGetShort(rc));

    pthread_mutex_lock(&uvm->error_lock);
    atomic_fetch_add(&uvm->error_count, 1);
    for (struct vm_callback *cb = uvm->at_error; cb; cb = cb->next) {
        va_copy(copy, va);
        ((PFNVMATERROR)cb->fn)(uvm, cb->user, rc, RT_SRC_POS_ARGS, fmt, copy);
        va_end(copy);
    }
    pthread_mutex_unlock(&uvm->error_lock);
    return rc;
}

/* Request shim: arguments arrive as pointer-sized integers. */
static int set_error_on_emt(PUVM uvm, int rc, const char *file, unsigned line, const char *func,
                            const char *fmt, va_list *pva)
{
    return vm_set_error_worker(uvm, rc, file, line, func, fmt, *pva);
}

VMMDECL(int) VMSetErrorV(PVMCC pVM, int rc, RT_SRC_POS_DECL, const char *pszFormat, va_list args)
{
    if (!vm_is_registered(pVM) || !pszFormat)
        return rc;
    PUVM uvm = pVM->pUVM;
    if (vm_current_emt(uvm))
        return vm_set_error_worker(uvm, rc, RT_SRC_POS_ARGS, pszFormat, args);
    va_list copy;
    va_copy(copy, args);
    VMR3ReqPriorityCallWaitU(uvm, VMCPUID_ANY, (PFNRT)set_error_on_emt, 7, uvm, rc, pszFile,
                             iLine, pszFunction, pszFormat, &copy);
    va_end(copy);
    return rc;
}

VMMDECL(int) VMSetError(PVMCC pVM, int rc, RT_SRC_POS_DECL, const char *pszFormat, ...)
{
    va_list va;
    va_start(va, pszFormat);
    VMSetErrorV(pVM, rc, RT_SRC_POS_ARGS, pszFormat, va);
    va_end(va);
    return rc;
}

VMMR3DECL(int) VMR3SetErrorV(PUVM pUVM, int rc, RT_SRC_POS_DECL, const char *pszFormat, va_list va)
{
    if (!uvm_is_valid(pUVM))
        return VERR_INVALID_VM_HANDLE;
    if (vm_current_emt(pUVM))
        return vm_set_error_worker(pUVM, rc, RT_SRC_POS_ARGS, pszFormat, va);
    PVM vm = uvm_vm(pUVM);
    if (!vm)
        return VERR_INVALID_VM_HANDLE;
    return VMSetErrorV(vm, rc, RT_SRC_POS_ARGS, pszFormat, va);
}

VMMR3DECL(int) VMR3SetError(PUVM pUVM, int rc, RT_SRC_POS_DECL, const char *pszFormat, ...)
{
    va_list va;
    va_start(va, pszFormat);
    int ret = VMR3SetErrorV(pUVM, rc, RT_SRC_POS_ARGS, pszFormat, va);
    va_end(va);
    return ret;
}

VMMR3_INT_DECL(uint32_t) VMR3GetErrorCount(PUVM pUVM)
{
    return uvm_is_valid(pUVM) ? atomic_load(&pUVM->error_count) : 0;
}

VMMR3DECL(int) VMR3AtErrorRegister(PUVM pUVM, PFNVMATERROR pfnAtError, void *pvUser)
{
    if (!pfnAtError)
        return VERR_INVALID_PARAMETER;
    if (!uvm_is_valid(pUVM))
        return VERR_INVALID_VM_HANDLE;
    return vm_callback_add(&pUVM->error_lock, &pUVM->at_error, (void (*)(void))pfnAtError, pvUser);
}

VMMR3DECL(int) VMR3AtErrorDeregister(PUVM pUVM, PFNVMATERROR pfnAtError, void *pvUser)
{
    if (!pfnAtError)
        return VERR_INVALID_PARAMETER;
    if (!uvm_is_valid(pUVM))
        return VERR_INVALID_VM_HANDLE;
    return vm_callback_remove(&pUVM->error_lock, &pUVM->at_error, (void (*)(void))pfnAtError, pvUser);
}

/* --- runtime errors --- */

VMMR3DECL(int) VMR3AtRuntimeErrorRegister(PUVM pUVM, PFNVMATRUNTIMEERROR pfnAtRuntimeError, void *pvUser)
{
    if (!pfnAtRuntimeError)
        return VERR_INVALID_PARAMETER;
    if (!uvm_is_valid(pUVM))
        return VERR_INVALID_VM_HANDLE;
    return vm_callback_add(&pUVM->error_lock, &pUVM->at_runtime_error, (void (*)(void))pfnAtRuntimeError, pvUser);
}

VMMR3DECL(int) VMR3AtRuntimeErrorDeregister(PUVM pUVM, PFNVMATRUNTIMEERROR pfnAtRuntimeError, void *pvUser)
{
    if (!pfnAtRuntimeError)
        return VERR_INVALID_PARAMETER;
    if (!uvm_is_valid(pUVM))
        return VERR_INVALID_VM_HANDLE;
    return vm_callback_remove(&pUVM->error_lock, &pUVM->at_runtime_error, (void (*)(void))pfnAtRuntimeError, pvUser);
}

VMMR3_INT_DECL(uint32_t) VMR3GetRuntimeErrorCount(PUVM pUVM)
{
    return uvm_is_valid(pUVM) ? atomic_load(&pUVM->runtime_error_count) : 0;
}

static int fatal_error_rendezvous(PVM vm, PVMCPU vcpu, void *user)
{
    (void)user;
    if (vcpu->idCpu != vm->cCpus - 1)
        return VINF_SUCCESS;
    int rc = vm_state_try_set(vm, "VMSetRuntimeError", 2,
                              VMSTATE_RUNNING, VMSTATE_FATAL_ERROR,
                              VMSTATE_RUNNING_LS, VMSTATE_FATAL_ERROR_LS);
    if (RT_FAILURE(rc))
        return rc;
    vm_set_ff(vm, VM_FF_CHECK_VM_STATE);
    return VINF_EM_SUSPEND;
}

/* Steps 1-4 of a runtime error, on an EMT. */
static int runtime_error_worker(PVM vm, uint32_t flags, const char *id, const char *fmt, va_list va)
{
    PUVM uvm = vm->pUVM;
    int rc = VINF_SUCCESS;
    if (flags & VMSETRTERR_FLAGS_FATAL) {
        rc = vm_emt_rendezvous(vm, VMMEMTRENDEZVOUS_ORDER_DESCENDING | VMMEMTRENDEZVOUS_STOP_ON_ERROR,
                               fatal_error_rendezvous, NULL);
    } else if (flags & VMSETRTERR_FLAGS_SUSPEND) {
        VMSTATE st = atomic_load(&vm->enmVMState);
        if (st == VMSTATE_RUNNING || st == VMSTATE_RUNNING_LS)
            rc = VMR3Suspend(uvm, VMSUSPENDREASON_RUNTIME_ERROR);
    }
    char msg[1024];
    va_list copy;
    va_copy(copy, va);
    vsnprintf(msg, sizeof(msg), fmt, copy);
    va_end(copy);
    vm_log(uvm, "VMSetRuntimeError: %s (flags %#x): %s", id, flags, msg);

    pthread_mutex_lock(&uvm->error_lock);
    atomic_fetch_add(&uvm->runtime_error_count, 1);
    for (struct vm_callback *cb = uvm->at_runtime_error; cb; cb = cb->next) {
        va_copy(copy, va);
        ((PFNVMATRUNTIMEERROR)cb->fn)(uvm, cb->user, flags, id, fmt, copy);
        va_end(copy);
    }
    pthread_mutex_unlock(&uvm->error_lock);
    return rc;
}

static int runtime_error_on_emt(PVM vm, uint32_t flags, const char *id, const char *fmt, va_list *pva)
{
    return runtime_error_worker(vm, flags, id, fmt, *pva);
}

/* Wrapper so the preformatted NO_WAIT message goes through a real va_list. */
static int runtime_error_preformatted(PVM vm, uint32_t flags, const char *id, const char *fmt, ...)
{
    va_list va;
    va_start(va, fmt);
    int rc = runtime_error_worker(vm, flags, id, fmt, va);
    va_end(va);
    return rc;
}

static int runtime_error_no_wait_on_emt(PVM vm, uint32_t flags, char *id, char *msg)
{
    int rc = runtime_error_preformatted(vm, flags, id, "%s", msg);
    free(id);
    free(msg);
    return rc;
}

VMMDECL(int) VMSetRuntimeErrorV(PVMCC pVM, uint32_t fFlags, const char *pszErrorId, const char *pszFormat, va_list args)
{
    if (!vm_is_registered(pVM))
        return VERR_INVALID_VM_HANDLE;
    if (!pszErrorId || !pszFormat)
        return VERR_INVALID_POINTER;
    if (fFlags & ~(VMSETRTERR_FLAGS_FATAL | VMSETRTERR_FLAGS_SUSPEND | VMSETRTERR_FLAGS_NO_WAIT))
        return VERR_INVALID_FLAGS;
    if ((fFlags & VMSETRTERR_FLAGS_FATAL) && (fFlags & VMSETRTERR_FLAGS_SUSPEND))
        return VERR_INVALID_PARAMETER;
    PUVM uvm = pVM->pUVM;

    if (vm_current_emt(uvm))
        return runtime_error_worker(pVM, fFlags & ~VMSETRTERR_FLAGS_NO_WAIT, pszErrorId, pszFormat, args);

    if (fFlags & VMSETRTERR_FLAGS_NO_WAIT) {
        /* Format now: the caller's arguments are gone when the EMT runs. */
        char *msg = NULL;
        va_list copy;
        va_copy(copy, args);
        int n = vasprintf(&msg, pszFormat, copy);
        va_end(copy);
        char *id = strdup(pszErrorId);
        if (n < 0 || !id) {
            free(id);
            if (n >= 0)
                free(msg);
            return VERR_NO_MEMORY;
        }
        int rc = VMR3ReqCallU(uvm, VMCPUID_ANY, NULL, 0, VMREQFLAGS_VBOX_STATUS | VMREQFLAGS_NO_WAIT,
                              (PFNRT)runtime_error_no_wait_on_emt, 4, pVM, fFlags, id, msg);
        if (RT_FAILURE(rc)) {
            free(id);
            free(msg);
        }
        return rc;
    }

    va_list copy;
    va_copy(copy, args);
    int rc = VMR3ReqPriorityCallWaitU(uvm, VMCPUID_ANY, (PFNRT)runtime_error_on_emt, 5, pVM, fFlags,
                                      pszErrorId, pszFormat, &copy);
    va_end(copy);
    return rc;
}

VMMDECL(int) VMSetRuntimeError(PVMCC pVM, uint32_t fFlags, const char *pszErrorId, const char *pszFormat, ...)
{
    va_list va;
    va_start(va, pszFormat);
    int rc = VMSetRuntimeErrorV(pVM, fFlags, pszErrorId, pszFormat, va);
    va_end(va);
    return rc;
}
