/*
 * The decode-time specialised x87 and SSE handlers (x87_special.c,
 * sse_special.c) against the general handlers op_x87 and op_sse, run on
 * the same state.  Each encoding is decoded in 64-bit mode; the test checks
 * which handler the decoder picked (specialised forms must not be op_x87 /
 * op_sse, control instructions, FCMOVcc and the rest must stay on them),
 * then runs the picked handler and the general one from identical random
 * states and compares everything: the return value and exception, the
 * whole FXSAVE area (FOP/FIP/FDP included), XINUSE, RFLAGS (lazy flags
 * folded), the GPRs and the data pages.
 *
 * States reach the corners: x87 registers with zeros, infinities, NaNs,
 * denormals, pseudo-denormals, unnormals and random bits, random TOP, tags,
 * precision and rounding; XMM lanes with the same float/double classes and
 * a random MXCSR (rounding, DAZ, FTZ, sticky flags); sometimes exceptions
 * unmasked (FCW or MXCSR, with CR4.OSXMMEXCPT on or off), CR0.TS set, the
 * memory operand misaligned, crossing a page, on an unmapped page (#PF) or
 * not in the TLB yet, and lazy flags pending before FCOMI.  The x87 state
 * is made live in the host FPU before the specialised handler runs (as in
 * a block after the first x87 instruction) and left in cpu_state for the
 * general one.
 *
 * INTERP_FP_SPECIAL_SEED=<s>, INTERP_FP_SPECIAL_ROUNDS=<n> (states per
 * encoding, default 300).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cpu/interp/handlers.h"
#include "cpu/interp/sse.h"
#include "cpu/interp/x87.h"

#define RAM_SIZE  (4u << 20)
#define CODE_GPA  0x10000u
#define DATA_GPA  0x20000u      /* two data pages: 0x20000 and 0x21000 */
#define UNMAPPED  0x200000u     /* beyond the one 2 MiB page */

struct rig {
    struct guest_ram ram;
    struct cpu_state *st;
    struct interp_cpu *cpu;
};

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static unsigned chance(unsigned n)
{
    return rnd() % n == 0;
}

static void rig_init(struct rig *r)
{
    r->ram.host = calloc(1, RAM_SIZE);
    assert_non_null(r->ram.host);
    r->ram.size = r->ram.low_size = RAM_SIZE;
    r->ram.hole_size = GUEST_4G - RAM_SIZE;
    r->st = aligned_alloc(64, sizeof(*r->st));
    assert_non_null(r->st);
    memset(r->st, 0, sizeof(*r->st));
    uint64_t e;
    e = 0x2000 | 3; memcpy(r->ram.host + 0x1000, &e, 8);       /* PML4 -> PDPT */
    e = 0x3000 | 3; memcpy(r->ram.host + 0x2000, &e, 8);       /* PDPT -> PD */
    e = 0x83;       memcpy(r->ram.host + 0x3000, &e, 8);       /* 0-2 MiB */
    r->cpu = interp_cpu_create(r->st, &r->ram, NULL);
    assert_non_null(r->cpu);
}

static void rig_free(struct rig *r)
{
    interp_cpu_destroy(r->cpu);
    free(r->st);
    free(r->ram.host);
}

/* The base state: 64-bit ring 0, flat segments, paging on. */
static void long_mode(struct cpu_state *st)
{
    for (unsigned s = 0; s < 6; s++)
        st->seg[s] = (struct seg_reg){ 0x10, 0, 0xffffffff,
                                       0x3 | SEG_ATTR_S | SEG_ATTR_P | SEG_ATTR_DB | SEG_ATTR_G };
    st->seg[SEG_CS] = (struct seg_reg){ 0x08, 0, 0xffffffff, 0xb | SEG_ATTR_S | SEG_ATTR_P | SEG_ATTR_L | SEG_ATTR_G };
    st->seg[SEG_LDTR].attr = SEG_ATTR_UNUSABLE;
    st->seg[SEG_TR] = (struct seg_reg){ 0x18, 0, 0x67, 0xb | SEG_ATTR_P };
    st->cr0 = CR0_PE | CR0_PG | CR0_ET | CR0_NE | CR0_MP;
    st->cr3 = 0x1000;
    st->cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
    st->efer = EFER_LME | EFER_LMA;
    st->rip = CODE_GPA;
}

/* ---- interesting values ---- */

static void x87_value(uint8_t *p)
{
    uint64_t m = rnd();
    uint16_t se = (uint16_t)(rnd() & 0x8000u);
    switch (rnd() % 10) {
    case 0: m = 0; break;                                             /* zero */
    case 1: m = UINT64_C(1) << 63; se |= 0x7fff; break;               /* infinity */
    case 2: m |= UINT64_C(3) << 62; se |= 0x7fff; break;              /* QNaN */
    case 3: m = (m | (UINT64_C(1) << 63)) & ~(UINT64_C(1) << 62); m |= 1; se |= 0x7fff; break;  /* SNaN */
    case 4: m &= ~(UINT64_C(1) << 63); break;                         /* denormal */
    case 5: m |= UINT64_C(1) << 63; break;                            /* pseudo-denormal */
    case 6: m &= ~(UINT64_C(1) << 63); se |= (uint16_t)(1 + rnd() % 0x7ffe); break;  /* unnormal */
    case 7: m = (rnd() % 2000) << 52 | (UINT64_C(1) << 63); se |= 0x3fff + 10; break;  /* small integer */
    default: m |= UINT64_C(1) << 63; se |= (uint16_t)(0x3fff - 70 + rnd() % 140); break;
    }
    memcpy(p, &m, 8);
    memcpy(p + 8, &se, 2);
}

static uint32_t f32_value(void)
{
    uint32_t s = (uint32_t)(rnd() & 0x80000000u), m = (uint32_t)rnd() & 0x7fffffu;
    switch (rnd() % 8) {
    case 0: return s;
    case 1: return s | 0x7f800000u;
    case 2: return s | 0x7fc00000u | m;
    case 3: return s | 0x7f800000u | (m ? m & 0x3fffffu : 1) ;           /* SNaN */
    case 4: return s | m;                                              /* denormal */
    case 5: return s | (uint32_t)(1 + rnd() % 253) << 23 | m;
    default: return s | (uint32_t)(100 + rnd() % 54) << 23 | m;
    }
}

static uint64_t f64_value(void)
{
    uint64_t s = rnd() & (UINT64_C(1) << 63), m = rnd() & ((UINT64_C(1) << 52) - 1);
    switch (rnd() % 8) {
    case 0: return s;
    case 1: return s | (UINT64_C(0x7ff) << 52);
    case 2: return s | (UINT64_C(0xfff) << 51) | m;
    case 3: return s | (UINT64_C(0x7ff) << 52) | (m ? m >> 1 : 1);      /* SNaN */
    case 4: return s | m;                                              /* denormal */
    case 5: return s | (1 + rnd() % 2045) << 52 | m;
    default: return s | (UINT64_C(1000) + rnd() % 46) << 52 | m;
    }
}

/* 16 bytes of float lanes, double lanes or random bits. */
static void lanes(uint8_t *p)
{
    unsigned kind = rnd() % 3;
    for (unsigned i = 0; i < 16; i += kind == 1 ? 8 : 4) {
        if (kind == 0) {
            uint32_t v = f32_value();
            memcpy(p + i, &v, 4);
        } else if (kind == 1) {
            uint64_t v = f64_value();
            memcpy(p + i, &v, 8);
        } else {
            uint32_t v = (uint32_t)rnd();
            memcpy(p + i, &v, 4);
        }
    }
}

/* ---- one state, applied to both rigs ---- */

struct trial {
    _Alignas(16) uint8_t xsave[512];
    uint8_t data[0x2000];
    uint64_t gpr[16];
    uint64_t rflags, cr0, cr4;
    bool lazy;            /* a SUB's lazy flags pending */
    bool warm;            /* the operand's pages in the TLB */
    uint8_t xinuse;       /* XSTATE_BV's x87 and SSE bits */
};

static void draw_x87(struct trial *t)
{
    uint8_t *fx = t->xsave;
    uint16_t fcw = (uint16_t)(0x0040u | 0x3fu | (rnd() & 0x0f00u));
    if (chance(6))
        fcw = (uint16_t)((fcw & ~0x3fu) | (rnd() & 0x3fu));
    uint16_t flags = (uint16_t)(chance(2) ? rnd() & 0x7fu : 0);
    uint16_t fsw = (uint16_t)((rnd() & 0x4700u) | ((rnd() & 7u) << 11) | flags);
    if (fsw & ~fcw & 0x3fu)
        fsw |= 0x8080u;
    memcpy(fx, &fcw, 2);
    memcpy(fx + 2, &fsw, 2);
    fx[4] = (uint8_t)rnd();
    for (unsigned i = 0; i < 8; i++)
        x87_value(fx + 32 + (size_t)16 * i);
}

static void draw_sse(struct trial *t)
{
    uint32_t mxcsr = 0x1f80u | ((uint32_t)rnd() & 0xe040u) | (chance(2) ? (uint32_t)rnd() & 0x3fu : 0);
    if (chance(6))
        mxcsr &= ~((uint32_t)rnd() & 0x1f80u);
    memcpy(t->xsave + 24, &mxcsr, 4);
    uint32_t mask = 0xffff;
    memcpy(t->xsave + 28, &mask, 4);
    for (unsigned i = 0; i < 16; i++)
        lanes(t->xsave + 160 + (size_t)16 * i);
}

/* Memory: the two data pages full of values; RBX at the operand. */
static void draw_common(struct trial *t, unsigned size, bool align16)
{
    for (unsigned i = 0; i < sizeof(t->data); i += 16) {
        if (chance(2)) {
            lanes(t->data + i);
        } else {
            x87_value(t->data + i);
            uint16_t w = (uint16_t)rnd();
            memcpy(t->data + i + 10, &w, 2);
        }
    }
    for (unsigned i = 0; i < 16; i++)
        t->gpr[i] = rnd();
    uint64_t off = (rnd() % 0x100) * 16;                      /* aligned, in the first page */
    switch (rnd() % 10) {
    case 0: off = 0x1000 - (1 + rnd() % (size > 1 ? size - 1 : 1)); break;   /* crosses into the next page */
    case 1: off += 1 + rnd() % 15; break;                     /* misaligned */
    case 2: off = UNMAPPED - DATA_GPA + off; break;           /* #PF */
    default: break;
    }
    if (!align16 && off < 0x1000 && chance(2))
        off += rnd() % 16;
    t->gpr[GPR_RBX] = DATA_GPA + off;
    t->rflags = RFLAGS_FIXED | (rnd() & FLAGS_ARITH);
    t->cr0 = CR0_PE | CR0_PG | CR0_ET | CR0_NE | CR0_MP | (chance(25) ? CR0_TS : 0);
    t->cr4 = CR4_PAE | CR4_OSFXSR | (chance(3) ? 0 : CR4_OSXMMEXCPT);
    t->lazy = chance(2);
    t->warm = !chance(5);
}

static void apply(struct rig *r, const struct trial *t, const struct insn *in)
{
    struct cpu_state *st = r->st;
    memset(st, 0, offsetof(struct cpu_state, xsave));
    long_mode(st);
    st->cr0 = t->cr0;
    st->cr4 = t->cr4;
    st->rflags = t->rflags;
    memcpy(st->gpr, t->gpr, sizeof(t->gpr));
    memcpy(st->xsave, t->xsave, 512);
    st->xsave[512] = t->xinuse;
    memcpy(r->ram.host + DATA_GPA, t->data, sizeof(t->data));
    interp_state_changed(r->cpu);
    struct interp_cpu *cpu = r->cpu;
    cpu->lf.op = LF_NONE;
    if (t->lazy)
        lazy_set(cpu, LF_SUB, 4, t->gpr[1], t->gpr[2], t->gpr[1] - t->gpr[2]);
    cpu->next_rip = CODE_GPA + in->len;
    if (t->warm && !in->mod3) {                               /* read and write entries for both pages */
        uint64_t ea = insn_ea(cpu, in), v;
        for (unsigned k = 0; k < 2; k++) {
            uint64_t a = (ea & ~UINT64_C(0xfff)) + UINT64_C(0x1000) * k;
            if (!mem_read(cpu, SEG_DS, a, 1, &v))
                (void)mem_write(cpu, SEG_DS, a, 1, v);
        }
        cpu->exc.vector = 0;
    }
}

struct outcome {
    int r;
    uint8_t vector;
    uint32_t err;
    uint64_t rflags;
};

static struct outcome run(struct rig *r, const struct insn *in, insn_fn fn, bool x87_live)
{
    struct interp_cpu *cpu = r->cpu;
    if (x87_live)
        (void)x87_live_enter(cpu);
    struct outcome o = { 0 };
    o.r = fn(cpu, in);
    x87_live_flush(cpu);
    sse_mxcsr_flush(cpu);
    if (o.r == X_FAULT) {
        o.vector = cpu->exc.vector;
        o.err = cpu->exc.err;
    }
    o.rflags = flags_get(cpu);
    return o;
}

static void compare(const char *what, const uint8_t *bytes, unsigned n, struct rig *a, struct rig *b,
                    struct outcome oa, struct outcome ob)
{
    bool same = oa.r == ob.r && oa.vector == ob.vector && oa.err == ob.err && oa.rflags == ob.rflags &&
                !memcmp(a->st->xsave, b->st->xsave, 513) && !memcmp(a->st->gpr, b->st->gpr, sizeof(a->st->gpr)) &&
                !memcmp(a->ram.host + DATA_GPA, b->ram.host + DATA_GPA, 0x2000);
    if (same)
        return;
    char enc[64] = "";
    for (unsigned i = 0; i < n && i < 15; i++)
        snprintf(enc + (size_t)3 * i, sizeof(enc) - (size_t)3 * i, "%02x ", bytes[i]);
    print_error("%s %s(rng state %#llx): special r=%d vec=%u fl=%#llx, general r=%d vec=%u fl=%#llx\n", what, enc,
                (unsigned long long)rng_state, oa.r, oa.vector, (unsigned long long)oa.rflags, ob.r, ob.vector,
                (unsigned long long)ob.rflags);
    for (unsigned i = 0; i < 513; i++)
        if (a->st->xsave[i] != b->st->xsave[i])
            print_error("  xsave[%u]: %02x vs %02x\n", i, a->st->xsave[i], b->st->xsave[i]);
    for (unsigned i = 0; i < 0x2000; i++)
        if (a->ram.host[DATA_GPA + i] != b->ram.host[DATA_GPA + i])
            print_error("  data[%#x]: %02x vs %02x\n", i, a->ram.host[DATA_GPA + i], b->ram.host[DATA_GPA + i]);
    fail();
}

static unsigned rounds(void)
{
    const char *s = getenv("INTERP_FP_SPECIAL_ROUNDS");
    return s ? (unsigned)strtoul(s, NULL, 0) : 300;
}

struct enc {
    uint8_t b[8];
    uint8_t n;
    uint8_t special;      /* the decoder must pick a specialised handler */
    uint8_t size;         /* memory operand bytes (0: register form) */
};

#define E(sp, sz, ...) { { __VA_ARGS__ }, sizeof((uint8_t[]){ __VA_ARGS__ }), sp, sz }

static const struct enc x87_encs[] = {
    E(1, 0, 0xd8, 0xc1), E(1, 0, 0xd8, 0xc9), E(1, 0, 0xd8, 0xf1), E(1, 0, 0xd8, 0xf9),   /* FADD FMUL FDIV FDIVR */
    E(1, 0, 0xd8, 0xd1), E(1, 0, 0xd8, 0xd9), E(1, 0, 0xd8, 0xe2), E(1, 0, 0xd8, 0xea),   /* FCOM FCOMP FSUB FSUBR */
    E(1, 0, 0xd9, 0xc0), E(1, 0, 0xd9, 0xc3), E(1, 0, 0xd9, 0xc9), E(1, 0, 0xd9, 0xe0),   /* FLD FLD FXCH FCHS */
    E(1, 0, 0xd9, 0xe1), E(1, 0, 0xd9, 0xe4), E(1, 0, 0xd9, 0xe5), E(1, 0, 0xd9, 0xe8),   /* FABS FTST FXAM FLD1 */
    E(1, 0, 0xd9, 0xeb), E(1, 0, 0xd9, 0xee), E(1, 0, 0xd9, 0xf0), E(1, 0, 0xd9, 0xf1),   /* FLDPI FLDZ F2XM1 FYL2X */
    E(1, 0, 0xd9, 0xf8), E(1, 0, 0xd9, 0xfa), E(1, 0, 0xd9, 0xfc), E(1, 0, 0xd9, 0xfd),   /* FPREM FSQRT FRNDINT FSCALE */
    E(1, 0, 0xd9, 0xf4), E(1, 0, 0xd9, 0xf5), E(1, 0, 0xd9, 0xd8),                      /* FXTRACT FPREM1 FSTP1 */
    E(1, 0, 0xdc, 0xc1), E(1, 0, 0xdc, 0xf9), E(1, 0, 0xdd, 0xd9), E(1, 0, 0xdd, 0xd1),   /* FADD st1 FDIV st1 FSTP FST */
    E(1, 0, 0xdd, 0xc1), E(1, 0, 0xdd, 0xe1), E(1, 0, 0xdd, 0xe9), E(1, 0, 0xdd, 0xc9),   /* FFREE FUCOM FUCOMP FXCH4 */
    E(1, 0, 0xde, 0xc1), E(1, 0, 0xde, 0xc9), E(1, 0, 0xde, 0xf9), E(1, 0, 0xde, 0xd9),   /* FADDP FMULP FDIVP FCOMPP */
    E(1, 0, 0xda, 0xe9), E(1, 0, 0xde, 0xd1), E(1, 0, 0xdf, 0xc1), E(1, 0, 0xdf, 0xd1),   /* FUCOMPP FCOMP5 FFREEP FSTP8 */
    E(1, 0, 0xdb, 0xe9), E(1, 0, 0xdb, 0xf1), E(1, 0, 0xdf, 0xe9), E(1, 0, 0xdf, 0xf1),   /* FUCOMI FCOMI FUCOMIP FCOMIP */
    E(0, 0, 0xda, 0xc1), E(0, 0, 0xdb, 0xd1), E(0, 0, 0xd9, 0xd0), E(0, 0, 0xdb, 0xe3),   /* FCMOVB FCMOVNBE FNOP FNINIT */
    E(0, 0, 0xdb, 0xe2), E(0, 0, 0xdf, 0xe0),                                            /* FNCLEX FNSTSW AX */
    E(1, 4, 0xd9, 0x03), E(1, 8, 0xdd, 0x03), E(1, 10, 0xdb, 0x2b), E(1, 2, 0xdf, 0x03),  /* FLD m32 m64 m80 FILD m16 */
    E(1, 4, 0xdb, 0x03), E(1, 8, 0xdf, 0x2b), E(1, 10, 0xdf, 0x23), E(1, 4, 0xd8, 0x03),  /* FILD m32 m64 FBLD FADD m32 */
    E(1, 8, 0xdc, 0x33), E(1, 2, 0xde, 0x3b), E(1, 4, 0xda, 0x13), E(1, 8, 0xdc, 0x1b),   /* FDIV m64 FIDIVR m16 FICOM FCOMP m64 */
    E(1, 4, 0xd9, 0x13), E(1, 4, 0xd9, 0x1b), E(1, 8, 0xdd, 0x13), E(1, 8, 0xdd, 0x5b, 0x08),  /* FST(P) m32 m64 */
    E(1, 10, 0xdb, 0x3b), E(1, 2, 0xdf, 0x13), E(1, 4, 0xdb, 0x1b), E(1, 8, 0xdf, 0x3b), /* FSTP m80 FIST m16 FISTP m32 m64 */
    E(1, 4, 0xdb, 0x0b), E(1, 8, 0xdd, 0x0b), E(1, 2, 0xdf, 0x0b), E(1, 10, 0xdf, 0x33), /* FISTTP m32 m64 m16 FBSTP */
    E(1, 8, 0x67, 0xdd, 0x03), E(1, 8, 0x65, 0xdd, 0x1b),                               /* addr32, GS override */
    E(0, 2, 0xd9, 0x3b), E(0, 2, 0xdd, 0x3b), E(0, 2, 0xd9, 0x2b),                      /* FNSTCW FNSTSW FLDCW */
};

static const struct enc sse_encs[] = {
    E(1, 16, 0x66, 0x0f, 0x70, 0xca, 0x1b), E(1, 16, 0x66, 0x0f, 0x70, 0x0b, 0x93),        /* PSHUFD */
    E(1, 16, 0x66, 0x0f, 0x74, 0xca), E(1, 16, 0x66, 0x0f, 0x75, 0x0b), E(1, 16, 0x66, 0x0f, 0x76, 0xca),
    E(1, 16, 0x66, 0x0f, 0xd4, 0x0b), E(1, 16, 0x66, 0x0f, 0xdb, 0xca), E(1, 16, 0x66, 0x0f, 0xdf, 0x0b),
    E(1, 16, 0x66, 0x0f, 0xeb, 0xca), E(1, 16, 0x66, 0x0f, 0xef, 0x0b), E(1, 16, 0x66, 0x0f, 0xf8, 0xca),
    E(1, 16, 0x66, 0x0f, 0xf9, 0x0b), E(1, 16, 0x66, 0x0f, 0xfa, 0xca), E(1, 16, 0x66, 0x0f, 0xfb, 0x0b),
    E(1, 16, 0x66, 0x0f, 0xfc, 0xca), E(1, 16, 0x66, 0x0f, 0xfd, 0x0b), E(1, 16, 0x66, 0x0f, 0xfe, 0xca),
    E(1, 16, 0x66, 0x45, 0x0f, 0xfe, 0xca), E(1, 16, 0x66, 0x44, 0x0f, 0xef, 0x0b),         /* REX: XMM9-10 */
    E(1, 16, 0x0f, 0x58, 0xca), E(1, 16, 0x0f, 0x59, 0x0b), E(1, 16, 0x0f, 0x5c, 0xca), E(1, 16, 0x0f, 0x5e, 0x0b),
    E(1, 16, 0x66, 0x0f, 0x58, 0x0b), E(1, 16, 0x66, 0x0f, 0x59, 0xca), E(1, 16, 0x66, 0x0f, 0x5c, 0x0b),
    E(1, 16, 0x66, 0x0f, 0x5e, 0xca), E(1, 16, 0x45, 0x0f, 0x58, 0xca),
    E(1, 16, 0x0f, 0x28, 0xca), E(1, 16, 0x0f, 0x28, 0x0b), E(1, 16, 0x0f, 0x29, 0xca), E(1, 16, 0x0f, 0x29, 0x0b),
    E(1, 16, 0x0f, 0x10, 0x0b), E(1, 16, 0x0f, 0x11, 0x0b), E(1, 16, 0x66, 0x0f, 0x6f, 0x0b),
    E(1, 16, 0x66, 0x0f, 0x7f, 0x0b), E(1, 16, 0xf3, 0x0f, 0x6f, 0x0b), E(1, 16, 0xf3, 0x0f, 0x7f, 0x0b),
    E(1, 16, 0x66, 0x0f, 0x7f, 0xca), E(1, 16, 0x66, 0x0f, 0x29, 0x0b), E(1, 16, 0x66, 0x0f, 0x10, 0x0b),
    E(0, 16, 0xf2, 0x0f, 0xf0, 0x0b), E(1, 16, 0x66, 0x0f, 0x6f, 0x4b, 0x08), E(1, 16, 0x65, 0x66, 0x0f, 0x7f, 0x0b),
    E(0, 16, 0x0f, 0x51, 0xca), E(0, 4, 0xf3, 0x0f, 0x58, 0xca), E(0, 16, 0x0f, 0x2b, 0x0b),   /* SQRTPS ADDSS MOVNTPS */
    E(0, 16, 0x66, 0x0f, 0x60, 0xca), E(0, 4, 0xf3, 0x0f, 0x10, 0x0b),                     /* PUNPCKLBW MOVSS */
};

static void check_encs(const struct enc *encs, size_t n, insn_fn general, bool x87)
{
    struct rig a, b;
    rig_init(&a);
    rig_init(&b);
    unsigned nr = rounds();
    for (size_t i = 0; i < n; i++) {
        struct insn in;
        assert_int_equal(decode_insn(MODE_64, encs[i].b, encs[i].n, &in), DEC_OK);
        if ((in.fn != general) != encs[i].special) {
            print_error("encoding %zu (%02x %02x %02x): %s handler\n", i, encs[i].b[0], encs[i].b[1], encs[i].b[2],
                        encs[i].special ? "no specialised" : "unexpected specialised");
            fail();
        }
        for (unsigned k = 0; k < nr; k++) {
            struct trial t;
            memset(&t, 0, sizeof(t));
            draw_x87(&t);
            draw_sse(&t);
            draw_common(&t, encs[i].size ? encs[i].size : 16, !x87);
            if (x87 && !chance(8))                             /* mostly all masked: the live case */
                t.xsave[0] |= 0x3f;
            if (x87 && (t.xsave[0] & 0x3f) == 0x3f) {          /* no ES/B pending then */
                t.xsave[3] &= 0x7f;
                t.xsave[2] &= 0x7f;
            }
            t.xinuse = x87 ? 1 : (uint8_t)(rnd() & 3);          /* the x87 state was in use to be live */
            apply(&a, &t, &in);
            struct outcome oa = run(&a, &in, in.fn, x87);
            apply(&b, &t, &in);
            struct outcome ob = run(&b, &in, general, false);
            compare(x87 ? "x87" : "sse", encs[i].b, encs[i].n, &a, &b, oa, ob);
        }
    }
    rig_free(&a);
    rig_free(&b);
}

static void test_x87_special(void **state)
{
    (void)state;
    check_encs(x87_encs, sizeof(x87_encs) / sizeof(x87_encs[0]), op_x87, true);
}

static void test_sse_special(void **state)
{
    (void)state;
    check_encs(sse_encs, sizeof(sse_encs) / sizeof(sse_encs[0]), op_sse, false);
}

int main(void)
{
    const char *seed = getenv("INTERP_FP_SPECIAL_SEED");
    if (seed)
        rng_state = strtoull(seed, NULL, 0) | 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_x87_special),
        cmocka_unit_test(test_sse_special),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
