/*
 * Specialised handlers for the most frequent operand shapes (register
 * operands of 32 and 64 bits, plain loads and stores, JZ/JNZ): the decoder
 * swaps them in once, so the hot path runs without the size and form
 * switches of the general handlers.  Semantics are those of the general
 * handlers (the differential test runs both).
 */
#include "handlers.h"
#include "sse.h"
#include "x87.h"

enum { ADD, OR, ADC, SBB, AND, SUB, XOR, CMP };

static ALWAYS_INLINE int alu_reg(struct interp_cpu *cpu, unsigned op, unsigned size, unsigned dreg, uint64_t s)
{
    uint64_t m = size_mask(size), d = cpu->gpr[dreg] & m, r;
    switch (op) {
    case ADD: r = d + s; lazy_set(cpu, LF_ADD, size, d, s, r); break;
    case OR:  r = d | s; lazy_set(cpu, LF_LOGIC, size, d, s, r); break;
    case AND: r = d & s; lazy_set(cpu, LF_LOGIC, size, d, s, r); break;
    case XOR: r = d ^ s; lazy_set(cpu, LF_LOGIC, size, d, s, r); break;
    default:  r = d - s; lazy_set(cpu, LF_SUB, size, d, s, r); break;
    }
    if (op != CMP)
        cpu->gpr[dreg] = r & m;                 /* 32-bit results zero-extend */
    return X_NEXT;
}

#define ALU_FORMS(name, op, size) \
    static int name##_rm_r##size(struct interp_cpu *cpu, const struct insn *in) \
    { return alu_reg(cpu, op, size, in->rm, cpu->gpr[in->reg]); } \
    static int name##_r_rm##size(struct interp_cpu *cpu, const struct insn *in) \
    { return alu_reg(cpu, op, size, in->reg, cpu->gpr[in->rm]); } \
    static int name##_rm_imm##size(struct interp_cpu *cpu, const struct insn *in) \
    { return alu_reg(cpu, op, size, in->rm, in->imm); } \
    static int name##_a_imm##size(struct interp_cpu *cpu, const struct insn *in) \
    { return alu_reg(cpu, op, size, GPR_RAX, in->imm); }

#define ALU_SIZES(name, op) ALU_FORMS(name, op, 4) ALU_FORMS(name, op, 8)
ALU_SIZES(add, ADD) ALU_SIZES(or, OR) ALU_SIZES(and, AND) ALU_SIZES(sub, SUB) ALU_SIZES(xor, XOR) ALU_SIZES(cmp, CMP)

/* [op][form][size 4/8]; ADC/SBB keep the general handlers. */
#define ROW(name) { { name##_rm_r4, name##_rm_r8 }, { name##_r_rm4, name##_r_rm8 }, \
                    { name##_rm_imm4, name##_rm_imm8 }, { name##_a_imm4, name##_a_imm8 } }
static const insn_fn alu_fast[8][4][2] = {
    [ADD] = ROW(add), [OR] = ROW(or), [AND] = ROW(and), [SUB] = ROW(sub), [XOR] = ROW(xor), [CMP] = ROW(cmp),
};

static int mov_rr4(struct interp_cpu *cpu, const struct insn *in) { cpu->gpr[in->rm] = (uint32_t)cpu->gpr[in->reg]; return X_NEXT; }
static int mov_rr8(struct interp_cpu *cpu, const struct insn *in) { cpu->gpr[in->rm] = cpu->gpr[in->reg]; return X_NEXT; }
static int mov_rr4_rev(struct interp_cpu *cpu, const struct insn *in) { cpu->gpr[in->reg] = (uint32_t)cpu->gpr[in->rm]; return X_NEXT; }
static int mov_rr8_rev(struct interp_cpu *cpu, const struct insn *in) { cpu->gpr[in->reg] = cpu->gpr[in->rm]; return X_NEXT; }
static int mov_ri4(struct interp_cpu *cpu, const struct insn *in) { cpu->gpr[in->reg] = (uint32_t)in->imm; return X_NEXT; }
static int mov_ri8(struct interp_cpu *cpu, const struct insn *in) { cpu->gpr[in->reg] = in->imm; return X_NEXT; }

#define LOAD_STORE(size) \
    static int load##size(struct interp_cpu *cpu, const struct insn *in) \
    { \
        uint64_t v; \
        int r = mem_read(cpu, in->seg, insn_ea(cpu, in), size, &v); \
        if (likely(!r)) \
            cpu->gpr[in->reg] = v; \
        return r; \
    } \
    static int store##size(struct interp_cpu *cpu, const struct insn *in) \
    { return mem_write(cpu, in->seg, insn_ea(cpu, in), size, cpu->gpr[in->reg]); }
LOAD_STORE(4) LOAD_STORE(8)

static ALWAYS_INLINE bool zf_now(const struct interp_cpu *cpu)
{
    if (cpu->lf.op == LF_NONE)
        return cpu->st->rflags & RFLAGS_ZF;
    return (cpu->lf.res & size_mask(cpu->lf.size)) == 0;
}

/* JZ/JNZ in 64-bit mode (canonical check) and flat 32-bit code (limit check). */
static ALWAYS_INLINE int jump_rel(struct interp_cpu *cpu, const struct insn *in)
{
    uint64_t t = cpu->next_rip + in->imm;
    if (cpu->long64) {
        if (unlikely((uint64_t)((int64_t)(t << 16) >> 16) != t))
            return raise_gp(cpu, 0);
    } else {
        t &= in->osz == 2 ? 0xffff : 0xffffffff;
        if (unlikely(t > cpu->st->seg[SEG_CS].limit))
            return raise_gp(cpu, 0);
    }
    cpu->next_rip = t;
    return X_NEXT;
}

static int jz(struct interp_cpu *cpu, const struct insn *in) { return zf_now(cpu) ? jump_rel(cpu, in) : X_NEXT; }
static int jnz(struct interp_cpu *cpu, const struct insn *in) { return zf_now(cpu) ? X_NEXT : jump_rel(cpu, in); }

static ALWAYS_INLINE int incdec_reg(struct interp_cpu *cpu, unsigned reg, unsigned size, bool dec)
{
    uint64_t m = size_mask(size), d = cpu->gpr[reg] & m, r = dec ? d - 1 : d + 1;
    uint8_t cf = flags_cf(cpu);
    cpu->gpr[reg] = r & m;
    lazy_set(cpu, dec ? LF_DEC : LF_INC, size, d, 1, r);
    cpu->lf.cin = cf;
    return X_NEXT;
}

static int inc4(struct interp_cpu *cpu, const struct insn *in) { return incdec_reg(cpu, in->rm, 4, false); }
static int dec4(struct interp_cpu *cpu, const struct insn *in) { return incdec_reg(cpu, in->rm, 4, true); }
static int inc8(struct interp_cpu *cpu, const struct insn *in) { return incdec_reg(cpu, in->rm, 8, false); }
static int dec8(struct interp_cpu *cpu, const struct insn *in) { return incdec_reg(cpu, in->rm, 8, true); }

/* SHL/SHR/SAR r32/r64 by an immediate or 1 (C1, D1): flags lazily, as in shift.c. */
static ALWAYS_INLINE int shift_reg(struct interp_cpu *cpu, const struct insn *in, unsigned size, unsigned kind)
{
    unsigned c = (in->opc == 0xd1 ? 1u : (unsigned)in->imm) & (size == 8 ? 63u : 31u);
    uint64_t m = size_mask(size), d = cpu->gpr[in->rm] & m, r;
    if (kind == LF_SHL)
        r = (d << c) & m;
    else if (kind == LF_SHR)
        r = d >> c;
    else
        r = (uint64_t)(sign_extend(d, size) >> c) & m;
    cpu->gpr[in->rm] = r;
    if (c)
        lazy_set(cpu, (enum lazy_op)kind, size, d, c, r);
    return X_NEXT;
}

static int shl4(struct interp_cpu *cpu, const struct insn *in) { return shift_reg(cpu, in, 4, LF_SHL); }
static int shr4(struct interp_cpu *cpu, const struct insn *in) { return shift_reg(cpu, in, 4, LF_SHR); }
static int sar4(struct interp_cpu *cpu, const struct insn *in) { return shift_reg(cpu, in, 4, LF_SAR); }
static int shl8(struct interp_cpu *cpu, const struct insn *in) { return shift_reg(cpu, in, 8, LF_SHL); }
static int shr8(struct interp_cpu *cpu, const struct insn *in) { return shift_reg(cpu, in, 8, LF_SHR); }
static int sar8(struct interp_cpu *cpu, const struct insn *in) { return shift_reg(cpu, in, 8, LF_SAR); }

static unsigned alu_form(insn_fn fn)
{
    if (fn == op_alu_rm_r) return 0;
    if (fn == op_alu_r_rm) return 1;
    if (fn == op_grp1) return 2;
    if (fn == op_alu_a_imm) return 3;
    return 4;
}

void insn_specialize(struct insn *in)
{
    if (in->fn == op_x87) {
        x87_specialize(in);
        return;
    }
    if (in->fn == op_sse) {
        sse_specialize(in);
        return;
    }
    bool wide = in->osz == 4 || in->osz == 8;
    unsigned si = in->osz == 8;
    if (in->fn == op_jcc && (in->opc & 0xe) == 4) {
        in->fn = (in->opc & 1) ? jnz : jz;
        return;
    }
    if (!wide)
        return;
    if (in->fn == op_grp2 && in->mod3 && (in->opc == 0xc1 || in->opc == 0xd1) && in->ext >= 4) {
        static const insn_fn shifts[2][4] = { { shl4, shr4, shl4, sar4 }, { shl8, shr8, shl8, sar8 } };
        in->fn = shifts[si][in->ext - 4];
        return;
    }
    unsigned form = alu_form(in->fn);
    if (form < 4 && (in->mod3 || form == 3)) {
        unsigned op = form == 2 ? in->ext : (in->opc >> 3) & 7;
        if (alu_fast[op][form][si])
            in->fn = alu_fast[op][form][si];
    } else if (in->fn == op_mov_rm_r) {
        in->fn = in->mod3 ? (si ? mov_rr8 : mov_rr4) : (si ? store8 : store4);
    } else if (in->fn == op_mov_r_rm) {
        in->fn = in->mod3 ? (si ? mov_rr8_rev : mov_rr4_rev) : (si ? load8 : load4);
    } else if (in->fn == op_mov_r_imm) {
        in->fn = si ? mov_ri8 : mov_ri4;
    } else if (in->fn == op_incdec_rm && in->mod3) {
        in->fn = in->ext ? (si ? dec8 : dec4) : (si ? inc8 : inc4);
    } else if (in->fn == op_incdec_reg) {
        in->rm = in->reg;
        in->fn = (in->opc >= 0x48) ? (si ? dec8 : dec4) : (si ? inc8 : inc4);
    }
}
