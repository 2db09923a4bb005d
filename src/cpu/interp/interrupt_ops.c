/*
 * INT n, INT3, INTO and IRET/IRETD/IRETQ.  IRET handles real mode, same- and
 * outer-privilege returns in protected and long mode; task returns (NT)
 * through task_switch.c; VM86 entry and IRET inside VM86 in vm86.c.
 */
#include <stdio.h>

#include "interp_internal.h"

void null_inaccessible_segs(struct interp_cpu *cpu, unsigned cpl);
int sys_access(struct interp_cpu *cpu, uint64_t lin, unsigned size, void *buf, bool write);
int vm86_iret_enter(struct interp_cpu *cpu);
int vm86_iret(struct interp_cpu *cpu, const struct insn *in);

/* Only INT n (CD) is IOPL-sensitive in VM86; INT3 and INTO are not. */
static int soft_int(struct interp_cpu *cpu, const struct insn *in, uint8_t vec, bool iopl_sensitive)
{
    if (iopl_sensitive && (cpu->st->rflags & RFLAGS_VM) && (cpu->st->cr4 & CR4_VME)) {
        int r = vme_int(cpu, vec, insn_next_rip(cpu, in));          /* the redirection bitmap decides */
        if (r != 1)
            return r ? r : X_END;
    }
    if (iopl_sensitive && (cpu->st->rflags & RFLAGS_VM) && ((cpu->st->rflags >> 12) & 3) != 3)
        return raise_gp(cpu, 0);
    /* A fault while delivering is reported at the INT instruction itself. */
    cpu->st->rip = (insn_next_rip(cpu, in) - in->len) & cpu->ip_mask;
    return deliver_event(cpu, vec, EV_SOFT_INT, false, 0, insn_next_rip(cpu, in));
}

int op_int(struct interp_cpu *cpu, const struct insn *in) { return soft_int(cpu, in, (uint8_t)in->imm, true); }
int op_int3(struct interp_cpu *cpu, const struct insn *in) { return soft_int(cpu, in, EXC_BP, false); }

int op_into(struct interp_cpu *cpu, const struct insn *in)
{
    return cond_eval(cpu, 0) ? soft_int(cpu, in, EXC_OF, false) : X_NEXT;
}

static int iret_real(struct interp_cpu *cpu, const struct insn *in)
{
    unsigned sz = in->osz;
    uint64_t ip, cs, fl;
    int r;
    if ((r = stack_peek(cpu, sz, 0, &ip)) || (r = stack_peek(cpu, sz, sz, &cs)) ||
        (r = stack_peek(cpu, sz, 2 * sz, &fl)))
        return r;
    if ((r = load_cs_far(cpu, (uint16_t)cs, ip)))
        return r;
    stack_adjust(cpu, 3 * (int64_t)sz);
    uint64_t mask = FLAGS_ARITH | RFLAGS_TF | RFLAGS_IF | RFLAGS_DF | RFLAGS_NT | RFLAGS_IOPL | RFLAGS_AC | RFLAGS_ID;
    flags_write(cpu, fl, sz == 2 ? mask & 0xffff : mask);
    return X_END;
}

/* Returning outward, data segments the new level may not use become null. */
void null_inaccessible_segs(struct interp_cpu *cpu, unsigned cpl)
{
    static const uint8_t segs[4] = { SEG_ES, SEG_DS, SEG_FS, SEG_GS };
    for (unsigned i = 0; i < 4; i++) {
        struct seg_reg *s = &cpu->st->seg[segs[i]];
        unsigned type = s->attr & SEG_ATTR_TYPE_MASK, dpl = (s->attr & SEG_ATTR_DPL_MASK) >> SEG_ATTR_DPL_SHIFT;
        bool conforming_code = (type & 8) && (type & 4);
        if (!(s->attr & SEG_ATTR_UNUSABLE) && !conforming_code && dpl < cpl) {
            s->selector = 0;
            s->attr = SEG_ATTR_UNUSABLE;
        }
    }
}

/* Protected/long mode IRET: pops RIP, CS, RFLAGS (and RSP, SS when
 * returning outward or from 64-bit mode). */
static int iret_protected(struct interp_cpu *cpu, const struct insn *in)
{
    struct cpu_state *st = cpu->st;
    unsigned sz = in->osz;
    uint64_t ip, cs, fl, sp = 0, ss = 0;
    int r;
    if ((st->rflags & RFLAGS_NT) && !(st->rflags & RFLAGS_VM)) {     /* return to the previous task */
        uint64_t link = 0, d;
        if (st->efer & EFER_LMA)
            return raise_gp(cpu, 0);
        if ((r = sys_access(cpu, st->seg[SEG_TR].base, 2, &link, false)) ||
            (r = desc_read(cpu, (uint16_t)link, &d, EXC_TS)) ||
            (r = task_switch(cpu, (uint16_t)link, d, TASK_IRET, insn_next_rip(cpu, in), false, 0)))
            return r;
        return X_END;
    }
    if (st->rflags & RFLAGS_VM)
        return vm86_iret(cpu, in);
    if ((r = stack_peek(cpu, sz, 0, &ip)) || (r = stack_peek(cpu, sz, sz, &cs)) ||
        (r = stack_peek(cpu, sz, 2 * sz, &fl)))
        return r;
    unsigned old_cpl = cpu->cpl, new_cpl = cs & 3;
    bool pop_stack = cpu->long64 || new_cpl > old_cpl;
    if (pop_stack && ((r = stack_peek(cpu, sz, 3 * sz, &sp)) || (r = stack_peek(cpu, sz, 4 * sz, &ss))))
        return r;
    if (new_cpl < old_cpl)
        return raise_gp(cpu, cs & 0xfffc);
    if ((fl & RFLAGS_VM) && old_cpl == 0 && !cpu->long64 && sz == 4)
        return vm86_iret_enter(cpu);
    struct seg_reg saved_cs = st->seg[SEG_CS], saved_ss = st->seg[SEG_SS];
    uint64_t saved_rsp = st->gpr[GPR_RSP];
    /* Loading CS at the outer level: present it as a same-level load. */
    if (new_cpl != old_cpl) {
        st->seg[SEG_SS].attr = (st->seg[SEG_SS].attr & ~SEG_ATTR_DPL_MASK) | (new_cpl << SEG_ATTR_DPL_SHIFT);
        mode_refresh(cpu);
    }
    if ((r = load_cs_far(cpu, (uint16_t)cs, ip)))
        goto undo;
    uint64_t mask = FLAGS_ARITH | RFLAGS_TF | RFLAGS_DF | RFLAGS_NT | RFLAGS_AC | RFLAGS_ID | RFLAGS_RF;
    if (old_cpl == 0)
        mask |= RFLAGS_IOPL;
    if (old_cpl <= ((st->rflags >> 12) & 3))
        mask |= RFLAGS_IF;
    if (pop_stack) {
        st->seg[SEG_SS] = saved_ss;
        if ((r = seg_load(cpu, SEG_SS, (uint16_t)ss)))
            goto undo;
        set_reg(cpu, GPR_RSP, sz == 2 ? 2 : cpu->long64 || sz == 8 ? 8 : 4, sp);
    } else {
        stack_adjust(cpu, 3 * (int64_t)sz);
    }
    flags_write(cpu, fl, sz == 2 ? mask & 0xffff : mask);
    if (new_cpl > old_cpl)
        null_inaccessible_segs(cpu, new_cpl);
    mode_refresh(cpu);
    return X_END;
undo:
    st->seg[SEG_CS] = saved_cs;
    st->seg[SEG_SS] = saved_ss;
    st->gpr[GPR_RSP] = saved_rsp;
    mode_refresh(cpu);
    return r;
}

int op_iret(struct interp_cpu *cpu, const struct insn *in)
{
    cpu->st->events.nmi_masked = false;        /* IRET ends NMI blocking */
    if (!(cpu->st->cr0 & CR0_PE))
        return iret_real(cpu, in);
    return iret_protected(cpu, in);
}
