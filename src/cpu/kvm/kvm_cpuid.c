/*
 * Guest CPUID: what KVM supports, with a topology in which vCPU id = APIC id
 * = core id, one thread per core, all cores in package 0 (the same answer
 * VMR3GetCpuCoreAndPackageIdFromCpuId gives).  KVM's own hypervisor leaves
 * (0x40000000 "KVMKVMKVM") are kept: the paravirtual features (kvmclock)
 * are KVM's; Petrel signs at 0x40000100.  x2APIC and TSC-deadline are
 * offered only with the in-kernel irqchip.
 */
#include "kvm_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <vmm/err.h>

#define CPUID_MAX_ENTRIES 4096
#define TOPO_SUBLEAVES    3            /* SMT, core, terminator */
#define CPUID1_ECX_X2APIC      (1u << 21)
#define CPUID1_ECX_TSCDEADLINE (1u << 24)
#define CPUID1_EDX_HTT         (1u << 28)
#define PETREL_CPUID_LEAF      UINT32_C(0x40000100)

int kvm_cpuid_fetch_supported(PVM vm, struct kvm_vm *kvm)
{
    for (uint32_t n = 128; n <= CPUID_MAX_ENTRIES; n *= 2) {
        struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
        if (!c)
            return VMSetError(vm, VERR_NO_MEMORY, RT_SRC_POS, "out of memory for the CPUID table");
        c->nent = n;
        if (ioctl(kvm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
            kvm->supported_cpuid = c;
            return VINF_SUCCESS;
        }
        int err = errno;
        free(c);
        if (err != E2BIG)
            return VMSetError(vm, VERR_NEM_INIT_FAILED, RT_SRC_POS,
                              "KVM_GET_SUPPORTED_CPUID failed: %s", strerror(err));
    }
    return VMSetError(vm, VERR_NEM_INIT_FAILED, RT_SRC_POS, "KVM_GET_SUPPORTED_CPUID: table too large");
}

static uint32_t ceil_log2(uint32_t n)
{
    uint32_t s = 0;
    while ((UINT32_C(1) << s) < n)
        s++;
    return s;
}

static void topo_adjust(struct kvm_cpuid_entry2 *e, uint32_t id, uint32_t ncpus, const struct kvm_vm *kvm)
{
    uint32_t shift = ceil_log2(ncpus);
    switch (e->function) {
    case 1:
        e->ebx = (e->ebx & 0xffff) | (id << 24) | ((UINT32_C(1) << shift) << 16);
        e->edx = ncpus > 1 ? e->edx | CPUID1_EDX_HTT : e->edx & ~CPUID1_EDX_HTT;
        if (!kvm->has_irqchip)         /* both need the in-kernel local APIC */
            e->ecx &= ~(CPUID1_ECX_X2APIC | CPUID1_ECX_TSCDEADLINE);
        else if (kvm->has_tsc_deadline) /* KVM emulates it but does not list it */
            e->ecx |= CPUID1_ECX_TSCDEADLINE;
        break;
    case 4:
        e->eax = (e->eax & 0x03ffffff) | (((UINT32_C(1) << shift) - 1) << 26);
        break;
    case 0x80000008:
        e->ecx = (e->ecx & ~UINT32_C(0xf0ff)) | (ncpus - 1) | (shift << 12);
        break;
    case 0x8000001e:
        e->eax = id;
        e->ebx = (e->ebx & ~UINT32_C(0xffff)) | id;    /* one thread per core */
        e->ecx &= ~UINT32_C(0x7ff);                    /* node 0 */
        break;
    default:
        break;
    }
}

/* Leaf 0xB / 0x1F: level 0 = SMT (1 thread), level 1 = core (ncpus), then invalid. */
static void topo_leaf(struct kvm_cpuid_entry2 *e, uint32_t fn, uint32_t sub, uint32_t id, uint32_t ncpus)
{
    memset(e, 0, sizeof(*e));
    e->function = fn;
    e->index = sub;
    e->flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
    e->edx = id;
    e->ecx = sub;
    if (sub == 0) {
        e->eax = 0;
        e->ebx = 1;
        e->ecx |= 1u << 8;
    } else if (sub == 1) {
        e->eax = ceil_log2(ncpus);
        e->ebx = ncpus;
        e->ecx |= 2u << 8;
    }
}

/*
 * "PetrelPetrel" at 0x40000100, the next hypervisor base Linux scans: KVM's
 * leaves stay at 0x40000000 so Linux still finds "KVMKVMKVM" there and uses
 * kvmclock and the other paravirtual features.
 */
static void petrel_leaf(struct kvm_cpuid_entry2 *e)
{
    memset(e, 0, sizeof(*e));
    e->function = PETREL_CPUID_LEAF;
    e->eax = PETREL_CPUID_LEAF;        /* highest leaf of this range */
    memcpy(&e->ebx, "Petr", 4);
    memcpy(&e->ecx, "elPe", 4);
    memcpy(&e->edx, "trel", 4);
}

static uint32_t max_basic_leaf(const struct kvm_cpuid2 *c)
{
    for (uint32_t i = 0; i < c->nent; i++)
        if (c->entries[i].function == 0)
            return c->entries[i].eax;
    return 0;
}

int kvm_cpuid_apply(PVMCPU vcpu, struct kvm_vm *kvm, int vcpu_fd)
{
    const struct kvm_cpuid2 *sup = kvm->supported_cpuid;
    uint32_t ncpus = vcpu->pVM->cCpus ? vcpu->pVM->cCpus : 1, id = vcpu->idCpu;
    uint32_t cap = sup->nent + 2 * TOPO_SUBLEAVES + 1;
    struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + cap * sizeof(c->entries[0]));
    if (!c)
        return VMSetError(vcpu->pVM, VERR_NO_MEMORY, RT_SRC_POS, "out of memory for the CPUID table");
    uint32_t n = 0, maxleaf = max_basic_leaf(sup);
    for (uint32_t i = 0; i < sup->nent; i++) {
        uint32_t fn = sup->entries[i].function;
        if (fn == 0xb || fn == 0x1f || fn == PETREL_CPUID_LEAF)
            continue;                  /* regenerated below */
        c->entries[n] = sup->entries[i];
        topo_adjust(&c->entries[n++], id, ncpus, kvm);
    }
    for (uint32_t sub = 0; sub < TOPO_SUBLEAVES; sub++) {
        if (maxleaf >= 0xb)
            topo_leaf(&c->entries[n++], 0xb, sub, id, ncpus);
        if (maxleaf >= 0x1f)
            topo_leaf(&c->entries[n++], 0x1f, sub, id, ncpus);
    }
    petrel_leaf(&c->entries[n++]);
    c->nent = n;
    int r = ioctl(vcpu_fd, KVM_SET_CPUID2, c);
    int err = errno;
    free(c);
    if (r < 0)
        return VMSetError(vcpu->pVM, VERR_NEM_VM_CREATE_FAILED, RT_SRC_POS,
                          "KVM_SET_CPUID2 on vCPU %u failed: %s", id, strerror(err));
    return VINF_SUCCESS;
}
