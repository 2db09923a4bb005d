/*
 * Paging protections beyond U/S, R/W and NX: SMEP and SMAP (with EFLAGS.AC
 * and implicit supervisor accesses) and the reserved-bit checks of 4-level
 * paging entries (#PF with the RSVD error code bit), and the CPUID leaf 7
 * bits that advertise SMEP/SMAP.
 *
 * Memory map: 0-2 MiB a supervisor 2 MiB page (code, tables, stacks), 2-4
 * MiB a user 2 MiB page, then pages with reserved bits set.
 */
#include "interp_sys_harness.h"

#define USER_PAGE 0x200000u
#define PD        0x3000u
#define PT        0x7000u
#define PF_P    1u
#define PF_W    2u
#define PF_U    4u
#define PF_RSVD 8u
#define PF_I    16u

static struct sys_guest *prot_new(void)
{
    struct sys_guest *g = sys_new();
    put64(g, PD + 0 * 8, 0x83);                                          /* supervisor */
    put64(g, PD + 1 * 8, USER_PAGE | 0x87);                              /* user */
    put64(g, PD + 2 * 8, 0x400000 | 0x83 | (UINT64_C(1) << 45));        /* PA bit 45 > MAXPHYADDR */
    put64(g, PD + 3 * 8, 0x600000 | 0x83 | (UINT64_C(1) << 13));        /* inside a 2 MiB frame */
    put64(g, PD + 4 * 8, 0x800000 | 0x83 | (UINT64_C(1) << 63));        /* NX */
    put64(g, PD + 5 * 8, PT | 0x03);
    put64(g, PT + 0 * 8, 0xa00000 | 0x03 | (UINT64_C(1) << 51));        /* 4 KiB leaf, bit 51 */
    put64(g, PT + 1 * 8, 0xa01000 | 0x03);
    put64(g, USER_PAGE, UINT64_C(0x1122334455667788));
    return g;
}

/* An explicit supervisor read or write of a user page faults with SMAP
 * (error code P, plus W for the write, never U); without SMAP it works. */
static void test_smap_explicit(void **state)
{
    (void)state;
    struct sys_guest *g = prot_new();
    assert_int_equal(RUN(g, 0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x20, 0x00, 0xf4), NO_EXC);
    assert_int_equal(g->st.gpr[GPR_RAX], UINT64_C(0x1122334455667788));
    g->st.cr4 |= CR4_SMAP;
    EXC(g, 14, true, PF_P, 0, 0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x20, 0x00, 0xf4);   /* mov rax,[0x200000] */
    assert_int_equal(g->st.cr2, USER_PAGE);
    long_state(g, 0);
    g->st.cr4 |= CR4_SMAP;
    EXC(g, 14, true, PF_P | PF_W, 0, 0x89, 0x04, 0x25, 0x00, 0x00, 0x20, 0x00, 0xf4);  /* mov [0x200000],eax */
    sys_free(g);
}

/* STAC opens user pages to explicit accesses; after the instruction(s) in
 * clear take AC away again, the same page faults again (the translation AC
 * allowed is dropped with it). */
static void expect_ac_dropped(const uint8_t *clear, size_t clear_len)
{
    static const uint8_t head[] = { 0x0f, 0x01, 0xcb,                                   /* stac */
                                    0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x20, 0x00 };  /* mov rax,[0x200000] */
    static const uint8_t tail[] = { 0x48, 0x8b, 0x1c, 0x25, 0x08, 0x00, 0x20, 0x00,    /* mov rbx,[0x200008] */
                                    0xf4 };
    uint8_t code[64];
    memcpy(code, head, sizeof(head));
    memcpy(code + sizeof(head), clear, clear_len);
    memcpy(code + sizeof(head) + clear_len, tail, sizeof(tail));
    struct sys_guest *g = prot_new();
    g->st.cr4 |= CR4_SMAP;
    expect_exc(g, code, sizeof(head) + clear_len + sizeof(tail), 14, true, PF_P,
               (unsigned)(sizeof(head) + clear_len));
    assert_int_equal(g->st.gpr[GPR_RAX], UINT64_C(0x1122334455667788));
    assert_int_equal(g->st.cr2, USER_PAGE + 8);
    sys_free(g);
}

static void test_smap_ac(void **state)
{
    (void)state;
    expect_ac_dropped((const uint8_t[]){ 0x0f, 0x01, 0xca }, 3);          /* clac */
}

/* SMAP does not restrict CPL 3. */
static void test_smap_user_mode(void **state)
{
    (void)state;
    struct sys_guest *g = prot_new();
    static const uint8_t code[] = { 0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x20, 0x00, 0xf4 };
    long_state(g, 3);
    g->st.cr4 |= CR4_SMAP | CR4_SMEP;
    g->st.gpr[GPR_RSP] = USER_PAGE + 0x100000;
    memcpy(g->ram.host + USER_PAGE + 0x1000, code, sizeof(code));
    g->st.rip = USER_PAGE + 0x1000;
    interp_flush_code(g->cpu);
    interp_state_changed(g->cpu);
    assert_int_equal(interp_execute(g->cpu, 1000), VINF_EM_HALT);
    assert_int_equal(g->st.gpr[GPR_R15], 13);                /* HLT at CPL 3: #GP, no #PF */
    assert_int_equal(g->st.gpr[GPR_RAX], UINT64_C(0x1122334455667788));
    sys_free(g);
}

/* Implicit supervisor accesses (descriptor tables) to a user page fault
 * with SMAP even with AC set; error code without U. */
static void test_smap_implicit(void **state)
{
    (void)state;
    struct sys_guest *g = prot_new();
    uint64_t gdt = USER_PAGE - 0x40;                          /* entries 0-7 supervisor, 8 user */
    memcpy(g->ram.host + gdt, g->ram.host + GDT, 0x40);
    put64(g, USER_PAGE, UINT64_C(0x00cf92000000ffff));        /* selector 0x40: data */
    g->st.gdtr = (struct table_reg){ gdt, 0x47 };
    static const uint8_t lar[] = { 0x0f, 0x01, 0xcb, 0xb9, 0x40, 0x00, 0x00, 0x00, 0x0f, 0x02, 0xc1, 0xf4 };
    assert_int_equal(run_code(g, lar, sizeof(lar)), NO_EXC);
    assert_true(g->st.rflags & RFLAGS_ZF);                     /* LAR succeeded without SMAP */
    long_state(g, 0);
    g->st.gdtr = (struct table_reg){ gdt, 0x47 };
    g->st.cr4 |= CR4_SMAP;
    expect_exc(g, lar, sizeof(lar), 14, true, PF_P, 8);
    assert_int_equal(g->st.cr2, USER_PAGE);
    sys_free(g);
}

/* SMEP: CPL 0 cannot execute from a user page (#PF with I). */
static void test_smep(void **state)
{
    (void)state;
    struct sys_guest *g = prot_new();
    g->ram.host[USER_PAGE + 0x10] = 0xf4;                     /* hlt */
    static const uint8_t jmp[] = { 0xb8, 0x10, 0x00, 0x20, 0x00, 0xff, 0xe0 };   /* mov eax,..; jmp rax */
    assert_int_equal(run_code(g, jmp, sizeof(jmp)), NO_EXC);
    assert_int_equal(g->st.rip, USER_PAGE + 0x11);
    g->st.cr4 |= CR4_SMEP;
    assert_int_equal(run_code(g, jmp, sizeof(jmp)), 14);
    assert_frame(g, true, PF_P | PF_I, USER_PAGE + 0x10);
    assert_int_equal(g->st.cr2, USER_PAGE + 0x10);
    sys_free(g);
}

/* Reads through [rcx] of a page with a reserved bit: #PF P|RSVD (and W
 * for writes), CR2 the address. */
static void expect_rsvd(struct sys_guest *g, uint64_t addr, bool write)
{
    long_state(g, 0);
    g->st.gpr[GPR_RCX] = addr;
    if (write)
        EXC(g, 14, true, PF_P | PF_RSVD | PF_W, 0, 0x89, 0x01, 0xf4);
    else
        EXC(g, 14, true, PF_P | PF_RSVD, 0, 0x48, 0x8b, 0x01, 0xf4);
    assert_int_equal(g->st.cr2, addr);
}

static void test_reserved_bits(void **state)
{
    (void)state;
    struct sys_guest *g = prot_new();
    expect_rsvd(g, 0x400000, false);
    expect_rsvd(g, 0x400010, true);
    expect_rsvd(g, 0x600000, false);
    expect_rsvd(g, 0xa00000, false);
    /* The 4 KiB page next to it is fine. */
    long_state(g, 0);
    g->st.gpr[GPR_RCX] = 0xa01000;
    assert_int_equal(RUN(g, 0x48, 0x8b, 0x01, 0xf4), NO_EXC);
    /* NX is a reserved bit while EFER.NXE is clear, a permission otherwise. */
    long_state(g, 0);
    g->st.gpr[GPR_RCX] = 0x800000;
    assert_int_equal(RUN(g, 0x48, 0x8b, 0x01, 0xf4), NO_EXC);
    long_state(g, 0);
    g->st.efer &= ~(uint64_t)EFER_NXE;
    g->st.gpr[GPR_RCX] = 0x800000;
    EXC(g, 14, true, PF_P | PF_RSVD, 0, 0x48, 0x8b, 0x01, 0xf4);
    /* PS in a PML4 entry is reserved. */
    long_state(g, 0);
    put64(g, 0x1000 + 8, 0x2000 | 0x87);                      /* PML4[1] with PS */
    g->st.gpr[GPR_RCX] = UINT64_C(0x8000000000);
    EXC(g, 14, true, PF_P | PF_RSVD, 0, 0x48, 0x8b, 0x01, 0xf4);
    sys_free(g);
}

/* CPUID.7.0:EBX advertises SMEP (bit 7) and SMAP (bit 20); leaf 0 reaches 7. */
static void test_cpuid_leaf7(void **state)
{
    (void)state;
    struct sys_guest *g = prot_new();
    g->st.gpr[GPR_RAX] = 0;
    assert_int_equal(RUN(g, 0x0f, 0xa2, 0xf4), NO_EXC);
    assert_true(g->st.gpr[GPR_RAX] >= 7);
    g->st.gpr[GPR_RAX] = 7;
    g->st.gpr[GPR_RCX] = 0;
    assert_int_equal(RUN(g, 0x0f, 0xa2, 0xf4), NO_EXC);
    assert_int_equal(g->st.gpr[GPR_RBX] & ((1u << 7) | (1u << 20)), (1u << 7) | (1u << 20));
    sys_free(g);
}

/* ---- the TLB keeps what one privilege cached from the other ---- */

#define USER_CODE (USER_PAGE + 0x1000)

/* Runs code placed at USER_CODE from the state already set up (CPL 3 or
 * not); returns R15 (NO_EXC or the vector taken). */
static uint64_t run_at_user_code(struct sys_guest *g, const uint8_t *code, size_t len)
{
    memcpy(g->ram.host + USER_CODE, code, len);
    g->st.rip = USER_CODE;
    g->st.gpr[GPR_R15] = NO_EXC;
    interp_flush_code(g->cpu);
    interp_state_changed(g->cpu);
    assert_int_equal(interp_execute(g->cpu, 10000), VINF_EM_HALT);
    return g->st.gpr[GPR_R15];
}

/* SYSRET goes to USER_CODE at CPL 3 (STAR: user CS 0x23, SS 0x1b). */
static void set_syscall_msrs(struct sys_guest *g)
{
    g->st.msr.star = (UINT64_C(0x10) << 48) | (UINT64_C(0x08) << 32);
    g->st.msr.lstar = CODE;
    g->st.msr.sfmask = RFLAGS_IF | RFLAGS_AC | RFLAGS_TF | RFLAGS_DF;
}

/* The kernel reads a supervisor page, then SYSRETs to user code that reads
 * the same address: #PF with U, not the kernel's cached translation.  (The
 * address's TLB slot is not the user code's.) */
static void test_tlb_kernel_entry_not_for_user(void **state)
{
    (void)state;
    struct sys_guest *g = prot_new();
    set_syscall_msrs(g);
    static const uint8_t user[] = { 0x48, 0x8b, 0x1c, 0x25, 0x00, 0x80, 0x00, 0x00, 0xf4 };  /* mov rbx,[0x8000] */
    memcpy(g->ram.host + USER_CODE, user, sizeof(user));
    assert_int_equal(RUN(g, 0x48, 0x8b, 0x04, 0x25, 0x00, 0x80, 0x00, 0x00,      /* mov rax,[0x8000] */
                         0xb9, 0x00, 0x10, 0x20, 0x00,                            /* mov ecx, USER_CODE */
                         0x41, 0xbb, 0x02, 0x00, 0x00, 0x00,                      /* mov r11d, 2 */
                         0x48, 0x0f, 0x07),                                       /* sysretq */
                     14);
    assert_frame(g, true, PF_P | PF_U, USER_CODE);
    assert_int_equal(g->st.cr2, 0x8000);
    sys_free(g);
}

/* User code reads a user page, then SYSCALLs into a kernel that reads it
 * with SMAP and AC clear: #PF, not the user's cached translation. */
static void test_tlb_user_entry_not_for_smap_kernel(void **state)
{
    (void)state;
    struct sys_guest *g = prot_new();
    long_state(g, 3);
    set_syscall_msrs(g);
    g->st.cr4 |= CR4_SMAP;
    memcpy(g->ram.host + CODE, (const uint8_t[]){ 0x48, 0x8b, 0x1c, 0x25, 0x00, 0x00, 0x20, 0x00, 0xf4 }, 9);
    static const uint8_t user[] = { 0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x20, 0x00,   /* mov rax,[0x200000] */
                                    0x0f, 0x05 };                                   /* syscall */
    assert_int_equal(run_at_user_code(g, user, sizeof(user)), 14);
    assert_int_equal(g->st.gpr[GPR_RAX], UINT64_C(0x1122334455667788));
    assert_frame(g, true, PF_P, CODE);
    assert_int_equal(g->st.cr2, USER_PAGE);
    sys_free(g);
}

/* A translation AC let past SMAP goes when POPF clears AC. */
static void test_smap_ac_popf(void **state)
{
    (void)state;
    expect_ac_dropped((const uint8_t[]){ 0x6a, 0x02, 0x9d }, 3);          /* push 2; popfq */
}

/* More AC-allowed pages than the TLB lists: CLAC still drops them all. */
static void test_smap_ac_many_pages(void **state)
{
    (void)state;
    struct sys_guest *g = prot_new();
    g->st.cr4 |= CR4_SMAP;
    EXC(g, 14, true, PF_P, 30,
        0x0f, 0x01, 0xcb,                                    /* stac */
        0xbe, 0x00, 0x00, 0x20, 0x00,                        /* mov esi, 0x200000 */
        0xb9, 0x28, 0x00, 0x00, 0x00,                        /* mov ecx, 40 */
        0x48, 0x8b, 0x06,                                    /* 1: mov rax,[rsi] */
        0x48, 0x81, 0xc6, 0x00, 0x10, 0x00, 0x00,            /* add rsi, 4096 */
        0xff, 0xc9,                                          /* dec ecx */
        0x75, 0xf2,                                          /* jnz 1b */
        0x0f, 0x01, 0xca,                                    /* clac */
        0x48, 0x8b, 0x1c, 0x25, 0x00, 0x70, 0x22, 0x00,      /* mov rbx,[0x227000]: the 40th page */
        0xf4);
    assert_int_equal(g->st.cr2, 0x227000);
    sys_free(g);
}

/* Kernel code on a global page enters the jump cache; user code jumping
 * to the same address must still fault (#PF with U and I). */
static void test_jump_cache_global_not_for_user(void **state)
{
    (void)state;
    struct sys_guest *g = prot_new();
    put64(g, PD, 0x183);                                     /* the supervisor page, global */
    g->st.cr4 |= CR4_PGE;
    set_syscall_msrs(g);
    g->ram.host[CODE + 0x100] = 0xc3;                        /* ret */
    static const uint8_t user[] = { 0xb8, 0x00, 0x01, 0x01, 0x00,   /* mov eax, CODE + 0x100 */
                                    0xff, 0xe0 };                    /* jmp rax */
    memcpy(g->ram.host + USER_CODE, user, sizeof(user));
    assert_int_equal(RUN(g, 0xe8, 0xfb, 0x00, 0x00, 0x00,             /* call CODE + 0x100 */
                         0xe8, 0xf6, 0x00, 0x00, 0x00,                /* call it again (cached now) */
                         0xb9, 0x00, 0x10, 0x20, 0x00,                /* mov ecx, USER_CODE */
                         0x41, 0xbb, 0x02, 0x00, 0x00, 0x00,          /* mov r11d, 2 */
                         0x48, 0x0f, 0x07),                           /* sysretq */
                     14);
    assert_frame(g, true, PF_P | PF_U | PF_I, CODE + 0x100);
    assert_int_equal(g->st.cr2, CODE + 0x100);
    sys_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_smap_explicit),
        cmocka_unit_test(test_smap_ac),
        cmocka_unit_test(test_smap_user_mode),
        cmocka_unit_test(test_smap_implicit),
        cmocka_unit_test(test_smep),
        cmocka_unit_test(test_reserved_bits),
        cmocka_unit_test(test_cpuid_leaf7),
        cmocka_unit_test(test_tlb_kernel_entry_not_for_user),
        cmocka_unit_test(test_tlb_user_entry_not_for_smap_kernel),
        cmocka_unit_test(test_smap_ac_popf),
        cmocka_unit_test(test_smap_ac_many_pages),
        cmocka_unit_test(test_jump_cache_global_not_for_user),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
