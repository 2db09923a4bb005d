/*
 * SSE..SSE4.2, AES-NI and PCLMULQDQ: what the decoder and the executor
 * share.  Each legacy-encoded SSE opcode (mandatory prefix x map x opcode)
 * has a descriptor saying what its operands are, how big a memory operand
 * is, what it writes and which MXCSR/alignment rules apply (sse_table.c).
 * The computation itself runs on the host CPU: a stub executes the same
 * opcode on fixed host registers (sse_host.c), sse.c moves the guest's
 * operands in and the results out.
 */
#ifndef PETREL_CPU_INTERP_SSE_H
#define PETREL_CPU_INTERP_SSE_H

#include "interp_internal.h"

/* Mandatory prefix index and opcode map. */
enum sse_prefix { SP_NONE, SP_66, SP_F3, SP_F2, SP_COUNT };
enum sse_map { SM_0F, SM_0F38, SM_0F3A, SM_COUNT };

/* Operand classes of ModRM.reg and ModRM.rm (register forms). */
enum sse_class { SC_XMM = 0, SC_MMX, SC_GPR };

/* What the executor does besides running the stub. */
enum sse_kind {
    SK_NONE = 0,     /* no such instruction (#UD) */
    SK_STUB,         /* the host stub of the same opcode */
    SK_SHIFT_IMM,    /* 66 0F 71-73: shift by imm8 (run as the shift by a count register) */
    SK_MASKMOV,      /* 66 0F F7 MASKMOVDQU */
    SK_MOVNTI,       /* 0F C3 MOVNTI m32/m64, r */
    SK_MOVE,         /* 128-bit moves (MOVAPS/UPS/APD/UPD/DQA/DQU): copied in C */
};

/* Descriptor flags. */
#define SF_WREG    0x0001u   /* writes the ModRM.reg operand */
#define SF_WRM     0x0002u   /* writes the ModRM.rm operand (a store) */
#define SF_WXMM0   0x0004u   /* writes XMM0 (PCMPxSTRM) */
#define SF_WECX    0x0008u   /* writes ECX (PCMPxSTRI) */
#define SF_RFLAGS  0x0010u   /* writes OF SF ZF AF PF CF */
#define SF_FP      0x0020u   /* floating point: MXCSR rounding, DAZ/FTZ, exceptions */
#define SF_ALIGN   0x0040u   /* a memory operand must be 16-byte aligned (#GP) */
#define SF_MEMONLY 0x0080u   /* register form is #UD */
#define SF_IMM     0x0100u   /* an imm8 follows */
#define SF_W       0x0200u   /* REX.W changes the instruction (64-bit GPR operand) */
#define SF_WMEM    0x0400u   /* ... and doubles the memory operand size */
#define SF_RAXRDX  0x0800u   /* reads EAX/EDX (RAX/RDX) as lengths (PCMPESTRx) */

struct sse_desc {
    uint16_t flags;
    uint8_t  msize;          /* memory operand bytes; 0: register form only */
    uint8_t  reg_class, rm_class;
    uint8_t  kind;
};

/* Descriptor of (prefix, map, opcode); index = sse_desc_index(). */
extern const struct sse_desc sse_descs[SP_COUNT * SM_COUNT * 256];

static inline unsigned sse_desc_index(unsigned prefix, unsigned map, unsigned op)
{
    return (prefix * SM_COUNT + map) * 256u + op;
}

/* Host stub number (16-byte units) of an instruction's register form; the
 * memory form is the next stub.  Returns 0xffff if there is none. */
unsigned sse_stub_number(unsigned prefix, unsigned map, unsigned op, bool rex_w, unsigned imm);

/* Host registers around a stub: XMM0-2, RAX/RCX/RDX, RFLAGS after, MM1/MM2
 * and MXCSR (the guest's on the way in, the host's result on the way out). */
struct sse_host_regs {
    _Alignas(16) uint8_t xmm[3][16];   /* 0: guest XMM0, 1: reg operand, 2: rm operand */
    uint64_t rax, rcx, rdx, rflags;    /* 48 56 64 72 */
    uint32_t mxcsr, host_mxcsr;        /* 80 84 */
    uint64_t mm1, mm2;                 /* 88 96 */
};

/* Runs stub number n with mem as [rdi]; what: SSE_RUN_MXCSR (the guest's
 * MXCSR in and the result out, the host's kept) and/or SSE_RUN_MMX (also
 * MM1/MM2, and the MXCSR as well). */
#define SSE_RUN_MXCSR 1u
#define SSE_RUN_MMX   2u
void sse_host_run(unsigned n, void *mem, struct sse_host_regs *r, unsigned what);

/* The guest's MXCSR live in the host's (sse_mxcsr.c): sse_mxcsr_enter
 * loads it when every SIMD exception is masked (false if not), and the
 * floating-point stubs then run with no MXCSR switch, their flags
 * accumulating in the host register; sse_mxcsr_flush writes the flags back
 * and restores the host's MXCSR, before anything reads or writes the
 * guest's. */
bool sse_mxcsr_enter(struct interp_cpu *cpu);
void sse_mxcsr_flush(struct interp_cpu *cpu);

/* The C fast path of common SSE/SSE2 instructions (sse_fast.c), after
 * sse_check; SSE_SLOW if the instruction is not one of them. */
#define SSE_SLOW (-1)
int sse_fast(struct interp_cpu *cpu, const struct insn *in);

/* Decode time: a handler of its own for the moves and what sse_fast
 * computes, per opcode and operand form (sse_special.c); in->fn (op_sse)
 * is left alone for the rest. */
void sse_specialize(struct insn *in);

/* Host CPU support of the guest-visible feature bits (CPUID 1 ECX/EDX). */
void sse_host_features(uint32_t *ecx, uint32_t *edx);

/* The MXCSR bits the host's LDMXCSR accepts. */
uint32_t sse_host_mxcsr_mask(void);

/* Whether the host CPU has the extension of (prefix, map, opcode). */
bool sse_host_supports(unsigned prefix, unsigned map, unsigned op);

/* MMX register access and the x87 -> MMX transition (mmx.c). */
uint64_t mmx_reg_get(const struct interp_cpu *cpu, unsigned i);
void mmx_reg_set(struct interp_cpu *cpu, unsigned i, uint64_t v);
void mmx_enter(struct interp_cpu *cpu);

#endif /* PETREL_CPU_INTERP_SSE_H */
