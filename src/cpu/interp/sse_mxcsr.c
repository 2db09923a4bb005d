/*
 * The guest's MXCSR live in the host's.  While the guest masks every SIMD
 * floating-point exception (0x1F80, the usual case), no instruction can
 * fault on one, so there is nothing to check per instruction: the host's
 * MXCSR takes the guest's control bits once, the floating-point stubs run
 * without the LDMXCSR/STMXCSR pair (each of which waits for the pipeline),
 * and the flags they raise accumulate in the host register exactly as in
 * the guest's.  They are written back, and the host's MXCSR restored,
 * before anything reads or writes the guest's (LDMXCSR, STMXCSR, FXSAVE,
 * XSAVE and their restores, the per-instruction path) and at the end of
 * interp_execute.  The interpreter's C code in between does no floating
 * point, so it neither sees the guest's rounding nor raises flags.
 */
#include "sse.h"

#define MXCSR_OFF   24u
#define MXCSR_FLAGS 0x3fu
#define MXCSR_MASKS 0x1f80u

bool sse_mxcsr_enter(struct interp_cpu *cpu)
{
    uint32_t g = (uint32_t)load_le(cpu->st->xsave + MXCSR_OFF, 4);
    if ((g & MXCSR_MASKS) != MXCSR_MASKS)
        return false;
    uint32_t v = g & sse_host_mxcsr_mask();
    __asm__ volatile("stmxcsr %0" : "=m"(cpu->mxcsr_host));
    __asm__ volatile("ldmxcsr %0" : : "m"(v) : "memory");
    cpu->mxcsr_live = true;
    return true;
}

void sse_mxcsr_flush(struct interp_cpu *cpu)
{
    if (!cpu->mxcsr_live)
        return;
    uint8_t *m = cpu->st->xsave + MXCSR_OFF;
    uint32_t v;
    __asm__ volatile("stmxcsr %0" : "=m"(v) : : "memory");
    __asm__ volatile("ldmxcsr %0" : : "m"(cpu->mxcsr_host) : "memory");
    cpu->mxcsr_live = false;
    store_le(m, 4, (uint32_t)load_le(m, 4) | (v & MXCSR_FLAGS));
}
