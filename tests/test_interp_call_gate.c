/*
 * 64-bit call gates: a far CALL from CPL 3 through a DPL-3 gate to CPL 0
 * code switches to RSP0 from the TSS and pushes SS, RSP, CS, RIP (8 bytes
 * each, SS null at the new level); RETF returns to CPL 3 and reloads SS:RSP;
 * the gate and target privilege checks (#GP with the selector).
 */
#include "interp_sys_harness.h"

#define GATE_SEL 0x30u
#define TARGET   (CODE + 0x100)
#define PTR_OFF  0x40u

static void put_gate(struct sys_guest *g, unsigned dpl, uint16_t target_sel)
{
    uint64_t off = TARGET;
    uint64_t lo = (off & 0xffff) | ((uint64_t)target_sel << 16) | ((uint64_t)(0x8c | (dpl << 5)) << 40) |
                  ((off >> 16) & 0xffff) << 48;
    put64(g, GDT + GATE_SEL, lo);
    put64(g, GDT + GATE_SEL + 8, off >> 32);
}

static void user_state(struct sys_guest *g)
{
    long_state(g, 3);
    g->st.gdtr.limit = 0x3f;
    put64(g, CODE + PTR_OFF, 0);
    g->ram.host[CODE + PTR_OFF + 4] = GATE_SEL | 3;
    g->ram.host[TARGET] = 0xf4;                               /* hlt */
    g->ram.host[TARGET + 1] = 0x48;                           /* retfq */
    g->ram.host[TARGET + 2] = 0xcb;
}

static void test_call_gate_inner_and_retf(void **state)
{
    (void)state;
    struct sys_guest *g = sys_new();
    put_gate(g, 3, 0x08);
    user_state(g);
    assert_int_equal(RUN(g, 0xff, 0x1d, PTR_OFF - 6, 0, 0, 0, 0xf4), NO_EXC);  /* call far [rip+ptr] */
    assert_int_equal(g->st.rip, TARGET + 1);
    assert_int_equal(g->st.seg[SEG_CS].selector, 0x08);
    assert_int_equal(g->st.seg[SEG_SS].selector, 0);
    uint64_t sp = g->st.gpr[GPR_RSP];
    assert_int_equal(sp, STACK_TOP - 32);
    assert_int_equal(get64(g, sp), CODE + 6);
    assert_int_equal(get64(g, sp + 8), 0x23);
    assert_int_equal(get64(g, sp + 16), USER_STACK);
    assert_int_equal(get64(g, sp + 24), 0x1b);
    /* RETF to CPL 3: back at the HLT after the call, which faults there. */
    g->st.gpr[GPR_R15] = NO_EXC;
    g->st.run_state = CPU_RUNNABLE;
    interp_state_changed(g->cpu);
    assert_int_equal(interp_execute(g->cpu, 100), VINF_EM_HALT);
    assert_int_equal(g->st.gpr[GPR_R15], 13);
    sp = g->st.gpr[GPR_RSP];
    assert_int_equal(get64(g, sp + 8), CODE + 6);
    assert_int_equal(get64(g, sp + 16), 0x23);
    assert_int_equal(get64(g, sp + 32), USER_STACK);
    assert_int_equal(get64(g, sp + 40), 0x1b);
    sys_free(g);
}

static void test_call_gate_checks(void **state)
{
    (void)state;
    struct sys_guest *g = sys_new();
    put_gate(g, 0, 0x08);                                     /* gate DPL 0 from CPL 3 */
    user_state(g);
    EXC(g, 13, true, GATE_SEL, 0, 0xff, 0x1d, PTR_OFF - 6, 0, 0, 0, 0xf4);
    put_gate(g, 3, 0x08);                                     /* JMP to a more privileged level */
    user_state(g);
    EXC(g, 13, true, 0x08, 0, 0xff, 0x2d, PTR_OFF - 6, 0, 0, 0, 0xf4);
    put_gate(g, 3, 0x10);                                     /* target is a data segment */
    user_state(g);
    EXC(g, 13, true, 0x10, 0, 0xff, 0x1d, PTR_OFF - 6, 0, 0, 0, 0xf4);
    /* Same level through a gate: CALL pushes CS:RIP on the current stack. */
    put_gate(g, 0, 0x08);
    long_state(g, 0);
    g->st.gdtr.limit = 0x3f;
    g->ram.host[CODE + PTR_OFF + 4] = GATE_SEL;
    assert_int_equal(RUN(g, 0xff, 0x1d, PTR_OFF - 6, 0, 0, 0, 0xf4), NO_EXC);
    assert_int_equal(g->st.gpr[GPR_RSP], STACK_TOP - 16);
    assert_int_equal(get64(g, STACK_TOP - 16), CODE + 6);
    assert_int_equal(get64(g, STACK_TOP - 8), 0x08);
    sys_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_call_gate_inner_and_retf),
        cmocka_unit_test(test_call_gate_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
