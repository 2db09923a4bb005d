/*
 * Segment register loads: real-mode/VM86 (base = selector * 16) and
 * protected-mode descriptor loads with the type, privilege and presence
 * checks; far CS loads (same privilege) for JMP/CALL/RETF.
 */
#include <stdio.h>

#include "interp_internal.h"

int sys_access(struct interp_cpu *cpu, uint64_t lin, unsigned size, void *buf, bool write);

int desc_read(struct interp_cpu *cpu, uint16_t sel, uint64_t *desc, uint8_t vector)
{
    const struct cpu_state *st = cpu->st;
    uint64_t base, limit;
    if (sel & 4) {
        if (st->seg[SEG_LDTR].attr & SEG_ATTR_UNUSABLE)
            return raise_exc(cpu, vector, true, sel & 0xfffc);
        base = st->seg[SEG_LDTR].base;
        limit = st->seg[SEG_LDTR].limit;
    } else {
        base = st->gdtr.base;
        limit = st->gdtr.limit;
    }
    if ((uint64_t)(sel & 0xfff8) + 7 > limit)
        return raise_exc(cpu, vector, true, sel & 0xfffc);
    return sys_access(cpu, base + (sel & 0xfff8), 8, desc, false);
}

/* Fills a seg_reg from a descriptor (base, byte-granular limit, attributes). */
static void desc_to_seg(struct seg_reg *s, uint16_t sel, uint64_t d)
{
    s->selector = sel;
    s->base = ((d >> 16) & 0xffffff) | (((d >> 56) & 0xff) << 24);
    uint32_t limit = (uint32_t)((d & 0xffff) | (((d >> 48) & 0xf) << 16));
    if (d & (UINT64_C(1) << 55))
        limit = (limit << 12) | 0xfff;
    s->limit = limit;
    s->attr = (uint32_t)((d >> 40) & 0xf0ff);
}

/* Sets the accessed bit of a descriptor in memory (hardware does it on load). */
static int desc_set_accessed(struct interp_cpu *cpu, uint16_t sel, uint64_t *d)
{
    if (*d & (UINT64_C(1) << 40))
        return X_NEXT;
    *d |= UINT64_C(1) << 40;
    uint64_t base = (sel & 4) ? cpu->st->seg[SEG_LDTR].base : cpu->st->gdtr.base;
    uint8_t b = (uint8_t)(*d >> 40);
    return sys_access(cpu, base + (sel & 0xfff8) + 5, 1, &b, true);
}

static int seg_load_protected(struct interp_cpu *cpu, unsigned seg, uint16_t sel)
{
    struct seg_reg *s = &cpu->st->seg[seg];
    unsigned rpl = sel & 3, cpl = cpu->cpl;
    if ((sel & 0xfffc) == 0) {
        if (seg == SEG_SS && (!cpu->long64 || cpl == 3 || rpl != cpl))
            return raise_gp(cpu, 0);
        s->selector = sel;
        s->attr = SEG_ATTR_UNUSABLE;
        if (!cpu->long64)
            s->base = 0;
        return X_NEXT;
    }
    uint64_t d;
    int r = desc_read(cpu, sel, &d, EXC_GP);
    if (r)
        return r;
    unsigned type = (d >> 40) & 15, dpl = (d >> 45) & 3;
    bool sys = !((d >> 44) & 1), present = (d >> 47) & 1, code = type & 8;
    if (seg == SEG_SS) {
        if (sys || code || !(type & 2) || rpl != cpl || dpl != cpl)
            return raise_gp(cpu, sel & 0xfffc);
        if (!present)
            return raise_exc(cpu, EXC_SS, true, sel & 0xfffc);
    } else {
        if (sys || (code && !(type & 2)))
            return raise_gp(cpu, sel & 0xfffc);
        bool conforming_code = code && (type & 4);
        if (!conforming_code && (dpl < cpl || dpl < rpl))
            return raise_gp(cpu, sel & 0xfffc);
        if (!present)
            return raise_exc(cpu, EXC_NP, true, sel & 0xfffc);
    }
    if ((r = desc_set_accessed(cpu, sel, &d)))
        return r;
    desc_to_seg(s, sel, d);
    return X_NEXT;
}

int seg_load(struct interp_cpu *cpu, unsigned seg, uint16_t sel)
{
    struct seg_reg *s = &cpu->st->seg[seg];
    if (!cpu->protected_mode) {
        s->selector = sel;
        s->base = (uint64_t)sel << 4;
        if (cpu->st->rflags & RFLAGS_VM) {
            s->limit = 0xffff;
            s->attr = SEG_ATTR_P | SEG_ATTR_S | 3u | (3u << SEG_ATTR_DPL_SHIFT) | (seg == SEG_CS ? 8u : 0);
        }
    } else {
        int r = seg_load_protected(cpu, seg, sel);
        if (r)
            return r;
    }
    if (seg == SEG_SS || seg == SEG_CS)
        mode_refresh(cpu);
    else
        seg_cache_refresh(cpu, seg);
    return X_NEXT;
}

int load_cs_far(struct interp_cpu *cpu, uint16_t sel, uint64_t rip)
{
    struct seg_reg *cs = &cpu->st->seg[SEG_CS];
    if (!cpu->protected_mode) {
        if (rip > cs->limit)
            return raise_gp(cpu, 0);
        cs->selector = sel;
        cs->base = (uint64_t)sel << 4;
        set_next_rip(cpu, rip);
        mode_refresh(cpu);
        return X_NEXT;
    }
    if ((sel & 0xfffc) == 0)
        return raise_gp(cpu, 0);
    uint64_t d;
    int r = desc_read(cpu, sel, &d, EXC_GP);
    if (r)
        return r;
    unsigned type = (d >> 40) & 15, dpl = (d >> 45) & 3, cpl = cpu->cpl;
    if (!((d >> 44) & 1)) {
        snprintf(cpu->error, sizeof(cpu->error), "far transfer through a gate or TSS (selector %#x) is not implemented", sel);
        return raise_gp(cpu, sel & 0xfffc);
    }
    if (!(type & 8) || ((type & 4) ? dpl > cpl : ((sel & 3) > cpl || dpl != cpl)))
        return raise_gp(cpu, sel & 0xfffc);
    if (!((d >> 47) & 1))
        return raise_exc(cpu, EXC_NP, true, sel & 0xfffc);
    struct seg_reg tmp;
    desc_to_seg(&tmp, (uint16_t)((sel & 0xfffc) | cpl), d);
    bool to64 = (cpu->st->efer & EFER_LMA) && (tmp.attr & SEG_ATTR_L);
    if (!to64 && rip > tmp.limit)
        return raise_gp(cpu, 0);
    if ((r = desc_set_accessed(cpu, sel, &d)))
        return r;
    tmp.attr |= 1;
    *cs = tmp;
    set_next_rip(cpu, rip);
    mode_refresh(cpu);
    return X_NEXT;
}
