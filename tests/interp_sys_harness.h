/*
 * A 64-bit test machine for the interpreter's system tests: identity-mapped
 * low memory, a GDT with kernel/user segments, a TSS and an IDT whose
 * vector v handler records v in R15 and halts.
 */
#ifndef PETREL_TESTS_INTERP_SYS_HARNESS_H
#define PETREL_TESTS_INTERP_SYS_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <vmm/err.h>
#include "cpu/interp/interp.h"

#define RAM_SIZE   (16u << 20)
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

static inline void put64(struct sys_guest *g, uint64_t gpa, uint64_t v)
{
    memcpy(g->ram.host + gpa, &v, 8);
}

static inline uint64_t get64(const struct sys_guest *g, uint64_t gpa)
{
    uint64_t v;
    memcpy(&v, g->ram.host + gpa, 8);
    return v;
}

/* 0-2 MiB identity-mapped with one user-accessible 2 MiB page. */
static inline void build_tables(struct sys_guest *g)
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

static inline void long_state(struct sys_guest *g, unsigned cpl)
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

/* Tables, a CPL 0 long-mode state and a vCPU on g's RAM (already set up). */
static inline struct sys_guest *sys_attach_cpu(struct sys_guest *g)
{
    build_tables(g);
    long_state(g, 0);
    struct interp_io io = { .opaque = g };
    g->cpu = interp_cpu_create(&g->st, &g->ram, &io);
    assert_non_null(g->cpu);
    return g;
}

static inline struct sys_guest *sys_new(void)
{
    struct sys_guest *g = calloc(1, sizeof(*g));
    g->ram.host = calloc(1, RAM_SIZE);
    g->ram.size = g->ram.low_size = RAM_SIZE;
    g->ram.hole_size = GUEST_4G - RAM_SIZE;
    return sys_attach_cpu(g);
}

static inline void sys_free(struct sys_guest *g)
{
    interp_cpu_destroy(g->cpu);
    free(g->ram.host);
    free(g);
}

/* Loads code at CODE and runs it from there with the state already set up
 * (registers may be preset) until HLT; returns R15 (NO_EXC or the vector). */
static inline uint64_t run_code(struct sys_guest *g, const uint8_t *code, size_t len)
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
static inline void assert_frame(const struct sys_guest *g, bool has_err, uint64_t err, uint64_t rip)
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
static inline void expect_exc(struct sys_guest *g, const uint8_t *code, size_t len, uint64_t vec, bool has_err,
                       uint64_t err, unsigned at)
{
    assert_int_equal(run_code(g, code, len), vec);
    assert_frame(g, has_err, err, CODE + at);
}

#define RUN(g, ...) run_code(g, (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ }))
#define EXC(g, vec, has_err, err, at, ...) \
    expect_exc(g, (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ }), vec, has_err, err, at)

#endif
