/*
 * Shifts and rotates (group 2: ROL ROR RCL RCR SHL SHR SAL SAR) and
 * SHLD/SHRD.  SHL/SHR/SAR record their flags lazily (they are hot);
 * rotates and double shifts compute them eagerly.  OF for counts above 1
 * and AF are undefined; we use the count-1 formula and 0.
 */
#include "interp_internal.h"

static uint64_t szp_flags(uint64_t r, unsigned size)
{
    uint64_t f = parity_flag(r);
    if ((r & size_mask(size)) == 0)
        f |= RFLAGS_ZF;
    if (r & sign_bit(size))
        f |= RFLAGS_SF;
    return f;
}

/* SHL/SAL, SHR, SAR result; the flags are recorded lazily by the caller. */
static uint64_t do_shift(unsigned op, unsigned size, uint64_t d, unsigned c)
{
    uint64_t m = size_mask(size);
    d &= m;
    if (op == 5)
        return c >= 64 ? 0 : d >> c;
    if (op == 7)
        return (uint64_t)(sign_extend(d, size) >> (c > 63 ? 63 : c)) & m;
    return c >= 64 ? 0 : (d << c) & m;
}

static const uint8_t shift_lazy_op[8] = { [4] = LF_SHL, [5] = LF_SHR, [6] = LF_SHL, [7] = LF_SAR };

static uint64_t do_rotate(struct interp_cpu *cpu, unsigned op, unsigned size, uint64_t d, unsigned c)
{
    unsigned bits = size * 8;
    uint64_t m = size_mask(size), sb = sign_bit(size), r = d & m;
    flags_materialize(cpu);
    bool cf = cpu->st->rflags & RFLAGS_CF, of;
    switch (op) {
    case 0:                                           /* ROL */
        c %= bits;
        r = c ? ((r << c) | (r >> (bits - c))) & m : r;
        cf = r & 1;
        of = ((r & sb) != 0) != cf;
        break;
    case 1:                                           /* ROR */
        c %= bits;
        r = c ? ((r >> c) | (r << (bits - c))) & m : r;
        cf = (r & sb) != 0;
        of = cf != ((r & (sb >> 1)) != 0);
        break;
    case 2:                                           /* RCL: rotate through CF */
        c %= bits + 1;
        for (unsigned i = 0; i < c; i++) {
            bool out = (r & sb) != 0;
            r = ((r << 1) | cf) & m;
            cf = out;
        }
        of = ((r & sb) != 0) != cf;
        break;
    default:                                          /* RCR */
        c %= bits + 1;
        for (unsigned i = 0; i < c; i++) {
            bool out = r & 1;
            r = (r >> 1) | (cf ? sb : 0);
            cf = out;
        }
        of = ((r & sb) != 0) != ((r & (sb >> 1)) != 0);
        break;
    }
    uint64_t f = (cf ? RFLAGS_CF : 0) | (of ? RFLAGS_OF : 0);
    flags_set_arith(cpu, RFLAGS_CF | RFLAGS_OF, f);
    return r;
}

/* Group 2 with the count from imm8 (C0 C1), 1 (D0 D1) or CL (D2 D3). */
int op_grp2(struct interp_cpu *cpu, const struct insn *in)
{
    unsigned size = in->osz;
    unsigned c = (in->opc <= 0xc1) ? (unsigned)in->imm : (in->opc <= 0xd1) ? 1 : (unsigned)cpu->gpr[GPR_RCX];
    c &= size == 8 ? 63 : 31;
    uint64_t d;
    int r = op_rm_get(cpu, in, size, &d, true);
    if (r)
        return r;
    if (c == 0)                                       /* no flags change; a 32-bit register still zero-extends */
        return op_rm_set(cpu, in, size, d);
    if (in->ext >= 4) {
        uint64_t res = do_shift(in->ext, size, d, c);
        if (!(r = op_rm_set(cpu, in, size, res)))
            lazy_set(cpu, (enum lazy_op)shift_lazy_op[in->ext], size, d & size_mask(size), c, res);
        return r;
    }
    uint64_t saved = flags_get(cpu);
    uint64_t res = do_rotate(cpu, in->ext, size, d, c);
    if ((r = op_rm_set(cpu, in, size, res))) {
        cpu->st->rflags = saved;
        cpu->lf.op = LF_NONE;
    }
    return r;
}

/* SHLD/SHRD Ev,Gv,Ib|CL (0F A4 A5 AC AD). */
int op_shxd(struct interp_cpu *cpu, const struct insn *in)
{
    unsigned size = in->osz, bits = size * 8;
    bool left = in->opc < 0x1a8;
    unsigned c = ((in->opc & 1) ? (unsigned)cpu->gpr[GPR_RCX] : (unsigned)in->imm) & (size == 8 ? 63 : 31);
    uint64_t m = size_mask(size), d, s = cpu->gpr[in->reg] & m;
    int r = op_rm_get(cpu, in, size, &d, true);
    if (r)
        return r;
    if (c == 0)
        return op_rm_set(cpu, in, size, d);
    /* Concatenate into 128 bits so every count (16-bit operands take up to
     * 31, an undefined but harmless case) shifts within the pair. */
    unsigned __int128 cat, res;
    bool cf;
    if (left) {
        cat = ((unsigned __int128)d << bits) | s;
        res = (cat << c) >> bits;
        cf = (cat >> (2 * bits - c)) & 1;
    } else {
        cat = ((unsigned __int128)s << bits) | d;
        res = cat >> c;
        cf = (cat >> (c - 1)) & 1;
    }
    uint64_t v = (uint64_t)res & m;
    uint64_t f = szp_flags(v, size) | (cf ? RFLAGS_CF : 0);
    if (((v ^ d) & sign_bit(size)) != 0)
        f |= RFLAGS_OF;
    uint64_t saved = flags_get(cpu);
    flags_set_arith(cpu, FLAGS_ARITH, f);
    if ((r = op_rm_set(cpu, in, size, v)))
        cpu->st->rflags = saved;
    return r;
}
