/*
 * The CPU mode as the fast paths need it: code size, CPL, paging mode and
 * the per-segment caches, recomputed from cpu_state whenever something that
 * affects them changes (CR0/CR4/EFER, CS/SS loads, IRET, set_state).
 */
#include "interp_internal.h"

/* Block links assume the code mode and, outside 64-bit mode, the CS base
 * and limit they were made under (the CS limit check they skip): drop them
 * when those change, not on every CS reload (interrupts, IRET, SYSCALL). */
static void chain_cs_changed(struct interp_cpu *cpu, const struct seg_reg *cs)
{
    uint64_t base = cpu->long64 ? 0 : cs->base;
    uint32_t limit = cpu->long64 ? 0 : cs->limit;
    if (cpu->chain_mode != cpu->mode || cpu->chain_cs_base != base || cpu->chain_cs_limit != limit) {
        cpu->chain_mode = cpu->mode;
        cpu->chain_cs_base = base;
        cpu->chain_cs_limit = limit;
        chain_invalidate(cpu);
    }
}

void seg_cache_refresh(struct interp_cpu *cpu, unsigned seg)
{
    const struct seg_reg *s = &cpu->st->seg[seg];
    struct seg_cache *c = &cpu->seg[seg];
    if (seg == SEG_CS)
        chain_cs_changed(cpu, s);
    if (cpu->long64) {
        c->base = (seg == SEG_FS || seg == SEG_GS) ? s->base : 0;
        c->lo = 0;
        c->hi = ~UINT64_C(0);
        c->rd = c->wr = 1;
        return;
    }
    c->base = (uint32_t)s->base;
    if (!cpu->protected_mode) {                 /* real mode and VM86: no type checks */
        c->lo = 0;
        c->hi = s->limit;
        c->rd = c->wr = 1;
        return;
    }
    if ((s->attr & SEG_ATTR_UNUSABLE) || !(s->attr & SEG_ATTR_P)) {
        c->lo = 1;
        c->hi = 0;
        c->rd = c->wr = 0;
        return;
    }
    unsigned type = s->attr & SEG_ATTR_TYPE_MASK;
    bool code = type & 8;
    c->rd = !code || (type & 2);
    c->wr = !code && (type & 2);
    if (!code && (type & 4)) {                  /* expand-down */
        c->lo = (uint64_t)s->limit + 1;
        c->hi = (s->attr & SEG_ATTR_DB) ? 0xffffffffu : 0xffffu;
    } else {
        c->lo = 0;
        c->hi = s->limit;
    }
}

void mode_refresh(struct interp_cpu *cpu)
{
    struct cpu_state *st = cpu->st;
    enum paging_mode old_pg = cpu->paging;
    bool vm86 = st->rflags & RFLAGS_VM;

    cpu->protected_mode = (st->cr0 & CR0_PE) && !vm86;
    cpu->long64 = (st->efer & EFER_LMA) && (st->seg[SEG_CS].attr & SEG_ATTR_L);
    if (cpu->long64)
        cpu->mode = MODE_64;
    else if (cpu->protected_mode && (st->seg[SEG_CS].attr & SEG_ATTR_DB))
        cpu->mode = MODE_32;
    else
        cpu->mode = MODE_16;
    cpu->ip_mask = cpu->mode == MODE_64 ? ~UINT64_C(0) : cpu->mode == MODE_32 ? 0xffffffffu : 0xffffu;
    if (!(st->cr0 & CR0_PE))
        cpu->cpl = 0;
    else if (vm86)
        cpu->cpl = 3;
    else
        cpu->cpl = (st->seg[SEG_SS].attr & SEG_ATTR_DPL_MASK) >> SEG_ATTR_DPL_SHIFT;
    if (!(st->cr0 & CR0_PG))
        cpu->paging = PG_NONE;
    else if (st->efer & EFER_LMA)
        cpu->paging = PG_LONG;
    else if (st->cr4 & CR4_PAE)
        cpu->paging = PG_PAE;
    else
        cpu->paging = PG_32;
    cpu->lin_mask = cpu->long64 ? ~UINT64_C(0) : 0xffffffffu;
    for (unsigned i = 0; i < 6; i++)
        seg_cache_refresh(cpu, i);
    if (old_pg != cpu->paging)
        tlb_flush(cpu);
    tlb_select(cpu);                            /* CPL 3 <-> 0-2: the other TLB, no flush */
    tlb_ac_check(cpu);                          /* (SYSCALL's mask, an IRET, a task switch) */
}
