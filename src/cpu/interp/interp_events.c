/*
 * Events the engine's local APIC hands to a vCPU besides ordinary
 * interrupts (interp_inject_interrupt, execute.c): NMIs, and the guest
 * TSC an AP must share with the BSP when INIT/SIPI starts it.
 */
#include "interp_internal.h"

uint64_t guest_tsc(const struct interp_cpu *cpu);

bool interp_inject_nmi(struct interp_cpu *cpu)
{
    struct cpu_state *st = cpu->st;
    if (st->events.nmi_masked)
        return false;
    int r = deliver_event(cpu, EXC_NMI, EV_EXT_INT, false, 0, st->rip);
    st->events.nmi_masked = true;
    st->run_state = CPU_RUNNABLE;
    st->rflags = flags_get(cpu) | RFLAGS_FIXED;
    cpu->lf.op = LF_NONE;
    st->events.interrupt_shadow = cpu->sti_shadow;
    return r == X_DELIVERED;
}

uint64_t interp_guest_tsc(const struct interp_cpu *cpu)
{
    return guest_tsc(cpu);
}

uint64_t interp_tsc_offset(const struct interp_cpu *cpu)
{
    return cpu->tsc_offset;
}

void interp_set_tsc_offset(struct interp_cpu *cpu, uint64_t offset)
{
    cpu->tsc_offset = offset;
}
