/*
 * The compacted XSAVE format: XSAVEC/XSAVES write XSTATE_BV and XCOMP_BV
 * (bit 63 set) and only the components in use, XRSTOR/XRSTORS restore a
 * compacted image (initialising components whose XSTATE_BV bit is clear),
 * and the #GP cases: alignment, CPL for XSAVES/XRSTORS, XRSTORS of a
 * standard image, inconsistent headers.
 */
#include "interp_sys_harness.h"

#define AREA   0x8000u
#define HDR    (AREA + 512)
#define XMM0   160u
#define MXCSR  24u

static const uint8_t xsavec[] = { 0x48, 0x0f, 0xc7, 0x27, 0xf4 };   /* xsavec64 [rdi] */
static const uint8_t xsaves[] = { 0x48, 0x0f, 0xc7, 0x2f, 0xf4 };   /* xsaves64 [rdi] */
static const uint8_t xrstors[] = { 0x48, 0x0f, 0xc7, 0x1f, 0xf4 };  /* xrstors64 [rdi] */
static const uint8_t xrstor[] = { 0x48, 0x0f, 0xae, 0x2f, 0xf4 };   /* xrstor64 [rdi] */

/* x87+SSE enabled, XMM0 and MXCSR set, both components in use. */
static void fpu_state(struct sys_guest *g, unsigned cpl)
{
    long_state(g, cpl);
    g->st.cr4 |= CR4_OSXSAVE | CR4_OSFXSR;
    g->st.xcr0 = 3;
    memset(g->st.xsave, 0, 1024);
    g->st.xsave[0] = 0x7f; g->st.xsave[1] = 0x03;          /* FCW */
    memset(g->st.xsave + XMM0, 0xa5, 16);
    uint32_t mxcsr = 0x1f80 | 0x8000;
    memcpy(g->st.xsave + MXCSR, &mxcsr, 4);
    g->st.xsave[512] = 3;                                   /* XSTATE_BV */
    g->st.gpr[GPR_RAX] = 3;
    g->st.gpr[GPR_RDX] = 0;
    g->st.gpr[GPR_RDI] = AREA;
}

static void test_xsavec_layout(void **state)
{
    (void)state;
    struct sys_guest *g = sys_new();
    fpu_state(g, 0);
    memset(g->ram.host + AREA, 0xcc, 1024);
    assert_int_equal(run_code(g, xsavec, sizeof(xsavec)), NO_EXC);
    assert_int_equal(get64(g, HDR), 3);
    assert_int_equal(get64(g, HDR + 8), UINT64_C(0x8000000000000003));
    assert_int_equal(g->ram.host[AREA + XMM0 + 7], 0xa5);
    assert_int_equal(get64(g, AREA + MXCSR) & 0xffffffff, 0x9f80);
    /* SSE in its initial state: XSTATE_BV bit 1 clear, XMM0 not written. */
    fpu_state(g, 0);
    g->st.xsave[512] = 1;
    memset(g->ram.host + AREA, 0xcc, 1024);
    assert_int_equal(run_code(g, xsavec, sizeof(xsavec)), NO_EXC);
    assert_int_equal(get64(g, HDR), 1);
    assert_int_equal(g->ram.host[AREA + XMM0], 0xcc);
    sys_free(g);
}

/* XSAVEC then XRSTOR of the compacted image with a changed XMM0, and with
 * SSE marked initial (XMM0 zeroed). */
static void test_xrstor_compacted(void **state)
{
    (void)state;
    struct sys_guest *g = sys_new();
    fpu_state(g, 0);
    assert_int_equal(run_code(g, xsavec, sizeof(xsavec)), NO_EXC);
    memset(g->ram.host + AREA + XMM0, 0x3c, 16);
    memset(g->st.xsave + XMM0, 0, 16);
    fpu_state(g, 0);
    memset(g->st.xsave + XMM0, 0, 16);
    assert_int_equal(run_code(g, xrstor, sizeof(xrstor)), NO_EXC);
    assert_int_equal(g->st.xsave[XMM0 + 15], 0x3c);
    g->ram.host[HDR] = 1;                                  /* SSE initial */
    assert_int_equal(run_code(g, xrstors, sizeof(xrstors)), NO_EXC);
    assert_int_equal(g->st.xsave[XMM0 + 15], 0);
    assert_int_equal(g->st.xsave[512] & 2, 0);
    sys_free(g);
}

static void test_compacted_faults(void **state)
{
    (void)state;
    struct sys_guest *g = sys_new();
    fpu_state(g, 3);                                        /* XSAVES at CPL 3 */
    g->st.gpr[GPR_RSP] = USER_STACK;
    assert_int_equal(run_code(g, xsaves, sizeof(xsaves)), 13);
    fpu_state(g, 0);                                        /* misaligned */
    g->st.gpr[GPR_RDI] = AREA + 16;
    assert_int_equal(run_code(g, xsavec, sizeof(xsavec)), 13);
    fpu_state(g, 0);                                        /* XRSTORS of a standard image */
    memset(g->ram.host + AREA, 0, 1024);
    g->ram.host[HDR] = 3;
    assert_int_equal(run_code(g, xrstors, sizeof(xrstors)), 13);
    fpu_state(g, 0);                                        /* XSTATE_BV outside XCOMP_BV */
    assert_int_equal(run_code(g, xsaves, sizeof(xsaves)), NO_EXC);
    g->st.rip = CODE;
    put64(g, HDR + 8, UINT64_C(0x8000000000000001));
    fpu_state(g, 0);
    assert_int_equal(run_code(g, xrstor, sizeof(xrstor)), 13);
    fpu_state(g, 0);                                        /* CR4.OSXSAVE clear: #UD */
    g->st.cr4 &= ~(uint64_t)CR4_OSXSAVE;
    assert_int_equal(run_code(g, xsavec, sizeof(xsavec)), 6);
    sys_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xsavec_layout),
        cmocka_unit_test(test_xrstor_compacted),
        cmocka_unit_test(test_compacted_faults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
