/*
 * Chaining compiled blocks: a compiled block that ran to its end goes on
 * into its successor's compiled code itself when the C loop would have
 * done nothing else between the two (interp_execute's fast path):
 *
 *   - nothing pending: no TF/RF, no DR7 breakpoints, no STI/MOV SS
 *     shadow, no poke, no interrupt window with IF set;
 *   - no code became code or was written since the links were trusted
 *     (the shared mark_seq/write_seq are what this vCPU last saw);
 *   - the budget (cpu->jit_left) still holds a whole block after this one;
 *   - the successor is a valid link (same linear address, same chain_gen)
 *     of this block, or for a RET of the block on top of the return stack
 *     (the caller, whose fall-through it is), and it is compiled.
 *
 * Then it does the loop's bookkeeping (retired count, RIP, the return
 * stack for a CALL, the next block's run state) and jumps into the
 * successor's body; otherwise it leaves with X_NEXT as before.  The C side
 * learns where the chain stopped from cpu->jit_block (execute.c).
 */
#include "jit_emit.h"

#define CPU_OFF(field) ((int32_t)offsetof(struct interp_cpu, field))
#define ST_OFF(field) ((int32_t)offsetof(struct cpu_state, field))

/* Jumps (to patch) when byte [base + disp] is not zero. */
static uint8_t *jump_if_byte_set(struct emit *e, unsigned base, int32_t disp)
{
    e_rex(e, false, 0, 0, base, false);
    e_byte(e, 0x80);                              /* cmp byte [base + disp], 0 */
    e_modrm_mem(e, 7, base, disp);
    e_byte(e, 0);
    return e_jcc32(e, CC_NE);
}

/* RDI = the successor's RIP: next_rip if the last instruction set it,
 * else the fall-through (64-bit code: no wrap, CS base 0). */
static void emit_next_rip(struct jit_ctx *c)
{
    struct emit *e = &c->e;
    e_op_mem(e, true, OP_MOV_LOAD, H_RDI, H_RBX, CPU_OFF(block_rip));
    e_alu_imm(e, true, 0, H_RDI, c->b->bytes);
    e_rex(e, false, 0, 0, H_RBX, false);
    e_byte(e, 0x80);                              /* cmp byte [rip_set], 0 */
    e_modrm_mem(e, 7, H_RBX, CPU_OFF(rip_set));
    e_byte(e, 0);
    e_op_mem(e, true, 0x450f, H_RDI, H_RBX, CPU_OFF(next_rip));   /* cmovne rdi, [next_rip] */
}

/* R10 = the block that links of the block at R8 give for RDI (R9 holds
 * chain_gen); the returned jumps (to patch) are taken when one was found. */
static void emit_links_of_r8(struct emit *e, uint8_t **found)
{
    for (unsigned k = 0; k < 2; k++) {
        int32_t link = (int32_t)(offsetof(struct block, link) + k * sizeof(struct block_link));
        e_op_mem(e, true, OP_CMP, H_RDI, H_R8, link + (int32_t)offsetof(struct block_link, lin));
        uint8_t *next = e_jcc8(e, CC_NE);
        e_op_mem(e, true, OP_CMP, H_R9, H_R8, link + (int32_t)offsetof(struct block_link, gen));
        uint8_t *next2 = e_jcc8(e, CC_NE);
        e_op_mem(e, true, OP_MOV_LOAD, H_R10, H_R8, link + (int32_t)offsetof(struct block_link, to));
        found[k] = e_jmp32(e);
        e_patch8(e, next, e->p);
        e_patch8(e, next2, e->p);
    }
}

/* R10 = the successor, as next_block() finds it without a lookup: a link
 * of this block, or for a RET one of the caller's (the return stack's top,
 * which the C loop pops).  Jumps to `fail` (patched by the caller) when
 * there is none. */
static void emit_link_lookup(struct jit_ctx *c, uint8_t **fail)
{
    struct emit *e = &c->e;
    uint8_t *found[4];
    unsigned nfound = 0;
    e_op_mem(e, true, OP_MOV_LOAD, H_R9, H_RBX, CPU_OFF(chain_gen));
    e_mov_imm(e, H_R8, (uint64_t)(uintptr_t)c->b);
    emit_links_of_r8(e, found);
    nfound = 2;
    if (c->b->exit == EXIT_RET) {
        e_op_mem(e, false, OP_MOV_LOAD, H_RCX, H_RBX, CPU_OFF(ret_top));
        e_alu_imm(e, false, 5, H_RCX, 1);                 /* sub ecx, 1 */
        e_alu_imm(e, false, 4, H_RCX, RET_STACK - 1);
        e_rex(e, true, H_R8, H_RCX, H_RBX, false);        /* mov r8, [rbx + rcx*8 + ret_stack] */
        e_byte(e, OP_MOV_LOAD);
        e_byte(e, 0x84 | (H_R8 & 7) << 3);
        e_byte(e, 3 << 6 | (H_RCX & 7) << 3 | (H_RBX & 7));
        e_u32(e, (uint32_t)CPU_OFF(ret_stack));
        e_op_rr(e, true, OP_TEST, H_R8, H_R8);
        uint8_t *none = e_jcc32(e, CC_E);
        emit_links_of_r8(e, found + 2);
        nfound = 4;
        *fail = e_jmp32(e);
        e_patch(e, none, *fail - 1);
    } else {
        *fail = e_jmp32(e);
    }
    for (unsigned k = 0; k < nfound; k++)
        e_patch(e, found[k], e->p);
}

/* ret_stack[ret_top++ & (RET_STACK - 1)] = this block. */
static void emit_push_return_block(struct jit_ctx *c)
{
    struct emit *e = &c->e;
    e_op_mem(e, false, OP_MOV_LOAD, H_RCX, H_RBX, CPU_OFF(ret_top));
    e_op_mem(e, false, OP_LEA, H_RDX, H_RCX, 1);
    e_op_mem(e, false, OP_MOV_STORE, H_RDX, H_RBX, CPU_OFF(ret_top));
    e_alu_imm(e, false, 4, H_RCX, RET_STACK - 1);
    e_mov_imm(e, H_RDX, (uint64_t)(uintptr_t)c->b);
    e_rex(e, true, H_RDX, H_RCX, H_RBX, false);   /* mov [rbx + rcx*8 + ret_stack], rdx */
    e_byte(e, 0x89);
    e_byte(e, 0x84 | (H_RDX & 7) << 3);
    e_byte(e, 3 << 6 | (H_RCX & 7) << 3 | (H_RBX & 7));
    e_u32(e, (uint32_t)CPU_OFF(ret_stack));
}

void jit_emit_chain(struct jit_ctx *c)
{
    struct emit *e = &c->e;
    struct block *b = c->b;
    uint8_t *out[12];
    unsigned n = 0;
    /* Nothing pending (plain_run in execute.c). */
    e_op_mem(e, true, OP_MOV_LOAD, H_RAX, H_RBX, CPU_OFF(st));
    e_op_mem(e, true, OP_MOV_LOAD, H_RCX, H_RAX, ST_OFF(rflags));
    e_rex(e, false, 0, 0, H_RCX, false);
    e_byte(e, 0xf7);                              /* test ecx, TF | RF */
    e_byte(e, 0xc0 | (H_RCX & 7));
    e_u32(e, RFLAGS_TF | RFLAGS_RF);
    out[n++] = e_jcc32(e, CC_NE);
    out[n++] = jump_if_byte_set(e, H_RAX, ST_OFF(dr7));
    out[n++] = jump_if_byte_set(e, H_RBX, CPU_OFF(sti_shadow));
    out[n++] = jump_if_byte_set(e, H_RBX, CPU_OFF(poked));
    e_cmp_mem_imm8(e, false, H_RBX, CPU_OFF(irq_window), 0);
    uint8_t *no_window = e_jcc8(e, CC_E);
    e_rex(e, false, 0, 0, H_RCX, false);
    e_byte(e, 0xf7);                              /* test ecx, IF */
    e_byte(e, 0xc0 | (H_RCX & 7));
    e_u32(e, RFLAGS_IF);
    out[n++] = e_jcc32(e, CC_NE);
    e_patch8(e, no_window, e->p);
    /* No code marked or written since the links were trusted. */
    e_op_mem(e, true, OP_MOV_LOAD, H_RDX, H_RBX, CPU_OFF(track));
    e_op_mem(e, false, OP_MOV_LOAD, H_RSI, H_RDX, (int32_t)offsetof(struct code_track, mark_seq));
    e_op_mem(e, false, OP_CMP, H_RSI, H_RBX, CPU_OFF(mark_seq_seen));
    out[n++] = e_jcc32(e, CC_NE);
    e_op_mem(e, false, OP_MOV_LOAD, H_RSI, H_RDX, (int32_t)offsetof(struct code_track, write_seq));
    e_op_mem(e, false, OP_CMP, H_RSI, H_RBX, CPU_OFF(write_seq_seen));
    out[n++] = e_jcc32(e, CC_NE);
    /* Budget: a whole block must fit after this one. */
    e_op_mem(e, true, OP_MOV_LOAD, H_RSI, H_RBX, CPU_OFF(jit_left));
    e_alu_imm(e, true, 7, H_RSI, b->n + BLOCK_MAX_INSNS);   /* cmp rsi, n + 32 */
    out[n++] = e_jcc32(e, CC_B);
    e_alu_imm(e, true, 5, H_RSI, b->n);
    emit_next_rip(c);
    emit_link_lookup(c, &out[n++]);
    e_op_mem(e, true, OP_MOV_LOAD, H_R11, H_R10, (int32_t)offsetof(struct block, chain));
    e_op_rr(e, true, OP_TEST, H_R11, H_R11);
    out[n++] = e_jcc32(e, CC_E);
    /* Committed: the loop's bookkeeping, then into the successor. */
    e_op_mem(e, true, OP_MOV_STORE, H_RSI, H_RBX, CPU_OFF(jit_left));
    e_op_mem(e, true, 0x81, 0, H_RBX, CPU_OFF(retired));     /* add qword [retired], n */
    e_u32(e, b->n);
    e_op_mem(e, true, OP_MOV_STORE, H_RDI, H_RAX, ST_OFF(rip));
    if (b->exit == EXIT_CALL)
        emit_push_return_block(c);
    if (b->exit == EXIT_RET) {                    /* the loop pops the return stack after a RET */
        e_op_mem(e, false, 0x83, 5, H_RBX, CPU_OFF(ret_top));   /* sub dword [ret_top], 1 */
        e_byte(e, 1);
    }
    e_store_imm8(e, H_RBX, CPU_OFF(smc), 0);
    e_store_imm8(e, H_RBX, CPU_OFF(rip_set), 0);
    e_op_mem(e, true, OP_MOV_STORE, H_RDI, H_RBX, CPU_OFF(block_rip));
    e_op_mem(e, true, OP_MOV_STORE, H_R10, H_RBX, CPU_OFF(run_end));   /* any non-NULL bound */
    e_op_mem(e, true, OP_MOV_STORE, H_R10, H_RBX, CPU_OFF(jit_block));
    e_rex(e, false, 0, 0, H_R11, false);
    e_byte(e, 0xff);                              /* jmp r11 */
    e_byte(e, 0xe0 | (H_R11 & 7));
    for (unsigned k = 0; k < n; k++)
        e_patch(e, out[k], e->p);
}
