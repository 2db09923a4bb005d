/*
 * The block compiler against the interpreter: random 64-bit programs made
 * of what the compiler emits itself (moves, ALU, shifts, IMUL, loads and
 * stores, PUSH/POP, SETcc/CMOVcc, CALL/RET, Jcc) mixed with what it hands
 * to handlers (ADC/SBB, INC/DEC, shifts by CL) and with loads that fault,
 * each looped three times, run by a vCPU that never compiles and by one
 * that compiles every block before its first run (PETREL_JIT_HOT=1).  Registers, all of
 * RFLAGS, RIP, CR2, the exception taken and the touched memory must agree.
 * Also: a block that rewrites its own next instruction, and a hot loop
 * compiled at the default threshold.  INTERP_JIT_PROGRAMS=<n> (default
 * 4000), INTERP_JIT_SEED=<s>.
 */
#include "interp_sys_harness.h"

#define DATA     0x20000u        /* RBX points here: loads and stores go to [rbx + disp8] */
#define UNMAPPED UINT64_C(0x40000000)   /* R14: a load through it takes #PF */

#include "xorshift.h"

/* Registers the programs may change (not RSP, RBX = data, R14, R15). */
static const uint8_t pool[] = { 0, 1, 2, 5, 6, 7, 8, 9, 10, 11, 12, 13 };
static unsigned pick(void) { return pool[rn(sizeof(pool))]; }

struct prog {
    uint8_t b[4096];
    size_t n;
};

static void put(struct prog *p, unsigned x) { p->b[p->n++] = (uint8_t)x; }
static void put32(struct prog *p, uint32_t v) { for (int i = 0; i < 4; i++) put(p, (v >> (8 * i)) & 0xff); }

static void rex(struct prog *p, bool w, unsigned reg, unsigned rm, bool force)
{
    unsigned r = 0x40 | (w ? 8 : 0) | ((reg & 8) ? 4 : 0) | ((rm & 8) ? 1 : 0);
    if (r != 0x40 || force)
        put(p, r);
}

/* op reg, rm with register operands (opcode bytes op0[, op1]). */
static void rr(struct prog *p, bool w, unsigned op0, int op1, unsigned reg, unsigned rm)
{
    rex(p, w, reg, rm, false);
    put(p, op0);
    if (op1 >= 0)
        put(p, (unsigned)op1);
    put(p, 0xc0 | (reg & 7) << 3 | (rm & 7));
}

/* op reg, [rbx + disp8]. */
static void mem(struct prog *p, bool w, unsigned op0, int op1, unsigned reg)
{
    rex(p, w, reg, 0, false);
    put(p, op0);
    if (op1 >= 0)
        put(p, (unsigned)op1);
    put(p, 0x43 | (reg & 7) << 3);
    put(p, rn(30) * 8 + rn(2) * 3);              /* sometimes unaligned, always inside DATA's page */
}

static uint32_t rimm(void)
{
    static const uint32_t special[] = { 0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0xff, 0x80 };
    return rn(3) ? (uint32_t)rnd() : special[rn(sizeof(special) / sizeof(special[0]))];
}

static void gen_alu(struct prog *p)
{
    bool w = rn(2);
    unsigned op = rn(8), a = pick(), b = pick();
    switch (rn(17)) {
    case 13: rr(p, false, op * 8, -1, b, a); break;             /* op a8, b8 */
    case 14: put(p, 0x66); rr(p, false, op * 8 + 1, -1, b, a); break;   /* op a16, b16 */
    case 15: rr(p, false, 0x80, -1, op, a); put(p, rn(256)); break;     /* op a8, imm8 */
    case 16: rr(p, false, 0x84, -1, b, a); break;              /* TEST a8, b8 */
    case 10: mem(p, false, op * 8, -1, b); break;               /* op [rbx + d], b8 */
    case 11: mem(p, false, rn(2) ? 0x80 : 0xf6, -1, p->n & 1 ? op : 0); put(p, rn(256)); break;   /* byte imm, TEST */
    case 12: {                                                  /* word op [mem], imm8 / TEST [mem], r16 */
        bool imm = rn(2);
        put(p, 0x66);
        mem(p, false, imm ? 0x83 : 0x85, -1, op);
        if (imm)
            put(p, rn(256));
        break;
    }
    case 6: mem(p, w, op * 8 + 1, -1, b); break;                /* op [rbx + d], b */
    case 7: mem(p, w, 0x83, -1, op); put(p, rn(256)); break;    /* op [rbx + d], imm8 */
    case 8: mem(p, w, 0x81, -1, op); put32(p, rimm()); break;
    case 9: {                                                   /* TEST [mem], rax / imm32 */
        bool imm = rn(2);
        mem(p, w, imm ? 0xf7 : 0x85, -1, 0);
        if (imm)
            put32(p, rimm());
        break;
    }
    case 0: rr(p, w, op * 8 + 1, -1, b, a); break;              /* op a, b */
    case 1: rr(p, w, op * 8 + 3, -1, a, b); break;              /* op a, b (reverse form) */
    case 2: rr(p, w, 0x83, -1, op, a); put(p, rn(256)); break;
    case 3: rr(p, w, 0x81, -1, op, a); put32(p, rimm()); break;
    case 4: rex(p, w, 0, 0, false); put(p, op * 8 + 5); put32(p, rimm()); break;   /* op eax/rax, imm32 */
    default: mem(p, w, op * 8 + 3, -1, a); break;               /* op a, [rbx + d] */
    }
}

static void gen_move(struct prog *p)
{
    bool w = rn(2);
    unsigned a = pick(), b = pick();
    switch (rn(12)) {
    case 9: mem(p, w, 0xc7, -1, 0); put32(p, rimm()); break;    /* mov [rbx + d], imm32 */
    case 10: if (rn(2)) { put(p, 0x66); mem(p, false, 0xc7, -1, 0); put(p, rn(256)); put(p, rn(256)); }
             else { mem(p, false, 0xc6, -1, 0); put(p, rn(256)); }
             break;                                             /* mov word/byte [rbx + d], imm */
    case 11: {                                                  /* mov [rbx + d], r16 / r8 */
        bool word = rn(2);
        if (word)
            put(p, 0x66);
        mem(p, false, word ? 0x89 : 0x88, -1, a);
        break;
    }
    case 0: rr(p, w, 0x89, -1, b, a); break;
    case 1: rr(p, w, 0x8b, -1, a, b); break;
    case 2: rex(p, w, 0, a, false); put(p, 0xb8 + (a & 7)); put32(p, rimm()); if (w) put32(p, rimm()); break;
    case 3: mem(p, w, 0x8b, -1, a); break;                      /* load */
    case 4: mem(p, w, 0x89, -1, a); break;                      /* store */
    case 5: rr(p, w, 0x0f, 0xb6 + rn(2) + 8 * rn(2), a, b); break;   /* MOVZX/MOVSX r, r8/r16 */
    case 6: mem(p, w, 0x0f, 0xb6 + rn(2) + 8 * rn(2), a); break;     /* ... from memory */
    case 7: rr(p, true, 0x63, -1, a, b); break;                 /* MOVSXD */
    default: {                                                  /* LEA a, [b + c*s + d32] */
        unsigned c = pick();
        bool sib = rn(2) || (b & 7) == 4;
        unsigned r = 0x40 | (w ? 8 : 0) | ((a & 8) ? 4 : 0) | (sib && (c & 8) ? 2 : 0) | ((b & 8) ? 1 : 0);
        if (r != 0x40)
            put(p, r);
        put(p, 0x8d);
        put(p, (sib ? 0x84 : 0x80) | (a & 7) << 3 | (sib ? 0 : b & 7));
        if (sib)
            put(p, rn(4) << 6 | (c & 7) << 3 | (b & 7));
        put32(p, (uint32_t)rnd());
        break;
    }
    }
}

static void gen_other(struct prog *p)
{
    bool w = rn(2);
    unsigned a = pick(), b = pick();
    static const unsigned shifts[] = { 0, 1, 4, 5, 7 };
    switch (rn(11)) {
    case 10: rr(p, w, 0xf7, -1, 4, a); break;                  /* MUL a: RDX:RAX */
    case 0: rr(p, w, 0xc1, -1, shifts[rn(5)], a); put(p, rn(70)); break;
    case 1: rr(p, w, 0xd1, -1, shifts[rn(5)], a); break;
    case 2: rr(p, w, 0xd3, -1, shifts[rn(5)], a); break;       /* by CL: a handler */
    case 3: rr(p, w, 0x0f, 0xaf, a, b); break;                  /* IMUL a, b */
    case 4: {                                                   /* IMUL a, b, imm8/imm32 */
        bool i8 = rn(2);
        rr(p, w, i8 ? 0x6b : 0x69, -1, a, b);
        if (i8)
            put(p, rn(256));
        else
            put32(p, rimm());
        break;
    }
    case 5: rr(p, w, 0x85, -1, b, a); break;                    /* TEST */
    case 6: rr(p, w, 0xf7, -1, 0, a); put32(p, rimm()); break;  /* TEST a, imm32 */
    case 7: rr(p, w, 0xff, -1, rn(2), a); break;                /* INC/DEC: a handler */
    case 8: rr(p, false, 0x0f, 0x90 + rn(16), 0, a); break;     /* SETcc a8 (no REX: AH..BH for 4-7) */
    default: rr(p, w, 0x0f, 0x40 + rn(16), a, b); break;        /* CMOVcc a, b */
    }
}

static void gen_stack(struct prog *p)
{
    unsigned a = pick();
    rex(p, false, 0, a, false);
    put(p, (rn(2) ? 0x50 : 0x58) + (a & 7));
}

static void gen_insn(struct prog *p, unsigned depth);

/* call sub; jmp over; sub: body; ret; over: */
static void gen_call(struct prog *p, unsigned depth)
{
    struct prog body = { .n = 0 };
    unsigned k = 1 + rn(4);
    for (unsigned i = 0; i < k; i++)
        gen_insn(&body, depth + 1);
    put(p, 0xe8);
    put32(p, 5);                                  /* over the JMP */
    put(p, 0xe9);
    put32(p, (uint32_t)(body.n + 1));
    memcpy(p->b + p->n, body.b, body.n);
    p->n += body.n;
    put(p, 0xc3);
}

static void gen_insn(struct prog *p, unsigned depth)
{
    unsigned k = rn(100);
    if (k < 30)
        gen_alu(p);
    else if (k < 60)
        gen_move(p);
    else if (k < 85)
        gen_other(p);
    else if (k < 93 && depth == 0)
        gen_stack(p);                             /* (a subroutine's RET must find its address) */
    else if (k < 96 && depth < 2)
        gen_call(p, depth);
    else if (k < 98) {                           /* a conditional jump over one instruction */
        struct prog skip = { .n = 0 };
        gen_alu(&skip);
        put(p, 0x70 + rn(16));
        put(p, (unsigned)skip.n);
        memcpy(p->b + p->n, skip.b, skip.n);
        p->n += skip.n;
    } else if (k < 99 || rn(2)) {
        gen_alu(p);
    } else {
        put(p, 0x49);                             /* mov rax, [r14]: #PF */
        put(p, 0x8b);
        put(p, 0x06);
    }
}

#define LOOPS_AT 0x100u      /* dword at DATA + LOOPS_AT: passes left (beyond the stores' reach) */

/* top: body; dec dword [rbx + LOOPS_AT]; jnz top; Jcc over the first of
 * two HLTs.  Later passes take the block links made by earlier ones, so
 * compiled blocks chain into each other. */
static void gen_program(struct prog *p)
{
    p->n = 0;
    unsigned n = 1 + rn(40);
    for (unsigned i = 0; i < n && p->n < 3000; i++)
        gen_insn(p, 0);
    put(p, 0xff);
    put(p, 0x8b);
    put32(p, LOOPS_AT);
    put(p, 0x0f);
    put(p, 0x85);
    put32(p, (uint32_t)-(int32_t)(p->n + 4));
    put(p, 0x70 + rn(16));                        /* Jcc over the first of two HLTs */
    put(p, 1);
    put(p, 0xf4);
    put(p, 0xf4);
}

static struct sys_guest *guest_with(const char *jit, const char *hot)
{
    if (jit)
        setenv("PETREL_JIT", jit, 1);
    else
        unsetenv("PETREL_JIT");
    if (hot)
        setenv("PETREL_JIT_HOT", hot, 1);
    else
        unsetenv("PETREL_JIT_HOT");
    struct sys_guest *g = sys_new();
    unsetenv("PETREL_JIT");
    unsetenv("PETREL_JIT_HOT");
    return g;
}

struct outcome {
    int rc;
    struct cpu_state st;
    uint8_t data[256], stack[512];
};

static void run_program(struct sys_guest *g, const struct prog *p, const uint64_t *regs, uint64_t rflags,
                        struct outcome *o)
{
    long_state(g, 0);
    memcpy(g->st.gpr, regs, sizeof(g->st.gpr));
    g->st.gpr[GPR_RSP] = STACK_TOP - 256;
    g->st.gpr[GPR_RBX] = DATA;
    g->st.gpr[GPR_R14] = UNMAPPED;
    g->st.gpr[GPR_R15] = NO_EXC;
    g->st.rflags = rflags;
    g->st.rip = CODE;
    for (unsigned i = 0; i < 256; i++)
        g->ram.host[DATA + i] = (uint8_t)(i * 37 + 11);
    uint32_t passes = 3;
    memcpy(g->ram.host + DATA + LOOPS_AT, &passes, 4);
    memset(g->ram.host + STACK_TOP - 512, 0, 512);
    memcpy(g->ram.host + CODE, p->b, p->n);
    interp_flush_code(g->cpu);
    interp_state_changed(g->cpu);
    o->rc = interp_execute(g->cpu, 20000);
    o->st = g->st;
    memcpy(o->data, g->ram.host + DATA, sizeof(o->data));
    memcpy(o->stack, g->ram.host + STACK_TOP - 512, sizeof(o->stack));
}

static bool same(const struct outcome *a, const struct outcome *b)
{
    bool ok = a->rc == b->rc && a->st.rip == b->st.rip && a->st.rflags == b->st.rflags && a->st.cr2 == b->st.cr2 &&
              memcmp(a->st.gpr, b->st.gpr, sizeof(a->st.gpr)) == 0 && memcmp(a->data, b->data, sizeof(a->data)) == 0 &&
              memcmp(a->stack, b->stack, sizeof(a->stack)) == 0;
    if (!ok) {
        fprintf(stderr, "rc %d/%d rip %#llx/%#llx rflags %#llx/%#llx cr2 %#llx/%#llx\n", a->rc, b->rc,
                (unsigned long long)a->st.rip, (unsigned long long)b->st.rip, (unsigned long long)a->st.rflags,
                (unsigned long long)b->st.rflags, (unsigned long long)a->st.cr2, (unsigned long long)b->st.cr2);
        for (unsigned r = 0; r < 16; r++)
            if (a->st.gpr[r] != b->st.gpr[r])
                fprintf(stderr, "  r%u %#llx/%#llx\n", r, (unsigned long long)a->st.gpr[r],
                        (unsigned long long)b->st.gpr[r]);
    }
    return ok;
}

static uint64_t env_u64(const char *name, uint64_t def)
{
    const char *v = getenv(name);
    return v && *v ? strtoull(v, NULL, 0) : def;
}

static void test_random_programs(void **state)
{
    (void)state;
    struct sys_guest *plain = guest_with("0", NULL), *jit = guest_with(NULL, "1");
    uint64_t n = env_u64("INTERP_JIT_PROGRAMS", 4000), seed = env_u64("INTERP_JIT_SEED", 1);
    unsigned failures = 0, faults = 0;
    struct prog p;
    for (uint64_t i = 0; i < n && failures < 3; i++) {
        rng = (seed + i) * UINT64_C(0x9e3779b97f4a7c15) | 1;
        gen_program(&p);
        uint64_t regs[16];
        for (unsigned r = 0; r < 16; r++)
            regs[r] = rn(4) ? rnd() : rnd() & 0xff;
        uint64_t rflags = RFLAGS_FIXED | (rnd() & 0x8d5);
        struct outcome a, b;
        run_program(plain, &p, regs, rflags, &a);
        run_program(jit, &p, regs, rflags, &b);
        faults += a.st.gpr[GPR_R15] != NO_EXC;
        if (!same(&a, &b)) {
            fprintf(stderr, "program %llu (seed %llu) differs; %zu bytes:", (unsigned long long)i,
                    (unsigned long long)(seed + i), p.n);
            for (size_t k = 0; k < p.n; k++)
                fprintf(stderr, " %02x", p.b[k]);
            fprintf(stderr, "\n");
            failures++;
        }
    }
    printf("jit vs interpreter: %llu programs, %u took an exception, %llu blocks compiled, %u differ\n",
           (unsigned long long)n, faults, (unsigned long long)interp_compiled_blocks(jit->cpu), failures);
    assert_int_equal(failures, 0);
    assert_true(faults > 0);
    assert_true(interp_compiled_blocks(jit->cpu) >= n);
    assert_int_equal(interp_compiled_blocks(plain->cpu), 0);
    sys_free(plain);
    sys_free(jit);
}

/* A compiled block stores over the immediate of its own next instruction
 * (through a handler and through the native store path): the new bytes run. */
static void test_block_rewrites_itself(void **state)
{
    (void)state;
    struct sys_guest *g = guest_with(NULL, "1");
    for (unsigned form = 0; form < 2; form++) {
        const uint8_t code[] = {
            0x48, 0x8d, 0x1d, 0x09, 0x00, 0x00, 0x00,   /* lea rbx, [rip + 9] (the ADD) */
            0x31, 0xc0,                                 /* xor eax, eax */
            form ? 0x89 : 0xc7, form ? 0x4b : 0x43, 0x02,   /* mov [rbx + 2], ecx / mov dword [rbx + 2], 7 */
            form ? 0x90 : 0x07, form ? 0x90 : 0x00, form ? 0x90 : 0x00, form ? 0x90 : 0x00,
            0x48, 0x05, 0x05, 0x00, 0x00, 0x00,         /* add rax, 5 -> add rax, 7 */
            0xf4,
        };
        /* form 1 is "mov [rbx+2], ecx; nop x4": ECX = 7 */
        g->st.gpr[GPR_RCX] = 7;
        for (unsigned run = 0; run < 3; run++) {
            memcpy(g->ram.host + CODE, code, sizeof(code));
            interp_flush_code(g->cpu);                  /* written from outside: not seen as guest stores */
            g->st.rip = CODE;
            g->st.gpr[GPR_R15] = NO_EXC;
            interp_state_changed(g->cpu);
            int rc = interp_execute(g->cpu, 1000);
            assert_int_equal(rc, VINF_EM_HALT);
            g->st.run_state = CPU_RUNNABLE;
            assert_int_equal(g->st.gpr[GPR_R15], NO_EXC);
            assert_int_equal(g->st.gpr[GPR_RAX], 7);
        }
    }
    assert_true(interp_compiled_blocks(g->cpu) > 0);
    sys_free(g);
}

/* A multi-precision multiply-accumulate loop, compiled at the default
 * threshold part-way through: the same result as never compiling. */
static void test_hot_loop(void **state)
{
    (void)state;
    static const uint8_t loop[] = {
        0xb9, 0x00, 0x10, 0x00, 0x00,               /* mov ecx, 4096 */
        0x48, 0xbe, 0x15, 0x7c, 0x4a, 0x7f, 0xb9, 0x79, 0x37, 0x9e, /* mov rsi, 0x9e3779b97f4a7c15 */
        0x31, 0xff,                                 /* xor edi, edi */
        0x45, 0x31, 0xc0,                           /* xor r8d, r8d */
        /* top: */
        0x48, 0x89, 0xf0,                           /* mov rax, rsi */
        0x48, 0xf7, 0xe1,                           /* mul rcx (a handler) */
        0x48, 0x01, 0xc7,                           /* add rdi, rax */
        0x49, 0x11, 0xd0,                           /* adc r8, rdx */
        0x48, 0x89, 0xfa,                           /* mov rdx, rdi */
        0x48, 0xc1, 0xea, 0x07,                     /* shr rdx, 7 */
        0x48, 0x31, 0xd6,                           /* xor rsi, rdx */
        0x48, 0x0f, 0xaf, 0xf1,                     /* imul rsi, rcx */
        0x48, 0x89, 0x74, 0x8b, 0x00,               /* mov [rbx + rcx*4], rsi */
        0x48, 0x83, 0xe9, 0x01,                     /* sub rcx, 1 */
        0x75, 0xdb,                                 /* jnz top */
        0xf4,
    };
    struct sys_guest *plain = guest_with("0", NULL), *jit = guest_with(NULL, NULL);
    struct outcome a, b;
    for (int k = 0; k < 2; k++) {
        struct sys_guest *g = k ? jit : plain;
        long_state(g, 0);
        g->st.gpr[GPR_RBX] = DATA;
        g->st.rip = CODE;
        memcpy(g->ram.host + CODE, loop, sizeof(loop));
        interp_flush_code(g->cpu);
        interp_state_changed(g->cpu);
        int rc = interp_execute(g->cpu, 0);
        assert_int_equal(rc, VINF_EM_HALT);
        (k ? &b : &a)->st = g->st;
    }
    assert_int_equal(a.st.gpr[GPR_RCX], 0);
    assert_memory_equal(a.st.gpr, b.st.gpr, sizeof(a.st.gpr));
    assert_int_equal(a.st.rflags, b.st.rflags);
    assert_memory_equal(plain->ram.host + DATA, jit->ram.host + DATA, 4 * 4097);
    assert_true(interp_compiled_blocks(jit->cpu) > 0);

    /* An idle release drops the compiled code (not the decoded blocks): the
     * loop runs again from a cleared DATA, is compiled again, same result. */
    uint64_t compiled = interp_compiled_blocks(jit->cpu);
    interp_release_idle_memory(jit->cpu, false);
    memset(jit->ram.host + DATA, 0, 4 * 4097);
    long_state(jit, 0);
    jit->st.gpr[GPR_RBX] = DATA;
    jit->st.rip = CODE;
    interp_state_changed(jit->cpu);
    assert_int_equal(interp_execute(jit->cpu, 0), VINF_EM_HALT);
    assert_memory_equal(a.st.gpr, jit->st.gpr, sizeof(a.st.gpr));
    assert_memory_equal(plain->ram.host + DATA, jit->ram.host + DATA, 4 * 4097);
    assert_true(interp_compiled_blocks(jit->cpu) > compiled);
    sys_free(plain);
    sys_free(jit);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_programs),
        cmocka_unit_test(test_block_rewrites_itself),
        cmocka_unit_test(test_hot_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
