/*
 * C fast path of the commonest SSE2 integer instructions (66 0F: logic,
 * add/subtract, compare for equality, PSHUFD) on XMM registers or an
 * aligned m128.  They are exact by construction (no MXCSR, no flags), so
 * GCC's vector arithmetic computes them without the host-stub round trip
 * of sse.c (operands into fixed host registers and back).
 */
#include "sse.h"

#define XMM_OFF    160u
#define XINUSE_SSE 0x2u

typedef uint8_t  v16qu __attribute__((vector_size(16)));
typedef uint16_t v8hu __attribute__((vector_size(16)));
typedef uint32_t v4su __attribute__((vector_size(16)));
typedef uint64_t v2du __attribute__((vector_size(16)));

/* 66 0F opcodes handled here. */
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

static v16qu compute(unsigned op, v16qu a, v16qu b, unsigned imm)
{
    switch (op) {
    case 0x70: {                                                   /* PSHUFD */
        v4su s = (v4su)b;
        v4su r = { s[imm & 3u], s[(imm >> 2) & 3u], s[(imm >> 4) & 3u], s[(imm >> 6) & 3u] };
        return (v16qu)r;
    }
    case 0x74: return (v16qu)(a == b);                             /* PCMPEQB */
    case 0x75: return (v16qu)((v8hu)a == (v8hu)b);
    case 0x76: return (v16qu)((v4su)a == (v4su)b);
    case 0xd4: return (v16qu)((v2du)a + (v2du)b);                  /* PADDQ */
    case 0xdb: return a & b;                                       /* PAND */
    case 0xdf: return ~a & b;                                      /* PANDN */
    case 0xeb: return a | b;                                       /* POR */
    case 0xef: return a ^ b;                                       /* PXOR */
    case 0xf8: return a - b;                                       /* PSUBB */
    case 0xf9: return (v16qu)((v8hu)a - (v8hu)b);
    case 0xfa: return (v16qu)((v4su)a - (v4su)b);
    case 0xfb: return (v16qu)((v2du)a - (v2du)b);
    case 0xfc: return a + b;                                       /* PADDB */
    case 0xfd: return (v16qu)((v8hu)a + (v8hu)b);
    default:   return (v16qu)((v4su)a + (v4su)b);                  /* FE PADDD */
    }
}

int sse_int_fast(struct interp_cpu *cpu, const struct insn *in)
{
    unsigned op = in->sse & 0xffu;
    if ((in->sse >> 8) != SP_66 * SM_COUNT + SM_0F || !handled(op))
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
            r = mem_read(cpu, in->seg, (ea + 8) & in->amask, 8, &hi);
        if (r)
            return r;
        memcpy(&b, &lo, 8);
        memcpy((uint8_t *)&b + 8, &hi, 8);
    }
    v16qu res = compute(op, a, b, (unsigned)in->imm & 0xffu);
    memcpy(x + (size_t)16 * (in->reg & 15u), &res, 16);
    cpu->st->xsave[512] |= XINUSE_SSE;
    return X_NEXT;
}
