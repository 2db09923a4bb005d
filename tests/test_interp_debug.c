/*
 * Debug exceptions in the interpreter: TF single-step (DR6.BS, the trap
 * after POPF sets TF, the MOV SS shadow), DR0-DR3/DR7 instruction
 * breakpoints (a fault RF suppresses) and data breakpoints (a trap after
 * the access, by length and R/W type), and INT1 (ICEBP).
 */
#include "interp_sys_harness.h"

#define DR6_BS  0x4000u
#define DATA    0x8000u

/* The RFLAGS image in the handler's 64-bit frame (no error code). */
static uint64_t frame_flags(const struct sys_guest *g)
{
    return get64(g, g->st.gpr[GPR_RSP] + 16);
}

/* Continues from wherever st.rip is (the code is already in place). */
static uint64_t resume(struct sys_guest *g)
{
    g->st.gpr[GPR_R15] = NO_EXC;
    g->st.run_state = CPU_RUNNABLE;
    interp_state_changed(g->cpu);
    assert_int_equal(interp_execute(g->cpu, 1000), VINF_EM_HALT);
    return g->st.gpr[GPR_R15];
}

static void test_single_step(void **state)
{
    (void)state;
    struct sys_guest *g = sys_new();
    g->st.rflags |= RFLAGS_TF;
    assert_int_equal(RUN(g, 0x90, 0x90, 0xf4), 1);
    assert_frame(g, false, 0, CODE + 1);                      /* a trap: after the first NOP */
    assert_true(g->st.dr6 & DR6_BS);
    assert_true(frame_flags(g) & RFLAGS_TF);
    assert_false(g->st.rflags & RFLAGS_TF);                   /* the handler runs without TF */
    sys_free(g);
}

/* POPF setting TF: no trap after the POPF, one after the next instruction. */
static void test_popf_sets_tf(void **state)
{
    (void)state;
    struct sys_guest *g = sys_new();
    assert_int_equal(RUN(g, 0x9c, 0x48, 0x81, 0x0c, 0x24, 0x00, 0x01, 0x00, 0x00, 0x9d, 0x90, 0x90, 0xf4), 1);
    assert_frame(g, false, 0, CODE + 0x0b);
    sys_free(g);
}

/* MOV SS holds the single-step trap back for one instruction. */
static void test_mov_ss_shadow(void **state)
{
    (void)state;
    struct sys_guest *g = sys_new();
    g->st.rflags |= RFLAGS_TF;
    g->st.gpr[GPR_RAX] = 0x10;
    assert_int_equal(RUN(g, 0x8e, 0xd0, 0x90, 0xf4), 1);
    assert_frame(g, false, 0, CODE + 3);                      /* after the NOP, not after MOV SS */
    sys_free(g);
}

/* An instruction breakpoint faults before the instruction (B0, no BS);
 * resuming with RF set runs it once, and RF is clear afterwards. */
static void test_insn_breakpoint(void **state)
{
    (void)state;
    struct sys_guest *g = sys_new();
    g->st.dr[0] = CODE + 1;
    g->st.dr7 = 0x401;                                         /* L0, execute, 1 byte */
    assert_int_equal(RUN(g, 0x90, 0x90, 0xf4), 1);
    assert_frame(g, false, 0, CODE + 1);
    assert_int_equal(g->st.dr6 & (0xfu | DR6_BS), 1);
    assert_false(frame_flags(g) & RFLAGS_RF);                 /* the handler sets RF itself */
    /* Resume at the breakpoint as IRET with RF would. */
    g->st.dr6 = 0xffff0ff0;
    g->st.rip = CODE + 1;
    g->st.rflags = RFLAGS_FIXED | RFLAGS_RF;
    g->st.gpr[GPR_RSP] = STACK_TOP;
    assert_int_equal(resume(g), NO_EXC);
    assert_int_equal(g->st.rip, CODE + 3);
    assert_false(g->st.rflags & RFLAGS_RF);
    /* Without RF it fires again. */
    g->st.rip = CODE + 1;
    g->st.rflags = RFLAGS_FIXED;
    assert_int_equal(resume(g), 1);
    sys_free(g);
}

/* A write breakpoint on 4 bytes: the read before it passes, the byte
 * write inside the range traps after the write (B1). */
static void test_data_write_breakpoint(void **state)
{
    (void)state;
    struct sys_guest *g = sys_new();
    g->st.dr[1] = DATA;
    g->st.dr7 = 0x400 | (1u << 2) | (1u << 20) | (3u << 22);  /* L1, write, 4 bytes */
    g->ram.host[DATA] = 0x5a;
    assert_int_equal(RUN(g, 0x8b, 0x04, 0x25, 0x00, 0x80, 0x00, 0x00,      /* mov eax,[0x8000] */
                            0x88, 0x04, 0x25, 0x02, 0x80, 0x00, 0x00,      /* mov [0x8002],al */
                            0x90, 0xf4), 1);
    assert_frame(g, false, 0, CODE + 14);
    assert_int_equal(g->st.dr6 & (0xfu | DR6_BS), 2);
    assert_int_equal(g->ram.host[DATA + 2], 0x5a);            /* the write happened first */
    sys_free(g);
}

/* A read/write breakpoint on 8 bytes at DATA: a read of DATA+4 misses with
 * length 4 but hits with length 8; a locked RMW hits too. */
static void test_data_rw_breakpoint(void **state)
{
    (void)state;
    struct sys_guest *g = sys_new();
    g->st.dr[2] = DATA;
    g->st.dr7 = 0x400 | (1u << 4) | (3u << 24) | (3u << 26);  /* L2, read/write, 4 bytes */
    assert_int_equal(RUN(g, 0x8b, 0x1c, 0x25, 0x04, 0x80, 0x00, 0x00,      /* mov ebx,[0x8004] */
                            0x48, 0x8b, 0x0c, 0x25, 0x00, 0x80, 0x00, 0x00, /* mov rcx,[0x8000] */
                            0xf4), 1);
    assert_frame(g, false, 0, CODE + 15);                     /* only the second read hit */
    assert_int_equal(g->st.dr6 & 0xfu, 4);
    long_state(g, 0);
    g->st.dr[2] = DATA;
    g->st.dr7 = 0x400 | (1u << 4) | (3u << 24) | (2u << 26);  /* 8 bytes */
    assert_int_equal(RUN(g, 0x8b, 0x1c, 0x25, 0x04, 0x80, 0x00, 0x00, 0xf4), 1);
    assert_frame(g, false, 0, CODE + 7);
    long_state(g, 0);
    g->st.dr[2] = DATA;
    g->st.dr7 = 0x400 | (1u << 4) | (3u << 24) | (3u << 26);
    assert_int_equal(RUN(g, 0xf0, 0x01, 0x04, 0x25, 0x00, 0x80, 0x00, 0x00, 0xf4), 1);
    assert_frame(g, false, 0, CODE + 8);
    sys_free(g);
}

/* An I/O breakpoint (R/W = 10) on ports 0x80-0x81 with CR4.DE: OUT to 0x70
 * passes, OUT to 0x81 traps after it (B3), a word IN from 0x7f overlaps and
 * traps; without CR4.DE nothing traps. */
static void test_io_breakpoint(void **state)
{
    (void)state;
    struct sys_guest *g = sys_new();
    g->st.cr4 |= CR4_DE;
    g->st.dr[3] = 0x80;
    g->st.dr7 = 0x400 | (1u << 6) | (2u << 28) | (1u << 30);  /* L3, I/O, 2 bytes */
    assert_int_equal(RUN(g, 0xe6, 0x70,                                    /* out 0x70, al */
                            0xe6, 0x81,                                    /* out 0x81, al */
                            0x90, 0xf4), 1);
    assert_frame(g, false, 0, CODE + 4);
    assert_int_equal(g->st.dr6 & 0xfu, 8);
    long_state(g, 0);
    g->st.cr4 |= CR4_DE;
    g->st.dr[3] = 0x80;
    g->st.dr7 = 0x400 | (1u << 6) | (2u << 28) | (1u << 30);
    g->st.gpr[GPR_RDX] = 0x7f;
    assert_int_equal(RUN(g, 0x66, 0xed, 0x90, 0xf4), 1);                  /* in ax, dx: 0x7f-0x80 */
    assert_frame(g, false, 0, CODE + 2);
    long_state(g, 0);
    g->st.dr[3] = 0x80;
    g->st.dr7 = 0x400 | (1u << 6) | (2u << 28) | (1u << 30);  /* CR4.DE clear: undefined, no trap */
    assert_int_equal(RUN(g, 0xe6, 0x81, 0xf4), NO_EXC);
    sys_free(g);
}

/* INT1 (F1) delivers #DB as a trap and ignores the gate DPL (INT3 at CPL 3
 * through the same DPL-0 gates is #GP). */
static void test_int1(void **state)
{
    (void)state;
    struct sys_guest *g = sys_new();
    assert_int_equal(RUN(g, 0xf1, 0xf4), 1);
    assert_frame(g, false, 0, CODE + 1);
    assert_false(g->st.dr6 & DR6_BS);
    long_state(g, 3);
    assert_int_equal(RUN(g, 0xf1, 0xf4), 1);
    long_state(g, 3);
    assert_int_equal(RUN(g, 0xcc, 0xf4), 13);
    sys_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_step),
        cmocka_unit_test(test_popf_sets_tf),
        cmocka_unit_test(test_mov_ss_shadow),
        cmocka_unit_test(test_insn_breakpoint),
        cmocka_unit_test(test_data_write_breakpoint),
        cmocka_unit_test(test_data_rw_breakpoint),
        cmocka_unit_test(test_io_breakpoint),
        cmocka_unit_test(test_int1),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
