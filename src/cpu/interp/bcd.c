/*
 * Decimal-arithmetic adjustments (DAA DAS AAA AAS AAM AAD), valid outside
 * 64-bit mode.  Undefined flags: OF for DAA/DAS; OF SF ZF PF for AAA/AAS;
 * OF AF CF for AAM/AAD (we clear them).
 */
#include "handlers.h"

static uint64_t szp8(uint64_t al)
{
    uint64_t f = parity_flag(al);
    if ((al & 0xff) == 0)
        f |= RFLAGS_ZF;
    if (al & 0x80)
        f |= RFLAGS_SF;
    return f;
}

/* DAA (27) / DAS (2F). */
int op_daa_das(struct interp_cpu *cpu, const struct insn *in)
{
    bool sub = in->opc == 0x2f;
    uint64_t fl = flags_get(cpu);
    unsigned al = (unsigned)cpu->gpr[GPR_RAX] & 0xff, old_al = al;
    bool old_cf = fl & RFLAGS_CF, cf = false, af = false;
    if ((al & 0xf) > 9 || (fl & RFLAGS_AF)) {
        cf = old_cf || (sub ? al < 6 : al + 6 > 0xff);
        al = (sub ? al - 6 : al + 6) & 0xff;
        af = true;
    }
    if (old_al > 0x99 || old_cf) {
        al = (sub ? al - 0x60 : al + 0x60) & 0xff;
        cf = true;
    } else if (!sub) {
        cf = false;
    }
    set_reg8(cpu, GPR_RAX, al);
    flags_set_arith(cpu, FLAGS_ARITH, szp8(al) | (cf ? RFLAGS_CF : 0) | (af ? RFLAGS_AF : 0));
    return X_NEXT;
}

/* AAA (37) / AAS (3F). */
int op_aaa_aas(struct interp_cpu *cpu, const struct insn *in)
{
    uint64_t fl = flags_get(cpu), ax = cpu->gpr[GPR_RAX] & 0xffff;
    bool adjust = (ax & 0xf) > 9 || (fl & RFLAGS_AF);
    if (adjust)
        ax = in->opc == 0x37 ? ax + 0x106 : ax - 6 - 0x100;     /* the carry/borrow reaches AH */
    ax = (ax & 0xff00) | (ax & 0x0f);
    set_reg(cpu, GPR_RAX, 2, ax);
    flags_set_arith(cpu, FLAGS_ARITH, szp8(ax) | (adjust ? RFLAGS_AF | RFLAGS_CF : 0));
    return X_NEXT;
}

/* AAM imm8 (D4): #DE on a zero base. */
int op_aam(struct interp_cpu *cpu, const struct insn *in)
{
    unsigned base = (unsigned)in->imm & 0xff, al = (unsigned)cpu->gpr[GPR_RAX] & 0xff;
    if (!base)
        return raise_de(cpu);
    set_reg(cpu, GPR_RAX, 2, ((al / base) << 8) | (al % base));
    flags_set_arith(cpu, FLAGS_ARITH, szp8(al % base));
    return X_NEXT;
}

/* AAD imm8 (D5). */
int op_aad(struct interp_cpu *cpu, const struct insn *in)
{
    unsigned base = (unsigned)in->imm & 0xff, ax = (unsigned)cpu->gpr[GPR_RAX];
    unsigned al = ((ax & 0xff) + ((ax >> 8) & 0xff) * base) & 0xff;
    set_reg(cpu, GPR_RAX, 2, al);
    flags_set_arith(cpu, FLAGS_ARITH, szp8(al));
    return X_NEXT;
}
