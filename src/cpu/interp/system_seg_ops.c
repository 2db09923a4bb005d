/*
 * Group 6 (0F 00): SLDT, STR, LLDT, LTR.  VERR/VERW are not implemented
 * yet (#UD).  System descriptors are 16 bytes in long mode.
 */
#include "interp_internal.h"

int sys_access(struct interp_cpu *cpu, uint64_t lin, unsigned size, void *buf, bool write);

static int store_selector(struct interp_cpu *cpu, const struct insn *in, uint16_t sel)
{
    if (in->mod3) {
        set_reg(cpu, in->rm, in->osz, sel);
        return X_NEXT;
    }
    return mem_write(cpu, in->seg, insn_ea(cpu, in), 2, sel);
}

/* LLDT/LTR: type_ok is a bitmask of acceptable descriptor types. */
static int load_system_seg(struct interp_cpu *cpu, const struct insn *in, unsigned seg, uint32_t type_ok)
{
    uint64_t v, d, hi = 0;
    int r;
    if (cpu->cpl)
        return raise_gp(cpu, 0);
    if ((r = op_rm_get(cpu, in, 2, &v, false)))
        return r;
    uint16_t sel = (uint16_t)v;
    struct seg_reg *s = &cpu->st->seg[seg];
    if ((sel & 0xfffc) == 0 && seg == SEG_LDTR) {
        s->selector = sel;
        s->attr = SEG_ATTR_UNUSABLE;
        return X_NEXT;
    }
    if ((sel & 0xfffc) == 0 || (sel & 4))
        return raise_gp(cpu, sel & 0xfffc);
    if ((r = desc_read(cpu, sel, &d, EXC_GP)))
        return r;
    unsigned type = (d >> 40) & 15;
    if (((d >> 44) & 1) || !((type_ok >> type) & 1))
        return raise_gp(cpu, sel & 0xfffc);
    if (!((d >> 47) & 1))
        return raise_exc(cpu, EXC_NP, true, sel & 0xfffc);
    if (cpu->long64 && (r = sys_access(cpu, cpu->st->gdtr.base + (sel & 0xfff8) + 8, 8, &hi, false)))
        return r;
    if (seg == SEG_TR) {                         /* mark the TSS busy */
        uint8_t b = (uint8_t)((d >> 40) | 2);
        if ((r = sys_access(cpu, cpu->st->gdtr.base + (sel & 0xfff8) + 5, 1, &b, true)))
            return r;
        d |= UINT64_C(2) << 40;
    }
    s->selector = sel;
    s->base = ((d >> 16) & 0xffffff) | (((d >> 56) & 0xff) << 24) | ((hi & 0xffffffff) << 32);
    uint32_t limit = (uint32_t)((d & 0xffff) | (((d >> 48) & 0xf) << 16));
    s->limit = (d & (UINT64_C(1) << 55)) ? (limit << 12) | 0xfff : limit;
    s->attr = (uint32_t)((d >> 40) & 0xf0ff);
    return X_NEXT;
}

int op_grp6(struct interp_cpu *cpu, const struct insn *in)
{
    if (!cpu->protected_mode)
        return raise_ud(cpu);
    switch (in->ext) {
    case 0: return store_selector(cpu, in, cpu->st->seg[SEG_LDTR].selector);
    case 1: return store_selector(cpu, in, cpu->st->seg[SEG_TR].selector);
    case 2: return load_system_seg(cpu, in, SEG_LDTR, 1u << 2);
    case 3: return load_system_seg(cpu, in, SEG_TR, (1u << 1) | (1u << 9));
    default: return raise_ud(cpu);
    }
}
