/*
 * REP MOVS / REP STOS over RAM run a page-sized piece at a time
 * (string_ops.c).  These cases pin down what must not change with that:
 * overlapping forward copies repeat their source as element steps do, a
 * fault in the middle leaves RCX/RSI/RDI at the faulting element with the
 * bytes before it written, and a store over code that runs next is seen.
 */
#include "interp_sys_harness.h"

#define SRC 0x100000u

/* The element-by-element result of a forward REP MOVS of n elements. */
static void reference_movs(uint8_t *ram, uint64_t si, uint64_t di, uint64_t n, unsigned size)
{
    for (uint64_t i = 0; i < n; i++)
        memmove(ram + di + i * size, ram + si + i * size, size);
}

static void check_overlap(unsigned size, uint8_t opcode_rex, uint64_t distance, uint64_t count)
{
    struct sys_guest *g = sys_new();
    uint8_t *expect = malloc(RAM_SIZE);
    for (unsigned i = 0; i < 0x8000; i++)
        g->ram.host[SRC + i] = (uint8_t)(i * 7 + 1);
    memcpy(expect, g->ram.host, RAM_SIZE);
    reference_movs(expect, SRC, SRC + distance, count, size);
    g->st.gpr[GPR_RSI] = SRC;
    g->st.gpr[GPR_RDI] = SRC + distance;
    g->st.gpr[GPR_RCX] = count;
    if (opcode_rex)
        assert_int_equal(RUN(g, 0xf3, opcode_rex, 0xa5, 0xf4), NO_EXC);   /* rep movsq; hlt */
    else if (size == 1)
        assert_int_equal(RUN(g, 0xf3, 0xa4, 0xf4), NO_EXC);
    else
        assert_int_equal(RUN(g, 0xf3, 0xa5, 0xf4), NO_EXC);               /* rep movsd */
    assert_int_equal(g->st.gpr[GPR_RCX], 0);
    assert_int_equal(g->st.gpr[GPR_RSI], SRC + count * size);
    assert_int_equal(g->st.gpr[GPR_RDI], SRC + distance + count * size);
    assert_memory_equal(g->ram.host + SRC, expect + SRC, 0x10000);
    free(expect);
    sys_free(g);
}

/* dst one byte (or less than an element) ahead of src, across pages. */
static void test_overlapping_copies_repeat(void **state)
{
    (void)state;
    check_overlap(1, 0, 1, 0x3000);            /* one byte repeated over three pages */
    check_overlap(8, 0x48, 3, 1000);           /* qwords 3 bytes apart */
    check_overlap(4, 0, 4, 0x1001);            /* exactly one element apart */
    check_overlap(1, 0, 0x1000, 0x2345);       /* a page apart: run boundaries matter */
    check_overlap(8, 0x48, 0x2000, 0x600);     /* no overlap within a run */
}

/* 0-2 MiB is mapped: a copy running into 2 MiB faults there, after it
 * wrote every byte below. */
static void test_fault_in_the_middle(void **state)
{
    (void)state;
    struct sys_guest *g = sys_new();
    for (unsigned i = 0; i < 0x200; i++)
        g->ram.host[SRC + i] = (uint8_t)(i ^ 0x5a);
    g->st.gpr[GPR_RSI] = SRC;
    g->st.gpr[GPR_RDI] = 0x1fff00;
    g->st.gpr[GPR_RCX] = 0x200;
    EXC(g, 14, true, 2, 0, 0xf3, 0xa4, 0xf4);          /* #PF, write to a not-present page */
    assert_int_equal(g->st.cr2, 0x200000);
    assert_int_equal(g->st.gpr[GPR_RCX], 0x100);
    assert_int_equal(g->st.gpr[GPR_RSI], SRC + 0x100);
    assert_int_equal(g->st.gpr[GPR_RDI], 0x200000);
    assert_memory_equal(g->ram.host + 0x1fff00, g->ram.host + SRC, 0x100);
    assert_int_equal(g->ram.host[0x200000], 0);
    sys_free(g);
}

static void test_stos_across_pages(void **state)
{
    (void)state;
    struct sys_guest *g = sys_new();
    const uint64_t v = UINT64_C(0x1122334455667788);
    g->st.gpr[GPR_RDI] = 0x100ff8;
    g->st.gpr[GPR_RAX] = v;
    g->st.gpr[GPR_RCX] = 0x401;
    assert_int_equal(RUN(g, 0xf3, 0x48, 0xab, 0xf4), NO_EXC);   /* rep stosq */
    for (unsigned i = 0; i < 0x401; i++)
        assert_int_equal(get64(g, 0x100ff8 + 8 * i), v);
    assert_int_equal(get64(g, 0x100ff8 + 8 * 0x401), 0);
    assert_int_equal(g->st.gpr[GPR_RDI], 0x100ff8 + 8 * 0x401);
    g->st.gpr[GPR_RDI] = 0x101003;
    g->st.gpr[GPR_RAX] = 0xcd;
    g->st.gpr[GPR_RCX] = 0x1ffd;
    assert_int_equal(RUN(g, 0xf3, 0xaa, 0xf4), NO_EXC);         /* rep stosb */
    assert_int_equal(g->ram.host[0x101002], 0x66);   /* byte 2 of the second qword */
    for (unsigned i = 0; i < 0x1ffd; i++)
        assert_int_equal(g->ram.host[0x101003 + i], 0xcd);
    assert_int_equal(g->ram.host[0x103000], 0);
    sys_free(g);
}

/* REP STOSB overwrites the two UD2s that follow it in the same block with
 * NOPs: the NOPs run. */
static void test_stos_over_code_that_runs_next(void **state)
{
    (void)state;
    struct sys_guest *g = sys_new();
    assert_int_equal(RUN(g, 0x48, 0x8d, 0x3d, 0x09, 0x00, 0x00, 0x00,  /* lea rdi, [rip + 9] */
                         0xb0, 0x90,                                  /* mov al, 0x90 */
                         0xb9, 0x04, 0x00, 0x00, 0x00,                /* mov ecx, 4 */
                         0xf3, 0xaa,                                  /* rep stosb */
                         0x0f, 0x0b, 0x0f, 0x0b,                      /* ud2; ud2 */
                         0xf4),
                     NO_EXC);
    assert_int_equal(g->st.gpr[GPR_RCX], 0);
    sys_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_overlapping_copies_repeat),
        cmocka_unit_test(test_fault_in_the_middle),
        cmocka_unit_test(test_stos_across_pages),
        cmocka_unit_test(test_stos_over_code_that_runs_next),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
