/*
 * C fast path of the commonest SSE/SSE2 instructions on XMM registers or an
 * aligned m128, without the host-stub round trip of sse.c (operands into
 * fixed host registers and back):
 * - integer (66 0F: logic, add/subtract, compare for equality, PSHUFD):
 *   exact by construction, no MXCSR, no flags;
 * - packed ADD/SUB/MUL/DIV PS/PD, only while the guest's MXCSR is live in
 *   the host's (sse_mxcsr.c, every exception masked): the very same
 *   instruction on the operands in host registers, which rounds and raises
 *   flags in the host MXCSR exactly as the stub would.
 */
#include "sse_compute.h"

#define XMM_OFF    160u
#define XINUSE_SSE 0x2u

/* 66 0F integer opcodes handled here. */
static bool handled(unsigned op)
{
    switch (op) {
    case 0x70: case 0x74: case 0x75: case 0x76:
    case 0xd4: case 0xdb: case 0xdf: case 0xeb: case 0xef:
    case 0xf8: case 0xf9: case 0xfa: case 0xfb: case 0xfc: case 0xfd: case 0xfe:
        return true;
    default:
        return false;
    }
}

int sse_fast(struct interp_cpu *cpu, const struct insn *in)
{
    unsigned op = in->sse & 0xffu, table = in->sse >> 8;
    bool fp = (table == SP_NONE * SM_COUNT + SM_0F || table == SP_66 * SM_COUNT + SM_0F) &&
              (op == 0x58 || op == 0x59 || op == 0x5c || op == 0x5e);
    if (fp ? !(cpu->mxcsr_live || sse_mxcsr_enter(cpu)) : table != SP_66 * SM_COUNT + SM_0F || !handled(op))
        return SSE_SLOW;
    uint8_t *x = cpu->st->xsave + XMM_OFF;
    v16qu a, b;
    memcpy(&a, x + (size_t)16 * (in->reg & 15u), 16);
    if (in->mod3) {
        memcpy(&b, x + (size_t)16 * (in->rm & 15u), 16);
    } else {
        uint64_t ea = insn_ea(cpu, in), lo, hi;
        if ((cpu->seg[in->seg].base + ea) & 15u)
            return raise_gp(cpu, 0);                               /* every form here is aligned */
        int r = mem_read(cpu, in->seg, ea, 8, &lo);
        if (!r)
            r = mem_read(cpu, in->seg, (ea + 8) & insn_amask(in), 8, &hi);
        if (r)
            return r;
        memcpy(&b, &lo, 8);
        memcpy((uint8_t *)&b + 8, &hi, 8);
    }
    v16qu res = fp ? compute_fp(op, table != 0, a, b) : compute(op, a, b, (unsigned)in->imm & 0xffu);
    memcpy(x + (size_t)16 * (in->reg & 15u), &res, 16);
    cpu->st->xsave[512] |= XINUSE_SSE;
    return X_NEXT;
}
