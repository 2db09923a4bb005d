/*
 * The x87 state live in the host FPU.  While the guest's control word
 * masks every exception (FNINIT's 0x037F, the usual case) and none is
 * pending, the host FPU is exactly the guest's: same registers, tags, TOP,
 * flags, precision and rounding control, and each x87 instruction runs as
 * its own host stub (x87_host.c) on that state with no load or store
 * around it.  The state is loaded once (FRSTOR) when such an instruction
 * finds it in cpu_state, and written back (FNSAVE, which also gives the
 * host its empty FPU back) before anything else reads or writes it:
 * the control and environment instructions, MMX, FXSAVE/XSAVE and their
 * restores, the general x87 path, and the end of interp_execute.
 *
 * Between two guest instructions the interpreter's own C code runs with
 * the guest's stack in the host FPU.  That is sound because that code
 * never touches x87 or MMX registers (no long double anywhere in Petrel;
 * the SSE stubs that use MMX registers flush first) and the host masks
 * every exception, so nothing traps.  FOP, FIP and FDP are not the host's
 * (its pointers are Petrel's): x87_exec records them per instruction and
 * the write-back leaves them alone.
 */
#include "x87.h"

#define ARITH_FLAGS 0x8d5u
#define X87_CLOBBERS "memory", "cc", "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", "st(7)", \
                     "mm0", "mm1", "mm2", "mm3", "mm4", "mm5", "mm6", "mm7"

/* The 108-byte FNSAVE/FRSTOR image (32-bit protected-mode layout). */
#define IMG_FCW  0u
#define IMG_FSW  4u
#define IMG_FTW  8u
#define IMG_REGS 28u

bool x87_live_enter(struct interp_cpu *cpu)
{
    uint8_t *fx = cpu->st->xsave;
    uint16_t fcw = x87_get(cpu, X87_FCW), fsw = x87_get(cpu, X87_FSW);
    if ((fcw & 0x3fu) != 0x3fu || (fsw & (FSW_ES | FSW_B)))
        return false;
    uint8_t img[108];
    memset(img, 0, IMG_REGS);
    memcpy(img + IMG_FCW, fx + X87_FCW, 2);
    memcpy(img + IMG_FSW, fx + X87_FSW, 2);
    unsigned tw = 0;
    for (unsigned p = 0; p < 8; p++)
        if (!((fx[X87_FTW] >> p) & 1))
            tw |= 3u << (2 * p);                   /* empty; the rest is classified by the FPU */
    store_le(img + IMG_FTW, 2, tw);
    for (unsigned i = 0; i < 8; i++)
        memcpy(img + IMG_REGS + (size_t)10 * i, fx + X87_REGS + (size_t)16 * i, 10);
    __asm__ volatile("fnstcw %0" : "=m"(cpu->x87_host_cw));
    __asm__ volatile("frstor %0" : : "m"(img) : X87_CLOBBERS);
    fx[512] |= 1;                                  /* XINUSE[0]: the instruction will change it */
    cpu->x87_live = true;
    return true;
}

void x87_live_flush(struct interp_cpu *cpu)
{
    if (!cpu->x87_live)
        return;
    uint8_t img[108], *fx = cpu->st->xsave;
    __asm__ volatile("fnsave %0" : "=m"(img) : : X87_CLOBBERS);
    if (cpu->x87_host_cw != 0x37f)                 /* FNSAVE left FNINIT's control word */
        __asm__ volatile("fldcw %0" : : "m"(cpu->x87_host_cw));
    cpu->x87_live = false;
    memcpy(fx + X87_FSW, img + IMG_FSW, 2);
    unsigned tw = (unsigned)load_le(img + IMG_FTW, 2);
    uint8_t ab = 0;
    for (unsigned p = 0; p < 8; p++)
        if (((tw >> (2 * p)) & 3) != 3)
            ab |= (uint8_t)(1u << p);
    fx[X87_FTW] = ab;
    for (unsigned i = 0; i < 8; i++)
        memcpy(fx + X87_REGS + (size_t)16 * i, img + IMG_REGS + (size_t)10 * i, 10);
}

uint16_t x87_live_fsw(struct interp_cpu *cpu)
{
    if (!cpu->x87_live)
        return x87_get(cpu, X87_FSW);
    uint16_t sw;
    __asm__ volatile("fnstsw %0" : "=m"(sw));
    return sw;
}

/* Calls the stub; the stack below the red zone is used, every operand is a register. */
static void run_plain(const uint8_t *stub, void *mem)
{
    __asm__ volatile("sub $128, %%rsp\n\t"
                     "call *%[stub]\n\t"
                     "add $128, %%rsp"
                     : : [stub] "r"(stub), "D"(mem) : X87_CLOBBERS);
}

/* ... with the guest's arithmetic flags in (FCMOVcc) and the host's out (FCOMI). */
static uint64_t run_flags(const uint8_t *stub, uint64_t flags_in)
{
    uint64_t flags_out;
    __asm__ volatile("sub $128, %%rsp\n\t"
                     "pushfq\n\t"
                     "andq $-0x8d6, (%%rsp)\n\t"
                     "orq %[fin], (%%rsp)\n\t"
                     "popfq\n\t"
                     "call *%[stub]\n\t"
                     "pushfq\n\t"
                     "popq %[fout]\n\t"
                     "add $128, %%rsp"
                     : [fout] "=&r"(flags_out) : [fin] "r"(flags_in), [stub] "r"(stub) : X87_CLOBBERS);
    return flags_out;
}

int x87_live_exec(struct interp_cpu *cpu, const struct insn *in, unsigned esc, unsigned modrm, uint8_t *buf,
                  uint64_t ea, unsigned size, bool store)
{
    const uint8_t *stub = X87_STUB(esc, modrm);
    if (store) {                                   /* the target must be writable before the stack changes */
        uint64_t lin;
        int r;
        if (seg_linear(cpu, in->seg, ea, size, ACC_WRITE, &lin))
            return X_FAULT;
        uint8_t *host = mem_rmw_host(cpu, lin, size, &r);
        if (!host)
            return r ? r : X87_SLOW;               /* MMIO or split across pages */
        run_plain(stub, host);
        return X_NEXT;
    }
    if (!in->mod3) {
        run_plain(stub, buf);
        return X_NEXT;
    }
    bool fcmov = (esc == 2 || esc == 3) && modrm < 0xe0;
    bool fcomi = (esc == 3 || esc == 7) && modrm >= 0xe8 && modrm < 0xf8;
    if (!fcmov && !fcomi) {
        run_plain(stub, NULL);
        return X_NEXT;
    }
    uint64_t fl = run_flags(stub, fcmov ? flags_get(cpu) & ARITH_FLAGS : 0);
    if (fcomi)                                     /* ZF PF CF; OF SF AF cleared */
        flags_set_arith(cpu, FLAGS_ARITH, fl & (RFLAGS_CF | RFLAGS_ZF | RFLAGS_PF));
    return X_NEXT;
}
