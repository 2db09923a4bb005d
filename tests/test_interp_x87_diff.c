/*
 * Differential test of the interpreter's x87 against the host CPU (64-bit
 * mode).  Random x87 instruction sequences run natively (a trampoline loads
 * the x87 state with FXRSTOR, RFLAGS and RAX, runs the sequence, and stores
 * them back with FXSAVE) and under the interpreter from the same state.
 * The state is drawn to reach the corners: registers holding zeros of both
 * signs, infinities, quiet and signalling NaNs, denormals, pseudo-denormals,
 * unnormals, small integers and random values, random tags and TOP, random
 * precision and rounding control, sticky flags (all exceptions masked: an
 * unmasked one would trap natively).  Memory operands ([rbp+disp8]) see
 * interesting float, double and integer values.  Compared bit-exactly: FCW,
 * FSW (C0-C3, TOP, flags), the abridged tag word, the eight registers,
 * RFLAGS (FCOMI), RAX (FNSTSW AX) and the memory page (FNSTENV/FNSAVE
 * images with their instruction/data pointer fields masked, since the
 * code runs at different addresses).
 *
 * Every defined register form of D8-DF is drawn (the reserved aliases
 * excepted, which not every host executes), every memory form except
 * FLDCW/FLDENV/FRSTOR from random memory (they could unmask exceptions);
 * FRSTOR is drawn after an FNSAVE of the same image (round trip).
 * test_mmx_diff mixes in MMX instructions (every no-prefix MMX form incl.
 * MOVD/MOVQ with RAX, PSHUFW, shifts by immediates, PINSRW/PEXTRW,
 * PMOVMSKB, MASKMOVQ, EMMS): the register aliasing and TOP/tag transitions
 * are compared the same way.
 *
 * INTERP_X87_SEQUENCES=<n> (default 20,000), INTERP_X87_SEED=<s>,
 * INTERP_X87_DUMP=1 print every sequence, INTERP_X87_TRACE=1 each sequence
 * before it runs natively.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <cmocka.h>

#include <vmm/err.h>
#include "cpu/interp/interp.h"

#define DATA_ADDR   UINT64_C(0x300000000000)   /* host and guest linear address of the data page */
#define DATA_GPA    0x20000u
#define CODE_GPA    0x10000u
#define RAM_SIZE    (4u << 20)
#define EXEC_SIZE   0x2000u
#define ENV_OFF     0x70u                      /* FNSTENV/FNSAVE/FRSTOR image */
#define ARITH       0x8d5u

struct xstate {
    _Alignas(16) uint8_t fx[512];
    uint64_t rflags;   /* offset 512 */
    uint64_t rax;      /* offset 520 */
};

struct enc {
    uint8_t b[512];
    unsigned n;
};

static void emit(struct enc *e, uint8_t x) { e->b[e->n++] = x; }

static void emit_bytes(struct enc *e, const uint8_t *p, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        emit(e, p[i]);
}

static uint64_t rng_state;
static bool mmx_enabled;

static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

static unsigned rn(unsigned n) { return (unsigned)(rnd() % n); }

/* ---- values ---- */

/* An 80-bit register value of a random class. */
static void rnd_f80(uint8_t *r)
{
    uint64_t m = rnd();
    unsigned sign = rn(2) << 15, e;
    switch (rn(12)) {
    case 0: m = 0; e = 0; break;                                               /* zero */
    case 1: m = UINT64_C(1) << 63; e = 0x7fff; break;                          /* infinity */
    case 2: m |= UINT64_C(3) << 62; e = 0x7fff; break;                         /* QNaN */
    case 3: m = (m | (UINT64_C(1) << 63)) & ~(UINT64_C(1) << 62); m |= 1; e = 0x7fff; break;  /* SNaN */
    case 4: m >>= 1 + rn(63); e = 0; break;                                   /* denormal */
    case 5: m |= UINT64_C(1) << 63; e = 0; break;                              /* pseudo-denormal */
    case 6: m &= ~(UINT64_C(1) << 63); e = 1 + rn(0x7ffe); break;              /* unnormal */
    case 7: {                                                                  /* small integer */
        unsigned v = 1 + rn(1000), sh = (unsigned)__builtin_clz(v);
        m = (uint64_t)v << (32 + sh);
        e = 0x3fff + 31 - sh;
        break;
    }
    case 8: m |= UINT64_C(1) << 63; e = 0x3fff - 70 + rn(140); break;         /* around 1 */
    case 9: m |= UINT64_C(1) << 63; e = rn(2) ? 1 + rn(64) : 0x7ffe - rn(64); break;  /* extremes */
    default: m |= UINT64_C(1) << 63; e = 0x3fff - 16400 / 2 + rn(16400); break;
    }
    memcpy(r, &m, 8);
    uint16_t se = (uint16_t)(sign | (e & 0x7fff));
    memcpy(r + 8, &se, 2);
}

/* 8 bytes of memory holding an interesting operand. */
static void rnd_mem8(uint8_t *p)
{
    uint8_t r[10];
    double d;
    float f[2];
    long double ld;
    switch (rn(6)) {
    case 0:
        rnd_f80(r);
        memcpy(&ld, r, 10);
        d = (double)ld;                      /* host conversion: NaNs/denormals/infinities of the double format */
        memcpy(p, &d, 8);
        break;
    case 1:
        for (unsigned i = 0; i < 2; i++) {
            rnd_f80(r);
            memcpy(&ld, r, 10);
            f[i] = (float)ld;
        }
        memcpy(p, f, 8);
        break;
    case 2: {
        uint64_t v = rnd();
        v = rn(2) ? (uint64_t)(int64_t)(int16_t)v : v >> rn(64);
        memcpy(p, &v, 8);
        break;
    }
    case 3: {                                 /* raw double patterns: exponent edges */
        uint64_t v = rnd() & ~(UINT64_C(0x7ff) << 52);
        v |= (uint64_t)(rn(2) ? 0x7ff : rn(2) ? 0 : 1 + rn(0x7fe)) << 52;
        memcpy(p, &v, 8);
        break;
    }
    default: {
        uint64_t v = rnd();
        memcpy(p, &v, 8);
        break;
    }
    }
}

/* ---- instructions ---- */

struct reg_range { uint8_t esc, lo, hi; };
static const struct reg_range reg_forms[] = {
    { 0xd8, 0xc0, 0xff }, { 0xd9, 0xc0, 0xcf }, { 0xd9, 0xd0, 0xd0 }, { 0xd9, 0xe0, 0xe1 },
    { 0xd9, 0xe4, 0xe5 }, { 0xd9, 0xe8, 0xee }, { 0xd9, 0xf0, 0xff }, { 0xda, 0xc0, 0xdf },
    { 0xda, 0xe9, 0xe9 }, { 0xdb, 0xc0, 0xdf }, { 0xdb, 0xe8, 0xf7 }, { 0xdb, 0xe2, 0xe2 },
    { 0xdc, 0xc0, 0xcf }, { 0xdc, 0xe0, 0xff }, { 0xdd, 0xc0, 0xc7 }, { 0xdd, 0xd0, 0xef },
    { 0xde, 0xc0, 0xcf }, { 0xde, 0xd9, 0xd9 }, { 0xde, 0xe0, 0xff }, { 0xdf, 0xc0, 0xc7 },
    { 0xdf, 0xe0, 0xe0 }, { 0xdf, 0xe8, 0xf7 },
};

/* Memory forms by escape: ModRM.reg values drawn (bit set). */
static const uint8_t mem_forms[8] = { 0xff, 0x8d, 0xff, 0xaf, 0xff, 0x8f, 0xff, 0xff };

/* MMX opcodes (0F xx) whose operands are mm, mm/m64. */
static const uint8_t mmx_ops[] = {
    0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6f, 0x74, 0x75, 0x76, 0x7f,
    0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xe1, 0xe2, 0xe3,
    0xe4, 0xe5, 0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf8,
    0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe,
};

/* An MMX instruction: register or [rbp+disp8] operands, GPR forms on RAX. */
static void gen_mmx(struct enc *e)
{
    unsigned reg = rn(8), k = rn(20);
    bool mem = rn(3) == 0;
    uint8_t modrm = (uint8_t)(mem ? 0x45 | reg << 3 : 0xc0 | reg << 3 | rn(8)), disp = (uint8_t)(rn(0x30) * 2);
    if (k < 12) {
        emit(e, 0x0f);
        emit(e, mmx_ops[rn(sizeof(mmx_ops))]);
    } else if (k == 12) {
        emit(e, 0x0f);                                       /* EMMS */
        emit(e, 0x77);
        return;
    } else if (k < 15) {                                     /* MOVD/MOVQ mm <-> eax/rax or memory */
        if (rn(2))
            emit(e, 0x48);
        emit(e, 0x0f);
        emit(e, rn(2) ? 0x6e : 0x7e);
        if (!mem)
            modrm = (uint8_t)(0xc0 | reg << 3);
    } else if (k == 15) {                                    /* PSHUFW */
        emit(e, 0x0f);
        emit(e, 0x70);
        emit(e, modrm);
        if (mem)
            emit(e, disp);
        emit(e, (uint8_t)rnd());
        return;
    } else if (k == 16) {                                    /* shift by imm8 */
        static const uint8_t shifts[][2] = { { 0x71, 2 }, { 0x71, 4 }, { 0x71, 6 }, { 0x72, 2 },
                                             { 0x72, 4 }, { 0x72, 6 }, { 0x73, 2 }, { 0x73, 6 } };
        unsigned s = rn(8);
        emit(e, 0x0f);
        emit(e, shifts[s][0]);
        emit(e, (uint8_t)(0xc0 | shifts[s][1] << 3 | reg));
        emit(e, (uint8_t)(rn(4) ? rn(70) : rnd()));
        return;
    } else if (k == 17) {                                    /* PINSRW mm, eax/m16, imm8 */
        emit(e, 0x0f);
        emit(e, 0xc4);
        if (!mem)
            modrm = (uint8_t)(0xc0 | reg << 3);
        emit(e, modrm);
        if (mem)
            emit(e, disp);
        emit(e, (uint8_t)rnd());
        return;
    } else if (k == 18) {                                    /* PEXTRW / PMOVMSKB eax, mm */
        bool ex = rn(2);
        emit(e, 0x0f);
        emit(e, ex ? 0xc5 : 0xd7);
        emit(e, (uint8_t)(0xc0 | reg));
        if (ex)
            emit(e, (uint8_t)rnd());
        return;
    } else {                                                 /* MASKMOVQ to [rbp+0x40] */
        static const uint8_t lea[] = { 0x48, 0x8d, 0x7d, 0x40 };
        emit_bytes(e, lea, 4);
        emit(e, 0x0f);
        emit(e, 0xf7);
        emit(e, (uint8_t)(0xc0 | reg << 3 | rn(8)));
        return;
    }
    emit(e, modrm);
    if (mem)
        emit(e, disp);
}

static void gen_one(struct enc *e)
{
    if (mmx_enabled && rn(3) == 0) {
        gen_mmx(e);
        return;
    }
    unsigned k = rn(100);
    if (k < 45) {
        const struct reg_range *r = &reg_forms[rn(sizeof(reg_forms) / sizeof(reg_forms[0]))];
        emit(e, r->esc);
        emit(e, (uint8_t)(r->lo + rn(r->hi - r->lo + 1u)));
    } else if (k < 95) {
        unsigned esc = rn(8), ext;
        do
            ext = rn(8);
        while (!((mem_forms[esc] >> ext) & 1));
        emit(e, (uint8_t)(0xd8 + esc));
        emit(e, (uint8_t)(0x45 | ext << 3));                 /* [rbp+disp8] */
        emit(e, (uint8_t)(rn(0x30) * 2));
    } else if (k < 97) {
        emit(e, 0x9b);                                       /* FWAIT */
    } else if (k < 98) {
        emit(e, 0xdb);                                       /* FNINIT */
        emit(e, 0xe3);
    } else {
        static const uint8_t env[] = { 0xd9, 0x75, ENV_OFF };  /* FNSTENV [rbp+0x70] */
        static const uint8_t sv[] = { 0xdd, 0x75, ENV_OFF };   /* FNSAVE [rbp+0x70] */
        static const uint8_t rs[] = { 0xdd, 0x65, ENV_OFF };   /* FRSTOR [rbp+0x70] */
        if (rn(2)) {
            emit_bytes(e, env, 3);
            return;
        }
        emit_bytes(e, sv, 3);
        for (unsigned i = rn(3); i > 0; i--)
            gen_one(e);
        emit_bytes(e, rs, 3);
    }
}

/* ---- the native trampoline ---- */

static void build_native(struct enc *t, const struct enc *seq)
{
    static const uint8_t pro[] = {
        0x53, 0x55,                                      /* push rbx; push rbp */
        0x48, 0x89, 0xfe,                                /* mov rsi, rdi */
        0x0f, 0xae, 0x0e,                                /* fxrstor [rsi] */
        0xff, 0xb6, 0x00, 0x02, 0x00, 0x00, 0x9d,        /* push qword [rsi+512]; popfq */
        0x48, 0x8b, 0x86, 0x08, 0x02, 0x00, 0x00,        /* mov rax, [rsi+520] */
        0x48, 0xbd,                                      /* mov rbp, imm64 */
    };
    static const uint8_t epi[] = {
        0x9c, 0x8f, 0x86, 0x00, 0x02, 0x00, 0x00,        /* pushfq; pop qword [rsi+512] */
        0x48, 0x89, 0x86, 0x08, 0x02, 0x00, 0x00,        /* mov [rsi+520], rax */
        0x0f, 0xae, 0x06,                                /* fxsave [rsi] */
        0xdb, 0xe3,                                      /* fninit */
        0x5d, 0x5b, 0xc3,                                /* pop rbp; pop rbx; ret */
    };
    t->n = 0;
    emit_bytes(t, pro, sizeof(pro));
    for (unsigned i = 0; i < 8; i++)
        emit(t, (uint8_t)(DATA_ADDR >> (8 * i)));
    emit_bytes(t, seq->b, seq->n);
    emit_bytes(t, epi, sizeof(epi));
}

/* ---- the interpreter ---- */

struct harness {
    uint8_t *exec, *data;
    struct guest_ram ram;
    struct cpu_state st;
    struct interp_cpu *cpu;
};

static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

static void reset_state(struct harness *h)
{
    struct cpu_state *st = &h->st;
    memset(st, 0, offsetof(struct cpu_state, xsave));
    st->cr0 = CR0_PE | CR0_PG | CR0_ET | CR0_NE | CR0_MP;
    st->cr3 = 0x1000;
    st->cr4 = CR4_PAE | CR4_OSFXSR;
    st->efer = EFER_LME | EFER_LMA;
    st->seg[SEG_CS] = (struct seg_reg){ 0x08, 0, 0xffffffff, 0xb | SEG_ATTR_S | SEG_ATTR_P | SEG_ATTR_L | SEG_ATTR_G };
    for (unsigned s = 0; s < 6; s++)
        if (s != SEG_CS)
            st->seg[s] = (struct seg_reg){ 0x10, 0, 0xffffffff, 0x3 | SEG_ATTR_S | SEG_ATTR_P | SEG_ATTR_DB | SEG_ATTR_G };
    st->seg[SEG_TR] = (struct seg_reg){ 0x18, 0, 0x67, 0xb | SEG_ATTR_P };
    st->seg[SEG_LDTR].attr = SEG_ATTR_UNUSABLE;
    st->rip = CODE_GPA;
    st->gpr[GPR_RSP] = 0x8000;
}

static struct harness *harness_new(void)
{
    struct harness *h = calloc(1, sizeof(*h));
    assert_non_null(h);
    h->exec = mmap(NULL, EXEC_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    h->data = mmap((void *)DATA_ADDR, 4096, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    assert_true(h->exec != MAP_FAILED);
    assert_ptr_equal(h->data, (void *)DATA_ADDR);
    h->ram.host = calloc(1, RAM_SIZE);
    h->ram.size = h->ram.low_size = RAM_SIZE;
    h->ram.hole_size = GUEST_4G - RAM_SIZE;
    uint8_t *m = h->ram.host;
    put64(m + 0x1000, 0x2000 | 3);                            /* PML4[0] -> PDPT */
    put64(m + 0x2000, 0x3000 | 3);                            /* PDPT[0] -> PD */
    put64(m + 0x3000, 0x0 | 0x83);                            /* PD[0]: 2 MiB identity */
    unsigned pml4i = (unsigned)((DATA_ADDR >> 39) & 511);
    put64(m + 0x1000 + (size_t)pml4i * 8, 0x4000 | 3);
    put64(m + 0x4000, 0x5000 | 3);
    put64(m + 0x5000, 0x6000 | 3);
    put64(m + 0x6000, DATA_GPA | 3);
    reset_state(h);
    h->cpu = interp_cpu_create(&h->st, &h->ram, NULL);
    assert_non_null(h->cpu);
    return h;
}

static void harness_free(struct harness *h)
{
    interp_cpu_destroy(h->cpu);
    free(h->ram.host);
    munmap(h->exec, EXEC_SIZE);
    munmap(h->data, 4096);
    free(h);
}

static void dump_regs(const char *who, const uint8_t *fx)
{
    uint16_t cw, sw;
    memcpy(&cw, fx, 2);
    memcpy(&sw, fx + 2, 2);
    fprintf(stderr, "  %-6s fcw %04x fsw %04x ftw %02x\n", who, cw, sw, fx[4]);
    for (unsigned i = 0; i < 8; i++) {
        uint64_t m;
        uint16_t se;
        memcpy(&m, fx + 32 + 16 * i, 8);
        memcpy(&se, fx + 40 + 16 * i, 2);
        fprintf(stderr, "    st%u %04x %016llx\n", i, se, (unsigned long long)m);
    }
}

/* Random initial state: all exceptions masked, ES clear. */
static void rnd_state(struct xstate *x)
{
    memset(x, 0, sizeof(*x));
    static const uint16_t pcs[] = { 0, 2, 3 };
    uint16_t fcw = (uint16_t)(0x7f | pcs[rn(3)] << 8 | rn(4) << 10);
    uint16_t fsw = (uint16_t)((rnd() & 0x477f) | rn(8) << 11);
    if (rn(2))
        fsw &= 0x7f00;                         /* often no sticky flags, to see new ones */
    memcpy(x->fx, &fcw, 2);
    memcpy(x->fx + 2, &fsw, 2);
    x->fx[4] = (uint8_t)(rn(4) ? rnd() : rn(2) ? 0xff : 0);
    uint32_t mxcsr;
    __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
    memcpy(x->fx + 24, &mxcsr, 4);
    for (unsigned i = 0; i < 8; i++)
        rnd_f80(x->fx + 32 + 16 * i);
    x->rflags = 0x202 | (rnd() & ARITH);
    x->rax = rnd();
}

static bool same_x87(const uint8_t *a, const uint8_t *b)
{
    if (memcmp(a, b, 5) != 0)                  /* FCW, FSW, abridged FTW */
        return false;
    for (unsigned i = 0; i < 8; i++)
        if (memcmp(a + 32 + 16 * i, b + 32 + 16 * i, 10) != 0)
            return false;
    return true;
}

/* Runs one random sequence; false on a mismatch. */
static bool run_one(struct harness *h, uint64_t seed)
{
    rng_state = seed * UINT64_C(0x9e3779b97f4a7c15) + 1;
    struct enc seq = { .n = 0 }, tramp;
    for (unsigned i = 1 + rn(6); i > 0 && seq.n < 400; i--)
        gen_one(&seq);
    struct xstate init, hw;
    rnd_state(&init);
    uint8_t data0[256];
    for (unsigned i = 0; i < 256; i += 8)
        rnd_mem8(data0 + i);

    memcpy(h->data, data0, 256);
    hw = init;
    build_native(&tramp, &seq);
    if (getenv("INTERP_X87_TRACE")) {
        fprintf(stderr, "seed %#llx:", (unsigned long long)seed);
        for (unsigned i = 0; i < seq.n; i++)
            fprintf(stderr, " %02x", seq.b[i]);
        fprintf(stderr, "\n");
    }
    memcpy(h->exec, tramp.b, tramp.n);
    __builtin___clear_cache((char *)h->exec, (char *)h->exec + tramp.n);
    ((void (*)(struct xstate *))h->exec)(&hw);

    reset_state(h);
    memcpy(h->st.xsave, init.fx, 512);
    h->st.xsave[512] = 1;                                      /* XSTATE_BV: x87 */
    h->st.gpr[GPR_RAX] = init.rax;
    h->st.gpr[GPR_RBP] = DATA_ADDR;
    h->st.rflags = init.rflags;
    memcpy(h->ram.host + DATA_GPA, data0, 256);
    memcpy(h->ram.host + CODE_GPA, seq.b, seq.n);
    h->ram.host[CODE_GPA + seq.n] = 0xf4;                       /* hlt */
    interp_invalidate_code(h->cpu, CODE_GPA, seq.n + 1);
    interp_state_changed(h->cpu);
    int rc = interp_execute(h->cpu, 10000);

    uint8_t *gm = h->ram.host + DATA_GPA;
    memset(h->data + ENV_OFF + 12, 0, 16);                     /* FIP, FCS, FOP, FDP, FDS */
    memset(gm + ENV_OFF + 12, 0, 16);
    bool ok = rc == VINF_EM_HALT && h->st.rip == CODE_GPA + seq.n + 1;
    bool regs_ok = same_x87(hw.fx, h->st.xsave);
    bool flags_ok = (hw.rflags & ARITH) == (h->st.rflags & ARITH) && hw.rax == h->st.gpr[GPR_RAX];
    bool mem_ok = memcmp(h->data, gm, 256) == 0;
    ok = ok && regs_ok && flags_ok && mem_ok;
    if (!ok || getenv("INTERP_X87_DUMP")) {
        fprintf(stderr, "%s seed=%#llx rc=%d (%s) regs %s flags %s (cpu %llx/%llx interp %llx/%llx) memory %s\n  sequence:",
                ok ? "ok" : "MISMATCH", (unsigned long long)seed, rc, interp_last_error(h->cpu),
                regs_ok ? "ok" : "DIFFER", flags_ok ? "ok" : "DIFFER", (unsigned long long)hw.rflags,
                (unsigned long long)hw.rax, (unsigned long long)h->st.rflags,
                (unsigned long long)h->st.gpr[GPR_RAX], mem_ok ? "ok" : "DIFFERS");
        for (unsigned i = 0; i < seq.n; i++)
            fprintf(stderr, " %02x", seq.b[i]);
        fprintf(stderr, "\n");
        dump_regs("init", init.fx);
        dump_regs("cpu", hw.fx);
        dump_regs("interp", h->st.xsave);
        for (unsigned i = 0; i < 256 && !mem_ok; i++)
            if (h->data[i] != gm[i])
                fprintf(stderr, "    mem[%#x] cpu %02x interp %02x\n", i, h->data[i], gm[i]);
    }
    return ok;
}

static uint64_t env_u64(const char *name, uint64_t def)
{
    const char *v = getenv(name);
    return v && *v ? strtoull(v, NULL, 0) : def;
}

static void run_diff(bool mmx)
{
    mmx_enabled = mmx;
    struct harness *h = harness_new();
    uint64_t n = env_u64("INTERP_X87_SEQUENCES", 20000), seed0 = env_u64("INTERP_X87_SEED", 1);
    unsigned failures = 0;
    for (uint64_t i = 0; i < n && failures < 5; i++)
        if (!run_one(h, seed0 + i))
            failures++;
    printf("interp %s diff: %llu sequences from seed %llu, %u mismatches\n", mmx ? "x87+MMX" : "x87", (unsigned long long)n,
           (unsigned long long)seed0, failures);
    harness_free(h);
    assert_int_equal(failures, 0);
}

static void test_x87_diff(void **state)
{
    (void)state;
    run_diff(false);
}

/* MMX mixed with x87: the aliasing of MMi on the register mantissas, the
 * TOP/tag transitions, EMMS. */
static void test_mmx_diff(void **state)
{
    (void)state;
    run_diff(true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_x87_diff),
        cmocka_unit_test(test_mmx_diff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
