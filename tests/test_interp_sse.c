/*
 * The interpreter's SSE family: the rules around the computation (CR0/CR4
 * #UD and #NM, 16-byte alignment, faults before state changes, unmasked
 * SIMD exceptions, the MMX transition) and results checked against values
 * known independently of the host (IEEE arithmetic on exact values, the
 * CRC-32C check value, FIPS-197's AES round, byte shuffles).  The bulk of
 * the instruction set is compared with the host CPU by test_interp_sse_diff.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "interp_sys_harness.h"

#define XMM(i)  (160u + 16u * (i))
#define MXCSR   24u
#define DATA    0x20000u
enum { EXC_UD = 6, EXC_NM = 7, EXC_GP = 13, EXC_PF = 14, EXC_XM = 19 };

static struct sys_guest *sse_new(void)
{
    struct sys_guest *g = sys_new();
    g->st.cr4 |= CR4_OSFXSR | CR4_OSXMMEXCPT;
    uint32_t mxcsr = 0x1f80;
    memcpy(g->st.xsave + MXCSR, &mxcsr, 4);
    return g;
}

static void set_ps(struct sys_guest *g, unsigned i, float a, float b, float c, float d)
{
    float v[4] = { a, b, c, d };
    memcpy(g->st.xsave + XMM(i), v, 16);
}

static float get_ps(const struct sys_guest *g, unsigned i, unsigned lane)
{
    float v;
    memcpy(&v, g->st.xsave + XMM(i) + 4 * lane, 4);
    return v;
}

static uint32_t get_mxcsr(const struct sys_guest *g)
{
    uint32_t v;
    memcpy(&v, g->st.xsave + MXCSR, 4);
    return v;
}

static void set_mxcsr(struct sys_guest *g, uint32_t v)
{
    memcpy(g->st.xsave + MXCSR, &v, 4);
}

/* ADDPS/MULPS/DIVSS on exact values; MOVSS merge vs. load. */
static void test_arithmetic(void **state)
{
    (void)state;
    struct sys_guest *g = sse_new();
    set_ps(g, 1, 1.0f, 2.5f, -3.0f, 1e30f);
    set_ps(g, 2, 2.0f, 0.5f, 3.0f, 1e30f);
    assert_int_equal(RUN(g, 0x0f, 0x58, 0xca, 0xf4), NO_EXC);              /* addps xmm1, xmm2 */
    assert_true(get_ps(g, 1, 0) == 3.0f && get_ps(g, 1, 1) == 3.0f && get_ps(g, 1, 2) == 0.0f);
    assert_true(get_ps(g, 1, 3) == 2e30f);
    assert_int_equal(RUN(g, 0x0f, 0x59, 0xca, 0xf4), NO_EXC);              /* mulps: 1e30*2e30 overflows */
    assert_true(get_ps(g, 1, 0) == 6.0f && get_ps(g, 1, 3) > 3.4e38f);
    assert_int_equal(get_mxcsr(g) & 0x3f, 0x28);                           /* OE PE (masked) */

    set_ps(g, 3, 5.0f, 6.0f, 7.0f, 8.0f);
    set_ps(g, 4, 9.0f, 10.0f, 11.0f, 12.0f);
    assert_int_equal(RUN(g, 0xf3, 0x0f, 0x10, 0xdc, 0xf4), NO_EXC);        /* movss xmm3, xmm4: merge */
    assert_true(get_ps(g, 3, 0) == 9.0f && get_ps(g, 3, 1) == 6.0f && get_ps(g, 3, 3) == 8.0f);
    float f = 42.0f;
    memcpy(g->ram.host + DATA, &f, 4);
    g->st.gpr[GPR_RBX] = DATA;
    assert_int_equal(RUN(g, 0xf3, 0x0f, 0x10, 0x1b, 0xf4), NO_EXC);        /* movss xmm3, [rbx]: zeroes */
    assert_true(get_ps(g, 3, 0) == 42.0f && get_ps(g, 3, 1) == 0.0f && get_ps(g, 3, 3) == 0.0f);

    g->st.gpr[GPR_RAX] = (uint64_t)-7;
    assert_int_equal(RUN(g, 0xf2, 0x48, 0x0f, 0x2a, 0xe8, 0xf4), NO_EXC);  /* cvtsi2sd xmm5, rax */
    double d;
    memcpy(&d, g->st.xsave + XMM(5), 8);
    assert_true(d == -7.0);
    assert_int_equal(RUN(g, 0xf2, 0x4c, 0x0f, 0x2c, 0xc5, 0xf4), NO_EXC);  /* cvttsd2si r8, xmm5 */
    assert_int_equal(g->st.gpr[GPR_R8], (uint64_t)-7);
    sys_free(g);
}

/* HADDPS and MULPS with a memory operand. */
static void test_horizontal(void **state)
{
    (void)state;
    struct sys_guest *g = sse_new();
    set_ps(g, 1, 1.0f, 2.0f, 3.0f, 4.0f);
    set_ps(g, 2, 10.0f, 20.0f, 30.0f, 40.0f);
    assert_int_equal(RUN(g, 0xf2, 0x0f, 0x7c, 0xca, 0xf4), NO_EXC);        /* haddps xmm1, xmm2 */
    assert_true(get_ps(g, 1, 0) == 3.0f && get_ps(g, 1, 1) == 7.0f);
    assert_true(get_ps(g, 1, 2) == 30.0f && get_ps(g, 1, 3) == 70.0f);
    float m[4] = { 0.5f, 0.25f, 2.0f, -1.0f };
    memcpy(g->ram.host + DATA, m, 16);
    g->st.gpr[GPR_RBX] = DATA;
    assert_int_equal(RUN(g, 0x0f, 0x59, 0x0b, 0xf4), NO_EXC);              /* mulps xmm1, [rbx] */
    assert_true(get_ps(g, 1, 0) == 1.5f && get_ps(g, 1, 1) == 1.75f);
    assert_true(get_ps(g, 1, 2) == 60.0f && get_ps(g, 1, 3) == -70.0f);
    sys_free(g);
}

/* Integer forms and register classes: PCMPEQB + PMOVMSKB, PSHUFB, PSLLDQ,
 * MOVD to a GPR, PEXTRB to memory, PTEST flags. */
static void test_integer(void **state)
{
    (void)state;
    struct sys_guest *g = sse_new();
    static const uint8_t s[16] = "hello, world!\0ab";
    memcpy(g->st.xsave + XMM(9), s, 16);
    memset(g->st.xsave + XMM(10), 'l', 16);
    assert_int_equal(RUN(g, 0x66, 0x45, 0x0f, 0x74, 0xca,                 /* pcmpeqb xmm9, xmm10 */
                         0x66, 0x41, 0x0f, 0xd7, 0xc1, 0xf4), NO_EXC);      /* pmovmskb eax, xmm9 */
    assert_int_equal(g->st.gpr[GPR_RAX], (1u << 2) | (1u << 3) | (1u << 10));

    uint8_t idx[16], src[16];
    for (unsigned i = 0; i < 16; i++) {
        idx[i] = (uint8_t)(15 - i);
        src[i] = (uint8_t)(0x10 + i);
    }
    idx[5] = 0x80;                                                         /* top bit: zero */
    memcpy(g->st.xsave + XMM(1), src, 16);
    memcpy(g->st.xsave + XMM(2), idx, 16);
    assert_int_equal(RUN(g, 0x66, 0x0f, 0x38, 0x00, 0xca, 0xf4), NO_EXC);  /* pshufb xmm1, xmm2 */
    for (unsigned i = 0; i < 16; i++)
        assert_int_equal(g->st.xsave[XMM(1) + i], i == 5 ? 0 : 0x10 + 15 - i);

    memcpy(g->st.xsave + XMM(1), src, 16);
    assert_int_equal(RUN(g, 0x66, 0x0f, 0x73, 0xf9, 0x03,                 /* pslldq xmm1, 3 */
                         0x66, 0x0f, 0x7e, 0xc9, 0xf4), NO_EXC);            /* movd ecx, xmm1 */
    assert_int_equal(g->st.gpr[GPR_RCX], 0x10000000u);
    g->st.gpr[GPR_RBX] = DATA;
    assert_int_equal(RUN(g, 0x66, 0x0f, 0x3a, 0x14, 0x0b, 0x07, 0xf4), NO_EXC);  /* pextrb [rbx], xmm1, 7 */
    assert_int_equal(g->ram.host[DATA], 0x14);

    memset(g->st.xsave + XMM(3), 0, 16);
    g->st.xsave[XMM(3) + 9] = 1;
    memset(g->st.xsave + XMM(4), 0xff, 16);
    assert_int_equal(RUN(g, 0x66, 0x0f, 0x38, 0x17, 0xdc,                 /* ptest xmm3, xmm4 */
                         0x0f, 0x94, 0xc0, 0x0f, 0x92, 0xc1, 0xf4), NO_EXC);   /* setz al; setc cl */
    assert_int_equal(g->st.gpr[GPR_RAX] & 0xff, 0);                        /* xmm3 & xmm4 != 0 */
    assert_int_equal(g->st.gpr[GPR_RCX] & 0xff, 0);                        /* ~xmm3 & xmm4 != 0 */
    sys_free(g);
}

/* CRC-32C of "123456789" is 0xE3069283 (initial and final inversion done
 * by the caller); AESENC of FIPS-197 appendix B's round 1 state. */
static void test_crc32_aes(void **state)
{
    (void)state;
    struct sys_guest *g = sse_new();
    memcpy(g->ram.host + DATA, "123456789", 9);
    g->st.gpr[GPR_RSI] = DATA;
    g->st.gpr[GPR_RAX] = 0xffffffff;
    assert_int_equal(RUN(g, 0xf2, 0x48, 0x0f, 0x38, 0xf1, 0x06,            /* crc32 rax, qword [rsi] */
                         0xf2, 0x0f, 0x38, 0xf0, 0x46, 0x08, 0xf4), NO_EXC); /* crc32 eax, byte [rsi+8] */
    assert_int_equal(~(uint32_t)g->st.gpr[GPR_RAX], 0xe3069283u);

    /* Round 1 of FIPS-197 appendix B: input 19 3d e3 be ..., key 2 a0 fa fe 17 ... */
    static const uint8_t in[16] = { 0x19, 0x3d, 0xe3, 0xbe, 0xa0, 0xf4, 0xe2, 0x2b,
                                    0x9a, 0xc6, 0x8d, 0x2a, 0xe9, 0xf8, 0x48, 0x08 };
    static const uint8_t key[16] = { 0xa0, 0xfa, 0xfe, 0x17, 0x88, 0x54, 0x2c, 0xb1,
                                     0x23, 0xa3, 0x39, 0x39, 0x2a, 0x6c, 0x76, 0x05 };
    static const uint8_t out[16] = { 0xa4, 0x9c, 0x7f, 0xf2, 0x68, 0x9f, 0x35, 0x2b,
                                     0x6b, 0x5b, 0xea, 0x43, 0x02, 0x6a, 0x50, 0x49 };
    memcpy(g->st.xsave + XMM(6), in, 16);
    memcpy(g->st.xsave + XMM(7), key, 16);
    assert_int_equal(RUN(g, 0x66, 0x0f, 0x38, 0xdc, 0xf7, 0xf4), NO_EXC);  /* aesenc xmm6, xmm7 */
    assert_memory_equal(g->st.xsave + XMM(6), out, 16);
    sys_free(g);
}

/* #UD without CR4.OSFXSR or with CR0.EM, #NM with CR0.TS, LOCK #UD,
 * #GP(0) for a misaligned MOVAPS/PADDB operand (not MOVUPS). */
static void test_faults(void **state)
{
    (void)state;
    struct sys_guest *g = sse_new();
    g->st.gpr[GPR_RBX] = DATA + 4;
    g->st.cr4 &= ~(uint64_t)CR4_OSFXSR;
    EXC(g, EXC_UD, false, 0, 0, 0x0f, 0x57, 0xc0, 0xf4);                   /* xorps */
    g->st.cr4 |= CR4_OSFXSR;
    g->st.cr0 |= CR0_EM;
    EXC(g, EXC_UD, false, 0, 0, 0x66, 0x0f, 0xef, 0xc0, 0xf4);             /* pxor */
    g->st.cr0 &= ~(uint64_t)CR0_EM;
    g->st.cr0 |= CR0_TS;
    EXC(g, EXC_NM, false, 0, 0, 0x0f, 0x28, 0xc1, 0xf4);                   /* movaps */
    g->st.cr0 &= ~(uint64_t)CR0_TS;
    EXC(g, EXC_UD, false, 0, 0, 0xf0, 0x66, 0x0f, 0xfe, 0x03, 0xf4);       /* lock paddd */
    EXC(g, EXC_GP, true, 0, 0, 0x0f, 0x28, 0x03, 0xf4);                    /* movaps xmm0, [rbx] */
    EXC(g, EXC_GP, true, 0, 0, 0x66, 0x0f, 0xfc, 0x03, 0xf4);              /* paddb xmm0, [rbx] */
    EXC(g, EXC_GP, true, 0, 0, 0x0f, 0x29, 0x03, 0xf4);                    /* movaps [rbx], xmm0 */
    memset(g->ram.host + DATA + 4, 0x5a, 16);
    assert_int_equal(RUN(g, 0x0f, 0x10, 0x03, 0xf4), NO_EXC);              /* movups xmm0, [rbx] */
    assert_int_equal(g->st.xsave[XMM(0) + 15], 0x5a);
    g->st.gpr[GPR_RBX] = DATA;
    assert_int_equal(RUN(g, 0x66, 0x0f, 0xfc, 0x03, 0xf4), NO_EXC);        /* aligned paddb */
    assert_int_equal(g->st.xsave[XMM(0)], 0x5a);                            /* 0x5a + 0 */
    assert_int_equal(g->st.xsave[XMM(0) + 4], 0xb4);                        /* 0x5a + 0x5a */
    sys_free(g);
}

/* An unmasked divide by zero: #XM (OSXMMEXCPT) or #UD, ZE set, the
 * destination unchanged; the same masked gives infinity. */
static void test_simd_exception(void **state)
{
    (void)state;
    struct sys_guest *g = sse_new();
    set_ps(g, 1, 1.0f, 1.0f, 1.0f, 1.0f);
    set_ps(g, 2, 0.0f, 1.0f, 1.0f, 1.0f);
    set_mxcsr(g, 0x1f80 & ~0x200u);                                        /* ZM clear */
    EXC(g, EXC_XM, false, 0, 0, 0x0f, 0x5e, 0xca, 0xf4);                   /* divps xmm1, xmm2 */
    assert_true(get_ps(g, 1, 0) == 1.0f);
    assert_int_equal(get_mxcsr(g) & 0x3f, 0x04);                           /* ZE only */
    g->st.cr4 &= ~(uint64_t)CR4_OSXMMEXCPT;
    EXC(g, EXC_UD, false, 0, 0, 0x0f, 0x5e, 0xca, 0xf4);
    set_mxcsr(g, 0x1f80);
    assert_int_equal(RUN(g, 0x0f, 0x5e, 0xca, 0xf4), NO_EXC);
    assert_true(get_ps(g, 1, 0) > 3.4e38f && get_ps(g, 1, 1) == 1.0f);
    set_mxcsr(g, 0x1f80 | 0x6000);                                         /* round toward zero */
    set_ps(g, 1, 1.0f, 0, 0, 0);
    set_ps(g, 2, 3.0f, 1, 1, 1);
    assert_int_equal(RUN(g, 0xf3, 0x0f, 0x5e, 0xca, 0xf4), NO_EXC);        /* divss: 1/3 rounded down */
    uint32_t bits;
    memcpy(&bits, g->st.xsave + XMM(1), 4);
    assert_int_equal(bits, 0x3eaaaaaau);                                   /* nearest would be ...ab */
    sys_free(g);
}

/* A 16-byte store across a page boundary whose second page is not present:
 * #PF and the first page untouched. */
static void test_store_page_cross(void **state)
{
    (void)state;
    struct sys_guest *g = sse_new();
    put64(g, 0x3000, 0x7000 | 7);                                          /* 4 KiB pages for 0-2 MiB */
    for (uint64_t p = 0; p < 512; p++)
        put64(g, 0x7000 + 8 * p, p == 0x21 ? 0 : (p << 12) | 7);
    memset(g->st.xsave + XMM(0), 0xcc, 16);
    g->st.gpr[GPR_RBX] = 0x20ff8;
    EXC(g, EXC_PF, true, 2, 0, 0x0f, 0x11, 0x03, 0xf4);                    /* movups [rbx], xmm0 */
    assert_int_equal(g->st.cr2, 0x21000);
    assert_int_equal(g->ram.host[0x20ff8], 0);
    sys_free(g);
}

/* CVTPI2PS from an MMX register moves the x87 unit to MMX mode (TOP 0,
 * every tag valid); from memory it does not. */
static void test_mmx_transition(void **state)
{
    (void)state;
    struct sys_guest *g = sse_new();
    uint16_t fsw = 3u << 11;                                               /* TOP = 3 */
    memcpy(g->st.xsave + 2, &fsw, 2);
    g->st.xsave[4] = 0;
    g->st.gpr[GPR_RBX] = DATA;
    assert_int_equal(RUN(g, 0x0f, 0x2a, 0x03, 0xf4), NO_EXC);              /* cvtpi2ps xmm0, [rbx] */
    assert_int_equal(g->st.xsave[4], 0);
    assert_int_equal(RUN(g, 0x0f, 0x2a, 0xc1, 0xf4), NO_EXC);              /* cvtpi2ps xmm0, mm1 */
    memcpy(&fsw, g->st.xsave + 2, 2);
    assert_int_equal(fsw & 0x3800, 0);
    assert_int_equal(g->st.xsave[4], 0xff);
    sys_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arithmetic),
        cmocka_unit_test(test_horizontal),
        cmocka_unit_test(test_integer),
        cmocka_unit_test(test_crc32_aes),
        cmocka_unit_test(test_faults),
        cmocka_unit_test(test_simd_exception),
        cmocka_unit_test(test_store_page_cross),
        cmocka_unit_test(test_mmx_transition),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
