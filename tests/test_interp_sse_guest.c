/*
 * The SSE test guest (guests/interp_sse.asm) under the interpreter: it
 * switches to long mode with CR4.OSFXSR/OSXMMEXCPT and computes with SSE;
 * this test checks the results against published vectors (FIPS-197 C.1,
 * the CRC-32C check value), exact arithmetic (carry-less product, rounding
 * of -2.5) and the same float computations done on the host, and the #XM
 * path of an unmasked divide by zero.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "interp_flat_guest.h"

static uint64_t res64(const struct guest *g, unsigned off)
{
    uint64_t v;
    memcpy(&v, g->ram.host + RES + off, 8);
    return v;
}

static uint32_t res32(const struct guest *g, unsigned off)
{
    uint32_t v;
    memcpy(&v, g->ram.host + RES + off, 4);
    return v;
}

/* The guest's dot product in the same order: lane sums, then two HADDPS. */
static float host_dot(void)
{
    static const float a[8] = { 1.5f, -2.25f, 3.0f, 0.1f, 7.0f, 1e-3f, -4.5f, 2.0f };
    static const float b[8] = { 0.3f, 1.75f, -0.5f, 10.0f, 0.25f, 300.0f, 2.5f, 1.0e7f };
    volatile float s[4];
    for (unsigned i = 0; i < 4; i++) {
        volatile float p = a[i] * b[i], q = a[i + 4] * b[i + 4];
        s[i] = p + q;
    }
    volatile float lo = s[0] + s[1], hi = s[2] + s[3];
    return lo + hi;
}

static void test_sse_guest(void **state)
{
    (void)state;
    struct guest *g = run_guest("interp_sse.bin");
    if (strcmp(g->out, "SSE XM") != 0)
        fprintf(stderr, "guest output: \"%s\"\n", g->out);
    assert_true(g->exited);
    assert_int_equal(g->exit_code, 0);
    assert_string_equal(g->out, "SSE XM");

    static const uint8_t cipher[16] = { 0x69, 0xc4, 0xe0, 0xd8, 0x6a, 0x7b, 0x04, 0x30,
                                        0xd8, 0xcd, 0xb7, 0x80, 0x70, 0xb4, 0xc5, 0x5a };
    static const uint8_t plain[16] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                       0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };
    assert_memory_equal(g->ram.host + RES + 0x00, cipher, 16);
    assert_memory_equal(g->ram.host + RES + 0x10, plain, 16);
    assert_int_equal(res64(g, 0x20), strlen("The quick brown fox jumps over it."));
    assert_int_equal(res64(g, 0x28), 14);                           /* "needle" in "a haystack: a ne..." */

    float dot = host_dot(), got_dot;
    memcpy(&got_dot, g->ram.host + RES + 0x30, 4);
    assert_memory_equal(&got_dot, &dot, 4);
    double root = sqrt(2.0), got_root;
    memcpy(&got_root, g->ram.host + RES + 0x38, 8);
    assert_memory_equal(&got_root, &root, 8);
    assert_int_equal((int64_t)res64(g, 0x40), -3);                  /* rounding down */
    assert_int_equal((int64_t)res64(g, 0x48), -2);                  /* up */
    assert_int_equal((int64_t)res64(g, 0x50), -2);                  /* to nearest even */
    assert_int_equal(res32(g, 0x58), 0xe3069283u);
    assert_int_equal(res64(g, 0x60), UINT64_C(0x8000000000000003));
    assert_int_equal(res64(g, 0x68), 1);

    assert_int_equal(res32(g, 0x80), 0x1d84);                       /* handler: ZE, ZM clear */
    assert_int_equal(res32(g, 0x84), 1);                            /* one #XM */
    float one;
    memcpy(&one, g->ram.host + RES + 0x88, 4);
    assert_true(one == 1.0f);                                       /* destination unchanged */
    assert_int_equal(res32(g, 0x8c), 0x1f80);
    guest_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sse_guest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
