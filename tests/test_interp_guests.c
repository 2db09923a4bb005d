/*
 * Small guests run by the interpreter over a fake guest RAM, without a VM:
 * guests/interp_*.asm switch modes themselves (real mode, 32-bit protected
 * mode with paging, long mode) and print what their exception handlers saw
 * on the debug console (port 0xE9); the test compares that line with what
 * the architecture specifies.  Plus hand-built blobs for triple fault, HLT,
 * the instruction budget and self-modifying code across blocks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <vmm/err.h>
#include "cpu/interp/interp.h"

#define RAM_SIZE (8u << 20)

struct guest {
    struct guest_ram ram;
    struct cpu_state st;
    struct interp_cpu *cpu;
    char out[512];
    size_t out_len;
    bool exited;
    uint32_t exit_code;
};

static uint32_t port_read(void *opaque, uint16_t port, unsigned size)
{
    (void)opaque;
    (void)size;
    return port == 0xe9 ? 0xe9 : 0xffffffffu;
}

static void port_write(void *opaque, uint16_t port, unsigned size, uint32_t value)
{
    struct guest *g = opaque;
    (void)size;
    if (port == 0xe9 && g->out_len + 1 < sizeof(g->out))
        g->out[g->out_len++] = (char)value;
    if (port == 0xf4) {
        g->exited = true;
        g->exit_code = value;
        interp_poke(g->cpu);
    }
}

static uint16_t load_u16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

static void real_mode_state(struct cpu_state *st, uint16_t ip)
{
    memset(st, 0, offsetof(struct cpu_state, xsave));
    for (unsigned s = 0; s < 6; s++)
        st->seg[s] = (struct seg_reg){ 0, 0, 0xffff, 0x3 | SEG_ATTR_S | SEG_ATTR_P };
    st->seg[SEG_CS].attr = 0xb | SEG_ATTR_S | SEG_ATTR_P;
    st->seg[SEG_LDTR].attr = SEG_ATTR_UNUSABLE;
    st->seg[SEG_TR] = (struct seg_reg){ 0, 0, 0xffff, 0xb | SEG_ATTR_P };
    st->idtr.limit = 0x3ff;
    st->gdtr.limit = 0xffff;
    st->rflags = RFLAGS_FIXED;
    st->cr0 = CR0_ET;
    st->rip = ip;
    st->gpr[GPR_RSP] = 0x7c00;
}

static struct guest *guest_new(void)
{
    struct guest *g = calloc(1, sizeof(*g));
    g->ram.host = calloc(1, RAM_SIZE);
    g->ram.size = g->ram.low_size = RAM_SIZE;
    g->ram.hole_size = GUEST_4G - RAM_SIZE;
    real_mode_state(&g->st, 0x7c00);
    struct interp_io io = { .opaque = g, .port_read = port_read, .port_write = port_write };
    g->cpu = interp_cpu_create(&g->st, &g->ram, &io);
    assert_non_null(g->cpu);
    return g;
}

static void guest_free(struct guest *g)
{
    interp_cpu_destroy(g->cpu);
    free(g->ram.host);
    free(g);
}

static void load_blob(struct guest *g, uint64_t gpa, const void *code, size_t len)
{
    memcpy(g->ram.host + gpa, code, len);
    interp_invalidate_code(g->cpu, gpa, len);
}

static void load_file(struct guest *g, const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", PETREL_GUEST_DIR, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(g->ram.host + 0x7c00, 1, 0x10000, f);
    fclose(f);
    assert_true(n > 0);
    interp_invalidate_code(g->cpu, 0x7c00, n);
}

/* Runs until the guest exits, halts or faults; returns the last status. */
static int run(struct guest *g, uint64_t budget)
{
    int rc = VINF_SUCCESS;
    while (budget && !g->exited) {
        uint64_t before = interp_instructions_retired(g->cpu);
        rc = interp_execute(g->cpu, budget);
        budget -= interp_instructions_retired(g->cpu) - before;
        if (rc != VINF_SUCCESS)
            break;
    }
    g->out[g->out_len] = 0;
    return rc;
}

static void run_file_guest(const char *file, const char *expected)
{
    struct guest *g = guest_new();
    load_file(g, file);
    int rc = run(g, 5000000);
    if (strcmp(g->out, expected) != 0 || !g->exited)
        fprintf(stderr, "%s: rc=%d exited=%d rip=%#llx (%s)\ngot:      '%s'\nexpected: '%s'\n", file, rc,
                g->exited, (unsigned long long)g->st.rip, interp_last_error(g->cpu), g->out, expected);
    assert_true(g->exited);
    assert_int_equal(g->exit_code, 0);
    assert_string_equal(g->out, expected);
    guest_free(g);
}

static void test_long_mode_guest(void **state)
{
    (void)state;
    run_file_guest("interp_long.bin",
                   "L DE UD BP PF 400000 3 PF 401000 0 100063 101023 1 S ab Hello EQ PF 400000 5 SC 202 18 20 33 GP 0\n");
}

static void test_prot32_guest(void **state)
{
    (void)state;
    run_file_guest("interp_prot32.bin",
                   "P DE UD BP PF 400000 3 PF 401000 0 100063 101023 S ab Hello EQ SYS 1b 23 GP 0\n");
}

/* CR3 switches, global pages, INVLPG (4 KiB and large pages): the TLB and
 * the jump cache of decoded blocks follow the page tables. */
static void test_tlb_guest(void **state)
{
    (void)state;
    run_file_guest("interp_tlb.bin", "ABAGGHBCD\n");
}

/* Block chaining: a hot loop's linked successor changes by a CR3 switch,
 * by a patch of its code, by a PTE change with INVLPG and by a change of
 * code size (the same stub entered through 16- and 32-bit code segments). */
static void test_chain_guest(void **state)
{
    (void)state;
    run_file_guest("interp_chain.bin", "CSIM\n");
}

static void test_real_mode_guest(void **state)
{
    (void)state;
    run_file_guest("interp_real.bin", "R DE 1234 I21 8 Hello EQ 55aa POP 8 ABCD\n");
}

/* 32-bit address shapes with their own handlers: wrap-around, #GP past DS's
 * limit (load and straddling store), #SS through EBP. */
static void test_addressing_guest(void **state)
{
    (void)state;
    run_file_guest("interp_addressing.bin", "A 5678 1234 9abc f00d GP GP SS \n");
}

/* Real mode with an empty IVT limit: the #UD cannot be delivered -> triple fault. */
static void test_triple_fault(void **state)
{
    (void)state;
    struct guest *g = guest_new();
    static const uint8_t code[] = { 0x0f, 0x0b };                /* ud2 */
    load_blob(g, 0x7c00, code, sizeof(code));
    g->st.idtr.limit = 0;
    interp_state_changed(g->cpu);
    assert_int_equal(interp_execute(g->cpu, 100), VINF_EM_TRIPLE_FAULT);
    guest_free(g);
}

/* HLT returns VINF_EM_HALT with RIP past it; the budget is exact. */
static void test_hlt_and_budget(void **state)
{
    (void)state;
    struct guest *g = guest_new();
    static const uint8_t code[] = { 0x40, 0x40, 0x40, 0xf4 };    /* inc ax x3; hlt */
    load_blob(g, 0x7c00, code, sizeof(code));
    assert_int_equal(interp_execute(g->cpu, 2), VINF_SUCCESS);
    assert_int_equal(g->st.gpr[GPR_RAX], 2);
    assert_int_equal(g->st.rip, 0x7c02);
    assert_int_equal(interp_execute(g->cpu, 100), VINF_EM_HALT);
    assert_int_equal(g->st.gpr[GPR_RAX], 3);
    assert_int_equal(g->st.rip, 0x7c04);
    assert_int_equal(g->st.run_state, CPU_HALTED);
    assert_int_equal(interp_instructions_retired(g->cpu), 4);
    guest_free(g);
}

/* A loop whose body is rewritten by a store from outside the block. */
static void test_smc_loop(void **state)
{
    (void)state;
    struct guest *g = guest_new();
    static const uint8_t code[] = {
        0xb9, 0x03, 0x00,             /* 7c00 mov cx, 3 */
        0x05, 0x01, 0x00,             /* 7c03 add ax, 1     <- imm patched */
        0xc6, 0x06, 0x04, 0x7c, 0x10, /* 7c06 mov byte [7c04], 0x10 */
        0xe2, 0xf6,                   /* 7c0b loop 7c03 */
        0xf4,                         /* 7c0d hlt */
    };
    load_blob(g, 0x7c00, code, sizeof(code));
    assert_int_equal(run(g, 1000), VINF_EM_HALT);
    assert_int_equal(g->st.gpr[GPR_RAX] & 0xffff, 1 + 0x10 + 0x10);
    guest_free(g);
}

/* REP MOVSB interrupted by the budget resumes where it stopped. */
static void test_rep_movs_restart(void **state)
{
    (void)state;
    struct guest *g = guest_new();
    static const uint8_t code[] = {
        0xbe, 0x00, 0x10,             /* mov si, 0x1000 */
        0xbf, 0x00, 0x40,             /* mov di, 0x4000 */
        0xb9, 0x00, 0x20,             /* mov cx, 0x2000 */
        0xf3, 0xa4,                   /* rep movsb */
        0xf4,
    };
    for (unsigned i = 0; i < 0x2000; i++)
        g->ram.host[0x1000 + i] = (uint8_t)(i * 7);
    load_blob(g, 0x7c00, code, sizeof(code));
    assert_int_equal(interp_execute(g->cpu, 4), VINF_SUCCESS);   /* 3 movs + one chunk */
    assert_int_equal(g->st.rip, 0x7c09);
    assert_true((g->st.gpr[GPR_RCX] & 0xffff) != 0);
    assert_int_equal(run(g, 100), VINF_EM_HALT);
    assert_int_equal(g->st.gpr[GPR_RCX] & 0xffff, 0);
    assert_int_equal(g->st.gpr[GPR_RDI] & 0xffff, 0x6000);
    assert_memory_equal(g->ram.host + 0x4000, g->ram.host + 0x1000, 0x2000);
    guest_free(g);
}

/* 64-bit CPL 0 with 0-2 MiB identity-mapped (tables at 0x1000). */
static void long_mode_state(struct guest *g, uint64_t rip)
{
    uint64_t e;
    e = 0x2000 | 3; memcpy(g->ram.host + 0x1000, &e, 8);
    e = 0x3000 | 3; memcpy(g->ram.host + 0x2000, &e, 8);
    e = 0x83;       memcpy(g->ram.host + 0x3000, &e, 8);
    struct cpu_state *st = &g->st;
    st->cr0 = CR0_PE | CR0_PG | CR0_ET;
    st->cr3 = 0x1000;
    st->cr4 = CR4_PAE;
    st->efer = EFER_LME | EFER_LMA | EFER_SCE;
    for (unsigned s = 0; s < 6; s++)
        st->seg[s] = (struct seg_reg){ 0x10, 0, 0xffffffff, 0x3 | SEG_ATTR_S | SEG_ATTR_P | SEG_ATTR_DB | SEG_ATTR_G };
    st->seg[SEG_CS] = (struct seg_reg){ 0x08, 0, 0xffffffff, 0xb | SEG_ATTR_S | SEG_ATTR_P | SEG_ATTR_L | SEG_ATTR_G };
    st->rip = rip;
}

/* The KVM fallback pattern: a state handed over from outside, one
 * instruction executed, the state handed back (lock cmpxchg16b at CPL 0,
 * popcnt in real mode: both are instructions KVM's emulator lacks). */
static void test_fallback_single_instruction(void **state)
{
    (void)state;
    struct guest *g = guest_new();
    static const uint8_t cx16[] = { 0xf0, 0x48, 0x0f, 0xc7, 0x0e };       /* lock cmpxchg16b [rsi] */
    load_blob(g, 0x10000, cx16, sizeof(cx16));
    uint64_t mem[2] = { 1, 2 };
    memcpy(g->ram.host + 0x20000, mem, sizeof(mem));
    long_mode_state(g, 0x10000);
    g->st.gpr[GPR_RSI] = 0x20000;
    g->st.gpr[GPR_RAX] = 1;
    g->st.gpr[GPR_RDX] = 2;
    g->st.gpr[GPR_RBX] = 0x1111;
    g->st.gpr[GPR_RCX] = 0x2222;
    interp_flush_code(g->cpu);
    interp_state_changed(g->cpu);
    assert_int_equal(interp_execute(g->cpu, 1), VINF_SUCCESS);
    assert_int_equal(g->st.rip, 0x10005);
    assert_true(g->st.rflags & RFLAGS_ZF);
    memcpy(mem, g->ram.host + 0x20000, sizeof(mem));
    assert_int_equal(mem[0], 0x1111);
    assert_int_equal(mem[1], 0x2222);
    g->st.rip = 0x10000;                                                  /* again: now unequal */
    interp_state_changed(g->cpu);
    assert_int_equal(interp_execute(g->cpu, 1), VINF_SUCCESS);
    assert_false(g->st.rflags & RFLAGS_ZF);
    assert_int_equal(g->st.gpr[GPR_RAX], 0x1111);
    assert_int_equal(g->st.gpr[GPR_RDX], 0x2222);

    static const uint8_t pop[] = { 0xf3, 0x0f, 0xb8, 0xd8 };              /* popcnt bx, ax */
    real_mode_state(&g->st, 0x7c00);
    load_blob(g, 0x7c00, pop, sizeof(pop));
    g->st.gpr[GPR_RAX] = 0xf0f0;
    interp_flush_code(g->cpu);
    interp_state_changed(g->cpu);
    assert_int_equal(interp_execute(g->cpu, 1), VINF_SUCCESS);
    assert_int_equal(g->st.gpr[GPR_RBX] & 0xffff, 8);
    assert_int_equal(g->st.rip, 0x7c04);
    guest_free(g);
}

/* XSETBV, XSAVE, XRSTOR (with a component in its initial state), FXSAVE,
 * LDMXCSR with a reserved bit (#GP, delivered as a triple fault here). */
static void test_xsave_family(void **state)
{
    (void)state;
    struct guest *g = guest_new();
    static const uint8_t code[] = {
        0x0f, 0x01, 0xd1,             /* xsetbv (ecx=0, edx:eax=3) */
        0x0f, 0xae, 0x27,             /* xsave [rdi] */
        0x0f, 0xae, 0x2e,             /* xrstor [rsi] */
        0x0f, 0xae, 0x03,             /* fxsave [rbx] */
        0x0f, 0xae, 0x55, 0x00,       /* ldmxcsr [rbp] */
    };
    load_blob(g, 0x10000, code, sizeof(code));
    long_mode_state(g, 0x10000);
    g->st.cr4 |= CR4_OSFXSR | CR4_OSXSAVE;
    g->st.xcr0 = 1;
    g->st.gpr[GPR_RAX] = 3;
    g->st.gpr[GPR_RDX] = 0;
    g->st.gpr[GPR_RCX] = 0;
    g->st.gpr[GPR_RDI] = 0x20000;
    g->st.gpr[GPR_RSI] = 0x21000;
    g->st.gpr[GPR_RBX] = 0x22000;
    g->st.gpr[GPR_RBP] = 0x23000;
    for (unsigned i = 0; i < 256; i++)
        g->st.xsave[160 + i] = (uint8_t)i;                    /* XMM0-15 */
    uint32_t mxcsr = 0x1f80;
    memcpy(g->st.xsave + 24, &mxcsr, 4);
    uint64_t bv = 3;
    memcpy(g->st.xsave + 512, &bv, 8);
    uint8_t *img = g->ram.host + 0x21000;                     /* XRSTOR source: x87 and SSE in init state */
    memset(img, 0, 4096);
    memcpy(img + 24, &mxcsr, 4);
    uint32_t bad = 0x10000;                                   /* reserved MXCSR bit */
    memcpy(g->ram.host + 0x23000, &bad, 4);
    interp_state_changed(g->cpu);

    assert_int_equal(interp_execute(g->cpu, 4), VINF_SUCCESS);
    assert_int_equal(g->st.xcr0, 3);
    for (unsigned i = 0; i < 256; i++)
        assert_int_equal(g->ram.host[0x20000 + 160 + i], (uint8_t)i);    /* XSAVE wrote XMM */
    uint64_t saved_bv;
    memcpy(&saved_bv, g->ram.host + 0x20000 + 512, 8);
    assert_int_equal(saved_bv, 3);
    for (unsigned i = 0; i < 256; i++)
        assert_int_equal(g->st.xsave[160 + i], 0);            /* XRSTOR initialised SSE */
    memcpy(&bv, g->st.xsave + 512, 8);
    assert_int_equal(bv, 0);
    assert_int_equal(load_u16(g->ram.host + 0x22000), 0x037f);  /* FXSAVE: the initial FCW */
    assert_int_equal(interp_execute(g->cpu, 1), VINF_EM_TRIPLE_FAULT);   /* #GP, no IDT */
    guest_free(g);
}

/* WRFSBASE/RDFSBASE and an FS-relative load; #UD without CR4.FSGSBASE. */
static void test_fsgsbase(void **state)
{
    (void)state;
    struct guest *g = guest_new();
    static const uint8_t code[] = {
        0xf3, 0x48, 0x0f, 0xae, 0xd0,                         /* wrfsbase rax */
        0x64, 0x48, 0x8b, 0x0c, 0x25, 0x08, 0, 0, 0,          /* mov rcx, fs:[8] */
        0xf3, 0x48, 0x0f, 0xae, 0xc2,                         /* rdfsbase rdx */
    };
    load_blob(g, 0x10000, code, sizeof(code));
    uint64_t v = 0x1234;
    memcpy(g->ram.host + 0x20008, &v, 8);
    long_mode_state(g, 0x10000);
    g->st.cr4 |= CR4_FSGSBASE;
    g->st.gpr[GPR_RAX] = 0x20000;
    interp_state_changed(g->cpu);
    assert_int_equal(interp_execute(g->cpu, 3), VINF_SUCCESS);
    assert_int_equal(g->st.gpr[GPR_RCX], 0x1234);
    assert_int_equal(g->st.gpr[GPR_RDX], 0x20000);
    assert_int_equal(g->st.seg[SEG_FS].base, 0x20000);
    long_mode_state(g, 0x10000);                              /* CR4.FSGSBASE clear: #UD, no IDT */
    interp_state_changed(g->cpu);
    assert_int_equal(interp_execute(g->cpu, 1), VINF_EM_TRIPLE_FAULT);
    guest_free(g);
}

/* External interrupts: refused while IF=0 and in the STI shadow, then
 * delivered through the IVT; HLT is left for the handler. */
static void test_inject_interrupt(void **state)
{
    (void)state;
    struct guest *g = guest_new();
    static const uint8_t code[] = {
        0xfb,                         /* 7c00 sti */
        0xf4,                         /* 7c01 hlt */
        0xf4,                         /* 7c02 hlt */
    };
    static const uint8_t handler[] = { 0x40, 0xcf };          /* 7d00: inc ax; iret */
    load_blob(g, 0x7c00, code, sizeof(code));
    load_blob(g, 0x7d00, handler, sizeof(handler));
    uint16_t ivt[2] = { 0x7d00, 0 };
    memcpy(g->ram.host + (size_t)0x20 * 4, ivt, 4);
    assert_false(interp_inject_interrupt(g->cpu, 0x20));       /* IF = 0 */
    assert_int_equal(interp_execute(g->cpu, 1), VINF_SUCCESS); /* sti */
    assert_false(interp_inject_interrupt(g->cpu, 0x20));       /* STI shadow */
    assert_int_equal(interp_execute(g->cpu, 10), VINF_EM_HALT);
    assert_int_equal(g->st.rip, 0x7c02);
    assert_true(interp_inject_interrupt(g->cpu, 0x20));
    assert_int_equal(g->st.run_state, CPU_RUNNABLE);
    assert_int_equal(g->st.rip, 0x7d00);
    assert_int_equal(g->st.rflags & RFLAGS_IF, 0);
    assert_int_equal(interp_execute(g->cpu, 10), VINF_EM_HALT); /* inc, iret, hlt */
    assert_int_equal(g->st.gpr[GPR_RAX] & 0xffff, 1);
    assert_int_equal(g->st.rip, 0x7c03);
    assert_true(g->st.rflags & RFLAGS_IF);
    guest_free(g);
}

/* Random bytes from random register states in each mode: whatever happens
 * (exceptions, triple faults, HLT, wild stores), the interpreter returns
 * within its budget without crashing (run under ASan/UBSan in CI). */
static void test_random_bytes(void **state)
{
    (void)state;
    struct guest *g = guest_new();
    uint64_t x = 88172645463325252ull;
    const char *env = getenv("INTERP_RANDOM_ITERATIONS");      /* longer runs: make fuzz-interp */
    unsigned iterations = env ? (unsigned)strtoul(env, NULL, 0) : 1500;
    if (getenv("INTERP_RANDOM_SEED"))
        x = strtoull(getenv("INTERP_RANDOM_SEED"), NULL, 0) | 1;
    for (unsigned iter = 0; iter < iterations; iter++) {
        for (unsigned i = 0; i < RAM_SIZE / 8; i += 64) {        /* sprinkle junk over RAM */
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            memcpy(g->ram.host + (size_t)i * 8 + (x & 7) * 8, &x, 8);
        }
        for (unsigned i = 0; i < 64; i++) {                        /* the code itself */
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            memcpy(g->ram.host + 0x7c00 + (size_t)i * 8, &x, 8);
        }
        real_mode_state(&g->st, 0x7c00);
        for (unsigned r = 0; r < GPR_COUNT; r++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            g->st.gpr[r] = x;
        }
        g->st.gpr[GPR_RSP] &= 0xffff;
        switch (iter % 3) {
        case 1:                                                    /* flat 32-bit protected mode */
            g->st.cr0 |= CR0_PE;
            for (unsigned s = 0; s < 6; s++)
                g->st.seg[s] = (struct seg_reg){ 0x10, 0, 0xffffffff, 0x3 | SEG_ATTR_S | SEG_ATTR_P | SEG_ATTR_DB | SEG_ATTR_G };
            g->st.seg[SEG_CS] = (struct seg_reg){ 0x08, 0, 0xffffffff, 0xb | SEG_ATTR_S | SEG_ATTR_P | SEG_ATTR_DB | SEG_ATTR_G };
            break;
        case 2:                                                    /* 64-bit mode over junk page tables */
            g->st.cr0 |= CR0_PE | CR0_PG;
            g->st.cr4 = CR4_PAE;
            g->st.efer = EFER_LME | EFER_LMA;
            g->st.cr3 = 0x1000;
            g->st.seg[SEG_CS].attr = 0xb | SEG_ATTR_S | SEG_ATTR_P | SEG_ATTR_L;
            break;
        default:
            break;
        }
        g->exited = false;
        interp_invalidate_code(g->cpu, 0, RAM_SIZE);
        interp_state_changed(g->cpu);
        int rc = interp_execute(g->cpu, 2000);
        assert_true(rc == VINF_SUCCESS || rc == VINF_EM_HALT || rc == VINF_EM_TRIPLE_FAULT);
    }
    guest_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hlt_and_budget),
        cmocka_unit_test(test_addressing_guest),
        cmocka_unit_test(test_triple_fault),
        cmocka_unit_test(test_smc_loop),
        cmocka_unit_test(test_rep_movs_restart),
        cmocka_unit_test(test_real_mode_guest),
        cmocka_unit_test(test_prot32_guest),
        cmocka_unit_test(test_tlb_guest),
        cmocka_unit_test(test_chain_guest),
        cmocka_unit_test(test_long_mode_guest),
        cmocka_unit_test(test_inject_interrupt),
        cmocka_unit_test(test_fallback_single_instruction),
        cmocka_unit_test(test_xsave_family),
        cmocka_unit_test(test_fsgsbase),
        cmocka_unit_test(test_random_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
