/*
 * Hostile code: random instruction bytes (biased towards prefixes, the 0F,
 * 0F 38 and 0F 3A maps and ModRM forms that name memory) run by the
 * interpreter at CPL 0 and CPL 3 in long mode, with SSE enabled and a
 * random MXCSR, random CR0.TS/EM and random register and XMM contents.
 * Whatever the code does (faults, writes over its own page tables or IDT,
 * triple faults, HLT), the interpreter must come back with a status and the
 * process must stay sane: under ASan/UBSan this catches out-of-bounds
 * accesses, undefined behaviour and host faults (an SSE stub or LDMXCSR fed
 * something the host rejects).  INTERP_RANDOM_RUNS=<n> (default 30000),
 * INTERP_RANDOM_SEED=<s>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "interp_sys_harness.h"

#include "xorshift.h"

/* One instruction-like byte string: prefixes, an opcode from a map, a
 * ModRM (often memory through a base register), a displacement and an
 * immediate's worth of random bytes. */
static size_t gen_insn(uint8_t *p)
{
    static const uint8_t prefixes[] = { 0x66, 0xf2, 0xf3, 0xf0, 0x2e, 0x3e, 0x26, 0x64, 0x65, 0x67 };
    size_t n = 0;
    for (unsigned k = rn(3); k; k--)
        p[n++] = prefixes[rn(sizeof(prefixes))];
    if (rn(2))
        p[n++] = (uint8_t)(0x40 | rn(16));                     /* REX */
    switch (rn(4)) {
    case 0: p[n++] = (uint8_t)rnd(); break;                    /* one-byte map */
    case 1: p[n++] = 0x0f; p[n++] = (uint8_t)rnd(); break;
    case 2: p[n++] = 0x0f; p[n++] = 0x38; p[n++] = (uint8_t)rnd(); break;
    default: p[n++] = 0x0f; p[n++] = 0x3a; p[n++] = (uint8_t)rnd(); break;
    }
    uint8_t modrm = (uint8_t)rnd();
    if (rn(3) == 0)
        modrm = (uint8_t)(0x40 | (modrm & 0x38) | 3);          /* [rbx+disp8]: mapped data */
    p[n++] = modrm;
    for (unsigned k = rn(6); k; k--)
        p[n++] = (uint8_t)rnd();
    return n;
}

static uint64_t retired;

static void run_random(struct sys_guest *g, unsigned cpl)
{
    long_state(g, cpl);
    build_tables(g);                               /* the previous run may have overwritten them */
    g->st.cr4 |= CR4_OSFXSR | (rn(2) ? CR4_OSXMMEXCPT : 0) | (rn(4) ? 0 : CR4_DE);
    g->st.cr0 |= rn(8) ? 0 : CR0_TS;
    g->st.cr0 |= rn(16) ? 0 : CR0_EM;
    for (unsigned i = 0; i < 16; i++)
        g->st.gpr[i] = rn(4) ? 0x20000 + rn(0x1000) : rnd();
    g->st.gpr[GPR_RSP] = cpl == 3 ? USER_STACK : STACK_TOP;
    for (unsigned i = 0; i < 512; i += 8) {
        uint64_t v = rnd();
        memcpy(g->st.xsave + i, &v, 8);
    }
    uint32_t mxcsr = (uint32_t)rnd() & (rn(4) ? 0xffffu : 0xffffffffu);   /* even reserved bits */
    memcpy(g->st.xsave + 24, &mxcsr, 4);
    uint8_t code[256];
    size_t len = 0;
    while (len < sizeof(code) - 32)
        len += gen_insn(code + len);
    memset(code + len, 0xf4, sizeof(code) - len);
    memcpy(g->ram.host + CODE, code, sizeof(code));
    g->st.rip = CODE;
    g->st.run_state = CPU_RUNNABLE;
    interp_flush_code(g->cpu);
    interp_state_changed(g->cpu);
    uint64_t before = interp_instructions_retired(g->cpu);
    int rc = interp_execute(g->cpu, 200);
    retired += interp_instructions_retired(g->cpu) - before;
    assert_true(rc == VINF_SUCCESS || rc == VINF_EM_HALT || rc == VINF_EM_TRIPLE_FAULT || RT_FAILURE(rc));
}

static void test_random_code(void **state)
{
    (void)state;
    const char *e = getenv("INTERP_RANDOM_RUNS"), *s = getenv("INTERP_RANDOM_SEED");
    unsigned runs = e ? (unsigned)strtoul(e, NULL, 0) : 30000;
    rng = s ? strtoull(s, NULL, 0) : 0x9e3779b97f4a7c15ull;
    if (!rng)
        rng = 1;
    struct sys_guest *g = sys_new();
    for (unsigned i = 0; i < runs; i++)
        run_random(g, i & 1 ? 3 : 0);
    printf("[  INFO    ] %u random code runs survived, %llu instructions retired\n", runs,
           (unsigned long long)retired);
    sys_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
