/*
 * The block compiler: hot decoded blocks of 64-bit code become host code.
 *
 * A compiled block does what run_block() does with the same decoded
 * instructions: the frequent simple ones (register moves and ALU
 * operations, loads and stores that hit the TLB, PUSH/POP) are emitted as
 * host instructions over the vCPU's state in memory, every other one as a
 * call of its handler.  Guest state lives in struct interp_cpu / cpu_state
 * between any two instructions exactly as the interpreter keeps it (lazy
 * flags included), so a fault, a handler or the C loop can take over at
 * any instruction boundary.  docs/interpreter.md ("Compiled blocks").
 */
#ifndef PETREL_CPU_INTERP_JIT_H
#define PETREL_CPU_INTERP_JIT_H

#include "interp_internal.h"

/* What the compiler may emit for an instruction instead of calling its
 * handler.  The fastpath files, which own the specialised handlers,
 * describe them (fastpath_jit_desc and friends). */
enum jit_kind {
    JK_CALL = 0,      /* call the handler */
    JK_MOV_RR,        /* dst = src (size 4 zero-extends) */
    JK_MOV_RI,        /* dst = imm */
    JK_ALU_RR,        /* dst op= src (ADC/SBB only where the carry-in is known) */
    JK_ALU_RI,        /* dst op= imm */
    JK_ALU_RM,        /* dst op= [mem] */
    JK_TEST_RR,
    JK_TEST_RI,
    JK_LOAD,          /* reg = [mem] (64-bit address: base + index*scale + disp, or RIP + disp) */
    JK_STORE,         /* [mem] = reg */
    JK_LEA,           /* 64-bit address size */
    JK_MOVX_R,        /* MOVZX/MOVSX from a register; op bit 0: 16-bit source, bit 1: signed */
    JK_MOVX_M,        /* the same from memory */
    JK_MOVSXD,
    JK_PUSH, JK_POP,  /* 64-bit register */
    JK_SHIFT_I,       /* op: 4 SHL, 5 SHR, 7 SAR; count from the insn */
    JK_IMUL_RR, JK_IMUL_RRI, JK_MUL_R,
    JK_INCDEC,        /* op 0 INC, 1 DEC, register (needs the CF it keeps) */
    JK_ROT_NF,        /* op 0 ROL, 1 ROR by an immediate, its flags dead (fastpath.c's twins) */
    JK_JMP,           /* JMP rel (64-bit code) */
    JK_JCC,           /* op = condition; ends the block */
    JK_SETCC,         /* dst = byte register (reg8 numbering) */
    JK_CMOV,
    JK_ALU_MR,        /* [mem] op= reg (ADD/OR/AND/SUB/XOR/CMP; general handler) */
    JK_ALU_MI,        /* [mem] op= imm */
    JK_TEST_MR,       /* TEST [mem], reg */
    JK_TEST_MI,       /* TEST [mem], imm */
    JK_STORE_I,       /* [mem] = imm, size 1/2/4/8 */
    JK_STORE_R,       /* [mem] = reg, size 1/2 (byte registers without AH..BH) */
    JK_ALU_SMALL,     /* op (or TEST) on byte/word registers: dst op= src or imm (src 0xff) */
    JK_CALL_REL,      /* 64-bit near CALL rel32 */
    JK_RET,           /* 64-bit near RET */
};

/* The guest ALU operations in opcode order (ModRM.reg of group 1). */
enum { JOP_ADD, JOP_OR, JOP_ADC, JOP_SBB, JOP_AND, JOP_SUB, JOP_XOR, JOP_CMP };

struct jit_desc {
    uint8_t kind;     /* enum jit_kind */
    uint8_t op;       /* JOP_* or the shift's ModRM.reg */
    uint8_t size;     /* 4 or 8 */
    uint8_t dst, src; /* guest registers (src unused for immediates) */
    bool    flags;    /* records the lazy flags as the handler does */
};

bool fastpath_jit_desc(const struct insn *in, struct jit_desc *d);       /* fastpath.c */
bool fastpath_mem_jit_desc(const struct insn *in, struct jit_desc *d);   /* fastpath_mem.c */
bool fastpath_stack_jit_desc(const struct insn *in, struct jit_desc *d); /* fastpath_stack.c */
bool fastpath_cond_jit_desc(const struct insn *in, struct jit_desc *d);  /* fastpath_cond.c */

/* Compiled code: returns (index of the instruction it stopped at << 32) |
 * exec_result, as run_block's loop ends (index n with X_NEXT: ran through). */
typedef uint64_t (*compiled_fn)(struct interp_cpu *cpu);

/* Executions of a block before it is compiled (PETREL_JIT_HOT overrides;
 * PETREL_JIT=0 turns the compiler off). */
#define JIT_HOT_DEFAULT 8
#define JIT_BUFFER_SIZE (2u << 20)

/* Compiles b into the vCPU's code buffer; false (b stays interpreted) when
 * the buffer is full or the block is not 64-bit code. */
bool jit_compile(struct interp_cpu *cpu, struct block *b);
/* Empties the code buffer (with the block arena: every compiled block died). */
void jit_reset(struct interp_cpu *cpu);
void jit_init(struct interp_cpu *cpu);
/* Drops every compiled block (the decoded blocks stay), for an idle vCPU. */
void jit_forget(struct interp_cpu *cpu);
/* Gives the pages of the code buffer above the code in use back to the host. */
void jit_release_idle(struct interp_cpu *cpu);
void jit_destroy(struct interp_cpu *cpu);

#endif /* PETREL_CPU_INTERP_JIT_H */
