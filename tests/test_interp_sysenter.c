/*
 * Fast system calls beyond 64-bit SYSCALL/SYSRET: SYSENTER/SYSEXIT (to and
 * from 64-bit and 32-bit code), SYSCALL from compatibility mode through
 * CSTAR, SYSRET to compatibility mode, and SYSCALL/SYSRET in legacy
 * protected mode; CPUID advertises SEP.
 */
#include "interp_sys_harness.h"

#define ENTRY  (CODE + 0x100)     /* kernel entry: hlt */
#define KSTACK 0x70000u
#define USER   (CODE + 0x200)     /* user return point: hlt (#GP at CPL 3) */
#define CODE32_ATTR (0xbu | SEG_ATTR_S | SEG_ATTR_P | SEG_ATTR_DB | SEG_ATTR_G)
#define DATA_ATTR   (0x3u | SEG_ATTR_S | SEG_ATTR_P | SEG_ATTR_DB | SEG_ATTR_G)

/* long_state() clears the MSRs: each state is followed by this. */
static void set_msrs(struct sys_guest *g)
{
    g->st.msr.sysenter_cs = 0x08;
    g->st.msr.sysenter_eip = ENTRY;
    g->st.msr.sysenter_esp = KSTACK;
    g->st.msr.star = (UINT64_C(0x10) << 48) | (UINT64_C(0x08) << 32);
    g->st.msr.cstar = ENTRY;
    g->st.msr.sfmask = RFLAGS_IF | RFLAGS_TF;
}

static struct sys_guest *fast_new(void)
{
    struct sys_guest *g = sys_new();
    g->ram.host[ENTRY] = 0xf4;
    g->ram.host[USER] = 0xf4;
    set_msrs(g);
    return g;
}

static void fast_state(struct sys_guest *g, unsigned cpl)
{
    long_state(g, cpl);
    set_msrs(g);
}

/* 64-bit CPL 3 -> SYSENTER -> 64-bit CPL 0 at SYSENTER_EIP/ESP. */
static void test_sysenter_64(void **state)
{
    (void)state;
    struct sys_guest *g = fast_new();
    fast_state(g, 3);
    g->st.rflags |= RFLAGS_IF;
    assert_int_equal(RUN(g, 0x0f, 0x34), NO_EXC);
    assert_int_equal(g->st.rip, ENTRY + 1);
    assert_int_equal(g->st.gpr[GPR_RSP], KSTACK);
    assert_int_equal(g->st.seg[SEG_CS].selector, 0x08);
    assert_true(g->st.seg[SEG_CS].attr & SEG_ATTR_L);
    assert_int_equal(g->st.seg[SEG_SS].selector, 0x10);
    assert_false(g->st.rflags & RFLAGS_IF);
    /* SYSENTER_CS = 0: #GP(0). */
    fast_state(g, 3);
    g->st.msr.sysenter_cs = 0;
    EXC(g, 13, true, 0, 0, 0x0f, 0x34);
    sys_free(g);
}

/* SYSEXIT with REX.W returns to 64-bit code (CS +32, SS +40), without it to
 * compatibility mode (CS +16, SS +24), RIP = RDX, RSP = RCX. */
static void test_sysexit(void **state)
{
    (void)state;
    struct sys_guest *g = fast_new();
    g->st.gpr[GPR_RDX] = USER;
    g->st.gpr[GPR_RCX] = USER_STACK;
    assert_int_equal(RUN(g, 0x48, 0x0f, 0x35), 13);          /* HLT at CPL 3 */
    uint64_t sp = g->st.gpr[GPR_RSP];
    assert_int_equal(get64(g, sp + 8), USER);                /* #GP(0): error, RIP, CS, RFLAGS, RSP, SS */
    assert_int_equal(get64(g, sp + 16), 0x2b);
    assert_int_equal(get64(g, sp + 32), USER_STACK);
    assert_int_equal(get64(g, sp + 40), 0x33);
    fast_state(g, 0);
    g->st.gpr[GPR_RDX] = USER;
    g->st.gpr[GPR_RCX] = USER_STACK;
    assert_int_equal(RUN(g, 0x0f, 0x35), 13);
    sp = g->st.gpr[GPR_RSP];
    assert_int_equal(get64(g, sp + 16), 0x1b);
    assert_int_equal(get64(g, sp + 40), 0x23);
    /* At CPL 3: #GP(0). */
    fast_state(g, 3);
    EXC(g, 13, true, 0, 0, 0x0f, 0x35);
    sys_free(g);
}

/* SYSCALL from compatibility mode enters 64-bit code at CSTAR; SYSRET
 * without REX.W goes back to compatibility mode (CS = STAR[63:48] | 3). */
static void test_syscall_compat(void **state)
{
    (void)state;
    struct sys_guest *g = fast_new();
    fast_state(g, 3);
    g->st.seg[SEG_CS] = (struct seg_reg){ 0x13, 0, 0xffffffff, CODE32_ATTR | (3u << SEG_ATTR_DPL_SHIFT) };
    g->st.rflags |= RFLAGS_IF;
    assert_int_equal(RUN(g, 0x0f, 0x05), NO_EXC);
    assert_int_equal(g->st.rip, ENTRY + 1);
    assert_int_equal(g->st.gpr[GPR_RCX], CODE + 2);
    assert_true(g->st.gpr[GPR_R11] & RFLAGS_IF);
    assert_false(g->st.rflags & RFLAGS_IF);                  /* SFMASK */
    assert_int_equal(g->st.seg[SEG_CS].selector, 0x08);
    assert_true(g->st.seg[SEG_CS].attr & SEG_ATTR_L);
    /* SYSRET (32-bit operand) to compatibility mode. */
    fast_state(g, 0);
    g->st.gpr[GPR_RCX] = USER;
    g->st.gpr[GPR_R11] = RFLAGS_FIXED;
    assert_int_equal(RUN(g, 0x0f, 0x07), 13);
    assert_int_equal(get64(g, g->st.gpr[GPR_RSP] + 16), 0x13);
    assert_int_equal(get64(g, g->st.gpr[GPR_RSP] + 40), 0x1b);
    /* EFER.SCE clear: #UD. */
    fast_state(g, 3);
    g->st.efer &= ~(uint64_t)EFER_SCE;
    EXC(g, 6, false, 0, 0, 0x0f, 0x05);
    sys_free(g);
}

/* Legacy (non-long) protected mode without paging: SYSCALL to STAR[31:0]
 * in 32-bit CPL 0 code with IF clear, SYSRET back with IF set.  Runs a few
 * instructions and looks at the state (no IDT in this mode here). */
static void test_syscall_legacy(void **state)
{
    (void)state;
    struct sys_guest *g = fast_new();
    struct cpu_state *st = &g->st;
    st->cr0 = CR0_PE | CR0_ET;
    st->cr4 = 0;
    st->efer = EFER_SCE;
    st->msr.star |= ENTRY + 0x10;
    for (unsigned s = 0; s < 6; s++)
        st->seg[s] = (struct seg_reg){ 0x23, 0, 0xffffffff, DATA_ATTR | (3u << SEG_ATTR_DPL_SHIFT) };
    st->seg[SEG_CS] = (struct seg_reg){ 0x1b, 0, 0xffffffff, CODE32_ATTR | (3u << SEG_ATTR_DPL_SHIFT) };
    st->rflags = RFLAGS_FIXED | RFLAGS_IF;
    st->rip = CODE;
    static const uint8_t user[] = { 0x0f, 0x05, 0xeb, 0xfe };          /* syscall; jmp $ */
    static const uint8_t kern[] = { 0xb9, 0x02, 0x00, 0x01, 0x00,      /* mov ecx, CODE + 2 */
                                    0x0f, 0x07 };                      /* sysret */
    memcpy(g->ram.host + CODE, user, sizeof(user));
    memcpy(g->ram.host + ENTRY + 0x10, kern, sizeof(kern));
    interp_flush_code(g->cpu);
    interp_state_changed(g->cpu);
    interp_execute(g->cpu, 1);
    assert_int_equal(st->rip, ENTRY + 0x10);
    assert_int_equal(st->gpr[GPR_RCX], CODE + 2);
    assert_int_equal(st->seg[SEG_CS].selector, 0x08);
    assert_true(st->seg[SEG_CS].attr & SEG_ATTR_DB);
    assert_int_equal(st->seg[SEG_SS].selector, 0x10);
    assert_false(st->rflags & RFLAGS_IF);
    interp_execute(g->cpu, 3);                               /* mov, sysret, jmp $ */
    assert_int_equal(st->rip, CODE + 2);
    assert_int_equal(st->seg[SEG_CS].selector, 0x13);
    assert_int_equal(st->seg[SEG_SS].selector, 0x1b);
    assert_true(st->rflags & RFLAGS_IF);
    sys_free(g);
}

/* CPUID.1:EDX.SEP[11] and CPUID.80000001:EDX.SYSCALL[11]. */
static void test_cpuid_sep(void **state)
{
    (void)state;
    struct sys_guest *g = fast_new();
    g->st.gpr[GPR_RAX] = 1;
    assert_int_equal(RUN(g, 0x0f, 0xa2, 0xf4), NO_EXC);
    assert_true(g->st.gpr[GPR_RDX] & (1u << 11));
    sys_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sysenter_64),
        cmocka_unit_test(test_sysexit),
        cmocka_unit_test(test_syscall_compat),
        cmocka_unit_test(test_syscall_legacy),
        cmocka_unit_test(test_cpuid_sep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
