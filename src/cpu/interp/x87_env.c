/*
 * The x87 environment: FNSTENV/FLDENV (14 or 28 bytes) and FNSAVE/FRSTOR
 * (94 or 108 bytes: the environment and ST(0)-ST(7) as 80-bit values).
 * The format follows the operand size (16-bit with a 66 prefix in 32-bit
 * code, 32-bit otherwise; 64-bit mode uses the 32-bit one) and the mode
 * (real/VM86 store linear instruction and data pointers with the opcode,
 * protected mode stores offsets and selectors).  The stored FCS and FDS are
 * 0, as on CPUs that deprecate them.  The full tag word is derived from the
 * abridged tag and the register contents, as hardware does.
 */
#include "x87.h"

void x87_set_fsw(struct interp_cpu *cpu, uint16_t fsw)
{
    uint8_t *regs = cpu->st->xsave + X87_REGS, old[128];
    unsigned shift = ((fsw >> 11) - (x87_get(cpu, X87_FSW) >> 11)) & 7u;
    if (shift) {
        memcpy(old, regs, sizeof(old));
        for (unsigned j = 0; j < 8; j++)
            memcpy(regs + (size_t)16 * j, old + (size_t)16 * ((j + shift) & 7u), 16);
    }
    x87_put(cpu, X87_FSW, fsw);
    x87_ferr_sync(cpu);
}

void x87_reset(struct interp_cpu *cpu)
{
    uint8_t *xs = cpu->st->xsave;
    x87_put(cpu, X87_FCW, 0x037f);             /* all exceptions masked, 64-bit precision, nearest */
    x87_set_fsw(cpu, 0);
    xs[X87_FTW] = 0;                           /* all registers empty */
    memset(xs + X87_FOP, 0, 18);               /* FOP, FIP, FDP */
}

uint16_t x87_full_tag(const uint8_t *fx)
{
    unsigned top = (load_le(fx + X87_FSW, 2) >> 11) & 7u, tw = 0;
    for (unsigned p = 0; p < 8; p++) {
        unsigned t = 3;                                    /* empty */
        if ((fx[X87_FTW] >> p) & 1) {
            const uint8_t *r = fx + X87_REGS + (size_t)16 * ((p - top) & 7u);
            uint64_t m = load_le(r, 8);
            unsigned e = (unsigned)load_le(r + 8, 2) & 0x7fffu;
            if (e == 0x7fff)
                t = 2;                                     /* special: NaN, infinity */
            else if (e == 0)
                t = m ? 2 : 1;                             /* denormal : zero */
            else
                t = (m >> 63) ? 0 : 2;                     /* valid : unnormal */
        }
        tw |= t << (2 * p);
    }
    return (uint16_t)tw;
}

/* Builds the environment image; returns its size. */
static unsigned env_store(const struct interp_cpu *cpu, bool op16, uint8_t *b)
{
    const uint8_t *xs = cpu->st->xsave;
    uint32_t fop = (uint32_t)load_le(xs + X87_FOP, 2) & 0x7ffu;
    uint64_t fip = load_le(xs + X87_FIP, 8), fdp = load_le(xs + X87_FDP, 8);
    uint32_t w[7] = { load_le(xs + X87_FCW, 2), load_le(xs + X87_FSW, 2), x87_full_tag(xs), 0, 0, 0, 0 };
    bool real = !cpu->protected_mode;
    if (real) {
        fip = (fip + cpu->st->seg[SEG_CS].base) & 0xffffffffu;
        fdp = (fdp + cpu->st->seg[SEG_DS].base) & 0xffffffffu;
    }
    if (op16) {
        w[3] = (uint32_t)fip & 0xffff;
        w[4] = real ? (uint32_t)((fip >> 4) & 0xf000) | fop : 0;
        w[5] = (uint32_t)fdp & 0xffff;
        w[6] = real ? (uint32_t)((fdp >> 4) & 0xf000) : 0;
        for (unsigned i = 0; i < 7; i++)
            store_le(b + (size_t)2 * i, 2, w[i]);
        return 14;
    }
    w[0] |= 0xffff0000u;                                   /* reserved halves read as ones */
    w[1] |= 0xffff0000u;
    w[2] |= 0xffff0000u;
    if (real) {
        w[3] = ((uint32_t)fip & 0xffff) | 0xffff0000u;
        w[4] = (uint32_t)((fip >> 4) & 0x0ffff000u) | fop;
        w[5] = ((uint32_t)fdp & 0xffff) | 0xffff0000u;
        w[6] = (uint32_t)((fdp >> 4) & 0x0ffff000u);
    } else {
        w[3] = (uint32_t)fip;
        w[4] = fop << 16;                                  /* FCS = 0 */
        w[5] = (uint32_t)fdp;
        w[6] = 0xffff0000u;                                /* FDS = 0 */
    }
    for (unsigned i = 0; i < 7; i++)
        store_le(b + (size_t)4 * i, 4, w[i]);
    return 28;
}

/* Loads the environment image into the state. */
static void env_load(struct interp_cpu *cpu, bool op16, const uint8_t *b)
{
    uint8_t *xs = cpu->st->xsave;
    unsigned step = op16 ? 2 : 4;
    uint32_t w[7];
    for (unsigned i = 0; i < 7; i++)
        w[i] = (uint32_t)load_le(b + (size_t)step * i, step);
    uint16_t fcw = (uint16_t)((w[0] & 0x1f3f) | 0x40), tw = (uint16_t)w[2];
    x87_put(cpu, X87_FCW, fcw);
    x87_set_fsw(cpu, x87_fix_es((uint16_t)w[1], fcw));
    uint8_t ab = 0;
    for (unsigned p = 0; p < 8; p++)
        if (((tw >> (2 * p)) & 3) != 3)
            ab |= (uint8_t)(1u << p);
    xs[X87_FTW] = ab;
    uint64_t fip, fdp;
    uint16_t fop = 0;
    if (!cpu->protected_mode) {
        fip = (w[3] & 0xffff) | ((uint64_t)(w[4] & (op16 ? 0xf000u : 0x0ffff000u)) << 4);
        fdp = (w[5] & 0xffff) | ((uint64_t)(w[6] & (op16 ? 0xf000u : 0x0ffff000u)) << 4);
        fop = (uint16_t)(w[4] & 0x7ff);
    } else {
        fip = op16 ? (w[3] & 0xffff) : w[3];
        fdp = op16 ? (w[5] & 0xffff) : w[5];
        if (!op16)
            fop = (uint16_t)((w[4] >> 16) & 0x7ff);
    }
    store_le(xs + X87_FOP, 2, fop);
    store_le(xs + X87_FIP, 8, fip);
    store_le(xs + X87_FDP, 8, fdp);
}

static int copy_to_guest(struct interp_cpu *cpu, const struct insn *in, uint64_t ea, const uint8_t *b, unsigned len)
{
    for (unsigned i = 0; i < len; i += 2) {
        int r = mem_write(cpu, in->seg, (ea + i) & insn_amask(in), 2, load_le(b + i, 2));
        if (r)
            return r;
    }
    return X_NEXT;
}

static int copy_from_guest(struct interp_cpu *cpu, const struct insn *in, uint64_t ea, uint8_t *b, unsigned len)
{
    for (unsigned i = 0; i < len; i += 2) {
        uint64_t v;
        int r = mem_read(cpu, in->seg, (ea + i) & insn_amask(in), 2, &v);
        if (r)
            return r;
        store_le(b + i, 2, v);
    }
    return X_NEXT;
}

/* D9 /4 FLDENV, D9 /6 FNSTENV, DD /4 FRSTOR, DD /6 FNSAVE. */
int x87_env_op(struct interp_cpu *cpu, const struct insn *in)
{
    bool op16 = in->osz == 2, save = (in->opc & 7) == 5, load = in->ext == 4;
    unsigned env = op16 ? 14 : 28, len = env + (save ? 80 : 0);
    uint64_t ea = insn_ea(cpu, in);
    uint8_t b[108];
    uint8_t *xs = cpu->st->xsave;
    if (load) {
        int r = copy_from_guest(cpu, in, ea, b, len);
        if (r)
            return r;
        env_load(cpu, op16, b);
        for (unsigned i = 0; save && i < 8; i++)
            memcpy(xs + X87_REGS + (size_t)16 * i, b + env + (size_t)10 * i, 10);
        return X_NEXT;
    }
    env_store(cpu, op16, b);
    for (unsigned i = 0; save && i < 8; i++)
        memcpy(b + env + (size_t)10 * i, xs + X87_REGS + (size_t)16 * i, 10);
    int r = copy_to_guest(cpu, in, ea, b, len);
    if (r)
        return r;
    if (save)
        x87_reset(cpu);
    else
        x87_put(cpu, X87_FCW, x87_get(cpu, X87_FCW) | 0x3fu);   /* FNSTENV masks every exception */
    return X_NEXT;
}
