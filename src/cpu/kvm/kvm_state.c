/*
 * Converting between struct cpu_state and KVM's register ioctls.
 * Order on set: CPUID is already set (vcpu_init), then SREGS (the mode),
 * REGS, XCR0 before XSAVE (XSAVE is checked against XCR0), MSRs, debug
 * registers and finally the pending events.
 */
#include "kvm_internal.h"

#include <string.h>
#include <sys/ioctl.h>

#include <vmm/err.h>

static void seg_from_kvm(struct seg_reg *s, const struct kvm_segment *k)
{
    s->selector = k->selector;
    s->base = k->base;
    s->limit = k->limit;
    s->attr = (k->type & SEG_ATTR_TYPE_MASK) | (k->s ? SEG_ATTR_S : 0)
            | ((uint32_t)(k->dpl & 3) << SEG_ATTR_DPL_SHIFT) | (k->present ? SEG_ATTR_P : 0)
            | (k->avl ? SEG_ATTR_AVL : 0) | (k->l ? SEG_ATTR_L : 0) | (k->db ? SEG_ATTR_DB : 0)
            | (k->g ? SEG_ATTR_G : 0) | (k->unusable ? SEG_ATTR_UNUSABLE : 0);
}

static void seg_to_kvm(struct kvm_segment *k, const struct seg_reg *s)
{
    memset(k, 0, sizeof(*k));
    k->selector = s->selector;
    k->base = s->base;
    k->limit = s->limit;
    k->type = s->attr & SEG_ATTR_TYPE_MASK;
    k->s = !!(s->attr & SEG_ATTR_S);
    k->dpl = (s->attr & SEG_ATTR_DPL_MASK) >> SEG_ATTR_DPL_SHIFT;
    k->present = !!(s->attr & SEG_ATTR_P);
    k->avl = !!(s->attr & SEG_ATTR_AVL);
    k->l = !!(s->attr & SEG_ATTR_L);
    k->db = !!(s->attr & SEG_ATTR_DB);
    k->g = !!(s->attr & SEG_ATTR_G);
    k->unusable = !!(s->attr & SEG_ATTR_UNUSABLE);
}

/* KVM's sregs order differs from the ModRM order of enum seg_index. */
static struct kvm_segment *sregs_seg(struct kvm_sregs *s, int i)
{
    struct kvm_segment *const map[SEG_COUNT] = { &s->es, &s->cs, &s->ss, &s->ds, &s->fs, &s->gs, &s->ldt, &s->tr };
    return map[i];
}

static void regs_from_kvm(struct cpu_state *st, const struct kvm_regs *r)
{
    const uint64_t g[GPR_COUNT] = { r->rax, r->rcx, r->rdx, r->rbx, r->rsp, r->rbp, r->rsi, r->rdi,
                                    r->r8, r->r9, r->r10, r->r11, r->r12, r->r13, r->r14, r->r15 };
    memcpy(st->gpr, g, sizeof(g));
    st->rip = r->rip;
    st->rflags = r->rflags;
}

static void regs_to_kvm(struct kvm_regs *r, const struct cpu_state *st)
{
    const uint64_t *g = st->gpr;
    *r = (struct kvm_regs){
        .rax = g[GPR_RAX], .rcx = g[GPR_RCX], .rdx = g[GPR_RDX], .rbx = g[GPR_RBX],
        .rsp = g[GPR_RSP], .rbp = g[GPR_RBP], .rsi = g[GPR_RSI], .rdi = g[GPR_RDI],
        .r8 = g[GPR_R8], .r9 = g[GPR_R9], .r10 = g[GPR_R10], .r11 = g[GPR_R11],
        .r12 = g[GPR_R12], .r13 = g[GPR_R13], .r14 = g[GPR_R14], .r15 = g[GPR_R15],
        .rip = st->rip, .rflags = st->rflags | RFLAGS_FIXED,
    };
}

static void sregs_from_kvm(struct cpu_state *st, struct kvm_sregs *s)
{
    for (int i = 0; i < SEG_COUNT; i++)
        seg_from_kvm(&st->seg[i], sregs_seg(s, i));
    st->gdtr = (struct table_reg){ .base = s->gdt.base, .limit = s->gdt.limit };
    st->idtr = (struct table_reg){ .base = s->idt.base, .limit = s->idt.limit };
    st->cr0 = s->cr0; st->cr2 = s->cr2; st->cr3 = s->cr3; st->cr4 = s->cr4; st->cr8 = s->cr8;
    st->efer = s->efer;
}

static void sregs_to_kvm(struct kvm_sregs *s, const struct cpu_state *st)
{
    memset(s, 0, sizeof(*s));           /* interrupt_bitmap empty: events carry it */
    for (int i = 0; i < SEG_COUNT; i++)
        seg_to_kvm(sregs_seg(s, i), &st->seg[i]);
    s->gdt = (struct kvm_dtable){ .base = st->gdtr.base, .limit = st->gdtr.limit };
    s->idt = (struct kvm_dtable){ .base = st->idtr.base, .limit = st->idtr.limit };
    s->cr0 = st->cr0; s->cr2 = st->cr2; s->cr3 = st->cr3; s->cr4 = st->cr4; s->cr8 = st->cr8;
    s->efer = st->efer;
    s->apic_base = st->msr.apic_base;
}

static void events_from_kvm(struct cpu_events *e, const struct kvm_vcpu_events *k)
{
    memset(e, 0, sizeof(*e));
    e->exception_pending = k->exception.injected || k->exception.pending;
    e->exception_vector = k->exception.nr;
    e->exception_has_error_code = k->exception.has_error_code;
    e->exception_error_code = k->exception.error_code;
    e->interrupt_pending = k->interrupt.injected;
    e->interrupt_vector = k->interrupt.nr;
    e->nmi_pending = k->nmi.injected || k->nmi.pending;
    e->nmi_masked = k->nmi.masked;
    e->interrupt_shadow = k->interrupt.shadow != 0;
}

/* The STI/MOV SS distinction of the shadow is not kept: STI is used. */
static void events_to_kvm(struct kvm_vcpu_events *k, const struct cpu_events *e)
{
    memset(k, 0, sizeof(*k));
    k->exception.injected = e->exception_pending;
    k->exception.nr = e->exception_vector;
    k->exception.has_error_code = e->exception_has_error_code;
    k->exception.error_code = e->exception_error_code;
    k->interrupt.injected = e->interrupt_pending;
    k->interrupt.nr = e->interrupt_vector;
    k->interrupt.shadow = e->interrupt_shadow ? KVM_X86_SHADOW_INT_STI : 0;
    k->nmi.pending = e->nmi_pending;
    k->nmi.masked = e->nmi_masked;
    k->flags = KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_NMI_PENDING;
}

static int debugregs_get(PVMCPU vcpu, struct kvm_vm *kvm, int fd, struct cpu_state *st)
{
    struct kvm_debugregs d;
    if (!kvm->has_debugregs)
        return VINF_SUCCESS;
    if (ioctl(fd, KVM_GET_DEBUGREGS, &d) < 0)
        return kvm_ioctl_error(vcpu, "KVM_GET_DEBUGREGS");
    memcpy(st->dr, d.db, sizeof(st->dr));
    st->dr6 = d.dr6;
    st->dr7 = d.dr7;
    return VINF_SUCCESS;
}

static int debugregs_set(PVMCPU vcpu, struct kvm_vm *kvm, int fd, const struct cpu_state *st)
{
    struct kvm_debugregs d;
    if (!kvm->has_debugregs)
        return VINF_SUCCESS;
    memset(&d, 0, sizeof(d));
    memcpy(d.db, st->dr, sizeof(d.db));
    d.dr6 = st->dr6;
    d.dr7 = st->dr7;
    if (ioctl(fd, KVM_SET_DEBUGREGS, &d) < 0)
        return kvm_ioctl_error(vcpu, "KVM_SET_DEBUGREGS");
    return VINF_SUCCESS;
}

/*
 * HLT and wait-for-SIPI: with an in-kernel irqchip KVM keeps them (MP state;
 * an AP KVM created is UNINITIALIZED, i.e. waits for INIT then SIPI);
 * without one KVM only accepts RUNNABLE, so the engine keeps them itself:
 * run() resumes after a HLT and does not enter the guest while parked.
 */
static enum cpu_run_state run_state_from_kvm(uint32_t mp)
{
    switch (mp) {
    case KVM_MP_STATE_HALTED:
        return CPU_HALTED;
    case KVM_MP_STATE_UNINITIALIZED:
    case KVM_MP_STATE_INIT_RECEIVED:
    case KVM_MP_STATE_SIPI_RECEIVED:
        return CPU_WAIT_FOR_SIPI;
    default:
        return CPU_RUNNABLE;
    }
}

static int run_state_get(PVMCPU vcpu, struct kvm_vm *kvm, struct kvm_vcpu *kv, struct cpu_state *st)
{
    st->run_state = kv->parked ? CPU_WAIT_FOR_SIPI : kv->halted ? CPU_HALTED : CPU_RUNNABLE;
    st->sipi_vector = kv->sipi_vector;
    if (!kvm->has_irqchip)
        return VINF_SUCCESS;
    struct kvm_mp_state mp;
    if (ioctl(kv->fd, KVM_GET_MP_STATE, &mp) < 0)
        return kvm_ioctl_error(vcpu, "KVM_GET_MP_STATE");
    st->run_state = run_state_from_kvm(mp.mp_state);
    return VINF_SUCCESS;
}

/* A reset state resets the in-kernel LAPIC too, and the BSP's the VM's chips. */
static int lapic_reset(PVMCPU vcpu, struct kvm_vm *kvm, struct kvm_vcpu *kv, const struct cpu_state *st)
{
    if (!kvm->has_irqchip || !st->lapic_reset)
        return VINF_SUCCESS;
    int rc = kvm_irqchip_reset_lapic(vcpu, kv);
    if (RT_SUCCESS(rc) && vcpu->idCpu == 0)
        rc = kvm_irqchip_reset_vm(vcpu, kvm);
    return rc;
}

static int run_state_set(PVMCPU vcpu, struct kvm_vm *kvm, struct kvm_vcpu *kv, const struct cpu_state *st)
{
    kv->parked = st->run_state == CPU_WAIT_FOR_SIPI && !kvm->has_irqchip;
    kv->halted = st->run_state == CPU_HALTED && !kvm->has_irqchip;
    kv->sipi_vector = st->sipi_vector;
    if (!kvm->has_irqchip)
        return VINF_SUCCESS;
    struct kvm_mp_state mp = {
        .mp_state = st->run_state == CPU_HALTED ? KVM_MP_STATE_HALTED
                  : st->run_state == CPU_WAIT_FOR_SIPI ? KVM_MP_STATE_INIT_RECEIVED : KVM_MP_STATE_RUNNABLE,
    };
    if (ioctl(kv->fd, KVM_SET_MP_STATE, &mp) < 0)
        return kvm_ioctl_error(vcpu, "KVM_SET_MP_STATE");
    return VINF_SUCCESS;
}

int kvm_get_state(PVMCPU vcpu, struct cpu_state *st)
{
    struct kvm_vcpu *kv = kvm_vcpu_of(vcpu);
    struct kvm_vm *kvm = kvm_vm_of(vcpu->pVM);
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    struct kvm_vcpu_events ev;
    if (!kv)
        return VERR_INVALID_STATE;
    memset(st, 0, sizeof(*st));
    if (ioctl(kv->fd, KVM_GET_REGS, &regs) < 0)
        return kvm_ioctl_error(vcpu, "KVM_GET_REGS");
    regs_from_kvm(st, &regs);
    if (ioctl(kv->fd, KVM_GET_SREGS, &sregs) < 0)
        return kvm_ioctl_error(vcpu, "KVM_GET_SREGS");
    sregs_from_kvm(st, &sregs);
    int rc = kvm_get_fpu_state(vcpu, kvm, kv->fd, st);
    if (RT_SUCCESS(rc))
        rc = kvm_get_msrs(vcpu, kv->fd, &st->msr);
    if (RT_SUCCESS(rc))
        rc = debugregs_get(vcpu, kvm, kv->fd, st);
    if (RT_FAILURE(rc))
        return rc;
    if (ioctl(kv->fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
        return kvm_ioctl_error(vcpu, "KVM_GET_VCPU_EVENTS");
    events_from_kvm(&st->events, &ev);
    return run_state_get(vcpu, kvm, kv, st);
}

int kvm_set_state(PVMCPU vcpu, const struct cpu_state *st)
{
    struct kvm_vcpu *kv = kvm_vcpu_of(vcpu);
    struct kvm_vm *kvm = kvm_vm_of(vcpu->pVM);
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    struct kvm_vcpu_events ev;
    if (!kv)
        return VERR_INVALID_STATE;
    sregs_to_kvm(&sregs, st);
    if (ioctl(kv->fd, KVM_SET_SREGS, &sregs) < 0)
        return kvm_ioctl_error(vcpu, "KVM_SET_SREGS");
    regs_to_kvm(&regs, st);
    if (ioctl(kv->fd, KVM_SET_REGS, &regs) < 0)
        return kvm_ioctl_error(vcpu, "KVM_SET_REGS");
    int rc = lapic_reset(vcpu, kvm, kv, st);   /* after SREGS: the APIC base is set */
    if (RT_SUCCESS(rc))
        rc = kvm_set_fpu_state(vcpu, kvm, kv->fd, st);
    if (RT_SUCCESS(rc))
        rc = kvm_set_msrs(vcpu, kv->fd, &st->msr);
    if (RT_SUCCESS(rc))
        rc = debugregs_set(vcpu, kvm, kv->fd, st);
    if (RT_FAILURE(rc))
        return rc;
    events_to_kvm(&ev, &st->events);
    if (ioctl(kv->fd, KVM_SET_VCPU_EVENTS, &ev) < 0)
        return kvm_ioctl_error(vcpu, "KVM_SET_VCPU_EVENTS");
    return run_state_set(vcpu, kvm, kv, st);
}
