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
 * stack for a CALL or RET, the next block's run state) and jumps into the
 * successor's body; otherwise it leaves with X_NEXT as before.  The C side
 * learns where the chain stopped from cpu->jit_block (execute.c).
 *
 * All of that is one stub per code buffer that reads the block it comes
 * from (R8) at run time; a block's own code only loads R8 and jumps to it,
 * which keeps compiled blocks small (and the memory and cache they use).
 */
#include "jit_emit.h"

#define CPU_OFF(field) ((int32_t)offsetof(struct interp_cpu, field))
#define ST_OFF(field) ((int32_t)offsetof(struct cpu_state, field))
#define BLOCK_OFF(field) ((int32_t)offsetof(struct block, field))

/* Jumps (to patch) when byte [base + disp] is not zero. */
static uint8_t *jump_if_byte_set(struct emit *e, unsigned base, int32_t disp)
{
    e_cmp_mem8_imm8(e, base, disp, 0);
    return e_jcc32(e, CC_NE);
}

static void test_ecx_imm(struct emit *e, uint32_t mask)
{
    e_byte(e, 0xf7);                              /* test ecx, imm32 */
    e_byte(e, 0xc0 | (H_RCX & 7));
    e_u32(e, mask);
}

/* reg = [rbx + index*8 + ret_stack] (load) or the reverse (store). */
static void ret_stack_slot(struct emit *e, uint8_t op, unsigned reg, unsigned index)
{
    e_rex(e, true, reg, index, H_RBX, false);
    e_byte(e, op);
    e_byte(e, 0x84 | (reg & 7) << 3);
    e_byte(e, 3 << 6 | (index & 7) << 3 | (H_RBX & 7));
    e_u32(e, (uint32_t)CPU_OFF(ret_stack));
}

/* R10 = the block a link of the block at `base` gives for RDI (R9 holds
 * chain_gen); found[0..1] (to patch) are taken when one does. */
static void links_of(struct emit *e, unsigned base, uint8_t **found)
{
    for (unsigned k = 0; k < 2; k++) {
        int32_t link = BLOCK_OFF(link) + (int32_t)(k * sizeof(struct block_link));
        e_op_mem(e, true, OP_CMP, H_RDI, base, link + (int32_t)offsetof(struct block_link, lin));
        uint8_t *next = e_jcc8(e, CC_NE);
        e_op_mem(e, true, OP_CMP, H_R9, base, link + (int32_t)offsetof(struct block_link, gen));
        uint8_t *next2 = e_jcc8(e, CC_NE);
        e_op_mem(e, true, OP_MOV_LOAD, H_R10, base, link + (int32_t)offsetof(struct block_link, to));
        found[k] = e_jmp32(e);
        e_patch8(e, next, e->p);
        e_patch8(e, next2, e->p);
    }
}

/* The checks of plain_run() and next_block(); jumps to patch into out[]. */
static unsigned emit_nothing_pending(struct emit *e, uint8_t **out)
{
    unsigned n = 0;
    e_op_mem(e, true, OP_MOV_LOAD, H_RAX, H_RBX, CPU_OFF(st));
    e_op_mem(e, true, OP_MOV_LOAD, H_RCX, H_RAX, ST_OFF(rflags));
    test_ecx_imm(e, RFLAGS_TF | RFLAGS_RF);
    out[n++] = e_jcc32(e, CC_NE);
    out[n++] = jump_if_byte_set(e, H_RAX, ST_OFF(dr7));
    out[n++] = jump_if_byte_set(e, H_RBX, CPU_OFF(sti_shadow));
    out[n++] = jump_if_byte_set(e, H_RBX, CPU_OFF(poked));
    e_cmp_mem8_imm8(e, H_RBX, CPU_OFF(irq_window), 0);
    uint8_t *no_window = e_jcc8(e, CC_E);
    test_ecx_imm(e, RFLAGS_IF);
    out[n++] = e_jcc32(e, CC_NE);
    e_patch8(e, no_window, e->p);
    /* No page became code or was written since the links were trusted. */
    e_op_mem(e, true, OP_MOV_LOAD, H_RDX, H_RBX, CPU_OFF(track));
    e_op_mem(e, false, OP_MOV_LOAD, H_RSI, H_RDX, (int32_t)offsetof(struct code_track, mark_seq));
    e_op_mem(e, false, OP_CMP, H_RSI, H_RBX, CPU_OFF(mark_seq_seen));
    out[n++] = e_jcc32(e, CC_NE);
    e_op_mem(e, false, OP_MOV_LOAD, H_RSI, H_RDX, (int32_t)offsetof(struct code_track, write_seq));
    e_op_mem(e, false, OP_CMP, H_RSI, H_RBX, CPU_OFF(write_seq_seen));
    out[n++] = e_jcc32(e, CC_NE);
    return n;
}

/* RCX = the block's n; RSI = the budget after it, unless less than a whole
 * block would be left; RDI = the successor's RIP (next_rip if the last
 * instruction set it, else the fall-through: 64-bit code, CS base 0). */
static uint8_t *emit_budget_and_rip(struct emit *e)
{
    e_op_mem(e, false, OP_MOVZX16, H_RCX, H_R8, BLOCK_OFF(n));
    e_op_mem(e, true, OP_MOV_LOAD, H_RSI, H_RBX, CPU_OFF(jit_left));
    e_op_mem(e, true, OP_LEA, H_RDX, H_RCX, BLOCK_MAX_INSNS);
    e_op_rr(e, true, OP_CMP, H_RSI, H_RDX);
    uint8_t *short_budget = e_jcc32(e, CC_B);
    e_op_rr(e, true, OP_SUB, H_RSI, H_RCX);
    e_op_mem(e, true, OP_MOV_LOAD, H_RDI, H_RBX, CPU_OFF(block_rip));
    e_op_mem(e, false, OP_MOVZX16, H_RDX, H_R8, BLOCK_OFF(bytes));
    e_op_rr(e, true, OP_ADD, H_RDI, H_RDX);
    e_cmp_mem8_imm8(e, H_RBX, CPU_OFF(rip_set), 0);
    e_op_mem(e, true, 0x450f, H_RDI, H_RBX, CPU_OFF(next_rip));   /* cmovne rdi, [next_rip] */
    return short_budget;
}

/* The successor (R10) and its body (R11) are known: the loop's bookkeeping. */
static void emit_commit(struct emit *e)
{
    e_op_mem(e, true, OP_MOV_STORE, H_RSI, H_RBX, CPU_OFF(jit_left));
    e_op_mem(e, true, 0x01, H_RCX, H_RBX, CPU_OFF(retired));     /* add [retired], rcx */
    e_op_mem(e, true, OP_MOV_STORE, H_RDI, H_RAX, ST_OFF(rip));
    e_op_mem(e, false, OP_MOVZX8, H_RDX, H_R8, BLOCK_OFF(exit));
    e_alu_imm(e, false, 7, H_RDX, EXIT_CALL);
    uint8_t *not_call = e_jcc8(e, CC_NE);
    e_op_mem(e, false, OP_MOV_LOAD, H_RCX, H_RBX, CPU_OFF(ret_top));   /* push this block */
    e_op_mem(e, false, OP_LEA, H_RDX, H_RCX, 1);
    e_op_mem(e, false, OP_MOV_STORE, H_RDX, H_RBX, CPU_OFF(ret_top));
    e_alu_imm(e, false, 4, H_RCX, RET_STACK - 1);
    ret_stack_slot(e, OP_MOV_STORE, H_R8, H_RCX);
    uint8_t *done = e_jmp8(e);
    e_patch8(e, not_call, e->p);
    e_alu_imm(e, false, 7, H_RDX, EXIT_RET);
    uint8_t *not_ret = e_jcc8(e, CC_NE);
    e_op_mem(e, false, 0x83, 5, H_RBX, CPU_OFF(ret_top));   /* sub dword [ret_top], 1: popped */
    e_byte(e, 1);
    e_patch8(e, not_ret, e->p);
    e_patch8(e, done, e->p);
    e_store_imm8(e, H_RBX, CPU_OFF(smc), 0);
    e_store_imm8(e, H_RBX, CPU_OFF(rip_set), 0);
    e_op_mem(e, true, OP_MOV_STORE, H_RDI, H_RBX, CPU_OFF(block_rip));
    e_op_mem(e, true, OP_MOV_STORE, H_R10, H_RBX, CPU_OFF(run_end));   /* any non-NULL bound */
    e_op_mem(e, true, OP_MOV_STORE, H_R10, H_RBX, CPU_OFF(jit_block));
    e_rex(e, false, 0, 0, H_R11, false);
    e_byte(e, 0xff);                              /* jmp r11 */
    e_byte(e, 0xe0 | (H_R11 & 7));
}

void jit_emit_chain_stub(struct emit *e, const uint8_t *exit)
{
    uint8_t *out[16], *found[4];
    unsigned n = emit_nothing_pending(e, out);
    out[n++] = emit_budget_and_rip(e);
    e_op_mem(e, true, OP_MOV_LOAD, H_R9, H_RBX, CPU_OFF(chain_gen));
    links_of(e, H_R8, found);
    e_cmp_mem8_imm8(e, H_R8, BLOCK_OFF(exit), EXIT_RET);
    out[n++] = e_jcc32(e, CC_NE);
    e_op_mem(e, false, OP_MOV_LOAD, H_RDX, H_RBX, CPU_OFF(ret_top));   /* the caller: top of the return stack */
    e_alu_imm(e, false, 5, H_RDX, 1);
    e_alu_imm(e, false, 4, H_RDX, RET_STACK - 1);
    ret_stack_slot(e, OP_MOV_LOAD, H_R11, H_RDX);
    e_op_rr(e, true, OP_TEST, H_R11, H_R11);
    out[n++] = e_jcc32(e, CC_E);
    links_of(e, H_R11, found + 2);
    out[n++] = e_jmp32(e);
    for (unsigned k = 0; k < 4; k++)
        e_patch(e, found[k], e->p);
    e_op_mem(e, true, OP_MOV_LOAD, H_R11, H_R10, BLOCK_OFF(chain));
    e_op_rr(e, true, OP_TEST, H_R11, H_R11);
    out[n++] = e_jcc32(e, CC_E);
    emit_commit(e);
    for (unsigned k = 0; k < n; k++)              /* no chain: X_NEXT at the block's end */
        e_patch(e, out[k], e->p);
    e_op_rr(e, false, OP_XOR, H_RAX, H_RAX);
    e_op_mem(e, false, OP_MOVZX16, H_RDX, H_R8, BLOCK_OFF(n));
    uint8_t *j = e_jmp32(e);
    e_patch(e, j, exit);
}

void jit_emit_chain(struct jit_ctx *c)
{
    e_mov_imm(&c->e, H_R8, (uint64_t)(uintptr_t)c->b);
    uint8_t *j = e_jmp32(&c->e);
    e_patch(&c->e, j, c->cpu->jit_chain_stub);
}
