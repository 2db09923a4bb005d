/*
 * Decode-time specialised x87 handlers.  When a block is decoded, each x87
 * arithmetic/data instruction whose form x87_live.c can run gets a handler
 * of its own shape (register form, FCOMI-like, memory load, memory store)
 * with its host stub, FOP and operand size worked out once and kept in the
 * struct insn (sse_stub: stub index, imm2: FOP, imm: operand size).  At run
 * time the handler only checks that the state is live in the host FPU and
 * CR0.EM/TS are clear, finds a memory operand through the TLB, calls the
 * stub and records FOP/FIP/FDP.  Anything else (state not live, control
 * instructions, a TLB miss, MMIO, a page-crossing or faulting operand) goes
 * to op_x87, the general path, before any state has changed, so the
 * results are those of op_x87 by construction.
 */
#include "handlers.h"
#include "x87.h"

#define X87_CLOBBERS "memory", "cc", "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", "st(7)", \
                     "mm0", "mm1", "mm2", "mm3", "mm4", "mm5", "mm6", "mm7"

static ALWAYS_INLINE bool live_ready(const struct interp_cpu *cpu)
{
    return likely(cpu->x87_live) && !(cpu->st->cr0 & (CR0_EM | CR0_TS));
}

static ALWAYS_INLINE const uint8_t *stub_of(const struct insn *in)
{
    return petrel_x87_stubs + (size_t)in->sse_stub * 8u;
}

/* The stub below the red zone; its only operand is [rdi]. */
static ALWAYS_INLINE void run_stub(const uint8_t *stub, void *mem)
{
    __asm__ volatile("sub $128, %%rsp\n\t"
                     "call *%[stub]\n\t"
                     "add $128, %%rsp"
                     : : [stub] "r"(stub), "D"(mem) : X87_CLOBBERS);
}

/* FOP and FIP (FNSTENV/FXSAVE show them); FDP for memory forms. */
static ALWAYS_INLINE void note_pointers(struct interp_cpu *cpu, const struct insn *in)
{
    uint8_t *xs = cpu->st->xsave;
    store_le(xs + X87_FOP, 2, in->imm2);
    store_le(xs + X87_FIP, 8, (insn_next_rip(cpu, in) - in->len) & cpu->ip_mask);
}

/* Host address of the operand when the TLB holds its page for this access
 * and the operand lies within it (the fast path of lin_read/lin_write). */
static ALWAYS_INLINE uint8_t *tlb_host(struct interp_cpu *cpu, const struct insn *in, uint64_t ea, unsigned size,
                                       bool write)
{
    const struct seg_cache *s = &cpu->seg[in->seg];
    if (ea < s->lo || ea + size - 1 > s->hi || !(write ? s->wr : s->rd))
        return NULL;
    uint64_t lin = (s->base + ea) & cpu->lin_mask;
    const struct tlb_entry *e = &cpu->tlb[(lin >> 12) & (TLB_SIZE - 1)];
    if ((write ? e->tag_write : e->tag_read) != (lin & ~UINT64_C(0xfff)) || (lin & 0xfff) + size > 4096)
        return NULL;
    return (uint8_t *)(lin + e->addend);
}

static int x87_sp_reg(struct interp_cpu *cpu, const struct insn *in)
{
    if (unlikely(!live_ready(cpu)))
        return op_x87(cpu, in);
    run_stub(stub_of(in), NULL);
    note_pointers(cpu, in);
    return X_NEXT;
}

/* FCOMI, FUCOMI (+P): ZF PF CF from the host, OF SF AF cleared.  Every
 * arithmetic flag is written, so the lazy flags are simply dropped. */
static int x87_sp_comi(struct interp_cpu *cpu, const struct insn *in)
{
    if (unlikely(!live_ready(cpu)))
        return op_x87(cpu, in);
    uint64_t fl;
    __asm__ volatile("sub $128, %%rsp\n\t"
                     "call *%[stub]\n\t"
                     "pushfq\n\t"
                     "popq %[fl]\n\t"
                     "add $128, %%rsp"
                     : [fl] "=&r"(fl) : [stub] "r"(stub_of(in)) : X87_CLOBBERS);
    struct cpu_state *st = cpu->st;
    st->rflags = (st->rflags & ~(uint64_t)FLAGS_ARITH) | (fl & (RFLAGS_CF | RFLAGS_ZF | RFLAGS_PF));
    cpu->lf.op = LF_NONE;
    note_pointers(cpu, in);
    return X_NEXT;
}

static ALWAYS_INLINE int x87_sp_mem(struct interp_cpu *cpu, const struct insn *in, bool write)
{
    if (unlikely(!live_ready(cpu)))
        return op_x87(cpu, in);
    uint64_t ea = insn_ea(cpu, in);
    uint8_t *host = tlb_host(cpu, in, ea, (unsigned)in->imm, write);
    if (unlikely(!host))
        return op_x87(cpu, in);
    run_stub(stub_of(in), host);
    note_pointers(cpu, in);
    store_le(cpu->st->xsave + X87_FDP, 8, ea);
    return X_NEXT;
}

static int x87_sp_load(struct interp_cpu *cpu, const struct insn *in) { return x87_sp_mem(cpu, in, false); }
static int x87_sp_store(struct interp_cpu *cpu, const struct insn *in) { return x87_sp_mem(cpu, in, true); }

void x87_specialize(struct insn *in)
{
    unsigned esc = in->opc & 7u, modrm, size = 0;
    bool store = false;
    if (!x87_live_form(in, &esc, &modrm, &size, &store))
        return;
    in->sse_stub = (uint16_t)(esc * 256u + modrm);
    in->imm2 = (uint16_t)((((in->opc & 7u) << 8) | modrm) & 0x7ffu);
    in->imm = size;
    if (!in->mod3)
        in->fn = store ? x87_sp_store : x87_sp_load;
    else if ((esc == 3 || esc == 7) && modrm >= 0xe8 && modrm < 0xf8)
        in->fn = x87_sp_comi;
    else if (!((esc == 2 || esc == 3) && modrm < 0xe0))         /* FCMOVcc keeps the general path */
        in->fn = x87_sp_reg;
}
