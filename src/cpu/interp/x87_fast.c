/*
 * The x87 fast path: the frequent instructions when every exception is
 * masked (the normal case: FNINIT's 0x037F, Linux's user default) and no
 * stack fault can occur.  Moves (FLD/FST/FSTP/FXCH ST(i), FLD1, FLDZ,
 * FCHS, FABS) are done in C; arithmetic, FSQRT, FCOMI/FUCOMI(P) and the
 * m32/m64 loads, stores and arithmetic run on the host FPU with only their
 * operands loaded (FLD m80 and FSTP m80 are exact and raise nothing), which
 * costs a fraction of the full FRSTOR/FNSAVE round trip of x87_host.c.
 * Anything else, or any empty operand / full destination, goes the general
 * way (X87_SLOW).  Only C1 is taken from the host (not even that for
 * FCOMI): the other condition codes are unchanged by these instructions.
 */
#include "x87.h"

#define FSW_C1 0x0200u

/* Host ST1 = b, ST0 = a; runs the stub of (esc, modrm); res = host ST0.
 * FLDCW and FNCLEX, which are slow, only run when the guest's control word
 * differs from the host's (precision or rounding control) and when a flag
 * of an earlier run is still set.
 * Returns the host FSW; *flags receives the host RFLAGS (FCOMI). */
static uint16_t fast_run(unsigned esc, unsigned modrm, const uint8_t *a, const uint8_t *b, void *mem,
                         uint8_t *res, uint16_t cw, uint64_t *flags)
{
    const uint8_t *stub = X87_STUB(esc, modrm);
    uint16_t cws[2] = { (uint16_t)(cw | 0x3fu), 0 };
    uint32_t sw;
    uint64_t fl;
    __asm__ volatile("sub $128, %%rsp\n\t"
                     "fnstcw 2(%[cw])\n\t"
                     "movzwl (%[cw]), %%eax\n\t"
                     "cmpw 2(%[cw]), %%ax\n\t"
                     "je 1f\n\t"
                     "fldcw (%[cw])\n"
                     "1:\n\t"
                     "fnstsw %%ax\n\t"
                     "testb $0x7f, %%al\n\t"
                     "jz 3f\n\t"
                     "fnclex\n"                    /* slow: only when a flag is set */
                     "3:\n\t"
                     "fldt (%[b])\n\t"
                     "fldt (%[a])\n\t"
                     "call *%[stub]\n\t"
                     "pushfq\n\t"
                     "popq %[fl]\n\t"
                     "fnstsw %%ax\n\t"
                     "fstpt (%[res])\n\t"
                     "emms\n\t"                 /* flags stay: the next run clears them first */
                     "movzwl (%[cw]), %%edx\n\t"
                     "cmpw 2(%[cw]), %%dx\n\t"
                     "je 2f\n\t"
                     "fldcw 2(%[cw])\n"
                     "2:\n\t"
                     "add $128, %%rsp"
                     : "=&a"(sw), [fl] "=&r"(fl)
                     : [cw] "r"(cws), [a] "r"(a), [b] "r"(b), [res] "r"(res), [stub] "r"(stub), "D"(mem)
                     : "rdx", "memory", "cc", "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", "st(7)",
                       "mm0", "mm1", "mm2", "mm3", "mm4", "mm5", "mm6", "mm7");
    *flags = fl;
    return (uint16_t)sw;
}

static uint8_t *st_reg(struct interp_cpu *cpu, unsigned i)
{
    return cpu->st->xsave + X87_REGS + (size_t)16 * (i & 7u);
}

static bool st_valid(const struct interp_cpu *cpu, unsigned top, unsigned i)
{
    return (cpu->st->xsave[X87_FTW] >> ((top + i) & 7u)) & 1;
}

static void set_fsw(struct interp_cpu *cpu, uint16_t fsw, unsigned top)
{
    store_le(cpu->st->xsave + X87_FSW, 2, (fsw & (uint16_t)~FSW_TOP) | (uint16_t)(top << 11));
    cpu->st->xsave[512] |= 1;
}

/* Push: the image is in stack order, so every slot moves down one. */
static void push(struct interp_cpu *cpu, const uint8_t v[10], uint16_t fsw, unsigned top)
{
    uint8_t *regs = st_reg(cpu, 0);
    memmove(regs + 16, regs, 112);
    memcpy(regs, v, 10);
    top = (top - 1) & 7u;
    cpu->st->xsave[X87_FTW] |= (uint8_t)(1u << top);
    set_fsw(cpu, fsw, top);
}

static void pop(struct interp_cpu *cpu, uint16_t fsw, unsigned top)
{
    uint8_t *regs = st_reg(cpu, 0), old[16];
    memcpy(old, regs, 16);
    memmove(regs, regs + 16, 112);
    memcpy(regs + 112, old, 16);
    cpu->st->xsave[X87_FTW] &= (uint8_t)~(1u << top);
    set_fsw(cpu, fsw, (top + 1) & 7u);
}

/* The C moves of D9 (FLD/FXCH ST(i), FCHS, FABS, FLD1, FLDZ) and DD (FST/FSTP ST(i)). */
static int fast_move(struct interp_cpu *cpu, unsigned esc, unsigned modrm, uint16_t fsw, unsigned top)
{
    unsigned i = modrm & 7u;
    fsw &= (uint16_t)~FSW_C1;
    uint8_t v[10];
    if (esc == 5 && modrm >= 0xd0 && modrm <= 0xdf && st_valid(cpu, top, 0)) {   /* FST/FSTP ST(i) */
        memcpy(st_reg(cpu, i), st_reg(cpu, 0), 10);
        cpu->st->xsave[X87_FTW] |= (uint8_t)(1u << ((top + i) & 7u));
        if (modrm >= 0xd8)
            pop(cpu, fsw, top);
        else
            set_fsw(cpu, fsw, top);
        return X_NEXT;
    }
    if (esc != 1)
        return X87_SLOW;
    if (modrm < 0xc8 || modrm == 0xe8 || modrm == 0xee) {                        /* FLD ST(i), FLD1, FLDZ */
        if (st_valid(cpu, top, 7) || (modrm < 0xc8 && !st_valid(cpu, top, i)))
            return X87_SLOW;
        if (modrm < 0xc8) {
            memcpy(v, st_reg(cpu, i), 10);
        } else {
            uint64_t m = modrm == 0xe8 ? UINT64_C(1) << 63 : 0;
            memcpy(v, &m, 8);
            store_le(v + 8, 2, modrm == 0xe8 ? 0x3fff : 0);
        }
        push(cpu, v, fsw, top);
        return X_NEXT;
    }
    if (!st_valid(cpu, top, 0))
        return X87_SLOW;
    if (modrm == 0xe0 || modrm == 0xe1) {                                       /* FCHS, FABS */
        uint8_t *r = st_reg(cpu, 0);
        r[9] = modrm == 0xe0 ? r[9] ^ 0x80 : r[9] & 0x7f;
        set_fsw(cpu, fsw, top);
        return X_NEXT;
    }
    if (modrm >= 0xc8 && modrm < 0xd0 && st_valid(cpu, top, i)) {               /* FXCH */
        memcpy(v, st_reg(cpu, 0), 10);
        memcpy(st_reg(cpu, 0), st_reg(cpu, i), 10);
        memcpy(st_reg(cpu, i), v, 10);
        set_fsw(cpu, fsw, top);
        return X_NEXT;
    }
    return X87_SLOW;
}

/* Host-computed register forms: arithmetic (D8, DC, DE), FSQRT, FCOMI. */
static int fast_reg_host(struct interp_cpu *cpu, unsigned esc, unsigned modrm, uint16_t fsw, uint16_t fcw,
                         unsigned top)
{
    unsigned i = modrm & 7u, reg = (modrm >> 3) & 7u, a = 0, b = i, dest = 0, hesc = 0, hmodrm;
    bool do_pop = false, comi = false;
    if (esc == 1 && modrm == 0xfa) {                                   /* FSQRT */
        hesc = 1;
        hmodrm = 0xfa;
        b = 0;
    } else if ((esc == 0 || esc == 4 || esc == 6) && reg != 2 && reg != 3) {
        if (esc != 0) {                                                /* ST(i) = ST(i) op ST(0): swap roles */
            a = i;
            b = 0;
            dest = i;
            reg ^= reg >= 4 ? 1u : 0u;
            do_pop = esc == 6;
        }
        hmodrm = 0xc1u | reg << 3;
    } else if ((esc == 3 || esc == 7) && modrm >= 0xe8 && modrm < 0xf8) {   /* FUCOMI, FCOMI (+P) */
        hesc = 3;
        hmodrm = (modrm & 0xf8u) | 1u;
        comi = true;
        do_pop = esc == 7;
    } else {
        return X87_SLOW;
    }
    if (!st_valid(cpu, top, a) || !st_valid(cpu, top, b))
        return X87_SLOW;
    uint8_t res[16];
    uint64_t fl;
    uint16_t hsw = fast_run(hesc, hmodrm, st_reg(cpu, a), st_reg(cpu, b), NULL, res, fcw, &fl);
    if (comi)                                                          /* FCOMI leaves C0-C3 alone */
        fsw |= hsw & 0x3fu;
    else
        fsw = (uint16_t)((fsw & ~FSW_C1) | (hsw & FSW_C1) | (hsw & 0x3fu));
    if (comi)
        flags_set_arith(cpu, FLAGS_ARITH, fl & (RFLAGS_CF | RFLAGS_ZF | RFLAGS_PF));
    else
        memcpy(st_reg(cpu, dest), res, 10);
    if (do_pop)
        pop(cpu, fsw, top);
    else
        set_fsw(cpu, fsw, top);
    return X_NEXT;
}

/* m32/m64 forms: FLD, FST, FSTP and the arithmetic (not FCOM/FCOMP). */
static int fast_mem(struct interp_cpu *cpu, const struct insn *in, unsigned esc, uint8_t *buf, uint64_t ea,
                    uint16_t fsw, uint16_t fcw, unsigned top)
{
    unsigned reg = in->ext & 7u, size = esc == 0 || esc == 1 ? 4 : 8;
    bool load = (esc == 1 || esc == 5) && reg == 0, st = (esc == 1 || esc == 5) && (reg == 2 || reg == 3);
    bool arith = (esc == 0 || esc == 4) && reg != 2 && reg != 3;
    if (!load && !st && !arith)
        return X87_SLOW;
    if (load ? st_valid(cpu, top, 7) : !st_valid(cpu, top, 0))
        return X87_SLOW;
    uint8_t res[16];
    uint64_t fl;
    unsigned hmodrm = (st ? 2u : reg) << 3;                            /* FSTP runs as FST, popped here */
    uint16_t hsw = fast_run(esc, hmodrm, st_reg(cpu, 0), st_reg(cpu, 0), buf, res, fcw, &fl);
    fsw = (uint16_t)((fsw & ~FSW_C1) | (hsw & FSW_C1) | (hsw & 0x3fu));
    if (st) {
        int r = mem_write(cpu, in->seg, ea, size, load_le(buf, size));
        if (r)
            return r;
        if (reg == 3)
            pop(cpu, fsw, top);
        else
            set_fsw(cpu, fsw, top);
    } else if (load) {
        push(cpu, res, fsw, top);
    } else {
        memcpy(st_reg(cpu, 0), res, 10);
        set_fsw(cpu, fsw, top);
    }
    return X_NEXT;
}

int x87_fast(struct interp_cpu *cpu, const struct insn *in, unsigned esc, unsigned modrm, uint8_t *buf,
             uint64_t ea)
{
    uint16_t fcw = x87_get(cpu, X87_FCW), fsw = x87_get(cpu, X87_FSW);
    if ((fcw & 0x3fu) != 0x3fu)
        return X87_SLOW;
    unsigned top = (fsw >> 11) & 7u;
    if (!in->mod3)
        return fast_mem(cpu, in, esc, buf, ea, fsw, fcw, top);
    int r = fast_move(cpu, esc, modrm, fsw, top);
    if (r != X87_SLOW)
        return r;
    return fast_reg_host(cpu, esc, modrm, fsw, fcw, top);
}
