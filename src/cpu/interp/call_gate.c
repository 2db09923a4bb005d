/*
 * Far CALL/JMP through call gates (16- and 32-bit gates in protected mode,
 * 64-bit gates in long mode), with the inner-stack switch from the TSS and
 * the parameter copy of a CALL to a more privileged level, and RETF to an
 * outer level.  Task gates and TSS descriptors go to task_switch.c.
 */
#include <stdio.h>

#include "interp_internal.h"

int sys_access(struct interp_cpu *cpu, uint64_t lin, unsigned size, void *buf, bool write);
void null_inaccessible_segs(struct interp_cpu *cpu, unsigned cpl);

static void seg_set(struct seg_reg *s, uint16_t sel, uint64_t d)
{
    s->selector = sel;
    s->base = ((d >> 16) & 0xffffff) | (((d >> 56) & 0xff) << 24);
    uint32_t limit = (uint32_t)((d & 0xffff) | (((d >> 48) & 0xf) << 16));
    s->limit = (d & (UINT64_C(1) << 55)) ? (limit << 12) | 0xfff : limit;
    s->attr = (uint32_t)((d >> 40) & 0xf0ff) | 1u;
}

struct gate_target {
    uint16_t sel;          /* code selector */
    uint64_t off, cd;      /* entry point, code descriptor */
    unsigned size, params; /* push size (2/4/8), dwords/words to copy */
};

/* Reads and checks the gate at sel (descriptor d) and its code segment. */
static int gate_read(struct interp_cpu *cpu, uint16_t sel, uint64_t d, struct gate_target *t)
{
    bool lma = cpu->st->efer & EFER_LMA;
    unsigned type = (d >> 40) & 15, dpl = (d >> 45) & 3;
    if (type != 0xc && (lma || type != 4)) {
        if (!lma && (type == 5 || type == 9 || type == 1))
            return X_DELIVERED;                        /* the caller switches tasks */
        snprintf(cpu->error, sizeof(cpu->error), "far transfer through a task gate or TSS (selector %#x) is not implemented", sel);
        return raise_gp(cpu, sel & 0xfffc);
    }
    if (dpl < cpu->cpl || dpl < (sel & 3u))
        return raise_gp(cpu, sel & 0xfffc);
    if (!((d >> 47) & 1))
        return raise_exc(cpu, EXC_NP, true, sel & 0xfffc);
    t->sel = (uint16_t)(d >> 16);
    t->off = (d & 0xffff) | (((d >> 48) & 0xffff) << 16);
    t->size = lma ? 8 : type == 0xc ? 4 : 2;
    t->params = lma ? 0 : (unsigned)(d >> 32) & 31;
    if (t->size == 2)
        t->off &= 0xffff;
    int r;
    if (lma) {
        uint64_t hi;                               /* the gate's upper half: the next slot */
        if ((r = desc_read(cpu, (uint16_t)(sel + 8), &hi, EXC_GP)))
            return r;
        if ((hi >> 40) & 0x1f)
            return raise_gp(cpu, sel & 0xfffc);
        t->off |= (hi & 0xffffffff) << 32;
    }
    if ((t->sel & 0xfffc) == 0)
        return raise_gp(cpu, 0);
    if ((r = desc_read(cpu, t->sel, &t->cd, EXC_GP)))
        return r;
    unsigned ctype = (t->cd >> 40) & 15, cdpl = (t->cd >> 45) & 3;
    bool code = ((t->cd >> 44) & 1) && (ctype & 8);
    bool l = (t->cd >> 53) & 1, db = (t->cd >> 54) & 1;
    if (!code || cdpl > cpu->cpl || (lma && (!l || db)))
        return raise_gp(cpu, t->sel & 0xfffc);
    if (!((t->cd >> 47) & 1))
        return raise_exc(cpu, EXC_NP, true, t->sel & 0xfffc);
    return X_NEXT;
}

/* The inner stack of level n from the TSS: 64-bit RSPn, or 32-bit SSn:ESPn
 * with the SS descriptor checked (#TS). */
static int inner_stack(struct interp_cpu *cpu, unsigned n, uint16_t *ss, uint64_t *sp, uint64_t *ssd)
{
    uint64_t tss = cpu->st->seg[SEG_TR].base, v = 0;
    int r;
    if (cpu->st->efer & EFER_LMA) {
        *ss = (uint16_t)n;
        *ssd = 0;
        return sys_access(cpu, tss + 4 + 8 * (uint64_t)n, 8, sp, false);
    }
    *sp = 0;
    if ((r = sys_access(cpu, tss + 4 + 8 * (uint64_t)n, 4, sp, false)) ||
        (r = sys_access(cpu, tss + 8 + 8 * (uint64_t)n, 2, &v, false)))
        return r;
    *ss = (uint16_t)v;
    if ((*ss & 0xfffc) == 0 || (r = desc_read(cpu, *ss, ssd, EXC_TS)))
        return r ? r : raise_exc(cpu, EXC_TS, true, 0);
    unsigned type = (*ssd >> 40) & 15, dpl = (*ssd >> 45) & 3;
    if ((*ss & 3) != n || dpl != n || !((*ssd >> 44) & 1) || (type & 8) || !(type & 2))
        return raise_exc(cpu, EXC_TS, true, *ss & 0xfffc);
    if (!((*ssd >> 47) & 1))
        return raise_exc(cpu, EXC_SS, true, *ss & 0xfffc);
    return X_NEXT;
}

/* Writes vals[0..n) downwards from *sp (supervisor accesses). */
static int push_vals(struct interp_cpu *cpu, uint64_t base, uint64_t *sp, uint64_t mask, unsigned size,
                     const uint64_t *vals, unsigned n)
{
    uint64_t p = *sp;
    for (unsigned i = 0; i < n; i++) {
        p = (p - size) & mask;
        uint64_t v = vals[i];
        int r = sys_access(cpu, (base + p) & cpu->lin_mask, size, &v, true);
        if (r)
            return r;
    }
    *sp = p;
    return X_NEXT;
}

/* CALL to a more privileged level: new stack, old SS:SP, parameters, CS:IP. */
static int call_inner(struct interp_cpu *cpu, const struct gate_target *t, uint64_t ret)
{
    struct cpu_state *st = cpu->st;
    unsigned n = (t->cd >> 45) & 3;
    uint16_t ss;
    uint64_t sp, ssd, vals[36];
    unsigned k = 0;
    int r;
    if ((r = inner_stack(cpu, n, &ss, &sp, &ssd)))
        return r;
    bool lma = st->efer & EFER_LMA;
    uint64_t base = lma ? 0 : ((ssd >> 16) & 0xffffff) | (((ssd >> 56) & 0xff) << 24);
    uint64_t mask = lma ? ~UINT64_C(0) : ((ssd >> 54) & 1) ? 0xffffffffu : 0xffffu;
    vals[k++] = st->seg[SEG_SS].selector;
    vals[k++] = cpu->gpr[GPR_RSP] & size_mask(t->size == 8 ? 8 : 4);
    uint64_t old_sp_mask = size_mask(stack_addr_size(cpu));
    for (unsigned i = t->params; i-- > 0;) {       /* copied in their order on the old stack */
        uint64_t v = 0;
        uint64_t a = (st->seg[SEG_SS].base + ((cpu->gpr[GPR_RSP] + (uint64_t)i * t->size) & old_sp_mask)) & cpu->lin_mask;
        if ((r = sys_access(cpu, a, t->size, &v, false)))
            return r;
        vals[k++] = v;
    }
    vals[k++] = st->seg[SEG_CS].selector;
    vals[k++] = ret;
    if ((r = push_vals(cpu, base, &sp, mask, t->size, vals, k)))
        return r;
    if (lma) {
        st->seg[SEG_SS] = (struct seg_reg){ ss, 0, 0, SEG_ATTR_UNUSABLE | (n << SEG_ATTR_DPL_SHIFT) };
    } else {
        seg_set(&st->seg[SEG_SS], ss, ssd);
    }
    seg_set(&st->seg[SEG_CS], (uint16_t)((t->sel & 0xfffc) | n), t->cd);
    cpu->gpr[GPR_RSP] = lma || mask == 0xffffffffu ? sp : (cpu->gpr[GPR_RSP] & ~UINT64_C(0xffff)) | sp;
    return X_NEXT;
}

int far_through_gate(struct interp_cpu *cpu, const struct insn *in, uint16_t sel, uint64_t d, bool call)
{
    struct cpu_state *st = cpu->st;
    struct gate_target t;
    int r = gate_read(cpu, sel, d, &t);
    if (r == X_DELIVERED)
        return far_to_task(cpu, sel, d, call, insn_next_rip(cpu, in));
    if (r)
        return r;
    unsigned ctype = (t.cd >> 40) & 15, cdpl = (t.cd >> 45) & 3;
    bool conforming = ctype & 4;
    uint64_t ret = insn_next_rip(cpu, in);
    (void)in;
    if (call && !conforming && cdpl < cpu->cpl) {
        if ((r = call_inner(cpu, &t, ret)))
            return r;
    } else {
        if (!call && !conforming && cdpl != cpu->cpl)
            return raise_gp(cpu, t.sel & 0xfffc);
        if (call) {
            uint64_t sp = cpu->gpr[GPR_RSP], mask = size_mask(stack_addr_size(cpu));
            uint64_t vals[2] = { st->seg[SEG_CS].selector, ret };
            if ((r = push_vals(cpu, st->seg[SEG_SS].base, &sp, mask, t.size, vals, 2)))
                return r;
            set_reg(cpu, GPR_RSP, mask == 0xffff ? 2 : mask == 0xffffffffu ? 4 : 8, sp);
        }
        seg_set(&st->seg[SEG_CS], (uint16_t)((t.sel & 0xfffc) | cpu->cpl), t.cd);
    }
    set_next_rip(cpu, t.off);
    mode_refresh(cpu);
    return X_END;
}

/* RETF to an outer level: pops IP, CS, (imm16 bytes), SP, SS; data
 * segments the outer level may not use become null. */
int retf_outer(struct interp_cpu *cpu, const struct insn *in, uint64_t off, uint16_t cs)
{
    struct cpu_state *st = cpu->st;
    unsigned sz = in->osz, new_cpl = cs & 3;
    uint64_t imm = in->opc == 0xca ? (in->imm & 0xffff) : 0, sp, ss;
    int r;
    if (new_cpl < cpu->cpl)
        return raise_gp(cpu, cs & 0xfffc);
    if ((r = stack_peek(cpu, sz, 2 * sz + (unsigned)imm, &sp)) ||
        (r = stack_peek(cpu, sz, 3 * sz + (unsigned)imm, &ss)))
        return r;
    struct seg_reg saved_cs = st->seg[SEG_CS], saved_ss = st->seg[SEG_SS];
    uint64_t saved_rsp = cpu->gpr[GPR_RSP];
    /* Load CS as a same-level load at the outer level (as IRET does). */
    st->seg[SEG_SS].attr = (st->seg[SEG_SS].attr & ~SEG_ATTR_DPL_MASK) | (new_cpl << SEG_ATTR_DPL_SHIFT);
    mode_refresh(cpu);
    if ((r = load_cs_far(cpu, cs, off)))
        goto undo;
    st->seg[SEG_SS] = saved_ss;
    if ((r = seg_load(cpu, SEG_SS, (uint16_t)ss)))
        goto undo;
    set_reg(cpu, GPR_RSP, sz == 2 ? 2 : cpu->long64 || sz == 8 ? 8 : 4, sp + imm);
    null_inaccessible_segs(cpu, new_cpl);
    mode_refresh(cpu);
    return X_END;
undo:
    st->seg[SEG_CS] = saved_cs;
    st->seg[SEG_SS] = saved_ss;
    cpu->gpr[GPR_RSP] = saved_rsp;
    mode_refresh(cpu);
    return r;
}
