/*
 * Guest time across a suspend: the guest must not see the time the VM was
 * suspended.  vm_pause() reads kvmclock (KVM_GET_CLOCK) and every vCPU's
 * TSC; vm_resume() moves each TSC offset back by the time that passed and
 * writes kvmclock back, so kvmclock and RDTSC continue where they stopped.
 * Under kvm_pvm (a software hypervisor) the guest reads the host's TSC
 * directly: an offset would only make KVM's kvmclock data disagree with
 * it, so there only kvmclock is kept.  The core calls both with every vCPU
 * outside run() (the suspend and resume rendezvous); a second pause or a
 * resume without a pause does nothing.
 */
#include "kvm_internal.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include <vmm/err.h>

#define MSR_IA32_TSC 0x10

union tsc_msr {
    struct kvm_msrs hdr;
    uint8_t raw[sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)];
};

static int tsc_transfer(int fd, unsigned long req, uint64_t *tsc)
{
    union tsc_msr b;
    memset(&b, 0, sizeof(b));
    b.hdr.nmsrs = 1;
    b.hdr.entries[0].index = MSR_IA32_TSC;
    b.hdr.entries[0].data = *tsc;
    if (ioctl(fd, req, &b) != 1)
        return VERR_NEM_IPE_0;
    *tsc = b.hdr.entries[0].data;
    return VINF_SUCCESS;
}

/*
 * Winds a vCPU's TSC back by `elapsed` cycles.  The TSC offset attribute
 * (Linux 5.16+) is exact, and one elapsed value for all vCPUs keeps them in
 * step; writing the saved TSC is the fallback, but KVM takes a write within
 * a second of the expected value as "synchronize" and may ignore it.
 */
static int tsc_rewind(int fd, uint64_t elapsed, uint64_t paused)
{
    uint64_t offset = 0;
    struct kvm_device_attr a = {
        .group = KVM_VCPU_TSC_CTRL, .attr = KVM_VCPU_TSC_OFFSET, .addr = (uintptr_t)&offset,
    };
    if (ioctl(fd, KVM_HAS_DEVICE_ATTR, &a) != 0)
        return tsc_transfer(fd, KVM_SET_MSRS, &paused);
    if (ioctl(fd, KVM_GET_DEVICE_ATTR, &a) != 0)
        return VERR_NEM_IPE_0;
    offset -= elapsed;
    return ioctl(fd, KVM_SET_DEVICE_ATTR, &a) == 0 ? VINF_SUCCESS : VERR_NEM_IPE_0;
}

static void vcpus_tsc(PVM vm, struct kvm_vm *kvm, bool save)
{
    if (!kvm->tsc_offsettable)
        return;
    uint64_t elapsed = 0;                /* guest cycles since the pause, from vCPU 0 */
    if (!save && kvm->vcpus[0] && RT_SUCCESS(tsc_transfer(kvm->vcpus[0]->fd, KVM_GET_MSRS, &elapsed)))
        elapsed -= kvm->paused_tsc[0];
    for (uint32_t i = 0; i < vm->cCpus && i < VMM_MAX_CPU_COUNT; i++) {
        struct kvm_vcpu *kv = kvm->vcpus[i];
        if (!kv || kv->fd < 0)
            continue;
        int rc = save ? tsc_transfer(kv->fd, KVM_GET_MSRS, &kvm->paused_tsc[i])
                      : tsc_rewind(kv->fd, elapsed, kvm->paused_tsc[i]);
        if (RT_FAILURE(rc))
            vm_log(vm->pUVM, "KVM: %s the TSC of vCPU %u failed: %s; the guest TSC may jump",
                   save ? "saving" : "restoring", i, strerror(errno));
    }
}

void kvm_vm_pause(PVM vm)
{
    struct kvm_vm *kvm = kvm_vm_of(vm);
    if (!kvm)
        return;
    pthread_mutex_lock(&kvm->pause_lock);
    if (!kvm->paused) {
        kvm->paused = true;
        memset(&kvm->paused_clock, 0, sizeof(kvm->paused_clock));
        if (kvm->has_adjust_clock && ioctl(kvm->vm_fd, KVM_GET_CLOCK, &kvm->paused_clock) < 0)
            vm_log(vm->pUVM, "KVM: KVM_GET_CLOCK failed: %s; kvmclock will jump", strerror(errno));
        vcpus_tsc(vm, kvm, true);
    }
    pthread_mutex_unlock(&kvm->pause_lock);
}

void kvm_vm_resume(PVM vm)
{
    struct kvm_vm *kvm = kvm_vm_of(vm);
    if (!kvm)
        return;
    pthread_mutex_lock(&kvm->pause_lock);
    if (kvm->paused) {
        kvm->paused = false;
        vcpus_tsc(vm, kvm, false);
        /* Only the clock value is written back: the flags KVM returned
         * (TSC_STABLE, REALTIME...) are not valid input for every kernel. */
        struct kvm_clock_data c = { .clock = kvm->paused_clock.clock };
        if (kvm->has_adjust_clock && ioctl(kvm->vm_fd, KVM_SET_CLOCK, &c) < 0)
            vm_log(vm->pUVM, "KVM: KVM_SET_CLOCK failed: %s; kvmclock will jump", strerror(errno));
    }
    pthread_mutex_unlock(&kvm->pause_lock);
}
