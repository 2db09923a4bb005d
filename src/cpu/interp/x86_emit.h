/*
 * A small x86-64 encoder for the block compiler (jit.c): just the forms it
 * emits, with guest state always addressed as [host register + disp32]
 * (or + index*scale).  Writes past the buffer's end are counted, not made:
 * the caller checks emit_ok() and drops the block.
 */
#ifndef PETREL_CPU_INTERP_X86_EMIT_H
#define PETREL_CPU_INTERP_X86_EMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum host_reg { H_RAX, H_RCX, H_RDX, H_RBX, H_RSP, H_RBP, H_RSI, H_RDI,
                H_R8, H_R9, H_R10, H_R11, H_R12, H_R13, H_R14, H_R15 };

struct emit {
    uint8_t *p, *end;
    bool overflow;
};

static inline bool emit_ok(const struct emit *e) { return !e->overflow; }

static inline void e_byte(struct emit *e, unsigned b)
{
    if (e->p < e->end)
        *e->p++ = (uint8_t)b;
    else
        e->overflow = true;
}

static inline void e_u16(struct emit *e, uint16_t v) { e_byte(e, v & 0xff); e_byte(e, v >> 8); }
static inline void e_u32(struct emit *e, uint32_t v) { for (int i = 0; i < 4; i++) e_byte(e, (v >> (8 * i)) & 0xff); }
static inline void e_u64(struct emit *e, uint64_t v) { e_u32(e, (uint32_t)v); e_u32(e, (uint32_t)(v >> 32)); }

/* REX when needed (always with w; reg/index/base >= 8 set R/X/B). */
static inline void e_rex(struct emit *e, bool w, unsigned reg, unsigned index, unsigned base, bool force)
{
    unsigned rex = 0x40 | (w ? 8 : 0) | ((reg & 8) ? 4 : 0) | ((index & 8) ? 2 : 0) | ((base & 8) ? 1 : 0);
    if (rex != 0x40 || force)
        e_byte(e, rex);
}

static inline void e_opcode(struct emit *e, uint32_t op)   /* 1-3 bytes, first byte in the low bits */
{
    do {
        e_byte(e, op & 0xff);
        op >>= 8;
    } while (op);
}

/* ModRM (+SIB) + disp for reg, [base + disp] (mod 01/10 only, so RBP/R13
 * need no special case; RSP/R12 take a SIB byte). */
static inline void e_modrm_mem(struct emit *e, unsigned reg, unsigned base, int32_t disp)
{
    bool d8 = disp >= -128 && disp <= 127;
    e_byte(e, (d8 ? 0x40 : 0x80) | ((reg & 7) << 3) | (base & 7));
    if ((base & 7) == H_RSP)
        e_byte(e, 0x24);
    if (d8)
        e_byte(e, (uint8_t)(int8_t)disp);
    else
        e_u32(e, (uint32_t)disp);
}

/* op reg, [base + disp] (or the reverse direction: the opcode says).  A
 * 16-bit operand's 0x66 prefix is the caller's, emitted before this. */
static inline void e_op_mem(struct emit *e, bool w, uint32_t op, unsigned reg, unsigned base, int32_t disp)
{
    e_rex(e, w, reg, 0, base, false);
    e_opcode(e, op);
    e_modrm_mem(e, reg, base, disp);
}

/* op reg, [base + index*scale + disp32] (index != RSP). */
static inline void e_op_sib(struct emit *e, bool w, uint32_t op, unsigned reg, unsigned base, unsigned index,
                            unsigned scale, int32_t disp)
{
    e_rex(e, w, reg, index, base, false);
    e_opcode(e, op);
    e_byte(e, 0x84 | ((reg & 7) << 3));
    e_byte(e, (scale << 6) | ((index & 7) << 3) | (base & 7));
    e_u32(e, (uint32_t)disp);
}

/* op reg, rm (both registers). */
static inline void e_op_rr(struct emit *e, bool w, uint32_t op, unsigned reg, unsigned rm)
{
    e_rex(e, w, reg, 0, rm, false);
    e_opcode(e, op);
    e_byte(e, 0xc0 | ((reg & 7) << 3) | (rm & 7));
}

enum { OP_ADD = 0x03, OP_OR = 0x0b, OP_ADC = 0x13, OP_SBB = 0x1b, OP_AND = 0x23, OP_SUB = 0x2b, OP_XOR = 0x33, OP_CMP = 0x3b,
       OP_MOV_LOAD = 0x8b, OP_MOV_STORE = 0x89, OP_LEA = 0x8d, OP_IMUL = 0xaf0f, OP_TEST = 0x85,
       OP_MOVZX8 = 0xb60f, OP_MOVZX16 = 0xb70f, OP_MOVSX8 = 0xbe0f, OP_MOVSX16 = 0xbf0f, OP_MOVSXD = 0x63 };

/* mov reg, imm64 (the shortest form that gives the same 64-bit value). */
static inline void e_mov_imm(struct emit *e, unsigned reg, uint64_t v)
{
    if (v <= UINT32_MAX) {                         /* mov r32, imm32 zero-extends */
        e_rex(e, false, 0, 0, reg, false);
        e_byte(e, 0xb8 + (reg & 7));
        e_u32(e, (uint32_t)v);
    } else if ((int64_t)v == (int32_t)v) {        /* mov r64, simm32 */
        e_rex(e, true, 0, 0, reg, false);
        e_byte(e, 0xc7);
        e_byte(e, 0xc0 | (reg & 7));
        e_u32(e, (uint32_t)v);
    } else {
        e_rex(e, true, 0, 0, reg, false);
        e_byte(e, 0xb8 + (reg & 7));
        e_u64(e, v);
    }
}

/* Group-1 op (/ext) r, simm32 or simm8. */
static inline void e_alu_imm(struct emit *e, bool w, unsigned ext, unsigned reg, int32_t imm)
{
    e_rex(e, w, 0, 0, reg, false);
    if (imm >= -128 && imm <= 127) {
        e_byte(e, 0x83);
        e_byte(e, 0xc0 | (ext << 3) | (reg & 7));
        e_byte(e, (uint8_t)(int8_t)imm);
    } else {
        e_byte(e, 0x81);
        e_byte(e, 0xc0 | (ext << 3) | (reg & 7));
        e_u32(e, (uint32_t)imm);
    }
}

/* Shift group (C1 /ext ib) r, imm8. */
static inline void e_shift_imm(struct emit *e, bool w, unsigned ext, unsigned reg, uint8_t count)
{
    e_rex(e, w, 0, 0, reg, false);
    e_byte(e, 0xc1);
    e_byte(e, 0xc0 | (ext << 3) | (reg & 7));
    e_byte(e, count);
}

/* mov byte/word/qword [base + disp], imm (qword: sign-extended simm32). */
static inline void e_store_imm8(struct emit *e, unsigned base, int32_t disp, uint8_t v)
{
    e_rex(e, false, 0, 0, base, false);
    e_byte(e, 0xc6);
    e_modrm_mem(e, 0, base, disp);
    e_byte(e, v);
}

static inline void e_store_imm16(struct emit *e, unsigned base, int32_t disp, uint16_t v)
{
    e_byte(e, 0x66);
    e_rex(e, false, 0, 0, base, false);
    e_byte(e, 0xc7);
    e_modrm_mem(e, 0, base, disp);
    e_u16(e, v);
}

static inline void e_store_imm64(struct emit *e, unsigned base, int32_t disp, int32_t v)
{
    e_rex(e, true, 0, 0, base, false);
    e_byte(e, 0xc7);
    e_modrm_mem(e, 0, base, disp);
    e_u32(e, (uint32_t)v);
}

static inline void e_push(struct emit *e, unsigned reg) { e_rex(e, false, 0, 0, reg, false); e_byte(e, 0x50 + (reg & 7)); }
static inline void e_pop(struct emit *e, unsigned reg) { e_rex(e, false, 0, 0, reg, false); e_byte(e, 0x58 + (reg & 7)); }
static inline void e_call_reg(struct emit *e, unsigned reg) { e_rex(e, false, 0, 0, reg, false); e_byte(e, 0xff); e_byte(e, 0xd0 | (reg & 7)); }
static inline void e_ret(struct emit *e) { e_byte(e, 0xc3); }

/* Branches with a rel32 the caller patches (e_patch) or knows. */
static inline uint8_t *e_jcc32(struct emit *e, unsigned cc)
{
    e_byte(e, 0x0f);
    e_byte(e, 0x80 | cc);
    uint8_t *at = e->p;
    e_u32(e, 0);
    return at;
}

static inline uint8_t *e_jmp32(struct emit *e)
{
    e_byte(e, 0xe9);
    uint8_t *at = e->p;
    e_u32(e, 0);
    return at;
}

/* Jcc rel8, for jumps over a few bytes (e_patch8). */
static inline uint8_t *e_jcc8(struct emit *e, unsigned cc)
{
    e_byte(e, 0x70 | cc);
    uint8_t *at = e->p;
    e_byte(e, 0);
    return at;
}

static inline uint8_t *e_jmp8(struct emit *e)
{
    e_byte(e, 0xeb);
    uint8_t *at = e->p;
    e_byte(e, 0);
    return at;
}

static inline void e_patch8(struct emit *e, uint8_t *at, const uint8_t *target)
{
    if (e->overflow || !at)
        return;
    ptrdiff_t rel = target - (at + 1);
    if (rel < -128 || rel > 127)
        e->overflow = true;                        /* never expected: the block is dropped */
    else
        *at = (uint8_t)(int8_t)rel;
}

/* cmp byte/qword [base + disp], simm8. */
/* cmp byte [base + disp], imm8: for bool and uint8_t fields (a wider
 * compare would read their neighbours, and stall on a byte store). */
static inline void e_cmp_mem8_imm8(struct emit *e, unsigned base, int32_t disp, uint8_t v)
{
    e_rex(e, false, 0, 0, base, false);
    e_byte(e, 0x80);
    e_modrm_mem(e, 7, base, disp);
    e_byte(e, v);
}

static inline void e_cmp_mem_imm8(struct emit *e, bool w, unsigned base, int32_t disp, int8_t v)
{
    e_rex(e, w, 0, 0, base, false);
    e_byte(e, 0x83);
    e_modrm_mem(e, 7, base, disp);
    e_byte(e, (uint8_t)v);
}

/* Points the rel32 at `at` to `target` (no-op after an overflow). */
static inline void e_patch(const struct emit *e, uint8_t *at, const uint8_t *target)
{
    if (e->overflow || !at)
        return;
    int32_t rel = (int32_t)(target - (at + 4));
    memcpy(at, &rel, 4);
}

/* Host condition codes (the low nibble of Jcc). */
enum { CC_O, CC_NO, CC_B, CC_AE, CC_E, CC_NE, CC_BE, CC_A, CC_S, CC_NS, CC_P, CC_NP, CC_L, CC_GE, CC_LE, CC_G };

#endif /* PETREL_CPU_INTERP_X86_EMIT_H */
