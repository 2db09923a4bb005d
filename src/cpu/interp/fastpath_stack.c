/*
 * Specialised handlers for the 64-bit stack instructions a kernel runs
 * most (PUSH/POP r64, near CALL rel32 and RET): a 64-bit operand size
 * exists only in 64-bit mode, where the stack address size is 64 bits too,
 * so the size lookups and the SP width merge of stack.c fall away.  RSP
 * changes only after the access succeeded, as there.
 */
#include "handlers.h"
#include "jit.h"

static ALWAYS_INLINE int push8(struct interp_cpu *cpu, uint64_t v)
{
    uint64_t sp = cpu->gpr[GPR_RSP] - 8;
    int r = mem_write(cpu, SEG_SS, sp, 8, v);
    if (likely(!r))
        cpu->gpr[GPR_RSP] = sp;
    return r;
}

static int push_r8(struct interp_cpu *cpu, const struct insn *in) { return push8(cpu, cpu->gpr[in->reg]); }

/* RSP moves before the register is written: POP RSP loads the popped value. */
static int pop_r8(struct interp_cpu *cpu, const struct insn *in)
{
    uint64_t v;
    int r = mem_read(cpu, SEG_SS, cpu->gpr[GPR_RSP], 8, &v);
    if (likely(!r)) {
        cpu->gpr[GPR_RSP] += 8;
        cpu->gpr[in->reg] = v;
    }
    return r;
}

static ALWAYS_INLINE bool canonical(uint64_t a)
{
    return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

static int call_rel8(struct interp_cpu *cpu, const struct insn *in)
{
    uint64_t ret = insn_next_rip(cpu, in), target = ret + in->imm;
    if (unlikely(!canonical(target)))
        return raise_gp(cpu, 0);
    int r = push8(cpu, ret);
    if (likely(!r))
        set_next_rip(cpu, target);
    return r;
}

static int ret8(struct interp_cpu *cpu, const struct insn *in)
{
    (void)in;
    uint64_t target;
    int r = mem_read(cpu, SEG_SS, cpu->gpr[GPR_RSP], 8, &target);
    if (unlikely(r))
        return r;
    if (unlikely(!canonical(target)))
        return raise_gp(cpu, 0);
    cpu->gpr[GPR_RSP] += 8;
    set_next_rip(cpu, target);
    return X_NEXT;
}

bool insn_specialize_stack(struct insn *in)
{
    if (in->osz != 8)
        return false;
    if (in->fn == op_push_r)
        in->fn = push_r8;
    else if (in->fn == op_pop_r)
        in->fn = pop_r8;
    else if (in->fn == op_call_rel)
        in->fn = call_rel8;
    else if (in->fn == op_ret && in->opc == 0xc3)
        in->fn = ret8;
    else
        return false;
    return true;
}

/* Described for the block compiler (jit.h). */
bool fastpath_stack_jit_desc(const struct insn *in, struct jit_desc *d)
{
    static const struct { insn_fn fn; uint8_t kind; } kinds[] = {
        { push_r8, JK_PUSH }, { pop_r8, JK_POP }, { call_rel8, JK_CALL_REL }, { ret8, JK_RET },
    };
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
        if (in->fn == kinds[k].fn) {
            *d = (struct jit_desc){ .kind = kinds[k].kind, .size = 8, .dst = in->reg };
            return true;
        }
    return false;
}
