/*
 * Differential test of the interpreter's SSE .. SSE4.2, AES-NI, PCLMULQDQ,
 * CRC32 and POPCNT against the host CPU (64-bit mode).  Random sequences of
 * legacy-encoded (non-VEX) instructions run natively (a trampoline loads
 * the x87/MMX/SSE state with FXRSTOR, RFLAGS and every GPR but RSP, runs
 * the sequence, and stores them back with FXSAVE) and under the
 * interpreter from the same state.  XMM0-15 hold interesting lanes (zeros
 * of both signs, infinities, quiet and signalling NaNs, denormals, values
 * around 1, extremes, integer-conversion edges, small integers, random
 * bits, byte strings with zero bytes for the string instructions); MXCSR
 * has random rounding control, DAZ, FTZ and sticky flags, all exceptions
 * masked (an unmasked one would trap natively).  Memory operands are
 * [rbp+disp8] in a data page of the same values, 16-byte aligned for the
 * forms that require it, any offset for the others.  Compared bit-exactly:
 * XMM0-15, MXCSR, the x87/MMX registers, FCW/FSW/abridged FTW (MMX forms
 * and MOVDQ2Q/CVTPS2PI & co. move TOP and the tags), RFLAGS' arithmetic
 * flags (COMISS, PTEST, PCMPxSTRx, CRC32, POPCNT), the GPRs and the page.
 *
 * On a mismatch the failing sequence is cut down to the first instruction
 * whose prefix differs and that prefix is printed with every field that
 * differs (cpu = host CPU, interp = interpreter), or the exception the
 * interpreter raised and where.
 *
 * test_sse_undefined runs encodings that are no instruction (wrong
 * prefix, register form of a memory-only form and vice versa, unassigned
 * /ext) on both: SIGILL on the host, #UD in the interpreter.  The other
 * tests check exception rules on the interpreter only (the host would kill
 * the test): #GP(0) for a misaligned 16-byte operand, #UD without
 * CR4.OSFXSR, with CR0.EM or with LOCK, #NM with CR0.TS, and an unmasked
 * SIMD exception: #XM with the destination unchanged and the flag
 * set in MXCSR, #UD when CR4.OSXMMEXCPT is clear (a sticky flag under a
 * clear mask is not pending), and #GP(0) from LDMXCSR with a reserved bit.
 * test_sse_diff_harness checks the harness on what the interpreter had
 * before SSE (the state round trip, POPCNT).
 *
 * INTERP_SSE_SEQUENCES=<n> (default 40,000), INTERP_SSE_SEED=<s>,
 * INTERP_SSE_DUMP=1 print every sequence, INTERP_SSE_TRACE=1 each sequence
 * before it runs natively, INTERP_SSE_NATIVE_ONLY=1 run the native side
 * alone (checks the generator, not the interpreter), INTERP_SSE_ONLY=<s>
 * draw only the forms whose name contains s (e.g. PCMP, CVT, AES).
 */
#include <cpuid.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <cmocka.h>

#include "interp_sys_harness.h"

#define DATA_ADDR  UINT64_C(0x300000000000)   /* host and guest linear address of the data page */
#define DATA_GPA   0x20000u
#define DATA_LEN   256u
#define EXEC_SIZE  0x2000u
#define ARITH      0x8d5u
#define MAX_INSNS  8u
#define MXCSR_OFF  24u
#define XMM_OFF    160u
#define MXCSR_SLOT 0x7c                       /* LDMXCSR's image in the data page */
#define MASKMOV_AT 0x40                       /* MASKMOVDQU's destination */

/* The trampoline's image of the state (offsets are wired into its code). */
struct sstate {
    _Alignas(16) uint8_t fx[512];
    uint64_t gpr[16];        /* offset 512; RSP unused */
    uint64_t rflags;         /* offset 640 */
    uint32_t host_mxcsr;     /* offset 648: reloaded on the way out */
};
#define GPR_OFF    512u
#define RFLAGS_OFF 640u
#define HOSTMX_OFF 648u

struct enc {
    uint8_t b[512];
    unsigned n;
    unsigned ninsn;
    unsigned start[MAX_INSNS + 1];            /* offset of each instruction */
    const char *name[MAX_INSNS];
};

static void emit(struct enc *e, uint8_t x) { e->b[e->n++] = x; }

static void emit_bytes(struct enc *e, const uint8_t *p, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        emit(e, p[i]);
}

static void emit32(struct enc *e, uint32_t v)
{
    for (unsigned i = 0; i < 4; i++)
        emit(e, (uint8_t)(v >> (8 * i)));
}

static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

static unsigned rn(unsigned n) { return (unsigned)(rnd() % n); }

/* ---- values ---- */

static uint32_t rnd_f32(void)
{
    uint32_t s = (uint32_t)rn(2) << 31, m = (uint32_t)rnd() & 0x7fffff;
    switch (rn(12)) {
    case 0: return s;                                                          /* zero */
    case 1: return s | 0x7f800000;                                             /* infinity */
    case 2: return s | 0x7fc00000 | (rn(2) ? m : 0);                           /* QNaN */
    case 3: return s | 0x7f800000 | (m & 0x3fffff) | 1;                        /* SNaN */
    case 4: return s | ((m >> rn(23)) | 1);                                    /* denormal */
    case 5: return s | (124u + rn(7)) << 23 | (rn(2) ? m : 0);                 /* around 1 */
    case 6: return s | (rn(2) ? 1u : 254u) << 23 | (rn(2) ? m : 0x7fffff);     /* extremes */
    case 7: {                                                                  /* small integer or half */
        float f = (float)((int)rn(400) - 200) / (rn(2) ? 1.0f : 2.0f);
        uint32_t v;
        memcpy(&v, &f, 4);
        return v;
    }
    case 8: return s | (155u + rn(10)) << 23 | (rn(2) ? m : 0);                /* around 2^31 .. 2^36 */
    case 9: return s | (186u + rn(6)) << 23 | (rn(2) ? m : 0);                 /* around 2^63 */
    default: return (uint32_t)rnd();
    }
}

static uint64_t rnd_f64(void)
{
    uint64_t s = (uint64_t)rn(2) << 63, m = rnd() & ((UINT64_C(1) << 52) - 1);
    switch (rn(12)) {
    case 0: return s;
    case 1: return s | UINT64_C(0x7ff) << 52;
    case 2: return s | UINT64_C(0xfff) << 51 | (rn(2) ? m : 0);
    case 3: return s | UINT64_C(0x7ff) << 52 | (m & ((UINT64_C(1) << 51) - 1)) | 1;
    case 4: return s | ((m >> rn(52)) | 1);
    case 5: return s | (uint64_t)(1020 + rn(7)) << 52 | (rn(2) ? m : 0);
    case 6: return s | (uint64_t)(rn(2) ? 1 : 2046) << 52 | (rn(2) ? m : (UINT64_C(1) << 52) - 1);
    case 7: {
        double d = (double)((int)rn(400) - 200) / (rn(2) ? 1.0 : 2.0);
        uint64_t v;
        memcpy(&v, &d, 8);
        return v;
    }
    case 8: return s | (uint64_t)(1050 + rn(10)) << 52 | (rn(2) ? m : 0);
    case 9: return s | (uint64_t)(rn(2) ? 1086 + rn(4) : 1023 - 126 - rn(30)) << 52 | (rn(2) ? m : 0);  /* 2^63, float limits */
    default: return rnd();
    }
}

static uint16_t rnd_i16(void)
{
    static const uint16_t edges[] = { 0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0xff80 };
    switch (rn(4)) {
    case 0: return edges[rn(sizeof(edges) / sizeof(edges[0]))];
    case 1: return (uint16_t)((int)rn(300) - 150);
    default: return (uint16_t)rnd();
    }
}

/* 16 bytes of one flavour. */
static void rnd_xmm(uint8_t *p)
{
    switch (rn(8)) {
    case 0:
    case 1:
        for (unsigned i = 0; i < 4; i++) {
            uint32_t v = rnd_f32();
            memcpy(p + (size_t)4 * i, &v, 4);
        }
        break;
    case 2:
    case 3:
        for (unsigned i = 0; i < 2; i++) {
            uint64_t v = rnd_f64();
            memcpy(p + (size_t)8 * i, &v, 8);
        }
        break;
    case 4: {                                       /* a string: a few letters, zero bytes */
        unsigned zero_at = rn(20);
        for (unsigned i = 0; i < 16; i++)
            p[i] = i == zero_at || rn(12) == 0 ? 0 : (uint8_t)(rn(5) ? 'a' + rn(4) : rnd());
        break;
    }
    case 5:
        for (unsigned i = 0; i < 8; i++) {
            uint16_t v = rnd_i16();
            memcpy(p + (size_t)2 * i, &v, 2);
        }
        break;
    case 6:                                          /* mixed lanes */
        for (unsigned i = 0; i < 4; i++) {
            uint32_t v = rn(2) ? rnd_f32() : (uint32_t)(int32_t)(int16_t)rnd_i16();
            memcpy(p + (size_t)4 * i, &v, 4);
        }
        break;
    default:
        for (unsigned i = 0; i < 16; i += 8) {
            uint64_t v = rnd();
            memcpy(p + i, &v, 8);
        }
        break;
    }
}

static uint64_t rnd_gpr(void)
{
    switch (rn(4)) {
    case 0: return (uint64_t)((int64_t)rn(41) - 20);                            /* small, lengths */
    case 1: return (uint32_t)rnd();
    default: return rnd();
    }
}

/* ---- instructions ---- */

enum form {
    F_XX,      /* xmm, xmm/m */
    F_XG,      /* xmm, r/m (GPR source) */
    F_GX,      /* GPR destination, xmm/m */
    F_XTOG,    /* r/m (GPR destination), xmm */
    F_GM,      /* m, GPR (MOVNTI) */
    F_GG,      /* GPR destination, r/m (CRC32, POPCNT) */
    F_MM,      /* mm, mm/m64 */
    F_XM,      /* xmm, mm/m64 */
    F_MX,      /* mm, xmm/m */
    F_SHIFT,   /* xmm, imm8 with ModRM.reg = ext */
    F_MASKMOV, /* MASKMOVDQU to [rdi] */
    F_LDMXCSR, /* a masked MXCSR image stored, then loaded */
    F_STMXCSR,
};

#define A   0x01u   /* a 16-byte memory operand that must be aligned */
#define M   0x02u   /* memory operand only */
#define R   0x04u   /* register operand only */
#define I   0x08u   /* imm8 */
#define I7  0x10u   /* imm8 0-7 (CMPxx predicates) */
#define W   0x20u   /* REX.W selects a 64-bit GPR */
#define O16 0x40u   /* 66 selects a 16-bit GPR operand (beside F2/F3) */
#define E   0x80u   /* PCMPESTRx: lengths in RAX/RDX */

enum feat { FT_SSE, FT_SSE2, FT_SSE3, FT_SSSE3, FT_SSE41, FT_SSE42, FT_AES, FT_PCLMUL, FT_POPCNT, FT_COUNT };

struct op {
    const char *name;
    uint8_t pfx, map, opc, form, flags, feat, ext;
};

#define OP(n, p, m, o, f, fl, ft) { n, p, m, o, f, fl, ft, 0 }
#define SH(n, o, x) { n, 0x66, 1, o, F_SHIFT, R | I, FT_SSE2, x }

static const struct op fixed_ops[] = {
    /* SSE */
    OP("MOVUPS", 0, 1, 0x10, F_XX, 0, FT_SSE), OP("MOVUPS st", 0, 1, 0x11, F_XX, 0, FT_SSE),
    OP("MOVLPS/MOVHLPS", 0, 1, 0x12, F_XX, 0, FT_SSE), OP("MOVLPS st", 0, 1, 0x13, F_XX, M, FT_SSE),
    OP("UNPCKLPS", 0, 1, 0x14, F_XX, A, FT_SSE), OP("UNPCKHPS", 0, 1, 0x15, F_XX, A, FT_SSE),
    OP("MOVHPS/MOVLHPS", 0, 1, 0x16, F_XX, 0, FT_SSE), OP("MOVHPS st", 0, 1, 0x17, F_XX, M, FT_SSE),
    OP("MOVAPS", 0, 1, 0x28, F_XX, A, FT_SSE), OP("MOVAPS st", 0, 1, 0x29, F_XX, A, FT_SSE),
    OP("CVTPI2PS", 0, 1, 0x2a, F_XM, 0, FT_SSE), OP("MOVNTPS", 0, 1, 0x2b, F_XX, M | A, FT_SSE),
    OP("CVTTPS2PI", 0, 1, 0x2c, F_MX, 0, FT_SSE), OP("CVTPS2PI", 0, 1, 0x2d, F_MX, 0, FT_SSE),
    OP("UCOMISS", 0, 1, 0x2e, F_XX, 0, FT_SSE), OP("COMISS", 0, 1, 0x2f, F_XX, 0, FT_SSE),
    OP("MOVMSKPS", 0, 1, 0x50, F_GX, R, FT_SSE), OP("CMPPS", 0, 1, 0xc2, F_XX, A | I7, FT_SSE),
    OP("SHUFPS", 0, 1, 0xc6, F_XX, A | I, FT_SSE), OP("MOVNTI", 0, 1, 0xc3, F_GM, M | W, FT_SSE2),
    OP("LDMXCSR", 0, 1, 0xae, F_LDMXCSR, M, FT_SSE), OP("STMXCSR", 0, 1, 0xae, F_STMXCSR, M, FT_SSE),
    OP("MOVSS", 0xf3, 1, 0x10, F_XX, 0, FT_SSE), OP("MOVSS st", 0xf3, 1, 0x11, F_XX, 0, FT_SSE),
    OP("CVTSI2SS", 0xf3, 1, 0x2a, F_XG, W, FT_SSE), OP("CVTTSS2SI", 0xf3, 1, 0x2c, F_GX, W, FT_SSE),
    OP("CVTSS2SI", 0xf3, 1, 0x2d, F_GX, W, FT_SSE), OP("CMPSS", 0xf3, 1, 0xc2, F_XX, I7, FT_SSE),
    /* SSE2 */
    OP("MOVUPD", 0x66, 1, 0x10, F_XX, 0, FT_SSE2), OP("MOVUPD st", 0x66, 1, 0x11, F_XX, 0, FT_SSE2),
    OP("MOVLPD", 0x66, 1, 0x12, F_XX, M, FT_SSE2), OP("MOVLPD st", 0x66, 1, 0x13, F_XX, M, FT_SSE2),
    OP("UNPCKLPD", 0x66, 1, 0x14, F_XX, A, FT_SSE2), OP("UNPCKHPD", 0x66, 1, 0x15, F_XX, A, FT_SSE2),
    OP("MOVHPD", 0x66, 1, 0x16, F_XX, M, FT_SSE2), OP("MOVHPD st", 0x66, 1, 0x17, F_XX, M, FT_SSE2),
    OP("MOVAPD", 0x66, 1, 0x28, F_XX, A, FT_SSE2), OP("MOVAPD st", 0x66, 1, 0x29, F_XX, A, FT_SSE2),
    OP("CVTPI2PD", 0x66, 1, 0x2a, F_XM, 0, FT_SSE2), OP("MOVNTPD", 0x66, 1, 0x2b, F_XX, M | A, FT_SSE2),
    OP("CVTTPD2PI", 0x66, 1, 0x2c, F_MX, A, FT_SSE2), OP("CVTPD2PI", 0x66, 1, 0x2d, F_MX, A, FT_SSE2),
    OP("UCOMISD", 0x66, 1, 0x2e, F_XX, 0, FT_SSE2), OP("COMISD", 0x66, 1, 0x2f, F_XX, 0, FT_SSE2),
    OP("MOVMSKPD", 0x66, 1, 0x50, F_GX, R, FT_SSE2), OP("CMPPD", 0x66, 1, 0xc2, F_XX, A | I7, FT_SSE2),
    OP("SHUFPD", 0x66, 1, 0xc6, F_XX, A | I, FT_SSE2),
    OP("CVTPS2PD", 0, 1, 0x5a, F_XX, 0, FT_SSE2), OP("CVTDQ2PS", 0, 1, 0x5b, F_XX, A, FT_SSE2),
    OP("CVTPD2PS", 0x66, 1, 0x5a, F_XX, A, FT_SSE2), OP("CVTPS2DQ", 0x66, 1, 0x5b, F_XX, A, FT_SSE2),
    OP("CVTSS2SD", 0xf3, 1, 0x5a, F_XX, 0, FT_SSE2), OP("CVTTPS2DQ", 0xf3, 1, 0x5b, F_XX, A, FT_SSE2),
    OP("CVTSD2SS", 0xf2, 1, 0x5a, F_XX, 0, FT_SSE2),
    OP("CVTTPD2DQ", 0x66, 1, 0xe6, F_XX, A, FT_SSE2), OP("CVTDQ2PD", 0xf3, 1, 0xe6, F_XX, 0, FT_SSE2),
    OP("CVTPD2DQ", 0xf2, 1, 0xe6, F_XX, A, FT_SSE2),
    OP("MOVSD", 0xf2, 1, 0x10, F_XX, 0, FT_SSE2), OP("MOVSD st", 0xf2, 1, 0x11, F_XX, 0, FT_SSE2),
    OP("CVTSI2SD", 0xf2, 1, 0x2a, F_XG, W, FT_SSE2), OP("CVTTSD2SI", 0xf2, 1, 0x2c, F_GX, W, FT_SSE2),
    OP("CVTSD2SI", 0xf2, 1, 0x2d, F_GX, W, FT_SSE2), OP("CMPSD", 0xf2, 1, 0xc2, F_XX, I7, FT_SSE2),
    OP("MOVD/MOVQ xmm,r/m", 0x66, 1, 0x6e, F_XG, W, FT_SSE2), OP("MOVDQA", 0x66, 1, 0x6f, F_XX, A, FT_SSE2),
    OP("PSHUFD", 0x66, 1, 0x70, F_XX, A | I, FT_SSE2), OP("MOVD/MOVQ r/m,xmm", 0x66, 1, 0x7e, F_XTOG, W, FT_SSE2),
    OP("MOVDQA st", 0x66, 1, 0x7f, F_XX, A, FT_SSE2), OP("PINSRW", 0x66, 1, 0xc4, F_XG, I, FT_SSE2),
    OP("PEXTRW", 0x66, 1, 0xc5, F_GX, R | I, FT_SSE2), OP("MOVQ xmm/m64,xmm", 0x66, 1, 0xd6, F_XX, 0, FT_SSE2),
    OP("PMOVMSKB", 0x66, 1, 0xd7, F_GX, R, FT_SSE2), OP("MOVNTDQ", 0x66, 1, 0xe7, F_XX, M | A, FT_SSE2),
    OP("MASKMOVDQU", 0x66, 1, 0xf7, F_MASKMOV, R, FT_SSE2),
    OP("MOVDQU", 0xf3, 1, 0x6f, F_XX, 0, FT_SSE2), OP("MOVDQU st", 0xf3, 1, 0x7f, F_XX, 0, FT_SSE2),
    OP("MOVQ xmm,xmm/m64", 0xf3, 1, 0x7e, F_XX, 0, FT_SSE2), OP("PSHUFHW", 0xf3, 1, 0x70, F_XX, A | I, FT_SSE2),
    OP("PSHUFLW", 0xf2, 1, 0x70, F_XX, A | I, FT_SSE2),
    OP("MOVQ2DQ", 0xf3, 1, 0xd6, F_XM, R, FT_SSE2), OP("MOVDQ2Q", 0xf2, 1, 0xd6, F_MX, R, FT_SSE2),
    SH("PSRLW imm", 0x71, 2), SH("PSRAW imm", 0x71, 4), SH("PSLLW imm", 0x71, 6),
    SH("PSRLD imm", 0x72, 2), SH("PSRAD imm", 0x72, 4), SH("PSLLD imm", 0x72, 6),
    SH("PSRLQ imm", 0x73, 2), SH("PSRLDQ", 0x73, 3), SH("PSLLQ imm", 0x73, 6), SH("PSLLDQ", 0x73, 7),
    /* SSE3 */
    OP("MOVSLDUP", 0xf3, 1, 0x12, F_XX, A, FT_SSE3), OP("MOVSHDUP", 0xf3, 1, 0x16, F_XX, A, FT_SSE3),
    OP("MOVDDUP", 0xf2, 1, 0x12, F_XX, 0, FT_SSE3), OP("HADDPD", 0x66, 1, 0x7c, F_XX, A, FT_SSE3),
    OP("HSUBPD", 0x66, 1, 0x7d, F_XX, A, FT_SSE3), OP("HADDPS", 0xf2, 1, 0x7c, F_XX, A, FT_SSE3),
    OP("HSUBPS", 0xf2, 1, 0x7d, F_XX, A, FT_SSE3), OP("ADDSUBPD", 0x66, 1, 0xd0, F_XX, A, FT_SSE3),
    OP("ADDSUBPS", 0xf2, 1, 0xd0, F_XX, A, FT_SSE3), OP("LDDQU", 0xf2, 1, 0xf0, F_XX, M, FT_SSE3),
    /* SSSE3 (the rest come from ssse3_names) */
    OP("PALIGNR", 0x66, 3, 0x0f, F_XX, A | I, FT_SSSE3), OP("PALIGNR mm", 0, 3, 0x0f, F_MM, I, FT_SSSE3),
    /* SSE4.1 */
    OP("PBLENDVB", 0x66, 2, 0x10, F_XX, A, FT_SSE41), OP("BLENDVPS", 0x66, 2, 0x14, F_XX, A, FT_SSE41),
    OP("BLENDVPD", 0x66, 2, 0x15, F_XX, A, FT_SSE41), OP("PTEST", 0x66, 2, 0x17, F_XX, A, FT_SSE41),
    OP("PMOVSXBW", 0x66, 2, 0x20, F_XX, 0, FT_SSE41), OP("PMOVSXBD", 0x66, 2, 0x21, F_XX, 0, FT_SSE41),
    OP("PMOVSXBQ", 0x66, 2, 0x22, F_XX, 0, FT_SSE41), OP("PMOVSXWD", 0x66, 2, 0x23, F_XX, 0, FT_SSE41),
    OP("PMOVSXWQ", 0x66, 2, 0x24, F_XX, 0, FT_SSE41), OP("PMOVSXDQ", 0x66, 2, 0x25, F_XX, 0, FT_SSE41),
    OP("PMULDQ", 0x66, 2, 0x28, F_XX, A, FT_SSE41), OP("PCMPEQQ", 0x66, 2, 0x29, F_XX, A, FT_SSE41),
    OP("MOVNTDQA", 0x66, 2, 0x2a, F_XX, M | A, FT_SSE41), OP("PACKUSDW", 0x66, 2, 0x2b, F_XX, A, FT_SSE41),
    OP("PMOVZXBW", 0x66, 2, 0x30, F_XX, 0, FT_SSE41), OP("PMOVZXBD", 0x66, 2, 0x31, F_XX, 0, FT_SSE41),
    OP("PMOVZXBQ", 0x66, 2, 0x32, F_XX, 0, FT_SSE41), OP("PMOVZXWD", 0x66, 2, 0x33, F_XX, 0, FT_SSE41),
    OP("PMOVZXWQ", 0x66, 2, 0x34, F_XX, 0, FT_SSE41), OP("PMOVZXDQ", 0x66, 2, 0x35, F_XX, 0, FT_SSE41),
    OP("PMINSB", 0x66, 2, 0x38, F_XX, A, FT_SSE41), OP("PMINSD", 0x66, 2, 0x39, F_XX, A, FT_SSE41),
    OP("PMINUW", 0x66, 2, 0x3a, F_XX, A, FT_SSE41), OP("PMINUD", 0x66, 2, 0x3b, F_XX, A, FT_SSE41),
    OP("PMAXSB", 0x66, 2, 0x3c, F_XX, A, FT_SSE41), OP("PMAXSD", 0x66, 2, 0x3d, F_XX, A, FT_SSE41),
    OP("PMAXUW", 0x66, 2, 0x3e, F_XX, A, FT_SSE41), OP("PMAXUD", 0x66, 2, 0x3f, F_XX, A, FT_SSE41),
    OP("PMULLD", 0x66, 2, 0x40, F_XX, A, FT_SSE41), OP("PHMINPOSUW", 0x66, 2, 0x41, F_XX, A, FT_SSE41),
    OP("ROUNDPS", 0x66, 3, 0x08, F_XX, A | I, FT_SSE41), OP("ROUNDPD", 0x66, 3, 0x09, F_XX, A | I, FT_SSE41),
    OP("ROUNDSS", 0x66, 3, 0x0a, F_XX, I, FT_SSE41), OP("ROUNDSD", 0x66, 3, 0x0b, F_XX, I, FT_SSE41),
    OP("BLENDPS", 0x66, 3, 0x0c, F_XX, A | I, FT_SSE41), OP("BLENDPD", 0x66, 3, 0x0d, F_XX, A | I, FT_SSE41),
    OP("PBLENDW", 0x66, 3, 0x0e, F_XX, A | I, FT_SSE41), OP("PEXTRB", 0x66, 3, 0x14, F_XTOG, I, FT_SSE41),
    OP("PEXTRW r/m", 0x66, 3, 0x15, F_XTOG, I, FT_SSE41), OP("PEXTRD/Q", 0x66, 3, 0x16, F_XTOG, I | W, FT_SSE41),
    OP("EXTRACTPS", 0x66, 3, 0x17, F_XTOG, I, FT_SSE41), OP("PINSRB", 0x66, 3, 0x20, F_XG, I, FT_SSE41),
    OP("INSERTPS", 0x66, 3, 0x21, F_XX, I, FT_SSE41), OP("PINSRD/Q", 0x66, 3, 0x22, F_XG, I | W, FT_SSE41),
    OP("DPPS", 0x66, 3, 0x40, F_XX, A | I, FT_SSE41), OP("DPPD", 0x66, 3, 0x41, F_XX, A | I, FT_SSE41),
    OP("MPSADBW", 0x66, 3, 0x42, F_XX, A | I, FT_SSE41),
    /* SSE4.2, POPCNT */
    OP("PCMPGTQ", 0x66, 2, 0x37, F_XX, A, FT_SSE42),
    OP("PCMPESTRM", 0x66, 3, 0x60, F_XX, I | E, FT_SSE42), OP("PCMPESTRI", 0x66, 3, 0x61, F_XX, I | E, FT_SSE42),
    OP("PCMPISTRM", 0x66, 3, 0x62, F_XX, I, FT_SSE42), OP("PCMPISTRI", 0x66, 3, 0x63, F_XX, I, FT_SSE42),
    OP("CRC32 r/m8", 0xf2, 2, 0xf0, F_GG, W | O16, FT_SSE42), OP("CRC32 r/m", 0xf2, 2, 0xf1, F_GG, W | O16, FT_SSE42),
    OP("POPCNT", 0xf3, 1, 0xb8, F_GG, W | O16, FT_POPCNT),
    /* AES, PCLMULQDQ */
    OP("AESIMC", 0x66, 2, 0xdb, F_XX, A, FT_AES), OP("AESENC", 0x66, 2, 0xdc, F_XX, A, FT_AES),
    OP("AESENCLAST", 0x66, 2, 0xdd, F_XX, A, FT_AES), OP("AESDEC", 0x66, 2, 0xde, F_XX, A, FT_AES),
    OP("AESDECLAST", 0x66, 2, 0xdf, F_XX, A, FT_AES), OP("AESKEYGENASSIST", 0x66, 3, 0xdf, F_XX, A | I, FT_AES),
    OP("PCLMULQDQ", 0x66, 3, 0x44, F_XX, A | I, FT_PCLMUL),
};

/* The four forms of the arithmetic opcodes 0F 51-5F (NULL: not this one). */
struct fp_arith { uint8_t opc; const char *ps, *ss, *pd, *sd; };
static const struct fp_arith fp_ops[] = {
    { 0x51, "SQRTPS", "SQRTSS", "SQRTPD", "SQRTSD" }, { 0x52, "RSQRTPS", "RSQRTSS", NULL, NULL },
    { 0x53, "RCPPS", "RCPSS", NULL, NULL },           { 0x54, "ANDPS", NULL, "ANDPD", NULL },
    { 0x55, "ANDNPS", NULL, "ANDNPD", NULL },         { 0x56, "ORPS", NULL, "ORPD", NULL },
    { 0x57, "XORPS", NULL, "XORPD", NULL },           { 0x58, "ADDPS", "ADDSS", "ADDPD", "ADDSD" },
    { 0x59, "MULPS", "MULSS", "MULPD", "MULSD" },     { 0x5c, "SUBPS", "SUBSS", "SUBPD", "SUBSD" },
    { 0x5d, "MINPS", "MINSS", "MINPD", "MINSD" },     { 0x5e, "DIVPS", "DIVSS", "DIVPD", "DIVSD" },
    { 0x5f, "MAXPS", "MAXSS", "MAXPD", "MAXSD" },
};

/* 66 0F xx integer instructions with xmm, xmm/m128 (aligned) operands. */
static const char *const sse2_int_names[256] = {
    [0x60] = "PUNPCKLBW", [0x61] = "PUNPCKLWD", [0x62] = "PUNPCKLDQ", [0x63] = "PACKSSWB",
    [0x64] = "PCMPGTB", [0x65] = "PCMPGTW", [0x66] = "PCMPGTD", [0x67] = "PACKUSWB",
    [0x68] = "PUNPCKHBW", [0x69] = "PUNPCKHWD", [0x6a] = "PUNPCKHDQ", [0x6b] = "PACKSSDW",
    [0x6c] = "PUNPCKLQDQ", [0x6d] = "PUNPCKHQDQ", [0x74] = "PCMPEQB", [0x75] = "PCMPEQW",
    [0x76] = "PCMPEQD", [0xd1] = "PSRLW", [0xd2] = "PSRLD", [0xd3] = "PSRLQ", [0xd4] = "PADDQ",
    [0xd5] = "PMULLW", [0xd8] = "PSUBUSB", [0xd9] = "PSUBUSW", [0xda] = "PMINUB", [0xdb] = "PAND",
    [0xdc] = "PADDUSB", [0xdd] = "PADDUSW", [0xde] = "PMAXUB", [0xdf] = "PANDN", [0xe0] = "PAVGB",
    [0xe1] = "PSRAW", [0xe2] = "PSRAD", [0xe3] = "PAVGW", [0xe4] = "PMULHUW", [0xe5] = "PMULHW",
    [0xe8] = "PSUBSB", [0xe9] = "PSUBSW", [0xea] = "PMINSW", [0xeb] = "POR", [0xec] = "PADDSB",
    [0xed] = "PADDSW", [0xee] = "PMAXSW", [0xef] = "PXOR", [0xf1] = "PSLLW", [0xf2] = "PSLLD",
    [0xf3] = "PSLLQ", [0xf4] = "PMULUDQ", [0xf5] = "PMADDWD", [0xf6] = "PSADBW", [0xf8] = "PSUBB",
    [0xf9] = "PSUBW", [0xfa] = "PSUBD", [0xfb] = "PSUBQ", [0xfc] = "PADDB", [0xfd] = "PADDW",
    [0xfe] = "PADDD",
};

/* 0F 38 xx SSSE3 instructions, in an MMX (no prefix) and an SSE (66) form. */
static const char *const ssse3_names[32] = {
    [0x00] = "PSHUFB", [0x01] = "PHADDW", [0x02] = "PHADDD", [0x03] = "PHADDSW", [0x04] = "PMADDUBSW",
    [0x05] = "PHSUBW", [0x06] = "PHSUBD", [0x07] = "PHSUBSW", [0x08] = "PSIGNB", [0x09] = "PSIGNW",
    [0x0a] = "PSIGND", [0x0b] = "PMULHRSW", [0x1c] = "PABSB", [0x1d] = "PABSW", [0x1e] = "PABSD",
};

static struct op ops[400];
static unsigned n_ops;
static bool host_has[FT_COUNT];

static const char *ops_only;

static void add_op(struct op o)
{
    if (ops_only && !strstr(o.name, ops_only))
        return;
    if (host_has[o.feat] && n_ops < sizeof(ops) / sizeof(ops[0]))
        ops[n_ops++] = o;
}

static void host_features(void)
{
    unsigned a, b, c, d;
    __cpuid(1, a, b, c, d);
    (void)a;
    (void)b;
    host_has[FT_SSE] = d >> 25 & 1;
    host_has[FT_SSE2] = d >> 26 & 1;
    host_has[FT_SSE3] = c & 1;
    host_has[FT_PCLMUL] = c >> 1 & 1;
    host_has[FT_SSSE3] = c >> 9 & 1;
    host_has[FT_SSE41] = c >> 19 & 1;
    host_has[FT_SSE42] = c >> 20 & 1;
    host_has[FT_POPCNT] = c >> 23 & 1;
    host_has[FT_AES] = c >> 25 & 1;
}

/* All forms the host has, or those whose name contains only. */
static void build_ops(const char *only)
{
    host_features();
    ops_only = only && *only ? only : NULL;
    n_ops = 0;
    for (unsigned i = 0; i < sizeof(fixed_ops) / sizeof(fixed_ops[0]); i++)
        add_op(fixed_ops[i]);
    for (unsigned i = 0; i < sizeof(fp_ops) / sizeof(fp_ops[0]); i++) {
        const struct fp_arith *f = &fp_ops[i];
        if (f->ps)
            add_op((struct op)OP(f->ps, 0, 1, f->opc, F_XX, A, FT_SSE));
        if (f->ss)
            add_op((struct op)OP(f->ss, 0xf3, 1, f->opc, F_XX, 0, FT_SSE));
        if (f->pd)
            add_op((struct op)OP(f->pd, 0x66, 1, f->opc, F_XX, A, FT_SSE2));
        if (f->sd)
            add_op((struct op)OP(f->sd, 0xf2, 1, f->opc, F_XX, 0, FT_SSE2));
    }
    for (unsigned o = 0; o < 256; o++)
        if (sse2_int_names[o])
            add_op((struct op)OP(sse2_int_names[o], 0x66, 1, (uint8_t)o, F_XX, A, FT_SSE2));
    for (unsigned o = 0; o < 32; o++)
        if (ssse3_names[o]) {
            add_op((struct op)OP(ssse3_names[o], 0x66, 2, (uint8_t)o, F_XX, A, FT_SSSE3));
            add_op((struct op)OP(ssse3_names[o], 0, 2, (uint8_t)o, F_MM, 0, FT_SSSE3));
        }
}

/* A GPR number for the ModRM field: never RSP (differs natively), and not
 * RBP when written (it points at the data page). */
static unsigned rnd_gpr_no(bool dest)
{
    unsigned r;
    do
        r = rn(16);
    while (r == 4 || (dest && r == 5));
    return r;
}

enum kind { K_XMM, K_MM, K_GSRC, K_GDST };

static unsigned rnd_reg(enum kind k)
{
    switch (k) {
    case K_XMM: return rn(16);
    case K_MM: return rn(8) | (rn(8) == 0 ? 8 : 0);   /* REX.R/B are ignored on MMX registers */
    case K_GSRC: return rnd_gpr_no(false);
    default: return rnd_gpr_no(true);
    }
}

/* The kinds of the ModRM.reg and ModRM.rm operands of a form. */
static void form_kinds(enum form f, enum kind *reg, enum kind *rm)
{
    static const enum kind kinds[][2] = {
        [F_XX] = { K_XMM, K_XMM },   [F_XG] = { K_XMM, K_GSRC }, [F_GX] = { K_GDST, K_XMM },
        [F_XTOG] = { K_XMM, K_GDST }, [F_GM] = { K_GSRC, K_GSRC }, [F_GG] = { K_GDST, K_GSRC },
        [F_MM] = { K_MM, K_MM },     [F_XM] = { K_XMM, K_MM },   [F_MX] = { K_MM, K_XMM },
        [F_SHIFT] = { K_XMM, K_XMM }, [F_MASKMOV] = { K_XMM, K_XMM },
    };
    *reg = kinds[f][0];
    *rm = kinds[f][1];
}

static void gen_mxcsr_op(struct enc *e, const struct op *op)
{
    if (op->form == F_STMXCSR) {
        static const uint8_t st[] = { 0x0f, 0xae, 0x5d };          /* STMXCSR [rbp+disp8] */
        emit_bytes(e, st, 3);
        emit(e, (uint8_t)rn(0x7d));
        return;
    }
    /* mov dword [rbp+slot], imm32; LDMXCSR [rbp+slot]: exceptions stay masked */
    uint32_t v = (uint32_t)(rnd() & 0xe07f) | 0x1f80;
    emit(e, 0xc7);
    emit(e, 0x45);
    emit(e, MXCSR_SLOT);
    emit32(e, v);
    static const uint8_t ld[] = { 0x0f, 0xae, 0x55, MXCSR_SLOT };
    emit_bytes(e, ld, 4);
}

/* PCMPESTRx: sometimes set the lengths right before (64-bit with REX.W). */
static void gen_lengths(struct enc *e)
{
    for (unsigned r = 0; r < 3; r += 2) {                          /* RAX, RDX */
        if (rn(2))
            continue;
        emit(e, 0x48);
        emit(e, 0xc7);
        emit(e, (uint8_t)(0xc0 | r));
        emit32(e, (uint32_t)((int)rn(41) - 20));
    }
}

static void gen_op(struct enc *e, const struct op *op)
{
    if (op->form == F_LDMXCSR || op->form == F_STMXCSR) {
        gen_mxcsr_op(e, op);
        return;
    }
    if (op->flags & E)
        gen_lengths(e);
    if (op->form == F_MASKMOV) {
        static const uint8_t lea[] = { 0x48, 0x8d, 0x7d, MASKMOV_AT };  /* lea rdi, [rbp+0x40] */
        emit_bytes(e, lea, 4);
    }
    bool stray_rex = rn(32) == 0;
    if (stray_rex)
        emit(e, (uint8_t)(0x40 | rn(16)));                         /* a REX not last: ignored */
    if (stray_rex || rn(16) == 0) {
        static const uint8_t segs[] = { 0x26, 0x2e, 0x36, 0x3e };   /* ignored in 64-bit mode */
        emit(e, segs[rn(4)]);
    }
    if ((op->pfx == 0xf2 || op->pfx == 0xf3) && rn((op->flags & O16) ? 3 : 24) == 0)
        emit(e, 0x66);                                             /* F2/F3 win over 66, or 16-bit GPR */
    if (op->pfx)
        emit(e, op->pfx);
    enum kind kreg, krm;
    form_kinds((enum form)op->form, &kreg, &krm);
    bool mem = !(op->flags & R) && ((op->flags & M) || rn(3) == 0);
    unsigned reg = op->form == F_SHIFT ? op->ext : rnd_reg(kreg);
    unsigned rm = mem ? 5 : rnd_reg(krm);
    bool w = (op->flags & W) ? rn(2) : rn(8) == 0;
    uint8_t rex = (uint8_t)(0x40 | w << 3 | (reg >> 3) << 2 | (rm >> 3));
    if (rex != 0x40 || rn(4) == 0)
        emit(e, rex);
    emit(e, 0x0f);
    if (op->map == 2)
        emit(e, 0x38);
    else if (op->map == 3)
        emit(e, 0x3a);
    emit(e, op->opc);
    if (mem) {
        emit(e, (uint8_t)(0x45 | (reg & 7) << 3));
        emit(e, (uint8_t)((op->flags & A) ? 16 * rn(8) : rn(0x71)));
    } else {
        emit(e, (uint8_t)(0xc0 | (reg & 7) << 3 | (rm & 7)));
    }
    if (op->flags & I7)
        emit(e, (uint8_t)rn(8));
    else if (op->form == F_SHIFT)
        emit(e, (uint8_t)(rn(4) ? rn(70) : rnd()));
    else if (op->flags & I)
        emit(e, (uint8_t)rnd());
}

static unsigned seq_max = MAX_INSNS;      /* 0: empty sequences (the state round trip) */

static void gen_seq(struct enc *e)
{
    e->n = e->ninsn = 0;
    for (unsigned i = seq_max ? 1 + rn(seq_max) : 0; i > 0; i--) {
        const struct op *op = &ops[rn(n_ops)];
        e->start[e->ninsn] = e->n;
        e->name[e->ninsn++] = op->name;
        gen_op(e, op);
    }
    e->start[e->ninsn] = e->n;
}

/* ---- the native side ---- */

static void emit_gpr_move(struct enc *t, uint8_t opc, unsigned r)
{
    emit(t, (uint8_t)(0x48 | (r >> 3) << 2));                  /* REX.W (+R) */
    emit(t, opc);                                              /* 8B load, 89 store */
    emit(t, (uint8_t)(0x87 | (r & 7) << 3));                   /* [rdi+disp32] */
    emit32(t, GPR_OFF + 8 * r);
}

static void build_native(struct enc *t, const uint8_t *code, unsigned len)
{
    static const uint8_t pro[] = {
        0x53, 0x55, 0x41, 0x54, 0x41, 0x55, 0x41, 0x56, 0x41, 0x57,  /* push rbx, rbp, r12-r15 */
        0x57,                                                        /* push rdi (the state) */
        0x0f, 0xae, 0x0f,                                            /* fxrstor [rdi] */
        0xff, 0xb7, 0x80, 0x02, 0x00, 0x00, 0x9d,                    /* push qword [rdi+640]; popfq */
    };
    static const uint8_t mid[] = {
        0x9c,                                                        /* pushfq */
        0x48, 0x87, 0x7c, 0x24, 0x08,                                /* xchg rdi, [rsp+8] */
        0x8f, 0x87, 0x80, 0x02, 0x00, 0x00,                          /* pop qword [rdi+640] */
        0x8f, 0x87, 0x38, 0x02, 0x00, 0x00,                          /* pop qword [rdi+568]: RDI */
    };
    static const uint8_t epi[] = {
        0x0f, 0xae, 0x07,                                            /* fxsave [rdi] */
        0x0f, 0xae, 0x97, 0x88, 0x02, 0x00, 0x00,                    /* ldmxcsr [rdi+648] */
        0xdb, 0xe3,                                                  /* fninit */
        0x41, 0x5f, 0x41, 0x5e, 0x41, 0x5d, 0x41, 0x5c, 0x5d, 0x5b, 0xc3,
    };
    t->n = 0;
    emit_bytes(t, pro, sizeof(pro));
    for (unsigned r = 0; r < 16; r++)
        if (r != GPR_RSP && r != GPR_RDI)
            emit_gpr_move(t, 0x8b, r);
    emit_gpr_move(t, 0x8b, GPR_RDI);
    emit_bytes(t, code, len);
    emit_bytes(t, mid, sizeof(mid));
    for (unsigned r = 0; r < 16; r++)
        if (r != GPR_RSP && r != GPR_RDI)
            emit_gpr_move(t, 0x89, r);
    emit_bytes(t, epi, sizeof(epi));
}

static sigjmp_buf native_jmp;
static volatile sig_atomic_t native_sig;

static void native_fault(int sig)
{
    native_sig = sig;
    siglongjmp(native_jmp, 1);
}

/* Runs code natively on *s; false (with the signal) if it faulted. */
static bool run_native(uint8_t *exec, struct sstate *s, const uint8_t *code, unsigned len)
{
    struct enc t;
    build_native(&t, code, len);
    memcpy(exec, t.b, t.n);
    __builtin___clear_cache((char *)exec, (char *)exec + t.n);
    __asm__ volatile("stmxcsr %0" : "=m"(s->host_mxcsr));
    struct sigaction sa = { .sa_handler = native_fault }, old[3];
    static const int sigs[3] = { SIGILL, SIGSEGV, SIGBUS };
    for (unsigned i = 0; i < 3; i++)
        sigaction(sigs[i], &sa, &old[i]);
    volatile bool ok = true;                                   /* survives the siglongjmp */
    if (sigsetjmp(native_jmp, 1) == 0) {
        ((void (*)(struct sstate *))exec)(s);
    } else {
        uint32_t mx = 0x1f80;
        __asm__ volatile("ldmxcsr %0; fninit" : : "m"(mx));
        ok = false;
    }
    for (unsigned i = 0; i < 3; i++)
        sigaction(sigs[i], &old[i], NULL);
    return ok;
}

/* ---- the interpreter side ---- */

struct harness {
    uint8_t *exec, *data;
    struct sys_guest *g;
    bool native_only;
};

static struct harness *harness_new(void)
{
    struct harness *h = calloc(1, sizeof(*h));
    assert_non_null(h);
    h->exec = mmap(NULL, EXEC_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    h->data = mmap((void *)DATA_ADDR, 4096, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    assert_true(h->exec != MAP_FAILED);
    assert_ptr_equal(h->data, (void *)DATA_ADDR);
    h->g = sys_new();
    unsigned pml4i = (unsigned)((DATA_ADDR >> 39) & 511);
    put64(h->g, 0x1000 + (uint64_t)pml4i * 8, 0x7000 | 3);       /* DATA_ADDR -> DATA_GPA (4 KiB page) */
    put64(h->g, 0x7000, 0x8000 | 3);
    put64(h->g, 0x8000, 0x9000 | 3);
    put64(h->g, 0x9000, DATA_GPA | 3);
    const char *n = getenv("INTERP_SSE_NATIVE_ONLY");
    h->native_only = n && *n && *n != '0';
    return h;
}

static void harness_free(struct harness *h)
{
    sys_free(h->g);
    munmap(h->exec, EXEC_SIZE);
    munmap(h->data, 4096);
    free(h);
}

struct outcome {
    struct sstate s;
    uint8_t data[DATA_LEN];
    int rc;                 /* interpreter only */
    bool done;              /* reached the HLT after the code (native: no signal) */
    int vector;             /* the exception the interpreter took, or -1 */
    uint64_t fault_rip;
};

static void run_interp(struct harness *h, const struct sstate *init, const uint8_t *data0, const uint8_t *code,
                       unsigned len, struct outcome *out)
{
    struct sys_guest *g = h->g;
    long_state(g, 0);
    g->st.cr0 |= CR0_MP;
    g->st.cr4 |= CR4_OSFXSR | CR4_OSXMMEXCPT;
    g->st.xcr0 = 3;
    memcpy(g->st.xsave, init->fx, 512);
    memset(g->st.xsave + 512, 0, 64);
    g->st.xsave[512] = 3;                                        /* XSTATE_BV: x87, SSE */
    for (unsigned r = 0; r < 16; r++)
        if (r != GPR_RSP)
            g->st.gpr[r] = init->gpr[r];
    g->st.rflags = init->rflags;
    memcpy(g->ram.host + DATA_GPA, data0, DATA_LEN);
    memcpy(g->ram.host + CODE, code, len);
    g->ram.host[CODE + len] = 0xf4;                              /* hlt */
    interp_flush_code(g->cpu);
    interp_state_changed(g->cpu);
    out->rc = interp_execute(g->cpu, 10000);
    g->st.run_state = CPU_RUNNABLE;
    memcpy(out->s.fx, g->st.xsave, 512);
    memcpy(out->s.gpr, g->st.gpr, sizeof(out->s.gpr));
    out->s.rflags = g->st.rflags;
    memcpy(out->data, g->ram.host + DATA_GPA, DATA_LEN);
    out->done = out->rc == VINF_EM_HALT && g->st.rip == CODE + len + 1;
    out->vector = -1;
    if (out->rc == VINF_EM_HALT && g->st.rip > STUBS && g->st.rip <= STUBS + 16 * 256) {
        out->vector = (int)((g->st.rip - 1 - STUBS) / 16);
        bool err = out->vector == 8 || (out->vector >= 10 && out->vector <= 14) || out->vector == 17;
        out->fault_rip = get64(g, g->st.gpr[GPR_RSP] + (err ? 8 : 0));
    }
}

/* ---- comparison and reports ---- */

static void print_bytes(const uint8_t *p, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        fprintf(stderr, " %02x", p[i]);
}

static void print_seq(const struct enc *e, unsigned ninsn)
{
    for (unsigned i = 0; i < ninsn; i++) {
        fprintf(stderr, "    +%-3u %-18s", e->start[i], e->name[i]);
        print_bytes(e->b + e->start[i], e->start[i + 1] - e->start[i]);
        fprintf(stderr, "\n");
    }
}

static void print_hex(const void *v, unsigned n)
{
    const uint8_t *p = v;
    for (unsigned i = n; i > 0; i--)
        fprintf(stderr, "%02x", p[i - 1]);
}

/* Compares; with report, prints each field that differs (init, cpu, interp). */
static bool compare(const struct sstate *init, const struct outcome *cpu, const struct outcome *in, bool report)
{
    bool ok = true;
    const uint8_t *a = cpu->s.fx, *b = in->s.fx;
#define DIFF(what, pi, pa, pb, n)                                                        \
    do {                                                                                 \
        if (memcmp(pa, pb, n) != 0) {                                                    \
            ok = false;                                                                  \
            if (report) {                                                                \
                fprintf(stderr, "    %-8s init ", what);                                 \
                print_hex(pi, n);                                                        \
                fprintf(stderr, "  cpu ");                                               \
                print_hex(pa, n);                                                        \
                fprintf(stderr, "  interp ");                                            \
                print_hex(pb, n);                                                        \
                fprintf(stderr, "\n");                                                   \
            }                                                                            \
        }                                                                                \
    } while (0)
    char name[16];
    for (unsigned i = 0; i < 16; i++) {
        snprintf(name, sizeof(name), "xmm%u", i);
        DIFF(name, init->fx + XMM_OFF + (size_t)16 * i, a + XMM_OFF + (size_t)16 * i, b + XMM_OFF + (size_t)16 * i, 16);
    }
    DIFF("mxcsr", init->fx + MXCSR_OFF, a + MXCSR_OFF, b + MXCSR_OFF, 4);
    DIFF("fcw", init->fx, a, b, 2);
    DIFF("fsw", init->fx + 2, a + 2, b + 2, 2);
    DIFF("ftw", init->fx + 4, a + 4, b + 4, 1);
    for (unsigned i = 0; i < 8; i++) {
        snprintf(name, sizeof(name), "st%u/mm%u", i, i);
        DIFF(name, init->fx + 32 + (size_t)16 * i, a + 32 + (size_t)16 * i, b + 32 + (size_t)16 * i, 10);
    }
    static const char *const gpr_names[16] = { "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                               "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15" };
    for (unsigned r = 0; r < 16; r++)
        if (r != GPR_RSP)
            DIFF(gpr_names[r], &init->gpr[r], &cpu->s.gpr[r], &in->s.gpr[r], 8);
    uint64_t fi = init->rflags & ARITH, fa = cpu->s.rflags & ARITH, fb = in->s.rflags & ARITH;
    DIFF("rflags", &fi, &fa, &fb, 8);
#undef DIFF
    for (unsigned i = 0; i < DATA_LEN; i++)
        if (cpu->data[i] != in->data[i]) {
            ok = false;
            if (report)
                fprintf(stderr, "    mem[%#04x] cpu %02x interp %02x\n", i, cpu->data[i], in->data[i]);
        }
    return ok;
}

static void rnd_state(struct sstate *s, uint8_t *data0)
{
    memset(s, 0, sizeof(*s));
    uint16_t fcw = 0x37f, fsw = (uint16_t)(rn(8) << 11);
    memcpy(s->fx, &fcw, 2);
    memcpy(s->fx + 2, &fsw, 2);
    s->fx[4] = (uint8_t)(rn(2) ? rnd() : rn(2) ? 0xff : 0);
    for (unsigned i = 0; i < 8; i++) {                              /* MMX values, any exponent */
        uint64_t m = rnd();
        uint16_t se = (uint16_t)(rn(2) ? 0xffff : rnd());
        memcpy(s->fx + 32 + (size_t)16 * i, &m, 8);
        memcpy(s->fx + 40 + (size_t)16 * i, &se, 2);
    }
    uint32_t mxcsr = 0x1f80 | rn(4) << 13;
    if (rn(2))
        mxcsr |= (uint32_t)rnd() & 0x3f;                             /* sticky flags */
    if (rn(4) == 0)
        mxcsr |= 0x40;                                               /* DAZ */
    if (rn(4) == 0)
        mxcsr |= 0x8000;                                             /* FTZ */
    memcpy(s->fx + MXCSR_OFF, &mxcsr, 4);
    uint32_t mask = 0xffff;
    memcpy(s->fx + 28, &mask, 4);
    for (unsigned i = 0; i < 16; i++)
        rnd_xmm(s->fx + XMM_OFF + (size_t)16 * i);
    for (unsigned r = 0; r < 16; r++)
        s->gpr[r] = rnd_gpr();
    s->gpr[GPR_RSP] = 0;
    s->gpr[GPR_RBP] = DATA_ADDR;
    s->rflags = 0x202 | (rnd() & ARITH);
    for (unsigned i = 0; i < DATA_LEN; i += 16)
        rnd_xmm(data0 + i);
}

/* Runs the first ninsn instructions of seq both ways. */
static bool run_prefix(struct harness *h, const struct sstate *init, const uint8_t *data0, const struct enc *seq,
                       unsigned ninsn, struct outcome *cpu, struct outcome *in)
{
    unsigned len = seq->start[ninsn];
    memcpy(h->data, data0, DATA_LEN);
    cpu->s = *init;
    cpu->done = run_native(h->exec, &cpu->s, seq->b, len);
    memcpy(cpu->data, h->data, DATA_LEN);
    run_interp(h, init, data0, seq->b, len, in);
    return cpu->done && in->done && compare(init, cpu, in, false);
}

/* The sources too, to redo the computation by hand. */
static void print_init(const struct sstate *init, const uint8_t *data0)
{
    uint32_t mxcsr;
    memcpy(&mxcsr, init->fx + MXCSR_OFF, 4);
    fprintf(stderr, "  initial state: mxcsr %08x rflags %03llx rax %llx rcx %llx rdx %llx\n", mxcsr,
            (unsigned long long)(init->rflags & ARITH), (unsigned long long)init->gpr[GPR_RAX],
            (unsigned long long)init->gpr[GPR_RCX], (unsigned long long)init->gpr[GPR_RDX]);
    for (unsigned i = 0; i < 16; i += 2) {
        fprintf(stderr, "    xmm%-2u ", i);
        print_hex(init->fx + XMM_OFF + (size_t)16 * i, 16);
        fprintf(stderr, "   xmm%-2u ", i + 1);
        print_hex(init->fx + XMM_OFF + (size_t)16 * (i + 1), 16);
        fprintf(stderr, "\n");
    }
    for (unsigned i = 0; i < 0x90; i += 16) {                      /* what [rbp+disp8] can reach */
        fprintf(stderr, "    [rbp+%02x]", i);
        print_bytes(data0 + i, 16);
        fprintf(stderr, "\n");
    }
}

static void report(struct harness *h, uint64_t seed, const struct sstate *init, const uint8_t *data0,
                   const struct enc *seq)
{
    static struct outcome cpu, in;
    unsigned k = seq->ninsn ? 1 : 0;
    while (k < seq->ninsn && run_prefix(h, init, data0, seq, k, &cpu, &in))
        k++;
    run_prefix(h, init, data0, seq, k, &cpu, &in);
    fprintf(stderr, "MISMATCH seed=%#llx: first at instruction %d (%s), the sequence up to it:\n",
            (unsigned long long)seed, (int)k - 1, k ? seq->name[k - 1] : "none: the state round trip");
    print_seq(seq, k);
    if (!cpu.done)
        fprintf(stderr, "    the host CPU faulted (signal %d): a generator bug\n", (int)native_sig);
    if (in.vector >= 0)
        fprintf(stderr, "    the interpreter raised exception %d at +%lld\n", in.vector,
                (long long)(in.fault_rip - CODE));
    else if (!in.done)
        fprintf(stderr, "    the interpreter stopped: rc=%d rip=%#llx (%s)\n", in.rc,
                (unsigned long long)h->g->st.rip, interp_last_error(h->g->cpu));
    else {
        compare(init, &cpu, &in, true);
        print_init(init, data0);
    }
}

/* One random sequence; false on a mismatch. */
static bool run_one(struct harness *h, uint64_t seed)
{
    static struct outcome cpu, in;
    static struct sstate init;
    static struct enc seq;
    uint8_t data0[DATA_LEN];
    rng_state = seed * UINT64_C(0x9e3779b97f4a7c15) + 1;
    gen_seq(&seq);
    rnd_state(&init, data0);
    if (getenv("INTERP_SSE_TRACE")) {
        fprintf(stderr, "seed %#llx:\n", (unsigned long long)seed);
        print_seq(&seq, seq.ninsn);
    }
    if (h->native_only) {
        memcpy(h->data, data0, DATA_LEN);
        cpu.s = init;
        if (run_native(h->exec, &cpu.s, seq.b, seq.n))
            return true;
        fprintf(stderr, "seed %#llx: the host CPU faulted (signal %d):\n", (unsigned long long)seed, (int)native_sig);
        print_seq(&seq, seq.ninsn);
        return false;
    }
    bool ok = run_prefix(h, &init, data0, &seq, seq.ninsn, &cpu, &in);
    if (!ok)
        report(h, seed, &init, data0, &seq);
    else if (getenv("INTERP_SSE_DUMP")) {
        fprintf(stderr, "ok seed=%#llx\n", (unsigned long long)seed);
        print_seq(&seq, seq.ninsn);
    }
    return ok;
}

static uint64_t env_u64(const char *name, uint64_t def)
{
    const char *v = getenv(name);
    return v && *v ? strtoull(v, NULL, 0) : def;
}

static void run_diff(const char *what, uint64_t n)
{
    assert_true(n_ops > 0 || seq_max == 0);
    struct harness *h = harness_new();
    uint64_t seed0 = env_u64("INTERP_SSE_SEED", 1);
    unsigned failures = 0;
    for (uint64_t i = 0; i < n && failures < 5; i++)
        if (!run_one(h, seed0 + i))
            failures++;
    printf("interp %s%s: %u instruction forms, %llu sequences from seed %llu, %u mismatches\n", what,
           h->native_only ? " (native only)" : "", seq_max ? n_ops : 0, (unsigned long long)n,
           (unsigned long long)seed0, failures);
    harness_free(h);
    assert_int_equal(failures, 0);
}

/* INTERP_SSE_ONLY=<name part> restricts the forms (e.g. PCMP, CVT, AES). */
static void test_sse_diff(void **state)
{
    (void)state;
    build_ops(getenv("INTERP_SSE_ONLY"));
    seq_max = MAX_INSNS;
    run_diff("SSE diff", env_u64("INTERP_SSE_SEQUENCES", 40000));
}

/* The harness itself, on what the interpreter had before SSE: empty
 * sequences (FXRSTOR/FXSAVE against the interpreter's state: XMM, MXCSR,
 * x87 tags) and POPCNT (GPRs, RFLAGS, REX, 66/segment prefixes, memory). */
static void test_sse_diff_harness(void **state)
{
    (void)state;
    seq_max = 0;
    run_diff("SSE diff harness, empty sequences", 300);
    build_ops("POPCNT");
    seq_max = MAX_INSNS;
    run_diff("SSE diff harness, POPCNT", 1000);
}

/* Encodings with no instruction: SIGILL on the host, #UD in the interpreter
 * (wrong prefix, register form of a memory-only one and vice versa, an
 * unassigned /ext). Memory operands are [rbp+0]. */
struct undef { const char *what; uint8_t n, b[7]; };
static const struct undef undefined[] = {
    { "F3 PADDB", 4, { 0xf3, 0x0f, 0xfc, 0xc1 } },        { "F2 PSHUFB", 5, { 0xf2, 0x0f, 0x38, 0x00, 0xc1 } },
    { "MOVLPD reg", 4, { 0x66, 0x0f, 0x12, 0xc1 } },      { "MOVLPS st reg", 3, { 0x0f, 0x13, 0xc1 } },
    { "MOVNTPD reg", 4, { 0x66, 0x0f, 0x2b, 0xc1 } },     { "LDDQU reg", 4, { 0xf2, 0x0f, 0xf0, 0xc1 } },
    { "MOVNTDQA reg", 5, { 0x66, 0x0f, 0x38, 0x2a, 0xc1 } }, { "MOVNTI reg", 3, { 0x0f, 0xc3, 0xc1 } },
    { "MOVMSKPD mem", 5, { 0x66, 0x0f, 0x50, 0x45, 0x00 } }, { "PMOVMSKB mem", 5, { 0x66, 0x0f, 0xd7, 0x45, 0x00 } },
    { "MASKMOVDQU mem", 5, { 0x66, 0x0f, 0xf7, 0x45, 0x00 } }, { "MOVQ2DQ mem", 5, { 0xf3, 0x0f, 0xd6, 0x45, 0x00 } },
    { "66 0F 71 /0", 5, { 0x66, 0x0f, 0x71, 0xc1, 0x01 } }, { "66 0F 73 /4", 5, { 0x66, 0x0f, 0x73, 0xe1, 0x01 } },
    { "0F 73 /3 (MMX)", 4, { 0x0f, 0x73, 0xd9, 0x01 } },   { "LDMXCSR reg", 3, { 0x0f, 0xae, 0xd1 } },
    { "66 0F 72 mem", 6, { 0x66, 0x0f, 0x72, 0x55, 0x00, 0x01 } },
};

static void test_sse_undefined(void **state)
{
    (void)state;
    struct harness *h = harness_new();
    static struct sstate s;
    static struct outcome in;
    uint8_t data0[DATA_LEN] = { 0 };
    unsigned failures = 0;
    for (unsigned i = 0; i < sizeof(undefined) / sizeof(undefined[0]); i++) {
        const struct undef *u = &undefined[i];
        memset(&s, 0, sizeof(s));
        uint16_t fcw = 0x37f;
        uint32_t mxcsr = 0x1f80;
        memcpy(s.fx, &fcw, 2);
        memcpy(s.fx + MXCSR_OFF, &mxcsr, 4);
        s.gpr[GPR_RBP] = DATA_ADDR;
        s.rflags = 0x202;
        memcpy(h->data, data0, DATA_LEN);
        bool native_ok = run_native(h->exec, &s, u->b, u->n);
        s.gpr[GPR_RBP] = DATA_ADDR;
        run_interp(h, &s, data0, u->b, u->n, &in);
        if (native_ok || native_sig != SIGILL || in.vector != 6 || in.fault_rip != CODE) {
            fprintf(stderr, "%s:", u->what);
            print_bytes(u->b, u->n);
            fprintf(stderr, ": host %s (signal %d), interpreter %s %d at +%lld (want SIGILL, #UD at +0)\n",
                    native_ok ? "ran it" : "faulted", native_ok ? 0 : (int)native_sig,
                    in.done ? "ran it, exception" : "exception", in.vector, (long long)(in.fault_rip - CODE));
            failures++;
        }
    }
    harness_free(h);
    assert_int_equal(failures, 0);
}

/* ---- exceptions (interpreter only) ---- */

#define MISALIGNED 0x20008u

static struct sys_guest *sse_guest(void)
{
    struct sys_guest *g = sys_new();
    g->st.cr0 |= CR0_MP;
    g->st.cr4 |= CR4_OSFXSR | CR4_OSXMMEXCPT;
    g->st.xcr0 = 3;
    uint16_t fcw = 0x37f;
    uint32_t mxcsr = 0x1f80;
    memcpy(g->st.xsave, &fcw, 2);
    memcpy(g->st.xsave + MXCSR_OFF, &mxcsr, 4);
    g->st.xsave[512] = 3;
    g->st.gpr[GPR_RAX] = MISALIGNED;
    return g;
}

static int sse_setup(void **state)
{
    *state = sse_guest();
    return 0;
}

/* Frees the guest also after a failed assertion. */
static int sse_teardown(void **state)
{
    sys_free(*state);
    return 0;
}

static void set_xmm_f32(struct sys_guest *g, unsigned x, float a, float b, float c, float d)
{
    float v[4] = { a, b, c, d };
    memcpy(g->st.xsave + XMM_OFF + (size_t)16 * x, v, 16);
}

static uint32_t mxcsr_of(const struct sys_guest *g)
{
    uint32_t v;
    memcpy(&v, g->st.xsave + MXCSR_OFF, 4);
    return v;
}

static void test_sse_misaligned(void **state)
{
    struct sys_guest *g = *state;
    EXC(g, 13, true, 0, 0, 0x0f, 0x28, 0x00, 0xf4);                  /* MOVAPS xmm0, [rax] */
    EXC(g, 13, true, 0, 0, 0x66, 0x0f, 0xfc, 0x00, 0xf4);            /* PADDB xmm0, [rax] */
    EXC(g, 13, true, 0, 0, 0x66, 0x0f, 0x7f, 0x00, 0xf4);            /* MOVDQA [rax], xmm0 */
    EXC(g, 13, true, 0, 0, 0x0f, 0x58, 0x00, 0xf4);                  /* ADDPS xmm0, [rax] */
    EXC(g, 13, true, 0, 0, 0x66, 0x0f, 0x38, 0x00, 0x00, 0xf4);      /* PSHUFB xmm0, [rax] */
    assert_int_equal(RUN(g, 0x0f, 0x10, 0x00, 0xf4), NO_EXC);        /* MOVUPS xmm0, [rax] */
    assert_int_equal(RUN(g, 0xf3, 0x0f, 0x6f, 0x00, 0xf4), NO_EXC);  /* MOVDQU xmm0, [rax] */
    assert_int_equal(RUN(g, 0xf2, 0x0f, 0xf0, 0x00, 0xf4), NO_EXC);  /* LDDQU xmm0, [rax] */
    assert_int_equal(RUN(g, 0xf3, 0x0f, 0x58, 0x00, 0xf4), NO_EXC);  /* ADDSS xmm0, [rax] */
    assert_int_equal(RUN(g, 0x66, 0x0f, 0x3a, 0x63, 0x00, 0x00, 0xf4), NO_EXC);  /* PCMPISTRI xmm0, [rax], 0 */
}

static void test_sse_unavailable(void **state)
{
    struct sys_guest *g = *state;
    assert_int_equal(RUN(g, 0x0f, 0x58, 0xc1, 0xf4), NO_EXC);        /* ADDPS xmm0, xmm1 */
    EXC(g, 6, false, 0, 0, 0xf0, 0x0f, 0x58, 0xc1, 0xf4);            /* LOCK ADDPS: #UD */
    EXC(g, 6, false, 0, 0, 0xf0, 0x66, 0x0f, 0xfc, 0x00, 0xf4);      /* LOCK PADDB xmm0, [rax] */
    g->st.cr4 &= ~(uint64_t)CR4_OSFXSR;
    EXC(g, 6, false, 0, 0, 0x0f, 0x58, 0xc1, 0xf4);                  /* no OSFXSR: #UD */
    EXC(g, 6, false, 0, 0, 0x66, 0x0f, 0xfc, 0xc1, 0xf4);            /* PADDB xmm0, xmm1 */
    g->st.cr4 |= CR4_OSFXSR;
    g->st.cr0 |= CR0_EM;
    EXC(g, 6, false, 0, 0, 0x0f, 0x58, 0xc1, 0xf4);                  /* CR0.EM: #UD */
    EXC(g, 6, false, 0, 0, 0x66, 0x0f, 0x3a, 0x0f, 0xc1, 0x03, 0xf4);  /* PALIGNR */
    g->st.cr0 &= ~(uint64_t)CR0_EM;
    g->st.cr0 |= CR0_TS;
    EXC(g, 7, false, 0, 0, 0x0f, 0x58, 0xc1, 0xf4);                  /* CR0.TS: #NM */
    EXC(g, 7, false, 0, 0, 0x66, 0x0f, 0x38, 0xdc, 0xc1, 0xf4);      /* AESENC */
    assert_int_equal(RUN(g, 0xf2, 0x0f, 0x38, 0xf1, 0xc1, 0xf4), NO_EXC);  /* CRC32 eax, ecx: no SSE state */
    assert_int_equal(RUN(g, 0xf3, 0x0f, 0xb8, 0xc1, 0xf4), NO_EXC);  /* POPCNT eax, ecx */
}

/* A zero divide with ZM clear: #XM, destination unchanged, ZE set; #UD
 * instead when CR4.OSXMMEXCPT is clear (the flag is still set). */
static void test_sse_simd_exception(void **state)
{
    struct sys_guest *g = *state;
    uint32_t mx = 0x1f80 & ~(1u << 9);                               /* ZM clear */
    memcpy(g->st.xsave + MXCSR_OFF, &mx, 4);
    set_xmm_f32(g, 0, 1.0f, 2.0f, 3.0f, 4.0f);
    set_xmm_f32(g, 1, 1.0f, 0.0f, 1.0f, 1.0f);
    uint8_t before[16];
    memcpy(before, g->st.xsave + XMM_OFF, 16);
    EXC(g, 19, false, 0, 0, 0x0f, 0x5e, 0xc1, 0xf4);                 /* DIVPS xmm0, xmm1 */
    assert_memory_equal(g->st.xsave + XMM_OFF, before, 16);
    assert_int_equal(mxcsr_of(g) & 0x3f, 0x04);                      /* ZE only */
    memcpy(g->st.xsave + MXCSR_OFF, &mx, 4);
    assert_int_equal(RUN(g, 0xf3, 0x0f, 0x5e, 0xc1, 0xf4), NO_EXC);  /* DIVSS: lane 0 is 1/1 */
    set_xmm_f32(g, 1, 0.0f, 1.0f, 1.0f, 1.0f);
    memcpy(before, g->st.xsave + XMM_OFF, 16);
    EXC(g, 19, false, 0, 0, 0xf3, 0x0f, 0x5e, 0xc1, 0xf4);           /* DIVSS xmm0, xmm1 */
    assert_memory_equal(g->st.xsave + XMM_OFF, before, 16);
    assert_int_equal(mxcsr_of(g) & 0x3f, 0x04);
    memcpy(g->st.xsave + MXCSR_OFF, &mx, 4);
    g->st.cr4 &= ~(uint64_t)CR4_OSXMMEXCPT;
    EXC(g, 6, false, 0, 0, 0x0f, 0x5e, 0xc1, 0xf4);                  /* DIVPS: #UD */
    assert_memory_equal(g->st.xsave + XMM_OFF, before, 16);
    assert_int_equal(mxcsr_of(g) & 0x3f, 0x04);
    mx |= 1u << 9;                                                   /* masked: the default result */
    memcpy(g->st.xsave + MXCSR_OFF, &mx, 4);
    assert_int_equal(RUN(g, 0x0f, 0x5e, 0xc1, 0xf4), NO_EXC);
    float r[4];
    memcpy(r, g->st.xsave + XMM_OFF, 16);
    assert_true(r[0] > 1e38f && r[1] == 2.0f);
    /* A sticky flag under a clear mask is no pending exception (unlike x87). */
    mx = (0x1f80 & ~(1u << 9)) | 0x04;
    memcpy(g->st.xsave + MXCSR_OFF, &mx, 4);
    g->st.cr4 |= CR4_OSXMMEXCPT;
    assert_int_equal(RUN(g, 0x0f, 0x58, 0xc1, 0xf4), NO_EXC);        /* ADDPS xmm0, xmm1 */
    assert_int_equal(mxcsr_of(g), mx);
}

/* LDMXCSR with a reserved bit set: #GP(0), MXCSR unchanged. */
static void test_sse_ldmxcsr_reserved(void **state)
{
    struct sys_guest *g = *state;
    uint32_t bad = 0x80001f80u, good = 0x00003f80u;
    memcpy(g->ram.host + 0x20100, &bad, 4);
    memcpy(g->ram.host + 0x20104, &good, 4);
    g->st.gpr[GPR_RBX] = 0x20100;
    EXC(g, 13, true, 0, 0, 0x0f, 0xae, 0x13, 0xf4);                  /* LDMXCSR [rbx] */
    assert_int_equal(mxcsr_of(g), 0x1f80);
    assert_int_equal(RUN(g, 0x0f, 0xae, 0x53, 0x04, 0xf4), NO_EXC);  /* LDMXCSR [rbx+4] */
    assert_int_equal(mxcsr_of(g), good);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sse_diff_harness),
        cmocka_unit_test(test_sse_diff),
        cmocka_unit_test(test_sse_undefined),
        cmocka_unit_test_setup_teardown(test_sse_misaligned, sse_setup, sse_teardown),
        cmocka_unit_test_setup_teardown(test_sse_unavailable, sse_setup, sse_teardown),
        cmocka_unit_test_setup_teardown(test_sse_simd_exception, sse_setup, sse_teardown),
        cmocka_unit_test_setup_teardown(test_sse_ldmxcsr_reserved, sse_setup, sse_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
