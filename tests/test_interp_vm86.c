/*
 * Virtual-8086 mode: a 32-bit ring-0 monitor enters VM86 with IRETD, the
 * VM86 code uses real-mode segment arithmetic, and CLI / INT n (IOPL 0), a
 * port the TSS I/O bitmap denies and #DE all reach the monitor through
 * 32-bit interrupt gates with the VM86 frame (GS FS DS ES SS ESP EFLAGS CS
 * EIP); the test, acting as the monitor, emulates the instruction in the
 * frame and the monitor's IRETD returns to VM86.
 */
#include "interp_sys_harness.h"

#define MON_STACK 0x70000u
#define HANDLERS  0x40000u        /* vector v: mov edi, v; hlt; [add esp, 4]; iretd */
#define V86_CODE  0x20000u        /* CS 0x2000 */
#define IOMAP     0x68u
#define EXC_BP_VEC 3u

static uint32_t get32(const struct sys_guest *g, uint64_t gpa)
{
    uint32_t v;
    memcpy(&v, g->ram.host + gpa, 4);
    return v;
}

static void put32(struct sys_guest *g, uint64_t gpa, uint32_t v)
{
    memcpy(g->ram.host + gpa, &v, 4);
}

static void handler(struct sys_guest *g, unsigned v, bool has_err)
{
    uint8_t *h = g->ram.host + HANDLERS + 16 * v;
    uint32_t gate_off = HANDLERS + 16 * v;
    h[0] = 0xbf;
    memcpy(h + 1, &v, 4);
    h[5] = 0xf4;
    unsigned n = 6;
    if (has_err) {
        h[n++] = 0x83; h[n++] = 0xc4; h[n++] = 0x04;
    }
    h[n] = 0xcf;
    put64(g, IDT + 8 * v, (gate_off & 0xffff) | (UINT64_C(0x08) << 16) | (UINT64_C(0x8e) << 40) |
                              ((uint64_t)(gate_off >> 16) << 48));
}

static struct sys_guest *vm86_new(void)
{
    struct sys_guest *g = sys_new();
    struct cpu_state *st = &g->st;
    put64(g, GDT + 0x08, UINT64_C(0x00cf9a000000ffff));
    put64(g, GDT + 0x10, UINT64_C(0x00cf92000000ffff));
    memset(g->ram.host + IDT, 0, 256 * 8);
    handler(g, 0u, false);
    handler(g, 13u, true);
    memset(g->ram.host + TSS, 0, 0x80);
    put32(g, TSS + 4, MON_STACK);
    put32(g, TSS + 8, 0x10);
    g->ram.host[TSS + 0x66] = IOMAP;
    g->ram.host[TSS + IOMAP + 8] = 0x02;          /* port 0x41 denied, 0x40 allowed */
    g->ram.host[TSS + IOMAP + 9] = 0xff;
    memset(st, 0, offsetof(struct cpu_state, xsave));
    st->cr0 = CR0_PE | CR0_ET;
    st->gdtr = (struct table_reg){ GDT, 0x37 };
    st->idtr = (struct table_reg){ IDT, 0xff };
    const uint32_t code32 = 0xb | SEG_ATTR_S | SEG_ATTR_P | SEG_ATTR_DB | SEG_ATTR_G;
    const uint32_t data32 = 0x3 | SEG_ATTR_S | SEG_ATTR_P | SEG_ATTR_DB | SEG_ATTR_G;
    for (unsigned s = 0; s < 6; s++)
        st->seg[s] = (struct seg_reg){ 0x10, 0, 0xffffffff, data32 };
    st->seg[SEG_CS] = (struct seg_reg){ 0x08, 0, 0xffffffff, code32 };
    st->seg[SEG_TR] = (struct seg_reg){ 0x18, TSS, IOMAP + 9, 0xb | SEG_ATTR_P };
    st->seg[SEG_LDTR].attr = SEG_ATTR_UNUSABLE;
    st->rflags = RFLAGS_FIXED;
    st->rip = CODE;
    st->gpr[GPR_RSP] = MON_STACK;
    /* Monitor: push the VM86 image and IRETD into it. */
    static const uint32_t image[9] = { 0x5000, 0x4000, 0x3000, 0x3000, 0x1000, 0xff00, 0x20202, 0x2000, 0 };
    uint8_t *c = g->ram.host + CODE;
    for (unsigned i = 0; i < 9; i++) {
        *c++ = 0x68;
        memcpy(c, &image[i], 4);
        c += 4;
    }
    *c = 0xcf;
    static const uint8_t v86[] = {
        0xb8, 0x00, 0x30,                   /* 0: mov ax, 0x3000 */
        0x8e, 0xd8,                         /* 3: mov ds, ax */
        0xc7, 0x06, 0x10, 0x00, 0x34, 0x12, /* 5: mov word [0x10], 0x1234 */
        0xfa,                               /* 11: cli */
        0xcd, 0x21,                         /* 12: int 0x21 */
        0xe4, 0x40,                         /* 14: in al, 0x40 */
        0xa2, 0x20, 0x00,                   /* 16: mov [0x20], al */
        0xe4, 0x41,                         /* 19: in al, 0x41 */
        0x31, 0xd2,                         /* 21: xor dx, dx */
        0xf7, 0xf2,                         /* 23: div dx */
    };
    memcpy(g->ram.host + V86_CODE, v86, sizeof(v86));
    interp_flush_code(g->cpu);
    interp_state_changed(g->cpu);
    return g;
}

/* Runs until the monitor halts; returns the vector its handler saw. */
static uint32_t run_to_monitor(struct sys_guest *g)
{
    int rc = interp_execute(g->cpu, 1000);
    if (rc != VINF_EM_HALT)
        fprintf(stderr, "rc=%d rip=%#llx (%s)\n", rc, (unsigned long long)g->st.rip, interp_last_error(g->cpu));
    assert_int_equal(rc, VINF_EM_HALT);
    g->st.run_state = CPU_RUNNABLE;
    assert_false(g->st.rflags & RFLAGS_VM);
    assert_int_equal(g->st.seg[SEG_CS].selector, 0x08);
    return (uint32_t)g->st.gpr[GPR_RDI];
}

/* Checks the #GP(0) frame for a fault at VM86 IP ip with SP v86_sp; returns
 * the frame's address. */
static uint32_t gp_frame(struct sys_guest *g, uint32_t ip, uint32_t v86_sp)
{
    assert_int_equal(run_to_monitor(g), 13u);
    uint32_t sp = (uint32_t)g->st.gpr[GPR_RSP];
    assert_int_equal(sp, MON_STACK - 40);
    assert_int_equal(get32(g, sp), 0);                       /* error code */
    assert_int_equal(get32(g, sp + 4), ip);
    assert_int_equal(get32(g, sp + 8), 0x2000);
    assert_true(get32(g, sp + 12) & RFLAGS_VM);
    assert_int_equal(get32(g, sp + 16), v86_sp);
    assert_int_equal(get32(g, sp + 20), 0x1000);
    assert_int_equal(get32(g, sp + 24), 0x3000);             /* ES */
    assert_int_equal(get32(g, sp + 28), 0x3000);             /* DS (loaded by MOV) */
    assert_int_equal(get32(g, sp + 32), 0x4000);
    assert_int_equal(get32(g, sp + 36), 0x5000);
    assert_int_equal(g->st.seg[SEG_DS].selector, 0);         /* nulled for the monitor */
    assert_int_equal(g->st.seg[SEG_GS].selector, 0);
    return sp;
}

static void test_vm86_monitor(void **state)
{
    (void)state;
    struct sys_guest *g = vm86_new();
    uint32_t sp = gp_frame(g, 11, 0xff00);                           /* CLI with IOPL 0 */
    assert_int_equal(get32(g, 0x30010) & 0xffff, 0x1234);    /* DS 0x3000: offset 0x10 */
    assert_true(get32(g, sp + 12) & RFLAGS_IF);
    put32(g, sp + 12, get32(g, sp + 12) & ~(uint32_t)RFLAGS_IF);   /* emulate CLI */
    put32(g, sp + 4, 12);
    sp = gp_frame(g, 12, 0xff00);                                    /* INT 0x21: reflected */
    assert_false(get32(g, sp + 12) & RFLAGS_IF);            /* the emulated CLI stuck */
    put32(g, sp + 4, 14);
    sp = gp_frame(g, 19, 0xff00);                                    /* IN 0x40 allowed, 0x41 denied */
    put32(g, sp + 4, 21);
    assert_int_equal(run_to_monitor(g), 0u);
    sp = (uint32_t)g->st.gpr[GPR_RSP];
    assert_int_equal(sp, MON_STACK - 36);
    assert_int_equal(get32(g, sp), 23);
    assert_true(get32(g, sp + 8) & RFLAGS_VM);
    assert_int_equal(get32(g, sp + 24), 0x3000);
    sys_free(g);
}

/* In VM86, HLT and POPF with IOPL 0 fault; with IOPL 3 CLI works directly. */
static void test_vm86_iopl(void **state)
{
    (void)state;
    struct sys_guest *g = vm86_new();
    put32(g, CODE + 31, 0x23202);                            /* EFLAGS image: VM, IOPL 3, IF */
    static const uint8_t v86[] = { 0xfa, 0x9c, 0xf4 };        /* cli; pushf; hlt */
    memcpy(g->ram.host + V86_CODE, v86, sizeof(v86));
    interp_flush_code(g->cpu);
    uint32_t sp = gp_frame(g, 2, 0xfefe);                            /* HLT at CPL 3 */
    assert_false(get32(g, sp + 12) & RFLAGS_IF);
    assert_int_equal(g->ram.host[0x1feff] & 0x32, 0x30);     /* image: IOPL 3, IF clear */
    sys_free(g);
}

/* INT3 (not IOPL-sensitive) from VM86 through a DPL 3 gate whose target is
 * DPL 3 code: #GP(selector) instead of a ring-3 handler. */
static void test_vm86_gate_not_ring0(void **state)
{
    (void)state;
    struct sys_guest *g = vm86_new();
    put64(g, GDT + 0x20, UINT64_C(0x00cffa000000ffff));        /* DPL 3 code */
    handler(g, EXC_BP_VEC, false);
    g->ram.host[IDT + 8 * EXC_BP_VEC + 2] = 0x23;              /* gate -> 0x23 */
    g->ram.host[IDT + 8 * EXC_BP_VEC + 5] = 0xee;              /* DPL 3 interrupt gate */
    static const uint8_t v86[] = { 0x90, 0x90, 0xcc };         /* nop; nop; int3 */
    memcpy(g->ram.host + V86_CODE, v86, sizeof(v86));
    interp_flush_code(g->cpu);
    assert_int_equal(run_to_monitor(g), 13u);
    uint32_t sp = (uint32_t)g->st.gpr[GPR_RSP];
    assert_int_equal(sp, MON_STACK - 40);
    assert_int_equal(get32(g, sp) & 0xfffc, 0x20);
    assert_int_equal(get32(g, sp + 4), 2);
    assert_true(get32(g, sp + 12) & RFLAGS_VM);
    sys_free(g);
}

/* A far JMP from the monitor to a TSS whose EFLAGS has VM: the new task
 * runs in VM86 (real-mode style segments from the TSS), and its #GP uses
 * the new TSS's ring-0 stack. */
static void test_vm86_task_switch(void **state)
{
    (void)state;
    struct sys_guest *g = vm86_new();
    const uint32_t tss_b = 0x6200, esp0 = 0x60000;
    put64(g, GDT + 0x18, 0x67 | ((uint64_t)TSS << 16) | (UINT64_C(0x8b) << 40));
    put64(g, GDT + 0x20, 0x67 | ((uint64_t)tss_b << 16) | (UINT64_C(0x89) << 40));
    memset(g->ram.host + tss_b, 0, 0x68);
    put32(g, tss_b + 4, esp0);
    put32(g, tss_b + 8, 0x10);
    put32(g, tss_b + 0x24, 0x20002);                          /* EFLAGS: VM */
    put32(g, tss_b + 0x38, 0x100);                            /* ESP */
    static const uint16_t segs[6] = { 0x3000, 0x2000, 0x1000, 0x3000, 0, 0 };   /* ES CS SS DS FS GS */
    for (unsigned i = 0; i < 6; i++)
        put32(g, tss_b + 0x48 + 4 * i, segs[i]);
    static const uint8_t jmp[] = { 0xea, 0, 0, 0, 0, 0x20, 0 };   /* jmp 0x20:0 */
    memcpy(g->ram.host + CODE, jmp, sizeof(jmp));
    static const uint8_t v86[] = { 0xc7, 0x06, 0x10, 0x00, 0x34, 0x12, 0xf4 };   /* mov word [0x10], 0x1234; hlt */
    memcpy(g->ram.host + V86_CODE, v86, sizeof(v86));
    interp_flush_code(g->cpu);
    assert_int_equal(run_to_monitor(g), 13u);
    assert_int_equal(g->st.seg[SEG_TR].selector, 0x20);
    assert_int_equal(get32(g, 0x30010) & 0xffff, 0x1234);
    uint32_t sp = (uint32_t)g->st.gpr[GPR_RSP];
    assert_int_equal(sp, esp0 - 40);
    assert_int_equal(get32(g, sp + 4), 6);
    assert_int_equal(get32(g, sp + 8), 0x2000);
    assert_true(get32(g, sp + 12) & RFLAGS_VM);
    assert_int_equal(get32(g, sp + 16), 0x100);
    assert_int_equal(get32(g, sp + 28), 0x3000);
    assert_int_equal(get32(g, TSS + 0x20), CODE + 7);         /* old task saved */
    sys_free(g);
}

/* CR4.VME with IOPL 0: CLI/STI/PUSHF work on VIF, INT 0x21 (redirection
 * bit clear) goes to the IVT handler in VM86 and its IRET restores VIF,
 * INT 0x22 (bit set) faults to the monitor; STI with VIP set faults. */
static void test_vme(void **state)
{
    (void)state;
    struct sys_guest *g = vm86_new();
    g->st.cr4 |= CR4_VME;
    const unsigned iomap2 = 0x88;                            /* redirection bitmap at 0x68-0x87 */
    memset(g->ram.host + TSS + 0x68, 0, 32);
    g->ram.host[TSS + 0x68 + 0x22 / 8] = 1u << (0x22 & 7);   /* INT 0x22 not redirected */
    g->ram.host[TSS + 0x66] = (uint8_t)iomap2;
    g->st.seg[SEG_TR].limit = iomap2 + 9;
    put32(g, 0x21 * 4, 0x20000100);                          /* IVT: 0x2000:0x0100 */
    static const uint8_t v86[] = { 0xfa, 0x9c, 0xfb, 0xcd, 0x21, 0xcd, 0x22 };  /* cli pushf sti int21 int22 */
    memcpy(g->ram.host + V86_CODE, v86, sizeof(v86));
    static const uint8_t ivt_handler[] = { 0xbb, 0x55, 0x00, 0xcf };           /* mov bx, 0x55; iret */
    memcpy(g->ram.host + V86_CODE + 0x100, ivt_handler, sizeof(ivt_handler));
    interp_flush_code(g->cpu);
    uint32_t sp = gp_frame(g, 5, 0xfefe);                    /* INT 0x22 */
    assert_int_equal(g->st.gpr[GPR_RBX] & 0xffff, 0x55);     /* the IVT handler ran */
    uint32_t fl = get32(g, sp + 12);
    assert_true(fl & RFLAGS_VIF);                            /* STI, then IRET restored VIF */
    assert_true(fl & RFLAGS_IF);                             /* the real IF never changed */
    assert_int_equal(fl & RFLAGS_IOPL, 0);
    uint16_t pushed;
    memcpy(&pushed, g->ram.host + 0x1fefe, 2);               /* PUSHF after CLI: IF = VIF = 0, IOPL 3 */
    assert_int_equal(pushed & (RFLAGS_IF | RFLAGS_IOPL), RFLAGS_IOPL);
    memcpy(&pushed, g->ram.host + 0x1fefe - 2, 2);           /* INT 0x21's FLAGS image: VIF was 1 */
    assert_true(pushed & RFLAGS_IF);

    put32(g, sp + 12, fl | RFLAGS_VIP);                      /* the monitor holds an interrupt back */
    static const uint8_t sti_again[] = { 0xfb };
    memcpy(g->ram.host + V86_CODE + 7, sti_again, 1);
    put32(g, sp + 4, 7);
    interp_flush_code(g->cpu);
    gp_frame(g, 7, 0xfefe);                                  /* STI with VIP: #GP */
    sys_free(g);
}

/* CR4.PVI at CPL 3 with IOPL 0: CLI clears VIF instead of faulting (the
 * HLT after it is the #GP), STI with VIP faults; without PVI, CLI faults. */
static void test_pvi(void **state)
{
    (void)state;
    struct sys_guest *g = sys_new();
    long_state(g, 3);
    g->st.cr4 |= CR4_PVI;
    g->st.rflags |= RFLAGS_VIF;
    assert_int_equal(RUN(g, 0xfa, 0xf4), 13);               /* cli; hlt: #GP at the HLT */
    assert_frame(g, true, 0, CODE + 1);
    assert_false(g->st.rflags & RFLAGS_VIF);
    long_state(g, 3);
    g->st.cr4 |= CR4_PVI;
    g->st.rflags |= RFLAGS_VIP;
    assert_int_equal(RUN(g, 0xfb, 0xf4), 13);               /* sti with VIP: #GP at the STI */
    assert_frame(g, true, 0, CODE);
    long_state(g, 3);
    assert_int_equal(RUN(g, 0xfa, 0xf4), 13);               /* no PVI: CLI faults */
    assert_frame(g, true, 0, CODE);
    sys_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vm86_monitor),
        cmocka_unit_test(test_vm86_iopl),
        cmocka_unit_test(test_vm86_gate_not_ring0),
        cmocka_unit_test(test_vm86_task_switch),
        cmocka_unit_test(test_vme),
        cmocka_unit_test(test_pvi),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
