/*
 * The TSS I/O permission bitmap: at CPL > IOPL, IN/OUT/INS/OUTS are allowed
 * only for ports whose bits are all clear in the bitmap (each byte of a
 * wider access has its own bit), within the TSS limit; IOPL >= CPL
 * bypasses the bitmap.
 */
#include "interp_sys_harness.h"

#define MAP_BASE 0x68u
#define MAP      (TSS + MAP_BASE)

/* CPL 3 with IOPL 0 and a TSS holding an all-clear bitmap for every port. */
static void user_with_map(struct sys_guest *g, uint32_t limit)
{
    long_state(g, 3);
    g->ram.host[TSS + 0x66] = MAP_BASE;
    g->ram.host[TSS + 0x67] = 0;
    g->st.seg[SEG_TR].limit = limit;
}

static void set_port_bit(struct sys_guest *g, unsigned port)
{
    g->ram.host[MAP + port / 8] |= (uint8_t)(1u << (port & 7));
}

static void test_no_bitmap(void **state)
{
    (void)state;
    struct sys_guest *g = sys_new();
    user_with_map(g, 0x67);                                      /* map base past the limit */
    EXC(g, 13, true, 0, 0, 0xe4, 0x80, 0xf4);                   /* in al, 0x80 */
    long_state(g, 0);                                            /* CPL 0: always allowed */
    g->st.gpr[GPR_RAX] = 0;
    assert_int_equal(RUN(g, 0xe4, 0x80, 0xf4), NO_EXC);
    assert_int_equal(g->st.gpr[GPR_RAX], 0xff);
    sys_free(g);
}

static void test_bitmap_allows_and_denies(void **state)
{
    (void)state;
    struct sys_guest *g = sys_new();
    user_with_map(g, MAP_BASE + 0x2000);
    g->st.gpr[GPR_RAX] = 0;
    EXC(g, 13, true, 0, 2, 0xe4, 0x80, 0xf4);                   /* IN passes, HLT faults */
    assert_int_equal(g->st.gpr[GPR_RAX], 0xff);
    set_port_bit(g, 0x81);
    user_with_map(g, MAP_BASE + 0x2000);
    EXC(g, 13, true, 0, 6, 0xe4, 0x80,                          /* in al, 0x80: bit clear */
        0x66, 0xba, 0x80, 0x00,                                  /* mov dx, 0x80 */
        0x66, 0xed, 0xf4);                                       /* in ax, dx: 0x81 denied */
    user_with_map(g, MAP_BASE + 0x2000);
    g->st.gpr[GPR_RDX] = 0x81;
    g->st.gpr[GPR_RSI] = CODE + 0x100;
    EXC(g, 13, true, 0, 0, 0xf3, 0x6e, 0xf4);                   /* rep outsb: denied */
    /* IOPL 3 bypasses the bitmap. */
    user_with_map(g, MAP_BASE + 0x2000);
    g->st.rflags |= RFLAGS_IOPL;
    g->st.gpr[GPR_RDX] = 0x80;
    EXC(g, 13, true, 0, 2, 0x66, 0xed, 0xf4);
    sys_free(g);
}

/* The two bytes read for a port must lie within the TSS limit. */
static void test_bitmap_limit(void **state)
{
    (void)state;
    struct sys_guest *g = sys_new();
    user_with_map(g, MAP_BASE + 0x1fff);
    g->st.gpr[GPR_RDX] = 0xfff8;
    EXC(g, 13, true, 0, 0, 0xec, 0xf4);                          /* in al, dx */
    user_with_map(g, MAP_BASE + 0x2000);
    g->st.gpr[GPR_RDX] = 0xfff8;
    EXC(g, 13, true, 0, 1, 0xec, 0xf4);
    sys_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_bitmap),
        cmocka_unit_test(test_bitmap_allows_and_denies),
        cmocka_unit_test(test_bitmap_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
