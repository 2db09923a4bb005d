/*
 * The block compiler's driver: the code buffer, a compiled block's frame
 * (entry, exits) and handler calls for the instructions jit_ops.c does not
 * emit itself.  What compiled code must keep true is in jit.h.
 *
 * Host registers in compiled code: RBX = the interp_cpu, R12 = its gpr
 * array; RAX, RCX, RDX, RSI, RDI and R8-R11 are scratch (a handler call
 * clobbers them anyway).  Code layout of one block:
 *
 *   exit:   RAX = (RDX << 32) | EAX; restore; ret     } once, at the buffer's
 *   chain:  into the successor, or EAX = X_NEXT, EDX = n } start (jit_chain.c)
 *
 *   entry:  save RBX, R12, R13; RBX = cpu; R12 = cpu->gpr      } each block
 *   body:   instruction 0 ... instruction n-1 <- chains jump here }
 *           R8 = this block; jmp chain                          }
 *
 * Every block's frame is the same, so the exit returns for whichever block
 * a chain started in.
 */
#include <stdlib.h>
#include <sys/mman.h>

#include "jit.h"
#include "jit_emit.h"

void jit_init(struct interp_cpu *cpu)
{
    const char *off = getenv("PETREL_JIT"), *hot = getenv("PETREL_JIT_HOT");
    cpu->jit_hot = JIT_HOT_DEFAULT;
    if (hot && *hot) {                            /* a number 1..60000; anything else keeps the default */
        char *end;
        long v = strtol(hot, &end, 10);
        if (!*end && v >= 1 && v <= 60000)
            cpu->jit_hot = (uint16_t)v;
    }
    if (off && off[0] == '0')
        cpu->jit_hot = 0;
}

uint64_t interp_compiled_blocks(const struct interp_cpu *cpu)
{
    return cpu->jit_compiled;
}

void jit_destroy(struct interp_cpu *cpu)
{
    if (cpu->jit_buf)
        munmap(cpu->jit_buf, JIT_BUFFER_SIZE);
    cpu->jit_buf = NULL;
}

void jit_reset(struct interp_cpu *cpu)
{
    cpu->jit_used = 0;
}

void jit_forget(struct interp_cpu *cpu)
{
    if (!cpu->jit_used)
        return;
    for (size_t off = 0; off < cpu->arena_used;) {          /* blocks lie back to back */
        struct block *b = (struct block *)(cpu->arena + off);
        b->code = NULL;
        b->chain = NULL;
        b->hits = 0;
        off += BLOCK_BYTES(b->n);
    }
    jit_reset(cpu);
}

void jit_release_idle(struct interp_cpu *cpu)
{
    size_t keep = (cpu->jit_used + 4095) & ~(size_t)4095;
    if (cpu->jit_buf && cpu->jit_touched > keep &&
        madvise(cpu->jit_buf + keep, cpu->jit_touched - keep, MADV_DONTNEED) == 0)
        cpu->jit_touched = keep;
}

/* The buffer is mapped on first use, so a vCPU that never runs hot 64-bit
 * code (or runs with the compiler off) costs nothing.  A host that refuses
 * writable+executable memory leaves the compiler off. */
static bool buffer_ready(struct interp_cpu *cpu)
{
    if (cpu->jit_buf)
        return true;
    void *p = mmap(NULL, JIT_BUFFER_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        cpu->jit_hot = 0;
        return false;
    }
    cpu->jit_buf = p;
    return true;
}

/* EAX holds the exec_result; leave at instruction idx. */
static void jit_exit_at(struct jit_ctx *c, unsigned idx)
{
    e_byte(&c->e, 0xba);                          /* mov edx, idx */
    e_u32(&c->e, idx);
    uint8_t *j = e_jmp32(&c->e);
    e_patch(&c->e, j, c->exit);
}

/* Leaves at idx unless the flags say cc_continue (EAX already set). */
static void exit_unless(struct jit_ctx *c, unsigned cc_continue, unsigned idx)
{
    uint8_t *skip = e_jcc8(&c->e, cc_continue);
    jit_exit_at(c, idx);
    e_patch8(&c->e, skip, c->e.p);
}

void jit_call_handler(struct jit_ctx *c, unsigned i)
{
    struct emit *e = &c->e;
    const struct insn *in = &c->b->insn[i];
    c->known_op = LF_NONE;                                   /* a handler may write any flag */
    e_op_rr(e, true, OP_MOV_STORE, H_RBX, H_RDI);           /* mov rdi, rbx */
    e_mov_imm(e, H_RSI, (uint64_t)(uintptr_t)in);
    e_mov_imm(e, H_RAX, (uint64_t)(uintptr_t)in->fn);
    e_call_reg(e, H_RAX);
    e_op_rr(e, false, OP_TEST, H_RAX, H_RAX);               /* test eax, eax */
    exit_unless(c, CC_E, i);
    if (i + 1 < c->b->n) {                                   /* a write to code: stop after it */
        e_cmp_mem_imm8(e, true, H_RBX, offsetof(struct interp_cpu, run_end), 0);
        exit_unless(c, CC_NE, i + 1);                        /* EAX is X_NEXT here */
    }
}

static void emit_exit_stub(struct emit *e)
{
    e_shift_imm(e, true, 4, H_RDX, 32);                      /* shl rdx, 32 */
    e_op_rr(e, false, OP_MOV_STORE, H_RAX, H_RAX);           /* mov eax, eax */
    e_op_rr(e, true, OP_OR, H_RAX, H_RDX);                   /* or rax, rdx */
    e_pop(e, H_R13);
    e_pop(e, H_R12);
    e_pop(e, H_RBX);
    e_ret(e);
}

static void emit_entry(struct emit *e)
{
    e_push(e, H_RBX);                                        /* three pushes: RSP 16-aligned at calls */
    e_push(e, H_R12);
    e_push(e, H_R13);
    e_op_rr(e, true, OP_MOV_STORE, H_RDI, H_RBX);            /* mov rbx, rdi */
    e_op_mem(e, true, OP_MOV_LOAD, H_R12, H_RBX, offsetof(struct interp_cpu, gpr));
}

/* The exit and chain stubs every block of the buffer jumps to, at its start. */
static bool emit_stubs(struct interp_cpu *cpu)
{
    struct emit e = { .p = cpu->jit_buf, .end = cpu->jit_buf + JIT_BUFFER_SIZE };
    cpu->jit_exit_stub = e.p;
    emit_exit_stub(&e);
    cpu->jit_chain_stub = e.p;
    jit_emit_chain_stub(&e, cpu->jit_exit_stub);
    cpu->jit_used = (size_t)(e.p - cpu->jit_buf + 15) & ~(size_t)15;
    return emit_ok(&e);
}

bool jit_compile(struct interp_cpu *cpu, struct block *b)
{
    if (b == cpu->scratch || b->mode != MODE_64 || !b->n || !buffer_ready(cpu))
        return false;
    if (cpu->jit_used == 0 && !emit_stubs(cpu))
        return false;
    uint8_t *start = cpu->jit_buf + cpu->jit_used;
    struct jit_ctx c = { .cpu = cpu, .b = b, .exit = cpu->jit_exit_stub };
    c.e.p = start;
    c.e.end = cpu->jit_buf + JIT_BUFFER_SIZE;
    uint8_t *entry = c.e.p;
    emit_entry(&c.e);
    uint8_t *body = c.e.p;
    for (unsigned i = 0; i < b->n; i++)
        if (!jit_emit_native(&c, i))
            jit_call_handler(&c, i);
    jit_emit_chain(&c);                                      /* ran through: chain or leave */
    if (!emit_ok(&c.e)) {
        cpu->jit_used = cpu->jit_touched = JIT_BUFFER_SIZE;  /* full until the arena empties */
        return false;
    }
    cpu->jit_used = (size_t)(c.e.p - cpu->jit_buf + 15) & ~(size_t)15;
    if (cpu->jit_used > cpu->jit_touched)
        cpu->jit_touched = cpu->jit_used;
    b->code = (uint64_t (*)(struct interp_cpu *))(void *)entry;
    b->chain = body;
    cpu->jit_compiled++;
    return true;
}
