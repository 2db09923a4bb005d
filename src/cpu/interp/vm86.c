/*
 * Virtual-8086 mode: IRET from CPL 0 into a VM86 task image and IRET inside
 * VM86 (IOPL 3 only; otherwise #GP to the monitor).  Segments in VM86 are
 * loaded real-mode style (base = selector << 4, limit 0xFFFF, DPL 3).
 * Event delivery out of VM86 is in exceptions.c; CR4.VME in vme.c.
 */
#include "interp_internal.h"

int vm86_iret_enter(struct interp_cpu *cpu);
int vm86_iret(struct interp_cpu *cpu, const struct insn *in);

static void vm86_seg(struct cpu_state *st, unsigned seg, uint16_t sel)
{
    st->seg[seg].selector = sel;
    st->seg[seg].base = (uint64_t)sel << 4;
    st->seg[seg].limit = 0xffff;
    st->seg[seg].attr = SEG_ATTR_P | SEG_ATTR_S | 3u | (3u << SEG_ATTR_DPL_SHIFT) | (seg == SEG_CS ? 8u : 0);
}

/* 32-bit IRET at CPL 0 with VM set in the popped EFLAGS: pops EIP, CS,
 * EFLAGS, ESP, SS, ES, DS, FS, GS and enters VM86 at CPL 3. */
int vm86_iret_enter(struct interp_cpu *cpu)
{
    struct cpu_state *st = cpu->st;
    uint64_t v[9];
    int r;
    for (unsigned i = 0; i < 9; i++)
        if ((r = stack_peek(cpu, 4, 4 * i, &v[i])))
            return r;
    vm86_seg(st, SEG_CS, (uint16_t)v[1]);
    vm86_seg(st, SEG_FS, (uint16_t)v[7]);
    vm86_seg(st, SEG_GS, (uint16_t)v[8]);
    vm86_seg(st, SEG_ES, (uint16_t)v[5]);
    vm86_seg(st, SEG_DS, (uint16_t)v[6]);
    vm86_seg(st, SEG_SS, (uint16_t)v[4]);
    st->gpr[GPR_RSP] = (uint32_t)v[3];
    st->rflags = ((uint32_t)v[2] & ~(uint64_t)RFLAGS_RF) | RFLAGS_FIXED;
    cpu->lf.op = LF_NONE;
    st->rip = v[0] & 0xffff;
    set_next_rip(cpu, st->rip);
    mode_refresh(cpu);
    return X_END;
}

/* IRET inside VM86: a real-mode style return that may not change IOPL. */
int vm86_iret(struct interp_cpu *cpu, const struct insn *in)
{
    bool vme = vme_active(cpu);
    if (((cpu->st->rflags >> 12) & 3) != 3 && (!vme || in->osz != 2))
        return raise_gp(cpu, 0);
    unsigned sz = in->osz;
    uint64_t ip, cs, fl;
    int r;
    if ((r = stack_peek(cpu, sz, 0, &ip)) || (r = stack_peek(cpu, sz, sz, &cs)) ||
        (r = stack_peek(cpu, sz, 2 * sz, &fl)))
        return r;
    if (vme) {                                           /* IOPL < 3 with VME: IF -> VIF */
        if ((fl & RFLAGS_TF) || ((fl & RFLAGS_IF) && (cpu->st->rflags & RFLAGS_VIP)))
            return raise_gp(cpu, 0);
        if ((r = load_cs_far(cpu, (uint16_t)cs, ip)))
            return r;
        stack_adjust(cpu, 6);
        return vme_flags_write(cpu, fl) ? X_FAULT : X_END;
    }
    if ((r = load_cs_far(cpu, (uint16_t)cs, ip)))
        return r;
    stack_adjust(cpu, 3 * (int64_t)sz);
    uint64_t mask = FLAGS_ARITH | RFLAGS_TF | RFLAGS_IF | RFLAGS_DF | RFLAGS_NT | RFLAGS_AC | RFLAGS_ID;
    flags_write(cpu, fl, sz == 2 ? mask & 0xffff : mask);
    return X_END;
}
