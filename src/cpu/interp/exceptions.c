/*
 * Event delivery: exceptions, software interrupts (INT n/INT3/INTO) and
 * external interrupts, through the real-mode IVT, the 32-bit IDT
 * (interrupt/trap gates, same or more privileged level with the TSS stack)
 * or the 64-bit IDT (with IST); from VM86 to ring 0 with the VM86 segment
 * registers in the frame.  A fault during delivery becomes #DF or is
 * delivered serially, per the SDM's benign/contributory table; a fault while
 * delivering #DF is a triple fault.
 */
#include <stdio.h>

#include "interp_internal.h"

int sys_access(struct interp_cpu *cpu, uint64_t lin, unsigned size, void *buf, bool write);

static int sys_read(struct interp_cpu *cpu, uint64_t lin, unsigned size, uint64_t *v)
{
    *v = 0;
    return sys_access(cpu, lin, size, v, false);
}

/* Writes n values of `size` bytes below sp (first value highest). */
static int push_frame(struct interp_cpu *cpu, uint64_t ss_base, uint64_t *sp, uint64_t sp_mask,
                      unsigned size, const uint64_t *vals, unsigned n)
{
    uint64_t p = *sp;
    for (unsigned i = 0; i < n; i++) {
        p = (p - size) & sp_mask;
        uint64_t v = vals[i];
        int r = sys_access(cpu, (ss_base + p) & cpu->lin_mask, size, &v, true);
        if (r)
            return r;
    }
    *sp = p;
    return X_NEXT;
}

static uint64_t flags_for_handler(struct interp_cpu *cpu, bool clear_if)
{
    uint64_t f = cpu->st->rflags & ~(uint64_t)(RFLAGS_TF | RFLAGS_NT | RFLAGS_RF | RFLAGS_VM | RFLAGS_AC);
    return clear_if ? f & ~(uint64_t)RFLAGS_IF : f;
}

static int deliver_real(struct interp_cpu *cpu, uint8_t vec, uint64_t ret_rip)
{
    struct cpu_state *st = cpu->st;
    uint64_t ent;
    if ((uint32_t)vec * 4 + 3 > st->idtr.limit)
        return raise_gp(cpu, 0);
    int r = sys_read(cpu, st->idtr.base + (uint64_t)vec * 4, 4, &ent);
    if (r)
        return r;
    unsigned ss = stack_addr_size(cpu);
    uint64_t sp = st->gpr[GPR_RSP];
    uint64_t vals[3] = { st->rflags & 0xffff, st->seg[SEG_CS].selector, ret_rip & 0xffff };
    if ((r = push_frame(cpu, st->seg[SEG_SS].base, &sp, size_mask(ss), 2, vals, 3)))
        return r;
    set_reg(cpu, GPR_RSP, ss, sp);
    st->rflags = flags_for_handler(cpu, true);
    st->seg[SEG_CS].selector = (uint16_t)(ent >> 16);
    st->seg[SEG_CS].base = (ent >> 16) << 4;
    st->rip = ent & 0xffff;
    mode_refresh(cpu);
    return X_DELIVERED;
}

struct gate {
    unsigned type, dpl;
    uint16_t sel;
    uint64_t off;
    unsigned ist;
};

static int read_gate(struct interp_cpu *cpu, uint8_t vec, enum event_kind kind, struct gate *g)
{
    const struct cpu_state *st = cpu->st;
    bool lm = st->efer & EFER_LMA;
    unsigned esz = lm ? 16 : 8;
    uint32_t ecode = vec * 8u + 2 + (kind != EV_SOFT_INT);
    uint64_t lo, hi = 0;
    if ((uint32_t)vec * esz + esz - 1 > st->idtr.limit)
        return raise_gp(cpu, ecode);
    int r = sys_read(cpu, st->idtr.base + (uint64_t)vec * esz, 8, &lo);
    if (!r && lm)
        r = sys_read(cpu, st->idtr.base + (uint64_t)vec * esz + 8, 8, &hi);
    if (r)
        return r;
    g->type = (lo >> 40) & 0x1f;
    g->dpl = (lo >> 45) & 3;
    g->sel = (uint16_t)(lo >> 16);
    g->off = (lo & 0xffff) | (((lo >> 48) & 0xffff) << 16) | ((hi & 0xffffffff) << 32);
    g->ist = lm ? (lo >> 32) & 7 : 0;
    bool ok = lm ? (g->type == 0xe || g->type == 0xf)
                 : (g->type == 0xe || g->type == 0xf || g->type == 0x6 || g->type == 0x7 || g->type == 0x5);
    if (!ok)
        return raise_gp(cpu, ecode);
    if (kind == EV_SOFT_INT && g->dpl < cpu->cpl)
        return raise_gp(cpu, ecode);
    if (!((lo >> 47) & 1))
        return raise_exc(cpu, EXC_NP, true, ecode);
    if (g->type < 8)
        g->off &= 0xffff;
    return X_NEXT;
}

/* The handler's code segment; *new_cpl gets the privilege it runs at. */
static int read_handler_cs(struct interp_cpu *cpu, const struct gate *g, enum event_kind kind,
                           uint64_t *desc, unsigned *new_cpl)
{
    uint32_t ext = kind != EV_SOFT_INT;
    if ((g->sel & 0xfffc) == 0)
        return raise_gp(cpu, ext);
    int r = desc_read(cpu, g->sel, desc, EXC_GP);
    if (r)
        return r;
    uint64_t d = *desc;
    unsigned type = (d >> 40) & 15, dpl = (d >> 45) & 3;
    if (!((d >> 44) & 1) || !(type & 8) || dpl > cpu->cpl)
        return raise_gp(cpu, (g->sel & 0xfffc) + ext);
    if ((cpu->st->efer & EFER_LMA) && (!((d >> 53) & 1) || ((d >> 54) & 1)))
        return raise_gp(cpu, (g->sel & 0xfffc) + ext);
    if (!((d >> 47) & 1))
        return raise_exc(cpu, EXC_NP, true, (g->sel & 0xfffc) + ext);
    *new_cpl = (type & 4) ? cpu->cpl : dpl;
    return X_NEXT;
}

static void seg_from_desc(struct seg_reg *s, uint16_t sel, uint64_t d)
{
    s->selector = sel;
    s->base = ((d >> 16) & 0xffffff) | (((d >> 56) & 0xff) << 24);
    uint32_t limit = (uint32_t)((d & 0xffff) | (((d >> 48) & 0xf) << 16));
    s->limit = (d & (UINT64_C(1) << 55)) ? (limit << 12) | 0xfff : limit;
    s->attr = (uint32_t)((d >> 40) & 0xf0ff) | 1u;
}

/* The RFLAGS image an event pushes: faults push RF=1 so that IRET does not
 * re-trigger an instruction breakpoint (SDM 17.3.1.1). */
static uint64_t pushed_flags(const struct interp_cpu *cpu, uint8_t vec, enum event_kind kind)
{
    bool fault = kind == EV_EXCEPTION && vec != EXC_DB && vec != EXC_DF;
    return cpu->st->rflags | (fault ? RFLAGS_RF : 0);
}

static int deliver_long(struct interp_cpu *cpu, uint8_t vec, enum event_kind kind, bool has_err,
                        uint32_t err, uint64_t ret_rip)
{
    struct cpu_state *st = cpu->st;
    struct gate g;
    uint64_t cs_desc, sp = st->gpr[GPR_RSP];
    unsigned new_cpl;
    int r;
    if ((r = read_gate(cpu, vec, kind, &g)) || (r = read_handler_cs(cpu, &g, kind, &cs_desc, &new_cpl)))
        return r;
    uint64_t tss = st->seg[SEG_TR].base;
    if (g.ist && (r = sys_read(cpu, tss + 0x24 + (uint64_t)(g.ist - 1) * 8, 8, &sp)))
        return r;
    if (!g.ist && new_cpl < cpu->cpl && (r = sys_read(cpu, tss + 4 + (uint64_t)new_cpl * 8, 8, &sp)))
        return r;
    sp &= ~UINT64_C(15);
    uint64_t vals[6] = { st->seg[SEG_SS].selector, st->gpr[GPR_RSP], pushed_flags(cpu, vec, kind),
                         st->seg[SEG_CS].selector, ret_rip, err };
    uint8_t saved_long = cpu->long64;
    cpu->long64 = true;                  /* the frame is written with 64-bit linear addresses */
    uint64_t saved_mask = cpu->lin_mask;
    cpu->lin_mask = ~UINT64_C(0);
    r = push_frame(cpu, 0, &sp, ~UINT64_C(0), 8, vals, has_err ? 6 : 5);
    cpu->long64 = saved_long;
    cpu->lin_mask = saved_mask;
    if (r)
        return r;
    if (new_cpl < cpu->cpl) {
        st->seg[SEG_SS].selector = (uint16_t)new_cpl;
        st->seg[SEG_SS].base = 0;
        st->seg[SEG_SS].attr = SEG_ATTR_UNUSABLE | (new_cpl << SEG_ATTR_DPL_SHIFT);
    }
    seg_from_desc(&st->seg[SEG_CS], (uint16_t)((g.sel & 0xfffc) | new_cpl), cs_desc);
    st->gpr[GPR_RSP] = sp;
    st->rflags = flags_for_handler(cpu, g.type == 0xe);
    st->rip = g.off;
    mode_refresh(cpu);
    return X_DELIVERED;
}

/* The inner stack for a privilege change from the 32-bit TSS. */
static int tss32_stack(struct interp_cpu *cpu, unsigned new_cpl, uint16_t *ss_sel, uint64_t *esp,
                       uint64_t *ss_desc)
{
    uint64_t tss = cpu->st->seg[SEG_TR].base, v;
    int r;
    if ((r = sys_read(cpu, tss + 4 + (uint64_t)new_cpl * 8, 4, esp)) ||
        (r = sys_read(cpu, tss + 8 + (uint64_t)new_cpl * 8, 2, &v)))
        return r;
    *ss_sel = (uint16_t)v;
    if ((*ss_sel & 0xfffc) == 0 || (r = desc_read(cpu, *ss_sel, ss_desc, EXC_TS)))
        return r ? r : raise_exc(cpu, EXC_TS, true, *ss_sel & 0xfffc);
    unsigned type = (*ss_desc >> 40) & 15, dpl = (*ss_desc >> 45) & 3;
    if ((*ss_sel & 3) != new_cpl || dpl != new_cpl || (type & 8) || !(type & 2) || !((*ss_desc >> 44) & 1))
        return raise_exc(cpu, EXC_TS, true, *ss_sel & 0xfffc);
    if (!((*ss_desc >> 47) & 1))
        return raise_exc(cpu, EXC_SS, true, *ss_sel & 0xfffc);
    return X_NEXT;
}

/* From VM86 through a 32-bit interrupt/trap gate to ring-0 code: the frame
 * on the TSS ring-0 stack also holds GS, FS, DS, ES, which become null. */
static int deliver_from_vm86(struct interp_cpu *cpu, const struct gate *g, uint64_t cs_desc, unsigned new_cpl,
                             bool has_err, uint32_t err, uint64_t ret_rip, uint64_t flags)
{
    struct cpu_state *st = cpu->st;
    uint64_t ss_desc, sp;
    uint16_t ss_sel;
    int r;
    if (new_cpl != 0 || !(g->type & 8))
        return raise_gp(cpu, g->sel & 0xfffc);
    if ((r = tss32_stack(cpu, 0, &ss_sel, &sp, &ss_desc)))
        return r;
    uint64_t ss_base = ((ss_desc >> 16) & 0xffffff) | (((ss_desc >> 56) & 0xff) << 24);
    uint64_t sp_mask = ((ss_desc >> 54) & 1) ? 0xffffffffu : 0xffffu;
    uint64_t vals[10] = { st->seg[SEG_GS].selector, st->seg[SEG_FS].selector, st->seg[SEG_DS].selector,
                          st->seg[SEG_ES].selector, st->seg[SEG_SS].selector, st->gpr[GPR_RSP] & 0xffffffff,
                          flags, st->seg[SEG_CS].selector, ret_rip, err };
    if ((r = push_frame(cpu, ss_base, &sp, sp_mask, 4, vals, has_err ? 10 : 9)))
        return r;
    static const uint8_t data[4] = { SEG_ES, SEG_DS, SEG_FS, SEG_GS };
    for (unsigned i = 0; i < 4; i++)
        st->seg[data[i]] = (struct seg_reg){ 0, 0, 0, SEG_ATTR_UNUSABLE };
    seg_from_desc(&st->seg[SEG_SS], ss_sel, ss_desc);
    seg_from_desc(&st->seg[SEG_CS], (uint16_t)(g->sel & 0xfffc), cs_desc);
    set_reg(cpu, GPR_RSP, sp_mask == 0xffff ? 2 : 4, sp);
    st->rflags = flags_for_handler(cpu, !(g->type & 1));
    st->rip = g->off;
    mode_refresh(cpu);
    return X_DELIVERED;
}

static int deliver_protected(struct interp_cpu *cpu, uint8_t vec, enum event_kind kind, bool has_err,
                             uint32_t err, uint64_t ret_rip)
{
    struct cpu_state *st = cpu->st;
    struct gate g;
    uint64_t cs_desc, ss_desc = 0;
    unsigned new_cpl;
    int r;
    if ((r = read_gate(cpu, vec, kind, &g)))
        return r;
    if (g.type == 0x5) {                                   /* task gate */
        uint64_t tss;
        if ((r = desc_read(cpu, g.sel, &tss, EXC_TS)) ||
            (r = task_switch(cpu, g.sel, tss, TASK_INT, ret_rip, has_err, err)))
            return r;
        return X_DELIVERED;
    }
    if ((r = read_handler_cs(cpu, &g, kind, &cs_desc, &new_cpl)))
        return r;
    if (st->rflags & RFLAGS_VM)
        return deliver_from_vm86(cpu, &g, cs_desc, new_cpl, has_err, err, ret_rip, pushed_flags(cpu, vec, kind));
    unsigned psize = (g.type & 8) ? 4 : 2;
    bool switch_stack = new_cpl < cpu->cpl;
    uint16_t ss_sel = st->seg[SEG_SS].selector;
    uint64_t sp = st->gpr[GPR_RSP], ss_base = st->seg[SEG_SS].base;
    uint64_t sp_mask = size_mask(stack_addr_size(cpu));
    uint64_t vals[6];
    unsigned n = 0;
    if (switch_stack) {
        if ((r = tss32_stack(cpu, new_cpl, &ss_sel, &sp, &ss_desc)))
            return r;
        ss_base = ((ss_desc >> 16) & 0xffffff) | (((ss_desc >> 56) & 0xff) << 24);
        sp_mask = ((ss_desc >> 54) & 1) ? 0xffffffffu : 0xffffu;
        vals[n++] = st->seg[SEG_SS].selector;
        vals[n++] = st->gpr[GPR_RSP];
    }
    vals[n++] = pushed_flags(cpu, vec, kind);
    vals[n++] = st->seg[SEG_CS].selector;
    vals[n++] = ret_rip;
    if (has_err)
        vals[n++] = err;
    if ((r = push_frame(cpu, ss_base, &sp, sp_mask, psize, vals, n)))
        return r;
    if (switch_stack)
        seg_from_desc(&st->seg[SEG_SS], ss_sel, ss_desc);
    seg_from_desc(&st->seg[SEG_CS], (uint16_t)((g.sel & 0xfffc) | new_cpl), cs_desc);
    set_reg(cpu, GPR_RSP, sp_mask == 0xffff ? 2 : 4, sp);
    st->rflags = flags_for_handler(cpu, !(g.type & 1));
    st->rip = g.off;
    mode_refresh(cpu);
    return X_DELIVERED;
}

static int deliver_once(struct interp_cpu *cpu, uint8_t vec, enum event_kind kind, bool has_err,
                        uint32_t err, uint64_t ret_rip)
{
    if (!(cpu->st->cr0 & CR0_PE))
        return deliver_real(cpu, vec, ret_rip);
    if (cpu->st->efer & EFER_LMA)
        return deliver_long(cpu, vec, kind, has_err, err, ret_rip);
    return deliver_protected(cpu, vec, kind, has_err, err, ret_rip);
}

static int exc_class(uint8_t v)
{
    if (v == EXC_PF)
        return 2;
    return (v == EXC_DE || (v >= EXC_TS && v <= EXC_GP)) ? 1 : 0;
}

int deliver_event(struct interp_cpu *cpu, uint8_t vec, enum event_kind kind, bool has_err, uint32_t err,
                  uint64_t ret_rip)
{
    flags_materialize(cpu);
    cpu->st->rflags |= RFLAGS_FIXED;
    uint64_t fault_rip = cpu->st->rip;
    int r = deliver_once(cpu, vec, kind, has_err, err, ret_rip);
    if (r == X_DELIVERED)
        return r;
    struct pending_exc second = cpu->exc;
    if (kind == EV_EXCEPTION && vec == EXC_DF)
        return X_TRIPLE;
    int c1 = kind == EV_EXCEPTION ? exc_class(vec) : 0, c2 = exc_class(second.vector);
    if ((c1 == 1 && c2 == 1) || (c1 == 2 && c2 != 0))
        r = deliver_once(cpu, EXC_DF, EV_EXCEPTION, true, 0, fault_rip);
    else
        r = deliver_once(cpu, second.vector, EV_EXCEPTION, second.has_err, second.err, fault_rip);
    if (r == X_DELIVERED)
        return r;
    second = cpu->exc;
    if (exc_class(second.vector) == 0)
        return X_TRIPLE;       /* simplification: no third serial delivery */
    r = deliver_once(cpu, EXC_DF, EV_EXCEPTION, true, 0, fault_rip);
    return r == X_DELIVERED ? r : X_TRIPLE;
}

int deliver_pending_exception(struct interp_cpu *cpu)
{
    bool err = cpu->exc.has_err && (cpu->st->cr0 & CR0_PE);
    return deliver_event(cpu, cpu->exc.vector, EV_EXCEPTION, err, cpu->exc.err, cpu->st->rip);
}
