/*
 * Life-cycle calls that change a running VM's state: power on, suspend,
 * resume, reset, power off, guru meditation.  Each is a descending EMT
 * rendezvous: EMT(n-1) makes the first transition, EMT(0) notifies the
 * devices and makes the final one.
 */
#include "vm_internal.h"

#define LIFECYCLE_RENDEZVOUS (VMMEMTRENDEZVOUS_ORDER_DESCENDING | VMMEMTRENDEZVOUS_STOP_ON_ERROR)

static bool is_first(PVM vm, PVMCPU vcpu) { return vcpu->idCpu == vm->cCpus - 1; }
static bool is_last(PVMCPU vcpu)          { return vcpu->idCpu == 0; }

/* --- power on --- */

static int power_on_worker(PVM vm, PVMCPU vcpu, void *user)
{
    (void)user;
    if (is_first(vm, vcpu)) {
        int rc = vm_state_try_set(vm, "VMR3PowerOn", 1, VMSTATE_CREATED, VMSTATE_POWERING_ON);
        if (RT_FAILURE(rc))
            return rc;
    }
    atomic_store(&vcpu->started, true);
    if (is_last(vcpu)) {
        vm_machine_notify(vm, VM_MACHINE_POWER_ON);
        vm_state_set(vm, VMSTATE_RUNNING, VMSTATE_POWERING_ON);
    }
    return VINF_SUCCESS;
}

VMMR3DECL(int) VMR3PowerOn(PUVM pUVM)
{
    PVM vm = uvm_vm(pUVM);
    if (!vm)
        return VERR_INVALID_VM_HANDLE;
    return vm_emt_rendezvous(vm, LIFECYCLE_RENDEZVOUS, power_on_worker, NULL);
}

/* --- suspend --- */

static int suspend_worker(PVM vm, PVMCPU vcpu, void *user)
{
    if (is_first(vm, vcpu)) {
        int rc = vm_state_try_set(vm, "VMR3Suspend", 2,
                                  VMSTATE_RUNNING, VMSTATE_SUSPENDING,
                                  VMSTATE_RUNNING_LS, VMSTATE_SUSPENDING_EXT_LS);
        if (RT_FAILURE(rc))
            return rc;
        vm->suspend_reason = (VMSUSPENDREASON)(uintptr_t)user;
    }
    if (is_last(vcpu)) {
        vm_machine_notify(vm, VM_MACHINE_SUSPEND);
        if (atomic_load(&vm->enmVMState) == VMSTATE_SUSPENDING)
            vm_state_set(vm, VMSTATE_SUSPENDED, VMSTATE_SUSPENDING);
        else
            vm_state_set(vm, VMSTATE_SUSPENDED_EXT_LS, VMSTATE_SUSPENDING_EXT_LS);
    }
    return VINF_EM_SUSPEND;
}

VMMR3DECL(int) VMR3Suspend(PUVM pUVM, VMSUSPENDREASON enmReason)
{
    PVM vm = uvm_vm(pUVM);
    if (!vm)
        return VERR_INVALID_VM_HANDLE;
    if (enmReason <= VMSUSPENDREASON_INVALID || enmReason >= VMSUSPENDREASON_END)
        return VERR_INVALID_PARAMETER;
    return vm_emt_rendezvous(vm, LIFECYCLE_RENDEZVOUS, suspend_worker, (void *)(uintptr_t)enmReason);
}

VMMR3DECL(VMSUSPENDREASON) VMR3GetSuspendReason(PUVM pUVM)
{
    PVM vm = uvm_vm(pUVM);
    return vm ? vm->suspend_reason : VMSUSPENDREASON_INVALID;
}

/* --- resume --- */

static int resume_worker(PVM vm, PVMCPU vcpu, void *user)
{
    if (is_first(vm, vcpu)) {
        int rc = vm_state_try_set(vm, "VMR3Resume", 1, VMSTATE_SUSPENDED, VMSTATE_RESUMING);
        if (RT_FAILURE(rc))
            return rc;
        vm->resume_reason = (VMRESUMEREASON)(uintptr_t)user;
    }
    if (is_last(vcpu)) {
        vm_machine_notify(vm, VM_MACHINE_RESUME);
        vm->teleported_not_resumed = false;
        vm_state_set(vm, VMSTATE_RUNNING, VMSTATE_RESUMING);
    }
    return VINF_EM_RESUME;
}

VMMR3DECL(int) VMR3Resume(PUVM pUVM, VMRESUMEREASON enmReason)
{
    PVM vm = uvm_vm(pUVM);
    if (!vm)
        return VERR_INVALID_VM_HANDLE;
    if (enmReason <= VMRESUMEREASON_INVALID || enmReason >= VMRESUMEREASON_END)
        return VERR_INVALID_PARAMETER;
    return vm_emt_rendezvous(vm, LIFECYCLE_RENDEZVOUS, resume_worker, (void *)(uintptr_t)enmReason);
}

VMMR3DECL(VMRESUMEREASON) VMR3GetResumeReason(PUVM pUVM)
{
    PVM vm = uvm_vm(pUVM);
    return vm ? vm->resume_reason : VMRESUMEREASON_INVALID;
}

/* --- power off --- */

static int power_off_worker(PVM vm, PVMCPU vcpu, void *user)
{
    (void)user;
    if (is_first(vm, vcpu)) {
        int rc = vm_state_try_set(vm, "VMR3PowerOff", 11,
                                  VMSTATE_RUNNING, VMSTATE_POWERING_OFF,
                                  VMSTATE_SUSPENDED, VMSTATE_POWERING_OFF,
                                  VMSTATE_DEBUGGING, VMSTATE_POWERING_OFF,
                                  VMSTATE_LOAD_FAILURE, VMSTATE_POWERING_OFF,
                                  VMSTATE_GURU_MEDITATION, VMSTATE_POWERING_OFF,
                                  VMSTATE_FATAL_ERROR, VMSTATE_POWERING_OFF,
                                  VMSTATE_CREATED, VMSTATE_POWERING_OFF,
                                  VMSTATE_RUNNING_LS, VMSTATE_POWERING_OFF_LS,
                                  VMSTATE_DEBUGGING_LS, VMSTATE_POWERING_OFF_LS,
                                  VMSTATE_GURU_MEDITATION_LS, VMSTATE_POWERING_OFF_LS,
                                  VMSTATE_FATAL_ERROR_LS, VMSTATE_POWERING_OFF_LS);
        if (RT_FAILURE(rc))
            return rc;
    }
    atomic_store(&vcpu->started, false);
    if (is_last(vcpu)) {
        vm_machine_notify(vm, VM_MACHINE_POWER_OFF);
        if (atomic_load(&vm->enmVMState) == VMSTATE_POWERING_OFF)
            vm_state_set(vm, VMSTATE_OFF, VMSTATE_POWERING_OFF);
        else
            vm_state_set(vm, VMSTATE_OFF_LS, VMSTATE_POWERING_OFF_LS);
    }
    return VINF_EM_OFF;
}

VMMR3DECL(int) VMR3PowerOff(PUVM pUVM)
{
    PVM vm = uvm_vm(pUVM);
    if (!vm)
        return VERR_INVALID_VM_HANDLE;
    return vm_emt_rendezvous(vm, LIFECYCLE_RENDEZVOUS, power_off_worker, NULL);
}

/* --- reset --- */

static int hard_reset_worker(PVM vm, PVMCPU vcpu, void *user)
{
    (void)user;
    if (is_first(vm, vcpu)) {
        int rc = vm_state_try_set(vm, "vmR3HardReset", 3,
                                  VMSTATE_RUNNING, VMSTATE_RESETTING,
                                  VMSTATE_SUSPENDED, VMSTATE_RESETTING,
                                  VMSTATE_RUNNING_LS, VMSTATE_RESETTING_LS);
        if (RT_FAILURE(rc))
            return rc;
        atomic_fetch_add(&vm->reset_count_hard, 1);
    }
    /* Pending per-CPU actions other than requests are dropped. */
    atomic_fetch_and(&vcpu->ff, VMCPU_FF_REQUEST | VMCPU_FF_PRIORITY_REQUEST);
    if (!is_last(vcpu))
        return VINF_EM_RESET;

    atomic_fetch_and(&vm->ff, ~(VM_FF_RESET | VM_FF_TRIPLE_FAULT));
    int rc = vm_machine_reset(vm);
    VMSTATE st = atomic_load(&vm->enmVMState);
    if (st == VMSTATE_RESETTING_LS) {
        vm_state_set(vm, VMSTATE_SUSPENDING_LS, VMSTATE_RESETTING_LS);
        vm_machine_notify(vm, VM_MACHINE_SUSPEND);
        vm_state_set(vm, VMSTATE_SUSPENDED_LS, VMSTATE_SUSPENDING_LS);
        return RT_FAILURE(rc) ? rc : VINF_EM_SUSPEND;
    }
    vm_state_set(vm, vm->enmPrevVMState == VMSTATE_SUSPENDED ? VMSTATE_SUSPENDED : VMSTATE_RUNNING,
                 VMSTATE_RESETTING);
    return RT_FAILURE(rc) ? rc : VINF_EM_RESET;
}

/* PowerOffInsteadOfReset turns every hard reset into a power-off. */
static int reset_or_power_off(PVM vm)
{
    PUVM uvm = vm->pUVM;
    if (atomic_load(&uvm->power_off_instead_of_reset)) {
        if (uvm->vmm2user && uvm->vmm2user->pfnNotifyResetTurnedIntoPowerOff)
            uvm->vmm2user->pfnNotifyResetTurnedIntoPowerOff(uvm->vmm2user, uvm);
        return VMR3PowerOff(uvm);
    }
    return vm_emt_rendezvous(vm, LIFECYCLE_RENDEZVOUS, hard_reset_worker, NULL);
}

VMMR3DECL(int) VMR3Reset(PUVM pUVM)
{
    PVM vm = uvm_vm(pUVM);
    if (!vm)
        return VERR_INVALID_VM_HANDLE;
    return reset_or_power_off(vm);
}

/*
 * A guest-initiated reset.  Petrel has no firmware that could ask for a
 * soft (warm) reset, so, as the API decides without a firmware device,
 * every guest reset is a hard one.
 */
VMMR3_INT_DECL(VBOXSTRICTRC) VMR3ResetFF(PVM pVM)
{
    if (!vm_is_emt(pVM))
        return VERR_VM_THREAD_NOT_EMT;
    return reset_or_power_off(pVM);
}

VMMR3_INT_DECL(VBOXSTRICTRC) VMR3ResetTripleFault(PVM pVM)
{
    if (!vm_is_emt(pVM))
        return VERR_VM_THREAD_NOT_EMT;
    vm_set_ff(pVM, VM_FF_TRIPLE_FAULT);
    return reset_or_power_off(pVM);
}

VMMDECL(uint32_t) VMGetResetCount(PVMCC pVM)
{
    if (!vm_is_registered(pVM))
        return UINT32_MAX;
    return atomic_load(&pVM->reset_count_hard) + atomic_load(&pVM->reset_count_soft);
}

VMMDECL(uint32_t) VMGetSoftResetCount(PVMCC pVM)
{
    return vm_is_registered(pVM) ? atomic_load(&pVM->reset_count_soft) : UINT32_MAX;
}

VMMDECL(uint32_t) VMGetHardResetCount(PVMCC pVM)
{
    return vm_is_registered(pVM) ? atomic_load(&pVM->reset_count_hard) : UINT32_MAX;
}

/* --- guru meditation --- */

VMMR3_INT_DECL(bool) VMR3SetGuruMeditation(PVM pVM)
{
    if (!vm_is_registered(pVM))
        return false;
    pthread_mutex_lock(&pVM->pUVM->state_cb_lock);
    VMSTATE st = atomic_load(&pVM->enmVMState);
    bool changed = true;
    if (st == VMSTATE_RUNNING)
        vm_state_set_locked(pVM, VMSTATE_GURU_MEDITATION, st);
    else if (st == VMSTATE_RUNNING_LS)
        vm_state_set_locked(pVM, VMSTATE_GURU_MEDITATION_LS, st);
    else
        changed = false;
    pthread_mutex_unlock(&pVM->pUVM->state_cb_lock);
    return changed;
}

VMMR3_INT_DECL(bool) VMR3TeleportedAndNotFullyResumedYet(PVM pVM)
{
    return vm_is_registered(pVM) && pVM->teleported_not_resumed;
}
