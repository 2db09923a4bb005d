/*
 * The KVM engine: opening /dev/kvm, creating the VM and its memory slots,
 * and the operations table the core calls.
 */
#include "kvm_engine.h"
#include "kvm_internal.h"
#include "kvm_fallback.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <vmm/err.h>

#define KVM_DEVICE "/dev/kvm"
#define KVM_PVM_MODULE "/sys/module/kvm_pvm"
/* Where KVM may put its real-mode TSS on Intel hosts without unrestricted
 * guest: three pages just below the usual firmware area, inside the hole. */
#define KVM_TSS_ADDR UINT64_C(0xfffbd000)

static void open_failure_hint(int err, char *why, size_t why_size)
{
    if (err == ENOENT || err == ENODEV || err == ENXIO)
        snprintf(why, why_size, "KVM is not available: %s does not exist (load the kvm module, "
                 "enable virtualization in the firmware, or use ExecEngine \"interp\")", KVM_DEVICE);
    else if (err == EACCES || err == EPERM)
        snprintf(why, why_size, "no permission to open %s (add the user to the 'kvm' group)", KVM_DEVICE);
    else
        snprintf(why, why_size, "cannot open %s: %s", KVM_DEVICE, strerror(err));
}

bool kvm_engine_available(char *why, size_t why_size)
{
    int fd = open(KVM_DEVICE, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        open_failure_hint(errno, why, why_size);
        return false;
    }
    close(fd);
    return true;
}

static int kvm_open_vm(PVM vm, struct kvm_vm *kvm)
{
    char why[256];
    kvm->kvm_fd = open(KVM_DEVICE, O_RDWR | O_CLOEXEC);
    if (kvm->kvm_fd < 0) {
        open_failure_hint(errno, why, sizeof(why));
        return VMSetError(vm, VERR_NEM_NOT_AVAILABLE, RT_SRC_POS, "%s", why);
    }
    int ver = ioctl(kvm->kvm_fd, KVM_GET_API_VERSION, 0);
    if (ver != KVM_API_VERSION)
        return VMSetError(vm, VERR_NEM_INIT_FAILED, RT_SRC_POS,
                          "KVM API version %d is not supported (expected %d)", ver, KVM_API_VERSION);
    if (ioctl(kvm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) <= 0)
        return VMSetError(vm, VERR_NEM_INIT_FAILED, RT_SRC_POS,
                          "the host kernel's KVM lacks KVM_CAP_IMMEDIATE_EXIT (Linux >= 4.11 needed)");
    do {
        kvm->vm_fd = ioctl(kvm->kvm_fd, KVM_CREATE_VM, 0);
    } while (kvm->vm_fd < 0 && errno == EINTR);
    if (kvm->vm_fd < 0)
        return VMSetError(vm, VERR_NEM_VM_CREATE_FAILED, RT_SRC_POS,
                          "KVM_CREATE_VM failed: %s", strerror(errno));
    kvm->run_size = ioctl(kvm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (kvm->run_size < (int)sizeof(struct kvm_run))
        return VMSetError(vm, VERR_NEM_INIT_FAILED, RT_SRC_POS,
                          "KVM_GET_VCPU_MMAP_SIZE returned %d", kvm->run_size);
    kvm->has_xsave = ioctl(kvm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) > 0;
    kvm->has_xcrs = ioctl(kvm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XCRS) > 0;
    kvm->has_debugregs = ioctl(kvm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_DEBUGREGS) > 0;
    kvm->has_adjust_clock = ioctl(kvm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_ADJUST_CLOCK) > 0;
    /* kvm_pvm runs guest code without TSC offsetting: the guest sees the host TSC. */
    kvm->tsc_offsettable = access(KVM_PVM_MODULE, F_OK) != 0;
    return VINF_SUCCESS;
}

static int kvm_add_slot(PVM vm, struct kvm_vm *kvm, uint32_t slot, uint64_t gpa, uint64_t size, void *host)
{
    if (size == 0)
        return VINF_SUCCESS;
    struct kvm_userspace_memory_region r = {
        .slot = slot, .guest_phys_addr = gpa, .memory_size = size, .userspace_addr = (uintptr_t)host,
    };
    if (ioctl(kvm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
        return VMSetError(vm, VERR_NEM_INIT_FAILED, RT_SRC_POS,
                          "KVM_SET_USER_MEMORY_REGION (slot %u, %llu MiB at %#llx) failed: %s", slot,
                          (unsigned long long)(size >> 20), (unsigned long long)gpa, strerror(errno));
    return VINF_SUCCESS;
}

static void kvm_vm_term(PVM vm);

static int kvm_vm_init(PVM vm)
{
    struct kvm_vm *kvm = calloc(1, sizeof(*kvm));
    if (!kvm)
        return VMSetError(vm, VERR_NO_MEMORY, RT_SRC_POS, "out of memory for the KVM engine");
    kvm->kvm_fd = kvm->vm_fd = -1;
    pthread_mutex_init(&kvm->pause_lock, NULL);
    vm->engine_data = kvm;
    int rc = kvm_open_vm(vm, kvm);
    if (RT_SUCCESS(rc))
        rc = kvm_add_slot(vm, kvm, 0, 0, vm->ram.low_size, vm->ram.host);
    if (RT_SUCCESS(rc))
        rc = kvm_add_slot(vm, kvm, 1, GUEST_4G, vm->ram.high_size, vm->ram.host + vm->ram.low_size);
    if (RT_SUCCESS(rc))
        rc = kvm_cpuid_fetch_supported(vm, kvm);
    if (RT_SUCCESS(rc))
        rc = kvm_irqchip_create(vm, kvm);    /* before any vCPU exists */
    /* Only Intel hosts without unrestricted guest need it; failure elsewhere is harmless. */
    if (RT_SUCCESS(rc) && vm->ram.low_size <= KVM_TSS_ADDR
        && ioctl(kvm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_TSS_ADDR) > 0)
        (void)ioctl(kvm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR);
    if (RT_FAILURE(rc))
        kvm_vm_term(vm);
    return rc;
}

static void kvm_vm_term(PVM vm)
{
    struct kvm_vm *kvm = kvm_vm_of(vm);
    if (!kvm)
        return;
    kvm_fallback_log_stats(vm);
    for (unsigned i = 0; i < VMM_MAX_CPU_COUNT; i++) {
        struct kvm_vcpu *kv = kvm->vcpus[i];
        if (!kv)
            continue;
        kvm_fallback_free(kv);
        if (kv->run)
            munmap(kv->run, (size_t)kv->run_size);
        if (kv->fd >= 0)
            close(kv->fd);
        free(kv);
    }
    if (kvm->vm_fd >= 0)
        close(kvm->vm_fd);
    if (kvm->kvm_fd >= 0)
        close(kvm->kvm_fd);
    free(kvm->supported_cpuid);
    pthread_mutex_destroy(&kvm->pause_lock);
    free(kvm);
    vm->engine_data = NULL;
}

/* With the irqchip KVM keeps HLT inside KVM_RUN and wakes it itself; without
 * one nothing can become pending: HLT waits for requests or state changes. */
static bool kvm_interrupt_pending(PVMCPU vcpu)
{
    (void)vcpu;
    return false;
}

static bool kvm_irqchip_in_engine(PVM vm)
{
    struct kvm_vm *kvm = kvm_vm_of(vm);
    return kvm && kvm->has_irqchip;
}

/* engine_ops.stats: the fallback counts ("f0 0f c7/1: 2, cc: 3;
 * interpreted unpaged: 92"). */
static int kvm_stats(PVM vm, char *buf, size_t size)
{
    if (!buf || !size)
        return VERR_BUFFER_OVERFLOW;
    if (!kvm_vm_of(vm)) {
        buf[0] = '\0';
        return VINF_SUCCESS;
    }
    size_t len = kvm_fallback_stats(vm, buf, size);
    return len + 1 >= size ? VERR_BUFFER_OVERFLOW : VINF_SUCCESS;
}

const struct engine_ops kvm_engine_ops = {
    .name = "kvm",
    .exec_engine = VM_EXEC_ENGINE_NATIVE_API,
    .vm_init = kvm_vm_init,
    .vm_term = kvm_vm_term,
    .vcpu_init = kvm_vcpu_init,
    .vcpu_term = kvm_vcpu_term,
    .run = kvm_run,
    .poke = kvm_poke,
    .get_state = kvm_get_state,
    .set_state = kvm_fallback_set_state,
    .irq_set = kvm_irq_set,
    .msi_send = kvm_msi_send,
    .interrupt_pending = kvm_interrupt_pending,
    .vm_pause = kvm_vm_pause,
    .vm_resume = kvm_vm_resume,
    .irqchip_in_engine = kvm_irqchip_in_engine,
    .stats = kvm_stats,
};
