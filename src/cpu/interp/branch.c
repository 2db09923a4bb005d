/*
 * Near and far control transfers: Jcc, JMP, CALL, RET, LOOPcc, JrCXZ.
 * Targets are checked against the CS limit (or for canonical form in
 * 64-bit mode) before anything changes, so a bad target faults cleanly.
 */
#include <stdio.h>

#include "interp_internal.h"

int far_through_gate(struct interp_cpu *cpu, const struct insn *in, uint16_t sel, uint64_t d, bool call);
int retf_outer(struct interp_cpu *cpu, const struct insn *in, uint64_t off, uint16_t cs);

static inline bool canonical(uint64_t a)
{
    return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

/* Sets next_rip to a near target after the architectural checks. */
static inline int branch_to(struct interp_cpu *cpu, const struct insn *in, uint64_t target)
{
    if (cpu->long64) {
        if (unlikely(!canonical(target)))
            return raise_gp(cpu, 0);
    } else {
        target &= in->osz == 2 ? 0xffff : 0xffffffff;
        if (unlikely(target > cpu->st->seg[SEG_CS].limit))
            return raise_gp(cpu, 0);
    }
    set_next_rip(cpu, target);
    return X_NEXT;
}

/* Jcc rel8/rel16/rel32 (70-7F, 0F 80-8F). */
int op_jcc(struct interp_cpu *cpu, const struct insn *in)
{
    if (!cond_eval(cpu, in->opc & 15))
        return X_NEXT;
    return branch_to(cpu, in, insn_next_rip(cpu, in) + in->imm);
}

/* JMP rel (E9 EB). */
int op_jmp_rel(struct interp_cpu *cpu, const struct insn *in)
{
    return branch_to(cpu, in, insn_next_rip(cpu, in) + in->imm);
}

/* CALL rel (E8). */
int op_call_rel(struct interp_cpu *cpu, const struct insn *in)
{
    uint64_t ret = insn_next_rip(cpu, in);
    int r = branch_to(cpu, in, ret + in->imm);
    if (r)
        return r;
    if ((r = stack_push(cpu, in->osz, ret)))
        set_next_rip(cpu, ret);
    return r;
}

/* CALL/JMP near indirect (FF /2 /4). */
int op_calljmp_indirect(struct interp_cpu *cpu, const struct insn *in)
{
    uint64_t target, ret = insn_next_rip(cpu, in);
    int r = op_rm_get(cpu, in, in->osz, &target, false);
    if (r || (r = branch_to(cpu, in, target)))
        return r;
    if (in->ext == 2 && (r = stack_push(cpu, in->osz, ret)))
        set_next_rip(cpu, ret);
    return r;
}

/* RET / RET imm16 (C3 C2). */
int op_ret(struct interp_cpu *cpu, const struct insn *in)
{
    uint64_t target;
    int r = stack_peek(cpu, in->osz, 0, &target);
    if (r || (r = branch_to(cpu, in, target)))
        return r;
    stack_adjust(cpu, in->osz + (in->opc == 0xc2 ? (in->imm & 0xffff) : 0));
    return X_NEXT;
}

/* LOOP/LOOPE/LOOPNE/JrCXZ (E0-E3): the counter has the address size. */
int op_loop(struct interp_cpu *cpu, const struct insn *in)
{
    uint64_t m = size_mask(in->asz), c = cpu->gpr[GPR_RCX] & m;
    bool take;
    if (in->opc == 0xe3) {
        take = c == 0;
    } else {
        c = (c - 1) & m;
        set_reg(cpu, GPR_RCX, in->asz, c);
        take = c != 0;
        if (in->opc == 0xe1)
            take = take && cond_eval(cpu, 4);       /* ZF */
        else if (in->opc == 0xe0)
            take = take && cond_eval(cpu, 5);       /* !ZF */
    }
    return take ? branch_to(cpu, in, insn_next_rip(cpu, in) + in->imm) : X_NEXT;
}

/* Far JMP/CALL to sel:off (EA 9A direct, FF /3 /5 indirect). */
static int far_transfer(struct interp_cpu *cpu, const struct insn *in, uint16_t sel, uint64_t off, bool call)
{
    uint16_t old_cs = cpu->st->seg[SEG_CS].selector;
    uint64_t ret = insn_next_rip(cpu, in), old_sp = cpu->gpr[GPR_RSP];
    int r;
    if (cpu->protected_mode && (sel & 0xfffc)) {
        uint64_t d;
        if ((r = desc_read(cpu, sel, &d, EXC_GP)))
            return r;
        if (!((d >> 44) & 1))                       /* a system descriptor: gate or TSS */
            return far_through_gate(cpu, in, sel, d, call);
    }
    if (call) {
        if ((r = stack_push(cpu, in->osz, old_cs)) || (r = stack_push(cpu, in->osz, ret))) {
            cpu->gpr[GPR_RSP] = old_sp;
            return r;
        }
    }
    if ((r = load_cs_far(cpu, sel, off & size_mask(in->osz))))
        cpu->gpr[GPR_RSP] = old_sp;
    return r ? r : X_END;
}

int op_far_direct(struct interp_cpu *cpu, const struct insn *in)
{
    return far_transfer(cpu, in, in->imm2, in->imm, in->opc == 0x9a);
}

int op_far_indirect(struct interp_cpu *cpu, const struct insn *in)
{
    if (in->mod3)
        return raise_ud(cpu);
    uint64_t ea = insn_ea(cpu, in), off, sel;
    int r;
    if ((r = mem_read(cpu, in->seg, ea, in->osz, &off)) ||
        (r = mem_read(cpu, in->seg, ea + in->osz, 2, &sel)))
        return r;
    return far_transfer(cpu, in, (uint16_t)sel, off, in->ext == 3);
}

/* RETF / RETF imm16 (CB CA); other privilege levels in call_gate.c. */
int op_retf(struct interp_cpu *cpu, const struct insn *in)
{
    uint64_t off, sel, old_sp = cpu->gpr[GPR_RSP];
    int r;
    if ((r = stack_peek(cpu, in->osz, 0, &off)) || (r = stack_peek(cpu, in->osz, in->osz, &sel)))
        return r;
    if (cpu->protected_mode && (sel & 3) != cpu->cpl)
        return retf_outer(cpu, in, off, (uint16_t)sel);
    if ((r = load_cs_far(cpu, (uint16_t)sel, off)))
        return r;
    cpu->gpr[GPR_RSP] = old_sp;
    stack_adjust(cpu, 2 * (int64_t)in->osz + (int64_t)(in->opc == 0xca ? (in->imm & 0xffff) : 0));
    return X_END;
}
