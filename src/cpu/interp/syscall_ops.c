/*
 * SYSCALL/SYSRET and SYSENTER/SYSEXIT: fixed flat segments from the STAR
 * or IA32_SYSENTER_CS selectors.  Petrel's CPU offers both pairs in every
 * protected mode (CPUID 80000001.EDX[11] SYSCALL, 1.EDX[11] SEP).
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

/* SYSCALL (0F 05), AMD-style in every protected mode with EFER.SCE: from
 * 64-bit mode to LSTAR, from compatibility mode to CSTAR (both enter
 * 64-bit code), from legacy protected mode to STAR[31:0] in 32-bit code. */
int op_syscall(struct interp_cpu *cpu, const struct insn *in)
{
    (void)in;
    struct cpu_state *st = cpu->st;
    if (!(st->efer & EFER_SCE) || !cpu->protected_mode)
        return raise_ud(cpu);
    uint16_t sel = (uint16_t)(st->msr.star >> 32) & 0xfffc;
    uint64_t fl = flags_get(cpu) & ~(uint64_t)RFLAGS_RF;
    cpu->lf.op = LF_NONE;
    if (st->efer & EFER_LMA) {
        cpu->gpr[GPR_RCX] = insn_next_rip(cpu, in);
        cpu->gpr[GPR_R11] = fl;
        st->rflags = (fl & ~st->msr.sfmask) | RFLAGS_FIXED;
        flat_seg(&st->seg[SEG_CS], sel, CODE64_ATTR, 0);
        set_next_rip(cpu, cpu->long64 ? st->msr.lstar : st->msr.cstar);
    } else {
        set_reg(cpu, GPR_RCX, 4, insn_next_rip(cpu, in));
        st->rflags = (fl & ~(uint64_t)(RFLAGS_VM | RFLAGS_IF)) | RFLAGS_FIXED;
        flat_seg(&st->seg[SEG_CS], sel, CODE32_ATTR, 0);
        set_next_rip(cpu, (uint32_t)st->msr.star);
    }
    flat_seg(&st->seg[SEG_SS], (uint16_t)(sel + 8), DATA_ATTR, 0);
    mode_refresh(cpu);
    return X_END;
}

/* SYSRET (0F 07): in long mode REX.W returns to 64-bit code, otherwise to
 * compatibility mode (RFLAGS from R11); in legacy mode to 32-bit code with
 * IF set. */
int op_sysret(struct interp_cpu *cpu, const struct insn *in)
{
    struct cpu_state *st = cpu->st;
    if (!(st->efer & EFER_SCE) || !cpu->protected_mode)
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
    if (st->efer & EFER_LMA) {
        cpu->lf.op = LF_NONE;
        st->rflags = (cpu->gpr[GPR_R11] & 0x3c7fd7) | RFLAGS_FIXED;
    } else {
        flags_materialize(cpu);
        st->rflags |= RFLAGS_IF;
    }
    set_next_rip(cpu, in->osz == 8 ? target : (uint32_t)target);
    mode_refresh(cpu);
    return X_END;
}

/* SYSENTER (0F 34): to CPL 0 at IA32_SYSENTER_CS/EIP/ESP, 64-bit code when
 * long mode is active, 32-bit code otherwise; VM, IF and RF cleared. */
int op_sysenter(struct interp_cpu *cpu, const struct insn *in)
{
    (void)in;
    struct cpu_state *st = cpu->st;
    uint16_t sel = (uint16_t)st->msr.sysenter_cs & 0xfffc;
    if (!(st->cr0 & CR0_PE) || sel == 0)
        return raise_gp(cpu, 0);
    bool lma = st->efer & EFER_LMA;
    flags_materialize(cpu);
    st->rflags &= ~(uint64_t)(RFLAGS_VM | RFLAGS_IF | RFLAGS_RF);
    flat_seg(&st->seg[SEG_CS], sel, lma ? CODE64_ATTR : CODE32_ATTR, 0);
    flat_seg(&st->seg[SEG_SS], (uint16_t)(sel + 8), DATA_ATTR, 0);
    cpu->gpr[GPR_RSP] = lma ? st->msr.sysenter_esp : (uint32_t)st->msr.sysenter_esp;
    set_next_rip(cpu, lma ? st->msr.sysenter_eip : (uint32_t)st->msr.sysenter_eip);
    mode_refresh(cpu);
    return X_END;
}

/* SYSEXIT (0F 35): to CPL 3 at RDX with the stack at RCX; REX.W selects
 * 64-bit code (SYSENTER_CS + 32/40), otherwise 32-bit code (+ 16/24). */
int op_sysexit(struct interp_cpu *cpu, const struct insn *in)
{
    struct cpu_state *st = cpu->st;
    uint16_t sel = (uint16_t)st->msr.sysenter_cs & 0xfffc;
    if (!cpu->protected_mode || sel == 0 || cpu->cpl)
        return raise_gp(cpu, 0);
    bool to64 = in->osz == 8;
    uint64_t rip = cpu->gpr[GPR_RDX], rsp = cpu->gpr[GPR_RCX];
    if (to64 && ((uint64_t)((int64_t)(rip << 16) >> 16) != rip || (uint64_t)((int64_t)(rsp << 16) >> 16) != rsp))
        return raise_gp(cpu, 0);
    flat_seg(&st->seg[SEG_CS], (uint16_t)((sel + (to64 ? 32 : 16)) | 3), to64 ? CODE64_ATTR : CODE32_ATTR, 3);
    flat_seg(&st->seg[SEG_SS], (uint16_t)((sel + (to64 ? 40 : 24)) | 3), DATA_ATTR, 3);
    cpu->gpr[GPR_RSP] = to64 ? rsp : (uint32_t)rsp;
    set_next_rip(cpu, to64 ? rip : (uint32_t)rip);
    mode_refresh(cpu);
    return X_END;
}
