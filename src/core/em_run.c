/*
 * The per-vCPU execution loop: enter the engine, act on what it returns,
 * and come back to the EMT loop whenever a request, rendezvous or state
 * change needs attention.  Also enforces the execution cap.
 */
#include <stdio.h>
#include <time.h>

#include "em_run.h"

#define CAP_SLICE_NS   UINT64_C(100000000)   /* cap accounting window */
#define CAP_SLEEP_NS   UINT64_C(5000000)     /* sleep step once over the cap */

/* Force flags that send the vCPU back to the EMT loop. */
#define EM_VM_FF_LEAVE  (VM_FF_REQUEST | VM_FF_PRIORITY_REQUEST | VM_FF_EMT_RENDEZVOUS | \
                         VM_FF_CHECK_VM_STATE | VM_FF_TERMINATE | VM_FF_RESET | VM_FF_POWER_OFF)
#define EM_CPU_FF_LEAVE (VMCPU_FF_REQUEST | VMCPU_FF_PRIORITY_REQUEST)

static bool em_must_leave(PVM vm, PVMCPU vcpu)
{
    return (atomic_load(&vm->ff) & EM_VM_FF_LEAVE) || (atomic_load(&vcpu->ff) & EM_CPU_FF_LEAVE);
}

static bool em_vm_running(PVM vm)
{
    VMSTATE st = atomic_load(&vm->enmVMState);
    return st == VMSTATE_RUNNING || st == VMSTATE_RUNNING_LS;
}

/*
 * Execution cap: once this thread used cap% of the current 100 ms slice,
 * sleep in 5 ms steps until the slice ends (requests still end the sleep).
 */
static void em_apply_exec_cap(PVM vm, PVMCPU vcpu)
{
    unsigned cap = atomic_load(&vm->exec_cap);
    if (cap >= 100)
        return;
    uint64_t now = time_now_ns();
    if (now - vcpu->cap_slice_start_ns >= CAP_SLICE_NS) {
        vcpu->cap_slice_start_ns = now;
        vcpu->cap_slice_cpu_start_ns = thread_cpu_ns();
        return;
    }
    uint64_t used = thread_cpu_ns() - vcpu->cap_slice_cpu_start_ns;
    if (used * 100 < (uint64_t)cap * CAP_SLICE_NS)
        return;
    while (time_now_ns() - vcpu->cap_slice_start_ns < CAP_SLICE_NS && !em_must_leave(vm, vcpu)) {
        unsigned seq = atomic_load(&vcpu->pUVCpu->wake_seq);
        emt_wait(vcpu->pUVCpu, seq, CAP_SLEEP_NS);
    }
}

/* A failure from the engine: guru meditation with its message. */
static void em_guru(PVM vm, PVMCPU vcpu, int rc)
{
    VMR3SetGuruMeditation(vm);
    VMSetError(vm, rc, RT_SRC_POS, "Guru meditation on vCPU %u: %s", vcpu->idCpu,
               vcpu->guru_message[0] ? vcpu->guru_message : RTErrGetFull(rc));
}

static void em_triple_fault(PVM vm, PVMCPU vcpu)
{
    if (vm->triple_fault_reset) {
        VMR3ResetTripleFault(vm);
        return;
    }
    snprintf(vcpu->guru_message, sizeof(vcpu->guru_message),
             "triple fault (set /EM/TripleFaultReset to reset the VM instead)");
    em_guru(vm, vcpu, VERR_TRPM_PANIC);
}

/* Guest-initiated power-off or reset, raised by devices through force flags. */
static bool em_guest_requests(PVM vm)
{
    uint32_t ff = atomic_load(&vm->ff);
    if (ff & VM_FF_POWER_OFF) {
        atomic_fetch_and(&vm->ff, ~VM_FF_POWER_OFF);
        VMR3PowerOff(vm->pUVM);
        return true;
    }
    if (ff & VM_FF_RESET) {
        atomic_fetch_and(&vm->ff, ~VM_FF_RESET);
        VMR3ResetFF(vm);
        return true;
    }
    return false;
}

/*
 * Start-up latency: the wall-clock time (CLOCK_REALTIME, comparable with a
 * timestamp the parent took before spawning us) at which the first vCPU
 * enters guest code, in the VM log (PETREL_LOG).  Taken before the log
 * line is written, so the logging does not count.
 */
static void em_note_first_entry(PVM vm, PVMCPU vcpu)
{
    if (atomic_load_explicit(&vm->guest_entered, memory_order_relaxed) || atomic_exchange(&vm->guest_entered, true))
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    vm_log(vm->pUVM, "vCPU %u enters guest code first at %lld.%09ld (CLOCK_REALTIME, engine %s)", vcpu->idCpu,
           (long long)ts.tv_sec, ts.tv_nsec, vm->engine->name);
}

void em_execute(PVM vm, PVMCPU vcpu)
{
    for (;;) {
        if (em_guest_requests(vm))
            return;
        if (!em_vm_running(vm) || !atomic_load(&vcpu->started))
            return;
        em_apply_exec_cap(vm, vcpu);

        /* in_guest before the flag check: a notifier either sees it and
         * pokes, or we see its flag (both sides use seq_cst). */
        atomic_store(&vcpu->pUVCpu->in_guest, true);
        if (em_must_leave(vm, vcpu)) {
            atomic_store(&vcpu->pUVCpu->in_guest, false);
            return;
        }
        em_note_first_entry(vm, vcpu);
        int rc = vm->engine->run(vcpu);
        atomic_store(&vcpu->pUVCpu->in_guest, false);

        switch (rc) {
        case VINF_SUCCESS:
            break;
        case VINF_EM_HALT:
            VMR3WaitHalted(vm, vcpu, false);
            break;
        case VINF_EM_TRIPLE_FAULT:
            em_triple_fault(vm, vcpu);
            return;
        case VINF_EM_OFF:
            VMR3PowerOff(vm->pUVM);
            return;
        case VINF_EM_RESET:
            VMR3ResetFF(vm);
            return;
        case VINF_EM_SUSPEND:
            VMR3Suspend(vm->pUVM, VMSUSPENDREASON_VM);
            return;
        default:
            if (RT_FAILURE(rc)) {
                em_guru(vm, vcpu, rc);
                return;
            }
            break;
        }
    }
}
