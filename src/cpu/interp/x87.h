/*
 * x87 state helpers shared by the x87 files.  The state lives in the
 * legacy region of cpu_state.xsave in the FXSAVE layout: FCW at 0, FSW at
 * 2, the abridged tag byte at 4 (one bit per physical register), FOP at 6,
 * FIP at 8 and FDP at 16 (64 bits each, as FXSAVE64 stores them), and
 * ST(i) at 32 + 16 * i in stack order (MMi share those slots).
 */
#ifndef PETREL_CPU_INTERP_X87_H
#define PETREL_CPU_INTERP_X87_H

#include "interp_internal.h"

#define X87_FCW  0u
#define X87_FSW  2u
#define X87_FTW  4u
#define X87_FOP  6u
#define X87_FIP  8u
#define X87_FDP  16u
#define X87_REGS 32u

#define FSW_IE   0x0001u
#define FSW_DE   0x0002u
#define FSW_ZE   0x0004u
#define FSW_OE   0x0008u
#define FSW_UE   0x0010u
#define FSW_PE   0x0020u
#define FSW_SF   0x0040u
#define FSW_ES   0x0080u     /* error summary: an unmasked exception is pending */
#define FSW_EXC  0x00ffu     /* exception flags, SF and ES */
#define FSW_CC   0x4700u     /* C0-C3 */
#define FSW_TOP  0x3800u
#define FSW_B    0x8000u     /* busy (mirrors ES) */

static inline uint16_t x87_get(const struct interp_cpu *cpu, unsigned off)
{
    return (uint16_t)load_le(cpu->st->xsave + off, 2);
}

/* Writes a 16-bit field and marks the x87 component as in use (XINUSE[0]),
 * so that XSAVE stores it and XRSTOR of the saved image restores it. */
static inline void x87_put(struct interp_cpu *cpu, unsigned off, uint16_t v)
{
    store_le(cpu->st->xsave + off, 2, v);
    cpu->st->xsave[512] |= 1;
}

/* ES and B follow the exception flags that the control word leaves unmasked. */
static inline uint16_t x87_fix_es(uint16_t fsw, uint16_t fcw)
{
    fsw &= (uint16_t)~(FSW_ES | FSW_B);
    if (fsw & ~fcw & 0x3fu)
        fsw |= FSW_ES | FSW_B;
    return fsw;
}

/* Sets FSW (TOP included): the register image is in stack order, so a new
 * TOP rotates it to keep every physical register's contents. */
void x87_set_fsw(struct interp_cpu *cpu, uint16_t fsw);

/* FERR# with CR0.NE clear (x87_control.c): x87_ferr_wait asserts it for
 * a waiting instruction that finds ES set and freezes that instruction
 * unless IGNNE# is active; x87_ferr_drop deasserts it (and so IGNNE#)
 * once ES is clear. */
int x87_ferr_wait(struct interp_cpu *cpu);
void x87_ferr_drop(struct interp_cpu *cpu);

/* After anything that may clear ES (FNCLEX, FNINIT, FLDENV, FRSTOR...). */
static inline void x87_ferr_sync(struct interp_cpu *cpu)
{
    if (unlikely(cpu->st->x87_ferr | cpu->st->x87_ignne) && !(x87_get(cpu, X87_FSW) & FSW_ES))
        x87_ferr_drop(cpu);
}

/* A waiting instruction first reports an unmasked exception left pending:
 * #MF with CR0.NE, FERR# (IRQ 13 through the chipset) without it. */
static inline int x87_pending(struct interp_cpu *cpu)
{
    if (likely(!(x87_get(cpu, X87_FSW) & FSW_ES))) {
        x87_ferr_sync(cpu);
        return X_NEXT;
    }
    if (cpu->st->cr0 & CR0_NE)
        return raise_exc(cpu, EXC_MF, false, 0);
    return x87_ferr_wait(cpu);
}

/* FNINIT's state (FOP/FIP/FDP cleared too). */
void x87_reset(struct interp_cpu *cpu);

/* The full 16-bit tag word (FNSTENV) from the abridged one and the registers. */
uint16_t x87_full_tag(const uint8_t *fx);

/* FLDENV, FNSTENV, FRSTOR, FNSAVE (x87_env.c). */
int x87_env_op(struct interp_cpu *cpu, const struct insn *in);

/* The host stub table (x87_host.c): 8 bytes per escape byte and ModRM
 * byte, "endbr64; esc modrm; ret", memory forms addressing [rdi]. */
extern const uint8_t petrel_x87_stubs[];
#define X87_STUB(esc, modrm) (petrel_x87_stubs + (size_t)(((esc) & 7u) * 256u + ((modrm) & 0xffu)) * 8u)

/* Executes escape opcode esc (0-7) with ModRM byte modrm on the host FPU
 * with the x87 state of the 512-byte FXSAVE image fx (16-byte aligned; bytes
 * 0-159 are used, the rest is scratch), which receives the result.  A memory operand is host memory at mem (the
 * stub addresses it as [rdi]).  *rflags: in, the guest's arithmetic flags
 * (FCMOVcc reads them); out, the host flags after the instruction (FCOMI). */
void x87_host_exec(uint8_t *fx, unsigned esc, unsigned modrm, void *mem, uint64_t *rflags);

/* The x87 state live in the host FPU (x87_live.c).  x87_live_enter loads
 * it when every exception is masked and none is pending (false if not);
 * x87_live_exec runs one arithmetic/data instruction on it (its memory
 * operand, if read, in buf), or returns X87_SLOW for the general path
 * (after x87_live_flush); x87_live_flush writes it back to cpu_state and
 * must precede anything else that reads or writes the x87 state there;
 * x87_live_fsw is FSW wherever it is. */
#define X87_SLOW (-1)
bool x87_live_enter(struct interp_cpu *cpu);
int x87_live_exec(struct interp_cpu *cpu, const struct insn *in, unsigned esc, unsigned modrm, uint8_t *buf,
                  uint64_t ea, unsigned size, bool store);
void x87_live_flush(struct interp_cpu *cpu);
uint16_t x87_live_fsw(struct interp_cpu *cpu);

/* Arithmetic and data-movement instructions (x87_exec.c). */
int x87_exec(struct interp_cpu *cpu, const struct insn *in);

/* The same on the live state (cpu->x87_live, CR0.EM/TS clear): X87_SLOW
 * for anything else (control instructions, undefined encodings, stores
 * x87_live_exec declines), which then takes the general way. */
int x87_exec_live(struct interp_cpu *cpu, const struct insn *in);

/* Whether x87_exec_live runs the instruction (not a control instruction,
 * FNOP or undefined), with its stub's escape (0-7) and ModRM byte (aliases
 * mapped), the memory operand size (0 for register forms) and whether it
 * is a store. */
bool x87_live_form(const struct insn *in, unsigned *esc, unsigned *modrm, unsigned *size, bool *store);

/* Decode time: a handler specialised to the instruction's form
 * (x87_special.c) for what x87_exec_live runs; in->fn is left alone
 * otherwise. */
void x87_specialize(struct insn *in);

#endif /* PETREL_CPU_INTERP_X87_H */
