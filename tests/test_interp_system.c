/*
 * System instructions a kernel uses, checked one by one in 64-bit mode with
 * a real IDT: each vector's handler records the vector in R15 and halts, so
 * a test sees which exception an instruction raised, its error code and the
 * RIP it was raised at.  Covers MOV to/from DRn, the x87 control
 * instructions, VERR/VERW, LAR/LSL and the features CPUID advertises.
 */
#include "interp_sys_harness.h"

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

/* CPUID shows what the interpreter implements: SYSCALL, LM, NX, FPU, MMX,
 * FXSR, SSE, SSE2; no XSAVE or AVX, so that a kernel does not use them. */
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
    assert_int_equal(g->st.gpr[GPR_RDX] & ((1u << 24) | (1u << 25) | (1u << 26)),
                     (1u << 24) | (1u << 25) | (1u << 26));             /* FXSR SSE SSE2 */
    assert_int_equal(g->st.gpr[GPR_RCX] & ((1u << 26) | (1u << 28)), 0);
    sys_free(g);
}

/* The vendor is one glibc knows (it reads leaf 1 only for those: under an
 * unknown vendor Debian 12's ld.so finds no SSE2 and runs no program), and
 * Intel's microcode-revision MSR reads 0 after the write Linux does first. */
static void test_cpuid_vendor_and_ucode_msr(void **state)
{
    (void)state;
    struct sys_guest *g = sys_new();
    g->st.gpr[GPR_RAX] = 0;
    assert_int_equal(RUN(g, 0x0f, 0xa2, 0xf4), NO_EXC);
    char vendor[13] = { 0 };
    uint32_t regs[3] = { (uint32_t)g->st.gpr[GPR_RBX], (uint32_t)g->st.gpr[GPR_RDX], (uint32_t)g->st.gpr[GPR_RCX] };
    memcpy(vendor, regs, 12);
    assert_string_equal(vendor, "GenuineIntel");
    assert_true(g->st.gpr[GPR_RAX] >= 1);
    g->st.gpr[GPR_RAX] = 1;
    assert_int_equal(RUN(g, 0x0f, 0xa2, 0xf4), NO_EXC);
    assert_int_equal(g->st.gpr[GPR_RDX] & ((1u << 8) | (1u << 15)), (1u << 8) | (1u << 15));  /* CX8 CMOV */
    assert_true(g->st.gpr[GPR_RCX] & (1u << 31));                                        /* hypervisor */
    g->st.gpr[GPR_RCX] = 0x8b;
    g->st.gpr[GPR_RAX] = 0;
    g->st.gpr[GPR_RDX] = 0;
    assert_int_equal(RUN(g, 0x0f, 0x30, 0xf4), NO_EXC);                                 /* WRMSR */
    g->st.gpr[GPR_RAX] = 0x1234;
    g->st.gpr[GPR_RDX] = 0x5678;
    assert_int_equal(RUN(g, 0x0f, 0x32, 0xf4), NO_EXC);                                 /* RDMSR */
    assert_int_equal(g->st.gpr[GPR_RAX], 0);
    assert_int_equal(g->st.gpr[GPR_RDX], 0);
    sys_free(g);
}

/* RDMSR with ECX = msr into *v; the vector it raised (NO_EXC if none). */
static uint64_t rdmsr_of(struct sys_guest *g, uint32_t msr, uint64_t *v)
{
    g->st.gpr[GPR_RCX] = msr;
    uint64_t exc = RUN(g, 0x0f, 0x32, 0xf4);
    *v = (g->st.gpr[GPR_RAX] & 0xffffffff) | (g->st.gpr[GPR_RDX] << 32);
    return exc;
}

static uint64_t wrmsr_of(struct sys_guest *g, uint32_t msr, uint64_t v)
{
    g->st.gpr[GPR_RCX] = msr;
    g->st.gpr[GPR_RAX] = v & 0xffffffff;
    g->st.gpr[GPR_RDX] = v >> 32;
    uint64_t exc = RUN(g, 0x0f, 0x30, 0xf4);
    if (exc != NO_EXC)
        long_state(g, 0);
    return exc;
}

/* Speculation control as on a CPU with enhanced IBRS (so that Linux makes
 * indirect calls plain, not retpolines): CPUID.7 says IBRS/IBPB, STIBP,
 * ARCH_CAPABILITIES and (sub-leaf 2) BHI_CTRL; ARCH_CAPABILITIES has
 * IBRS_ALL and the not-affected bits; IA32_SPEC_CTRL keeps IBRS, STIBP and
 * BHI_DIS_S and refuses reserved bits; IA32_PRED_CMD takes IBPB only and
 * cannot be read. */
static void test_speculation_control_msrs(void **state)
{
    (void)state;
    struct sys_guest *g = sys_new();
    uint64_t v = 0;
    g->st.gpr[GPR_RAX] = 7;
    g->st.gpr[GPR_RCX] = 0;
    assert_int_equal(RUN(g, 0x0f, 0xa2, 0xf4), NO_EXC);
    assert_true((g->st.gpr[GPR_RAX] & 0xffffffff) >= 2);
    assert_int_equal(g->st.gpr[GPR_RDX] & 0x2c000000u, 0x2c000000u);
    g->st.gpr[GPR_RAX] = 7;
    g->st.gpr[GPR_RCX] = 2;
    assert_int_equal(RUN(g, 0x0f, 0xa2, 0xf4), NO_EXC);
    assert_int_equal(g->st.gpr[GPR_RDX] & 0x10u, 0x10u);
    assert_int_equal(rdmsr_of(g, 0x10a, &v), NO_EXC);
    assert_int_equal(v & 0x3u, 0x3u);                        /* RDCL_NO IBRS_ALL */
    assert_true(v & (1u << 20));                             /* BHI_NO */
    assert_int_equal(wrmsr_of(g, 0x48, 0x4), 13);            /* SSBD: not advertised */
    assert_int_equal(wrmsr_of(g, 0x48, UINT64_C(1) << 32), 13);
    assert_int_equal(wrmsr_of(g, 0x49, 2), 13);
    assert_int_equal(rdmsr_of(g, 0x49, &v), 13);             /* PRED_CMD is write-only */
    long_state(g, 0);
    assert_int_equal(wrmsr_of(g, 0x49, 1), NO_EXC);          /* IBPB */
    assert_int_equal(rdmsr_of(g, 0x48, &v), NO_EXC);
    assert_int_equal(v, 0);
    assert_int_equal(wrmsr_of(g, 0x48, 0x401), NO_EXC);      /* IBRS | BHI_DIS_S */
    assert_int_equal(rdmsr_of(g, 0x48, &v), NO_EXC);
    assert_int_equal(v, 0x401);
    assert_int_equal(g->st.msr.spec_ctrl, 0x401);            /* part of the saved vCPU state */
    sys_free(g);
}

/* 64-bit MOV loads and stores by address shape (each has its own handler):
 * [base+disp], [base+index*8+disp], [rip+disp], a 32-bit address (67h)
 * that wraps, an FS override adding FS.base, a store across a page
 * boundary, and #GP(0) for a non-canonical address. */
static void test_address_shapes_64(void **state)
{
    (void)state;
    enum { DATA = 0x20000 };
    struct sys_guest *g = sys_new();
    put64(g, DATA + 0x20, UINT64_C(0x1122334455667788));
    put64(g, DATA + 0x08, UINT64_C(0x0102030405060708));
    g->st.gpr[GPR_RBX] = DATA;
    g->st.gpr[GPR_RSI] = 2;
    assert_int_equal(RUN(g, 0x48, 0x8b, 0x44, 0xf3, 0x10, 0xf4), NO_EXC);   /* mov rax, [rbx+rsi*8+16] */
    assert_int_equal(g->st.gpr[GPR_RAX], UINT64_C(0x1122334455667788));
    g->st.gpr[GPR_RCX] = UINT64_C(0xffffffffaabbccdd);
    assert_int_equal(RUN(g, 0x89, 0x4c, 0xf3, 0x10, 0xf4), NO_EXC);         /* mov [rbx+rsi*8+16], ecx */
    assert_int_equal(get64(g, DATA + 0x20), UINT64_C(0x11223344aabbccdd));
    g->st.gpr[GPR_RAX] = ~UINT64_C(0);
    assert_int_equal(RUN(g, 0x8b, 0x43, 0x08, 0xf4), NO_EXC);               /* mov eax, [rbx+8]: zero-extends */
    assert_int_equal(g->st.gpr[GPR_RAX], 0x05060708);
    g->st.gpr[GPR_RDX] = UINT64_C(0x8877665544332211);
    assert_int_equal(RUN(g, 0x48, 0x89, 0x53, 0x08, 0xf4), NO_EXC);         /* mov [rbx+8], rdx */
    assert_int_equal(get64(g, DATA + 0x08), UINT64_C(0x8877665544332211));

    assert_int_equal(RUN(g, 0x48, 0x8b, 0x05, 0x01, 0, 0, 0, 0xf4,          /* mov rax, [rip+1]; hlt */
                         0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01), NO_EXC);
    assert_int_equal(g->st.gpr[GPR_RAX], UINT64_C(0x0123456789abcdef));
    g->st.gpr[GPR_RCX] = 0x5a5a5a5a;                                        /* mov [rip+DATA-(CODE+6)], ecx */
    uint32_t rel = DATA + 0x40 - (CODE + 6);
    assert_int_equal(RUN(g, 0x89, 0x0d, (uint8_t)rel, (uint8_t)(rel >> 8), (uint8_t)(rel >> 16),
                         (uint8_t)(rel >> 24), 0xf4), NO_EXC);
    assert_int_equal(get64(g, DATA + 0x40) & 0xffffffff, 0x5a5a5a5a);

    g->st.gpr[GPR_RBX] = UINT64_C(0x77777777fffffff0);                      /* addr32: high half ignored */
    g->st.gpr[GPR_RSI] = (DATA + 0x20 + 0x10) / 8;                          /* 0xfffffff0 + 0x10 wraps to 0 */
    assert_int_equal(RUN(g, 0x67, 0x48, 0x8b, 0x04, 0xf3, 0xf4), NO_EXC);   /* mov rax, [ebx+esi*8] */
    assert_int_equal(g->st.gpr[GPR_RAX], UINT64_C(0x11223344aabbccdd));

    g->st.seg[SEG_FS].base = 0x1000;
    g->st.gpr[GPR_RBX] = DATA - 0x1000;
    assert_int_equal(RUN(g, 0x64, 0x48, 0x8b, 0x43, 0x08, 0xf4), NO_EXC);   /* mov rax, fs:[rbx+8] */
    assert_int_equal(g->st.gpr[GPR_RAX], UINT64_C(0x8877665544332211));
    g->st.seg[SEG_FS].base = 0;

    g->st.gpr[GPR_RBX] = DATA + 0xffc;                                      /* across a page boundary */
    g->st.gpr[GPR_RDX] = UINT64_C(0xa1a2a3a4b1b2b3b4);
    assert_int_equal(RUN(g, 0x48, 0x89, 0x53, 0x00, 0xf4), NO_EXC);         /* mov [rbx+0], rdx */
    assert_int_equal(get64(g, DATA + 0xffc), UINT64_C(0xa1a2a3a4b1b2b3b4));

    g->st.gpr[GPR_RBX] = UINT64_C(0x8000000000000000);
    EXC(g, 13, true, 0, 0, 0x48, 0x8b, 0x43, 0x08, 0xf4);                   /* non-canonical: #GP(0) */
    long_state(g, 0);
    g->st.gpr[GPR_RBX] = UINT64_C(0x8000000000000000);
    g->st.gpr[GPR_RSI] = 0;
    EXC(g, 13, true, 0, 0, 0x48, 0x89, 0x54, 0xf3, 0x08, 0xf4);             /* mov [rbx+rsi*8+8], rdx */
    sys_free(g);
}

/* Flags an instruction sets are dropped inside a block when the next flag
 * writer overwrites them unread; a run that stops right after it (here an
 * instruction budget of 1) must still leave them in RFLAGS. */
static void test_flags_after_partial_block(void **state)
{
    (void)state;
    struct sys_guest *g = sys_new();
    static const uint8_t code[] = { 0x01, 0xd8,             /* add eax, ebx: CF ZF */
                                    0x31, 0xd1,             /* xor ecx, edx: CF = 0 */
                                    0x48, 0xc1, 0xe6, 0x04, /* shl rsi, 4 */
                                    0xf4 };
    memcpy(g->ram.host + CODE, code, sizeof(code));
    g->st.rip = CODE;
    g->st.gpr[GPR_RAX] = 0xffffffff;
    g->st.gpr[GPR_RBX] = 1;
    g->st.gpr[GPR_RCX] = 1;
    g->st.gpr[GPR_RDX] = 2;
    g->st.gpr[GPR_RSI] = UINT64_C(0xf000000000000001);
    interp_flush_code(g->cpu);
    interp_state_changed(g->cpu);
    assert_int_equal(interp_execute(g->cpu, 1), VINF_SUCCESS);
    assert_int_equal(g->st.rip, CODE + 2);
    assert_int_equal(g->st.gpr[GPR_RAX], 0);
    assert_int_equal(g->st.rflags & (RFLAGS_CF | RFLAGS_ZF), RFLAGS_CF | RFLAGS_ZF);
    assert_int_equal(interp_execute(g->cpu, 1), VINF_SUCCESS);
    assert_int_equal(g->st.rip, CODE + 4);
    assert_int_equal(g->st.rflags & (RFLAGS_CF | RFLAGS_ZF), 0);
    assert_int_equal(g->st.gpr[GPR_RCX], 3);
    g->st.rip = CODE;                                         /* the whole block: the last writer's flags */
    g->st.gpr[GPR_RAX] = 0xffffffff;
    interp_state_changed(g->cpu);
    assert_int_equal(interp_execute(g->cpu, 1000), VINF_EM_HALT);
    assert_int_equal(g->st.gpr[GPR_RSI], 0x10);
    assert_int_equal(g->st.rflags & (RFLAGS_CF | RFLAGS_ZF), RFLAGS_CF);   /* SHL's last bit out */
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
        cmocka_unit_test(test_cpuid_vendor_and_ucode_msr),
        cmocka_unit_test(test_speculation_control_msrs),
        cmocka_unit_test(test_address_shapes_64),
        cmocka_unit_test(test_flags_after_partial_block),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
