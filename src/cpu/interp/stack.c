/*
 * The stack: push/pop helpers with the stack-address size (SS.B or 64-bit
 * mode), PUSH/POP in their general forms, PUSHA/POPA, ENTER/LEAVE.
 * RSP is only updated after the memory access succeeded.
 */
#include "interp_internal.h"

unsigned stack_addr_size(const struct interp_cpu *cpu)
{
    if (cpu->long64)
        return 8;
    return (cpu->st->seg[SEG_SS].attr & SEG_ATTR_DB) ? 4 : 2;
}

/* Sets RSP to v with the stack-size width (SP updates keep RSP[63:16]). */
static void set_sp(struct interp_cpu *cpu, uint64_t v)
{
    unsigned ss = stack_addr_size(cpu);
    set_reg(cpu, GPR_RSP, ss, v);
}

void stack_adjust(struct interp_cpu *cpu, int64_t delta)
{
    set_sp(cpu, cpu->gpr[GPR_RSP] + (uint64_t)delta);
}

int stack_push(struct interp_cpu *cpu, unsigned size, uint64_t v)
{
    unsigned ss = stack_addr_size(cpu);
    uint64_t sp = (cpu->gpr[GPR_RSP] - size) & size_mask(ss);
    int r = mem_write(cpu, SEG_SS, sp, size, v);
    if (!r)
        set_sp(cpu, sp);
    return r;
}

int stack_peek(struct interp_cpu *cpu, unsigned size, unsigned offset, uint64_t *v)
{
    unsigned ss = stack_addr_size(cpu);
    uint64_t sp = (cpu->gpr[GPR_RSP] + offset) & size_mask(ss);
    return mem_read(cpu, SEG_SS, sp, size, v);
}

int stack_pop(struct interp_cpu *cpu, unsigned size, uint64_t *v)
{
    int r = stack_peek(cpu, size, 0, v);
    if (!r)
        stack_adjust(cpu, size);
    return r;
}

/* PUSH r (50-57). */
int op_push_r(struct interp_cpu *cpu, const struct insn *in)
{
    return stack_push(cpu, in->osz, cpu->gpr[in->reg]);
}

/* POP r (58-5F): RSP is incremented before the register is written, so POP
 * RSP loads the popped value. */
int op_pop_r(struct interp_cpu *cpu, const struct insn *in)
{
    uint64_t v;
    int r = stack_pop(cpu, in->osz, &v);
    if (!r)
        set_reg(cpu, in->reg, in->osz, v);
    return r;
}

/* PUSH Iz / Ib (68 6A). */
int op_push_imm(struct interp_cpu *cpu, const struct insn *in)
{
    return stack_push(cpu, in->osz, in->imm);
}

/* PUSH Ev (FF /6). */
int op_push_rm(struct interp_cpu *cpu, const struct insn *in)
{
    uint64_t v;
    int r = op_rm_get(cpu, in, in->osz, &v, false);
    return r ? r : stack_push(cpu, in->osz, v);
}

/* POP Ev (8F /0): the address is computed with the incremented RSP. */
int op_pop_rm(struct interp_cpu *cpu, const struct insn *in)
{
    uint64_t v, old = cpu->gpr[GPR_RSP];
    int r = stack_pop(cpu, in->osz, &v);
    if (r)
        return r;
    if ((r = op_rm_set(cpu, in, in->osz, v)))
        cpu->gpr[GPR_RSP] = old;
    return r;
}

/* PUSHA/PUSHAD (60). */
int op_pusha(struct interp_cpu *cpu, const struct insn *in)
{
    uint64_t old = cpu->gpr[GPR_RSP];
    for (unsigned i = 0; i < 8; i++) {
        int r = stack_push(cpu, in->osz, i == GPR_RSP ? old : cpu->gpr[i]);
        if (r) {
            cpu->gpr[GPR_RSP] = old;
            return r;
        }
    }
    return X_NEXT;
}

/* POPA/POPAD (61): the stored SP is skipped. */
int op_popa(struct interp_cpu *cpu, const struct insn *in)
{
    uint64_t vals[8];
    for (unsigned i = 0; i < 8; i++) {
        int r = stack_peek(cpu, in->osz, i * in->osz, &vals[7 - i]);
        if (r)
            return r;
    }
    for (unsigned i = 0; i < 8; i++)
        if (i != GPR_RSP)
            set_reg(cpu, i, in->osz, vals[i]);
    stack_adjust(cpu, 8 * (int64_t)in->osz);
    return X_NEXT;
}

/* LEAVE (C9): RSP = RBP, pop RBP. */
int op_leave(struct interp_cpu *cpu, const struct insn *in)
{
    unsigned ss = stack_addr_size(cpu);
    uint64_t old = cpu->gpr[GPR_RSP], v;
    set_sp(cpu, cpu->gpr[GPR_RBP] & size_mask(ss));
    int r = stack_pop(cpu, in->osz, &v);
    if (r) {
        cpu->gpr[GPR_RSP] = old;
        return r;
    }
    set_reg(cpu, GPR_RBP, in->osz, v);
    return X_NEXT;
}

/* ENTER imm16, imm8 (C8). */
int op_enter(struct interp_cpu *cpu, const struct insn *in)
{
    unsigned size = in->osz, ss = stack_addr_size(cpu), level = in->imm2 & 31;
    uint64_t old_sp = cpu->gpr[GPR_RSP], old_bp = cpu->gpr[GPR_RBP];
    int r = stack_push(cpu, size, old_bp);
    uint64_t frame = cpu->gpr[GPR_RSP];
    uint64_t bp = old_bp;
    for (unsigned i = 1; !r && i < level; i++) {
        uint64_t v;
        bp = (bp - size) & size_mask(ss);
        if (!(r = mem_read(cpu, SEG_SS, bp, size, &v)))
            r = stack_push(cpu, size, v);
    }
    if (!r && level)
        r = stack_push(cpu, size, frame);
    if (!r) {
        set_reg(cpu, GPR_RBP, size, frame);
        set_sp(cpu, cpu->gpr[GPR_RSP] - in->imm);
        return X_NEXT;
    }
    cpu->gpr[GPR_RSP] = old_sp;
    return r;
}
