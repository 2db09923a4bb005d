/*
 * The execution loop: fetch a decoded block for RIP, run its instructions
 * through their handlers, deliver exceptions, and stop on HLT, a poke, the
 * instruction budget or a triple fault.  No allocation and no locks here.
 */
#include <stdio.h>

#include <vmm/err.h>

#include "interp_internal.h"
#include "jit.h"
#include "sse.h"
#include "x87.h"

uint64_t guest_tsc(const struct interp_cpu *cpu);

/* Runs at most max instructions of block *bp; returns the exec_result that
 * stopped it (X_NEXT if it ran to its end) and counts retired ones.
 * st->rip is only written when the block stops: instructions find their own
 * address from the block's start and their end offset (insn_next_rip), and
 * a control transfer, which only a block's last instruction makes, leaves
 * its target with set_next_rip.  So no RIP dependency runs from one
 * instruction to the next through memory.  exact: a run that stops before
 * the block's end uses the flag-writing handlers block_prune_flags()
 * replaced, so that the flags are right where it stops.
 *
 * A compiled block may go on into compiled successors itself while
 * chain_left allows (jit.h): then *bp becomes the block it stopped in,
 * *chained counts the instructions of those before it (already added to
 * cpu->retired), and *retired those of *bp. */
static ALWAYS_INLINE int run_block(struct interp_cpu *cpu, struct block **bp, unsigned max, unsigned *retired,
                                   bool exact, uint64_t chain_left, uint64_t *chained)
{
    struct cpu_state *st = cpu->st;
    struct block *b = *bp;
    const struct insn *in = b->insn;
    uint64_t rip0 = st->rip, mask = cpu->ip_mask;   /* RIP wraps as the block's code size says */
    int r = X_NEXT;
    cpu->smc = false;
    cpu->block_rip = rip0;
    cpu->rip_set = false;
    cpu->run_end = in + max;                      /* a write to code clears it: stop after this one */
    *chained = 0;
    if (!b->code && max == b->n && ++b->hits == cpu->jit_hot && cpu->jit_hot)
        jit_compile(cpu, b);                      /* hot: compiled from now on (jit.h) */
    if (b->code && max == b->n && !exact) {       /* compiled: the same instructions, the same end */
        cpu->jit_block = b;
        cpu->jit_left = chain_left;
        uint64_t out = b->code(cpu);
        *chained = chain_left - cpu->jit_left;
        *bp = b = cpu->jit_block;
        rip0 = cpu->block_rip;
        r = (int)(uint32_t)out;
        in = b->insn + (out >> 32);
    } else {
        while (in < cpu->run_end) {
            r = exact ? insn_flags_exact(in->fn)(cpu, in) : in->fn(cpu, in);
            if (unlikely(r != X_NEXT))
                break;
            in++;
        }
    }
    unsigned n = (unsigned)(in - b->insn);
    switch (r) {
    case X_NEXT:
        if (n)
            st->rip = cpu->rip_set ? cpu->next_rip : (rip0 + in[-1].end) & mask;
        break;
    case X_END: case X_HALT:
        st->rip = cpu->rip_set ? cpu->next_rip : (rip0 + in->end) & mask;
        n++;
        break;
    case X_DELIVERED:                             /* INT n retired; RIP is the handler's */
        n++;
        break;
    default:                                      /* a fault: RIP stays at the instruction */
        st->rip = (rip0 + in->end - in->len) & mask;
        break;
    }
    *retired = n;
    return r;
}

/* The block at RIP: the chained successor of prev when linked, else
 * through the caches (and linked for next time). */
static ALWAYS_INLINE struct block *next_block(struct interp_cpu *cpu, struct block *prev)
{
    uint64_t lin = (cpu->seg[SEG_CS].base + cpu->st->rip) & cpu->lin_mask;
    struct block *b;
    struct block *caller = NULL;                  /* a RET: its caller's fall-through link */
    if (unlikely(__atomic_load_n(&cpu->track->mark_seq, __ATOMIC_RELAXED) != cpu->mark_seq_seen))
        code_marks_resync(cpu);                   /* pages became code: fast writes go (before write_seq) */
    uint32_t writes = __atomic_load_n(&cpu->track->write_seq, __ATOMIC_ACQUIRE);
    if (unlikely(writes != cpu->write_seq_seen)) {  /* code changed (maybe by another vCPU) */
        cpu->write_seq_seen = writes;
        chain_invalidate(cpu);
    }
    if (likely(prev)) {
        if (prev->exit == EXIT_RET)
            caller = cpu->ret_stack[--cpu->ret_top & (RET_STACK - 1)];
        if ((b = block_chained(cpu, prev, lin)))
            return b;
        if (caller && (b = block_chained(cpu, caller, lin)))
            return b;
    }
    uint64_t flushes = cpu->arena_flushes;
    b = block_fetch(cpu);
    if (cpu->arena_flushes != flushes)
        return b;                                 /* prev and caller died with the arena */
    if (b && prev)
        block_link(cpu, prev, b, lin);
    if (b && caller && lin == caller->lin + caller->bytes)
        block_link(cpu, caller, b, lin);
    return b;
}

static void finish(struct interp_cpu *cpu)
{
    struct cpu_state *st = cpu->st;
    x87_live_flush(cpu);                          /* the x87 state and MXCSR back from the host */
    sse_mxcsr_flush(cpu);
    st->rflags = flags_get(cpu) | RFLAGS_FIXED;
    cpu->lf.op = LF_NONE;
    st->msr.tsc = guest_tsc(cpu);
    st->events.interrupt_shadow = cpu->sti_shadow;
}

/* Nothing but the next block to run: no poke, no interrupt window, no
 * single-step or breakpoints, no STI/MOV SS shadow, no RF to clear.  The
 * loop then skips the per-instruction bookkeeping those need. */
static ALWAYS_INLINE bool plain_run(const struct interp_cpu *cpu, const struct cpu_state *st)
{
    uint64_t f = st->rflags;
    bool irq = cpu->irq_window & !!(f & RFLAGS_IF);   /* with IF clear the window stays shut */
    return !((f & (RFLAGS_TF | RFLAGS_RF)) | (st->dr7 & 0xff) | cpu->sti_shadow | irq |
             atomic_load_explicit(&cpu->poked, memory_order_relaxed));
}

/* Block b ran to its end: it is the next one's predecessor. */
static ALWAYS_INLINE void block_done(struct interp_cpu *cpu, struct block *b)
{
    if (b->exit == EXIT_CALL)
        cpu->ret_stack[cpu->ret_top++ & (RET_STACK - 1)] = b;
}

/* X_STOP: run_checked found a reason to return to the caller first. */
#define X_STOP (-1)

/* One block (or one instruction when single-stepping) with every check the
 * fast path in interp_execute skips: poke, interrupt window, debug traps,
 * the STI/MOV SS shadow and RF.  *prev is updated; returns the exec_result,
 * or X_STOP before running anything. */
static int run_checked(struct interp_cpu *cpu, struct block **prev, uint64_t *budget, uint64_t start)
{
    struct cpu_state *st = cpu->st;
    if (atomic_load_explicit(&cpu->poked, memory_order_relaxed)) {
        atomic_store(&cpu->poked, false);
        return X_STOP;
    }
    if (unlikely(cpu->irq_window) && (st->rflags & RFLAGS_IF) && !cpu->sti_shadow && cpu->retired != start)
        return X_STOP;                            /* an interrupt waits and can be taken now */
    bool dbg = debug_active(cpu), tf = st->rflags & RFLAGS_TF;
    bool shadow = cpu->sti_shadow;
    bool rf = st->rflags & RFLAGS_RF;
    int r = X_NEXT;
    unsigned done = 0;
    if (unlikely(dbg)) {                          /* one instruction per step */
        debug_step_begin(cpu);
        r = debug_insn_breakpoint(cpu);
    }
    if (r == X_NEXT) {
        struct block *b = dbg ? block_fetch(cpu) : next_block(cpu, *prev);
        *prev = NULL;
        if (!b) {
            r = X_FAULT;
        } else {
            unsigned max = dbg ? 1 : b->n < *budget ? b->n : (unsigned)*budget;
            uint64_t chained;
            r = run_block(cpu, &b, max, &done, max < b->n, 0, &chained);
            if ((r == X_NEXT || r == X_END) && done == b->n && !dbg) {
                *prev = b;
                block_done(cpu, b);
            }
        }
    }
    *budget -= done;
    cpu->retired += done;
    if (shadow && done)
        cpu->sti_shadow = false;
    if (rf && done && r != X_END)                /* RF clears once an instruction completes */
        st->rflags &= ~(uint64_t)RFLAGS_RF;
    if (unlikely(dbg))
        r = debug_step_end(cpu, r, tf, done);
    return r;
}

int interp_execute(struct interp_cpu *cpu, uint64_t max_instructions)
{
    struct cpu_state *st = cpu->st;
    uint64_t budget = max_instructions ? max_instructions : UINT64_MAX;
    int rc = VINF_SUCCESS;
    struct block *prev = NULL;                    /* the block just run to its end */
    uint64_t start = cpu->retired;

    if (st->run_state == CPU_HALTED)
        return VINF_EM_HALT;
    guest_profile_enter(cpu);
    while (budget) {
        int r;
        if (likely(prev && budget >= BLOCK_MAX_INSNS && plain_run(cpu, st))) {
            struct block *b = next_block(cpu, prev);
            unsigned done = 0;
            uint64_t chained = 0;
            prev = NULL;
            r = b ? run_block(cpu, &b, b->n, &done, false, budget, &chained) : X_FAULT;
            budget -= chained + done;
            cpu->retired += done;
            if (likely(b && (r == X_NEXT || r == X_END) && done == b->n)) {
                prev = b;
                block_done(cpu, b);
                continue;
            }
        } else if ((r = run_checked(cpu, &prev, &budget, start)) == X_STOP) {
            break;
        }
        if (r == X_FAULT) {
            r = deliver_pending_exception(cpu);
            if (budget)
                budget--;              /* exception storms must not outlive the budget */
        }
        if (r == X_TRIPLE) {
            rc = VINF_EM_TRIPLE_FAULT;
            break;
        }
        if (r == X_HALT || r == X_FREEZE) {
            st->run_state = CPU_HALTED;
            rc = VINF_EM_HALT;
            break;
        }
    }
    guest_profile_leave();
    finish(cpu);
    return rc;
}

void interp_request_irq_window(struct interp_cpu *cpu, bool on)
{
    cpu->irq_window = on;
}

void interp_poke(struct interp_cpu *cpu)
{
    atomic_store(&cpu->poked, true);
}

void interp_tsc_adjust(struct interp_cpu *cpu, int64_t delta)
{
    cpu->tsc_offset += (uint64_t)delta;
}

bool interp_interrupts_enabled(const struct interp_cpu *cpu)
{
    return (cpu->st->rflags & RFLAGS_IF) && !cpu->sti_shadow;
}

bool interp_inject_interrupt(struct interp_cpu *cpu, uint8_t vector)
{
    struct cpu_state *st = cpu->st;
    if (!(st->rflags & RFLAGS_IF) || cpu->sti_shadow)
        return false;
    int r = deliver_event(cpu, vector, EV_EXT_INT, false, 0, st->rip);
    st->run_state = CPU_RUNNABLE;
    finish(cpu);
    return r == X_DELIVERED;
}

const char *interp_last_error(const struct interp_cpu *cpu)
{
    return cpu->error[0] ? cpu->error : "no error";
}

uint64_t interp_instructions_retired(const struct interp_cpu *cpu)
{
    return cpu->retired;
}
