/*
 * Differential test of the interpreter against the host CPU, in 64-bit mode
 * and in 32-bit code (the test process far-calls the 0x23 user code segment,
 * i.e. compatibility mode; the interpreter runs it as 32-bit protected mode
 * with paging).
 *
 * A generator draws random instruction sequences from an encoding table
 * (ALU in all forms, INC/DEC/NEG/NOT/TEST, shifts/rotates with known counts,
 * SHLD/SHRD, MUL/IMUL/DIV/IDIV, BT*, BSF/BSR/TZCNT/LZCNT/POPCNT, BSWAP,
 * CMOVcc/SETcc, MOV/MOVZX/MOVSX/MOVSXD/MOVBE, XCHG/XADD/CMPXCHG, LEA with
 * random SIB, CBW family, flag instructions, string instructions with
 * REP/REPE/REPNE and DF, BCD adjustments in 32-bit code) with random
 * registers, flags, immediates and a memory page.  Each sequence runs
 * natively (a trampoline loads every GPR but RSP, and RFLAGS, from a struct,
 * runs the sequence and stores them back) and under the interpreter from the
 * same state; GPRs, the memory page and the defined flags must match.  Flags
 * an instruction leaves undefined are tracked by the generator (`undef`):
 * later instructions never consume them and the final compare masks them.
 *
 * INTERP_DIFF_SEQUENCES=<n> runs n sequences per mode (default 50,000 in
 * 64-bit and 50,000 in 32-bit code, fixed seeds); INTERP_DIFF_SEED=<s> picks
 * the first seed (`make fuzz-interp` can use both); INTERP_DIFF_DUMP=1
 * prints every sequence.  A mismatch prints the seed, the sequence bytes and
 * both states: rerun it with INTERP_DIFF_SEED=<seed> INTERP_DIFF_SEQUENCES=1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <vmm/err.h>
#include "cpu/interp/interp.h"

#define DATA_ADDR   UINT64_C(0x300000000000)   /* host and guest linear address of the memory page (outside ASan's shadow) */
#define DATA_GPA    0x20000u
#define CODE_GPA    0x10000u
#define RAM_SIZE    (4u << 20)
#define DATA32_ADDR UINT32_C(0x50000000)        /* the same for 32-bit code */
#define EXEC_SIZE   0x4000u
#define MEM         0xffu                       /* "rm is [rbp+disp8]" */

#define CF 0x001u
#define PF 0x004u
#define AF 0x010u
#define ZF 0x040u
#define SF 0x080u
#define OF 0x800u
#define ARITH (CF | PF | AF | ZF | SF | OF)

struct regs {
    uint64_t gpr[16];
    uint64_t rflags;
};

/* ---- a tiny x86-64 encoder ---- */

struct enc {
    uint8_t b[512];
    unsigned n;
};

static void emit(struct enc *e, uint8_t x) { e->b[e->n++] = x; }

static void emit_imm(struct enc *e, unsigned len, uint64_t v)
{
    for (unsigned i = 0; i < len; i++)
        emit(e, (uint8_t)(v >> (8 * i)));
}

/* [66] [pfx] [REX] op... ModRM [disp8] [imm]; rm < 16 is a register, MEM is [rbp+disp]. */
static void emit_modrm_insn(struct enc *e, unsigned size, uint8_t pfx, const uint8_t *op, unsigned oplen,
                            unsigned reg, unsigned rm, int disp, bool force_rex, unsigned immlen, uint64_t imm)
{
    if (size == 2)
        emit(e, 0x66);
    if (pfx)
        emit(e, pfx);
    uint8_t rex = 0x40 | (size == 8 ? 8 : 0) | ((reg & 8) ? 4 : 0) | (rm != MEM && (rm & 8) ? 1 : 0);
    if (rex != 0x40 || force_rex)
        emit(e, rex);
    for (unsigned i = 0; i < oplen; i++)
        emit(e, op[i]);
    if (rm == MEM) {
        emit(e, (uint8_t)(0x40 | ((reg & 7) << 3) | 5));
        emit(e, (uint8_t)disp);
    } else {
        emit(e, (uint8_t)(0xc0 | ((reg & 7) << 3) | (rm & 7)));
    }
    emit_imm(e, immlen, imm);
}

/* ---- the trampoline ---- */

static void emit_load_store(struct enc *e, uint8_t opcode, unsigned reg, unsigned off)
{
    emit(e, (uint8_t)(0x48 | ((reg & 8) ? 4 : 0)));
    emit(e, opcode);
    emit(e, (uint8_t)(0x80 | ((reg & 7) << 3) | 7));   /* [rdi + disp32] */
    emit_imm(e, 4, off);
}

static void emit_prologue(struct enc *e)
{
    static const uint8_t save[] = { 0x53, 0x55, 0x41, 0x54, 0x41, 0x55, 0x41, 0x56, 0x41, 0x57, 0x57 };
    for (unsigned i = 0; i < sizeof(save); i++)
        emit(e, save[i]);                                  /* push rbx rbp r12-r15 rdi */
    emit_load_store(e, 0x8b, 0, offsetof(struct regs, rflags));
    emit(e, 0x50);                                         /* push rax; popfq */
    emit(e, 0x9d);
    for (unsigned r = 0; r < 16; r++)
        if (r != 4 && r != 7)
            emit_load_store(e, 0x8b, r, r * 8);
    emit_load_store(e, 0x8b, 7, 7 * 8);                    /* rdi last */
}

static void emit_epilogue(struct enc *e)
{
    static const uint8_t xchg[] = { 0x48, 0x87, 0x3c, 0x24 };   /* xchg rdi,[rsp] */
    for (unsigned i = 0; i < sizeof(xchg); i++)
        emit(e, xchg[i]);
    for (unsigned r = 0; r < 16; r++)
        if (r != 4 && r != 7)
            emit_load_store(e, 0x89, r, r * 8);
    emit(e, 0x9c);                                         /* pushfq; pop rax */
    emit(e, 0x58);
    emit_load_store(e, 0x89, 0, offsetof(struct regs, rflags));
    emit(e, 0x58);                                         /* pop rax = guest rdi */
    emit_load_store(e, 0x89, 0, 7 * 8);
    static const uint8_t restore[] = { 0x41, 0x5f, 0x41, 0x5e, 0x41, 0x5d, 0x41, 0x5c, 0x5d, 0x5b, 0xc3 };
    for (unsigned i = 0; i < sizeof(restore); i++)
        emit(e, restore[i]);
}

/* ---- the 32-bit trampoline (compatibility mode through the 0x23 code segment) ---- */

#define LOW_FARPTR  0x100u     /* m16:32 of the 32-bit entry */
#define LOW_SAVESP  0x110u
#define LOW_REGS    0x200u     /* 8 x uint32 + EFLAGS */
#define LOW_CODE32  0x400u
#define LOW_STACK   EXEC_SIZE

static void emit_abs32(struct enc *e, uint8_t opcode, unsigned reg, uint32_t addr)
{
    emit(e, opcode);
    emit(e, (uint8_t)(0x05 | (reg << 3)));                 /* [disp32] in 32-bit code */
    emit_imm(e, 4, addr);
}

/* 64-bit stub: save callee-saved registers and RSP, switch to the low
 * stack, far-call the 32-bit code, come back. */
static void emit_stub64(struct enc *e, uint64_t low)
{
    static const uint8_t save[] = { 0x53, 0x55, 0x41, 0x54, 0x41, 0x55, 0x41, 0x56, 0x41, 0x57 };
    static const uint8_t restore[] = { 0x41, 0x5f, 0x41, 0x5e, 0x41, 0x5d, 0x41, 0x5c, 0x5d, 0x5b, 0xc3 };
    for (unsigned i = 0; i < sizeof(save); i++)
        emit(e, save[i]);
    emit(e, 0x48); emit(e, 0xb8); emit_imm(e, 8, low + LOW_SAVESP);       /* mov rax, &save */
    emit(e, 0x48); emit(e, 0x89); emit(e, 0x20);                          /* mov [rax], rsp */
    emit(e, 0x48); emit(e, 0xbc); emit_imm(e, 8, low + LOW_STACK);        /* mov rsp, low stack */
    emit(e, 0xff); emit(e, 0x1c); emit(e, 0x25); emit_imm(e, 4, low + LOW_FARPTR); /* call far [m16:32] */
    emit(e, 0x48); emit(e, 0xb8); emit_imm(e, 8, low + LOW_SAVESP);
    emit(e, 0x48); emit(e, 0x8b); emit(e, 0x20);                          /* mov rsp, [rax] */
    for (unsigned i = 0; i < sizeof(restore); i++)
        emit(e, restore[i]);
}

static void emit_prologue32(struct enc *e, uint32_t regs)
{
    static const uint8_t ds[] = { 0x66, 0xb8, 0x2b, 0x00, 0x8e, 0xd8, 0x8e, 0xc0 };  /* DS = ES = user data */
    for (unsigned i = 0; i < sizeof(ds); i++)
        emit(e, ds[i]);
    emit_abs32(e, 0x8b, 0, regs + 32);                   /* mov eax, [eflags]; push eax; popfd */
    emit(e, 0x50);
    emit(e, 0x9d);
    for (unsigned r = 0; r < 8; r++)
        if (r != 4)
            emit_abs32(e, 0x8b, r, regs + r * 4);
}

static void emit_epilogue32(struct enc *e, uint32_t regs)
{
    for (unsigned r = 0; r < 8; r++)
        if (r != 4)
            emit_abs32(e, 0x89, r, regs + r * 4);
    emit(e, 0x9c);                                       /* pushfd; pop eax; mov [eflags], eax */
    emit(e, 0x58);
    emit_abs32(e, 0x89, 0, regs + 32);
    emit(e, 0xcb);                                       /* retf */
}

/* ---- the random generator ---- */

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

/* Interesting values: edges more often than uniform noise. */
static uint64_t rnd_value(void)
{
    static const uint64_t edges[] = { 0, 1, 2, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff,
                                      0x80000000u, 0xffffffffu, UINT64_C(0x7fffffffffffffff),
                                      UINT64_C(0x8000000000000000), ~UINT64_C(0) };
    switch (rn(4)) {
    case 0: return edges[rn(sizeof(edges) / sizeof(edges[0]))];
    case 1: return rnd() & 0xff;
    default: return rnd();
    }
}

/* Generating for 32-bit code: no REX, no 64-bit operands, eight registers. */
static bool mode32;

static const uint8_t gp_regs[] = { 0, 1, 2, 3, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };

static unsigned pick_reg(void) { return gp_regs[rn(mode32 ? 6 : sizeof(gp_regs))]; }

/* Byte registers: without REX 0-7 (4-7 = AH..BH); with REX never SPL/BPL. */
static unsigned pick_reg8(bool rex)
{
    if (!rex || mode32)
        return rn(8);
    return gp_regs[rn(sizeof(gp_regs))];
}

static unsigned pick_size(void)
{
    static const unsigned sizes[] = { 1, 2, 4, 8 };
    return sizes[rn(mode32 ? 3 : 4)];
}

/* 2, 4 or 8 (2 or 4 in 32-bit code). */
static unsigned pick_wide(void)
{
    return 2u << rn(mode32 ? 2 : 3);
}

/* Generator context: flags currently undefined. */
struct gen {
    struct enc *e;
    unsigned undef;
};

static const unsigned cond_reads[8] = { OF, CF, ZF, CF | ZF, SF, PF, SF | OF, ZF | SF | OF };

/* An r/m operand of `size`: register (byte-register rules) or memory. */
struct operands {
    unsigned reg, rm;
    bool rex;
    int disp;
};

static void pick_operands(struct operands *o, unsigned size, bool allow_mem, unsigned mem_size)
{
    o->rex = size == 1 && !mode32 ? rn(2) : false;
    o->reg = size == 1 ? pick_reg8(o->rex) : pick_reg();
    if (size == 1 && !o->rex && o->reg >= 8)
        o->reg &= 7;
    if (allow_mem && rn(4) == 0) {
        o->rm = MEM;
        o->disp = (int)rn(128 - mem_size);
    } else {
        o->rm = size == 1 ? pick_reg8(o->rex) : pick_reg();
    }
}

static uint64_t imm_for(unsigned len) { return rnd_value() & (len == 8 ? ~UINT64_C(0) : (UINT64_C(1) << (len * 8)) - 1); }

static unsigned immz(unsigned size) { return size == 2 ? 2 : size == 1 ? 1 : 4; }

/* ALU op (0-7) in one of its forms; returns false if it would read an undefined CF. */
static bool gen_alu(struct gen *g)
{
    unsigned op = rn(8), size = pick_size(), form = rn(5);
    if ((op == 2 || op == 3) && (g->undef & CF))
        return false;
    struct operands o = { 0 };
    pick_operands(&o, size, form < 2 || form == 2 || form == 3, size);
    uint8_t opc;
    switch (form) {
    case 0: opc = (uint8_t)(op * 8 + (size == 1 ? 0 : 1)); emit_modrm_insn(g->e, size, 0, &opc, 1, o.reg, o.rm, o.disp, o.rex, 0, 0); break;
    case 1: opc = (uint8_t)(op * 8 + (size == 1 ? 2 : 3)); emit_modrm_insn(g->e, size, 0, &opc, 1, o.reg, o.rm, o.disp, o.rex, 0, 0); break;
    case 2: opc = size == 1 ? 0x80 : 0x81; emit_modrm_insn(g->e, size, 0, &opc, 1, op, o.rm, o.disp, o.rex, immz(size), imm_for(immz(size))); break;
    case 3: opc = size == 1 ? 0x80 : 0x83; emit_modrm_insn(g->e, size, 0, &opc, 1, op, o.rm, o.disp, o.rex, 1, imm_for(1)); break;
    default:
        if (size == 2)
            emit(g->e, 0x66);
        if (size == 8)
            emit(g->e, 0x48);
        emit(g->e, (uint8_t)(op * 8 + (size == 1 ? 4 : 5)));
        emit_imm(g->e, immz(size), imm_for(immz(size)));
        break;
    }
    g->undef = (op == 1 || op == 4 || op == 6) ? AF : 0;
    return true;
}

static bool gen_unary(struct gen *g)
{
    unsigned size = pick_size(), kind = rn(5);
    struct operands o = { 0 };
    pick_operands(&o, size, true, size);
    uint8_t opc;
    switch (kind) {
    case 0: case 1:                                           /* INC DEC: CF preserved */
        if (mode32 && size != 1 && o.rm != MEM && rn(2)) {     /* the 40-4F forms */
            if (size == 2)
                emit(g->e, 0x66);
            emit(g->e, (uint8_t)(0x40 + kind * 8 + o.rm));
            g->undef &= CF;
            break;
        }
        opc = size == 1 ? 0xfe : 0xff;
        emit_modrm_insn(g->e, size, 0, &opc, 1, kind, o.rm, o.disp, o.rex, 0, 0);
        g->undef &= CF;
        break;
    case 2: case 3:                                           /* NOT NEG */
        opc = size == 1 ? 0xf6 : 0xf7;
        emit_modrm_insn(g->e, size, 0, &opc, 1, kind, o.rm, o.disp, o.rex, 0, 0);
        if (kind == 3)
            g->undef = 0;
        break;
    default:                                                  /* TEST */
        opc = size == 1 ? 0x84 : 0x85;
        emit_modrm_insn(g->e, size, 0, &opc, 1, o.reg, o.rm, o.disp, o.rex, 0, 0);
        g->undef = AF;
        break;
    }
    return true;
}

/* Group 2 with a count the generator knows (imm8, 1, or CL set just before). */
static bool gen_shift(struct gen *g)
{
    unsigned size = pick_size(), op = rn(8), form = rn(3), bits = size * 8;
    if (op == 6)
        op = 4;                                              /* /6 is an undocumented SAL alias */
    if ((op == 2 || op == 3) && (g->undef & CF))
        return false;
    unsigned count = form == 1 ? 1 : rn(40);
    struct operands o = { 0 };
    pick_operands(&o, size, true, size);
    if (form == 2) {
        if (o.rm == 1 || (size == 1 && !o.rex && o.rm == 5))
            return false;                                    /* the count register itself */
        emit(g->e, 0xb1);                                    /* mov cl, imm8 */
        emit(g->e, (uint8_t)count);
    }
    uint8_t opc = form == 0 ? (size == 1 ? 0xc0 : 0xc1) : form == 1 ? (size == 1 ? 0xd0 : 0xd1) : (size == 1 ? 0xd2 : 0xd3);
    emit_modrm_insn(g->e, size, 0, &opc, 1, op, o.rm, o.disp, o.rex, form == 0 ? 1 : 0, count);
    unsigned c = count & (size == 8 ? 63 : 31);
    if (c == 0)
        return true;                                         /* flags untouched */
    unsigned u = g->undef;
    if (op >= 4) {
        u = AF;
        if (c > 1)
            u |= OF;
        if (c >= bits)
            u |= CF | OF;
    } else {
        u &= ~(CF | OF);
        if (c > 1 || (op < 2 && (c % bits) == 0))
            u |= OF;
    }
    g->undef = u;
    return true;
}

static bool gen_shxd(struct gen *g)
{
    unsigned size = pick_wide(), form = rn(2), left = rn(2);
    unsigned count = rn(size == 2 ? 17 : 40);
    struct operands o = { 0 };
    pick_operands(&o, size, true, size);
    if (form == 1) {
        if (o.rm == 1 || o.reg == 1)
            return false;
        emit(g->e, 0xb1);
        emit(g->e, (uint8_t)count);
    }
    uint8_t opc[2] = { 0x0f, (uint8_t)((left ? 0xa4 : 0xac) + form) };
    emit_modrm_insn(g->e, size, 0, opc, 2, o.reg, o.rm, o.disp, false, form == 0 ? 1 : 0, count);
    unsigned c = count & (size == 8 ? 63 : 31);
    if (c)
        g->undef = AF | (c > 1 ? OF : 0);
    return true;
}

static bool gen_mul(struct gen *g)
{
    unsigned size = pick_size(), form = rn(4);
    struct operands o = { 0 };
    pick_operands(&o, size, true, size);
    if (form == 0) {                                          /* MUL/IMUL r/m */
        uint8_t opc = size == 1 ? 0xf6 : 0xf7;
        emit_modrm_insn(g->e, size, 0, &opc, 1, 4 + rn(2), o.rm, o.disp, o.rex, 0, 0);
    } else if (size == 1) {
        return false;
    } else if (form == 1) {                                   /* IMUL r, r/m */
        uint8_t opc[2] = { 0x0f, 0xaf };
        emit_modrm_insn(g->e, size, 0, opc, 2, o.reg, o.rm, o.disp, false, 0, 0);
    } else {                                                  /* IMUL r, r/m, imm */
        uint8_t opc = form == 2 ? 0x6b : 0x69;
        unsigned il = form == 2 ? 1 : immz(size);
        emit_modrm_insn(g->e, size, 0, &opc, 1, o.reg, o.rm, o.disp, false, il, imm_for(il));
    }
    g->undef = SF | ZF | AF | PF;
    return true;
}

/* DIV/IDIV after set-up instructions that rule out #DE. */
static bool gen_div(struct gen *g)
{
    unsigned size = pick_size(), sgn = rn(2);
    bool rex = size == 1 && !mode32 ? rn(2) : false;
    unsigned d = size == 1 ? pick_reg8(rex) : pick_reg();
    if (d == 0 || d == 2 || (size == 1 && !rex && d == 4))
        return false;
    uint8_t opc;
    /* divisor: or d,1 ; for IDIV also btr d, bits-1 (positive) */
    opc = size == 1 ? 0x80 : 0x83;
    emit_modrm_insn(g->e, size, 0, &opc, 1, 1, d, 0, rex, 1, 1);
    if (sgn) {
        if (size == 1) {
            opc = size == 1 ? 0x80 : 0x83;
            emit_modrm_insn(g->e, 1, 0, &opc, 1, 4, d, 0, rex, 1, 0x7f);   /* and d8, 0x7f */
        } else {
            uint8_t bt[2] = { 0x0f, 0xba };
            emit_modrm_insn(g->e, size, 0, bt, 2, 6, d, 0, false, 1, size * 8 - 1);
        }
    }
    if (size == 1) {
        if (sgn) { emit(g->e, 0x66); emit(g->e, 0x98); }              /* cbw */
        else { emit(g->e, 0x0f); emit(g->e, 0xb6); emit(g->e, 0xc0); } /* movzx eax, al */
    } else if (sgn) {
        if (size == 2) emit(g->e, 0x66);
        if (size == 8) emit(g->e, 0x48);
        emit(g->e, 0x99);                                              /* cwd/cdq/cqo */
    } else {
        emit(g->e, 0x31); emit(g->e, 0xd2);                            /* xor edx, edx */
    }
    opc = size == 1 ? 0xf6 : 0xf7;
    emit_modrm_insn(g->e, size, 0, &opc, 1, 6 + sgn, d, 0, rex, 0, 0);
    g->undef = ARITH;
    return true;
}

static bool gen_bit(struct gen *g)
{
    unsigned size = pick_wide(), kind = rn(6);
    struct operands o = { 0 };
    pick_operands(&o, size, kind == 1, size);
    uint8_t opc[2] = { 0x0f, 0 };
    switch (kind) {
    case 0:                                                   /* BT* r, r */
        opc[1] = (uint8_t)(0xa3 + 8 * rn(4));
        emit_modrm_insn(g->e, size, 0, opc, 2, o.reg, o.rm, 0, false, 0, 0);
        g->undef = OF | SF | ZF | AF | PF;
        break;
    case 1:                                                   /* BT* r/m, imm8 */
        opc[1] = 0xba;
        emit_modrm_insn(g->e, size, 0, opc, 2, 4 + rn(4), o.rm, o.disp, false, 1, rnd());
        g->undef = OF | SF | ZF | AF | PF;
        break;
    case 2:                                                   /* BSF/BSR: skip zero sources */
    case 3: {                                                 /* TZCNT/LZCNT */
        opc[1] = (uint8_t)(0xbc + rn(2));
        emit_modrm_insn(g->e, size, kind == 3 ? 0xf3 : 0, opc, 2, o.reg, o.rm, 0, false, 0, 0);
        g->undef = kind == 3 ? (OF | SF | AF | PF) : (CF | OF | SF | AF | PF);
        break;
    }
    case 4:                                                   /* POPCNT */
        opc[1] = 0xb8;
        emit_modrm_insn(g->e, size, 0xf3, opc, 2, o.reg, o.rm, 0, false, 0, 0);
        g->undef = 0;
        break;
    default:                                                  /* BSWAP r32/r64 */
        if (size == 2)
            size = 4;
        if (size == 8 || (o.reg & 8))
            emit(g->e, (uint8_t)(0x40 | (size == 8 ? 8 : 0) | ((o.reg & 8) ? 1 : 0)));
        emit(g->e, 0x0f);
        emit(g->e, (uint8_t)(0xc8 + (o.reg & 7)));
        break;
    }
    return true;
}

static bool gen_cond(struct gen *g)
{
    unsigned cc = rn(16), kind = rn(2);
    if (cond_reads[cc >> 1] & g->undef)
        return false;
    struct operands o = { 0 };
    if (kind == 0) {                                          /* SETcc r/m8 */
        pick_operands(&o, 1, true, 1);
        uint8_t opc[2] = { 0x0f, (uint8_t)(0x90 + cc) };
        emit_modrm_insn(g->e, 1, 0, opc, 2, 0, o.rm, o.disp, o.rex, 0, 0);
    } else {                                                  /* CMOVcc r, r/m */
        unsigned size = pick_wide();
        pick_operands(&o, size, true, size);
        uint8_t opc[2] = { 0x0f, (uint8_t)(0x40 + cc) };
        emit_modrm_insn(g->e, size, 0, opc, 2, o.reg, o.rm, o.disp, false, 0, 0);
    }
    return true;
}

static bool gen_mov(struct gen *g)
{
    unsigned kind = rn(8), size = pick_size();
    struct operands o = { 0 };
    uint8_t opc[2] = { 0x0f, 0 };
    switch (kind) {
    case 0:                                                   /* MOV r/m, r and r, r/m */
        pick_operands(&o, size, true, size);
        opc[0] = (uint8_t)(0x88 + (size == 1 ? 0 : 1) + 2 * rn(2));
        emit_modrm_insn(g->e, size, 0, opc, 1, o.reg, o.rm, o.disp, o.rex, 0, 0);
        break;
    case 1:                                                   /* MOVZX/MOVSX */
        if (size == 1)
            size = 4;
        {
            unsigned src = rn(2) ? 1 : 2;
            bool rex = src == 1 && !mode32 ? rn(2) : false;
            o.reg = pick_reg();
            o.rm = src == 1 ? pick_reg8(rex || (o.reg & 8) || size == 8) : pick_reg();
            if (rn(4) == 0) { o.rm = MEM; o.disp = (int)rn(120); }
            if (src == 1 && o.rm != MEM && !(rex || (o.reg & 8) || size == 8) && o.rm >= 8)
                o.rm &= 7;
            opc[1] = (uint8_t)((rn(2) ? 0xb6 : 0xbe) + (src == 2));
            emit_modrm_insn(g->e, size, 0, opc, 2, o.reg, o.rm, o.disp, rex, 0, 0);
        }
        break;
    case 2:                                                   /* MOVSXD r64, r/m32 */
        if (mode32)
            return false;
        pick_operands(&o, 8, true, 4);
        opc[0] = 0x63;
        emit_modrm_insn(g->e, 8, 0, opc, 1, o.reg, o.rm, o.disp, false, 0, 0);
        break;
    case 3:                                                   /* MOV r, imm */
        o.rex = size == 1 && !mode32 ? rn(2) : false;
        o.reg = size == 1 ? pick_reg8(o.rex) : pick_reg();
        if (size == 1 && !o.rex && o.reg >= 8)
            o.reg &= 7;
        if (size == 2)
            emit(g->e, 0x66);
        if (size == 8 || (o.reg & 8) || o.rex)
            emit(g->e, (uint8_t)(0x40 | (size == 8 ? 8 : 0) | ((o.reg & 8) ? 1 : 0)));
        emit(g->e, (uint8_t)((size == 1 ? 0xb0 : 0xb8) + (o.reg & 7)));
        emit_imm(g->e, size, rnd_value());
        break;
    case 7: {                                                 /* MOVBE load/store */
        if (size == 1)
            size = 4;
        pick_operands(&o, size, false, size);
        uint8_t mb[3] = { 0x0f, 0x38, (uint8_t)(0xf0 + rn(2)) };
        emit_modrm_insn(g->e, size, 0, mb, 3, o.reg, MEM, (int)rn(120), false, 0, 0);
        break;
    }
    case 4:                                                   /* XCHG / XADD / CMPXCHG */
        pick_operands(&o, size, true, size);
        switch (rn(3)) {
        case 0: opc[0] = size == 1 ? 0x86 : 0x87; emit_modrm_insn(g->e, size, 0, opc, 1, o.reg, o.rm, o.disp, o.rex, 0, 0); break;
        case 1: opc[1] = size == 1 ? 0xc0 : 0xc1; emit_modrm_insn(g->e, size, 0, opc, 2, o.reg, o.rm, o.disp, o.rex, 0, 0); g->undef = 0; break;
        default:
            if (o.rm != MEM || o.reg == 0 || (size == 1 && !o.rex && o.reg == 4))
                return false;                                  /* register forms: AMD and Intel differ */
            opc[1] = size == 1 ? 0xb0 : 0xb1;
            emit_modrm_insn(g->e, size, 0, opc, 2, o.reg, o.rm, o.disp, o.rex, 0, 0);
            g->undef = 0;
            break;
        }
        break;
    case 5: {                                                 /* LEA with a random SIB */
        unsigned asz = rn(4) == 0 ? 4 : 8, reg = pick_reg(), base = rn(mode32 ? 8 : 16), index = rn(mode32 ? 8 : 16), scale = rn(4);
        if (base == 4)
            base = 3;                                         /* RSP differs between the two runs */
        if (size == 1)
            size = 4;
        if (asz == 4 && !mode32)
            emit(g->e, 0x67);
        if (size == 2)
            emit(g->e, 0x66);
        if (!mode32)
            emit(g->e, (uint8_t)(0x40 | (size == 8 ? 8 : 0) | ((reg & 8) ? 4 : 0) | ((index & 8) ? 2 : 0) | ((base & 8) ? 1 : 0)));
        emit(g->e, 0x8d);
        emit(g->e, (uint8_t)(0x84 | ((reg & 7) << 3)));       /* mod=10 rm=100: SIB + disp32 */
        emit(g->e, (uint8_t)((scale << 6) | ((index & 7) << 3) | (base & 7)));
        emit_imm(g->e, 4, rnd_value());
        break;
    }
    default: {                                                /* CBW family, CLC/STC/CMC, LAHF/SAHF */
        unsigned which = rn(7);
        if (which == 0) { if (size == 8) emit(g->e, 0x48); if (size == 2) emit(g->e, 0x66); emit(g->e, 0x98); }
        else if (which == 1) { if (size == 8) emit(g->e, 0x48); if (size == 2) emit(g->e, 0x66); emit(g->e, 0x99); }
        else if (which == 2) { emit(g->e, 0xf8); g->undef &= ~CF; }
        else if (which == 3) { emit(g->e, 0xf9); g->undef &= ~CF; }
        else if (which == 4) { if (g->undef & CF) return false; emit(g->e, 0xf5); }
        else if (which == 5) { if (g->undef & (CF | PF | AF | ZF | SF)) return false; emit(g->e, 0x9f); }
        else { emit(g->e, 0x9e); g->undef &= OF; }
        break;
    }
    }
    return true;
}

/* String instructions with small counts over the data page:
 * lea rsi/rdi into it, mov ecx, count, [std], [rep] op, cld. */
static bool gen_string(struct gen *g)
{
    static const uint8_t ops[5] = { 0xa4, 0xa6, 0xaa, 0xac, 0xae };   /* MOVS CMPS STOS LODS SCAS */
    unsigned op = ops[rn(5)], size = pick_size(), count = rn(9), rep = rn(3);
    bool cmp = op == 0xa6 || op == 0xae, down = rn(3) == 0;
    unsigned a = down ? 64 + rn(60) : rn(60), b = down ? 64 + rn(60) : rn(60);
    if (!mode32)
        emit(g->e, 0x48);                                               /* lea rsi, [rbp+a] */
    emit(g->e, 0x8d); emit(g->e, 0x75); emit(g->e, (uint8_t)a);
    if (!mode32)
        emit(g->e, 0x48);                                               /* lea rdi, [rbp+b] */
    emit(g->e, 0x8d); emit(g->e, 0x7d); emit(g->e, (uint8_t)b);
    emit(g->e, 0xb9); emit_imm(g->e, 4, count);                         /* mov ecx, count */
    if (down)
        emit(g->e, 0xfd);                                               /* std */
    if (rep)
        emit(g->e, rep == 2 && cmp ? 0xf2 : 0xf3);
    if (size == 2)
        emit(g->e, 0x66);
    if (size == 8)
        emit(g->e, 0x48);
    emit(g->e, (uint8_t)(op + (size != 1)));
    emit(g->e, 0xfc);                                                   /* cld */
    if (cmp && (!rep || count))
        g->undef = 0;
    return true;
}

/* DAA DAS AAA AAS AAM AAD (32-bit code only). */
static bool gen_bcd(struct gen *g)
{
    unsigned kind = rn(6);
    if (!mode32 || (kind < 4 && (g->undef & (AF | CF))))
        return false;
    static const uint8_t ops[4] = { 0x27, 0x2f, 0x37, 0x3f };
    static const unsigned undef[6] = { OF, OF, OF | SF | ZF | PF, OF | SF | ZF | PF, OF | AF | CF, OF | AF | CF };
    if (kind < 4) {
        emit(g->e, ops[kind]);
    } else {
        emit(g->e, kind == 4 ? 0xd4 : 0xd5);
        emit(g->e, (uint8_t)(rn(4) ? 10 : 1 + rn(255)));        /* AAM 0 would be #DE */
    }
    g->undef = undef[kind];
    return true;
}

static bool gen_one(struct gen *g)
{
    unsigned save = g->e->n, undef = g->undef;
    bool ok;
    switch (rn(mode32 ? 22 : 21)) {
    case 0: case 1: case 2: case 3: case 4: ok = gen_alu(g); break;
    case 5: case 6: ok = gen_unary(g); break;
    case 7: case 8: case 9: ok = gen_shift(g); break;
    case 10: ok = gen_shxd(g); break;
    case 11: case 12: ok = gen_mul(g); break;
    case 13: ok = gen_div(g); break;
    case 14: case 15: ok = gen_bit(g); break;
    case 16: case 17: ok = gen_cond(g); break;
    case 20: ok = gen_string(g); break;
    case 21: ok = gen_bcd(g); break;
    default: ok = gen_mov(g); break;
    }
    if (!ok) {
        g->e->n = save;
        g->undef = undef;
    }
    return ok;
}

/* ---- running ---- */

struct harness {
    bool m32;                  /* 32-bit protected mode (native: compatibility mode) */
    uint8_t *exec;             /* RWX: trampoline + sequence (below 4 GiB for m32) */
    uint8_t *data;             /* data_addr() */
    struct guest_ram ram;
    struct cpu_state st;
    struct interp_cpu *cpu;
};

static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

static uint64_t data_addr(const struct harness *h)
{
    return h->m32 ? DATA32_ADDR : DATA_ADDR;
}

/* 32-bit paging: 0-4 MiB identity (PSE), the data page through a page table. */
static void setup_prot32(struct harness *h)
{
    uint8_t *m = h->ram.host;
    memset(m, 0, 0x8000);
    uint32_t e = 0x83;
    memcpy(m + 0x1000, &e, 4);
    e = 0x2000 | 3;
    memcpy(m + 0x1000 + (size_t)(DATA32_ADDR >> 22) * 4, &e, 4);
    e = DATA_GPA | 3;
    memcpy(m + 0x2000 + (size_t)((DATA32_ADDR >> 12) & 0x3ff) * 4, &e, 4);
}

static void setup_long_mode(struct harness *h)
{
    uint8_t *m = h->ram.host;
    memset(m, 0, 0x8000);
    put64(m + 0x1000, 0x2000 | 3);                            /* PML4[0] -> PDPT */
    put64(m + 0x2000, 0x3000 | 3);                            /* PDPT[0] -> PD */
    put64(m + 0x3000, 0x0 | 0x83);                            /* PD[0]: 2 MiB identity */
    put64(m + 0x3008, 0x200000 | 0x83);
    unsigned pml4i = (unsigned)((DATA_ADDR >> 39) & 511);
    put64(m + 0x1000 + (size_t)pml4i * 8, 0x4000 | 3);
    put64(m + 0x4000, 0x5000 | 3);
    put64(m + 0x5000, 0x6000 | 3);
    put64(m + 0x6000, DATA_GPA | 3);
}

static void reset_state(struct harness *h)
{
    struct cpu_state *st = &h->st;
    memset(st, 0, offsetof(struct cpu_state, xsave));
    if (h->m32) {
        st->cr0 = CR0_PE | CR0_PG | CR0_ET;
        st->cr3 = 0x1000;
        st->cr4 = CR4_PSE;
        for (unsigned s = 0; s < 6; s++)
            st->seg[s] = (struct seg_reg){ 0x2b, 0, 0xffffffff, 0x3 | SEG_ATTR_S | SEG_ATTR_P | SEG_ATTR_DB | SEG_ATTR_G };
        st->seg[SEG_CS] = (struct seg_reg){ 0x23, 0, 0xffffffff, 0xb | SEG_ATTR_S | SEG_ATTR_P | SEG_ATTR_DB | SEG_ATTR_G };
        st->seg[SEG_TR] = (struct seg_reg){ 0x18, 0, 0x67, 0xb | SEG_ATTR_P };
        st->seg[SEG_LDTR].attr = SEG_ATTR_UNUSABLE;
        st->rip = CODE_GPA;
        st->gpr[GPR_RSP] = 0x8000;
        return;
    }
    st->cr0 = CR0_PE | CR0_PG | CR0_ET;
    st->cr3 = 0x1000;
    st->cr4 = CR4_PAE;
    st->efer = EFER_LME | EFER_LMA;
    st->seg[SEG_CS] = (struct seg_reg){ 0x08, 0, 0xffffffff, 0xb | SEG_ATTR_S | SEG_ATTR_P | SEG_ATTR_L | SEG_ATTR_G };
    for (unsigned s = 0; s < 6; s++)
        if (s != SEG_CS)
            st->seg[s] = (struct seg_reg){ 0x10, 0, 0xffffffff, 0x3 | SEG_ATTR_S | SEG_ATTR_P | SEG_ATTR_DB | SEG_ATTR_G };
    st->seg[SEG_TR] = (struct seg_reg){ 0x18, 0, 0x67, 0xb | SEG_ATTR_P };
    st->seg[SEG_LDTR].attr = SEG_ATTR_UNUSABLE;
    st->rip = CODE_GPA;
    st->gpr[GPR_RSP] = 0x8000;
}

static struct harness *harness_new(bool m32)
{
    struct harness *h = calloc(1, sizeof(*h));
    h->m32 = m32;
    h->exec = mmap(NULL, EXEC_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC,
                   MAP_PRIVATE | MAP_ANONYMOUS | (m32 ? MAP_32BIT : 0), -1, 0);
    h->data = mmap((void *)data_addr(h), 4096, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    assert_true(h->exec != MAP_FAILED);
    assert_ptr_equal(h->data, (void *)data_addr(h));
    h->ram.host = calloc(1, RAM_SIZE);
    h->ram.size = h->ram.low_size = RAM_SIZE;
    h->ram.hole_size = GUEST_4G - RAM_SIZE;
    if (m32)
        setup_prot32(h);
    else
        setup_long_mode(h);
    reset_state(h);
    h->cpu = interp_cpu_create(&h->st, &h->ram, NULL);
    assert_non_null(h->cpu);
    return h;
}

static void harness_free(struct harness *h)
{
    interp_cpu_destroy(h->cpu);
    free(h->ram.host);
    munmap(h->exec, EXEC_SIZE);
    munmap(h->data, 4096);
    free(h);
}

static void dump_mismatch(uint64_t seed, const struct enc *seq, const struct regs *init, const struct regs *hw,
                          const struct cpu_state *st, unsigned fmask)
{
    fprintf(stderr, "MISMATCH seed=%#llx sequence:", (unsigned long long)seed);
    for (unsigned i = 0; i < seq->n; i++)
        fprintf(stderr, " %02x", seq->b[i]);
    fprintf(stderr, "\n  flags mask %#x\n", fmask);
    for (unsigned r = 0; r < 16; r++)
        fprintf(stderr, "  r%-2u init %016llx cpu %016llx interp %016llx%s\n", r,
                (unsigned long long)init->gpr[r], (unsigned long long)hw->gpr[r],
                (unsigned long long)st->gpr[r], hw->gpr[r] != st->gpr[r] ? "  <--" : "");
    fprintf(stderr, "  rflags init %llx cpu %llx interp %llx\n", (unsigned long long)init->rflags,
            (unsigned long long)hw->rflags, (unsigned long long)st->rflags);
}

static void run_native64(struct harness *h, const struct enc *seq, struct regs *r)
{
    struct enc t = { .n = 0 };
    emit_prologue(&t);
    memcpy(t.b + t.n, seq->b, seq->n);
    t.n += seq->n;
    emit_epilogue(&t);
    memcpy(h->exec, t.b, t.n);
    __builtin___clear_cache((char *)h->exec, (char *)h->exec + t.n);
    ((void (*)(struct regs *))h->exec)(r);
}

static void run_native32(struct harness *h, const struct enc *seq, struct regs *r)
{
    uint64_t low = (uint64_t)(uintptr_t)h->exec;
    uint32_t regs = (uint32_t)(low + LOW_REGS);
    struct enc stub = { .n = 0 }, t = { .n = 0 };
    emit_stub64(&stub, low);
    emit_prologue32(&t, regs);
    memcpy(t.b + t.n, seq->b, seq->n);
    t.n += seq->n;
    emit_epilogue32(&t, regs);
    memcpy(h->exec, stub.b, stub.n);
    memcpy(h->exec + LOW_CODE32, t.b, t.n);
    uint32_t entry = (uint32_t)(low + LOW_CODE32);
    uint16_t sel = 0x23;
    memcpy(h->exec + LOW_FARPTR, &entry, 4);
    memcpy(h->exec + LOW_FARPTR + 4, &sel, 2);
    uint32_t *r32 = (uint32_t *)(h->exec + LOW_REGS);
    for (unsigned i = 0; i < 8; i++)
        r32[i] = (uint32_t)r->gpr[i];
    r32[8] = (uint32_t)r->rflags;
    __builtin___clear_cache((char *)h->exec, (char *)h->exec + EXEC_SIZE);
    ((void (*)(void))h->exec)();
    for (unsigned i = 0; i < 8; i++)
        r->gpr[i] = r32[i];
    r->rflags = r32[8];
}

/* Runs one random sequence; returns false on a mismatch. */
static bool run_one(struct harness *h, uint64_t seed)
{
    rng_state = seed * UINT64_C(0x9e3779b97f4a7c15) + 1;
    mode32 = h->m32;
    struct enc seq = { .n = 0 };
    struct gen g = { &seq, 0 };
    unsigned count = 1 + rn(8);
    for (unsigned i = 0; i < count;)
        if (gen_one(&g))
            i++;

    struct regs init, hw;
    for (unsigned r = 0; r < 16; r++)
        init.gpr[r] = h->m32 ? (uint32_t)rnd_value() : rnd_value();
    init.gpr[GPR_RBP] = data_addr(h);
    init.gpr[GPR_RSP] = 0;
    init.rflags = 0x202 | (rnd() & ARITH);
    uint8_t data0[4096];
    for (unsigned i = 0; i < 256; i++)
        data0[i] = (uint8_t)rnd();

    memcpy(h->data, data0, 256);
    hw = init;
    if (h->m32)
        run_native32(h, &seq, &hw);
    else
        run_native64(h, &seq, &hw);

    /* interpreter */
    reset_state(h);
    memcpy(h->st.gpr, init.gpr, sizeof(init.gpr));
    h->st.gpr[GPR_RSP] = 0x8000;
    h->st.rflags = init.rflags;
    memcpy(h->ram.host + DATA_GPA, data0, 256);
    memcpy(h->ram.host + CODE_GPA, seq.b, seq.n);
    h->ram.host[CODE_GPA + seq.n] = 0xf4;                       /* hlt */
    interp_invalidate_code(h->cpu, CODE_GPA, seq.n + 1);
    interp_state_changed(h->cpu);
    int rc = interp_execute(h->cpu, 10000);

    unsigned fmask = ARITH & ~g.undef;
    bool ok = rc == VINF_EM_HALT && h->st.rip == CODE_GPA + seq.n + 1;
    for (unsigned r = 0; r < (h->m32 ? 8u : 16u); r++)
        if (r != GPR_RSP && hw.gpr[r] != h->st.gpr[r])
            ok = false;
    if ((hw.rflags & fmask) != (h->st.rflags & fmask))
        ok = false;
    if (memcmp(h->data, h->ram.host + DATA_GPA, 256) != 0) {
        fprintf(stderr, "memory differs\n");
        ok = false;
    }
    if (!ok || getenv("INTERP_DIFF_DUMP")) {
        fprintf(stderr, "rc=%d rip=%#llx (%s)\n", rc, (unsigned long long)h->st.rip, interp_last_error(h->cpu));
        dump_mismatch(seed, &seq, &init, &hw, &h->st, fmask);
    }
    return ok;
}

static uint64_t env_u64(const char *name, uint64_t def)
{
    const char *v = getenv(name);
    return v && *v ? strtoull(v, NULL, 0) : def;
}

static void run_diff(bool m32)
{
    struct harness *h = harness_new(m32);
    uint64_t n = env_u64("INTERP_DIFF_SEQUENCES", 50000), seed0 = env_u64("INTERP_DIFF_SEED", 1);
    unsigned failures = 0;
    for (uint64_t i = 0; i < n && failures < 5; i++)
        if (!run_one(h, seed0 + i))
            failures++;
    printf("interp diff (%s): %llu sequences from seed %llu, %u mismatches\n", m32 ? "32-bit" : "64-bit",
           (unsigned long long)n, (unsigned long long)seed0, failures);
    harness_free(h);
    assert_int_equal(failures, 0);
}

static void test_diff_64(void **state)
{
    (void)state;
    run_diff(false);
}

/* Whether this host runs 32-bit code in a 64-bit process: some hypervisors
 * (PVM, for one) give their guests no compatibility mode, and the far call
 * to 0x23 then kills the process.  Probed in a child. */
static bool host_runs_compat_mode(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        struct harness *h = harness_new(true);
        struct enc empty = { .n = 0 };
        struct regs r = { .rflags = 0x202 };
        run_native32(h, &empty, &r);
        _exit(0);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return false;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void test_diff_32(void **state)
{
    (void)state;
    if (!host_runs_compat_mode()) {
        fprintf(stderr, "[  SKIP    ] this host cannot run 32-bit code in a 64-bit process (the far call to "
                        "the 0x23 code segment faults): no native reference for 32-bit sequences\n");
        skip();
    }
    run_diff(true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_diff_64),
        cmocka_unit_test(test_diff_32),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
