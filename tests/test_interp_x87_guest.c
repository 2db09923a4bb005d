/*
 * The x87 test guest (guests/interp_x87.asm) under the interpreter: it
 * switches to long mode, computes with the x87 and stores its results; this
 * test computes the same values on the host FPU (the reference: same
 * operations, same precision and rounding) and checks the exception
 * behaviour against the architecture: #NM from CR0.TS (x87 instruction,
 * and WAIT with MP), #MF at the FWAIT after an unmasked zero divide (FSW
 * with ZE, ES, B; the stack unchanged), the masked stack-overflow response
 * (IE, SF, C1 and the QNaN indefinite), FNSAVE re-initialising and FRSTOR /
 * FLDENV restoring, FNSTENV masking every exception, the 32- and 16-bit
 * environment layouts (and the real-mode ones with linear FIP and FOP), an
 * unmasked overflow on a store to memory (nothing stored, stack unchanged,
 * #MF at the next FWAIT), an unmasked stack underflow, the real-mode
 * 94-byte FNSAVE/FRSTOR, FCOMI's flags and FBSTP's packed BCD.
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

static void check_f80(const struct guest *g, unsigned off, long double expect, const char *what)
{
    uint8_t e[10];
    memcpy(e, &expect, 10);
    const uint8_t *got = g->ram.host + RES + off;
    if (memcmp(got, e, 10) != 0) {
        fprintf(stderr, "%s: got", what);
        for (int i = 9; i >= 0; i--)
            fprintf(stderr, " %02x", got[i]);
        fprintf(stderr, ", host");
        for (int i = 9; i >= 0; i--)
            fprintf(stderr, " %02x", e[i]);
        fprintf(stderr, "\n");
    }
    assert_memory_equal(got, e, 10);
}

static uint16_t res16(const struct guest *g, unsigned off)
{
    uint16_t v;
    memcpy(&v, g->ram.host + RES + off, 2);
    return v;
}

/* A constant loaded under control word cw (constants follow the rounding control). */
static long double host_const(uint16_t cw, int which)
{
    uint16_t old;
    long double r;
    __asm__ volatile("fnstcw %0" : "=m"(old));
    __asm__ volatile("fldcw %0" : : "m"(cw));
    if (which == 0)
        __asm__ volatile("fldpi" : "=t"(r));
    else if (which == 1)
        __asm__ volatile("fldl2t" : "=t"(r));
    else
        __asm__ volatile("fld1" : "=t"(r));
    __asm__ volatile("fldcw %0" : : "m"(old));
    return r;
}

static void test_x87_guest(void **state)
{
    (void)state;
    struct guest *g = run_guest("interp_x87.bin");
    if (strcmp(g->out, "X87 NM NM MF MF MF\n") != 0)
        fprintf(stderr, "console: '%s'\n", g->out);
    assert_true(g->exited);
    assert_int_equal(g->exit_code, 0);
    assert_string_equal(g->out, "X87 NM NM MF MF MF\n");

    long double s = 0, x;
    for (int k = 1; k <= 100; k++) {
        long double kk = k;
        s += 1.0L / (kk * kk);
    }
    check_f80(g, 0x00, s, "series");
    x = 1.0L;
    __asm__("fsin" : "+t"(x));
    check_f80(g, 0x10, x, "fsin");
    x = 2.0L;
    __asm__("fsqrt" : "+t"(x));
    check_f80(g, 0x20, x, "fsqrt");
    long double one = 1.0L;
    x = 1.0L;
    __asm__("fpatan" : "+t"(x) : "u"(one) : "st(1)");
    check_f80(g, 0x30, x, "fpatan");
    static const uint8_t bcd[10] = { 0x23, 0x01, 0x89, 0x67, 0x45, 0x23, 0x01, 0, 0, 0 };
    assert_memory_equal(g->ram.host + RES + 0x40, bcd, 10);
    long double three = 3.0L;
    x = 10.0L;
    __asm__("fyl2x" : "+t"(x) : "u"(three) : "st(1)");
    check_f80(g, 0x50, x, "fyl2x");
    x = 0.5L;
    __asm__("f2xm1" : "+t"(x));
    check_f80(g, 0x60, x, "f2xm1");

    uint64_t fl;
    memcpy(&fl, g->ram.host + RES + 0x74, 8);
    assert_int_equal(fl & 0x8d5, 0x001);                       /* FCOMI 1 < 2: CF only */
    assert_int_equal(res16(g, 0x70) & 0x7f00, 0);              /* FCOMPP 2 > 1: C3=C2=C0=0, TOP 0 */

    assert_int_equal(g->ram.host[RES + 0x7e], 2);              /* two #NM */
    assert_int_equal(g->ram.host[RES + 0x7f], 3);              /* three #MF */
    assert_int_equal(res16(g, 0x7c), 0xb084);                  /* B ES ZE, TOP 6 */
    check_f80(g, 0x80, 0.0L, "st0 after #MF");
    check_f80(g, 0x90, 1.0L, "st1 after #MF");

    assert_int_equal(res16(g, 0xa0), 0x3a41);                  /* TOP 7, C1 SF IE */
    static const uint8_t indefinite[10] = { 0, 0, 0, 0, 0, 0, 0, 0xc0, 0xff, 0xff };
    assert_memory_equal(g->ram.host + RES + 0xb0, indefinite, 10);

    assert_int_equal(res16(g, 0xc0), 0x037f);                  /* FNSAVE re-initialised */
    assert_int_equal(res16(g, 0xc2), 0);
    assert_int_equal(res16(g, 0xc4), 0x0a7e);                  /* FRSTOR restored */
    check_f80(g, 0xd0, host_const(0x0a7e, 2), "fld1 after frstor");
    check_f80(g, 0xe0, host_const(0x0a7e, 1), "fldl2t after frstor");
    check_f80(g, 0xf0, host_const(0x0a7e, 0), "fldpi after frstor");

    assert_int_equal(res16(g, 0x100), 0x0a7f);                 /* FNSTENV masked everything */
    assert_int_equal(res16(g, 0x102), 0x0a7e);                 /* FLDENV restored */
    assert_int_equal(res16(g, 0x104), 0x3800);                 /* FSW: TOP 7 */
    assert_int_equal(res16(g, 0x106), 0x3fff);                 /* tag: register 7 valid, others empty */
    static const uint8_t env16[6] = { 0x7e, 0x0a, 0x00, 0x38, 0xff, 0x3f };
    assert_memory_equal(g->ram.host + RES + 0x108, env16, 6);

    /* Unmasked overflow storing to m32: memory untouched, ST(0) kept, #MF. */
    uint32_t marker;
    memcpy(&marker, g->ram.host + RES + 0x120, 4);
    assert_int_equal(marker, 0x12345678);
    assert_int_equal(res16(g, 0x124) & 0xbfff, 0xb8a8);         /* B ES PE OE, TOP 7 (C1 free) */
    static const uint8_t huge[10] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0x7f };
    assert_memory_equal(g->ram.host + RES + 0x130, huge, 10);

    /* Real-mode layouts: FIP (linear) of the FLD1 and its opcode D9 E8. */
    uint16_t ip = res16(g, 0x13e);
    assert_int_equal(res16(g, 0x140), 0x037f);
    assert_int_equal(res16(g, 0x142), 0x3800);
    assert_int_equal(res16(g, 0x144), 0x3fff);
    assert_int_equal(res16(g, 0x146), ip);
    assert_int_equal(res16(g, 0x148), 0x1e8);                  /* FIP[19:16] = 0, FOP */
    assert_int_equal(res16(g, 0x160), 0x037f);
    assert_int_equal(res16(g, 0x16c), ip);                     /* dword 3: FIP[15:0] */
    uint32_t d4;
    memcpy(&d4, g->ram.host + RES + 0x170, 4);
    assert_int_equal(d4, 0x1e8);                               /* FIP[31:16] = 0, FOP */

    /* Unmasked stack underflow: IE SF ES B, C1 = 0 (underflow), TOP 0. */
    assert_int_equal(res16(g, 0x126), 0x80c1);

    /* Real-mode 94-byte FNSAVE re-initialised; FRSTOR brought pi and 1 back. */
    assert_int_equal(res16(g, 0x17c), 0x037f);
    check_f80(g, 0x180, host_const(0x037f, 0), "fldpi after real-mode frstor");
    check_f80(g, 0x190, 1.0L, "fld1 after real-mode frstor");
    guest_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_x87_guest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
