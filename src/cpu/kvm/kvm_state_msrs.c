/*
 * The MSRs of struct cpu_msrs.  KVM_GET/SET_MSRS stop at the first MSR the
 * host does not support (e.g. TSC_AUX without RDTSCP); that one is skipped
 * and the rest retried, so one missing MSR does not lose the others.
 */
#include "kvm_internal.h"

#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>

#include <vmm/err.h>

static const struct { uint32_t index; size_t offset; } msr_map[] = {
    { 0xc0000081, offsetof(struct cpu_msrs, star) },
    { 0xc0000082, offsetof(struct cpu_msrs, lstar) },
    { 0xc0000083, offsetof(struct cpu_msrs, cstar) },
    { 0xc0000084, offsetof(struct cpu_msrs, sfmask) },
    { 0xc0000102, offsetof(struct cpu_msrs, kernel_gs_base) },
    { 0x00000174, offsetof(struct cpu_msrs, sysenter_cs) },
    { 0x00000175, offsetof(struct cpu_msrs, sysenter_esp) },
    { 0x00000176, offsetof(struct cpu_msrs, sysenter_eip) },
    { 0x00000010, offsetof(struct cpu_msrs, tsc) },
    { 0xc0000103, offsetof(struct cpu_msrs, tsc_aux) },
    { 0x0000001b, offsetof(struct cpu_msrs, apic_base) },
    { 0x00000277, offsetof(struct cpu_msrs, pat) },
    { 0x000001a0, offsetof(struct cpu_msrs, misc_enable) },
    { 0x00000048, offsetof(struct cpu_msrs, spec_ctrl) },
};
#define MSR_COUNT (sizeof(msr_map) / sizeof(msr_map[0]))

/* Room for the header and MSR_COUNT entries (kvm_msrs ends in a flexible array). */
union msr_buf {
    struct kvm_msrs hdr;
    uint8_t raw[sizeof(struct kvm_msrs) + MSR_COUNT * sizeof(struct kvm_msr_entry)];
};

static uint64_t *msr_field(struct cpu_msrs *m, size_t i)
{
    return (uint64_t *)((uint8_t *)m + msr_map[i].offset);
}

/* Runs KVM_GET_MSRS or KVM_SET_MSRS over msr_map[first..], skipping refused MSRs. */
static int msrs_transfer(PVMCPU vcpu, int fd, unsigned long req, struct cpu_msrs *m)
{
    size_t first = 0;
    while (first < MSR_COUNT) {
        union msr_buf b;
        memset(&b, 0, sizeof(b));
        b.hdr.nmsrs = (uint32_t)(MSR_COUNT - first);
        for (size_t i = first; i < MSR_COUNT; i++) {
            b.hdr.entries[i - first].index = msr_map[i].index;
            b.hdr.entries[i - first].data = *msr_field(m, i);
        }
        int n = ioctl(fd, req, &b);
        if (n < 0)
            return kvm_ioctl_error(vcpu, req == KVM_GET_MSRS ? "KVM_GET_MSRS" : "KVM_SET_MSRS");
        if (req == KVM_GET_MSRS)
            for (int i = 0; i < n; i++)
                *msr_field(m, first + (size_t)i) = b.hdr.entries[i].data;
        first += (size_t)n + 1;           /* entry n (if any) was refused: skip it */
    }
    return VINF_SUCCESS;
}

int kvm_get_msrs(PVMCPU vcpu, int fd, struct cpu_msrs *m)
{
    memset(m, 0, sizeof(*m));
    return msrs_transfer(vcpu, fd, KVM_GET_MSRS, m);
}

int kvm_set_msrs(PVMCPU vcpu, int fd, const struct cpu_msrs *m)
{
    struct cpu_msrs copy = *m;
    return msrs_transfer(vcpu, fd, KVM_SET_MSRS, &copy);
}
