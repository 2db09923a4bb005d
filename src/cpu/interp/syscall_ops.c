/*
 * SYSCALL/SYSRET in 64-bit mode: fixed flat segments from the STAR
 * selectors, RCX/R11 carry RIP/RFLAGS.  The compatibility-mode forms
 * (CSTAR) and SYSENTER/SYSEXIT are not implemented yet (#UD).
 */
#include "handlers.h"

#define CODE64_ATTR (0xbu | SEG_ATTR_S | SEG_ATTR_P | SEG_ATTR_L | SEG_ATTR_G)
#define CODE32_ATTR (0xbu | SEG_ATTR_S | SEG_ATTR_P | SEG_ATTR_DB | SEG_ATTR_G)
#define DATA_ATTR   (0x3u | SEG_ATTR_S | SEG_ATTR_P | SEG_ATTR_DB | SEG_ATTR_G)

static void flat_seg(struct seg_reg *s, uint16_t sel, uint32_t attr, unsigned dpl)
{
    s->selector = sel;
    s->base = 0;
    s->limit = 0xffffffff;
    s->attr = attr | (dpl << SEG_ATTR_DPL_SHIFT);
}

/* SYSCALL (0F 05). */
int op_syscall(struct interp_cpu *cpu, const struct insn *in)
{
    (void)in;
    struct cpu_state *st = cpu->st;
    if (!cpu->long64 || !(st->efer & EFER_SCE))
        return raise_ud(cpu);
    uint16_t sel = (uint16_t)(st->msr.star >> 32) & 0xfffc;
    cpu->gpr[GPR_RCX] = cpu->next_rip;
    cpu->gpr[GPR_R11] = flags_get(cpu) & ~(uint64_t)RFLAGS_RF;
    cpu->lf.op = LF_NONE;
    st->rflags = (cpu->gpr[GPR_R11] & ~st->msr.sfmask & ~(uint64_t)RFLAGS_RF) | RFLAGS_FIXED;
    flat_seg(&st->seg[SEG_CS], sel, CODE64_ATTR, 0);
    flat_seg(&st->seg[SEG_SS], (uint16_t)(sel + 8), DATA_ATTR, 0);
    cpu->next_rip = st->msr.lstar;
    mode_refresh(cpu);
    return X_END;
}

/* SYSRET (0F 07): REX.W returns to 64-bit code, otherwise to 32-bit code. */
int op_sysret(struct interp_cpu *cpu, const struct insn *in)
{
    struct cpu_state *st = cpu->st;
    if (!cpu->long64 || !(st->efer & EFER_SCE))
        return raise_ud(cpu);
    if (cpu->cpl)
        return raise_gp(cpu, 0);
    uint64_t target = cpu->gpr[GPR_RCX];
    if (in->osz == 8 && (uint64_t)((int64_t)(target << 16) >> 16) != target)
        return raise_gp(cpu, 0);
    uint16_t base = (uint16_t)(st->msr.star >> 48);
    if (in->osz == 8)
        flat_seg(&st->seg[SEG_CS], (uint16_t)((base + 16) | 3), CODE64_ATTR, 3);
    else
        flat_seg(&st->seg[SEG_CS], (uint16_t)(base | 3), CODE32_ATTR, 3);
    flat_seg(&st->seg[SEG_SS], (uint16_t)((base + 8) | 3), DATA_ATTR, 3);
    cpu->lf.op = LF_NONE;
    st->rflags = (cpu->gpr[GPR_R11] & 0x3c7fd7) | RFLAGS_FIXED;
    cpu->next_rip = in->osz == 8 ? target : (uint32_t)target;
    mode_refresh(cpu);
    return X_END;
}
