/*
 * What jit.c and jit_ops.c share while compiling one block.
 */
#ifndef PETREL_CPU_INTERP_JIT_EMIT_H
#define PETREL_CPU_INTERP_JIT_EMIT_H

#include "jit.h"
#include "x86_emit.h"

struct jit_ctx {
    struct interp_cpu *cpu;
    struct block *b;
    struct emit e;
    const uint8_t *exit;      /* the buffer's exit stub: EAX = exec_result, EDX = index */
    uint8_t known_op;         /* lazy op the last flag writer left (enum lazy_op), LF_NONE: unknown */
    uint8_t known_size;
};

/* Emits instruction i as host code; false: the caller emits a handler call. */
bool jit_emit_native(struct jit_ctx *c, unsigned i);
/* Calls instruction i's handler and leaves on anything but X_NEXT (and
 * after a write to code). */
void jit_call_handler(struct jit_ctx *c, unsigned i);

/* At a block's end (ran through): go on into the compiled successor
 * when the C loop would do nothing else first, else leave with X_NEXT
 * (jit_chain.c).  The stub that does it is emitted once per buffer. */
void jit_emit_chain(struct jit_ctx *c);
void jit_emit_chain_stub(struct emit *e, const uint8_t *exit);

/* Guest register g in the gpr array (R12). */
#define GREG(g) ((int32_t)(8 * (g)))

#endif /* PETREL_CPU_INTERP_JIT_EMIT_H */
