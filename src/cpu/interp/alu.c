/*
 * The eight classic ALU operations (ADD OR ADC SBB AND SUB XOR CMP) in all
 * their encodings, INC/DEC, NEG/NOT and TEST.  Flags are recorded lazily.
 */
#include "interp_internal.h"

enum { ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR, ALU_CMP };

/* Computes d OP s at size, records the flags, returns the (unmasked) result. */
static inline uint64_t alu(struct interp_cpu *cpu, unsigned op, unsigned size, uint64_t d, uint64_t s)
{
    uint64_t r;
    unsigned cin;
    switch (op) {
    case ALU_ADD: r = d + s; lazy_set(cpu, LF_ADD, size, d, s, r); break;
    case ALU_OR:  r = d | s; lazy_set(cpu, LF_LOGIC, size, d, s, r); break;
    case ALU_ADC:
        cin = flags_cf(cpu);
        r = d + s + cin;
        lazy_set(cpu, LF_ADC, size, d, s, r);
        cpu->lf.cin = (uint8_t)cin;
        break;
    case ALU_SBB:
        cin = flags_cf(cpu);
        r = d - s - cin;
        lazy_set(cpu, LF_SBB, size, d, s, r);
        cpu->lf.cin = (uint8_t)cin;
        break;
    case ALU_AND: r = d & s; lazy_set(cpu, LF_LOGIC, size, d, s, r); break;
    case ALU_XOR: r = d ^ s; lazy_set(cpu, LF_LOGIC, size, d, s, r); break;
    default:      r = d - s; lazy_set(cpu, LF_SUB, size, d, s, r); break;   /* SUB, CMP */
    }
    return r;
}

/* d OP s written back to r/m; the flags stay untouched if the write faults. */
static int alu_store(struct interp_cpu *cpu, const struct insn *in, unsigned op, uint64_t d, uint64_t s)
{
    struct lazy_flags saved = cpu->lf;
    uint64_t res = alu(cpu, op, in->osz, d, s);
    if (op == ALU_CMP)
        return X_NEXT;
    int r = op_rm_set(cpu, in, in->osz, res);
    if (r)
        cpu->lf = saved;
    return r;
}

/* LOCK d OP s on memory: the host atomic computes, alu() records the flags
 * from the value it replaced. */
static int alu_locked(struct interp_cpu *cpu, const struct insn *in, unsigned op, uint64_t s)
{
    uint64_t d;
    struct rmw_op o = { .kind = (uint8_t)op, .size = in->osz, .src = s,
                        .cin = (op == ALU_ADC || op == ALU_SBB) ? flags_cf(cpu) : 0 };
    int r = rmw_locked(cpu, in->seg, insn_ea(cpu, in), &o, &d);
    if (!r)
        alu(cpu, op, in->osz, d, s);
    return r;
}

/* Eb,Gb / Ev,Gv: 00 01 08 09 ... 38 39 */
int op_alu_rm_r(struct interp_cpu *cpu, const struct insn *in)
{
    unsigned op = (in->opc >> 3) & 7, size = in->osz;
    uint64_t d, s = op_reg_get(cpu, in, size);
    if (unlikely(in->lock))
        return alu_locked(cpu, in, op, s);
    int r = op_rm_get(cpu, in, size, &d, op != ALU_CMP);
    if (r)
        return r;
    if (in->mod3 && op != ALU_CMP) {            /* register fast path */
        uint64_t res = alu(cpu, op, size, d, s);
        if (size == 1)
            set_reg8(cpu, in->rm8, res);
        else
            set_reg(cpu, in->rm, size, res);
        return X_NEXT;
    }
    return alu_store(cpu, in, op, d, s);
}

/* Gb,Eb / Gv,Ev: 02 03 0A 0B ... */
int op_alu_r_rm(struct interp_cpu *cpu, const struct insn *in)
{
    unsigned op = (in->opc >> 3) & 7, size = in->osz;
    uint64_t s, d = op_reg_get(cpu, in, size);
    int r = op_rm_get(cpu, in, size, &s, false);
    if (r)
        return r;
    uint64_t res = alu(cpu, op, size, d, s);
    if (op != ALU_CMP)
        op_reg_set(cpu, in, size, res);
    return X_NEXT;
}

/* AL,Ib / eAX,Iz: 04 05 0C 0D ... */
int op_alu_a_imm(struct interp_cpu *cpu, const struct insn *in)
{
    unsigned op = (in->opc >> 3) & 7, size = in->osz;
    uint64_t res = alu(cpu, op, size, cpu->gpr[GPR_RAX] & size_mask(size), in->imm);
    if (op != ALU_CMP)
        set_reg(cpu, GPR_RAX, size, res);
    return X_NEXT;
}

/* Group 1: 80 81 82 83, operation in ModRM.reg. */
int op_grp1(struct interp_cpu *cpu, const struct insn *in)
{
    unsigned op = in->ext, size = in->osz;
    uint64_t d;
    if (unlikely(in->lock))
        return alu_locked(cpu, in, op, in->imm);
    int r = op_rm_get(cpu, in, size, &d, op != ALU_CMP);
    if (r)
        return r;
    return alu_store(cpu, in, op, d, in->imm);
}

/* TEST Eb,Gb / Ev,Gv (84 85). */
int op_test_rm_r(struct interp_cpu *cpu, const struct insn *in)
{
    uint64_t d;
    int r = op_rm_get(cpu, in, in->osz, &d, false);
    if (r)
        return r;
    alu(cpu, ALU_AND, in->osz, d, op_reg_get(cpu, in, in->osz));
    return X_NEXT;
}

/* TEST AL,Ib / eAX,Iz (A8 A9). */
int op_test_a_imm(struct interp_cpu *cpu, const struct insn *in)
{
    alu(cpu, ALU_AND, in->osz, cpu->gpr[GPR_RAX], in->imm);
    return X_NEXT;
}

/* TEST Eb,Ib / Ev,Iz (F6/F7 /0 /1). */
int op_test_rm_imm(struct interp_cpu *cpu, const struct insn *in)
{
    uint64_t d;
    int r = op_rm_get(cpu, in, in->osz, &d, false);
    if (r)
        return r;
    alu(cpu, ALU_AND, in->osz, d, in->imm);
    return X_NEXT;
}

static void incdec_flags(struct interp_cpu *cpu, bool dec, unsigned size, uint64_t d, uint64_t r)
{
    uint8_t cf = flags_cf(cpu);
    lazy_set(cpu, dec ? LF_DEC : LF_INC, size, d, 1, r);
    cpu->lf.cin = cf;
}

/* INC/DEC Eb/Ev (FE/FF /0 /1). */
int op_incdec_rm(struct interp_cpu *cpu, const struct insn *in)
{
    uint64_t d;
    bool dec = in->ext == 1;
    if (unlikely(in->lock)) {
        struct rmw_op o = { .kind = dec ? RMW_SUB : RMW_ADD, .size = in->osz, .src = 1 };
        int r = rmw_locked(cpu, in->seg, insn_ea(cpu, in), &o, &d);
        if (!r)
            incdec_flags(cpu, dec, in->osz, d, dec ? d - 1 : d + 1);
        return r;
    }
    int r = op_rm_get(cpu, in, in->osz, &d, true);
    if (r)
        return r;
    uint64_t res = dec ? d - 1 : d + 1;
    if ((r = op_rm_set(cpu, in, in->osz, res)))
        return r;
    incdec_flags(cpu, dec, in->osz, d, res);
    return X_NEXT;
}

/* INC/DEC r16/r32 (40-4F outside 64-bit mode). */
int op_incdec_reg(struct interp_cpu *cpu, const struct insn *in)
{
    uint64_t d = cpu->gpr[in->reg] & size_mask(in->osz);
    bool dec = in->opc >= 0x48;
    uint64_t res = dec ? d - 1 : d + 1;
    set_reg(cpu, in->reg, in->osz, res);
    incdec_flags(cpu, dec, in->osz, d, res);
    return X_NEXT;
}

/* NOT (F6/F7 /2): no flags. */
int op_not(struct interp_cpu *cpu, const struct insn *in)
{
    uint64_t d;
    if (unlikely(in->lock)) {
        struct rmw_op o = { .kind = RMW_NOT, .size = in->osz };
        return rmw_locked(cpu, in->seg, insn_ea(cpu, in), &o, &d);
    }
    int r = op_rm_get(cpu, in, in->osz, &d, true);
    return r ? r : op_rm_set(cpu, in, in->osz, ~d);
}

/* NEG (F6/F7 /3): flags of 0 - x. */
int op_neg(struct interp_cpu *cpu, const struct insn *in)
{
    uint64_t d;
    int r;
    if (unlikely(in->lock)) {
        struct rmw_op o = { .kind = RMW_NEG, .size = in->osz };
        r = rmw_locked(cpu, in->seg, insn_ea(cpu, in), &o, &d);
    } else if (!(r = op_rm_get(cpu, in, in->osz, &d, true))) {
        r = op_rm_set(cpu, in, in->osz, 0 - d);
    }
    if (r)
        return r;
    lazy_set(cpu, LF_SUB, in->osz, 0, d, 0 - d);
    return X_NEXT;
}
