/*
 * The KVM_RUN loop of one vCPU: enters the guest, handles the exits that the
 * engine can finish itself (port I/O, MMIO) and returns to the core for
 * everything else, and whenever a force flag is set.
 */
#include "kvm_internal.h"
#include "kvm_fallback.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include <vmm/err.h>

static bool force_flags_pending(PVMCPU vcpu)
{
    return atomic_load_explicit(&vcpu->ff, memory_order_relaxed) != 0
        || atomic_load_explicit(&vcpu->pVM->ff, memory_order_relaxed) != 0;
}

static const char *internal_suberror_name(uint32_t sub)
{
    switch (sub) {
    case KVM_INTERNAL_ERROR_EMULATION:     return "emulation failure";
    case KVM_INTERNAL_ERROR_SIMUL_EX:      return "exception while delivering an exception";
    case KVM_INTERNAL_ERROR_DELIVERY_EV:   return "event delivery failed";
    default:                               return "unknown";
    }
}

static int exit_internal_error(PVMCPU vcpu, struct kvm_run *run)
{
    char data[256] = "";
    size_t len = 0;
    uint32_t n = run->internal.ndata;
    if (n > sizeof(run->internal.data) / sizeof(run->internal.data[0]))
        n = sizeof(run->internal.data) / sizeof(run->internal.data[0]);
    for (uint32_t i = 0; i < n && len < sizeof(data); i++)
        len += (size_t)snprintf(data + len, sizeof(data) - len, " %#llx",
                                (unsigned long long)run->internal.data[i]);
    return kvm_guru(vcpu, VERR_NEM_IPE_0, "KVM_EXIT_INTERNAL_ERROR: suberror %u (%s), data:%s",
                    run->internal.suberror, internal_suberror_name(run->internal.suberror),
                    n ? data : " none");
}

static int exit_system_event(PVMCPU vcpu, struct kvm_run *run)
{
    switch (run->system_event.type) {
    case KVM_SYSTEM_EVENT_SHUTDOWN: return VINF_EM_OFF;
    case KVM_SYSTEM_EVENT_RESET:    return VINF_EM_RESET;
    default:
        return kvm_guru(vcpu, VERR_NEM_IPE_0, "KVM_EXIT_SYSTEM_EVENT of unknown type %u",
                        run->system_event.type);
    }
}

/* VINF_SUCCESS means "keep running"; anything else goes back to the core. */
static int handle_exit(PVMCPU vcpu, struct kvm_vcpu *kv)
{
    struct kvm_run *run = kv->run;
    switch (run->exit_reason) {
    case KVM_EXIT_IO:
        return kvm_exit_io(vcpu, kv);
    case KVM_EXIT_MMIO:
        return kvm_exit_mmio(vcpu, kv);
    case KVM_EXIT_HLT:
        kv->halted = true;
        return VINF_EM_HALT;
    case KVM_EXIT_SHUTDOWN:
        return VINF_EM_TRIPLE_FAULT;
    case KVM_EXIT_INTR:
        return VINF_SUCCESS;
    case KVM_EXIT_SYSTEM_EVENT:
        return exit_system_event(vcpu, run);
    case KVM_EXIT_INTERNAL_ERROR:
        if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION)
            return kvm_fallback_emulation_failure(vcpu, kv);   /* the interpreter finishes it */
        return exit_internal_error(vcpu, run);
    case KVM_EXIT_FAIL_ENTRY:
        return kvm_guru(vcpu, VERR_NEM_IPE_0, "KVM_EXIT_FAIL_ENTRY: hardware entry failure reason %#llx",
                        (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
    default:
        return kvm_guru(vcpu, VERR_NEM_IPE_0, "unexpected KVM exit reason %u", run->exit_reason);
    }
}

/* One KVM_RUN; returns -1 with errno on failure, 0 after an exit. */
static int enter_guest(struct kvm_vcpu *kv, bool *poked)
{
    atomic_store(&kv->in_run, true);
    if (atomic_exchange(&kv->poke_pending, false)) {
        atomic_store(&kv->in_run, false);
        *poked = true;
        return 0;
    }
    int r = ioctl(kv->fd, KVM_RUN, 0);
    int err = errno;
    atomic_store_explicit(&kv->in_run, false, memory_order_release);
    /* A poke that lands after this still has poke_pending set for the next
     * round; only a set flag is written, keeping the exit path cheap. */
    if (__atomic_load_n(&kv->run->immediate_exit, __ATOMIC_RELAXED))
        __atomic_store_n(&kv->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
    errno = err;
    return r;
}

int kvm_run(PVMCPU vcpu)
{
    struct kvm_vcpu *kv = kvm_vcpu_of(vcpu);
    if (!kv || kv->parked)
        return VINF_EM_HALT;           /* waiting for SIPI: nothing to execute */
    kv->halted = false;                /* the core decided the vCPU resumes after HLT */
    for (;;) {
        if (kvm_mode_select_interp(vcpu, kv)) {       /* unpaged: KVM would only emulate */
            bool to_core = false;
            int rc = kvm_fallback_interpret(vcpu, kv, &to_core);
            if (rc != VINF_SUCCESS || to_core)
                return rc;
        }
        bool poked = false;
        int r = enter_guest(kv, &poked);
        if (poked)
            return VINF_SUCCESS;
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                atomic_store(&kv->poke_pending, false);
                return VINF_SUCCESS;
            }
            return kvm_guru(vcpu, VERR_NEM_IPE_0, "KVM_RUN failed: %s", strerror(errno));
        }
        int rc = handle_exit(vcpu, kv);
        if (rc != VINF_SUCCESS)
            return rc;
        if (force_flags_pending(vcpu))
            return VINF_SUCCESS;
    }
}
