/*
 * Creating and destroying a KVM vCPU (on its own EMT).
 */
#include "kvm_internal.h"
#include "kvm_fallback.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <vmm/err.h>

int kvm_vcpu_init(PVMCPU vcpu)
{
    PVM vm = vcpu->pVM;
    struct kvm_vm *kvm = kvm_vm_of(vm);
    if (vcpu->idCpu >= VMM_MAX_CPU_COUNT)
        return VMSetError(vm, VERR_INVALID_CPU_ID, RT_SRC_POS, "vCPU id %u is out of range", vcpu->idCpu);
    struct kvm_vcpu *kv = calloc(1, sizeof(*kv));
    if (!kv)
        return VMSetError(vm, VERR_NO_MEMORY, RT_SRC_POS, "out of memory for vCPU %u", vcpu->idCpu);
    kv->fd = -1;
    kv->run_size = kvm->run_size;
    kvm->vcpus[vcpu->idCpu] = kv;        /* freed by vm_term even if we fail below */

    kv->fd = ioctl(kvm->vm_fd, KVM_CREATE_VCPU, (unsigned long)vcpu->idCpu);
    if (kv->fd < 0)
        return VMSetError(vm, VERR_NEM_VM_CREATE_FAILED, RT_SRC_POS,
                          "KVM_CREATE_VCPU %u failed: %s", vcpu->idCpu, strerror(errno));
    void *run = mmap(NULL, (size_t)kv->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, kv->fd, 0);
    if (run == MAP_FAILED)
        return VMSetError(vm, VERR_NEM_VM_CREATE_FAILED, RT_SRC_POS,
                          "mapping kvm_run of vCPU %u failed: %s", vcpu->idCpu, strerror(errno));
    kv->run = run;
    int rc = kvm_cpuid_apply(vcpu, kvm, kv->fd);
    if (RT_SUCCESS(rc))
        rc = kvm_irqchip_vcpu_init(vcpu, kvm, kv);
    if (RT_SUCCESS(rc))
        rc = kvm_mode_select_init(vcpu, kv);
    if (RT_FAILURE(rc))
        return rc;
    rc = kvm_poke_prepare_thread();
    if (RT_FAILURE(rc))
        return VMSetError(vm, rc, RT_SRC_POS, "cannot install the vCPU kick signal handler");
    kv->thread = pthread_self();
    __atomic_store_n((struct kvm_vcpu **)&vcpu->engine_data, kv, __ATOMIC_RELEASE);
    return VINF_SUCCESS;
}

/* The fd and mapping stay until vm_term: a poke racing with teardown must
 * still find valid memory.  From now on run() refuses to enter the guest. */
void kvm_vcpu_term(PVMCPU vcpu)
{
    struct kvm_vcpu *kv = kvm_vcpu_of(vcpu);
    if (kv)
        kv->parked = true;
}
