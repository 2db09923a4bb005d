/*
 * x87/SSE/AVX state and XCR0.  cpu_state keeps the standard XSAVE layout;
 * hosts without KVM_CAP_XSAVE get the legacy FXSAVE part via KVM_GET_FPU.
 */
#include "kvm_internal.h"

#include <string.h>
#include <sys/ioctl.h>

#include <vmm/err.h>

_Static_assert(sizeof(struct kvm_xsave) >= CPU_XSAVE_AREA_SIZE, "kvm_xsave holds the whole XSAVE area");

/* Legacy FXSAVE layout offsets. */
#define FX_FCW 0
#define FX_FSW 2
#define FX_FTW 4
#define FX_FOP 6
#define FX_FIP 8
#define FX_FDP 16
#define FX_MXCSR 24
#define FX_ST 32
#define FX_XMM 160

static void fxsave_from_fpu(uint8_t *fx, const struct kvm_fpu *f)
{
    memset(fx, 0, 512);
    memcpy(fx + FX_FCW, &f->fcw, 2);
    memcpy(fx + FX_FSW, &f->fsw, 2);
    fx[FX_FTW] = f->ftwx;
    memcpy(fx + FX_FOP, &f->last_opcode, 2);
    memcpy(fx + FX_FIP, &f->last_ip, 8);
    memcpy(fx + FX_FDP, &f->last_dp, 8);
    memcpy(fx + FX_MXCSR, &f->mxcsr, 4);
    memcpy(fx + FX_ST, f->fpr, sizeof(f->fpr));
    memcpy(fx + FX_XMM, f->xmm, sizeof(f->xmm));
}

static void fpu_from_fxsave(struct kvm_fpu *f, const uint8_t *fx)
{
    memset(f, 0, sizeof(*f));
    memcpy(&f->fcw, fx + FX_FCW, 2);
    memcpy(&f->fsw, fx + FX_FSW, 2);
    f->ftwx = fx[FX_FTW];
    memcpy(&f->last_opcode, fx + FX_FOP, 2);
    memcpy(&f->last_ip, fx + FX_FIP, 8);
    memcpy(&f->last_dp, fx + FX_FDP, 8);
    memcpy(&f->mxcsr, fx + FX_MXCSR, 4);
    memcpy(f->fpr, fx + FX_ST, sizeof(f->fpr));
    memcpy(f->xmm, fx + FX_XMM, sizeof(f->xmm));
}

static int xcr0_get(PVMCPU vcpu, struct kvm_vm *kvm, int fd, struct cpu_state *st)
{
    struct kvm_xcrs x;
    st->xcr0 = 1;
    if (!kvm->has_xcrs)
        return VINF_SUCCESS;
    if (ioctl(fd, KVM_GET_XCRS, &x) < 0)
        return kvm_ioctl_error(vcpu, "KVM_GET_XCRS");
    for (uint32_t i = 0; i < x.nr_xcrs && i < KVM_MAX_XCRS; i++)
        if (x.xcrs[i].xcr == 0)
            st->xcr0 = x.xcrs[i].value;
    return VINF_SUCCESS;
}

static int xcr0_set(PVMCPU vcpu, struct kvm_vm *kvm, int fd, const struct cpu_state *st)
{
    struct kvm_xcrs x;
    if (!kvm->has_xcrs)
        return VINF_SUCCESS;
    memset(&x, 0, sizeof(x));
    x.nr_xcrs = 1;
    x.xcrs[0].xcr = 0;
    x.xcrs[0].value = st->xcr0 | 1;     /* x87 is architecturally always enabled */
    if (ioctl(fd, KVM_SET_XCRS, &x) < 0)
        return kvm_ioctl_error(vcpu, "KVM_SET_XCRS");
    return VINF_SUCCESS;
}

int kvm_get_fpu_state(PVMCPU vcpu, struct kvm_vm *kvm, int fd, struct cpu_state *st)
{
    int rc = xcr0_get(vcpu, kvm, fd, st);
    if (RT_FAILURE(rc))
        return rc;
    if (kvm->has_xsave) {
        static _Thread_local struct kvm_xsave xs;   /* 4 KiB: keep it off the stack */
        if (ioctl(fd, KVM_GET_XSAVE, &xs) < 0)
            return kvm_ioctl_error(vcpu, "KVM_GET_XSAVE");
        memcpy(st->xsave, xs.region, CPU_XSAVE_AREA_SIZE);
        return VINF_SUCCESS;
    }
    struct kvm_fpu f;
    if (ioctl(fd, KVM_GET_FPU, &f) < 0)
        return kvm_ioctl_error(vcpu, "KVM_GET_FPU");
    memset(st->xsave, 0, CPU_XSAVE_AREA_SIZE);
    fxsave_from_fpu(st->xsave, &f);
    return VINF_SUCCESS;
}

int kvm_set_fpu_state(PVMCPU vcpu, struct kvm_vm *kvm, int fd, const struct cpu_state *st)
{
    int rc = xcr0_set(vcpu, kvm, fd, st);
    if (RT_FAILURE(rc))
        return rc;
    if (kvm->has_xsave) {
        static _Thread_local struct kvm_xsave xs;
        memset(&xs, 0, sizeof(xs));
        memcpy(xs.region, st->xsave, CPU_XSAVE_AREA_SIZE);
        if (ioctl(fd, KVM_SET_XSAVE, &xs) < 0)
            return kvm_ioctl_error(vcpu, "KVM_SET_XSAVE");
        return VINF_SUCCESS;
    }
    struct kvm_fpu f;
    fpu_from_fxsave(&f, st->xsave);
    if (ioctl(fd, KVM_SET_FPU, &f) < 0)
        return kvm_ioctl_error(vcpu, "KVM_SET_FPU");
    return VINF_SUCCESS;
}
