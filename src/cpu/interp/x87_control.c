/*
 * The x87 escape opcodes D8-DF: #NM, the pending-exception check (#MF) of
 * the waiting instructions, and the control instructions FNINIT, FNCLEX,
 * FLDCW, FNSTCW, FNSTSW (memory and AX), FNOP, FENI/FDISI/FSETPM (no-ops
 * since the 387) and FWAIT.  The environment instructions are in
 * x87_env.c, everything that computes in x87_exec.c.  Control
 * instructions leave FOP, FIP and FDP alone, as on hardware.
 *
 * With CR0.NE clear (MS-DOS compatible reporting), a waiting instruction
 * that finds an unmasked exception pending asserts FERR#, which the
 * chipset latches onto IRQ 13, and freezes until the exception is cleared
 * or the chipset asserts IGNNE# (the IRQ 13 handler writes port 0xF0);
 * interrupts are taken meanwhile.  IGNNE# drops with FERR#, when ES clears.
 * FERR# is always asserted at the waiting instruction (the deferred
 * reporting; the 486/Pentium "immediate" cases are not distinguished).
 */
#include "handlers.h"
#include "x87.h"

/* CR0.EM or CR0.TS: #NM for every x87 instruction except FWAIT. */
static int x87_avail(struct interp_cpu *cpu)
{
    if (cpu->st->cr0 & (CR0_EM | CR0_TS))
        return raise_exc(cpu, EXC_NM, false, 0);
    return X_NEXT;
}

static int x87_reg(struct interp_cpu *cpu, const struct insn *in)
{
    unsigned esc = in->opc & 7, m = 0xc0u | (in->ext << 3) | (in->rm & 7u);
    if (esc == 3 && (m == 0xe2 || m == 0xe3))                      /* they rewrite the state */
        x87_live_flush(cpu);
    if (esc == 3 && m == 0xe2)                                     /* FNCLEX (TOP kept: no rotation) */
        x87_set_fsw(cpu, x87_get(cpu, X87_FSW) & ~(FSW_EXC | FSW_B));
    else if (esc == 3 && m == 0xe3)                                /* FNINIT */
        x87_reset(cpu);
    else if (esc == 7 && m == 0xe0)                                /* FNSTSW AX */
        set_reg(cpu, GPR_RAX, 2, x87_live_fsw(cpu));
    else if (esc == 3 && (m == 0xe0 || m == 0xe1 || m == 0xe4))    /* FENI, FDISI, FSETPM */
        return X_NEXT;
    else if (esc == 1 && m == 0xd0)                                /* FNOP */
        return x87_pending(cpu);
    else
        return x87_exec(cpu, in);
    return X_NEXT;
}

static int x87_mem(struct interp_cpu *cpu, const struct insn *in)
{
    unsigned esc = in->opc & 7;
    uint64_t v = 0;
    if ((esc == 1 && in->ext >= 4 && in->ext <= 6) || (esc == 5 && (in->ext == 4 || in->ext == 6)))
        x87_live_flush(cpu);                                       /* FLDENV FLDCW FNSTENV FRSTOR FNSAVE */
    if ((esc == 1 && (in->ext == 4 || in->ext == 6)) || (esc == 5 && (in->ext == 4 || in->ext == 6)))
        return x87_env_op(cpu, in);
    if (esc == 1 && in->ext == 7)
        return mem_write(cpu, in->seg, insn_ea(cpu, in), 2, x87_get(cpu, X87_FCW));
    if (esc == 5 && in->ext == 7)
        return mem_write(cpu, in->seg, insn_ea(cpu, in), 2, x87_live_fsw(cpu));
    if (esc == 1 && in->ext == 5) {                                /* FLDCW */
        int r = x87_pending(cpu);
        if (!r)
            r = mem_read(cpu, in->seg, insn_ea(cpu, in), 2, &v);
        if (!r) {
            uint16_t fcw = (uint16_t)((v & 0x1f3f) | 0x40);        /* reserved bit 6 reads as 1 */
            x87_put(cpu, X87_FCW, fcw);
            x87_set_fsw(cpu, x87_fix_es(x87_get(cpu, X87_FSW), fcw));
        }
        return r;
    }
    return x87_exec(cpu, in);
}

/* An unmasked exception is pending and CR0.NE is clear.  Frozen, the
 * instruction stays at RIP and the vCPU halts: an interrupt (the IRQ 13
 * handler) runs and returns to it; with IF=0 it stays frozen, as the CPU
 * would.  Without a FERR# hook the pin is unconnected: proceed. */
int x87_ferr_wait(struct interp_cpu *cpu)
{
    struct cpu_state *st = cpu->st;
    if (st->x87_ignne || !cpu->io.ferr)
        return X_NEXT;
    if (!st->x87_ferr) {
        st->x87_ferr = true;
        cpu->io.ferr(cpu->io.opaque, true);
    }
    return X_FREEZE;
}

void x87_ferr_drop(struct interp_cpu *cpu)
{
    struct cpu_state *st = cpu->st;
    bool was = st->x87_ferr;
    st->x87_ferr = st->x87_ignne = false;
    if (was && cpu->io.ferr)
        cpu->io.ferr(cpu->io.opaque, false);
}

/* The escape opcodes D8-DF. */
int op_x87(struct interp_cpu *cpu, const struct insn *in)
{
    if (likely(cpu->x87_live) && !(cpu->st->cr0 & (CR0_EM | CR0_TS))) {
        int r = x87_exec_live(cpu, in);          /* no exception can be pending while live */
        if (r != X87_SLOW)
            return r;
    }
    int r = x87_avail(cpu);
    if (r)
        return r;
    return in->mod3 ? x87_reg(cpu, in) : x87_mem(cpu, in);
}

/* FWAIT (9B): #NM when CR0.MP and CR0.TS; #MF when an unmasked x87
 * exception is pending and CR0.NE selects native reporting. */
int op_fwait(struct interp_cpu *cpu, const struct insn *in)
{
    (void)in;
    if ((cpu->st->cr0 & (CR0_MP | CR0_TS)) == (CR0_MP | CR0_TS))
        return raise_exc(cpu, EXC_NM, false, 0);
    return x87_pending(cpu);
}
