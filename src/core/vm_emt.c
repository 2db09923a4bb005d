/*
 * Emulation threads (EMTs): one per vCPU.  An EMT serves requests and
 * rendezvous, runs guest code while the VM is running, and otherwise sleeps
 * on its futex word until notified.
 */
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vm_internal.h"
#include "em_run.h"

static _Thread_local PUVMCPU current_emt;

PUVMCPU vm_current_emt(PUVM uvm)
{
    PUVMCPU self = current_emt;
    return self && self->pUVM == uvm ? self : NULL;
}

bool vm_is_emt(PVM vm)
{
    return vm && vm_current_emt(vm->pUVM) != NULL;
}

VMCPUID vm_current_cpu_id(PUVM uvm)
{
    PUVMCPU self = vm_current_emt(uvm);
    return self ? self->idCpu : NIL_VMCPUID;
}

void vm_set_ff(PVM vm, uint32_t ff)
{
    atomic_fetch_or(&vm->ff, ff);
}

void vmcpu_set_ff(PVMCPU vcpu, uint32_t ff)
{
    atomic_fetch_or(&vcpu->ff, ff);
}

/*
 * Wakes a sleeping EMT and kicks it out of guest code.  Every notification
 * pokes a vCPU that is in guest code (the poke argument is kept for the
 * API's flag): a guest that never exits would otherwise never see a request
 * or rendezvous from a foreign thread.
 */
void emt_notify(PUVMCPU uvcpu, bool poke)
{
    (void)poke;
    atomic_fetch_add(&uvcpu->wake_seq, 1);
    if (atomic_load(&uvcpu->waiting))
        futex_wake_u32(&uvcpu->wake_seq, 1);
    emt_poke(uvcpu);
}

void emt_poke(PUVMCPU uvcpu)
{
    if (!atomic_load(&uvcpu->in_guest))
        return;
    pthread_mutex_lock(&uvcpu->poke_lock);
    PVMCPU vcpu = uvcpu->pVCpu;
    if (vcpu && atomic_load(&uvcpu->in_guest)) {
        PVM vm = vcpu->pVM;
        if (vm->engine && vm->engine->poke)
            vm->engine->poke(vcpu);
    }
    pthread_mutex_unlock(&uvcpu->poke_lock);
}

void emt_detach_vm(PUVM uvm)
{
    for (uint32_t i = 0; i < uvm->cCpus; i++) {
        PUVMCPU uvcpu = &uvm->aCpus[i];
        pthread_mutex_lock(&uvcpu->poke_lock);
        uvcpu->pVM = NULL;
        uvcpu->pVCpu = NULL;
        pthread_mutex_unlock(&uvcpu->poke_lock);
    }
    atomic_store(&uvm->pVM, NULL);
}

void emt_notify_all(PUVM uvm, bool poke)
{
    for (uint32_t i = 0; i < uvm->cCpus; i++)
        emt_notify(&uvm->aCpus[i], poke);
}

void emt_wait(PUVMCPU uvcpu, unsigned seq_seen, uint64_t timeout_ns)
{
    atomic_store(&uvcpu->waiting, true);
    if (atomic_load(&uvcpu->wake_seq) == seq_seen)
        futex_wait_u32(&uvcpu->wake_seq, seq_seen, timeout_ns);
    atomic_store(&uvcpu->waiting, false);
}

VMMR3_INT_DECL(void) VMR3NotifyGlobalFFU(PUVM pUVM, uint32_t fFlags)
{
    if (uvm_is_valid(pUVM))
        emt_notify_all(pUVM, (fFlags & VMNOTIFYFF_FLAGS_POKE) != 0);
}

VMMR3_INT_DECL(void) VMR3NotifyCpuFFU(PUVMCPU pUVMCpu, uint32_t fFlags)
{
    if (pUVMCpu)
        emt_notify(pUVMCpu, (fFlags & VMNOTIFYFF_FLAGS_POKE) != 0);
}

/* Anything that should end an idle or halted wait. */
static bool emt_has_work(PUVMCPU uvcpu)
{
    PVM vm = uvcpu->pVM;
    if (atomic_load(&uvcpu->pUVM->emts_terminate))
        return true;
    if (vm_req_pending(uvcpu, true))
        return true;
    if (!vm)
        return false;
    if (atomic_load(&vm->ff) & (VM_FF_EMT_RENDEZVOUS | VM_FF_CHECK_VM_STATE | VM_FF_RESET |
                                VM_FF_POWER_OFF | VM_FF_TERMINATE))
        return true;
    return (atomic_load(&uvcpu->pVCpu->ff) & (VMCPU_FF_REQUEST | VMCPU_FF_PRIORITY_REQUEST)) != 0;
}

VMMR3_INT_DECL(int) VMR3WaitU(PUVMCPU pUVMCpu)
{
    if (!pUVMCpu || vm_current_emt(pUVMCpu->pUVM) != pUVMCpu)
        return VERR_VM_THREAD_NOT_EMT;
    unsigned seq = atomic_load(&pUVMCpu->wake_seq);
    if (!emt_has_work(pUVMCpu))
        emt_wait(pUVMCpu, seq, 0);
    return VINF_SUCCESS;
}

/* Sleeps until seq moves, after the adaptive spin (halt polling: an I/O
 * completion often comes sooner than a sleeping EMT could be woken). */
static void halt_wait(PUVMCPU uvcpu, unsigned seq)
{
    if (adaptive_poll_spin(&uvcpu->halt_poll, &uvcpu->wake_seq, seq))
        return;
    uint64_t t0 = time_now_ns();
    emt_wait(uvcpu, seq, 0);
    adaptive_poll_adapt(&uvcpu->halt_poll, time_now_ns() - t0);
}

VMMR3_INT_DECL(int) VMR3WaitHalted(PVM pVM, PVMCPU pVCpu, bool fIgnoreInterrupts)
{
    if (!pVM || !pVCpu || vm_current_emt(pVM->pUVM) != pVCpu->pUVCpu)
        return VERR_VM_THREAD_NOT_EMT;
    PUVMCPU uvcpu = pVCpu->pUVCpu;
    for (;;) {
        unsigned seq = atomic_load(&uvcpu->wake_seq);
        if (emt_has_work(uvcpu))
            break;
        uint32_t ff = atomic_load(&pVCpu->ff);
        if (ff & VMCPU_FF_UNHALT) {
            atomic_fetch_and(&pVCpu->ff, ~VMCPU_FF_UNHALT);
            break;
        }
        if (!fIgnoreInterrupts) {
            if (ff & VMCPU_FF_INTERRUPT)
                break;
            if (pVM->engine && pVM->engine->interrupt_pending && pVM->engine->interrupt_pending(pVCpu))
                break;
        }
        halt_wait(uvcpu, seq);
    }
    return VINF_SUCCESS;
}

VMMR3DECL(int) VMR3NotifyCpuDeviceReady(PVM pVM, VMCPUID idCpu)
{
    if (!vm_is_valid_ext(pVM))
        return VERR_INVALID_VM_HANDLE;
    if (idCpu >= pVM->cCpus)
        return VERR_INVALID_CPU_ID;
    vmcpu_set_ff(pVM->apCpus[idCpu], VMCPU_FF_DEVICE_READY);
    emt_notify(pVM->apCpus[idCpu]->pUVCpu, false);
    return VINF_SUCCESS;
}

VMMR3DECL(int) VMR3WaitForDeviceReady(PVM pVM, VMCPUID idCpu)
{
    if (!vm_is_valid_ext(pVM))
        return VERR_INVALID_VM_HANDLE;
    if (idCpu >= pVM->cCpus)
        return VERR_INVALID_CPU_ID;
    PVMCPU vcpu = pVM->apCpus[idCpu];
    if (vm_current_emt(pVM->pUVM) != vcpu->pUVCpu)
        return VERR_VM_THREAD_NOT_EMT;
    for (;;) {
        unsigned seq = atomic_load(&vcpu->pUVCpu->wake_seq);
        if (atomic_fetch_and(&vcpu->ff, ~VMCPU_FF_DEVICE_READY) & VMCPU_FF_DEVICE_READY)
            return VINF_SUCCESS;
        if (emt_has_work(vcpu->pUVCpu))
            return VINF_SUCCESS;
        emt_wait(vcpu->pUVCpu, seq, 0);
    }
}

/* --- guest requests raised by devices --- */

void vm_guest_request_power_off(PVM vm, bool has_code, uint32_t code)
{
    if (has_code) {
        atomic_store(&vm->guest_exit_code, code);
        atomic_store(&vm->has_guest_exit_code, true);
    }
    vm_set_ff(vm, VM_FF_POWER_OFF);
    emt_notify_all(vm->pUVM, true);
}

void vm_guest_request_reset(PVM vm)
{
    vm_set_ff(vm, VM_FF_RESET);
    emt_notify_all(vm->pUVM, true);
}

VMMR3DECL(int) VMR3GetGuestExitCode(PUVM pUVM, uint32_t *puCode)
{
    if (!uvm_is_valid(pUVM))
        return VERR_INVALID_VM_HANDLE;
    if (!puCode)
        return VERR_INVALID_POINTER;
    PVM vm = atomic_load(&pUVM->pVM);
    if (!vm || !atomic_load(&vm->has_guest_exit_code))
        return VERR_NOT_FOUND;
    *puCode = atomic_load(&vm->guest_exit_code);
    return VINF_SUCCESS;
}

/* --- thread identity --- */

VMMR3_INT_DECL(RTTHREAD) VMR3GetThreadHandle(PUVMCPU pUVCpu)
{
    return pUVCpu ? (RTTHREAD)pUVCpu : NIL_RTTHREAD;
}

VMMR3DECL(RTTHREAD) VMR3GetVMCPUThread(PUVM pUVM)
{
    if (!uvm_is_valid(pUVM))
        return NIL_RTTHREAD;
    PUVMCPU self = vm_current_emt(pUVM);
    return self ? (RTTHREAD)self : NIL_RTTHREAD;
}

VMMR3DECL(RTNATIVETHREAD) VMR3GetVMCPUNativeThreadU(PUVM pUVM)
{
    if (!uvm_is_valid(pUVM))
        return NIL_RTNATIVETHREAD;
    PUVMCPU self = vm_current_emt(pUVM);
    return self ? (RTNATIVETHREAD)self->thread : NIL_RTNATIVETHREAD;
}

VMMR3DECL(RTNATIVETHREAD) VMR3GetVMCPUNativeThread(PVM pVM)
{
    if (!vm_is_registered(pVM))
        return NIL_RTNATIVETHREAD;
    return VMR3GetVMCPUNativeThreadU(pVM->pUVM);
}

VMMR3_INT_DECL(RTCPUID) VMR3GetVMCPUId(PVM pVM)
{
    if (!vm_is_registered(pVM))
        return NIL_VMCPUID;
    return vm_current_cpu_id(pVM->pUVM);
}

VMMR3_INT_DECL(uint32_t) VMR3GetActiveEmts(PUVM pUVM)
{
    return uvm_is_valid(pUVM) ? atomic_load(&pUVM->active_emts) : 0;
}

/* --- the EMT main loop --- */

static bool vm_state_is_running(PVM vm)
{
    VMSTATE st = atomic_load(&vm->enmVMState);
    return st == VMSTATE_RUNNING || st == VMSTATE_RUNNING_LS;
}

static void emt_loop(PUVMCPU uvcpu)
{
    PUVM uvm = uvcpu->pUVM;
    for (;;) {
        if (atomic_load(&uvm->emts_terminate))
            return;
        unsigned seq = atomic_load(&uvcpu->wake_seq);
        PVM vm = uvcpu->pVM;
        if (vm && (atomic_load(&vm->ff) & VM_FF_EMT_RENDEZVOUS)) {
            vm_rendezvous_join(vm, uvcpu->pVCpu);
            continue;
        }
        if (vm_req_pending(uvcpu, true)) {
            if (vm_req_process_pending(uvcpu, false) == VINF_EM_TERMINATE)
                return;
            continue;
        }
        if (vm && uvcpu->pVCpu && atomic_load(&uvcpu->pVCpu->started) && vm_state_is_running(vm)) {
            em_execute(vm, uvcpu->pVCpu);
            continue;
        }
        if (!emt_has_work(uvcpu))
            emt_wait(uvcpu, seq, 0);
    }
}

static void *emt_thread(void *arg)
{
    PUVMCPU uvcpu = arg;
    PUVM uvm = uvcpu->pUVM;
    current_emt = uvcpu;
    uvcpu->tid = (pid_t)syscall(SYS_gettid);
    char name[16];
    if (uvm->cCpus == 1)
        snprintf(name, sizeof(name), "EMT");
    else
        snprintf(name, sizeof(name), "EMT-%u", uvcpu->idCpu);
    pthread_setname_np(pthread_self(), name);

    if (uvm->vmm2user && uvm->vmm2user->pfnNotifyEmtInit)
        uvm->vmm2user->pfnNotifyEmtInit(uvm->vmm2user, uvm, uvcpu);
    atomic_fetch_add(&uvm->active_emts, 1);
    emt_loop(uvcpu);
    atomic_fetch_sub(&uvm->active_emts, 1);
    if (uvm->vmm2user && uvm->vmm2user->pfnNotifyEmtTerm)
        uvm->vmm2user->pfnNotifyEmtTerm(uvm->vmm2user, uvm, uvcpu);
    current_emt = NULL;
    return NULL;
}

int emt_start(PUVMCPU uvcpu)
{
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, (size_t)1 << 20);
    /* EMTs must not take the poke signal's default action, nor others'. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int err = pthread_create(&uvcpu->thread, &attr, emt_thread, uvcpu);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (err)
        return VERR_NO_MEMORY;
    uvcpu->thread_started = true;
    return VINF_SUCCESS;
}
