/*
 * The host side of SSE execution: a table of stubs, each one instruction
 * followed by RET, assembled at build time (no code is generated at run
 * time).  A stub executes one SSE opcode with the ModRM.reg operand in
 * register 1 (XMM1, MM1 or ECX/RCX) and the ModRM.rm operand in register 2
 * (XMM2, MM2, EDX/RDX) or in memory at [RDI]; XMM0 holds the guest's XMM0
 * (the implicit operand of the blends and PCMPxSTRM) and EAX/EDX the
 * lengths of PCMPESTRx.
 *
 * Layout, 16 bytes per stub, the register form then the memory form:
 *   - maps 0F and 0F 38 without imm8: [map][prefix][opcode][REX.W][form]
 *   - each opcode with an imm8 (SSE_IMM_SLOTS): [imm8][form]
 */
#include <cpuid.h>

#include "sse.h"

/* (prefix byte, REX byte, map byte, opcode) of the opcodes with an imm8. */
#define SSE_IMM_SLOTS(X)                                                                            \
    X(0x66, 0, 0, 0x70) X(0xf3, 0, 0, 0x70) X(0xf2, 0, 0, 0x70)                                     \
    X(0, 0, 0, 0xc2) X(0x66, 0, 0, 0xc2) X(0xf3, 0, 0, 0xc2) X(0xf2, 0, 0, 0xc2)                    \
    X(0, 0, 0, 0xc6) X(0x66, 0, 0, 0xc6) X(0x66, 0, 0, 0xc4) X(0x66, 0, 0, 0xc5)                    \
    X(0, 0, 0x3a, 0x0f)                                                                             \
    X(0x66, 0, 0x3a, 0x08) X(0x66, 0, 0x3a, 0x09) X(0x66, 0, 0x3a, 0x0a) X(0x66, 0, 0x3a, 0x0b)     \
    X(0x66, 0, 0x3a, 0x0c) X(0x66, 0, 0x3a, 0x0d) X(0x66, 0, 0x3a, 0x0e) X(0x66, 0, 0x3a, 0x0f)     \
    X(0x66, 0, 0x3a, 0x14) X(0x66, 0, 0x3a, 0x15) X(0x66, 0, 0x3a, 0x16) X(0x66, 0, 0x3a, 0x17)     \
    X(0x66, 0, 0x3a, 0x20) X(0x66, 0, 0x3a, 0x21) X(0x66, 0, 0x3a, 0x22)                            \
    X(0x66, 0, 0x3a, 0x40) X(0x66, 0, 0x3a, 0x41) X(0x66, 0, 0x3a, 0x42) X(0x66, 0, 0x3a, 0x44)     \
    X(0x66, 0, 0x3a, 0x60) X(0x66, 0, 0x3a, 0x61) X(0x66, 0, 0x3a, 0x62) X(0x66, 0, 0x3a, 0x63)     \
    X(0x66, 0, 0x3a, 0xdf)                                                                          \
    X(0x66, 0x48, 0x3a, 0x16) X(0x66, 0x48, 0x3a, 0x22) X(0x66, 0x48, 0x3a, 0x60)                   \
    X(0x66, 0x48, 0x3a, 0x61)

#define ASM_SLOT(p, w, m, op) "SSE_IMM_SLOT " #p ", " #w ", " #m ", " #op "\n"

__asm__(".pushsection .text.petrel_sse_stubs,\"ax\",@progbits\n"
        ".macro SSE_STUB p, w, m, op, modrm, imm\n"
        ".p2align 4\n"
        ".byte 0xf3, 0x0f, 0x1e, 0xfa\n"                 /* ENDBR64 */
        ".if \\p\n.byte \\p\n.endif\n"
        ".if \\w\n.byte \\w\n.endif\n"
        ".byte 0x0f\n"
        ".if \\m\n.byte \\m\n.endif\n"
        ".byte \\op, \\modrm\n"
        ".if \\imm >= 0\n.byte \\imm\n.endif\n"
        ".byte 0xc3\n"
        ".endm\n"
        ".macro SSE_IMM_SLOT p, w, m, op\n"
        ".set .Lsse_imm, 0\n"
        ".rept 256\n"
        "SSE_STUB \\p, \\w, \\m, \\op, 0xca, .Lsse_imm\n"     /* reg 1, rm 2 */
        "SSE_STUB \\p, \\w, \\m, \\op, 0x0f, .Lsse_imm\n"     /* reg 1, [rdi] */
        ".set .Lsse_imm, .Lsse_imm + 1\n"
        ".endr\n"
        ".endm\n"
        ".p2align 4\n"
        ".globl petrel_sse_stubs\n"
        ".hidden petrel_sse_stubs\n"
        "petrel_sse_stubs:\n"
        ".irp m, 0, 0x38\n"
        ".irp p, 0, 0x66, 0xf3, 0xf2\n"
        ".set .Lsse_op, 0\n"
        ".rept 256\n"
        ".irp w, 0, 0x48\n"
        "SSE_STUB \\p, \\w, \\m, .Lsse_op, 0xca, -1\n"
        "SSE_STUB \\p, \\w, \\m, .Lsse_op, 0x0f, -1\n"
        ".endr\n"
        ".set .Lsse_op, .Lsse_op + 1\n"
        ".endr\n"
        ".endr\n"
        ".endr\n"
        SSE_IMM_SLOTS(ASM_SLOT)
        ".purgem SSE_STUB\n"
        ".purgem SSE_IMM_SLOT\n"
        ".popsection\n");

extern const uint8_t petrel_sse_stubs[];

#define PLAIN_STUBS (2u * SP_COUNT * 256u * 2u * 2u)

struct imm_slot { uint8_t prefix, rex, map, op; };
#define C_SLOT(p, w, m, op) { p, w, m, op },
static const struct imm_slot imm_slots[] = { SSE_IMM_SLOTS(C_SLOT) };

static const uint8_t prefix_byte[SP_COUNT] = { 0, 0x66, 0xf3, 0xf2 };
static const uint8_t map_byte[SM_COUNT] = { 0, 0x38, 0x3a };

unsigned sse_stub_number(unsigned prefix, unsigned map, unsigned op, bool rex_w, unsigned imm)
{
    if (map != SM_0F3A && !(sse_descs[sse_desc_index(prefix, map, op)].flags & SF_IMM))
        return (((map * SP_COUNT + prefix) * 256u + op) * 2u + rex_w) * 2u;
    for (unsigned s = 0; s < sizeof(imm_slots) / sizeof(imm_slots[0]); s++) {
        const struct imm_slot *e = &imm_slots[s];
        if (e->prefix == prefix_byte[prefix] && e->map == map_byte[map] && e->op == op &&
            (e->rex != 0) == rex_w)
            return PLAIN_STUBS + (s * 256u + (imm & 0xffu)) * 2u;
    }
    return 0xffff;
}

/* The common part of the three calling sequences: registers in, the stub,
 * RFLAGS and registers out (r in RSI, the stub address in a register). */
#define SSE_LOAD                                                                                    \
    "movdqa 0(%[r]), %%xmm0\n\tmovdqa 16(%[r]), %%xmm1\n\tmovdqa 32(%[r]), %%xmm2\n\t"             \
    "mov 48(%[r]), %%rax\n\tmov 56(%[r]), %%rcx\n\tmov 64(%[r]), %%rdx\n\t"
#define SSE_CALL "call *%[stub]\n\tpushfq\n\tpopq 72(%[r])\n\t"
#define SSE_STORE                                                                                   \
    "movdqa %%xmm0, 0(%[r])\n\tmovdqa %%xmm1, 16(%[r])\n\tmovdqa %%xmm2, 32(%[r])\n\t"             \
    "mov %%rax, 48(%[r])\n\tmov %%rcx, 56(%[r])\n\tmov %%rdx, 64(%[r])\n\t"
#define SSE_MXCSR_IN  "stmxcsr 84(%[r])\n\tldmxcsr 80(%[r])\n\t"
#define SSE_MXCSR_OUT "stmxcsr 80(%[r])\n\tldmxcsr 84(%[r])\n\t"
#define SSE_OPERANDS  : : [r] "S"(r), [stub] "r"(stub), "D"(mem)
#define SSE_CLOBBERS  "rax", "rcx", "rdx", "xmm0", "xmm1", "xmm2", "memory", "cc"

void sse_host_run(unsigned n, void *mem, struct sse_host_regs *r, unsigned what)
{
    const uint8_t *stub = petrel_sse_stubs + (size_t)n * 16u;
    if (!what) {                                         /* the red zone is kept: 128 bytes below */
        __asm__ volatile("sub $128, %%rsp\n\t" SSE_LOAD SSE_CALL SSE_STORE "add $128, %%rsp"
                         SSE_OPERANDS : SSE_CLOBBERS);
    } else if (!(what & SSE_RUN_MMX)) {                  /* floating point without MMX registers */
        __asm__ volatile("sub $128, %%rsp\n\t" SSE_MXCSR_IN SSE_LOAD SSE_CALL SSE_MXCSR_OUT SSE_STORE
                         "add $128, %%rsp"
                         SSE_OPERANDS : SSE_CLOBBERS);
    } else {
        __asm__ volatile("sub $128, %%rsp\n\t" SSE_MXCSR_IN
                         "movq 88(%[r]), %%mm1\n\tmovq 96(%[r]), %%mm2\n\t" SSE_LOAD SSE_CALL SSE_MXCSR_OUT
                         "movq %%mm1, 88(%[r])\n\tmovq %%mm2, 96(%[r])\n\temms\n\t" SSE_STORE
                         "add $128, %%rsp"
                         SSE_OPERANDS : SSE_CLOBBERS, "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)",
                           "st(7)", "mm0", "mm1", "mm2", "mm3", "mm4", "mm5", "mm6", "mm7");
    }
}

/* CPUID 1 bits of the SSE family the interpreter can offer: those the host
 * has, since the stubs run on it. */
void sse_host_features(uint32_t *ecx, uint32_t *edx)
{
    static const uint32_t ecx_bits = (1u << 0) | (1u << 1) | (1u << 9) | (1u << 19) | (1u << 20) | (1u << 25);
    static const uint32_t edx_bits = (1u << 24) | (1u << 25) | (1u << 26);
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) {
        *ecx = *edx = 0;
        return;
    }
    *ecx = c & ecx_bits;
    *edx = d & edx_bits;
}

/* Whether the host can run the stubs of (prefix, map, opcode). */
bool sse_host_supports(unsigned prefix, unsigned map, unsigned op)
{
    static uint32_t cached;                 /* host CPUID 1 ECX bits | 1u << 31 once read */
    uint32_t have = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (!have) {
        uint32_t ecx, edx;
        sse_host_features(&ecx, &edx);
        have = ecx | 1u << 31;
        __atomic_store_n(&cached, have, __ATOMIC_RELAXED);
    }
    unsigned need;                          /* CPUID 1 ECX bit, or 31 for baseline SSE/SSE2 */
    if (map == SM_0F) {
        bool sse3 = ((op == 0x7c || op == 0x7d || op == 0xd0) && prefix != SP_NONE && prefix != SP_F3) ||
                    (op == 0xf0 && prefix == SP_F2) || (op == 0x12 && prefix >= SP_F3) ||
                    (op == 0x16 && prefix == SP_F3);
        need = sse3 ? 0 : 31;
    } else if (map == SM_0F38) {
        need = op <= 0x0b || (op >= 0x1c && op <= 0x1e) ? 9 : op == 0x37 ? 20 : op >= 0xdb ? 25 : 19;
    } else {
        need = op == 0x0f ? 9 : op == 0x44 ? 1 : (op >= 0x60 && op <= 0x63) ? 20 : op == 0xdf ? 25 : 19;
    }
    return (have >> need) & 1u;
}

/* The MXCSR bits this host accepts (FXSAVE's MXCSR_MASK; 0 there means
 * 0xffbf, a CPU without DAZ): guest values are clipped to it before they
 * reach LDMXCSR, which would fault in Petrel itself on anything else. */
uint32_t sse_host_mxcsr_mask(void)
{
    static uint32_t cached;
    uint32_t mask = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (mask)
        return mask;
    _Alignas(16) uint8_t img[512] = { 0 };
    __asm__ volatile("fxsave %0" : "=m"(img));
    memcpy(&mask, img + 28, 4);
    if (!mask)
        mask = 0xffbf;
    __atomic_store_n(&cached, mask, __ATOMIC_RELAXED);
    return mask;
}
