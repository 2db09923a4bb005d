/*
 * Group 6 (0F 00): SLDT, STR, LLDT, LTR, VERR, VERW; LAR and LSL (0F 02,
 * 0F 03).  System descriptors are 16 bytes in long mode.
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

/* Whether sel's descriptor lies inside its table (VERR/VERW clear ZF
 * rather than fault when it does not). */
static bool desc_in_table(const struct interp_cpu *cpu, uint16_t sel)
{
    const struct cpu_state *st = cpu->st;
    if (sel & 4)
        return !(st->seg[SEG_LDTR].attr & SEG_ATTR_UNUSABLE) &&
               (uint64_t)(sel & 0xfff8) + 7 <= st->seg[SEG_LDTR].limit;
    return (uint64_t)(sel & 0xfff8) + 7 <= st->gdtr.limit;
}

/* The VERR/VERW test on a code or data descriptor: readable (data, or
 * readable code) or writable (writable data), and reachable from CPL and
 * RPL unless it is conforming code.  The present bit is not checked. */
static bool seg_verifiable(uint64_t d, uint16_t sel, unsigned cpl, bool write)
{
    unsigned type = (d >> 40) & 15, dpl = (d >> 45) & 3, rpl = sel & 3;
    bool code = type & 8, privileged_ok = dpl >= cpl && dpl >= rpl;
    if (!((d >> 44) & 1))
        return false;                            /* system segment or gate */
    if (write)
        return !code && (type & 2) && privileged_ok;
    if (code && !(type & 2))
        return false;                            /* execute-only code */
    return (code && (type & 4)) || privileged_ok;
}

/* VERR/VERW r/m16 (0F 00 /4 /5): ZF = the segment is readable/writable
 * from here; only the operand fetch and the descriptor read can fault.
 * Linux runs VERW on every return to user mode (MDS buffer clearing). */
static int verify_seg(struct interp_cpu *cpu, const struct insn *in, bool write)
{
    uint64_t v, d;
    int r;
    if ((r = op_rm_get(cpu, in, 2, &v, false)))
        return r;
    uint16_t sel = (uint16_t)v;
    bool ok = false;
    if ((sel & 0xfffc) && desc_in_table(cpu, sel)) {
        if ((r = desc_read(cpu, sel, &d, EXC_GP)))
            return r;
        ok = seg_verifiable(d, sel, cpu->cpl, write);
    }
    flags_set_arith(cpu, RFLAGS_ZF, ok ? RFLAGS_ZF : 0);
    return X_NEXT;
}

/* The system descriptor types LAR (all = true) or LSL accepts: LDT and
 * TSSs, plus call and task gates for LAR; only the 64-bit kinds in long
 * mode (no 16-bit TSS, 16-bit call gate or task gate). */
static bool lar_lsl_type_ok(unsigned type, bool long_mode, bool lar)
{
    uint32_t ok = long_mode ? (1u << 2) | (1u << 9) | (1u << 0xb) | (lar ? 1u << 0xc : 0)
                            : (1u << 1) | (1u << 2) | (1u << 3) | (1u << 9) | (1u << 0xb) |
                              (lar ? (1u << 4) | (1u << 5) | (1u << 0xc) : 0);
    return (ok >> type) & 1;
}

/* LAR/LSL r, r/m16: on success ZF = 1 and the access rights (LAR: the
 * descriptor's second dword masked, as the host CPU does) or the
 * byte-granular limit (LSL) go to the register; otherwise ZF = 0 and the
 * register is unchanged.  Privilege as for VERR (conforming code exempt). */
int op_lar_lsl(struct interp_cpu *cpu, const struct insn *in)
{
    uint64_t v, d;
    int r;
    bool lar = in->opc == 0x102;
    if (!cpu->protected_mode)
        return raise_ud(cpu);
    if ((r = op_rm_get(cpu, in, 2, &v, false)))
        return r;
    uint16_t sel = (uint16_t)v;
    bool ok = false;
    if ((sel & 0xfffc) && desc_in_table(cpu, sel)) {
        if ((r = desc_read(cpu, sel, &d, EXC_GP)))
            return r;
        unsigned type = (d >> 40) & 15, dpl = (d >> 45) & 3;
        bool seg = (d >> 44) & 1, conforming = seg && (type & 0xc) == 0xc;
        ok = (seg || lar_lsl_type_ok(type, cpu->st->efer & EFER_LMA, lar)) &&
             (conforming || (dpl >= cpu->cpl && dpl >= (sel & 3u)));
    }
    if (ok) {
        uint32_t hi = (uint32_t)(d >> 32), limit = (uint32_t)((d & 0xffff) | (hi & 0xf0000));
        if (hi & (1u << 23))
            limit = (limit << 12) | 0xfff;
        set_reg(cpu, in->reg, in->osz, lar ? hi & (in->osz == 2 ? 0xff00u : 0xffff00u) : limit);
    }
    flags_set_arith(cpu, RFLAGS_ZF, ok ? RFLAGS_ZF : 0);
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
    case 4: return verify_seg(cpu, in, false);
    case 5: return verify_seg(cpu, in, true);
    default: return raise_ud(cpu);
    }
}
