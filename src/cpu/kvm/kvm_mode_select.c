/*
 * Per-mode engine choice (/KVM/InterpretUnpagedModes).
 *
 * Without vmx/svm (kvm_pvm), KVM runs real mode and unpaged protected mode
 * in its in-kernel instruction emulator at well under 1 MIPS; Petrel's
 * interpreter is much faster there.  So before each KVM_RUN the run loop
 * asks kvm_mode_select_interp(); while the guest is unpaged the interpreter
 * runs it, and KVM takes over once CR0.PG is set.
 *
 * KVM's in-kernel irqchip and PIT stay in charge: their ports never reach
 * Petrel's I/O bus and their interrupts are delivered only inside KVM_RUN.
 * So with the irqchip, an unpaged guest with RFLAGS.IF set, or about to do
 * port I/O to the PIC/PIT, is left to KVM.
 */
#include "kvm_fallback.h"

#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include <vmm/cfgm.h>
#include <vmm/err.h>

/* Built once the run-loop hook (.fallback-hook.patch) adds the fields. */
#ifdef KVM_VCPU_HAS_FALLBACK

/* While paged, look at the mode again every this many run-loop rounds
 * (guests rarely turn paging off; a reset goes through set_state). */
#define MODE_RECHECK_ROUNDS 256u

bool kvm_mode_host_emulates_unpaged(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return false;                   /* unknown host: assume hardware virtualization */
    char line[4096];
    bool flags_seen = false, hw = false;
    while (!hw && fgets(line, sizeof(line), f)) {
        if (strncmp(line, "flags", 5) != 0)
            continue;
        flags_seen = true;
        hw = strstr(line, " vmx") || strstr(line, " svm");
    }
    fclose(f);
    return flags_seen && !hw;
}

int kvm_mode_select_init(PVMCPU vcpu, struct kvm_vcpu *kv)
{
    PVM vm = vcpu->pVM;
    bool want = false;
    int rc = CFGMR3QueryBoolDef(CFGMR3GetChild(CFGMR3GetRoot(vm), "KVM"), "InterpretUnpagedModes", &want,
                                kvm_mode_host_emulates_unpaged());
    if (RT_FAILURE(rc))
        return VMSetError(vm, rc, RT_SRC_POS, "Configuration error: /KVM/InterpretUnpagedModes must be 0 or 1");
    kv->interpret_unpaged = want;
    kv->maybe_unpaged = true;           /* a vCPU starts in real mode */
    kv->runs_since_check = 0;
    return VINF_SUCCESS;
}

bool kvm_mode_interp_eligible(const struct cpu_state *st, bool irqchip)
{
    if (st->cr0 & CR0_PG)
        return false;
    if (st->run_state != CPU_RUNNABLE)
        return false;
    const struct cpu_events *e = &st->events;
    if (e->exception_pending || e->interrupt_pending || e->nmi_pending)
        return false;                   /* KVM finishes delivering what it started */
    return !(irqchip && (st->rflags & RFLAGS_IF));
}

bool kvm_mode_select_interp(PVMCPU vcpu, struct kvm_vcpu *kv)
{
    if (!kv->interpret_unpaged)
        return false;
    if (!kv->maybe_unpaged && ++kv->runs_since_check < MODE_RECHECK_ROUNDS)
        return false;
    kv->runs_since_check = 0;
    struct kvm_sregs s;
    if (ioctl(kv->fd, KVM_GET_SREGS, &s) < 0)
        return false;                   /* KVM_RUN will report whatever is wrong */
    kv->maybe_unpaged = !(s.cr0 & CR0_PG);
    if (!kv->maybe_unpaged)
        return false;
    struct kvm_vm *kvm = kvm_vm_of(vcpu->pVM);
    if (!kvm->has_irqchip)
        return true;
    /* KVM_GET_MP_STATE first accepts a pending INIT/SIPI: the registers read
     * after it belong to the run state read with them. */
    struct kvm_mp_state mp;
    struct kvm_regs r;
    if (ioctl(kv->fd, KVM_GET_MP_STATE, &mp) < 0 || mp.mp_state != KVM_MP_STATE_RUNNABLE)
        return false;
    return ioctl(kv->fd, KVM_GET_REGS, &r) == 0 && !(r.rflags & RFLAGS_IF);
}

/* Ports of KVM's in-kernel PIC pair, ELCR, PIT and speaker port. */
static bool kernel_port(uint32_t port, unsigned size)
{
    static const struct { uint16_t first, last; } r[] = {
        { 0x20, 0x21 }, { 0x40, 0x43 }, { 0x61, 0x61 }, { 0xa0, 0xa1 }, { 0x4d0, 0x4d1 },
    };
    for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
        if (port <= r[i].last && port + size - 1 >= r[i].first)
            return true;
    return false;
}

static bool legacy_prefix(uint8_t b)
{
    return b == 0x66 || b == 0x67 || b == 0xf0 || b == 0xf2 || b == 0xf3 || b == 0x26 || b == 0x2e
        || b == 0x36 || b == 0x3e || b == 0x64 || b == 0x65;
}

/* True if the instruction at st's CS:RIP must run in KVM: CPUID (the
 * interpreter has its own CPU model, not the vCPU's), and port I/O to
 * KVM's in-kernel PIC/PIT.  Unreadable bytes count as true. */
bool kvm_mode_next_is_kvms(PVM vm, const struct cpu_state *st, bool irqchip)
{
    uint64_t lin = (st->seg[SEG_CS].base + st->rip) & 0xffffffffu;   /* unpaged: linear = physical */
    const uint8_t *p = guest_ram_ptr(&vm->ram, lin, 16);
    if (!p)
        return true;
    unsigned i = 0;
    while (i < 15 && legacy_prefix(p[i]))
        i++;
    uint8_t op = p[i];
    if (op == 0x0f && p[i + 1] == 0xa2)
        return true;
    if (!irqchip)
        return false;
    unsigned size = (op & 1) ? 4 : 1;   /* byte forms are even */
    uint32_t dx = (uint32_t)(st->gpr[GPR_RDX] & 0xffff);
    if (op >= 0xe4 && op <= 0xe7)
        return kernel_port(p[i + 1], size);
    if ((op >= 0xec && op <= 0xef) || (op >= 0x6c && op <= 0x6f))
        return kernel_port(dx, size);
    return false;
}

#endif /* KVM_VCPU_HAS_FALLBACK */
