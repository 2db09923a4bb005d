/*
 * 32-bit hardware task switches in legacy protected mode (no paging): far
 * JMP to a TSS (state saved to the old TSS, busy bits moved), far CALL
 * through a task gate and IRET with NT back (back link, NT, busy bits), and
 * a double fault delivered through a task gate in the IDT (the classic
 * "task switch on #DF": a #GP whose gate is not present becomes #DF, which
 * switches to a fresh task with the error code on its stack); a call from
 * the 32-bit task into a 16-bit (80286) TSS and IRET back: the 16-bit
 * layout on load and save, the upper register words, FS/GS null.
 */
#include "interp_sys_harness.h"

#define TSS_A   0x6000u
#define TSS_B   0x6100u
#define TSS_C   0x6200u
#define SEL_A   0x18u
#define SEL_B   0x20u
#define SEL_C   0x28u
#define SEL_TG  0x30u
#define TASK_B  (CODE + 0x100)
#define TASK_C  (CODE + 0x200)

static uint64_t tss_desc(uint32_t base, unsigned type)
{
    return 0x67 | ((uint64_t)(base & 0xffffff) << 16) | ((uint64_t)(0x80 | type) << 40) |
           ((uint64_t)(base >> 24) << 56);
}

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

static void fill_tss(struct sys_guest *g, uint32_t tss, uint32_t eip, uint32_t esp, uint32_t eax)
{
    memset(g->ram.host + tss, 0, 0x68);
    put32(g, tss + 0x20, eip);
    put32(g, tss + 0x24, 2);
    put32(g, tss + 0x28, eax);
    put32(g, tss + 0x38, esp);
    static const uint16_t segs[6] = { 0x10, 0x08, 0x10, 0x10, 0x10, 0x10 };   /* ES CS SS DS FS GS */
    for (unsigned i = 0; i < 6; i++)
        put32(g, tss + 0x48 + 4 * i, segs[i]);
}

static struct sys_guest *task_new(void)
{
    struct sys_guest *g = sys_new();
    struct cpu_state *st = &g->st;
    put64(g, GDT + 0x08, UINT64_C(0x00cf9a000000ffff));
    put64(g, GDT + 0x10, UINT64_C(0x00cf92000000ffff));
    put64(g, GDT + SEL_A, tss_desc(TSS_A, 0xb));
    put64(g, GDT + SEL_B, tss_desc(TSS_B, 0x9));
    put64(g, GDT + SEL_C, tss_desc(TSS_C, 0x9));
    put64(g, GDT + SEL_TG, ((uint64_t)SEL_B << 16) | (UINT64_C(0x85) << 40));
    memset(g->ram.host + IDT, 0, 256 * 8);
    put64(g, IDT + 8 * 8, ((uint64_t)SEL_C << 16) | (UINT64_C(0x85) << 40));   /* #DF: task gate */
    fill_tss(g, TSS_A, 0, 0, 0);
    fill_tss(g, TSS_B, TASK_B, 0x50000, 0xb0b0);
    fill_tss(g, TSS_C, TASK_C, 0x58000, 0xc0c0);
    g->ram.host[TASK_B] = 0xcf;                               /* iret */
    g->ram.host[TASK_C] = 0xf4;                               /* hlt */
    memset(st, 0, offsetof(struct cpu_state, xsave));
    st->cr0 = CR0_PE | CR0_ET;
    st->gdtr = (struct table_reg){ GDT, 0x37 };
    st->idtr = (struct table_reg){ IDT, 0xff };
    const uint32_t code32 = 0xb | SEG_ATTR_S | SEG_ATTR_P | SEG_ATTR_DB | SEG_ATTR_G;
    const uint32_t data32 = 0x3 | SEG_ATTR_S | SEG_ATTR_P | SEG_ATTR_DB | SEG_ATTR_G;
    for (unsigned s = 0; s < 6; s++)
        st->seg[s] = (struct seg_reg){ 0x10, 0, 0xffffffff, data32 };
    st->seg[SEG_CS] = (struct seg_reg){ 0x08, 0, 0xffffffff, code32 };
    st->seg[SEG_TR] = (struct seg_reg){ SEL_A, TSS_A, 0x67, 0xb | SEG_ATTR_P };
    st->seg[SEG_LDTR].attr = SEG_ATTR_UNUSABLE;
    st->rflags = RFLAGS_FIXED;
    st->rip = CODE;
    st->gpr[GPR_RSP] = 0x70000;
    st->gpr[GPR_RAX] = 0xa0a0;
    return g;
}

static void start(struct sys_guest *g, const uint8_t *code, size_t len)
{
    memcpy(g->ram.host + CODE, code, len);
    interp_flush_code(g->cpu);
    interp_state_changed(g->cpu);
}

static unsigned desc_type(const struct sys_guest *g, unsigned sel)
{
    return g->ram.host[GDT + sel + 5] & 0xf;
}

static void test_jmp_to_tss(void **state)
{
    (void)state;
    struct sys_guest *g = task_new();
    static const uint8_t code[] = { 0xea, 0, 0, 0, 0, SEL_B, 0 };   /* jmp SEL_B:0 */
    start(g, code, sizeof(code));
    interp_execute(g->cpu, 1);
    assert_int_equal(g->st.seg[SEG_TR].selector, SEL_B);
    assert_int_equal(g->st.rip, TASK_B);
    assert_int_equal(g->st.gpr[GPR_RAX], 0xb0b0);
    assert_int_equal(g->st.gpr[GPR_RSP], 0x50000);
    assert_int_equal(get32(g, TSS_A + 0x20), CODE + 7);          /* old EIP: after the JMP */
    assert_int_equal(get32(g, TSS_A + 0x28), 0xa0a0);            /* old EAX */
    assert_int_equal(desc_type(g, SEL_A), 0x9);                  /* old task not busy */
    assert_int_equal(desc_type(g, SEL_B), 0xb);
    assert_false(g->st.rflags & RFLAGS_NT);
    assert_true(g->st.cr0 & CR0_TS);
    sys_free(g);
}

static void test_call_task_gate_and_iret(void **state)
{
    (void)state;
    struct sys_guest *g = task_new();
    static const uint8_t code[] = { 0x9a, 0, 0, 0, 0, SEL_TG, 0, 0xeb, 0xfe };  /* call SEL_TG:0; jmp $ */
    start(g, code, sizeof(code));
    interp_execute(g->cpu, 1);
    assert_int_equal(g->st.seg[SEG_TR].selector, SEL_B);
    assert_int_equal(get32(g, TSS_B) & 0xffff, SEL_A);            /* back link */
    assert_true(g->st.rflags & RFLAGS_NT);
    assert_int_equal(desc_type(g, SEL_A), 0xb);                  /* both busy */
    assert_int_equal(desc_type(g, SEL_B), 0xb);
    interp_execute(g->cpu, 1);                                   /* IRET with NT */
    assert_int_equal(g->st.seg[SEG_TR].selector, SEL_A);
    assert_int_equal(g->st.rip, CODE + 7);
    assert_int_equal(g->st.gpr[GPR_RAX], 0xa0a0);
    assert_false(g->st.rflags & RFLAGS_NT);
    assert_int_equal(desc_type(g, SEL_B), 0x9);
    assert_int_equal(desc_type(g, SEL_A), 0xb);
    assert_int_equal(get32(g, TSS_B + 0x20), TASK_B + 1);        /* B saved after its IRET */
    sys_free(g);
}

static void test_double_fault_task(void **state)
{
    (void)state;
    struct sys_guest *g = task_new();
    static const uint8_t code[] = { 0x66, 0xb8, 0x34, 0x12,       /* mov ax, 0x1234 */
                                    0x8e, 0xd8 };                /* mov ds, ax: #GP, gate 13 absent */
    start(g, code, sizeof(code));
    assert_int_equal(interp_execute(g->cpu, 100), VINF_EM_HALT);
    assert_int_equal(g->st.seg[SEG_TR].selector, SEL_C);
    assert_int_equal(g->st.rip, TASK_C + 1);
    assert_int_equal(g->st.gpr[GPR_RSP], 0x58000 - 4);
    assert_int_equal(get32(g, 0x58000 - 4), 0);                  /* #DF error code */
    assert_int_equal(get32(g, TSS_C) & 0xffff, SEL_A);
    assert_int_equal(get32(g, TSS_A + 0x20), CODE + 4);          /* the faulting MOV DS */
    assert_true(g->st.rflags & RFLAGS_NT);
    sys_free(g);
}

static void put16(struct sys_guest *g, uint64_t gpa, uint16_t v)
{
    memcpy(g->ram.host + gpa, &v, 2);
}

static uint16_t get16(const struct sys_guest *g, uint64_t gpa)
{
    uint16_t v;
    memcpy(&v, g->ram.host + gpa, 2);
    return v;
}

/* CALL into a 16-bit TSS (type 1), IRET back to the 32-bit task. */
static void test_16bit_tss(void **state)
{
    (void)state;
    struct sys_guest *g = task_new();
    const unsigned tss16 = 0x6300, sel16 = 0x38, task16 = 0x9000;   /* IP is 16 bits */
    uint64_t d = 0x2b | ((uint64_t)tss16 << 16) | (UINT64_C(0x81) << 40);    /* present, available 286 TSS */
    put64(g, GDT + sel16, d);
    g->st.gdtr.limit = 0x3f;
    memset(g->ram.host + tss16, 0, 0x2c);
    put16(g, tss16 + 0x0e, (uint16_t)task16);                  /* IP */
    put16(g, tss16 + 0x10, 2);                                 /* FLAGS */
    put16(g, tss16 + 0x12, 0x1616);                            /* AX */
    put16(g, tss16 + 0x1a, 0x4000);                            /* SP */
    static const uint16_t segs[4] = { 0x10, 0x08, 0x10, 0x10 };  /* ES CS SS DS */
    for (unsigned i = 0; i < 4; i++)
        put16(g, tss16 + 0x22 + 2 * i, segs[i]);
    g->ram.host[task16] = 0xcf;                                /* iret (NT set: back to A) */
    g->st.seg[SEG_FS].selector = 0x10;
    static const uint8_t code[] = { 0x9a, 0, 0, 0, 0, sel16, 0, 0xeb, 0xfe };  /* call sel16:0 */
    start(g, code, sizeof(code));
    interp_execute(g->cpu, 1);
    assert_int_equal(g->st.seg[SEG_TR].selector, sel16);
    assert_int_equal(g->st.seg[SEG_TR].attr & 0xf, 0x3);       /* busy 286 TSS */
    assert_int_equal(desc_type(g, sel16), 0x3);
    assert_int_equal(g->st.rip, task16);
    assert_int_equal(g->st.gpr[GPR_RAX], 0xffff1616u);
    assert_int_equal(g->st.gpr[GPR_RSP] & 0xffff, 0x4000);
    assert_int_equal(g->st.seg[SEG_FS].selector, 0);
    assert_true(g->st.rflags & RFLAGS_NT);
    assert_int_equal(get16(g, tss16), SEL_A);                  /* back link */
    g->st.gpr[GPR_RBX] = 0x12345678;
    interp_execute(g->cpu, 1);                                 /* IRET back to the 32-bit task */
    assert_int_equal(g->st.seg[SEG_TR].selector, SEL_A);
    assert_int_equal(g->st.rip, CODE + 7);
    assert_int_equal(g->st.gpr[GPR_RAX], 0xa0a0);
    assert_int_equal(get16(g, tss16 + 0x0e), task16 + 1);      /* the 16-bit task saved as words */
    assert_int_equal(get16(g, tss16 + 0x18), 0x5678);          /* BX */
    assert_int_equal(get16(g, tss16 + 0x2a), 0);               /* LDT untouched */
    assert_int_equal(desc_type(g, sel16), 0x1);                /* not busy after IRET */
    sys_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jmp_to_tss),
        cmocka_unit_test(test_call_task_gate_and_iret),
        cmocka_unit_test(test_double_fault_task),
        cmocka_unit_test(test_16bit_tss),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
