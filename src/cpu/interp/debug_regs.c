/*
 * MOV to/from the debug registers (0F 21 / 0F 23).
 *
 * The registers are kept with their architectural fixed bits so that the
 * guest reads back what a CPU would return.  The breakpoints they program
 * fire through debug_trap.c.
 */
#include "handlers.h"

/* DR6: bits 4-11 and 16-31 read as 1, bit 12 as 0 (no RTM, no bus-lock
 * detection); B0-B3, BD, BS and BT are writable. */
#define DR6_FIXED1   UINT64_C(0xffff0ff0)
#define DR6_WRITABLE UINT64_C(0x0000e00f)
#define DR6_BD       UINT64_C(0x2000)
/* DR7: bit 10 reads as 1; bits 11, 12, 14 and 15 read as 0 (no RTM, no ICE). */
#define DR7_FIXED1   UINT64_C(0x400)
#define DR7_WRITABLE UINT64_C(0xffff23ff)
#define DR7_GD       UINT64_C(0x2000)

/* Reads DRn (n already mapped from DR4/DR5 to DR6/DR7). */
static uint64_t dr_get(const struct cpu_state *st, unsigned n)
{
    if (n < 4)
        return st->dr[n];
    return n == 6 ? st->dr6 : st->dr7;
}

static int dr_set(struct interp_cpu *cpu, unsigned n, uint64_t v)
{
    struct cpu_state *st = cpu->st;
    if (n < 4) {
        st->dr[n] = v;
        tlb_flush(cpu);                         /* pages with data breakpoints stay uncached */
        return X_END;
    }
    if (v >> 32)                                /* 64-bit mode: reserved high half */
        return raise_gp(cpu, 0);
    if (n == 6)
        st->dr6 = (v & DR6_WRITABLE) | DR6_FIXED1;
    else
        st->dr7 = (v & DR7_WRITABLE) | DR7_FIXED1;
    tlb_flush(cpu);
    return X_END;                               /* the loop checks breakpoints from the next one */
}

/*
 * ModRM.reg names the debug register (REX.R, i.e. DR8-15, is #UD), ModRM.rm
 * the general register; the mod field is ignored (the decoder treats the
 * operand as a register).  The operand is 64 bits in 64-bit mode and 32
 * bits elsewhere, whatever the prefixes.  Checks in the order KVM's
 * emulator applies them: CPL (#GP, also in virtual-8086 mode), DR4/DR5 with
 * CR4.DE (#UD), DR7.GD (#DB with DR6.BD set and GD cleared for the handler),
 * then the reserved high half of DR6/DR7 (#GP).
 */
int op_mov_dr(struct interp_cpu *cpu, const struct insn *in)
{
    struct cpu_state *st = cpu->st;
    unsigned n = in->reg;
    if (n > 7)
        return raise_ud(cpu);
    if (cpu->cpl)
        return raise_gp(cpu, 0);
    if (n == 4 || n == 5) {
        if (st->cr4 & CR4_DE)
            return raise_ud(cpu);
        n += 2;                                 /* aliases of DR6/DR7 */
    }
    if (st->dr7 & DR7_GD) {
        st->dr6 |= DR6_BD;
        st->dr7 &= ~DR7_GD;
        return raise_exc(cpu, EXC_DB, false, 0);
    }
    unsigned size = cpu->long64 ? 8 : 4;
    if (in->opc == 0x123)
        return dr_set(cpu, n, cpu->gpr[in->rm] & size_mask(size));
    set_reg(cpu, in->rm, size, dr_get(st, n) & size_mask(size));
    return X_NEXT;
}
