/*
 * The SSE opcode descriptors (see sse.h): for each mandatory prefix, map
 * and opcode, the operand classes, memory operand size and rules.  The
 * no-prefix MMX forms of 0F 60-7F/C4/C5/D1-FE are not here: the decoder
 * falls back to the MMX entries of opmap_0f for them.
 */
#include "sse.h"

#define E(p, m, op) [((SP_##p) * SM_COUNT + (SM_##m)) * 256 + (op)]
#define D(fl, ms, rc, mc) { (uint16_t)(fl), (ms), SC_##rc, SC_##mc, SK_STUB }

/* Shapes that recur. */
#define PK          D(SF_WREG | SF_ALIGN, 16, XMM, XMM)              /* op xmm, xmm/m128 */
#define PKF         D(SF_WREG | SF_ALIGN | SF_FP, 16, XMM, XMM)      /* the same, floating point */
#define PKI         D(SF_WREG | SF_ALIGN | SF_IMM, 16, XMM, XMM)     /* ... with imm8 */
#define PKFI        D(SF_WREG | SF_ALIGN | SF_FP | SF_IMM, 16, XMM, XMM)
#define LD(n)       D(SF_WREG, n, XMM, XMM)                          /* unaligned n-byte source */
#define LDF(n)      D(SF_WREG | SF_FP, n, XMM, XMM)                  /* scalar floating point */
#define ST(n)       D(SF_WRM, n, XMM, XMM)                           /* store, unaligned */
#define STA         D(SF_WRM | SF_ALIGN, 16, XMM, XMM)               /* store, aligned */
#define STM(n)      D(SF_WRM | SF_MEMONLY, n, XMM, XMM)              /* store, memory only */
#define NT          D(SF_WRM | SF_MEMONLY | SF_ALIGN, 16, XMM, XMM)  /* non-temporal store */
#define MMX_MMX     D(SF_WREG, 8, MMX, MMX)                          /* SSSE3 on MMX registers */
#define PMOV(n)     D(SF_WREG, n, XMM, XMM)                          /* PMOVSX/ZX: n-byte source */
#define MV(fl)      { (uint16_t)(fl), 16, SC_XMM, SC_XMM, SK_MOVE }  /* 128-bit move */

const struct sse_desc sse_descs[SP_COUNT * SM_COUNT * 256] = {
    /* ---- 0F, no prefix: SSE on single precision ---- */
    E(NONE, 0F, 0x10) = MV(SF_WREG), E(NONE, 0F, 0x11) = MV(SF_WRM),
    E(NONE, 0F, 0x12) = LD(8), E(NONE, 0F, 0x13) = STM(8),                   /* MOVLPS / MOVHLPS */
    E(NONE, 0F, 0x14) = PK, E(NONE, 0F, 0x15) = PK,
    E(NONE, 0F, 0x16) = LD(8), E(NONE, 0F, 0x17) = STM(8),                   /* MOVHPS / MOVLHPS */
    E(NONE, 0F, 0x28) = MV(SF_WREG | SF_ALIGN), E(NONE, 0F, 0x29) = MV(SF_WRM | SF_ALIGN),
    E(NONE, 0F, 0x2a) = D(SF_WREG | SF_FP, 8, XMM, MMX),                     /* CVTPI2PS */
    E(NONE, 0F, 0x2b) = NT,
    E(NONE, 0F, 0x2c) = D(SF_WREG | SF_FP, 8, MMX, XMM),                     /* CVTTPS2PI */
    E(NONE, 0F, 0x2d) = D(SF_WREG | SF_FP, 8, MMX, XMM),                     /* CVTPS2PI */
    E(NONE, 0F, 0x2e) = D(SF_RFLAGS | SF_FP, 4, XMM, XMM),                   /* UCOMISS */
    E(NONE, 0F, 0x2f) = D(SF_RFLAGS | SF_FP, 4, XMM, XMM),                   /* COMISS */
    E(NONE, 0F, 0x50) = D(SF_WREG, 0, GPR, XMM),                             /* MOVMSKPS */
    E(NONE, 0F, 0x51) = PKF, E(NONE, 0F, 0x52) = PKF, E(NONE, 0F, 0x53) = PKF,
    E(NONE, 0F, 0x54) = PK, E(NONE, 0F, 0x55) = PK, E(NONE, 0F, 0x56) = PK, E(NONE, 0F, 0x57) = PK,
    E(NONE, 0F, 0x58) = PKF, E(NONE, 0F, 0x59) = PKF,
    E(NONE, 0F, 0x5a) = LDF(8),                                              /* CVTPS2PD */
    E(NONE, 0F, 0x5b) = PKF,                                                 /* CVTDQ2PS */
    E(NONE, 0F, 0x5c) = PKF, E(NONE, 0F, 0x5d) = PKF, E(NONE, 0F, 0x5e) = PKF, E(NONE, 0F, 0x5f) = PKF,
    E(NONE, 0F, 0xc2) = PKFI,                                                /* CMPPS */
    E(NONE, 0F, 0xc3) = { SF_MEMONLY, 4, SC_GPR, SC_GPR, SK_MOVNTI },
    E(NONE, 0F, 0xc6) = PKI,                                                 /* SHUFPS */

    /* ---- 66 0F: SSE2 double precision and 128-bit integers ---- */
    E(66, 0F, 0x10) = MV(SF_WREG), E(66, 0F, 0x11) = MV(SF_WRM),
    E(66, 0F, 0x12) = D(SF_WREG | SF_MEMONLY, 8, XMM, XMM), E(66, 0F, 0x13) = STM(8),
    E(66, 0F, 0x14) = PK, E(66, 0F, 0x15) = PK,
    E(66, 0F, 0x16) = D(SF_WREG | SF_MEMONLY, 8, XMM, XMM), E(66, 0F, 0x17) = STM(8),
    E(66, 0F, 0x28) = MV(SF_WREG | SF_ALIGN), E(66, 0F, 0x29) = MV(SF_WRM | SF_ALIGN),
    E(66, 0F, 0x2a) = D(SF_WREG, 8, XMM, MMX),                               /* CVTPI2PD (exact) */
    E(66, 0F, 0x2b) = NT,
    E(66, 0F, 0x2c) = D(SF_WREG | SF_FP | SF_ALIGN, 16, MMX, XMM),          /* CVTTPD2PI */
    E(66, 0F, 0x2d) = D(SF_WREG | SF_FP | SF_ALIGN, 16, MMX, XMM),          /* CVTPD2PI */
    E(66, 0F, 0x2e) = D(SF_RFLAGS | SF_FP, 8, XMM, XMM),                     /* UCOMISD */
    E(66, 0F, 0x2f) = D(SF_RFLAGS | SF_FP, 8, XMM, XMM),                     /* COMISD */
    E(66, 0F, 0x50) = D(SF_WREG, 0, GPR, XMM),                               /* MOVMSKPD */
    E(66, 0F, 0x51) = PKF,
    E(66, 0F, 0x54) = PK, E(66, 0F, 0x55) = PK, E(66, 0F, 0x56) = PK, E(66, 0F, 0x57) = PK,
    E(66, 0F, 0x58) = PKF, E(66, 0F, 0x59) = PKF, E(66, 0F, 0x5a) = PKF, E(66, 0F, 0x5b) = PKF,
    E(66, 0F, 0x5c) = PKF, E(66, 0F, 0x5d) = PKF, E(66, 0F, 0x5e) = PKF, E(66, 0F, 0x5f) = PKF,
    E(66, 0F, 0x60) = PK, E(66, 0F, 0x61) = PK, E(66, 0F, 0x62) = PK, E(66, 0F, 0x63) = PK,
    E(66, 0F, 0x64) = PK, E(66, 0F, 0x65) = PK, E(66, 0F, 0x66) = PK, E(66, 0F, 0x67) = PK,
    E(66, 0F, 0x68) = PK, E(66, 0F, 0x69) = PK, E(66, 0F, 0x6a) = PK, E(66, 0F, 0x6b) = PK,
    E(66, 0F, 0x6c) = PK, E(66, 0F, 0x6d) = PK,
    E(66, 0F, 0x6e) = D(SF_WREG | SF_W | SF_WMEM, 4, XMM, GPR),              /* MOVD/MOVQ xmm, r/m */
    E(66, 0F, 0x6f) = MV(SF_WREG | SF_ALIGN),
    E(66, 0F, 0x70) = PKI,                                                   /* PSHUFD */
    E(66, 0F, 0x71) = { SF_IMM, 0, SC_XMM, SC_XMM, SK_SHIFT_IMM },
    E(66, 0F, 0x72) = { SF_IMM, 0, SC_XMM, SC_XMM, SK_SHIFT_IMM },
    E(66, 0F, 0x73) = { SF_IMM, 0, SC_XMM, SC_XMM, SK_SHIFT_IMM },
    E(66, 0F, 0x74) = PK, E(66, 0F, 0x75) = PK, E(66, 0F, 0x76) = PK,
    E(66, 0F, 0x7c) = PKF, E(66, 0F, 0x7d) = PKF,                            /* HADDPD HSUBPD */
    E(66, 0F, 0x7e) = D(SF_WRM | SF_W | SF_WMEM, 4, XMM, GPR),               /* MOVD/MOVQ r/m, xmm */
    E(66, 0F, 0x7f) = MV(SF_WRM | SF_ALIGN),
    E(66, 0F, 0xc2) = PKFI,
    E(66, 0F, 0xc4) = D(SF_WREG | SF_IMM, 2, XMM, GPR),                      /* PINSRW */
    E(66, 0F, 0xc5) = D(SF_WREG | SF_IMM, 0, GPR, XMM),                      /* PEXTRW */
    E(66, 0F, 0xc6) = PKI,
    E(66, 0F, 0xd0) = PKF,                                                   /* ADDSUBPD */
    E(66, 0F, 0xd1) = PK, E(66, 0F, 0xd2) = PK, E(66, 0F, 0xd3) = PK, E(66, 0F, 0xd4) = PK,
    E(66, 0F, 0xd5) = PK,
    E(66, 0F, 0xd6) = ST(8),                                                 /* MOVQ xmm/m64, xmm */
    E(66, 0F, 0xd7) = D(SF_WREG, 0, GPR, XMM),                               /* PMOVMSKB */
    E(66, 0F, 0xd8) = PK, E(66, 0F, 0xd9) = PK, E(66, 0F, 0xda) = PK, E(66, 0F, 0xdb) = PK,
    E(66, 0F, 0xdc) = PK, E(66, 0F, 0xdd) = PK, E(66, 0F, 0xde) = PK, E(66, 0F, 0xdf) = PK,
    E(66, 0F, 0xe0) = PK, E(66, 0F, 0xe1) = PK, E(66, 0F, 0xe2) = PK, E(66, 0F, 0xe3) = PK,
    E(66, 0F, 0xe4) = PK, E(66, 0F, 0xe5) = PK,
    E(66, 0F, 0xe6) = PKF,                                                   /* CVTTPD2DQ */
    E(66, 0F, 0xe7) = NT,                                                    /* MOVNTDQ */
    E(66, 0F, 0xe8) = PK, E(66, 0F, 0xe9) = PK, E(66, 0F, 0xea) = PK, E(66, 0F, 0xeb) = PK,
    E(66, 0F, 0xec) = PK, E(66, 0F, 0xed) = PK, E(66, 0F, 0xee) = PK, E(66, 0F, 0xef) = PK,
    E(66, 0F, 0xf1) = PK, E(66, 0F, 0xf2) = PK, E(66, 0F, 0xf3) = PK, E(66, 0F, 0xf4) = PK,
    E(66, 0F, 0xf5) = PK, E(66, 0F, 0xf6) = PK,
    E(66, 0F, 0xf7) = { 0, 0, SC_XMM, SC_XMM, SK_MASKMOV },
    E(66, 0F, 0xf8) = PK, E(66, 0F, 0xf9) = PK, E(66, 0F, 0xfa) = PK, E(66, 0F, 0xfb) = PK,
    E(66, 0F, 0xfc) = PK, E(66, 0F, 0xfd) = PK, E(66, 0F, 0xfe) = PK,

    /* ---- F3 0F: scalar single precision and moves ---- */
    E(F3, 0F, 0x10) = LD(4), E(F3, 0F, 0x11) = ST(4),
    E(F3, 0F, 0x12) = PK, E(F3, 0F, 0x16) = PK,                              /* MOVSLDUP MOVSHDUP */
    E(F3, 0F, 0x2a) = D(SF_WREG | SF_FP | SF_W | SF_WMEM, 4, XMM, GPR),      /* CVTSI2SS */
    E(F3, 0F, 0x2c) = D(SF_WREG | SF_FP | SF_W, 4, GPR, XMM),                /* CVTTSS2SI */
    E(F3, 0F, 0x2d) = D(SF_WREG | SF_FP | SF_W, 4, GPR, XMM),                /* CVTSS2SI */
    E(F3, 0F, 0x51) = LDF(4), E(F3, 0F, 0x52) = LDF(4), E(F3, 0F, 0x53) = LDF(4),
    E(F3, 0F, 0x58) = LDF(4), E(F3, 0F, 0x59) = LDF(4), E(F3, 0F, 0x5a) = LDF(4),
    E(F3, 0F, 0x5b) = PKF,                                                   /* CVTTPS2DQ */
    E(F3, 0F, 0x5c) = LDF(4), E(F3, 0F, 0x5d) = LDF(4), E(F3, 0F, 0x5e) = LDF(4), E(F3, 0F, 0x5f) = LDF(4),
    E(F3, 0F, 0x6f) = MV(SF_WREG),                                           /* MOVDQU */
    E(F3, 0F, 0x70) = PKI,                                                   /* PSHUFHW */
    E(F3, 0F, 0x7e) = LD(8),                                                 /* MOVQ xmm, xmm/m64 */
    E(F3, 0F, 0x7f) = MV(SF_WRM),
    E(F3, 0F, 0xc2) = D(SF_WREG | SF_FP | SF_IMM, 4, XMM, XMM),              /* CMPSS */
    E(F3, 0F, 0xd6) = D(SF_WREG, 0, XMM, MMX),                               /* MOVQ2DQ */
    E(F3, 0F, 0xe6) = LD(8),                                                 /* CVTDQ2PD (exact) */

    /* ---- F2 0F: scalar double precision and SSE3 ---- */
    E(F2, 0F, 0x10) = LD(8), E(F2, 0F, 0x11) = ST(8),
    E(F2, 0F, 0x12) = LD(8),                                                 /* MOVDDUP */
    E(F2, 0F, 0x2a) = D(SF_WREG | SF_FP | SF_W | SF_WMEM, 4, XMM, GPR),      /* CVTSI2SD */
    E(F2, 0F, 0x2c) = D(SF_WREG | SF_FP | SF_W, 8, GPR, XMM),                /* CVTTSD2SI */
    E(F2, 0F, 0x2d) = D(SF_WREG | SF_FP | SF_W, 8, GPR, XMM),                /* CVTSD2SI */
    E(F2, 0F, 0x51) = LDF(8), E(F2, 0F, 0x58) = LDF(8), E(F2, 0F, 0x59) = LDF(8), E(F2, 0F, 0x5a) = LDF(8),
    E(F2, 0F, 0x5c) = LDF(8), E(F2, 0F, 0x5d) = LDF(8), E(F2, 0F, 0x5e) = LDF(8), E(F2, 0F, 0x5f) = LDF(8),
    E(F2, 0F, 0x70) = PKI,                                                   /* PSHUFLW */
    E(F2, 0F, 0x7c) = PKF, E(F2, 0F, 0x7d) = PKF,                            /* HADDPS HSUBPS */
    E(F2, 0F, 0xc2) = D(SF_WREG | SF_FP | SF_IMM, 8, XMM, XMM),              /* CMPSD */
    E(F2, 0F, 0xd0) = PKF,                                                   /* ADDSUBPS */
    E(F2, 0F, 0xd6) = D(SF_WREG, 0, MMX, XMM),                               /* MOVDQ2Q */
    E(F2, 0F, 0xe6) = PKF,                                                   /* CVTPD2DQ */
    E(F2, 0F, 0xf0) = D(SF_WREG | SF_MEMONLY, 16, XMM, XMM),                 /* LDDQU */

    /* ---- 0F 38: SSSE3 (MMX and XMM), SSE4.1, SSE4.2, AES ---- */
    E(NONE, 0F38, 0x00) = MMX_MMX, E(NONE, 0F38, 0x01) = MMX_MMX, E(NONE, 0F38, 0x02) = MMX_MMX,
    E(NONE, 0F38, 0x03) = MMX_MMX, E(NONE, 0F38, 0x04) = MMX_MMX, E(NONE, 0F38, 0x05) = MMX_MMX,
    E(NONE, 0F38, 0x06) = MMX_MMX, E(NONE, 0F38, 0x07) = MMX_MMX, E(NONE, 0F38, 0x08) = MMX_MMX,
    E(NONE, 0F38, 0x09) = MMX_MMX, E(NONE, 0F38, 0x0a) = MMX_MMX, E(NONE, 0F38, 0x0b) = MMX_MMX,
    E(NONE, 0F38, 0x1c) = MMX_MMX, E(NONE, 0F38, 0x1d) = MMX_MMX, E(NONE, 0F38, 0x1e) = MMX_MMX,
    E(66, 0F38, 0x00) = PK, E(66, 0F38, 0x01) = PK, E(66, 0F38, 0x02) = PK, E(66, 0F38, 0x03) = PK,
    E(66, 0F38, 0x04) = PK, E(66, 0F38, 0x05) = PK, E(66, 0F38, 0x06) = PK, E(66, 0F38, 0x07) = PK,
    E(66, 0F38, 0x08) = PK, E(66, 0F38, 0x09) = PK, E(66, 0F38, 0x0a) = PK, E(66, 0F38, 0x0b) = PK,
    E(66, 0F38, 0x10) = PK, E(66, 0F38, 0x14) = PK, E(66, 0F38, 0x15) = PK,  /* blends by XMM0 */
    E(66, 0F38, 0x17) = D(SF_RFLAGS | SF_ALIGN, 16, XMM, XMM),               /* PTEST */
    E(66, 0F38, 0x1c) = PK, E(66, 0F38, 0x1d) = PK, E(66, 0F38, 0x1e) = PK,
    E(66, 0F38, 0x20) = PMOV(8), E(66, 0F38, 0x21) = PMOV(4), E(66, 0F38, 0x22) = PMOV(2),
    E(66, 0F38, 0x23) = PMOV(8), E(66, 0F38, 0x24) = PMOV(4), E(66, 0F38, 0x25) = PMOV(8),
    E(66, 0F38, 0x28) = PK, E(66, 0F38, 0x29) = PK,
    E(66, 0F38, 0x2a) = D(SF_WREG | SF_MEMONLY | SF_ALIGN, 16, XMM, XMM),    /* MOVNTDQA */
    E(66, 0F38, 0x2b) = PK,
    E(66, 0F38, 0x30) = PMOV(8), E(66, 0F38, 0x31) = PMOV(4), E(66, 0F38, 0x32) = PMOV(2),
    E(66, 0F38, 0x33) = PMOV(8), E(66, 0F38, 0x34) = PMOV(4), E(66, 0F38, 0x35) = PMOV(8),
    E(66, 0F38, 0x37) = PK,
    E(66, 0F38, 0x38) = PK, E(66, 0F38, 0x39) = PK, E(66, 0F38, 0x3a) = PK, E(66, 0F38, 0x3b) = PK,
    E(66, 0F38, 0x3c) = PK, E(66, 0F38, 0x3d) = PK, E(66, 0F38, 0x3e) = PK, E(66, 0F38, 0x3f) = PK,
    E(66, 0F38, 0x40) = PK, E(66, 0F38, 0x41) = PK,
    E(66, 0F38, 0xdb) = PK, E(66, 0F38, 0xdc) = PK, E(66, 0F38, 0xdd) = PK, E(66, 0F38, 0xde) = PK,
    E(66, 0F38, 0xdf) = PK,

    /* ---- 0F 3A: everything with an imm8 ---- */
    E(NONE, 0F3A, 0x0f) = D(SF_WREG | SF_IMM, 8, MMX, MMX),                  /* PALIGNR mm */
    E(66, 0F3A, 0x08) = PKFI, E(66, 0F3A, 0x09) = PKFI,                      /* ROUNDPS/PD */
    E(66, 0F3A, 0x0a) = D(SF_WREG | SF_FP | SF_IMM, 4, XMM, XMM),            /* ROUNDSS */
    E(66, 0F3A, 0x0b) = D(SF_WREG | SF_FP | SF_IMM, 8, XMM, XMM),            /* ROUNDSD */
    E(66, 0F3A, 0x0c) = PKI, E(66, 0F3A, 0x0d) = PKI, E(66, 0F3A, 0x0e) = PKI, E(66, 0F3A, 0x0f) = PKI,
    E(66, 0F3A, 0x14) = D(SF_WRM | SF_IMM, 1, XMM, GPR),                     /* PEXTRB */
    E(66, 0F3A, 0x15) = D(SF_WRM | SF_IMM, 2, XMM, GPR),                     /* PEXTRW */
    E(66, 0F3A, 0x16) = D(SF_WRM | SF_IMM | SF_W | SF_WMEM, 4, XMM, GPR),    /* PEXTRD/Q */
    E(66, 0F3A, 0x17) = D(SF_WRM | SF_IMM, 4, XMM, GPR),                     /* EXTRACTPS */
    E(66, 0F3A, 0x20) = D(SF_WREG | SF_IMM, 1, XMM, GPR),                    /* PINSRB */
    E(66, 0F3A, 0x21) = D(SF_WREG | SF_IMM, 4, XMM, XMM),                    /* INSERTPS */
    E(66, 0F3A, 0x22) = D(SF_WREG | SF_IMM | SF_W | SF_WMEM, 4, XMM, GPR),   /* PINSRD/Q */
    E(66, 0F3A, 0x40) = PKFI, E(66, 0F3A, 0x41) = PKFI,                      /* DPPS DPPD */
    E(66, 0F3A, 0x42) = PKI, E(66, 0F3A, 0x44) = PKI,                        /* MPSADBW PCLMULQDQ */
    E(66, 0F3A, 0x60) = D(SF_WXMM0 | SF_RFLAGS | SF_RAXRDX | SF_W | SF_IMM, 16, XMM, XMM),
    E(66, 0F3A, 0x61) = D(SF_WECX | SF_RFLAGS | SF_RAXRDX | SF_W | SF_IMM, 16, XMM, XMM),
    E(66, 0F3A, 0x62) = D(SF_WXMM0 | SF_RFLAGS | SF_IMM, 16, XMM, XMM),
    E(66, 0F3A, 0x63) = D(SF_WECX | SF_RFLAGS | SF_IMM, 16, XMM, XMM),
    E(66, 0F3A, 0xdf) = PKI,                                                 /* AESKEYGENASSIST */
};
