/*
 * x87 control instructions (no arithmetic yet: issue 4): FNINIT, FNCLEX,
 * FLDCW, FNSTCW, FNSTSW (memory and AX), FNOP and FWAIT.  A kernel runs
 * these to initialise and probe the FPU before it saves and restores the
 * state with FXSAVE/XSAVE.  The state is the legacy region of
 * cpu_state.xsave (FXSAVE layout: FCW at 0, FSW at 2, abridged FTW at 4,
 * FOP at 6, FIP at 8, FDP at 16).  Control instructions leave FOP, FIP and
 * FDP alone, as on hardware.  Every other x87 opcode is still #UD (and
 * CPUID does not advertise an FPU).
 */
#include <stdio.h>

#include "handlers.h"

#define FCW_OFF 0u
#define FSW_OFF 2u
#define FTW_OFF 4u
#define FSW_ES  0x0080u     /* error summary: an unmasked exception is pending */
#define FSW_EXC 0x00ffu     /* exception flags, SF and ES */
#define FSW_B   0x8000u     /* busy (mirrors ES) */

static uint16_t x87_get(const struct interp_cpu *cpu, unsigned off)
{
    return (uint16_t)load_le(cpu->st->xsave + off, 2);
}

/* Writes a 16-bit field and marks the x87 component as in use (XINUSE[0]),
 * so that XSAVE stores it and XRSTOR of the saved image restores it. */
static void x87_put(struct interp_cpu *cpu, unsigned off, uint16_t v)
{
    store_le(cpu->st->xsave + off, 2, v);
    cpu->st->xsave[512] |= 1;
}

/* CR0.EM or CR0.TS: #NM for every x87 instruction except FWAIT. */
static int x87_avail(struct interp_cpu *cpu)
{
    if (cpu->st->cr0 & (CR0_EM | CR0_TS))
        return raise_exc(cpu, EXC_NM, false, 0);
    return X_NEXT;
}

static void fninit(struct interp_cpu *cpu)
{
    x87_put(cpu, FCW_OFF, 0x037f);             /* all exceptions masked, 64-bit precision, nearest */
    x87_put(cpu, FSW_OFF, 0);
    cpu->st->xsave[FTW_OFF] = 0;               /* abridged tag word: all registers empty */
    memset(cpu->st->xsave + 6, 0, 18);         /* FOP, FIP, FDP (and FCS/FDS) */
}

static int x87_unimplemented(struct interp_cpu *cpu, const struct insn *in)
{
    snprintf(cpu->error, sizeof(cpu->error), "x87 instruction %02x /%u (modrm %s) is not implemented",
             in->opc, in->ext, in->mod3 ? "register" : "memory");
    return raise_ud(cpu);
}

/* Register forms: DB E2 FNCLEX, DB E3 FNINIT, DF E0 FNSTSW AX, D9 D0 FNOP. */
static int x87_reg(struct interp_cpu *cpu, const struct insn *in)
{
    unsigned esc = in->opc & 7, rm = in->rm & 7;
    if (esc == 3 && in->ext == 4 && rm == 2)
        x87_put(cpu, FSW_OFF, x87_get(cpu, FSW_OFF) & ~(FSW_EXC | FSW_B));
    else if (esc == 3 && in->ext == 4 && rm == 3)
        fninit(cpu);
    else if (esc == 7 && in->ext == 4 && rm == 0)
        set_reg(cpu, GPR_RAX, 2, x87_get(cpu, FSW_OFF));
    else if (!(esc == 1 && in->ext == 2 && rm == 0))
        return x87_unimplemented(cpu, in);
    return X_NEXT;
}

/* Memory forms: D9 /5 FLDCW m16, D9 /7 FNSTCW m16, DD /7 FNSTSW m16. */
static int x87_mem(struct interp_cpu *cpu, const struct insn *in)
{
    unsigned esc = in->opc & 7;
    uint64_t ea = insn_ea(cpu, in), v;
    if (esc == 1 && in->ext == 5) {
        int r = mem_read(cpu, in->seg, ea, 2, &v);
        if (!r)
            x87_put(cpu, FCW_OFF, (uint16_t)((v & 0x1f3f) | 0x40));   /* reserved bits: 6 is 1 */
        return r;
    }
    if (esc == 1 && in->ext == 7)
        return mem_write(cpu, in->seg, ea, 2, x87_get(cpu, FCW_OFF));
    if (esc == 5 && in->ext == 7)
        return mem_write(cpu, in->seg, ea, 2, x87_get(cpu, FSW_OFF));
    return x87_unimplemented(cpu, in);
}

/* The escape opcodes D8-DF. */
int op_x87(struct interp_cpu *cpu, const struct insn *in)
{
    int r = x87_avail(cpu);
    if (r)
        return r;
    return in->mod3 ? x87_reg(cpu, in) : x87_mem(cpu, in);
}

/* FWAIT (9B): #NM when CR0.MP and CR0.TS; #MF when an unmasked x87
 * exception is pending and CR0.NE selects native reporting (with NE clear
 * the legacy FERR# pin is not modelled and FWAIT completes). */
int op_fwait(struct interp_cpu *cpu, const struct insn *in)
{
    (void)in;
    const struct cpu_state *st = cpu->st;
    if ((st->cr0 & (CR0_MP | CR0_TS)) == (CR0_MP | CR0_TS))
        return raise_exc(cpu, EXC_NM, false, 0);
    if ((x87_get(cpu, FSW_OFF) & FSW_ES) && (st->cr0 & CR0_NE))
        return raise_exc(cpu, EXC_MF, false, 0);
    return X_NEXT;
}
