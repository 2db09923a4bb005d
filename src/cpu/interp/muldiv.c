/*
 * MUL, IMUL (one, two and three operand forms), DIV and IDIV with #DE.
 * SF/ZF/AF/PF after multiplication and all flags after division are
 * undefined; we leave SF/ZF/PF of the low half and clear AF (the diff test
 * masks them).
 */
#include "interp_internal.h"

typedef unsigned __int128 u128;
typedef __int128 s128;

/* CF = OF = overflow; SF/ZF/PF of the low half and AF = 0 come from the
 * lazy state (LF_MUL). */
static void mul_flags(struct interp_cpu *cpu, unsigned size, uint64_t lo, bool overflow)
{
    lazy_set(cpu, LF_MUL, size, 0, 0, lo);
    cpu->lf.cin = overflow;
}

/* Writes a double-width result to AX, DX:AX, EDX:EAX or RDX:RAX. */
static void set_wide(struct interp_cpu *cpu, unsigned size, uint64_t lo, uint64_t hi)
{
    if (size == 1) {
        set_reg(cpu, GPR_RAX, 2, (lo & 0xff) | ((hi & 0xff) << 8));
        return;
    }
    set_reg(cpu, GPR_RAX, size, lo);
    set_reg(cpu, GPR_RDX, size, hi);
}

/* MUL / IMUL r/m (F6/F7 /4 /5). */
int op_mul1(struct interp_cpu *cpu, const struct insn *in)
{
    unsigned size = in->osz, bits = size * 8;
    uint64_t s, a = cpu->gpr[GPR_RAX] & size_mask(size);
    int r = op_rm_get(cpu, in, size, &s, false);
    if (r)
        return r;
    uint64_t lo, hi;
    bool ovf;
    if (in->ext == 4) {
        u128 p = (u128)a * s;
        lo = (uint64_t)p & size_mask(size);
        hi = size == 8 ? (uint64_t)(p >> 64) : (uint64_t)(p >> bits) & size_mask(size);
        ovf = hi != 0;
    } else {
        s128 p = (s128)sign_extend(a, size) * sign_extend(s, size);
        lo = (uint64_t)p & size_mask(size);
        hi = size == 8 ? (uint64_t)((u128)p >> 64) : (uint64_t)(p >> bits) & size_mask(size);
        ovf = p != (s128)sign_extend(lo, size);
    }
    set_wide(cpu, size, lo, hi);
    mul_flags(cpu, size, lo, ovf);
    return X_NEXT;
}

static int imul_to_reg(struct interp_cpu *cpu, const struct insn *in, uint64_t a, uint64_t b)
{
    unsigned size = in->osz;
    s128 p = (s128)sign_extend(a, size) * sign_extend(b, size);
    uint64_t lo = (uint64_t)p & size_mask(size);
    set_reg(cpu, in->reg, size, lo);
    mul_flags(cpu, size, lo, p != (s128)sign_extend(lo, size));
    return X_NEXT;
}

/* IMUL Gv,Ev (0F AF). */
int op_imul_r_rm(struct interp_cpu *cpu, const struct insn *in)
{
    uint64_t s;
    int r = op_rm_get(cpu, in, in->osz, &s, false);
    return r ? r : imul_to_reg(cpu, in, cpu->gpr[in->reg], s);
}

/* IMUL Gv,Ev,Iz / Ib (69 6B). */
int op_imul_r_rm_imm(struct interp_cpu *cpu, const struct insn *in)
{
    uint64_t s;
    int r = op_rm_get(cpu, in, in->osz, &s, false);
    return r ? r : imul_to_reg(cpu, in, s, in->imm);
}

/* DIV / IDIV r/m (F6/F7 /6 /7): #DE on a zero divisor or a quotient that
 * does not fit. */
int op_div(struct interp_cpu *cpu, const struct insn *in)
{
    unsigned size = in->osz, bits = size * 8;
    uint64_t m = size_mask(size), s;
    int r = op_rm_get(cpu, in, size, &s, false);
    if (r)
        return r;
    if (s == 0)
        return raise_de(cpu);
    uint64_t lo = cpu->gpr[GPR_RAX] & m;
    uint64_t hi = size == 1 ? (cpu->gpr[GPR_RAX] >> 8) & 0xff : cpu->gpr[GPR_RDX] & m;
    u128 n = size == 8 ? ((u128)hi << 64) | lo : (u128)((hi << bits) | lo);
    uint64_t q, rem;
    if (in->ext == 6) {
        u128 qq = n / s;
        if (qq > m)
            return raise_de(cpu);
        q = (uint64_t)qq;
        rem = (uint64_t)(n % s);
    } else {
        s128 sn = size == 8 ? (s128)n : (s128)sign_extend((uint64_t)n, size * 2);
        s128 sd = sign_extend(s, size);
        s128 qq = sn / sd;
        if (qq > (s128)(m >> 1) || qq < -(s128)(m >> 1) - 1)
            return raise_de(cpu);
        q = (uint64_t)qq & m;
        rem = (uint64_t)(sn % sd) & m;
    }
    set_wide(cpu, size, q, rem);
    return X_NEXT;
}
