/*
 * The x87 state and MXCSR kept live in the host's registers while the
 * guest masks every exception (src/cpu/interp/x87_live.c, sse_mxcsr.c).
 * guests/interp_fpu_live.asm leaves the live state through each door (a
 * faulting FSTP, FNSTSW, FXSAVE, FLDCW unmasking, STMXCSR/LDMXCSR and
 * an unmasked SIMD exception); the expected values come from the same
 * instructions on the host FPU.  Then the x87, SSE and this guest run
 * with interp_execute returning after every 1 and every 3 instructions
 * (the state written back and reloaded at each return) and must end with
 * the same results, x87 state and MXCSR as in one call.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "interp_flat_guest.h"

static uint16_t res16(const struct guest *g, unsigned off)
{
    uint16_t v;
    memcpy(&v, g->ram.host + RES + off, 2);
    return v;
}

static uint32_t res32(const struct guest *g, unsigned off)
{
    uint32_t v;
    memcpy(&v, g->ram.host + RES + off, 4);
    return v;
}

/* FSW after FNINIT and n FLD1 on the host (n = 9: a masked stack overflow). */
static uint16_t host_fld1_fsw(unsigned n)
{
    uint16_t sw;
    __asm__ volatile("fninit\n\t"
                     "1: fld1\n\t"
                     "dec %%ecx\n\t"
                     "jnz 1b\n\t"
                     "fnstsw %0\n\t"
                     "fninit"
                     : "=m"(sw), "+c"(n) : : "memory", "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)",
                       "st(6)", "st(7)");
    return sw;
}

/* pi + 1 (FLDPI, FLD1, FADDP) and the FSW it leaves. */
static long double host_pi_plus_1(uint16_t *fsw)
{
    long double r;
    uint16_t sw;
    __asm__ volatile("fninit\n\tfldpi\n\tfld1\n\tfaddp\n\tfnstsw %1" : "=t"(r), "=m"(sw));
    __asm__ volatile("fnclex");
    *fsw = sw;
    return r;
}

static void test_live_doors(void **state)
{
    (void)state;
    struct guest *g = run_guest("interp_fpu_live.bin");
    assert_true(g->exited);
    assert_int_equal(g->exit_code, 0);

    /* The faulting FSTP m64 left the stack alone: TOP 6, two valid registers, ST0 pi. */
    assert_int_equal(res16(g, 0x1e), 0x6770);
    assert_int_equal(res16(g, 0x02), 0x3000);
    assert_int_equal(res16(g, 0x04), 0x0fff);
    long double pi;
    __asm__ volatile("fldpi" : "=t"(pi));
    assert_memory_equal(g->ram.host + RES + 0x10, &pi, 10);

    /* FNSTSW AX and m16 on the live state: the masked overflow's IE SF C1. */
    uint16_t ovf = host_fld1_fsw(9);
    assert_int_equal(ovf & 0x0241, 0x0241);
    assert_int_equal(res16(g, 0x20), ovf);
    assert_int_equal(res16(g, 0x22), ovf);

    /* FXSAVE: FSW, abridged tags, ST0. */
    uint16_t fsw;
    long double sum = host_pi_plus_1(&fsw);
    assert_int_equal(res16(g, 0x24), fsw);
    assert_int_equal(g->ram.host[RES + 0x26], 0x80);
    assert_memory_equal(g->ram.host + RES + 0x28, &sum, 10);

    /* FLDCW unmasking ZE, FDIVP by zero: ZE ES B, TOP 6 (nothing popped). */
    assert_int_equal(res16(g, 0x40), 0x8000 | 0x3000 | 0x0080 | 0x0004);

    /* MXCSR: PE from ADDSS, ZE from a masked DIVSS (+inf), #UD with ZE unmasked. */
    assert_int_equal(res32(g, 0x50), 0x1fa0);
    assert_int_equal(res32(g, 0x54), 0x1f84);
    assert_int_equal(res32(g, 0x58), 0x7f800000);
    assert_int_equal(res16(g, 0x64), 0x0d06);
    assert_int_equal(res32(g, 0x5c), 0x1d84);
    float third, expect;
    uint32_t third_bits = 0x3eaaaaab;
    memcpy(&third, &third_bits, 4);
    expect = 1.0f + third;
    assert_memory_equal(g->ram.host + RES + 0x60, &expect, 4);
    guest_free(g);
}

/* Results (RES..RES+0x800), x87 state (FCW..ST7, FOP/FIP/FDP left out: the
 * guests do not depend on them) and MXCSR match those of the one-call run. */
static void check_chunked(const char *image)
{
    struct guest *whole = run_guest(image);
    assert_true(whole->exited);
    static const uint64_t chunks[] = { 1, 3 };
    for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        struct guest *g = run_guest_chunked(image, chunks[i]);
        assert_true(g->exited);
        assert_int_equal(g->exit_code, whole->exit_code);
        assert_string_equal(g->out, whole->out);
        assert_memory_equal(g->ram.host + RES, whole->ram.host + RES, 0x800);
        assert_memory_equal(g->st.xsave, whole->st.xsave, 6);               /* FCW FSW FTW */
        assert_memory_equal(g->st.xsave + 24, whole->st.xsave + 24, 4);     /* MXCSR */
        assert_memory_equal(g->st.xsave + 32, whole->st.xsave + 32, 128 + 256);   /* ST0-7, XMM0-15 */
        guest_free(g);
    }
    guest_free(whole);
}

static void test_chunked_x87(void **state)
{
    (void)state;
    check_chunked("interp_x87.bin");
}

static void test_chunked_sse(void **state)
{
    (void)state;
    check_chunked("interp_sse.bin");
}

static void test_chunked_live(void **state)
{
    (void)state;
    check_chunked("interp_fpu_live.bin");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_live_doors),
        cmocka_unit_test(test_chunked_x87),
        cmocka_unit_test(test_chunked_sse),
        cmocka_unit_test(test_chunked_live),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
