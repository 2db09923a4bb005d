/*
 * Lazy arithmetic flags: ALU instructions record (op, size, operands,
 * result) and the six arithmetic flags are computed only when something
 * reads them (Jcc, PUSHF, an exception...), which is rare compared with how
 * often they are written.
 */
#include "interp_internal.h"

const uint64_t size_masks[16] = {
    0, 0xff, 0xffff, 0xffffff, 0xffffffff, 0xffffffffffull, 0xffffffffffffull, 0xffffffffffffffull,
    ~UINT64_C(0), ~UINT64_C(0), ~UINT64_C(0), ~UINT64_C(0), ~UINT64_C(0), ~UINT64_C(0), ~UINT64_C(0), ~UINT64_C(0),
};

bool flags_cf_slow(const struct interp_cpu *cpu)
{
    const struct lazy_flags *lf = &cpu->lf;
    uint64_t m = size_mask(lf->size);
    uint64_t d = lf->dst & m, s = lf->src & m, r = lf->res & m;
    switch (lf->op) {
    case LF_ADD:   return r < d;
    case LF_ADC:   return lf->cin ? r <= d : r < d;
    case LF_SUB:   return d < s;
    case LF_SBB:   return lf->cin ? d <= s : d < s;
    case LF_LOGIC: return false;
    case LF_INC:
    case LF_DEC:   return lf->cin;
    case LF_SHL:   return lf->src <= lf->size * UINT64_C(8) ? (d >> (lf->size * UINT64_C(8) - lf->src)) & 1 : 0;
    case LF_SHR:   return (d >> (lf->src - 1)) & 1;
    case LF_SAR:   return ((uint64_t)sign_extend(d, lf->size) >> (lf->src - 1 > 63 ? 63 : lf->src - 1)) & 1;
    case LF_MUL:   return lf->cin;
    default:       return cpu->st->rflags & RFLAGS_CF;
    }
}

static bool flags_of(const struct interp_cpu *cpu)
{
    const struct lazy_flags *lf = &cpu->lf;
    if (lf->op == LF_NONE)                          /* size is meaningless then (may be 0) */
        return cpu->st->rflags & RFLAGS_OF;
    uint64_t sb = sign_bit(lf->size);
    switch (lf->op) {
    case LF_ADD: case LF_ADC: case LF_INC:
        return ((lf->dst ^ lf->res) & (lf->src ^ lf->res) & sb) != 0;
    case LF_SUB: case LF_SBB: case LF_DEC:
        return ((lf->dst ^ lf->src) & (lf->dst ^ lf->res) & sb) != 0;
    case LF_LOGIC: case LF_SAR:
        return false;
    case LF_SHL:
        return ((lf->res & sb) != 0) != flags_cf(cpu);
    case LF_SHR:
        return (lf->dst & sb) != 0;
    case LF_MUL:
        return lf->cin;
    default:
        return cpu->st->rflags & RFLAGS_OF;
    }
}

uint64_t flags_arith(const struct interp_cpu *cpu)
{
    const struct lazy_flags *lf = &cpu->lf;
    if (lf->op == LF_NONE)
        return cpu->st->rflags & FLAGS_ARITH;
    uint64_t r = lf->res & size_mask(lf->size);
    uint64_t f = 0;
    if (flags_cf(cpu))
        f |= RFLAGS_CF;
    if (flags_of(cpu))
        f |= RFLAGS_OF;
    f |= parity_flag(r);
    if (r == 0)
        f |= RFLAGS_ZF;
    if (r & sign_bit(lf->size))
        f |= RFLAGS_SF;
    if ((lf->op < LF_LOGIC || lf->op == LF_INC || lf->op == LF_DEC) && ((lf->dst ^ lf->src ^ lf->res) & 0x10))
        f |= RFLAGS_AF;
    return f;
}

static bool flag_zf(const struct interp_cpu *cpu)
{
    if (cpu->lf.op == LF_NONE)
        return cpu->st->rflags & RFLAGS_ZF;
    return (cpu->lf.res & size_mask(cpu->lf.size)) == 0;
}

static bool flag_sf(const struct interp_cpu *cpu)
{
    if (cpu->lf.op == LF_NONE)
        return cpu->st->rflags & RFLAGS_SF;
    return (cpu->lf.res & sign_bit(cpu->lf.size)) != 0;
}

static bool flag_pf(const struct interp_cpu *cpu)
{
    if (cpu->lf.op == LF_NONE)
        return cpu->st->rflags & RFLAGS_PF;
    return parity_flag(cpu->lf.res) != 0;
}

bool cond_eval(const struct interp_cpu *cpu, unsigned cc)
{
    bool r;
    switch (cc >> 1) {
    case 0: r = flags_of(cpu); break;                                  /* O */
    case 1: r = flags_cf(cpu); break;                                  /* B */
    case 2: r = flag_zf(cpu); break;                                   /* Z */
    case 3: r = flags_cf(cpu) || flag_zf(cpu); break;                  /* BE */
    case 4: r = flag_sf(cpu); break;                                   /* S */
    case 5: r = flag_pf(cpu); break;                                   /* P */
    case 6: r = flag_sf(cpu) != flags_of(cpu); break;                  /* L */
    default: r = flag_zf(cpu) || (flag_sf(cpu) != flags_of(cpu)); break; /* LE */
    }
    return r != (cc & 1);
}
