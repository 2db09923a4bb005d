/*
 * 32-bit hardware task switches: far JMP/CALL to a TSS descriptor or a task
 * gate, IRET with NT set (back to the task in the back link), and events
 * delivered through a task gate in the IDT (including #DF, the classic
 * "task switch on double fault").  The current state goes into the old
 * TSS; CR3, EIP, EFLAGS, the general registers, LDTR and the segment
 * registers come from the new one; busy bits, the back link, NT and CR0.TS
 * follow the SDM's table for JMP, CALL/interrupt and IRET; a new task with
 * EFLAGS.VM runs in VM86 with real-mode style segments.  16-bit TSSs (#TS /
 * #GP with a message) and the debug-trap bit of the TSS are not handled.
 */
#include <stdio.h>

#include "interp_internal.h"

int sys_access(struct interp_cpu *cpu, uint64_t lin, unsigned size, void *buf, bool write);

static int rd32(struct interp_cpu *cpu, uint64_t lin, uint32_t *v)
{
    *v = 0;
    return sys_access(cpu, lin, 4, v, false);
}

static int wr32(struct interp_cpu *cpu, uint64_t lin, uint32_t v)
{
    return sys_access(cpu, lin, 4, &v, true);
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

static int save_old(struct interp_cpu *cpu, uint64_t ret_eip, uint32_t fl)
{
    struct cpu_state *st = cpu->st;
    uint64_t t = st->seg[SEG_TR].base;
    int r = wr32(cpu, t + 0x20, (uint32_t)ret_eip);
    r = r ? r : wr32(cpu, t + 0x24, fl);
    for (unsigned i = 0; !r && i < 8; i++)
        r = wr32(cpu, t + 0x28 + 4 * (uint64_t)i, (uint32_t)cpu->gpr[i]);
    for (unsigned i = 0; !r && i < 6; i++)
        r = wr32(cpu, t + 0x48 + 4 * (uint64_t)i, st->seg[seg_order[i]].selector);
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

int task_switch(struct interp_cpu *cpu, uint16_t sel, uint64_t d, enum task_reason why, uint64_t ret_eip,
                bool has_err, uint32_t err)
{
    struct cpu_state *st = cpu->st;
    unsigned type = (d >> 40) & 0x1f;
    uint32_t limit = (uint32_t)((d & 0xffff) | (((d >> 48) & 0xf) << 16));
    if ((d >> 55) & 1)
        limit = (limit << 12) | 0xfff;
    if (sel & 4)
        return raise_gp(cpu, sel & 0xfffc);
    if (type != (why == TASK_IRET ? 0xb : 0x9)) {
        if (type == 1 || type == 3)
            snprintf(cpu->error, sizeof(cpu->error), "16-bit task switches are not implemented");
        return why == TASK_IRET ? raise_exc(cpu, EXC_TS, true, sel & 0xfffc) : raise_gp(cpu, sel & 0xfffc);
    }
    if (!((d >> 47) & 1))
        return raise_exc(cpu, EXC_NP, true, sel & 0xfffc);
    if (limit < 0x67)
        return raise_exc(cpu, EXC_TS, true, sel & 0xfffc);
    flags_materialize(cpu);
    uint32_t fl = (uint32_t)st->rflags;
    if (why == TASK_IRET)
        fl &= ~(uint32_t)RFLAGS_NT;
    uint16_t old_tr = st->seg[SEG_TR].selector;
    int r;
    if ((r = save_old(cpu, ret_eip, fl)))
        return r;
    if (why == TASK_JMP || why == TASK_IRET)
        if ((r = set_busy(cpu, old_tr, false)))
            return r;
    seg_set(&st->seg[SEG_TR], sel, d);
    st->seg[SEG_TR].limit = limit;
    uint64_t t = st->seg[SEG_TR].base;
    uint32_t cr3, eip, nfl, v, ldt;
    uint16_t segs[6];
    if ((r = rd32(cpu, t + 0x1c, &cr3)) || (r = rd32(cpu, t + 0x20, &eip)) || (r = rd32(cpu, t + 0x24, &nfl)) ||
        (r = rd32(cpu, t + 0x60, &ldt)))
        return r;
    for (unsigned i = 0; i < 8; i++) {
        if ((r = rd32(cpu, t + 0x28 + 4 * (uint64_t)i, &v)))
            return r;
        cpu->gpr[i] = v;
    }
    for (unsigned i = 0; i < 6; i++) {
        if ((r = rd32(cpu, t + 0x48 + 4 * (uint64_t)i, &v)))
            return r;
        segs[i] = (uint16_t)v;
    }
    if (why == TASK_CALL || why == TASK_INT) {
        if ((r = wr32(cpu, t, old_tr)))
            return r;
        nfl |= RFLAGS_NT;
    }
    if (why != TASK_IRET && (r = set_busy(cpu, sel, true)))
        return r;
    st->seg[SEG_TR].attr = (st->seg[SEG_TR].attr & ~SEG_ATTR_TYPE_MASK) | 0xb;
    st->cr0 |= CR0_TS;
    if (st->cr0 & CR0_PG) {
        st->cr3 = cr3;
        tlb_flush(cpu);
    }
    st->rflags = (nfl & 0x3f7fd5) | RFLAGS_FIXED;
    st->rip = eip;
    cpu->next_rip = eip;
    if ((r = (nfl & RFLAGS_VM) ? load_vm86_segments(cpu, segs, (uint16_t)ldt)
                               : load_segments(cpu, segs, (uint16_t)ldt)))
        return r;
    if (has_err) {
        uint64_t sp = cpu->gpr[GPR_RSP] - 4;
        uint32_t mask = (st->seg[SEG_SS].attr & SEG_ATTR_DB) ? 0xffffffffu : 0xffffu;
        if ((r = wr32(cpu, (st->seg[SEG_SS].base + (sp & mask)) & cpu->lin_mask, err)))
            return r;
        set_reg(cpu, GPR_RSP, mask == 0xffff ? 2 : 4, sp);
    }
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
