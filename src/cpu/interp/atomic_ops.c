/*
 * The read-modify-write instructions that LOCK is made for: XADD, CMPXCHG,
 * CMPXCHG8B/16B.  One vCPU thread runs them, so they are atomic with
 * respect to this vCPU; cross-vCPU atomicity needs the host atomics (todo
 * with SMP under the interpreter).
 */
#include "interp_internal.h"

/* XADD Eb,Gb / Ev,Gv (0F C0 C1). */
int op_xadd(struct interp_cpu *cpu, const struct insn *in)
{
    unsigned size = in->osz;
    uint64_t d;
    int r = op_rm_get(cpu, in, size, &d, true);
    if (r)
        return r;
    uint64_t s = op_reg_get(cpu, in, size), sum = d + s;
    op_reg_set(cpu, in, size, d);
    if ((r = op_rm_set(cpu, in, size, sum))) {
        op_reg_set(cpu, in, size, s);
        return r;
    }
    lazy_set(cpu, LF_ADD, size, d, s, sum);
    return X_NEXT;
}

/* CMPXCHG Eb,Gb / Ev,Gv (0F B0 B1). */
int op_cmpxchg(struct interp_cpu *cpu, const struct insn *in)
{
    unsigned size = in->osz;
    uint64_t d, m = size_mask(size);
    int r = op_rm_get(cpu, in, size, &d, true);
    if (r)
        return r;
    uint64_t a = cpu->gpr[GPR_RAX] & m;
    if (a == d) {
        if ((r = op_rm_set(cpu, in, size, op_reg_get(cpu, in, size))))
            return r;
    } else {
        if (!in->mod3 && (r = op_rm_set(cpu, in, size, d)))   /* hardware writes back */
            return r;
        set_reg(cpu, GPR_RAX, size, d);
    }
    lazy_set(cpu, LF_SUB, size, a, d, a - d);
    return X_NEXT;
}

/* CMPXCHG8B / CMPXCHG16B m (0F C7 /1). */
int op_cmpxchg8b(struct interp_cpu *cpu, const struct insn *in)
{
    if (in->mod3)
        return raise_ud(cpu);
    uint64_t ea = insn_ea(cpu, in), lo, hi;
    unsigned half = in->osz == 8 ? 8 : 4;
    if (half == 8 && (ea & 15))
        return raise_gp(cpu, 0);
    int r;
    if ((r = mem_read_rmw(cpu, in->seg, ea, half, &lo)) ||
        (r = mem_read_rmw(cpu, in->seg, ea + half, half, &hi)))
        return r;
    uint64_t m = size_mask(half);
    bool eq = lo == (cpu->gpr[GPR_RAX] & m) && hi == (cpu->gpr[GPR_RDX] & m);
    if (eq) {
        if ((r = mem_write(cpu, in->seg, ea, half, cpu->gpr[GPR_RBX])) ||
            (r = mem_write(cpu, in->seg, ea + half, half, cpu->gpr[GPR_RCX])))
            return r;
    } else {
        set_reg(cpu, GPR_RAX, half, lo);
        set_reg(cpu, GPR_RDX, half, hi);
    }
    flags_set_arith(cpu, RFLAGS_ZF, eq ? RFLAGS_ZF : 0);
    return X_NEXT;
}
