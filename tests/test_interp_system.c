/*
 * System instructions a kernel uses, checked one by one in 64-bit mode with
 * a real IDT: each vector's handler records the vector in R15 and halts, so
 * a test sees which exception an instruction raised, its error code and the
 * RIP it was raised at.  Covers MOV to/from DRn, the x87 control
 * instructions, VERR/VERW, LAR/LSL and the features CPUID advertises.
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

#define RAM_SIZE   (8u << 20)
#define CODE       0x10000u      /* the snippet under test */
#define STACK_TOP  0x80000u      /* CPL 0 stack (also TSS.RSP0) */
#define USER_STACK 0x90000u
#define IDT        0x4000u
#define GDT        0x5000u
#define TSS        0x6000u
#define STUBS      0x30000u      /* vector v: mov r15d, v; hlt at STUBS + 16 * v */
#define NO_EXC     0xdeadu       /* R15 when no exception was taken */

struct sys_guest {
    struct guest_ram ram;
    struct cpu_state st;
    struct interp_cpu *cpu;
};

static void put64(struct sys_guest *g, uint64_t gpa, uint64_t v)
{
    memcpy(g->ram.host + gpa, &v, 8);
}

static uint64_t get64(const struct sys_guest *g, uint64_t gpa)
{
    uint64_t v;
    memcpy(&v, g->ram.host + gpa, 8);
    return v;
}

/* 0-2 MiB identity-mapped with one user-accessible 2 MiB page. */
static void build_tables(struct sys_guest *g)
{
    put64(g, 0x1000, 0x2000 | 7);
    put64(g, 0x2000, 0x3000 | 7);
    put64(g, 0x3000, 0x87);
    put64(g, GDT + 0x08, UINT64_C(0x00209a0000000000));        /* kernel code64 */
    put64(g, GDT + 0x10, UINT64_C(0x0000920000000000));        /* kernel data */
    put64(g, GDT + 0x18, UINT64_C(0x0000f20000000000));        /* user data */
    put64(g, GDT + 0x20, UINT64_C(0x0020fa0000000000));        /* user code64 */
    put64(g, TSS + 4, STACK_TOP);                              /* RSP0 */
    for (unsigned v = 0; v < 256; v++) {
        uint64_t h = STUBS + 16 * v;
        put64(g, IDT + 16 * v, (h & 0xffff) | (UINT64_C(0x08) << 16) | (UINT64_C(0x8e) << 40) |
                                   ((h >> 16) << 48));
        put64(g, IDT + 16 * v + 8, h >> 32);
        uint8_t *s = g->ram.host + h;
        s[0] = 0x41; s[1] = 0xbf;                               /* mov r15d, v */
        memcpy(s + 2, &v, 4);
        s[6] = 0xf4;                                            /* hlt */
    }
}

static void long_state(struct sys_guest *g, unsigned cpl)
{
    struct cpu_state *st = &g->st;
    memset(st, 0, offsetof(struct cpu_state, xsave));
    st->cr0 = CR0_PE | CR0_PG | CR0_ET | CR0_NE;
    st->cr3 = 0x1000;
    st->cr4 = CR4_PAE;
    st->efer = EFER_LME | EFER_LMA | EFER_SCE | EFER_NXE;
    st->dr6 = 0xffff0ff0;
    st->dr7 = 0x400;
    st->gdtr = (struct table_reg){ GDT, 0x37 };
    st->idtr = (struct table_reg){ IDT, 0xfff };
    uint32_t data = 0x3 | SEG_ATTR_S | SEG_ATTR_P | SEG_ATTR_DB | SEG_ATTR_G;
    uint32_t code = 0xb | SEG_ATTR_S | SEG_ATTR_P | SEG_ATTR_L | SEG_ATTR_G;
    for (unsigned s = 0; s < 6; s++)
        st->seg[s] = (struct seg_reg){ 0x10, 0, 0xffffffff, data };
    st->seg[SEG_CS] = (struct seg_reg){ 0x08, 0, 0xffffffff, code };
    if (cpl == 3) {
        st->seg[SEG_CS] = (struct seg_reg){ 0x23, 0, 0xffffffff, code | (3u << SEG_ATTR_DPL_SHIFT) };
        st->seg[SEG_SS] = (struct seg_reg){ 0x1b, 0, 0xffffffff, data | (3u << SEG_ATTR_DPL_SHIFT) };
    }
    st->seg[SEG_TR] = (struct seg_reg){ 0x28, TSS, 0x67, 0xb | SEG_ATTR_P };
    st->seg[SEG_LDTR].attr = SEG_ATTR_UNUSABLE;
    st->rflags = RFLAGS_FIXED;
    st->rip = CODE;
    st->gpr[GPR_RSP] = cpl == 3 ? USER_STACK : STACK_TOP;
    st->gpr[GPR_R15] = NO_EXC;
}

static struct sys_guest *sys_new(void)
{
    struct sys_guest *g = calloc(1, sizeof(*g));
    g->ram.host = calloc(1, RAM_SIZE);
    g->ram.size = g->ram.low_size = RAM_SIZE;
    g->ram.hole_size = GUEST_4G - RAM_SIZE;
    build_tables(g);
    long_state(g, 0);
    struct interp_io io = { g, NULL, NULL, NULL, NULL };
    g->cpu = interp_cpu_create(&g->st, &g->ram, &io);
    assert_non_null(g->cpu);
    return g;
}

static void sys_free(struct sys_guest *g)
{
    interp_cpu_destroy(g->cpu);
    free(g->ram.host);
    free(g);
}

/* Loads code at CODE and runs it from there with the state already set up
 * (registers may be preset) until HLT; returns R15 (NO_EXC or the vector). */
static uint64_t run_code(struct sys_guest *g, const uint8_t *code, size_t len)
{
    memcpy(g->ram.host + CODE, code, len);
    g->st.rip = CODE;
    g->st.gpr[GPR_R15] = NO_EXC;
    interp_flush_code(g->cpu);
    interp_state_changed(g->cpu);
    int rc = interp_execute(g->cpu, 1000);
    if (getenv("SYS_TEST_VERBOSE") && g->st.gpr[GPR_R15] != NO_EXC)
        fprintf(stderr, "frame %#llx %#llx\n", (unsigned long long)get64(g, g->st.gpr[GPR_RSP]),
                (unsigned long long)get64(g, g->st.gpr[GPR_RSP] + 8));
    if (rc != VINF_EM_HALT || getenv("SYS_TEST_VERBOSE"))
        fprintf(stderr, "rc=%d rip=%#llx r15=%#llx cr2=%#llx (%s)\n", rc, (unsigned long long)g->st.rip,
                (unsigned long long)g->st.gpr[GPR_R15], (unsigned long long)g->st.cr2, interp_last_error(g->cpu));
    assert_int_equal(rc, VINF_EM_HALT);
    g->st.run_state = CPU_RUNNABLE;
    return g->st.gpr[GPR_R15];
}

/* The exception frame the handler got: error code (if any) and RIP. */
static void assert_frame(const struct sys_guest *g, bool has_err, uint64_t err, uint64_t rip)
{
    uint64_t sp = g->st.gpr[GPR_RSP];
    if (has_err) {
        assert_int_equal(get64(g, sp), err);
        sp += 8;
    }
    assert_int_equal(get64(g, sp), rip);
}

/* Runs code expecting exception vec (with error code err if has_err) at
 * offset at in the snippet. */
static void expect_exc(struct sys_guest *g, const uint8_t *code, size_t len, uint64_t vec, bool has_err,
                       uint64_t err, unsigned at)
{
    assert_int_equal(run_code(g, code, len), vec);
    assert_frame(g, has_err, err, CODE + at);
}

#define RUN(g, ...) run_code(g, (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ }))
#define EXC(g, vec, has_err, err, at, ...) \
    expect_exc(g, (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ }), vec, has_err, err, at)

/* MOV DRn: 64-bit values in DR0-3, the fixed bits of DR6 and DR7, DR4/DR5
 * as aliases of DR6/DR7 while CR4.DE is clear, a ModRM with mod != 3. */
static void test_mov_dr_values(void **state)
{
    (void)state;
    struct sys_guest *g = sys_new();
    g->st.gpr[GPR_RAX] = UINT64_C(0x123456789abcdef0);
    g->st.gpr[GPR_RDI] = 0xffffffff;
    g->st.gpr[GPR_R10] = 0xffffdfff;                         /* all but GD */
    assert_int_equal(RUN(g, 0x0f, 0x23, 0xd8,                 /* mov dr3, rax */
                            0x0f, 0x21, 0xdb,                 /* mov rbx, dr3 */
                            0x0f, 0x23, 0xf7,                 /* mov dr6, rdi */
                            0x0f, 0x21, 0xf1,                 /* mov rcx, dr6 */
                            0x41, 0x0f, 0x23, 0xfa,           /* mov dr7, r10 */
                            0x0f, 0x21, 0xfa,                 /* mov rdx, dr7 */
                            0x0f, 0x21, 0x26,                 /* mov rsi, dr4 (mod 0: still a register) */
                            0x0f, 0x21, 0xed,                 /* mov rbp, dr5 */
                            0x41, 0x0f, 0x23, 0xc0,           /* mov dr0, r8 */
                            0xf4), NO_EXC);
    assert_int_equal(g->st.rip, CODE + 30);                  /* past the HLT */
    assert_int_equal(g->st.gpr[GPR_RBX], UINT64_C(0x123456789abcdef0));
    assert_int_equal(g->st.dr[3], UINT64_C(0x123456789abcdef0));
    assert_int_equal(g->st.gpr[GPR_RCX], 0xffffefff);        /* B0-3, BD, BS, BT; bit 12 is 0 */
    assert_int_equal(g->st.gpr[GPR_RDX], 0xffff07ff);        /* bits 11, 12, 14, 15 are 0 */
    assert_int_equal(g->st.gpr[GPR_RSI], 0xffffefff);
    assert_int_equal(g->st.gpr[GPR_RBP], 0xffff07ff);
    assert_int_equal(g->st.dr[0], 0);
    sys_free(g);
}

/* The exceptions: #GP(0) at CPL 3, #UD for DR4/DR5 with CR4.DE and for
 * REX.R (DR8), #GP(0) for a high half in DR6/DR7, #DB for DR7.GD (BD set,
 * GD cleared for the handler). */
static void test_mov_dr_faults(void **state)
{
    (void)state;
    struct sys_guest *g = sys_new();
    long_state(g, 3);
    EXC(g, 13, true, 0, 0, 0x0f, 0x21, 0xf8, 0xf4);           /* mov rax, dr7 at CPL 3 */
    long_state(g, 0);
    g->st.cr4 |= CR4_DE;
    EXC(g, 6, false, 0, 2, 0x90, 0x90, 0x0f, 0x21, 0xe0, 0xf4);  /* mov rax, dr4 */
    EXC(g, 6, false, 0, 0, 0x0f, 0x23, 0xe8, 0xf4);           /* mov dr5, rax */
    long_state(g, 0);
    EXC(g, 6, false, 0, 0, 0x44, 0x0f, 0x21, 0xc0, 0xf4);     /* mov rax, dr8 */
    g->st.gpr[GPR_RAX] = UINT64_C(1) << 32;
    EXC(g, 13, true, 0, 0, 0x0f, 0x23, 0xf8, 0xf4);           /* mov dr7, rax: high half */
    assert_int_equal(g->st.dr7, 0x400);
    long_state(g, 0);
    g->st.gpr[GPR_RAX] = UINT64_C(1) << 32;
    EXC(g, 13, true, 0, 0, 0x0f, 0x23, 0xf0, 0xf4);           /* mov dr6, rax */
    long_state(g, 0);
    g->st.dr7 = 0x2400;                                       /* GD */
    EXC(g, 1, false, 0, 1, 0x90, 0x0f, 0x21, 0xc0, 0xf4);     /* mov rax, dr0 */
    assert_int_equal(g->st.dr7, 0x400);
    assert_true(g->st.dr6 & 0x2000);
    sys_free(g);
}

/* Outside 64-bit mode the operand is 32 bits whatever the prefixes (a
 * 16-bit operand-size prefix does not truncate it). */
static void test_mov_dr_compat(void **state)
{
    (void)state;
    struct sys_guest *g = sys_new();
    put64(g, GDT + 0x30, UINT64_C(0x00cf9a000000ffff));       /* 32-bit code, DPL 0 */
    g->st.seg[SEG_CS] = (struct seg_reg){ 0x30, 0, 0xffffffff,
                                          0xb | SEG_ATTR_S | SEG_ATTR_P | SEG_ATTR_DB | SEG_ATTR_G };
    g->st.gpr[GPR_RAX] = UINT64_C(0xffffffff87654321);
    g->st.gpr[GPR_RBX] = UINT64_C(0xffffffffffffffff);
    assert_int_equal(RUN(g, 0x66, 0x0f, 0x23, 0xc8,           /* mov dr1, eax */
                            0x66, 0x0f, 0x21, 0xcb,           /* mov ebx, dr1 */
                            0xf4), NO_EXC);
    assert_int_equal(g->st.dr[1], 0x87654321);
    assert_int_equal(g->st.gpr[GPR_RBX], 0x87654321);
    sys_free(g);
}

/* What the host CPU's FCW reads back after FLDCW v (reserved bits). */
static uint16_t host_fcw_after(uint16_t v)
{
    uint16_t saved, out;
    __asm__ volatile("fnstcw %0" : "=m"(saved));
    __asm__ volatile("fldcw %1\n\tfnstcw %0\n\tfldcw %2" : "=m"(out) : "m"(v), "m"(saved));
    return out;
}

static uint16_t ram16(const struct sys_guest *g, uint64_t gpa)
{
    uint16_t v;
    memcpy(&v, g->ram.host + gpa, 2);
    return v;
}

/* FNSTSW AX/m16, FNCLEX (keeps TOP), FNINIT, FNSTCW, FLDCW (reserved bits
 * as the host CPU returns them), FNOP, FWAIT with nothing pending. */
static void test_x87_control(void **state)
{
    (void)state;
    struct sys_guest *g = sys_new();
    uint16_t fsw = 0xb8ff, fcw = 0x0040, all = 0xffff;       /* B, TOP = 7, ES, every flag */
    memcpy(g->st.xsave + 2, &fsw, 2);
    memcpy(g->st.xsave, &fcw, 2);
    g->st.xsave[4] = 0x0f;
    memcpy(g->ram.host + 0x20020, &all, 2);
    g->st.gpr[GPR_RSI] = 0x20000;
    g->st.gpr[GPR_RDI] = 0x20010;
    g->st.gpr[GPR_RBX] = 0x20020;
    g->st.gpr[GPR_RBP] = 0x20030;
    assert_int_equal(RUN(g, 0xdf, 0xe0,                       /* fnstsw ax */
                            0xdb, 0xe2,                       /* fnclex */
                            0xdd, 0x3e,                       /* fnstsw [rsi] */
                            0xdb, 0xe3,                       /* fninit */
                            0xd9, 0x3f,                       /* fnstcw [rdi] */
                            0xd9, 0x2b,                       /* fldcw [rbx] */
                            0xd9, 0x7d, 0x00,                 /* fnstcw [rbp+0] */
                            0xd9, 0xd0,                       /* fnop */
                            0x9b,                             /* fwait */
                            0xf4), NO_EXC);
    assert_int_equal(g->st.gpr[GPR_RAX] & 0xffff, 0xb8ff);
    assert_int_equal(ram16(g, 0x20000), 0x3800);
    assert_int_equal(ram16(g, 0x20010), 0x037f);
    assert_int_equal(ram16(g, 0x20030), host_fcw_after(0xffff));
    assert_int_equal(ram16(g, 0x20030), 0x1f7f);
    assert_int_equal(g->st.xsave[4], 0);                     /* FNINIT: all tags empty */
    assert_int_equal(g->st.xsave[512] & 1, 1);               /* XSTATE_BV: x87 in use */
    sys_free(g);
}

/* #NM for CR0.TS or CR0.EM; FWAIT: #NM only with MP and TS, #MF for a
 * pending unmasked exception with CR0.NE; undefined encodings #UD. */
static void test_x87_faults(void **state)
{
    (void)state;
    struct sys_guest *g = sys_new();
    g->st.cr0 |= CR0_TS;
    EXC(g, 7, false, 0, 1, 0x90, 0xdb, 0xe3, 0xf4);           /* fninit */
    assert_int_equal(RUN(g, 0x9b, 0xf4), NO_EXC);             /* fwait: TS without MP */
    g->st.cr0 |= CR0_MP;
    EXC(g, 7, false, 0, 0, 0x9b, 0xf4);
    long_state(g, 0);
    g->st.cr0 |= CR0_EM;
    EXC(g, 7, false, 0, 0, 0xd9, 0x3f, 0xf4);                 /* fnstcw [rdi] */
    long_state(g, 0);
    uint16_t fsw = 0x0081;                                    /* IE unmasked and pending */
    memcpy(g->st.xsave + 2, &fsw, 2);
    EXC(g, 16, false, 0, 0, 0x9b, 0xf4);                      /* fwait */
    long_state(g, 0);
    EXC(g, 6, false, 0, 0, 0xd9, 0xd1, 0xf4);                 /* D9 D1: undefined */
    sys_free(g);
}

/* ZF after VERR/VERW (w) of selector sel from the current state. */
static bool verify(struct sys_guest *g, uint16_t sel, bool w)
{
    g->st.gpr[GPR_RAX] = sel;
    g->st.gpr[GPR_RBX] = 0;
    uint8_t code[] = { 0x0f, 0x00, (uint8_t)(w ? 0xe8 : 0xe0),  /* verr/verw ax */
                       0x0f, 0x94, 0xc3,                        /* setz bl */
                       0xf4 };
    uint64_t exc = run_code(g, code, sizeof(code));
    bool zf = g->st.gpr[GPR_RBX] & 1;
    if (exc != NO_EXC) {                                      /* at CPL 3 the HLT is #GP(0) */
        assert_int_equal(exc, 13);
        assert_frame(g, true, 0, CODE + 6);
        long_state(g, 3);                                     /* back to CPL 3 */
    }
    return zf;
}

/* VERR/VERW: readable/writable code and data, execute-only code, system
 * descriptors, null and out-of-limit selectors, RPL and CPL; the memory
 * form Linux uses (verw [rip+disp32]); #UD in real mode. */
static void test_verr_verw(void **state)
{
    (void)state;
    struct sys_guest *g = sys_new();
    put64(g, GDT + 0x28, UINT64_C(0x0000890000000067));       /* a TSS: system descriptor */
    put64(g, GDT + 0x30, UINT64_C(0x0000980000000000));       /* execute-only code */
    assert_true(verify(g, 0x10, false));
    assert_true(verify(g, 0x10, true));
    assert_true(verify(g, 0x08, false));                     /* readable code */
    assert_false(verify(g, 0x08, true));
    assert_false(verify(g, 0x30, false));
    assert_false(verify(g, 0x28, false));
    assert_false(verify(g, 0x00, false));
    assert_false(verify(g, 0x40, false));                    /* beyond the GDT limit */
    assert_false(verify(g, 0x44, false));                    /* LDT, none loaded */
    assert_false(verify(g, 0x13, true));                     /* RPL 3 on DPL 0 data */
    assert_true(verify(g, 0x1b, true));
    long_state(g, 3);
    assert_false(verify(g, 0x10, false));                    /* CPL 3 on DPL 0 data */
    assert_true(verify(g, 0x1b, true));
    assert_true(verify(g, 0x23, false));
    long_state(g, 0);
    g->st.rflags |= RFLAGS_ZF;
    assert_int_equal(RUN(g, 0x0f, 0x00, 0x2d, 0x04, 0, 0, 0,  /* verw [rip+4] */
                            0x0f, 0x94, 0xc3, 0xf4,           /* setz bl; hlt */
                            0x30, 0x00), NO_EXC);             /* the selector: execute-only */
    assert_int_equal(g->st.gpr[GPR_RBX] & 0xff, 0);
    sys_free(g);
}

/* Runs [rex] 0F op /r (reg RAX, r/m BX = sel) with RAX preset to a
 * pattern; returns ZF, and RAX in *rax. */
static bool lar_lsl(struct sys_guest *g, uint8_t prefix, uint8_t op, uint16_t sel, uint64_t *rax)
{
    g->st.gpr[GPR_RAX] = UINT64_C(0xdeadbeefdeadbeef);
    g->st.gpr[GPR_RBX] = sel;
    g->st.gpr[GPR_RCX] = 0;
    uint8_t code[] = { prefix, 0x0f, op, 0xc3, 0x0f, 0x94, 0xc1, 0xf4 };   /* op; setz cl; hlt */
    assert_int_equal(run_code(g, code, sizeof(code)), NO_EXC);
    *rax = g->st.gpr[GPR_RAX];
    return g->st.gpr[GPR_RCX] & 1;
}

/* LAR/LSL of the flat user data segment Linux uses (GDT selector 0x2b in
 * the test process) as the host CPU returns them, then the system
 * descriptor types long mode accepts, privilege, null selectors. */
static void test_lar_lsl(void **state)
{
    (void)state;
    uint64_t host_lar = 0xdeadbeefdeadbeef, host_lsl = 0, sel = 0x2b, v;
    __asm__ volatile("lar %1, %0" : "+r"(host_lar) : "r"(sel) : "cc");
    __asm__ volatile("lsl %1, %0" : "=r"(host_lsl) : "r"(sel) : "cc");
    struct sys_guest *g = sys_new();
    g->st.gdtr.limit = 0x4f;
    put64(g, GDT + 0x28, UINT64_C(0x0000890000000067));       /* 64-bit TSS, available */
    put64(g, GDT + 0x30, UINT64_C(0x0000810000000067));       /* 16-bit TSS: not in long mode */
    put64(g, GDT + 0x38, UINT64_C(0x00cff3000000ffff));       /* Linux's __USER_DS */
    put64(g, GDT + 0x40, UINT64_C(0x00008c0000000000));       /* call gate */
    assert_true(lar_lsl(g, 0x48, 0x02, 0x3b, &v));
    assert_int_equal(v, host_lar);
    assert_int_equal(v, 0xcff300);
    assert_true(lar_lsl(g, 0x90, 0x03, 0x3b, &v));
    assert_int_equal(v, host_lsl);
    assert_true(lar_lsl(g, 0x66, 0x02, 0x3b, &v));           /* 16-bit: type and DPL only */
    assert_int_equal(v, UINT64_C(0xdeadbeefdeadf300));
    assert_true(lar_lsl(g, 0x90, 0x02, 0x28, &v));
    assert_int_equal(v, 0x8900);
    assert_true(lar_lsl(g, 0x90, 0x03, 0x28, &v));
    assert_int_equal(v, 0x67);
    assert_false(lar_lsl(g, 0x90, 0x02, 0x30, &v));
    assert_int_equal(v, UINT64_C(0xdeadbeefdeadbeef));       /* unchanged on failure */
    assert_true(lar_lsl(g, 0x90, 0x02, 0x40, &v));           /* LAR accepts a call gate, */
    assert_false(lar_lsl(g, 0x90, 0x03, 0x40, &v));          /* LSL does not */
    assert_false(lar_lsl(g, 0x90, 0x02, 0x00, &v));
    assert_false(lar_lsl(g, 0x90, 0x02, 0x13, &v));          /* RPL 3 on DPL 0 */
    sys_free(g);
}

/* CPUID shows what the interpreter implements: SYSCALL, LM, NX, FPU, MMX; no
 * SSE, APIC or XSAVE yet (issue 4), so that a kernel does not use them. */
static void test_cpuid_features(void **state)
{
    (void)state;
    struct sys_guest *g = sys_new();
    g->st.gpr[GPR_RAX] = 0x80000001;
    assert_int_equal(RUN(g, 0x0f, 0xa2, 0xf4), NO_EXC);
    assert_int_equal(g->st.gpr[GPR_RDX] & ((1u << 11) | (1u << 20) | (1u << 29)),
                     (1u << 11) | (1u << 20) | (1u << 29));
    g->st.gpr[GPR_RAX] = 1;
    assert_int_equal(RUN(g, 0x0f, 0xa2, 0xf4), NO_EXC);
    assert_int_equal(g->st.gpr[GPR_RDX] & (1u | (1u << 23)), 1u | (1u << 23));  /* FPU MMX */
    assert_int_equal(g->st.gpr[GPR_RDX] & ((1u << 9) | (1u << 24) | (1u << 25) | (1u << 26)), 0);
    assert_int_equal(g->st.gpr[GPR_RCX] & ((1u << 26) | (1u << 28)), 0);
    sys_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mov_dr_values),
        cmocka_unit_test(test_mov_dr_faults),
        cmocka_unit_test(test_mov_dr_compat),
        cmocka_unit_test(test_x87_control),
        cmocka_unit_test(test_x87_faults),
        cmocka_unit_test(test_verr_verw),
        cmocka_unit_test(test_lar_lsl),
        cmocka_unit_test(test_cpuid_features),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
