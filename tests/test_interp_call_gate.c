/*
 * 64-bit call gates: a far CALL from CPL 3 through a DPL-3 gate to CPL 0
 * code switches to RSP0 from the TSS and pushes SS, RSP, CS, RIP (8 bytes
 * each, SS null at the new level); RETF returns to CPL 3 and reloads SS:RSP;
 * the gate and target privilege checks (#GP with the selector); a 32-bit
 * gate with parameters in legacy protected mode and RETF imm16.
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

/* Legacy 32-bit protected mode (no paging): a 32-bit gate with two
 * parameters from CPL 3 to CPL 0 takes SS0:ESP0 from the TSS and copies the
 * parameters; RETF 8 returns to CPL 3 and drops them from both stacks.
 * Runs by instruction budget (no IDT in this mode here). */
static void test_call_gate_32(void **state)
{
    (void)state;
    struct sys_guest *g = sys_new();
    struct cpu_state *st = &g->st;
    const uint32_t code32 = 0xb | SEG_ATTR_S | SEG_ATTR_P | SEG_ATTR_DB | SEG_ATTR_G;
    const uint32_t data32 = 0x3 | SEG_ATTR_S | SEG_ATTR_P | SEG_ATTR_DB | SEG_ATTR_G;
    put64(g, GDT + 0x08, UINT64_C(0x00cf9a000000ffff));      /* code32 DPL 0 */
    put64(g, GDT + 0x10, UINT64_C(0x00cf92000000ffff));      /* data DPL 0 */
    put64(g, GDT + 0x18, UINT64_C(0x00cffa000000ffff));      /* code32 DPL 3 */
    put64(g, GDT + 0x20, UINT64_C(0x00cff2000000ffff));      /* data DPL 3 */
    put64(g, GDT + GATE_SEL, (TARGET & 0xffff) | (UINT64_C(0x08) << 16) | (UINT64_C(2) << 32) |
                                 (UINT64_C(0xec) << 40) | ((uint64_t)(TARGET >> 16) << 48));
    put64(g, TSS + 4, 0x70000);                               /* ESP0 */
    put64(g, TSS + 8, 0x10);                                  /* SS0 */
    memset(st, 0, offsetof(struct cpu_state, xsave));
    st->cr0 = CR0_PE | CR0_ET;
    st->gdtr = (struct table_reg){ GDT, 0x3f };
    for (unsigned s = 0; s < 6; s++)
        st->seg[s] = (struct seg_reg){ 0x23, 0, 0xffffffff, data32 | (3u << SEG_ATTR_DPL_SHIFT) };
    st->seg[SEG_CS] = (struct seg_reg){ 0x1b, 0, 0xffffffff, code32 | (3u << SEG_ATTR_DPL_SHIFT) };
    st->seg[SEG_TR] = (struct seg_reg){ 0x28, TSS, 0x67, 0xb | SEG_ATTR_P };
    st->seg[SEG_LDTR].attr = SEG_ATTR_UNUSABLE;
    st->rflags = RFLAGS_FIXED;
    st->rip = CODE;
    st->gpr[GPR_RSP] = USER_STACK;
    static const uint8_t user[] = { 0x68, 0x11, 0x11, 0x11, 0x11,             /* push 0x11111111 */
                                    0x68, 0x22, 0x22, 0x22, 0x22,             /* push 0x22222222 */
                                    0x9a, 0, 0, 0, 0, GATE_SEL | 3, 0,        /* call 0x33:0 */
                                    0xeb, 0xfe };                             /* jmp $ */
    memcpy(g->ram.host + CODE, user, sizeof(user));
    g->ram.host[TARGET] = 0xca;                               /* retf 8 */
    g->ram.host[TARGET + 1] = 8;
    g->ram.host[TARGET + 2] = 0;
    interp_flush_code(g->cpu);
    interp_state_changed(g->cpu);
    interp_execute(g->cpu, 3);
    assert_int_equal(st->rip, TARGET);
    assert_int_equal(st->seg[SEG_CS].selector, 0x08);
    assert_int_equal(st->seg[SEG_SS].selector, 0x10);
    uint32_t sp = (uint32_t)st->gpr[GPR_RSP];
    assert_int_equal(sp, 0x70000 - 24);
    uint32_t w[6];
    memcpy(w, g->ram.host + sp, sizeof(w));
    assert_int_equal(w[0], CODE + 17);
    assert_int_equal(w[1], 0x1b);
    assert_int_equal(w[2], 0x22222222);
    assert_int_equal(w[3], 0x11111111);
    assert_int_equal(w[4], USER_STACK - 8);
    assert_int_equal(w[5], 0x23);
    interp_execute(g->cpu, 1);
    assert_int_equal(st->rip, CODE + 17);
    assert_int_equal(st->seg[SEG_CS].selector, 0x1b);
    assert_int_equal(st->seg[SEG_SS].selector, 0x23);
    assert_int_equal(st->gpr[GPR_RSP], USER_STACK);
    sys_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_call_gate_inner_and_retf),
        cmocka_unit_test(test_call_gate_checks),
        cmocka_unit_test(test_call_gate_32),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
