/*
 * The computations of the C fast paths (sse_fast.c, sse_special.c): the
 * commonest SSE2 integer instructions in GCC vector arithmetic, exact by
 * construction, and packed ADD/SUB/MUL/DIV PS/PD as the instructions
 * themselves on host registers (run only while the guest's MXCSR is live
 * in the host's, so the host rounds and collects the flags as the guest's).
 */
#ifndef PETREL_CPU_INTERP_SSE_COMPUTE_H
#define PETREL_CPU_INTERP_SSE_COMPUTE_H

#include "sse.h"

typedef uint8_t  v16qu __attribute__((vector_size(16)));
typedef uint16_t v8hu __attribute__((vector_size(16)));
typedef uint32_t v4su __attribute__((vector_size(16)));
typedef uint64_t v2du __attribute__((vector_size(16)));

static ALWAYS_INLINE v16qu compute(unsigned op, v16qu a, v16qu b, unsigned imm)
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

/* 0F / 66 0F 58 59 5C 5E: ADD MUL SUB DIV PS / PD (no other opcode reaches
 * here).  Written as the instructions themselves: the compiler would treat
 * ADD and MUL as commutative and might swap the operands, which changes
 * which NaN comes out when both are NaN. */
#define FP_OP(insn) __asm__ volatile(insn " %1, %0" : "+x"(a) : "x"(b))

static ALWAYS_INLINE v16qu compute_fp(unsigned op, bool pd, v16qu a, v16qu b)
{
    switch (op | (pd ? 0x100u : 0u)) {
    case 0x058: FP_OP("addps"); break;
    case 0x059: FP_OP("mulps"); break;
    case 0x05c: FP_OP("subps"); break;
    case 0x05e: FP_OP("divps"); break;
    case 0x158: FP_OP("addpd"); break;
    case 0x159: FP_OP("mulpd"); break;
    case 0x15c: FP_OP("subpd"); break;
    default:    FP_OP("divpd"); break;
    }
    return a;
}

#endif /* PETREL_CPU_INTERP_SSE_COMPUTE_H */
