/*
 * Hardware task switches: far JMP/CALL to a TSS descriptor or a task
 * gate, IRET with NT set (back to the task in the back link), and events
 * delivered through a task gate in the IDT (including #DF, the classic
 * "task switch on double fault").  The current state goes into the old
 * TSS; CR3, EIP, EFLAGS, the general registers, LDTR and the segment
 * registers come from the new one; busy bits, the back link, NT and CR0.TS
 * follow the SDM's table for JMP, CALL/interrupt and IRET; a new task with
 * EFLAGS.VM runs in VM86 with real-mode style segments.
 *
 * 16-bit (80286) TSSs, types 1/3: 44 bytes, no CR3, LDT at 0x2a, IP, FLAGS,
 * AX..DI and ES/CS/SS/DS as words.  The old task is saved in the format of
 * its own TSS.  Entering a 16-bit task leaves the upper words of EIP and
 * EFLAGS zero and of the general registers all ones, FS and GS null (what
 * Bochs does; the SDM calls them undefined), CR3 unchanged.  The debug-trap
 * bit of the 32-bit TSS is not handled.
 */
#include "interp_internal.h"

int sys_access(struct interp_cpu *cpu, uint64_t lin, unsigned size, void *buf, bool write);

/* Field offsets and width of the two TSS formats. */
struct tss_layout { uint8_t eip, eflags, gpr, segs, nsegs, ldt, width; uint16_t min_limit; };
static const struct tss_layout tss32 = { 0x20, 0x24, 0x28, 0x48, 6, 0x60, 4, 0x67 };
static const struct tss_layout tss16 = { 0x0e, 0x10, 0x12, 0x22, 4, 0x2a, 2, 0x2b };

static int rd_field(struct interp_cpu *cpu, uint64_t lin, unsigned width, uint32_t *v)
{
    *v = 0;
    return sys_access(cpu, lin, width, v, false);
}

static int wr_field(struct interp_cpu *cpu, uint64_t lin, unsigned width, uint32_t v)
{
    return sys_access(cpu, lin, width, &v, true);
}

static void seg_set(struct seg_reg *s, uint16_t sel, uint64_t d)
{
    s->selector = sel;
    s->base = ((d >> 16) & 0xffffff) | (((d >> 56) & 0xff) << 24);
    uint32_t limit = (uint32_t)((d & 0xffff) | (((d >> 48) & 0xf) << 16));
    s->limit = (d & (UINT64_C(1) << 55)) ? (limit << 12) | 0xfff : limit;
    s->attr = (uint32_t)((d >> 40) & 0xf0ff);
}

/* Sets or clears the busy bit (type bit 1) of the TSS descriptor sel. */
static int set_busy(struct interp_cpu *cpu, uint16_t sel, bool busy)
{
    uint8_t b;
    uint64_t a = cpu->st->gdtr.base + (sel & 0xfff8) + 5;
    int r = sys_access(cpu, a, 1, &b, false);
    if (r)
        return r;
    b = busy ? (uint8_t)(b | 2) : (uint8_t)(b & ~2);
    return sys_access(cpu, a, 1, &b, true);
}

static const uint8_t seg_order[6] = { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS };

static int save_old(struct interp_cpu *cpu, const struct tss_layout *l, uint64_t ret_eip, uint32_t fl)
{
    struct cpu_state *st = cpu->st;
    uint64_t t = st->seg[SEG_TR].base;
    unsigned w = l->width;
    int r = wr_field(cpu, t + l->eip, w, (uint32_t)ret_eip);
    r = r ? r : wr_field(cpu, t + l->eflags, w, fl);
    for (unsigned i = 0; !r && i < 8; i++)
        r = wr_field(cpu, t + l->gpr + (uint64_t)w * i, w, (uint32_t)cpu->gpr[i]);
    for (unsigned i = 0; !r && i < l->nsegs; i++)
        r = wr_field(cpu, t + l->segs + (uint64_t)w * i, w, st->seg[seg_order[i]].selector);
    return r;
}

/* Loads the segment registers of the new task (CPL = CS.RPL); a bad
 * selector is #TS(selector), as the SDM's checks after the switch. */
static int load_ldt(struct interp_cpu *cpu, uint16_t ldt)
{
    struct cpu_state *st = cpu->st;
    uint64_t d;
    int r;
    if ((ldt & 0xfffc) == 0) {
        st->seg[SEG_LDTR] = (struct seg_reg){ ldt, 0, 0, SEG_ATTR_UNUSABLE };
        return X_NEXT;
    }
    if ((ldt & 4) || (r = desc_read(cpu, ldt, &d, EXC_TS)))
        return (ldt & 4) ? raise_exc(cpu, EXC_TS, true, ldt & 0xfffc) : r;
    if (((d >> 40) & 0x1f) != 2)
        return raise_exc(cpu, EXC_TS, true, ldt & 0xfffc);
    seg_set(&st->seg[SEG_LDTR], ldt, d);
    return X_NEXT;
}

/* A VM86 task: with VM already in RFLAGS the loads are real-mode style. */
static int load_vm86_segments(struct interp_cpu *cpu, const uint16_t sel[6], uint16_t ldt)
{
    int r = load_ldt(cpu, ldt);
    mode_refresh(cpu);
    for (unsigned i = 0; !r && i < 6; i++)
        r = seg_load(cpu, seg_order[i], sel[i]);
    return r;
}

static int load_segments(struct interp_cpu *cpu, const uint16_t sel[6], uint16_t ldt)
{
    struct cpu_state *st = cpu->st;
    uint64_t d;
    int r;
    if ((r = load_ldt(cpu, ldt)))
        return r;
    uint16_t cs = sel[1], ss = sel[2];
    unsigned cpl = cs & 3;
    if ((cs & 0xfffc) == 0 || (r = desc_read(cpu, cs, &d, EXC_TS)))
        return r ? r : raise_exc(cpu, EXC_TS, true, 0);
    if (!((d >> 44) & 1) || !((d >> 43) & 1))
        return raise_exc(cpu, EXC_TS, true, cs & 0xfffc);
    seg_set(&st->seg[SEG_CS], cs, d);
    if ((ss & 0xfffc) == 0 || (r = desc_read(cpu, ss, &d, EXC_TS)))
        return r ? r : raise_exc(cpu, EXC_TS, true, 0);
    if ((ss & 3) != cpl || ((d >> 45) & 3) != cpl || !((d >> 44) & 1) || ((d >> 43) & 1) || !((d >> 41) & 1))
        return raise_exc(cpu, EXC_TS, true, ss & 0xfffc);
    seg_set(&st->seg[SEG_SS], ss, d);
    mode_refresh(cpu);
    static const uint8_t data[4] = { 0, 3, 4, 5 };          /* ES DS FS GS in sel[] */
    for (unsigned i = 0; i < 4; i++) {
        unsigned k = data[i];
        if ((r = seg_load(cpu, seg_order[k], sel[k])))
            return raise_exc(cpu, EXC_TS, true, sel[k] & 0xfffc);
    }
    return X_NEXT;
}

/* Reads the new task's registers from its TSS at t (layout l). */
static int load_new(struct interp_cpu *cpu, const struct tss_layout *l, uint64_t t, uint32_t *cr3, uint32_t *eip,
                    uint32_t *nfl, uint32_t *ldt, uint16_t segs[6])
{
    unsigned w = l->width;
    uint32_t v;
    int r;
    *cr3 = 0;
    if ((w == 4 && (r = rd_field(cpu, t + 0x1c, 4, cr3))) || (r = rd_field(cpu, t + l->eip, w, eip)) ||
        (r = rd_field(cpu, t + l->eflags, w, nfl)) || (r = rd_field(cpu, t + l->ldt, 2, ldt)))
        return r;
    for (unsigned i = 0; i < 8; i++) {
        if ((r = rd_field(cpu, t + l->gpr + (uint64_t)w * i, w, &v)))
            return r;
        cpu->gpr[i] = w == 4 ? v : UINT64_C(0xffff0000) | v;
    }
    for (unsigned i = 0; i < 6; i++) {
        v = 0;
        if (i < l->nsegs && (r = rd_field(cpu, t + l->segs + (uint64_t)w * i, w, &v)))
            return r;
        segs[i] = (uint16_t)v;
    }
    return X_NEXT;
}

/* Pushes an exception's error code on the new task's stack (a word for a
 * 16-bit task, as its gate size). */
static int push_error(struct interp_cpu *cpu, unsigned width, uint32_t err)
{
    struct cpu_state *st = cpu->st;
    uint64_t sp = cpu->gpr[GPR_RSP] - width;
    uint32_t mask = (st->seg[SEG_SS].attr & SEG_ATTR_DB) ? 0xffffffffu : 0xffffu;
    int r = wr_field(cpu, (st->seg[SEG_SS].base + (sp & mask)) & cpu->lin_mask, width, err);
    if (!r)
        set_reg(cpu, GPR_RSP, mask == 0xffff ? 2 : 4, sp);
    return r;
}

int task_switch(struct interp_cpu *cpu, uint16_t sel, uint64_t d, enum task_reason why, uint64_t ret_eip,
                bool has_err, uint32_t err)
{
    struct cpu_state *st = cpu->st;
    unsigned type = (d >> 40) & 0x1f, want = why == TASK_IRET ? 0xb : 0x9;
    uint32_t limit = (uint32_t)((d & 0xffff) | (((d >> 48) & 0xf) << 16));
    if ((d >> 55) & 1)
        limit = (limit << 12) | 0xfff;
    if (sel & 4)
        return raise_gp(cpu, sel & 0xfffc);
    if ((type | 8) != want)                                  /* 16-bit: the same types without bit 3 */
        return why == TASK_IRET ? raise_exc(cpu, EXC_TS, true, sel & 0xfffc) : raise_gp(cpu, sel & 0xfffc);
    const struct tss_layout *nl = (type & 8) ? &tss32 : &tss16;
    const struct tss_layout *ol = (st->seg[SEG_TR].attr & 8) ? &tss32 : &tss16;
    if (!((d >> 47) & 1))
        return raise_exc(cpu, EXC_NP, true, sel & 0xfffc);
    if (limit < nl->min_limit)
        return raise_exc(cpu, EXC_TS, true, sel & 0xfffc);
    flags_materialize(cpu);
    uint32_t fl = (uint32_t)st->rflags;
    if (why == TASK_IRET)
        fl &= ~(uint32_t)RFLAGS_NT;
    uint16_t old_tr = st->seg[SEG_TR].selector;
    int r;
    if ((r = save_old(cpu, ol, ret_eip, fl)))
        return r;
    if (why == TASK_JMP || why == TASK_IRET)
        if ((r = set_busy(cpu, old_tr, false)))
            return r;
    seg_set(&st->seg[SEG_TR], sel, d);
    st->seg[SEG_TR].limit = limit;
    uint64_t t = st->seg[SEG_TR].base;
    uint32_t cr3, eip, nfl, ldt;
    uint16_t segs[6];
    if ((r = load_new(cpu, nl, t, &cr3, &eip, &nfl, &ldt, segs)))
        return r;
    if (why == TASK_CALL || why == TASK_INT) {
        if ((r = wr_field(cpu, t, 2, old_tr)))
            return r;
        nfl |= RFLAGS_NT;
    }
    if (why != TASK_IRET && (r = set_busy(cpu, sel, true)))
        return r;
    st->seg[SEG_TR].attr = (st->seg[SEG_TR].attr & ~SEG_ATTR_TYPE_MASK) | (nl == &tss32 ? 0xb : 0x3);
    st->cr0 |= CR0_TS;
    if ((st->cr0 & CR0_PG) && nl == &tss32) {
        st->cr3 = cr3;
        tlb_flush(cpu);
    }
    st->rflags = (nfl & 0x3f7fd5) | RFLAGS_FIXED;
    st->rip = eip;
    set_next_rip(cpu, eip);
    if ((r = (nfl & RFLAGS_VM) ? load_vm86_segments(cpu, segs, (uint16_t)ldt)
                               : load_segments(cpu, segs, (uint16_t)ldt)))
        return r;
    if (has_err && (r = push_error(cpu, nl->width, err)))
        return r;
    mode_refresh(cpu);
    return X_NEXT;
}

/* JMP/CALL far to a TSS descriptor or a task gate (protected mode only). */
int far_to_task(struct interp_cpu *cpu, uint16_t sel, uint64_t d, bool call, uint64_t ret_eip)
{
    unsigned type = (d >> 40) & 0x1f, dpl = (d >> 45) & 3;
    int r;
    if (cpu->st->efer & EFER_LMA)
        return raise_gp(cpu, sel & 0xfffc);
    if (dpl < cpu->cpl || dpl < (sel & 3u))
        return raise_gp(cpu, sel & 0xfffc);
    if (type == 5) {                                         /* task gate: its TSS selector */
        if (!((d >> 47) & 1))
            return raise_exc(cpu, EXC_NP, true, sel & 0xfffc);
        sel = (uint16_t)(d >> 16);
        if ((r = desc_read(cpu, sel, &d, EXC_GP)))
            return r;
    }
    r = task_switch(cpu, sel, d, call ? TASK_CALL : TASK_JMP, ret_eip, false, 0);
    return r ? r : X_END;
}
