/*
 * A real-mode reference for the interpreter: the differential tester
 * cannot run 16-bit code on the host here (a far jump into a 16-bit LDT
 * code segment made with modify_ldt faults on this host, as does the
 * 32-bit diff test's switch to the 0x23 segment), so these are hand-checked
 * vectors: short 16-bit sequences with the register and flag results
 * worked out from the SDM's instruction descriptions (the comment says
 * why).  Only the flags in each vector's mask are compared (the others are
 * undefined for that instruction or not of interest).
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

#define RAM_SIZE (2u << 20)
#define ORG      0x7c00u

enum { R_AX = 1, R_BX = 2, R_CX = 4, R_DX = 8 };

struct regs16 { uint32_t ax, bx, cx, dx; };

struct vector {
    const char *name;
    uint8_t code[48];
    unsigned len;
    struct regs16 want;
    unsigned check;           /* R_* registers compared (32 bits) */
    uint32_t flag_mask, flags;
};

static const struct vector vectors[] = {
    { "add_overflow", { 0xb8, 0xff, 0x7f, 0x83, 0xc0, 0x01, 0xf4 }, 7, { .ax = 0x8000 }, R_AX, 0x8d5, 0x894 },   /* OF SF AF PF set, ZF CF clear */
    { "add_af", { 0xb0, 0x0f, 0x04, 0x01, 0xf4 }, 5, { .ax = 0x10 }, R_AX, 0x8d5, 0x10 },   /* AF only */
    { "sub_borrow", { 0xb8, 0x01, 0x00, 0x83, 0xe8, 0x02, 0xf4 }, 7, { .ax = 0xffff }, R_AX, 0x8d5, 0x95 },   /* CF SF AF PF */
    { "rol_cl", { 0xb8, 0x34, 0x12, 0xb9, 0x04, 0x00, 0xd3, 0xc0, 0xf4 }, 9, { .ax = 0x2341 }, R_AX, 0x1, 0x1 },   /* CF = bit 0 of the result */
    { "mul16", { 0xb8, 0x00, 0x01, 0xbb, 0x00, 0x01, 0xf7, 0xe3, 0xf4 }, 9, { .ax = 0x0, .dx = 0x1 }, R_AX | R_DX, 0x801, 0x801 },   /* CF OF: high half non-zero */
    { "div16", { 0x31, 0xd2, 0xb8, 0x64, 0x00, 0xb9, 0x07, 0x00, 0xf7, 0xf1, 0xf4 }, 11, { .ax = 0xe, .dx = 0x2 }, R_AX | R_DX, 0x0, 0x0 },   /* quotient, remainder */
    { "daa", { 0xb0, 0x79, 0x04, 0x35, 0x27, 0xf4 }, 6, { .ax = 0x14 }, R_AX, 0x11, 0x11 },   /* 0x79+0x35=0xae -> 0x14, CF AF */
    { "aam", { 0xb8, 0x4f, 0x00, 0xd4, 0x0a, 0xf4 }, 6, { .ax = 0x709 }, R_AX, 0xc4, 0x4 },   /* 79 -> ah 7 al 9; SF ZF PF from AL (9 has two bits set: PF) */
    { "cwd_cbw", { 0xb0, 0x80, 0x98, 0x99, 0xf4 }, 5, { .ax = 0xff80, .dx = 0xffff }, R_AX | R_DX, 0x0, 0x0 },   /* sign extension */
    { "neg", { 0xb8, 0x01, 0x00, 0xf7, 0xd8, 0xf4 }, 6, { .ax = 0xffff }, R_AX, 0x8d5, 0x95 },   /* CF set for non-zero */
    { "imul3", { 0xbb, 0x00, 0x40, 0x6b, 0xc3, 0x03, 0xf4 }, 7, { .ax = 0xc000 }, R_AX, 0x801, 0x801 },   /* signed overflow: CF OF */
    { "push_sp", { 0xbc, 0x00, 0x70, 0x54, 0x58, 0xf4 }, 6, { .ax = 0x7000 }, R_AX, 0x0, 0x0 },   /* 286+: the value before the decrement */
    { "ea_wrap", { 0xbb, 0xff, 0xff, 0xbe, 0x02, 0x00, 0xc6, 0x00, 0x5a, 0xa0, 0x01, 0x00, 0xf4 }, 13, { .ax = 0x5a }, R_AX, 0x0, 0x0 },   /* [bx+si] wraps at 64 KiB */
    { "seg_base", { 0xb8, 0x00, 0x10, 0x8e, 0xd8, 0xc6, 0x06, 0x10, 0x00, 0xa5, 0x31, 0xc0, 0x8e, 0xd8, 0xa0, 0x00, 0x00, 0x8e, 0xd8, 0xbb, 0x01, 0x10, 0x8e, 0xc3, 0x26, 0xa0, 0x00, 0x00, 0xf4 }, 29, { .ax = 0xa5 }, R_AX, 0x0, 0x0 },   /* 0x1000:0x10 = 0x1001:0 */
    { "loop_cx", { 0x66, 0xb9, 0x01, 0x00, 0x01, 0x00, 0x31, 0xc0, 0x40, 0xe2, 0xfd, 0xf4 }, 12, { .ax = 0x1, .cx = 0x10000 }, R_AX | R_CX, 0x0, 0x0 },   /* LOOP decrements CX only with 16-bit addressing */
    { "shl_zero", { 0xb8, 0x01, 0x00, 0x83, 0xc0, 0xff, 0xb1, 0x00, 0xd3, 0xe0, 0xf4 }, 11, { .ax = 0x0 }, R_AX, 0x41, 0x41 },   /* count 0: flags unchanged (CF ZF from the add) */
    { "bsf_bsr", { 0xbb, 0x20, 0x01, 0x0f, 0xbc, 0xc3, 0x0f, 0xbd, 0xcb, 0xf4 }, 10, { .ax = 0x5, .cx = 0x8 }, R_AX | R_CX, 0x40, 0x0 },   /* ZF clear for non-zero source */
    { "mmx", { 0xb8, 0x34, 0x12, 0x0f, 0x6e, 0xc0, 0x0f, 0xfe, 0xc0, 0x0f, 0x7e, 0xc3, 0x0f, 0x77, 0xf4 }, 15, { .ax = 0x1234, .bx = 0x2468 }, R_AX | R_BX, 0x0, 0x0 },   /* MMX works in real mode: 16-bit operand size is no 66 prefix */
    { "xlat", { 0xbb, 0x00, 0x06, 0xc6, 0x06, 0x03, 0x06, 0x77, 0xb0, 0x03, 0xd7, 0xf4 }, 12, { .ax = 0x77 }, R_AX, 0x0, 0x0 },   /* AL = [BX+AL] */
};

static void real_state(struct cpu_state *st)
{
    memset(st, 0, offsetof(struct cpu_state, xsave));
    for (unsigned s = 0; s < 6; s++)
        st->seg[s] = (struct seg_reg){ 0, 0, 0xffff, 0x3 | SEG_ATTR_S | SEG_ATTR_P };
    st->seg[SEG_CS].attr = 0xb | SEG_ATTR_S | SEG_ATTR_P;
    st->seg[SEG_LDTR].attr = SEG_ATTR_UNUSABLE;
    st->seg[SEG_TR] = (struct seg_reg){ 0, 0, 0xffff, 0xb | SEG_ATTR_P };
    st->idtr.limit = 0x3ff;
    st->rflags = RFLAGS_FIXED;
    st->cr0 = CR0_ET;
    st->rip = ORG;
    st->gpr[GPR_RSP] = 0x7000;
}

static void check_vector(const struct vector *v)
{
    struct guest_ram ram = { 0 };
    struct cpu_state st;
    ram.host = calloc(1, RAM_SIZE);
    assert_non_null(ram.host);
    ram.size = ram.low_size = RAM_SIZE;
    ram.hole_size = GUEST_4G - RAM_SIZE;
    real_state(&st);
    memcpy(ram.host + ORG, v->code, v->len);
    struct interp_io io = { .opaque = NULL };
    struct interp_cpu *cpu = interp_cpu_create(&st, &ram, &io);
    assert_non_null(cpu);
    int rc = interp_execute(cpu, 1000);
    uint32_t got[4] = { (uint32_t)st.gpr[GPR_RAX], (uint32_t)st.gpr[GPR_RBX], (uint32_t)st.gpr[GPR_RCX],
                        (uint32_t)st.gpr[GPR_RDX] };
    const uint32_t want[4] = { v->want.ax, v->want.bx, v->want.cx, v->want.dx };
    unsigned bad = rc != VINF_EM_HALT || st.rip != ORG + v->len ||
                   ((uint32_t)st.rflags & v->flag_mask) != v->flags;
    for (unsigned i = 0; i < 4; i++)
        bad |= ((v->check >> i) & 1) && got[i] != want[i];
    if (bad)
        fprintf(stderr, "%s: rc %d rip %#llx eax %#x ebx %#x ecx %#x edx %#x flags %#x (want %#x under %#x)\n",
                v->name, rc, (unsigned long long)st.rip, got[0], got[1], got[2], got[3],
                (uint32_t)st.rflags & v->flag_mask, v->flags, v->flag_mask);
    interp_cpu_destroy(cpu);
    free(ram.host);
    assert_int_equal(bad, 0);
}

static void test_real_mode_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++)
        check_vector(&vectors[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_mode_vectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
