/*
 * x87 arithmetic on the host FPU.  Petrel runs only on x86-64 hosts, whose
 * x87 unit is the exact reference for every guest x87 instruction
 * (rounding, precision control, NaN propagation, C0-C3, the transcendental
 * results of this CPU).  So the interpreter loads the guest's x87 state into
 * the host FPU (FRSTOR, with every exception masked), executes the very
 * same instruction from a table of stubs, and reads the state back (FNSAVE,
 * which also leaves the host FPU initialised).  Memory operands are copied to a host
 * buffer that the stub addresses as [rdi].
 *
 * The stub table holds, for each escape byte D8-DF and ModRM byte, the
 * 8 bytes "endbr64; esc modrm; ret; int3"; memory forms are rewritten to
 * ModRM mod=00 rm=111 ([rdi]).  Only encodings that x87_exec accepts are
 * ever called.
 */
#include "x87.h"

__asm__(".pushsection .text.petrel_x87_stubs,\"ax\",@progbits\n"
        ".p2align 4\n"
        ".globl petrel_x87_stubs\n"
        ".hidden petrel_x87_stubs\n"
        "petrel_x87_stubs:\n"
        ".set .Lx87_esc, 0xd8\n"
        ".rept 8\n"
        ".set .Lx87_modrm, 0\n"
        ".rept 256\n"
        ".byte 0xf3, 0x0f, 0x1e, 0xfa, .Lx87_esc\n"
        ".if .Lx87_modrm < 0xc0\n"
        ".byte (.Lx87_modrm & 0x38) | 7\n"
        ".else\n"
        ".byte .Lx87_modrm\n"
        ".endif\n"
        ".byte 0xc3, 0xcc\n"
        ".set .Lx87_modrm, .Lx87_modrm + 1\n"
        ".endr\n"
        ".set .Lx87_esc, .Lx87_esc + 1\n"
        ".endr\n"
        ".popsection\n");

#define ARITH_FLAGS 0x8d5u

#define X87_CLOBBERS "memory", "cc", "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", "st(7)", \
                     "mm0", "mm1", "mm2", "mm3", "mm4", "mm5", "mm6", "mm7"

/* FRSTOR/FNSAVE (108-byte 32-bit image): they touch only the x87 state and
 * FNSAVE re-initialises the host FPU, which makes the pair about twice as
 * fast as FXRSTOR + FXSAVE + FNINIT. */
static uint64_t run_fnsave(uint8_t *fx, const uint8_t *stub, void *mem, uint64_t flags_in, const uint16_t *host_cw)
{
    uint8_t img[108];
    memset(img, 0, 28);
    memcpy(img, fx + X87_FCW, 2);
    memcpy(img + 4, fx + X87_FSW, 2);
    unsigned tw = 0;
    for (unsigned p = 0; p < 8; p++)
        if (!((fx[X87_FTW] >> p) & 1))
            tw |= 3u << (2 * p);                   /* empty; anything else is re-classified */
    store_le(img + 8, 2, tw);
    for (unsigned i = 0; i < 8; i++)
        memcpy(img + 28 + (size_t)10 * i, fx + X87_REGS + (size_t)16 * i, 10);
    uint64_t flags_out;
    /* The call needs stack below the red zone; every operand is a register. */
    __asm__ volatile("sub $128, %%rsp\n\t"
                     "frstor (%[img])\n\t"
                     "pushfq\n\t"
                     "andq $-0x8d6, (%%rsp)\n\t"
                     "orq %[fin], (%%rsp)\n\t"
                     "popfq\n\t"
                     "call *%[stub]\n\t"
                     "pushfq\n\t"
                     "popq %[fout]\n\t"
                     "fnsave (%[img])\n\t"
                     "cmpw $0x37f, (%[cw])\n\t"   /* FNSAVE left FNINIT's control word */
                     "je 1f\n\t"
                     "fldcw (%[cw])\n"
                     "1:\n\t"
                     "add $128, %%rsp"
                     : [fout] "=&r"(flags_out)
                     : [img] "r"(img), [fin] "r"(flags_in), [stub] "r"(stub), [cw] "r"(host_cw), "D"(mem)
                     : X87_CLOBBERS);
    memcpy(fx + X87_FSW, img + 4, 2);
    tw = (unsigned)load_le(img + 8, 2);
    uint8_t ab = 0;
    for (unsigned p = 0; p < 8; p++)
        if (((tw >> (2 * p)) & 3) != 3)
            ab |= (uint8_t)(1u << p);
    fx[X87_FTW] = ab;
    for (unsigned i = 0; i < 8; i++)
        memcpy(fx + X87_REGS + (size_t)16 * i, img + 28 + (size_t)10 * i, 10);
    return flags_out;
}

void x87_host_exec(uint8_t *fx, unsigned esc, unsigned modrm, void *mem, uint64_t *rflags)
{
    const uint8_t *stub = X87_STUB(esc, modrm);
    uint16_t host_cw;
    __asm__ volatile("fnstcw %0" : "=m"(host_cw));
    uint64_t flags_in = *rflags & ARITH_FLAGS;
    *rflags = run_fnsave(fx, stub, mem, flags_in, &host_cw);
}
