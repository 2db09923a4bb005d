/*
 * Specialised handlers for the most frequent operand shapes (register
 * operands of 32 and 64 bits, plain loads and stores; conditions are in
 * fastpath_cond.c): the decoder
 * swaps them in once, so the hot path runs without the size and form
 * switches of the general handlers.  Semantics are those of the general
 * handlers (the differential test runs both).
 */
#include "handlers.h"
#include "jit.h"
#include "sse.h"
#include "x87.h"

enum { ADD, OR, ADC, SBB, AND, SUB, XOR, CMP };

static ALWAYS_INLINE int alu_reg(struct interp_cpu *cpu, unsigned op, unsigned size, unsigned dreg, uint64_t s)
{
    uint64_t m = size_mask(size), d = cpu->gpr[dreg] & m, r;
    unsigned cin;
    switch (op) {
    case ADD: r = d + s; lazy_set(cpu, LF_ADD, size, d, s, r); break;
    case OR:  r = d | s; lazy_set(cpu, LF_LOGIC, size, d, s, r); break;
    case AND: r = d & s; lazy_set(cpu, LF_LOGIC, size, d, s, r); break;
    case XOR: r = d ^ s; lazy_set(cpu, LF_LOGIC, size, d, s, r); break;
    case ADC:
        cin = flags_cf(cpu);
        r = d + (s & m) + cin;
        lazy_set(cpu, LF_ADC, size, d, s, r);
        cpu->lf.cin = (uint8_t)cin;
        break;
    case SBB:
        cin = flags_cf(cpu);
        r = d - (s & m) - cin;
        lazy_set(cpu, LF_SBB, size, d, s, r);
        cpu->lf.cin = (uint8_t)cin;
        break;
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
ALU_SIZES(adc, ADC) ALU_SIZES(sbb, SBB)

/* ALU Gv,[mem] (02-3B with a memory r/m): the load, then the register form. */
#define ALU_LOAD(name, op, size) \
    static int name##_r_m##size(struct interp_cpu *cpu, const struct insn *in) \
    { \
        uint64_t v; \
        int r = mem_read(cpu, in->seg, insn_ea(cpu, in), size, &v); \
        return likely(!r) ? alu_reg(cpu, op, size, in->reg, v) : r; \
    }
#define ALU_LOADS(name, op) ALU_LOAD(name, op, 4) ALU_LOAD(name, op, 8)
ALU_LOADS(add, ADD) ALU_LOADS(or, OR) ALU_LOADS(adc, ADC) ALU_LOADS(sbb, SBB)
ALU_LOADS(and, AND) ALU_LOADS(sub, SUB) ALU_LOADS(xor, XOR) ALU_LOADS(cmp, CMP)
static const insn_fn alu_load_fast[8][2] = {
    { add_r_m4, add_r_m8 }, { or_r_m4, or_r_m8 }, { adc_r_m4, adc_r_m8 }, { sbb_r_m4, sbb_r_m8 },
    { and_r_m4, and_r_m8 }, { sub_r_m4, sub_r_m8 }, { xor_r_m4, xor_r_m8 }, { cmp_r_m4, cmp_r_m8 },
};

/* TEST r/m,r and r/m,imm with a register r/m (85, F7 /0). */
static int test_rr4(struct interp_cpu *cpu, const struct insn *in)
{ uint64_t r = (uint32_t)(cpu->gpr[in->rm] & cpu->gpr[in->reg]); lazy_set(cpu, LF_LOGIC, 4, r, r, r); return X_NEXT; }
static int test_rr8(struct interp_cpu *cpu, const struct insn *in)
{ uint64_t r = cpu->gpr[in->rm] & cpu->gpr[in->reg]; lazy_set(cpu, LF_LOGIC, 8, r, r, r); return X_NEXT; }
static int test_ri4(struct interp_cpu *cpu, const struct insn *in)
{ uint64_t r = (uint32_t)(cpu->gpr[in->rm] & in->imm); lazy_set(cpu, LF_LOGIC, 4, r, r, r); return X_NEXT; }
static int test_ri8(struct interp_cpu *cpu, const struct insn *in)
{ uint64_t r = cpu->gpr[in->rm] & in->imm; lazy_set(cpu, LF_LOGIC, 8, r, r, r); return X_NEXT; }

/* [op][form][size 4/8] */
#define ROW(name) { { name##_rm_r4, name##_rm_r8 }, { name##_r_rm4, name##_r_rm8 }, \
                    { name##_rm_imm4, name##_rm_imm8 }, { name##_a_imm4, name##_a_imm8 } }
static const insn_fn alu_fast[8][4][2] = {
    [ADD] = ROW(add), [OR] = ROW(or), [ADC] = ROW(adc), [SBB] = ROW(sbb),
    [AND] = ROW(and), [SUB] = ROW(sub), [XOR] = ROW(xor), [CMP] = ROW(cmp),
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

/* INC/DEC keep CF: the lazy states whose CF is cheap are read inline, the
 * others through a call kept out of the fast path (no stack frame there). */
static ALWAYS_INLINE int incdec_with_cf(struct interp_cpu *cpu, unsigned reg, unsigned size, bool dec, uint8_t cf)
{
    uint64_t m = size_mask(size), d = cpu->gpr[reg] & m, r = dec ? d - 1 : d + 1;
    cpu->gpr[reg] = r & m;
    lazy_set(cpu, dec ? LF_DEC : LF_INC, size, d, 1, r);
    cpu->lf.cin = cf;
    return X_NEXT;
}

static __attribute__((noinline)) int incdec_slow_cf(struct interp_cpu *cpu, unsigned reg, unsigned size, bool dec)
{
    return incdec_with_cf(cpu, reg, size, dec, flags_cf(cpu));
}

static ALWAYS_INLINE int incdec_reg(struct interp_cpu *cpu, unsigned reg, unsigned size, bool dec)
{
    const struct lazy_flags *lf = &cpu->lf;
    uint64_t m = size_mask(lf->size);
    uint8_t cf;
    if (lf->op == LF_SUB)
        cf = (lf->dst & m) < (lf->src & m);
    else if (lf->op == LF_ADD)
        cf = (lf->res & m) < (lf->dst & m);
    else if (lf->op == LF_INC || lf->op == LF_DEC)
        cf = lf->cin;
    else if (lf->op == LF_LOGIC)
        cf = 0;
    else
        return incdec_slow_cf(cpu, reg, size, dec);
    return incdec_with_cf(cpu, reg, size, dec, cf);
}

static int inc4(struct interp_cpu *cpu, const struct insn *in) { return incdec_reg(cpu, in->rm, 4, false); }
static int dec4(struct interp_cpu *cpu, const struct insn *in) { return incdec_reg(cpu, in->rm, 4, true); }
static int inc8(struct interp_cpu *cpu, const struct insn *in) { return incdec_reg(cpu, in->rm, 8, false); }
static int dec8(struct interp_cpu *cpu, const struct insn *in) { return incdec_reg(cpu, in->rm, 8, true); }

/* SHL/SHR/SAR r32/r64 by an immediate, 1 or CL (C1, D1, D3): flags lazily, as
 * in shift.c; a count of 0 changes no flag but still zero-extends. */
static ALWAYS_INLINE int shift_reg(struct interp_cpu *cpu, const struct insn *in, unsigned size, unsigned kind)
{
    unsigned c = (in->opc == 0xd1 ? 1u : in->opc == 0xd3 ? (unsigned)cpu->gpr[GPR_RCX] : (unsigned)in->imm)
                 & (size == 8 ? 63u : 31u);
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

/* IMUL Gv,Ev and Gv,Ev,imm with register operands; flags lazily (LF_MUL). */
static ALWAYS_INLINE int imul_reg(struct interp_cpu *cpu, unsigned dreg, unsigned size, uint64_t a, uint64_t b)
{
    uint64_t lo;
    bool ovf;
    if (size == 8) {
        int64_t p;
        ovf = __builtin_mul_overflow((int64_t)a, (int64_t)b, &p);
        lo = (uint64_t)p;
    } else {
        int64_t p = (int64_t)(int32_t)a * (int32_t)b;
        ovf = p != (int32_t)p;
        lo = (uint32_t)p;
    }
    cpu->gpr[dreg] = lo;
    lazy_set(cpu, LF_MUL, size, 0, 0, lo);
    cpu->lf.cin = ovf;
    return X_NEXT;
}

/* MUL r (F7 /4, a register operand): RDX:RAX = RAX * r unsigned (EDX:EAX,
 * zero-extended, at 32 bits); CF = OF = a non-zero high half, flags lazily. */
static ALWAYS_INLINE int mul_reg(struct interp_cpu *cpu, const struct insn *in, unsigned size, bool flags)
{
    uint64_t lo, hi;
    if (size == 8) {
        unsigned __int128 p = (unsigned __int128)cpu->gpr[GPR_RAX] * cpu->gpr[in->rm];
        lo = (uint64_t)p;
        hi = (uint64_t)(p >> 64);
    } else {
        uint64_t p = (uint64_t)(uint32_t)cpu->gpr[GPR_RAX] * (uint32_t)cpu->gpr[in->rm];
        lo = (uint32_t)p;
        hi = p >> 32;
    }
    cpu->gpr[GPR_RAX] = lo;
    cpu->gpr[GPR_RDX] = hi;
    if (flags) {
        lazy_set(cpu, LF_MUL, size, 0, 0, lo);
        cpu->lf.cin = hi != 0;
    }
    return X_NEXT;
}

static int mul_r4(struct interp_cpu *cpu, const struct insn *in) { return mul_reg(cpu, in, 4, true); }
static int mul_r8(struct interp_cpu *cpu, const struct insn *in) { return mul_reg(cpu, in, 8, true); }

static int imul_rr4(struct interp_cpu *cpu, const struct insn *in) { return imul_reg(cpu, in->reg, 4, cpu->gpr[in->reg], cpu->gpr[in->rm]); }
static int imul_rr8(struct interp_cpu *cpu, const struct insn *in) { return imul_reg(cpu, in->reg, 8, cpu->gpr[in->reg], cpu->gpr[in->rm]); }
static int imul_rri4(struct interp_cpu *cpu, const struct insn *in) { return imul_reg(cpu, in->reg, 4, cpu->gpr[in->rm], in->imm); }
static int imul_rri8(struct interp_cpu *cpu, const struct insn *in) { return imul_reg(cpu, in->reg, 8, cpu->gpr[in->rm], in->imm); }

/* MOVZX/MOVSX from a low byte or word register (0F B6 B7 BE BF), MOVSXD
 * (63) and LEA into a 32- or 64-bit register. */
static ALWAYS_INLINE void put_wide(struct interp_cpu *cpu, const struct insn *in, uint64_t v)
{
    cpu->gpr[in->reg] = in->osz == 8 ? v : (uint32_t)v;
}

static int movzx_r8(struct interp_cpu *cpu, const struct insn *in) { put_wide(cpu, in, (uint8_t)cpu->gpr[in->rm8]); return X_NEXT; }
static int movzx_r16(struct interp_cpu *cpu, const struct insn *in) { put_wide(cpu, in, (uint16_t)cpu->gpr[in->rm]); return X_NEXT; }
static int movsx_r8(struct interp_cpu *cpu, const struct insn *in) { put_wide(cpu, in, (uint64_t)(int64_t)(int8_t)cpu->gpr[in->rm8]); return X_NEXT; }
static int movsx_r16(struct interp_cpu *cpu, const struct insn *in) { put_wide(cpu, in, (uint64_t)(int64_t)(int16_t)cpu->gpr[in->rm]); return X_NEXT; }
static int movsxd_rr(struct interp_cpu *cpu, const struct insn *in) { cpu->gpr[in->reg] = (uint64_t)(int64_t)(int32_t)cpu->gpr[in->rm]; return X_NEXT; }
static int lea_wide(struct interp_cpu *cpu, const struct insn *in) { put_wide(cpu, in, insn_ea(cpu, in)); return X_NEXT; }

/* MOVZX/MOVSX from memory (0F B6 B7 BE BF). */
#define MOVX_LOAD(name, ssize, conv) \
    static int name(struct interp_cpu *cpu, const struct insn *in) \
    { \
        uint64_t v; \
        int r = mem_read(cpu, in->seg, insn_ea(cpu, in), ssize, &v); \
        if (likely(!r)) \
            put_wide(cpu, in, conv); \
        return r; \
    }
MOVX_LOAD(movzx_m8, 1, v) MOVX_LOAD(movzx_m16, 2, v)
MOVX_LOAD(movsx_m8, 1, (uint64_t)(int64_t)(int8_t)v) MOVX_LOAD(movsx_m16, 2, (uint64_t)(int64_t)(int16_t)v)

static bool specialize_movx(struct insn *in)
{
    static const insn_fn movx_reg[4] = { movzx_r8, movzx_r16, movsx_r8, movsx_r16 };
    static const insn_fn movx_mem[4] = { movzx_m8, movzx_m16, movsx_m8, movsx_m16 };
    bool byte = !(in->opc & 1);
    unsigned k = ((in->opc >> 2) & 2) | !byte;
    if (!in->mod3)
        in->fn = movx_mem[k];
    else if (!byte || in->rm8 < 16)               /* AH..BH keep the general handler */
        in->fn = movx_reg[k];
    return true;
}

static bool specialize_widen(struct insn *in)
{
    if (in->fn == op_movx)
        return specialize_movx(in);
    if (in->fn == op_test_rm_r && in->mod3) {
        in->fn = in->osz == 8 ? test_rr8 : test_rr4;
        return true;
    }
    if (in->fn == op_test_rm_imm && in->mod3) {
        in->fn = in->osz == 8 ? test_ri8 : test_ri4;
        return true;
    }
    if (in->fn == op_movsxd && in->mod3 && in->osz == 8) {
        in->fn = movsxd_rr;
        return true;
    }
    if (in->fn == op_lea) {
        in->fn = lea_wide;
        return true;
    }
    if (in->fn == op_imul_r_rm && in->mod3) {
        in->fn = in->osz == 8 ? imul_rr8 : imul_rr4;
        return true;
    }
    if (in->fn == op_mul1 && in->mod3 && in->ext == 4) {
        in->fn = in->osz == 8 ? mul_r8 : mul_r4;
        return true;
    }
    if (in->fn == op_imul_r_rm_imm && in->mod3) {
        in->fn = in->osz == 8 ? imul_rri8 : imul_rri4;
        return true;
    }
    return false;
}

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
    if (insn_specialize_cond(in) || insn_specialize_stack(in))
        return;
    if (!wide || specialize_widen(in))
        return;
    if (in->fn == op_grp2 && in->mod3 && (in->opc == 0xc1 || in->opc == 0xd1 || in->opc == 0xd3) && in->ext >= 4) {
        static const insn_fn shifts[2][4] = { { shl4, shr4, shl4, sar4 }, { shl8, shr8, shl8, sar8 } };
        in->fn = shifts[si][in->ext - 4];
        return;
    }
    unsigned form = alu_form(in->fn);
    if (form < 4 && (in->mod3 || form == 3)) {
        unsigned op = form == 2 ? in->ext : (in->opc >> 3) & 7;
        if (alu_fast[op][form][si])
            in->fn = alu_fast[op][form][si];
    } else if (form == 1) {
        in->fn = alu_load_fast[(in->opc >> 3) & 7][si];
    } else if (in->fn == op_mov_rm_r || in->fn == op_mov_r_rm) {
        bool store = in->fn == op_mov_rm_r;
        insn_fn shaped = in->mod3 ? NULL : mem_move_handler(in, store);
        if (shaped)
            in->fn = shaped;
        else if (store)
            in->fn = in->mod3 ? (si ? mov_rr8 : mov_rr4) : (si ? store8 : store4);
        else
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

/* ---- flag-free twins ----
 * Within a block, an instruction whose arithmetic flags the next flag
 * writer overwrites before anything reads them (or can fault, or ends the
 * block) need not record them.  block_prune_flags() finds those by a
 * backward pass over a decoded block and swaps in these twins.  A block
 * that stops early (an instruction budget, single-stepping) would expose
 * the skipped flags, so such runs go back to the full handlers
 * (insn_flags_exact). */
#define ALU_NF_FORMS(name, OP, size) \
    static int name##_rm_r##size##_nf(struct interp_cpu *cpu, const struct insn *in) \
    { cpu->gpr[in->rm] = (cpu->gpr[in->rm] OP cpu->gpr[in->reg]) & size_mask(size); return X_NEXT; } \
    static int name##_r_rm##size##_nf(struct interp_cpu *cpu, const struct insn *in) \
    { cpu->gpr[in->reg] = (cpu->gpr[in->reg] OP cpu->gpr[in->rm]) & size_mask(size); return X_NEXT; } \
    static int name##_rm_imm##size##_nf(struct interp_cpu *cpu, const struct insn *in) \
    { cpu->gpr[in->rm] = (cpu->gpr[in->rm] OP in->imm) & size_mask(size); return X_NEXT; } \
    static int name##_a_imm##size##_nf(struct interp_cpu *cpu, const struct insn *in) \
    { cpu->gpr[GPR_RAX] = (cpu->gpr[GPR_RAX] OP in->imm) & size_mask(size); return X_NEXT; }
#define ALU_NF(name, OP) ALU_NF_FORMS(name, OP, 4) ALU_NF_FORMS(name, OP, 8)
ALU_NF(add, +) ALU_NF(or, |) ALU_NF(and, &) ALU_NF(sub, -) ALU_NF(xor, ^)

static ALWAYS_INLINE int shift_reg_nf(struct interp_cpu *cpu, const struct insn *in, unsigned size, unsigned kind)
{
    unsigned c = (in->opc == 0xd1 ? 1u : (unsigned)in->imm) & (size == 8 ? 63u : 31u);
    uint64_t m = size_mask(size), d = cpu->gpr[in->rm] & m;
    if (kind == LF_SHL)
        cpu->gpr[in->rm] = (d << c) & m;
    else if (kind == LF_SHR)
        cpu->gpr[in->rm] = d >> c;
    else
        cpu->gpr[in->rm] = (uint64_t)(sign_extend(d, size) >> c) & m;
    return X_NEXT;
}
static int shl4_nf(struct interp_cpu *cpu, const struct insn *in) { return shift_reg_nf(cpu, in, 4, LF_SHL); }
static int shr4_nf(struct interp_cpu *cpu, const struct insn *in) { return shift_reg_nf(cpu, in, 4, LF_SHR); }
static int sar4_nf(struct interp_cpu *cpu, const struct insn *in) { return shift_reg_nf(cpu, in, 4, LF_SAR); }
static int shl8_nf(struct interp_cpu *cpu, const struct insn *in) { return shift_reg_nf(cpu, in, 8, LF_SHL); }
static int shr8_nf(struct interp_cpu *cpu, const struct insn *in) { return shift_reg_nf(cpu, in, 8, LF_SHR); }
static int sar8_nf(struct interp_cpu *cpu, const struct insn *in) { return shift_reg_nf(cpu, in, 8, LF_SAR); }

static int mul_r4_nf(struct interp_cpu *cpu, const struct insn *in) { return mul_reg(cpu, in, 4, false); }
static int mul_r8_nf(struct interp_cpu *cpu, const struct insn *in) { return mul_reg(cpu, in, 8, false); }
static int imul_rr4_nf(struct interp_cpu *cpu, const struct insn *in)
{ cpu->gpr[in->reg] = (uint32_t)(cpu->gpr[in->reg] * cpu->gpr[in->rm]); return X_NEXT; }
static int imul_rr8_nf(struct interp_cpu *cpu, const struct insn *in)
{ cpu->gpr[in->reg] = cpu->gpr[in->reg] * cpu->gpr[in->rm]; return X_NEXT; }
static int imul_rri4_nf(struct interp_cpu *cpu, const struct insn *in)
{ cpu->gpr[in->reg] = (uint32_t)(cpu->gpr[in->rm] * in->imm); return X_NEXT; }
static int imul_rri8_nf(struct interp_cpu *cpu, const struct insn *in)
{ cpu->gpr[in->reg] = cpu->gpr[in->rm] * in->imm; return X_NEXT; }

/* ROL/ROR by an immediate or 1 (C1/D1 /0 /1) write only CF and OF and keep
 * the rest: when those are unread, the rotation alone remains. */
static ALWAYS_INLINE int rotate_reg_nf(struct interp_cpu *cpu, const struct insn *in, unsigned size, bool right)
{
    unsigned bits = size * 8, c = (in->opc == 0xd1 ? 1u : (unsigned)in->imm) & (size == 8 ? 63u : 31u) & (bits - 1);
    uint64_t m = size_mask(size), d = cpu->gpr[in->rm] & m;
    if (c)
        d = right ? ((d >> c) | (d << (bits - c))) & m : ((d << c) | (d >> (bits - c))) & m;
    cpu->gpr[in->rm] = d;
    return X_NEXT;
}
static int rol4_nf(struct interp_cpu *cpu, const struct insn *in) { return rotate_reg_nf(cpu, in, 4, false); }
static int ror4_nf(struct interp_cpu *cpu, const struct insn *in) { return rotate_reg_nf(cpu, in, 4, true); }
static int rol8_nf(struct interp_cpu *cpu, const struct insn *in) { return rotate_reg_nf(cpu, in, 8, false); }
static int ror8_nf(struct interp_cpu *cpu, const struct insn *in) { return rotate_reg_nf(cpu, in, 8, true); }

static bool is_rotate_imm(const struct insn *in)
{
    return in->fn == op_grp2 && in->mod3 && (in->opc == 0xc1 || in->opc == 0xd1) && in->ext <= 1 &&
           (in->osz == 4 || in->osz == 8);
}

#define NF_ROW(name, size) { name##_rm_r##size, name##_rm_r##size##_nf }, { name##_r_rm##size, name##_r_rm##size##_nf }, \
    { name##_rm_imm##size, name##_rm_imm##size##_nf }, { name##_a_imm##size, name##_a_imm##size##_nf }
#define NF_ROWS(name) NF_ROW(name, 4), NF_ROW(name, 8)

/* Handlers that set all six arithmetic flags and nothing else can observe
 * them (register operands, no fault), with their flag-free twins. */
static const struct { insn_fn full, nf; } flag_twins[] = {
    NF_ROWS(add), NF_ROWS(or), NF_ROWS(and), NF_ROWS(sub), NF_ROWS(xor),
    { shl4, shl4_nf }, { shr4, shr4_nf }, { sar4, sar4_nf }, { shl8, shl8_nf }, { shr8, shr8_nf }, { sar8, sar8_nf },
    { imul_rr4, imul_rr4_nf }, { imul_rr8, imul_rr8_nf }, { imul_rri4, imul_rri4_nf }, { imul_rri8, imul_rri8_nf },
    { mul_r4, mul_r4_nf }, { mul_r8, mul_r8_nf },
};
#define FLAG_TWINS (sizeof(flag_twins) / sizeof(flag_twins[0]))

/* Handlers by address, for the decode-time passes (flag pruning, the
 * block compiler) that ask "which one is this?" for every instruction:
 * an open-addressed table filled once at start-up. */
enum fn_role { ROLE_OTHER, ROLE_FULL, ROLE_NF, ROLE_UNTOUCHED };
struct fn_info {
    insn_fn fn;
    insn_fn twin;             /* ROLE_FULL: its flag-free twin; ROLE_NF: the full handler */
    uint8_t role;
};
#define FN_SLOTS 512          /* power of two, well above this file's handlers */
static struct fn_info fn_index[FN_SLOTS];

static unsigned fn_slot(insn_fn fn)
{
    uintptr_t p = (uintptr_t)fn;
    return (unsigned)((p >> 4) ^ (p >> 13)) & (FN_SLOTS - 1);
}

static const struct fn_info *fn_find(insn_fn fn)
{
    for (unsigned i = fn_slot(fn);; i = (i + 1) & (FN_SLOTS - 1)) {
        if (fn_index[i].fn == fn)
            return &fn_index[i];
        if (!fn_index[i].fn)
            return NULL;
    }
}

static void fn_add(insn_fn fn, insn_fn twin, uint8_t role)
{
    unsigned i = fn_slot(fn);
    while (fn_index[i].fn && fn_index[i].fn != fn)
        i = (i + 1) & (FN_SLOTS - 1);
    if (fn_index[i].fn && role == ROLE_OTHER)
        return;                                   /* already known with a role */
    fn_index[i] = (struct fn_info){ fn, twin, role };
}

static void fn_add_all(const insn_fn *fns, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (fns[i])
            fn_add(fns[i], NULL, ROLE_OTHER);
}

/* Neither reads nor writes flags, cannot fault, always continues. */
static const insn_fn untouched[] = { mov_rr4, mov_rr8, mov_rr4_rev, mov_rr8_rev, mov_ri4, mov_ri8, lea_wide,
                                     movzx_r8, movzx_r16, movsx_r8, movsx_r16, movsxd_rr };

static void __attribute__((constructor)) fn_index_build(void)
{
    for (size_t i = 0; i < FLAG_TWINS; i++) {
        fn_add(flag_twins[i].full, flag_twins[i].nf, ROLE_FULL);
        fn_add(flag_twins[i].nf, flag_twins[i].full, ROLE_NF);
    }
    static const insn_fn rot_nf[] = { rol4_nf, ror4_nf, rol8_nf, ror8_nf };
    for (size_t i = 0; i < 4; i++)
        fn_add(rot_nf[i], op_grp2, ROLE_NF);
    for (size_t i = 0; i < sizeof(untouched) / sizeof(untouched[0]); i++)
        fn_add(untouched[i], NULL, ROLE_UNTOUCHED);
    fn_add_all(&alu_fast[0][0][0], sizeof(alu_fast) / sizeof(insn_fn));
    fn_add_all(&alu_load_fast[0][0], sizeof(alu_load_fast) / sizeof(insn_fn));
    static const insn_fn more[] = { test_rr4, test_rr8, test_ri4, test_ri8, shl4, shr4, sar4, shl8, shr8, sar8,
                                    inc4, dec4, inc8, dec8,
                                    imul_rr4, imul_rr8, imul_rri4, imul_rri8, mul_r4, mul_r8, movzx_m8, movzx_m16, movsx_m8,
                                    movsx_m16 };
    fn_add_all(more, sizeof(more) / sizeof(more[0]));
}

static bool flags_untouched(insn_fn fn)
{
    const struct fn_info *f = fn_find(fn);
    return f && f->role == ROLE_UNTOUCHED;
}

/* The flag-free twin of a full flag writer, or NULL.  A shift by CL may
 * shift by 0 and leave the flags alone: not a full writer. */
static insn_fn flag_free_twin(const struct insn *in)
{
    const struct fn_info *f = fn_find(in->fn);
    if (!f || f->role != ROLE_FULL)
        return NULL;
    if ((in->fn == shl4 || in->fn == shr4 || in->fn == sar4 || in->fn == shl8 || in->fn == shr8 || in->fn == sar8) &&
        (in->opc == 0xd3 || (in->opc == 0xc1 && !(in->imm & (in->osz == 8 ? 63u : 31u)))))
        return NULL;
    return f->twin;
}

void block_prune_flags(struct insn *insns, unsigned n)
{
    bool live = true;                             /* at the block's end anything may read them */
    for (unsigned i = n; i-- > 0;) {
        struct insn *in = &insns[i];
        if (is_rotate_imm(in)) {                  /* a partial writer: dead flags stay dead */
            if (!live) {
                static const insn_fn rot[2][2] = { { rol4_nf, ror4_nf }, { rol8_nf, ror8_nf } };
                in->fn = rot[in->osz == 8][in->ext];
            }
            continue;
        }
        insn_fn nf = flag_free_twin(in);
        if (nf) {
            if (!live)
                in->fn = nf;
            live = false;
        } else if (!flags_untouched(in->fn)) {
            live = true;
        }
    }
}

insn_fn insn_flags_exact(insn_fn fn)
{
    const struct fn_info *f = fn_find(fn);
    return f && f->role == ROLE_NF ? f->twin : fn;
}

/* ---- descriptions for the block compiler (jit.h) ---- */

static bool describe_alu(const struct insn *in, insn_fn fn, bool flags, struct jit_desc *d)
{
    for (unsigned op = 0; op < 8; op++)
        for (unsigned form = 0; form < 4; form++)
            for (unsigned si = 0; si < 2; si++) {
                if (alu_fast[op][form][si] != fn)
                    continue;
                d->kind = form < 2 ? JK_ALU_RR : JK_ALU_RI;
                d->op = (uint8_t)op;
                d->size = si ? 8 : 4;
                d->flags = flags;
                d->dst = form == 0 || form == 2 ? in->rm : form == 1 ? in->reg : GPR_RAX;
                d->src = form == 0 ? in->reg : in->rm;
                return true;
            }
    for (unsigned op = 0; op < 8; op++)
        for (unsigned si = 0; si < 2; si++)
            if (alu_load_fast[op][si] == fn && in->asz == 8) {
                *d = (struct jit_desc){ .kind = JK_ALU_RM, .op = (uint8_t)op, .size = si ? 8 : 4,
                                        .dst = in->reg, .flags = true };
                return true;
            }
    return false;
}

static bool describe_shift_mul(const struct insn *in, insn_fn fn, bool flags, struct jit_desc *d)
{
    static const insn_fn shift[2][3] = { { shl4, shr4, sar4 }, { shl8, shr8, sar8 } };
    static const uint8_t shift_ext[3] = { 4, 5, 7 };
    for (unsigned si = 0; si < 2; si++)
        for (unsigned k = 0; k < 3; k++)
            if (shift[si][k] == fn && in->opc != 0xd3) {
                unsigned c = (in->opc == 0xd1 ? 1u : (unsigned)in->imm) & (si ? 63u : 31u);
                if (!c && flags)
                    return false;                 /* no flag change: the handler knows */
                *d = (struct jit_desc){ .kind = JK_SHIFT_I, .op = shift_ext[k], .size = si ? 8 : 4,
                                        .dst = in->rm, .src = (uint8_t)c, .flags = flags };
                return true;
            }
    static const insn_fn incdec[2][2] = { { inc4, dec4 }, { inc8, dec8 } };
    for (unsigned si = 0; si < 2; si++)
        for (unsigned k = 0; k < 2; k++)
            if (incdec[si][k] == fn) {
                *d = (struct jit_desc){ .kind = JK_INCDEC, .op = (uint8_t)k, .size = si ? 8 : 4, .dst = in->rm,
                                        .flags = true };
                return true;
            }
    if (fn == imul_rr4 || fn == imul_rr8) {
        *d = (struct jit_desc){ .kind = JK_IMUL_RR, .size = fn == imul_rr8 ? 8 : 4, .dst = in->reg,
                                .src = in->rm, .flags = flags };
        return true;
    }
    if (fn == imul_rri4 || fn == imul_rri8) {
        *d = (struct jit_desc){ .kind = JK_IMUL_RRI, .size = fn == imul_rri8 ? 8 : 4, .dst = in->reg,
                                .src = in->rm, .flags = flags };
        return true;
    }
    if (fn == mul_r4 || fn == mul_r8) {
        *d = (struct jit_desc){ .kind = JK_MUL_R, .size = fn == mul_r8 ? 8 : 4, .src = in->rm, .flags = flags };
        return true;
    }
    return false;
}

static bool describe_move(const struct insn *in, insn_fn fn, struct jit_desc *d)
{
    static const insn_fn movx_reg[4] = { movzx_r8, movzx_r16, movsx_r8, movsx_r16 };
    static const insn_fn movx_mem[4] = { movzx_m8, movzx_m16, movsx_m8, movsx_m16 };
    uint8_t size = in->osz;
    if (fn == mov_rr4 || fn == mov_rr8)
        *d = (struct jit_desc){ .kind = JK_MOV_RR, .size = fn == mov_rr8 ? 8 : 4, .dst = in->rm, .src = in->reg };
    else if (fn == mov_rr4_rev || fn == mov_rr8_rev)
        *d = (struct jit_desc){ .kind = JK_MOV_RR, .size = fn == mov_rr8_rev ? 8 : 4, .dst = in->reg, .src = in->rm };
    else if (fn == mov_ri4 || fn == mov_ri8)
        *d = (struct jit_desc){ .kind = JK_MOV_RI, .size = fn == mov_ri8 ? 8 : 4, .dst = in->reg };
    else if (fn == test_rr4 || fn == test_rr8)
        *d = (struct jit_desc){ .kind = JK_TEST_RR, .size = fn == test_rr8 ? 8 : 4, .dst = in->rm, .src = in->reg,
                                .flags = true };
    else if (fn == test_ri4 || fn == test_ri8)
        *d = (struct jit_desc){ .kind = JK_TEST_RI, .size = fn == test_ri8 ? 8 : 4, .dst = in->rm, .flags = true };
    else if (fn == movsxd_rr)
        *d = (struct jit_desc){ .kind = JK_MOVSXD, .size = 8, .dst = in->reg, .src = in->rm };
    else if (fn == lea_wide && in->asz == 8)
        *d = (struct jit_desc){ .kind = JK_LEA, .size = size, .dst = in->reg };
    else {
        for (unsigned k = 0; k < 4; k++) {
            if (fn == movx_reg[k]) {
                *d = (struct jit_desc){ .kind = JK_MOVX_R, .op = (uint8_t)k, .size = size, .dst = in->reg,
                                        .src = k & 1 ? in->rm : in->rm8 };
                return true;
            }
            if (fn == movx_mem[k] && in->asz == 8) {
                *d = (struct jit_desc){ .kind = JK_MOVX_M, .op = (uint8_t)k, .size = size, .dst = in->reg };
                return true;
            }
        }
        return false;
    }
    return true;
}

bool fastpath_jit_desc(const struct insn *in, struct jit_desc *d)
{
    if (!fn_find(in->fn))
        return false;                             /* not one of this file's */
    static const insn_fn rot_nf[2][2] = { { rol4_nf, ror4_nf }, { rol8_nf, ror8_nf } };
    for (unsigned si = 0; si < 2; si++)
        for (unsigned k = 0; k < 2; k++)
            if (rot_nf[si][k] == in->fn) {
                unsigned size = si ? 8 : 4;
                unsigned c = (in->opc == 0xd1 ? 1u : (unsigned)in->imm) & (size == 8 ? 63u : 31u) & (size * 8 - 1);
                *d = (struct jit_desc){ .kind = JK_ROT_NF, .op = (uint8_t)k, .size = (uint8_t)size, .dst = in->rm,
                                        .src = (uint8_t)c };
                return true;
            }
    insn_fn full = insn_flags_exact(in->fn);
    bool flags = full == in->fn;
    return describe_alu(in, full, flags, d) || describe_shift_mul(in, full, flags, d) ||
           (flags && describe_move(in, in->fn, d));
}
