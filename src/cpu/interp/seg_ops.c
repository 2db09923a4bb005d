/*
 * Instructions that move segment registers: MOV Sreg, PUSH/POP Sreg and
 * the far-pointer loads LDS/LES/LSS/LFS/LGS.  Loading SS blocks interrupts
 * for one instruction (so the following RSP load is atomic with it).
 */
#include "interp_internal.h"

/* Which segment a PUSH/POP opcode names. */
static unsigned sreg_of_opcode(uint16_t opc)
{
    switch (opc) {
    case 0x06: case 0x07: return SEG_ES;
    case 0x0e: return SEG_CS;
    case 0x16: case 0x17: return SEG_SS;
    case 0x1e: case 0x1f: return SEG_DS;
    case 0x1a0: case 0x1a1: return SEG_FS;
    default: return SEG_GS;
    }
}

static int after_load(struct interp_cpu *cpu, unsigned seg)
{
    if (seg == SEG_SS) {
        cpu->sti_shadow = true;
        cpu->ss_shadow = true;
        return X_END;
    }
    return X_NEXT;
}

/* MOV Ev,Sw (8C): a register destination gets the zero-extended selector. */
int op_mov_rm_sreg(struct interp_cpu *cpu, const struct insn *in)
{
    if (in->ext > SEG_GS)
        return raise_ud(cpu);
    uint16_t sel = cpu->st->seg[in->ext].selector;
    if (in->mod3) {
        set_reg(cpu, in->rm, in->osz == 2 ? 2 : 4, sel);
        if (in->osz == 8)
            cpu->gpr[in->rm] = sel;
        return X_NEXT;
    }
    return mem_write(cpu, in->seg, insn_ea(cpu, in), 2, sel);
}

/* MOV Sw,Ew (8E); loading CS this way is #UD. */
int op_mov_sreg_rm(struct interp_cpu *cpu, const struct insn *in)
{
    if (in->ext > SEG_GS || in->ext == SEG_CS)
        return raise_ud(cpu);
    uint64_t v;
    int r = op_rm_get(cpu, in, 2, &v, false);
    if (r || (r = seg_load(cpu, in->ext, (uint16_t)v)))
        return r;
    return after_load(cpu, in->ext);
}

int op_push_sreg(struct interp_cpu *cpu, const struct insn *in)
{
    return stack_push(cpu, in->osz, cpu->st->seg[sreg_of_opcode(in->opc)].selector);
}

int op_pop_sreg(struct interp_cpu *cpu, const struct insn *in)
{
    unsigned seg = sreg_of_opcode(in->opc);
    uint64_t v;
    int r = stack_peek(cpu, in->osz, 0, &v);
    if (r || (r = seg_load(cpu, seg, (uint16_t)v)))
        return r;
    stack_adjust(cpu, in->osz);
    return after_load(cpu, seg);
}

/* LES/LDS (C4 C5 outside 64-bit mode), LSS/LFS/LGS (0F B2 B4 B5). */
int op_load_far_ptr(struct interp_cpu *cpu, const struct insn *in)
{
    unsigned seg;
    switch (in->opc) {
    case 0xc4: seg = SEG_ES; break;
    case 0xc5: seg = SEG_DS; break;
    case 0x1b2: seg = SEG_SS; break;
    case 0x1b4: seg = SEG_FS; break;
    default: seg = SEG_GS; break;
    }
    uint64_t ea = insn_ea(cpu, in), off, sel;
    int r;
    if ((r = mem_read(cpu, in->seg, ea, in->osz, &off)) ||
        (r = mem_read(cpu, in->seg, (ea + in->osz) & size_mask(in->asz), 2, &sel)) ||
        (r = seg_load(cpu, seg, (uint16_t)sel)))
        return r;
    set_reg(cpu, in->reg, in->osz, off);
    return after_load(cpu, seg);
}
