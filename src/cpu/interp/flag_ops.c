/*
 * Instructions on RFLAGS: CLC STC CMC CLD STD CLI STI, PUSHF/POPF, and the
 * privilege rules for which bits POPF/IRET may change.
 */
#include "interp_internal.h"

/* Writes the bits of `writable` from value (bit 1 stays set). */
void flags_write(struct interp_cpu *cpu, uint64_t value, uint64_t writable)
{
    uint64_t f = flags_get(cpu);
    cpu->st->rflags = (f & ~writable) | (value & writable) | RFLAGS_FIXED;
    cpu->lf.op = LF_NONE;
    tlb_ac_check(cpu);
}

/* The RFLAGS bits POPF may change at the current CPL/IOPL. */
static uint64_t popf_mask(const struct interp_cpu *cpu, unsigned size)
{
    uint64_t m = FLAGS_ARITH | RFLAGS_TF | RFLAGS_DF | RFLAGS_NT | RFLAGS_AC | RFLAGS_ID;
    unsigned iopl = (cpu->st->rflags >> 12) & 3;
    if (cpu->cpl == 0)
        m |= RFLAGS_IOPL;
    if (cpu->cpl <= iopl)
        m |= RFLAGS_IF;
    return size == 2 ? m & 0xffff : m;
}

int op_clc(struct interp_cpu *cpu, const struct insn *in) { (void)in; flags_set_arith(cpu, RFLAGS_CF, 0); return X_NEXT; }
int op_stc(struct interp_cpu *cpu, const struct insn *in) { (void)in; flags_set_arith(cpu, RFLAGS_CF, RFLAGS_CF); return X_NEXT; }

int op_cmc(struct interp_cpu *cpu, const struct insn *in)
{
    (void)in;
    flags_materialize(cpu);
    cpu->st->rflags ^= RFLAGS_CF;
    return X_NEXT;
}

int op_cld(struct interp_cpu *cpu, const struct insn *in) { (void)in; cpu->st->rflags &= ~(uint64_t)RFLAGS_DF; return X_NEXT; }
int op_std(struct interp_cpu *cpu, const struct insn *in) { (void)in; cpu->st->rflags |= RFLAGS_DF; return X_NEXT; }

static bool if_allowed(const struct interp_cpu *cpu)
{
    bool pm = (cpu->st->cr0 & CR0_PE) != 0;
    return !pm || cpu->cpl <= ((cpu->st->rflags >> 12) & 3);
}

/* CLI/STI (FA FB); where IOPL forbids them, VME/PVI may make them change
 * VIF instead (vme.c). */
int op_cli(struct interp_cpu *cpu, const struct insn *in)
{
    (void)in;
    if (!if_allowed(cpu))
        return vme_cli_sti(cpu, false);
    cpu->st->rflags &= ~(uint64_t)RFLAGS_IF;
    return X_NEXT;
}

int op_sti(struct interp_cpu *cpu, const struct insn *in)
{
    (void)in;
    if (!if_allowed(cpu)) {
        int r = vme_cli_sti(cpu, true);
        return r ? r : X_END;
    }
    if (!(cpu->st->rflags & RFLAGS_IF))
        cpu->sti_shadow = true;          /* interrupts wait one more instruction */
    cpu->st->rflags |= RFLAGS_IF;
    return X_END;
}

/* PUSHF (9C); in VM86 with IOPL < 3 it faults, unless VME and 16-bit. */
int op_pushf(struct interp_cpu *cpu, const struct insn *in)
{
    if ((cpu->st->rflags & RFLAGS_VM) && ((cpu->st->rflags >> 12) & 3) != 3) {
        if (!vme_active(cpu) || in->osz != 2)
            return raise_gp(cpu, 0);
        return stack_push(cpu, 2, vme_flags_image(cpu));
    }
    uint64_t f = flags_get(cpu) & ~(uint64_t)(RFLAGS_VM | RFLAGS_RF);
    return stack_push(cpu, in->osz, f);
}

/* POPF (9D). */
int op_popf(struct interp_cpu *cpu, const struct insn *in)
{
    uint64_t v;
    int r;
    if ((cpu->st->rflags & RFLAGS_VM) && ((cpu->st->rflags >> 12) & 3) != 3) {
        if (!vme_active(cpu) || in->osz != 2)
            return raise_gp(cpu, 0);
        if ((r = stack_peek(cpu, 2, 0, &v)) || (r = vme_flags_write(cpu, v)))
            return r;
        stack_adjust(cpu, 2);
        return X_END;
    }
    r = stack_pop(cpu, in->osz, &v);
    if (r)
        return r;
    flags_write(cpu, v, popf_mask(cpu, in->osz));
    return X_END;                        /* IF or TF may have changed */
}
