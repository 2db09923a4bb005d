/*
 * Data movement: MOV (all general forms), MOVZX/MOVSX/MOVSXD, LEA, XCHG,
 * CMOVcc, SETcc, CBW family, LAHF/SAHF, XLAT, NOP/PAUSE.
 */
#include "interp_internal.h"

/* MOV Eb,Gb / Ev,Gv (88 89). */
int op_mov_rm_r(struct interp_cpu *cpu, const struct insn *in)
{
    return op_rm_set(cpu, in, in->osz, op_reg_get(cpu, in, in->osz));
}

/* MOV Gb,Eb / Gv,Ev (8A 8B). */
int op_mov_r_rm(struct interp_cpu *cpu, const struct insn *in)
{
    uint64_t v;
    int r = op_rm_get(cpu, in, in->osz, &v, false);
    if (r)
        return r;
    op_reg_set(cpu, in, in->osz, v);
    return X_NEXT;
}

/* MOV Eb,Ib / Ev,Iz (C6 C7 /0). */
int op_mov_rm_imm(struct interp_cpu *cpu, const struct insn *in)
{
    return op_rm_set(cpu, in, in->osz, in->imm);
}

/* MOV r,imm (B0-BF). */
int op_mov_r_imm(struct interp_cpu *cpu, const struct insn *in)
{
    op_reg_set(cpu, in, in->osz, in->imm);
    return X_NEXT;
}

/* MOV AL/eAX <-> moffs (A0-A3). */
int op_mov_moffs(struct interp_cpu *cpu, const struct insn *in)
{
    uint64_t ea = in->imm & size_mask(in->asz), v;
    if (in->opc >= 0xa2)
        return mem_write(cpu, in->seg, ea, in->osz, cpu->gpr[GPR_RAX]);
    int r = mem_read(cpu, in->seg, ea, in->osz, &v);
    if (!r)
        set_reg(cpu, GPR_RAX, in->osz, v);
    return r;
}

/* MOVZX/MOVSX Gv,Eb|Ew (0F B6 B7 BE BF). */
int op_movx(struct interp_cpu *cpu, const struct insn *in)
{
    unsigned ssize = (in->opc & 1) ? 2 : 1;
    uint64_t v;
    int r;
    if (in->mod3)
        v = ssize == 1 ? get_reg8(cpu, in->rm8) : cpu->gpr[in->rm] & 0xffff;
    else if ((r = mem_read(cpu, in->seg, insn_ea(cpu, in), ssize, &v)))
        return r;
    if (in->opc >= 0x1be)
        v = (uint64_t)sign_extend(v, ssize);
    set_reg(cpu, in->reg, in->osz, v);
    return X_NEXT;
}

/* MOVSXD Gv,Ed (63 in 64-bit mode). */
int op_movsxd(struct interp_cpu *cpu, const struct insn *in)
{
    uint64_t v;
    int r = op_rm_get(cpu, in, 4, &v, false);
    if (r)
        return r;
    set_reg(cpu, in->reg, in->osz, (uint64_t)sign_extend(v, 4));
    return X_NEXT;
}

/* LEA Gv,M (8D). */
int op_lea(struct interp_cpu *cpu, const struct insn *in)
{
    set_reg(cpu, in->reg, in->osz, insn_ea(cpu, in));
    return X_NEXT;
}

/* XCHG Eb,Gb / Ev,Gv (86 87); the memory form is locked on hardware (with
 * or without the prefix), so it goes through the host atomics. */
int op_xchg_rm_r(struct interp_cpu *cpu, const struct insn *in)
{
    uint64_t a;
    if (!in->mod3) {
        struct rmw_op o = { .kind = RMW_XCHG, .size = in->osz, .src = op_reg_get(cpu, in, in->osz) };
        int r = rmw_locked(cpu, in->seg, insn_ea(cpu, in), &o, &a);
        if (!r)
            op_reg_set(cpu, in, in->osz, a);
        return r;
    }
    int r = op_rm_get(cpu, in, in->osz, &a, true);
    if (r)
        return r;
    uint64_t b = op_reg_get(cpu, in, in->osz);
    if ((r = op_rm_set(cpu, in, in->osz, b)))
        return r;
    op_reg_set(cpu, in, in->osz, a);
    return X_NEXT;
}

/* XCHG r,rAX (90-97); 90 without REX.B is NOP (PAUSE with F3). */
int op_xchg_ax(struct interp_cpu *cpu, const struct insn *in)
{
    if (in->reg == GPR_RAX)
        return X_NEXT;
    uint64_t a = cpu->gpr[GPR_RAX], b = cpu->gpr[in->reg];
    set_reg(cpu, GPR_RAX, in->osz, b);
    set_reg(cpu, in->reg, in->osz, a);
    return X_NEXT;
}

int op_nop(struct interp_cpu *cpu, const struct insn *in)
{
    (void)cpu; (void)in;
    return X_NEXT;
}

/* CMOVcc Gv,Ev (0F 40-4F): the source is read (and may fault) either way;
 * a 32-bit destination is zero-extended even when the condition is false. */
int op_cmov(struct interp_cpu *cpu, const struct insn *in)
{
    uint64_t v;
    int r = op_rm_get(cpu, in, in->osz, &v, false);
    if (r)
        return r;
    if (!cond_eval(cpu, in->opc & 15))
        v = cpu->gpr[in->reg];
    set_reg(cpu, in->reg, in->osz, v);
    return X_NEXT;
}

/* SETcc Eb (0F 90-9F). */
int op_setcc(struct interp_cpu *cpu, const struct insn *in)
{
    return op_rm_set(cpu, in, 1, cond_eval(cpu, in->opc & 15));
}

/* CBW/CWDE/CDQE (98). */
int op_cbw(struct interp_cpu *cpu, const struct insn *in)
{
    unsigned half = in->osz / 2;
    set_reg(cpu, GPR_RAX, in->osz, (uint64_t)sign_extend(cpu->gpr[GPR_RAX], half));
    return X_NEXT;
}

/* CWD/CDQ/CQO (99). */
int op_cwd(struct interp_cpu *cpu, const struct insn *in)
{
    bool neg = cpu->gpr[GPR_RAX] & sign_bit(in->osz);
    set_reg(cpu, GPR_RDX, in->osz, neg ? ~UINT64_C(0) : 0);
    return X_NEXT;
}

/* LAHF (9F) / SAHF (9E). */
int op_lahf(struct interp_cpu *cpu, const struct insn *in)
{
    (void)in;
    set_reg8(cpu, 16, flags_get(cpu) & 0xff);       /* AH */
    return X_NEXT;
}

int op_sahf(struct interp_cpu *cpu, const struct insn *in)
{
    (void)in;
    uint64_t ah = (cpu->gpr[GPR_RAX] >> 8) & 0xff;
    uint64_t m = RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF;
    flags_set_arith(cpu, m, ah);
    return X_NEXT;
}

/* XLAT (D7): AL = [seg:rBX + AL]. */
int op_xlat(struct interp_cpu *cpu, const struct insn *in)
{
    uint64_t ea = (cpu->gpr[GPR_RBX] + (cpu->gpr[GPR_RAX] & 0xff)) & size_mask(in->asz), v;
    int r = mem_read(cpu, in->seg, ea, 1, &v);
    if (!r)
        set_reg8(cpu, GPR_RAX, v);
    return r;
}

/* MOVBE Gv,Mv / Mv,Gv (0F 38 F0 F1): a load or store with the bytes swapped. */
int op_movbe(struct interp_cpu *cpu, const struct insn *in)
{
    unsigned size = in->osz;
    uint64_t ea = insn_ea(cpu, in), v;
    if (in->opc == 0x2f1) {
        v = cpu->gpr[in->reg];
        v = size == 8 ? __builtin_bswap64(v) : size == 4 ? __builtin_bswap32((uint32_t)v) : __builtin_bswap16((uint16_t)v);
        return mem_write(cpu, in->seg, ea, size, v);
    }
    int r = mem_read(cpu, in->seg, ea, size, &v);
    if (r)
        return r;
    v = size == 8 ? __builtin_bswap64(v) : size == 4 ? __builtin_bswap32((uint32_t)v) : __builtin_bswap16((uint16_t)v);
    set_reg(cpu, in->reg, size, v);
    return X_NEXT;
}
