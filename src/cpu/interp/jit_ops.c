/*
 * Host code for the instructions the block compiler emits itself (jit.h
 * lists them).  Each does exactly what its specialised handler does in
 * fastpath*.c, lazy flags included; a memory access that misses the TLB
 * (or crosses a page) runs the handler instead, which then does all of
 * the instruction from the start: nothing is written before the TLB hit.
 */
#include "handlers.h"
#include "jit_emit.h"

#define CPU_OFF(field) ((int32_t)offsetof(struct interp_cpu, field))

_Static_assert(sizeof(struct tlb_entry) < 128, "the TLB index is scaled with an imm8 IMUL");
_Static_assert(offsetof(struct lazy_flags, size) == offsetof(struct lazy_flags, op) + 1,
               "op and size are stored as one 16-bit word");

/* rax = guest register g, sized (a 4-byte load zero-extends). */
static void load_greg(struct emit *e, unsigned host, unsigned g, unsigned size)
{
    e_op_mem(e, size == 8, OP_MOV_LOAD, host, H_R12, GREG(g));
}

static void store_greg(struct emit *e, unsigned host, unsigned g)
{
    e_op_mem(e, true, OP_MOV_STORE, host, H_R12, GREG(g));
}

/* host += v (64-bit), however large v is; clobbers RSI when it does not fit an imm32. */
static void add_imm64(struct emit *e, unsigned host, int64_t v)
{
    if (v == 0)
        return;
    if (v == (int32_t)v) {
        e_alu_imm(e, true, 0, host, (int32_t)v);
    } else {
        e_mov_imm(e, H_RSI, (uint64_t)v);
        e_op_rr(e, true, OP_ADD, host, H_RSI);
    }
}

/* RAX = the instruction's 64-bit effective address (insn_ea with asz 8),
 * plus the FS/GS base when seg says so.  Clobbers RCX. */
static void emit_address(struct emit *e, const struct insn *in, bool with_seg)
{
    int64_t disp = in->disp;
    if (in->rip_rel) {
        e_op_mem(e, true, OP_MOV_LOAD, H_RAX, H_RBX, CPU_OFF(block_rip));
        disp += in->end;
        if (in->base != REG_NONE)
            e_op_mem(e, true, OP_ADD, H_RAX, H_R12, GREG(in->base));
    } else if (in->base != REG_NONE) {
        load_greg(e, H_RAX, in->base, 8);
    } else {
        e_op_rr(e, false, OP_XOR, H_RAX, H_RAX);
    }
    if (in->index != REG_NONE) {
        load_greg(e, H_RCX, in->index, 8);
        if (in->scale)
            e_shift_imm(e, true, 4, H_RCX, in->scale);
        e_op_rr(e, true, OP_ADD, H_RAX, H_RCX);
    }
    add_imm64(e, H_RAX, disp);
    if (with_seg && (in->seg == SEG_FS || in->seg == SEG_GS))
        e_op_mem(e, true, OP_ADD, H_RAX, H_RBX, CPU_OFF(seg[in->seg].base));
}

/* RAX (a linear address) becomes its host address when the TLB holds the
 * page for this kind of access and the access stays in it; otherwise a
 * jump is left for the caller to patch to the handler call.  Clobbers RCX,
 * RDX.  One compare checks both: an entry only ever holds tags of its own
 * index, so the page of the access's last byte matches only if it is the
 * page of its first. */
static uint8_t *emit_tlb(struct emit *e, unsigned size, bool write)
{
    int32_t tag = (int32_t)(write ? offsetof(struct tlb_entry, tag_write) : offsetof(struct tlb_entry, tag_read));
    e_op_rr(e, true, OP_MOV_STORE, H_RAX, H_RCX);            /* mov rcx, rax */
    e_shift_imm(e, true, 5, H_RCX, 12);                      /* shr rcx, 12 */
    e_alu_imm(e, false, 4, H_RCX, TLB_SIZE - 1);             /* and ecx, 255 */
    e_op_rr(e, false, 0x6b, H_RCX, H_RCX);                   /* imul ecx, ecx, sizeof entry */
    e_byte(e, sizeof(struct tlb_entry));
    e_op_mem(e, true, OP_ADD, H_RCX, H_RBX, CPU_OFF(tlb));   /* add rcx, [cpu->tlb]: this CPL's set */
    e_op_mem(e, true, OP_LEA, H_RDX, H_RAX, (int32_t)size - 1);
    e_alu_imm(e, true, 4, H_RDX, -4096);                     /* and rdx, ~0xfff */
    e_op_mem(e, true, OP_CMP, H_RDX, H_RCX, tag);
    uint8_t *miss = e_jcc32(e, CC_NE);
    e_op_mem(e, true, OP_ADD, H_RAX, H_RCX, (int32_t)offsetof(struct tlb_entry, addend));
    return miss;
}

/* The fast path just emitted continues after the instruction; the jumps
 * in miss[0..n) (a TLB miss, a non-canonical target) run the handler. */
static void emit_slow_paths(struct jit_ctx *c, unsigned i, uint8_t *const *miss, unsigned n)
{
    uint8_t *done = e_jmp32(&c->e);
    for (unsigned k = 0; k < n; k++)
        e_patch(&c->e, miss[k], c->e.p);
    uint8_t known = c->known_op, size = c->known_size;
    jit_call_handler(c, i);
    c->known_op = known;                          /* the handler sets the flags as the fast path does */
    c->known_size = size;
    e_patch(&c->e, done, c->e.p);
}

static void emit_slow_path(struct jit_ctx *c, unsigned i, uint8_t *miss)
{
    emit_slow_paths(c, i, &miss, 1);
}

/* Jumps (for the caller to patch) unless RAX is a canonical address. */
static uint8_t *emit_canonical_check(struct emit *e)
{
    e_op_rr(e, true, OP_MOV_STORE, H_RAX, H_RCX);            /* mov rcx, rax */
    e_shift_imm(e, true, 4, H_RCX, 16);
    e_shift_imm(e, true, 7, H_RCX, 16);
    e_op_rr(e, true, OP_CMP, H_RCX, H_RAX);
    return e_jcc32(e, CC_NE);
}

/* set_next_rip(RAX). */
static void emit_set_next_rip(struct emit *e)
{
    e_op_mem(e, true, OP_MOV_STORE, H_RAX, H_RBX, CPU_OFF(next_rip));
    e_store_imm8(e, H_RBX, CPU_OFF(rip_set), 1);
}

/* lazy_set(op, size, dst = RAX, src = RCX, res = RDX). */
static void emit_lazy(struct emit *e, unsigned lazy_op, unsigned size)
{
    e_op_mem(e, true, OP_MOV_STORE, H_RAX, H_RBX, CPU_OFF(lf.dst));
    e_op_mem(e, true, OP_MOV_STORE, H_RCX, H_RBX, CPU_OFF(lf.src));
    e_op_mem(e, true, OP_MOV_STORE, H_RDX, H_RBX, CPU_OFF(lf.res));
    e_store_imm16(e, H_RBX, CPU_OFF(lf.op), (uint16_t)(lazy_op | size << 8));
}

static const uint32_t host_alu[8] = { OP_ADD, OP_OR, OP_ADC, OP_SBB, OP_AND, OP_SUB, OP_XOR, OP_SUB };
static const uint8_t alu_lazy[8] = { LF_ADD, LF_LOGIC, LF_ADC, LF_SBB, LF_LOGIC, LF_SUB, LF_LOGIC, LF_SUB };

/* bt r8d, 0: host CF = the carry-in saved in R8B (emit_save_cf). */
static void cf_from_r8(struct emit *e)
{
    e_rex(e, false, 0, 0, H_R8, false);
    e_byte(e, 0x0f);
    e_byte(e, 0xba);
    e_byte(e, 0xe0 | (H_R8 & 7));
    e_byte(e, 0);
}

/* alu_reg(): d = RAX (sized), s = RCX (as the handler has it), r = RDX;
 * ADC/SBB take their carry-in from R8B (emit_save_cf) and add or subtract
 * s at the operand size, as the handler does. */
static void emit_alu_flags(struct emit *e, const struct jit_desc *d)
{
    if (d->op == JOP_ADC || d->op == JOP_SBB) {
        e_op_rr(e, true, OP_MOV_STORE, H_RCX, H_R9);         /* r9 = s & mask */
        if (d->size == 4)
            e_op_rr(e, false, OP_MOV_STORE, H_R9, H_R9);
        e_op_rr(e, true, OP_MOV_STORE, H_RAX, H_RDX);
        cf_from_r8(e);
        e_op_rr(e, true, host_alu[d->op], H_RDX, H_R9);     /* 64-bit adc/sbb: the handler's sum */
        emit_lazy(e, alu_lazy[d->op], d->size);
        e_op_mem(e, false, 0x88, H_R8, H_RBX, CPU_OFF(lf.cin));
        if (d->size == 4)
            e_op_rr(e, false, OP_MOV_STORE, H_RDX, H_RDX);
        store_greg(e, H_RDX, d->dst);
        return;
    }
    e_op_rr(e, true, OP_MOV_STORE, H_RAX, H_RDX);            /* mov rdx, rax */
    e_op_rr(e, true, host_alu[d->op], H_RDX, H_RCX);
    emit_lazy(e, alu_lazy[d->op], d->size);
    if (d->op != JOP_CMP) {
        if (d->size == 4)
            e_op_rr(e, false, OP_MOV_STORE, H_RDX, H_RDX);   /* mov edx, edx */
        store_greg(e, H_RDX, d->dst);
    }
}

static void emit_alu(struct jit_ctx *c, const struct jit_desc *d, const struct insn *in)
{
    struct emit *e = &c->e;
    bool w = d->size == 8;
    if (!d->flags) {                              /* the _nf twin: only the result */
        load_greg(e, H_RAX, d->dst, 8);
        if (d->kind == JK_ALU_RR) {
            e_op_mem(e, w, host_alu[d->op], H_RAX, H_R12, GREG(d->src));
        } else {
            e_mov_imm(e, H_RCX, w ? in->imm : (uint32_t)in->imm);
            e_op_rr(e, w, host_alu[d->op], H_RAX, H_RCX);
        }
        store_greg(e, H_RAX, d->dst);             /* a 32-bit op zero-extended it */
        return;
    }
    load_greg(e, H_RAX, d->dst, d->size);
    if (d->kind == JK_ALU_RR)
        load_greg(e, H_RCX, d->src, 8);
    else
        e_mov_imm(e, H_RCX, in->imm);
    emit_alu_flags(e, d);
}

/* ALU reg, [mem]: the load, then the register form. */
static void emit_alu_mem(struct jit_ctx *c, const struct jit_desc *d, const struct insn *in, unsigned i)
{
    struct emit *e = &c->e;
    emit_address(e, in, true);
    uint8_t *miss = emit_tlb(e, d->size, false);
    e_op_mem(e, d->size == 8, OP_MOV_LOAD, H_RCX, H_RAX, 0);
    load_greg(e, H_RAX, d->dst, d->size);
    emit_alu_flags(e, d);
    emit_slow_path(c, i, miss);
}

static void emit_test(struct emit *e, const struct jit_desc *d, const struct insn *in)
{
    load_greg(e, H_RDX, d->dst, d->size);
    if (d->kind == JK_TEST_RR) {
        e_op_mem(e, d->size == 8, OP_AND, H_RDX, H_R12, GREG(d->src));
    } else {
        e_mov_imm(e, H_RCX, d->size == 8 ? in->imm : (uint32_t)in->imm);
        e_op_rr(e, true, OP_AND, H_RDX, H_RCX);
    }
    e_op_rr(e, true, OP_MOV_STORE, H_RDX, H_RAX);
    e_op_rr(e, true, OP_MOV_STORE, H_RDX, H_RCX);
    emit_lazy(e, LF_LOGIC, d->size);
}

static void emit_shift(struct emit *e, const struct jit_desc *d)
{
    load_greg(e, H_RAX, d->dst, d->size);
    e_op_rr(e, true, OP_MOV_STORE, H_RAX, H_RDX);
    e_shift_imm(e, d->size == 8, d->op, H_RDX, d->src);   /* 32-bit: zero-extended, as the handler masks */
    store_greg(e, H_RDX, d->dst);
    if (d->flags) {
        e_mov_imm(e, H_RCX, d->src);
        emit_lazy(e, d->op == 4 ? LF_SHL : d->op == 5 ? LF_SHR : LF_SAR, d->size);
    }
}

static void emit_imul(struct emit *e, const struct jit_desc *d, const struct insn *in)
{
    bool w = d->size == 8;
    if (d->kind == JK_IMUL_RR) {
        load_greg(e, H_RDX, d->dst, 8);
        e_op_mem(e, w, OP_IMUL, H_RDX, H_R12, GREG(d->src));
    } else {
        load_greg(e, H_RDX, d->src, 8);
        e_mov_imm(e, H_RCX, in->imm);
        e_op_rr(e, w, OP_IMUL, H_RDX, H_RCX);
    }
    if (d->flags) {                               /* CF = OF = signed overflow, as the handler's cin */
        e_byte(e, 0x0f);                          /* seto cl */
        e_byte(e, 0x90);
        e_byte(e, 0xc1);
        e_op_mem(e, false, 0x88, H_RCX, H_RBX, CPU_OFF(lf.cin));   /* mov [cin], cl */
        e_op_rr(e, false, OP_XOR, H_RAX, H_RAX);
        e_op_rr(e, false, OP_XOR, H_RCX, H_RCX);
        emit_lazy(e, LF_MUL, d->size);            /* dst = src = 0, res = the low half */
    }
    store_greg(e, H_RDX, d->dst);
}

/* MUL r: RDX:RAX = RAX * r, by the host's MUL, whose CF (a non-zero high
 * half) is the handler's cin. */
static void emit_mul(struct emit *e, const struct jit_desc *d)
{
    bool w = d->size == 8;
    load_greg(e, H_RAX, GPR_RAX, 8);
    e_op_mem(e, w, 0xf7, 4, H_R12, GREG(d->src));         /* mul [the guest register] */
    store_greg(e, H_RAX, GPR_RAX);                        /* (32-bit: zero-extended by the host) */
    store_greg(e, H_RDX, GPR_RDX);
    if (d->flags) {
        e_byte(e, 0x0f);                          /* setc cl */
        e_byte(e, 0x92);
        e_byte(e, 0xc1);
        e_op_mem(e, false, 0x88, H_RCX, H_RBX, CPU_OFF(lf.cin));   /* mov [cin], cl */
        e_op_rr(e, true, OP_MOV_STORE, H_RAX, H_RDX);            /* rdx = the low half */
        e_op_rr(e, false, OP_XOR, H_RAX, H_RAX);
        e_op_rr(e, false, OP_XOR, H_RCX, H_RCX);
        emit_lazy(e, LF_MUL, d->size);            /* dst = src = 0, res = the low half */
    }
}

static void emit_movx(struct jit_ctx *c, const struct jit_desc *d, const struct insn *in, unsigned i)
{
    static const uint32_t ops[4] = { OP_MOVZX8, OP_MOVZX16, OP_MOVSX8, OP_MOVSX16 };
    struct emit *e = &c->e;
    bool w = d->size == 8 && (d->op & 2);        /* sign-extend to 64 bits; else 32 and zero-extend */
    if (d->kind == JK_MOVX_R) {
        e_op_mem(e, w, ops[d->op], H_RAX, H_R12, GREG(d->src));
        store_greg(e, H_RAX, d->dst);
        return;
    }
    emit_address(e, in, true);
    uint8_t *miss = emit_tlb(e, d->op & 1 ? 2 : 1, false);
    e_op_mem(e, w, ops[d->op], H_RAX, H_RAX, 0);
    store_greg(e, H_RAX, d->dst);
    emit_slow_path(c, i, miss);
}

static void emit_load_store(struct jit_ctx *c, const struct jit_desc *d, const struct insn *in, unsigned i)
{
    struct emit *e = &c->e;
    bool w = d->size == 8, store = d->kind == JK_STORE;
    emit_address(e, in, true);
    uint8_t *miss = emit_tlb(e, d->size, store);
    if (store) {
        load_greg(e, H_RDX, d->dst, 8);
        e_op_mem(e, w, OP_MOV_STORE, H_RDX, H_RAX, 0);
    } else {
        e_op_mem(e, w, OP_MOV_LOAD, H_RAX, H_RAX, 0);
        store_greg(e, H_RAX, d->dst);
    }
    emit_slow_path(c, i, miss);
}

/* PUSH/POP r64: in 64-bit mode SS has no base, limit or type to check.
 * RSP changes only after the access, as in the handlers. */
static void emit_push_pop(struct jit_ctx *c, const struct jit_desc *d, unsigned i)
{
    struct emit *e = &c->e;
    bool push = d->kind == JK_PUSH;
    load_greg(e, H_RAX, GPR_RSP, 8);
    if (push)
        e_alu_imm(e, true, 5, H_RAX, 8);          /* sub rax, 8 */
    uint8_t *miss = emit_tlb(e, 8, push);
    if (push) {
        load_greg(e, H_RDX, d->dst, 8);
        e_op_mem(e, true, OP_MOV_STORE, H_RDX, H_RAX, 0);
        e_op_mem(e, true, 0x83, 5, H_R12, GREG(GPR_RSP));   /* sub qword [rsp slot], 8 */
        e_byte(e, 8);
    } else {
        e_op_mem(e, true, OP_MOV_LOAD, H_RAX, H_RAX, 0);
        e_op_mem(e, true, 0x83, 0, H_R12, GREG(GPR_RSP));   /* add qword [rsp slot], 8 */
        e_byte(e, 8);
        store_greg(e, H_RAX, d->dst);             /* after RSP: POP RSP loads the value */
    }
    emit_slow_path(c, i, miss);
}

/* The general handlers' memory forms (alu.c, mov.c) with a 64-bit
 * address and no LOCK: what fastpath*.c does not specialise. */
/* Byte and word register forms of the general ALU/TEST handlers (AL..R15B
 * only: AH..BH live in bits 8-15 of their register). */
static bool describe_small_reg(const struct insn *in, struct jit_desc *d)
{
    bool alu = in->fn == op_alu_rm_r || in->fn == op_grp1, test = in->fn == op_test_rm_r || in->fn == op_test_rm_imm;
    bool imm = in->fn == op_grp1 || in->fn == op_test_rm_imm;
    if (!in->mod3 || in->lock || (in->osz != 1 && in->osz != 2) || !(alu || test))
        return false;
    unsigned dst = in->osz == 1 ? in->rm8 : in->rm, src = in->osz == 1 ? in->reg8 : in->reg;
    unsigned op = test ? JOP_AND : in->fn == op_grp1 ? in->ext : (in->opc >> 3) & 7;
    if (dst >= 16 || (!imm && src >= 16) || op == JOP_ADC || op == JOP_SBB)
        return false;
    *d = (struct jit_desc){ .kind = JK_ALU_SMALL, .op = (uint8_t)(test ? JOP_CMP + 1 : op), .size = in->osz,
                            .dst = (uint8_t)dst, .src = imm ? 0xff : (uint8_t)src, .flags = true };
    return true;
}

static bool describe_general(const struct insn *in, struct jit_desc *d)
{
    if (in->fn == op_jmp_rel) {
        *d = (struct jit_desc){ .kind = JK_JMP, .size = 8 };
        return true;
    }
    if (describe_small_reg(in, d))
        return true;
    bool reg_ok = in->osz != 1 || in->reg8 < 16;  /* AH..BH as a source: the handler */
    if (in->mod3 || in->lock || in->asz != 8)
        return false;
    if (in->fn == op_alu_rm_r || in->fn == op_grp1) {
        unsigned op = in->fn == op_grp1 ? in->ext : (in->opc >> 3) & 7;
        if (op == JOP_ADC || op == JOP_SBB || (in->fn == op_alu_rm_r && !reg_ok))
            return false;
        *d = (struct jit_desc){ .kind = in->fn == op_grp1 ? JK_ALU_MI : JK_ALU_MR, .op = (uint8_t)op,
                                .size = in->osz, .src = in->osz == 1 ? in->reg8 : in->reg, .flags = true };
        return true;
    }
    if ((in->fn == op_test_rm_r && reg_ok) || in->fn == op_test_rm_imm) {
        *d = (struct jit_desc){ .kind = in->fn == op_test_rm_r ? JK_TEST_MR : JK_TEST_MI, .size = in->osz,
                                .src = in->osz == 1 ? in->reg8 : in->reg, .flags = true };
        return true;
    }
    if (in->fn == op_mov_rm_imm) {
        *d = (struct jit_desc){ .kind = JK_STORE_I, .size = in->osz };
        return true;
    }
    if (in->fn == op_mov_rm_r && (in->osz == 2 || (in->osz == 1 && in->reg8 < 16))) {
        *d = (struct jit_desc){ .kind = JK_STORE_R, .size = in->osz, .src = in->osz == 1 ? in->reg8 : in->reg };
        return true;
    }
    return false;
}

/* host = the size-byte value at [base] (or guest register g's low bytes),
 * zero-extended. */
static void load_sized(struct emit *e, unsigned host, unsigned base, int32_t disp, unsigned size)
{
    if (size == 1 || size == 2)
        e_op_mem(e, false, size == 1 ? OP_MOVZX8 : OP_MOVZX16, host, base, disp);
    else
        e_op_mem(e, size == 8, OP_MOV_LOAD, host, base, disp);
}

/* mov [base], dl/dx/edx/rdx. */
static void store_sized(struct emit *e, unsigned base, unsigned size)
{
    if (size == 2)
        e_byte(e, 0x66);
    e_op_mem(e, size == 8, size == 1 ? 0x88 : OP_MOV_STORE, H_RDX, base, 0);
}

/* op [mem], reg/imm and TEST [mem], reg/imm as alu.c does them: d from
 * memory (checked for writing unless nothing is written), s the register
 * at the operand size or the immediate, the lazy flags of alu(), and the
 * result written back through the same host address. */
static void emit_alu_mem_dst(struct jit_ctx *c, const struct jit_desc *d, const struct insn *in, unsigned i)
{
    struct emit *e = &c->e;
    bool test = d->kind == JK_TEST_MR || d->kind == JK_TEST_MI, writes = !test && d->op != JOP_CMP;
    emit_address(e, in, true);
    uint8_t *miss = emit_tlb(e, d->size, writes);
    e_op_rr(e, true, OP_MOV_STORE, H_RAX, H_R8);            /* r8 = host address */
    load_sized(e, H_RAX, H_R8, 0, d->size);                 /* d */
    if (d->kind == JK_ALU_MR || d->kind == JK_TEST_MR)
        load_sized(e, H_RCX, H_R12, GREG(d->src), d->size);   /* (reg8 numbers below 16 are the low bytes) */
    else
        e_mov_imm(e, H_RCX, in->imm);
    e_op_rr(e, true, OP_MOV_STORE, H_RAX, H_RDX);            /* mov rdx, rax */
    e_op_rr(e, true, test ? OP_AND : host_alu[d->op], H_RDX, H_RCX);
    emit_lazy(e, test ? LF_LOGIC : alu_lazy[d->op], d->size);
    if (writes)
        store_sized(e, H_R8, d->size);
    emit_slow_path(c, i, miss);
}

/* alu() on a byte/word register (op JOP_CMP + 1: TEST): d and s at the
 * operand size, r = d op s, the result merged back into the register's
 * low bytes unless CMP/TEST. */
static void emit_alu_small(struct emit *e, const struct jit_desc *d, const struct insn *in)
{
    bool test = d->op == JOP_CMP + 1;
    load_sized(e, H_RAX, H_R12, GREG(d->dst), d->size);
    if (d->src == 0xff)
        e_mov_imm(e, H_RCX, in->imm);
    else
        load_sized(e, H_RCX, H_R12, GREG(d->src), d->size);
    e_op_rr(e, true, OP_MOV_STORE, H_RAX, H_RDX);            /* mov rdx, rax */
    e_op_rr(e, true, test ? OP_AND : host_alu[d->op], H_RDX, H_RCX);
    emit_lazy(e, test ? LF_LOGIC : alu_lazy[d->op], d->size);
    if (!test && d->op != JOP_CMP) {
        if (d->size == 2)
            e_byte(e, 0x66);
        e_op_mem(e, false, d->size == 1 ? 0x88 : OP_MOV_STORE, H_RDX, H_R12, GREG(d->dst));
    }
}

static void emit_store_general(struct jit_ctx *c, const struct jit_desc *d, const struct insn *in, unsigned i)
{
    struct emit *e = &c->e;
    emit_address(e, in, true);
    uint8_t *miss = emit_tlb(e, d->size, true);
    if (d->kind == JK_STORE_I)
        e_mov_imm(e, H_RDX, in->imm);
    else
        load_greg(e, H_RDX, d->src, 8);
    store_sized(e, H_RAX, d->size);
    emit_slow_path(c, i, miss);
}

/* Host flags = the guest's, as far as condition cc reads them, rebuilt
 * from the lazy state the block's last flag writer left: known at compile
 * time when that writer was emitted here.  False when it was not (a
 * handler ran since) or cc needs flags this lazy op does not rebuild. */
static bool emit_host_flags(struct jit_ctx *c, unsigned cc)
{
    struct emit *e = &c->e;
    unsigned size = c->known_size;
    bool w = size == 8, byte = size == 1;
    switch (c->known_op) {
    case LF_SUB: case LF_ADD:
        e_op_mem(e, true, OP_MOV_LOAD, H_RAX, H_RBX, CPU_OFF(lf.dst));
        if (size == 2)
            e_byte(e, 0x66);
        e_op_mem(e, w, (c->known_op == LF_SUB ? OP_CMP : OP_ADD) - byte, H_RAX, H_RBX, CPU_OFF(lf.src));
        return true;
    case LF_ADC: case LF_SBB: case LF_INC: case LF_DEC:   /* the same operation again, CF = cin first */
        e_op_mem(e, false, OP_MOVZX8, H_RCX, H_RBX, CPU_OFF(lf.cin));
        e_op_mem(e, true, OP_MOV_LOAD, H_RAX, H_RBX, CPU_OFF(lf.dst));
        e_byte(e, 0x0f);                          /* bt ecx, 0 */
        e_byte(e, 0xba);
        e_byte(e, 0xe1);
        e_byte(e, 0);
        if (size == 2)
            e_byte(e, 0x66);
        if (c->known_op == LF_ADC || c->known_op == LF_SBB) {
            e_op_mem(e, w, (c->known_op == LF_ADC ? OP_ADC : OP_SBB) - byte, H_RAX, H_RBX, CPU_OFF(lf.src));
        } else {
            e_rex(e, w, 0, 0, H_RAX, false);
            e_byte(e, byte ? 0xfe : 0xff);        /* inc/dec al/ax/eax/rax */
            e_byte(e, 0xc0 | (c->known_op == LF_DEC ? 1 : 0) << 3);
        }
        return true;
    case LF_LOGIC: case LF_SHL: case LF_SHR: case LF_SAR: case LF_MUL:
        if (c->known_op != LF_LOGIC && (cc >> 1) != 2)
            return false;                         /* only ZF is the result's alone */
        e_op_mem(e, true, OP_MOV_LOAD, H_RAX, H_RBX, CPU_OFF(lf.res));
        if (size == 2)
            e_byte(e, 0x66);
        e_op_rr(e, w, OP_TEST - byte, H_RAX, H_RAX);
        return true;
    default:
        return false;
    }
}

/* R8B = the guest's CF (the carry-in of ADC/SBB, the CF that INC/DEC
 * keep), from what the block's last flag writer is known to have left;
 * false when that is not known. */
static bool emit_save_cf(struct jit_ctx *c)
{
    struct emit *e = &c->e;
    switch (c->known_op) {
    case LF_SUB: case LF_ADD: case LF_ADC: case LF_SBB:
        emit_host_flags(c, CC_B);
        break;
    case LF_LOGIC:
        e_op_rr(e, false, OP_XOR, H_RAX, H_RAX); /* CF = 0 */
        break;
    case LF_MUL: case LF_INC: case LF_DEC:        /* CF is cin itself */
        e_op_mem(e, false, OP_MOVZX8, H_R8, H_RBX, CPU_OFF(lf.cin));
        return true;
    default:
        return false;
    }
    e_rex(e, false, 0, 0, H_R8, true);            /* setc r8b */
    e_byte(e, 0x0f);
    e_byte(e, 0x92);
    e_byte(e, 0xc0 | (H_R8 & 7));
    return true;
}

/* INC/DEC r32/r64 (incdec_reg in fastpath.c): CF kept in cin. */
static bool emit_incdec(struct jit_ctx *c, const struct jit_desc *d)
{
    struct emit *e = &c->e;
    if (!emit_save_cf(c))
        return false;
    load_greg(e, H_RAX, d->dst, d->size);
    e_op_mem(e, true, OP_LEA, H_RDX, H_RAX, d->op ? -1 : 1);
    e_mov_imm(e, H_RCX, 1);
    emit_lazy(e, d->op ? LF_DEC : LF_INC, d->size);
    e_op_mem(e, false, 0x88, H_R8, H_RBX, CPU_OFF(lf.cin));
    if (d->size == 4)
        e_op_rr(e, false, OP_MOV_STORE, H_RDX, H_RDX);
    store_greg(e, H_RDX, d->dst);
    return true;
}

/* A taken near jump to RIP + rel: set_next_rip after the canonical check
 * (the handler raises the #GP). */
static void emit_jump_taken(struct jit_ctx *c, const struct insn *in, unsigned i)
{
    struct emit *e = &c->e;
    e_op_mem(e, true, OP_MOV_LOAD, H_RAX, H_RBX, CPU_OFF(block_rip));
    add_imm64(e, H_RAX, (int64_t)in->end + (int64_t)in->imm);
    uint8_t *bad = emit_canonical_check(e);
    emit_set_next_rip(e);
    emit_slow_path(c, i, bad);
}

/* Jcc rel (the block's last instruction): set_next_rip when taken. */
static bool emit_jcc(struct jit_ctx *c, const struct jit_desc *d, const struct insn *in, unsigned i)
{
    struct emit *e = &c->e;
    if (!emit_host_flags(c, d->op))
        return false;
    uint8_t *not_taken = e_jcc32(e, d->op ^ 1);
    emit_jump_taken(c, in, i);
    e_patch(e, not_taken, e->p);
    return true;
}

/* ROL/ROR r32/r64 by a count whose flags nobody reads (rotate_reg_nf). */
static void emit_rotate(struct emit *e, const struct jit_desc *d)
{
    load_greg(e, H_RAX, d->dst, d->size);         /* a 32-bit value stays zero-extended */
    e_shift_imm(e, d->size == 8, d->op, H_RAX, d->src);
    store_greg(e, H_RAX, d->dst);
}

static bool emit_setcc_cmov(struct jit_ctx *c, const struct jit_desc *d)
{
    struct emit *e = &c->e;
    if (!emit_host_flags(c, d->op))
        return false;
    if (d->kind == JK_SETCC) {
        e_byte(e, 0x0f);                          /* setcc al */
        e_byte(e, 0x90 | d->op);
        e_byte(e, 0xc0);
        int32_t at = d->dst < 16 ? GREG(d->dst) : GREG(d->dst - 16) + 1;   /* AH..BH: byte 1 */
        e_op_mem(e, false, 0x88, H_RAX, H_R12, at);
        return true;
    }
    load_greg(e, H_RAX, d->dst, d->size);         /* MOV keeps the flags */
    e_op_mem(e, d->size == 8, 0x400f | (uint32_t)d->op << 8, H_RAX, H_R12, GREG(d->src));
    store_greg(e, H_RAX, d->dst);                 /* a 32-bit CMOV zero-extends even when false */
    return true;
}

/* CALL rel32 / RET in 64-bit mode, as call_rel8 and ret8 do them: the
 * target is checked before anything is written. */
static void emit_call_ret(struct jit_ctx *c, const struct jit_desc *d, const struct insn *in, unsigned i)
{
    struct emit *e = &c->e;
    uint8_t *miss[2];
    if (d->kind == JK_CALL_REL) {
        e_op_mem(e, true, OP_MOV_LOAD, H_RAX, H_RBX, CPU_OFF(block_rip));
        add_imm64(e, H_RAX, (int64_t)in->end + (int64_t)in->imm);
        miss[0] = emit_canonical_check(e);
        e_op_mem(e, true, OP_MOV_STORE, H_RAX, H_RBX, CPU_OFF(next_rip));
        load_greg(e, H_RAX, GPR_RSP, 8);
        e_alu_imm(e, true, 5, H_RAX, 8);
        miss[1] = emit_tlb(e, 8, true);
        e_op_mem(e, true, OP_MOV_LOAD, H_RDX, H_RBX, CPU_OFF(block_rip));
        add_imm64(e, H_RDX, in->end);
        e_op_mem(e, true, OP_MOV_STORE, H_RDX, H_RAX, 0);
        e_op_mem(e, true, 0x83, 5, H_R12, GREG(GPR_RSP));   /* sub qword [rsp slot], 8 */
        e_byte(e, 8);
        e_store_imm8(e, H_RBX, CPU_OFF(rip_set), 1);
    } else {
        load_greg(e, H_RAX, GPR_RSP, 8);
        miss[0] = emit_tlb(e, 8, false);
        e_op_mem(e, true, OP_MOV_LOAD, H_RAX, H_RAX, 0);
        miss[1] = emit_canonical_check(e);
        e_op_mem(e, true, 0x83, 0, H_R12, GREG(GPR_RSP));   /* add qword [rsp slot], 8 */
        e_byte(e, 8);
        emit_set_next_rip(e);
    }
    emit_slow_paths(c, i, miss, 2);
}

/* The lazy op an instruction leaves when it records flags. */
static uint8_t lazy_op_of(const struct jit_desc *d)
{
    switch (d->kind) {
    case JK_ALU_RR: case JK_ALU_RI: case JK_ALU_RM: return alu_lazy[d->op];
    case JK_TEST_RR: case JK_TEST_RI: case JK_TEST_MR: case JK_TEST_MI: return LF_LOGIC;
    case JK_ALU_MR: case JK_ALU_MI: return alu_lazy[d->op];
    case JK_ALU_SMALL: return d->op == JOP_CMP + 1 ? LF_LOGIC : alu_lazy[d->op];
    case JK_SHIFT_I: return d->op == 4 ? LF_SHL : d->op == 5 ? LF_SHR : LF_SAR;
    case JK_IMUL_RR: case JK_IMUL_RRI: case JK_MUL_R: return LF_MUL;
    case JK_INCDEC: return d->op ? LF_DEC : LF_INC;
    case JK_ROT_NF: return LF_SHL;                /* a flag writer (stale lazy state: nothing known) */
    default: return LF_NONE;
    }
}

static bool emit_kind(struct jit_ctx *c, const struct jit_desc *d, const struct insn *in, unsigned i);
static bool describe(const struct insn *in, struct jit_desc *d);

bool jit_emit_native(struct jit_ctx *c, unsigned i)
{
    const struct insn *in = &c->b->insn[i];
    struct jit_desc d;
    if (!describe(in, &d) || !emit_kind(c, &d, in, i))
        return false;
    uint8_t op = lazy_op_of(&d);
    if (op != LF_NONE) {                          /* a flag writer; others keep what is known */
        c->known_op = d.flags ? op : LF_NONE;     /* a flag-free twin leaves stale lazy state */
        c->known_size = d.size;
    }
    return true;
}

static bool describe(const struct insn *in, struct jit_desc *d)
{
    *d = (struct jit_desc){ 0 };
    return fastpath_jit_desc(in, d) || fastpath_mem_jit_desc(in, d) || fastpath_stack_jit_desc(in, d) ||
           fastpath_cond_jit_desc(in, d) || describe_general(in, d);
}

static bool emit_kind(struct jit_ctx *c, const struct jit_desc *d, const struct insn *in, unsigned i)
{
    struct emit *e = &c->e;
    switch (d->kind) {
    case JK_MOV_RR:
        load_greg(e, H_RAX, d->src, d->size);
        store_greg(e, H_RAX, d->dst);
        return true;
    case JK_MOV_RI:
        e_mov_imm(e, H_RAX, d->size == 8 ? in->imm : (uint32_t)in->imm);
        store_greg(e, H_RAX, d->dst);
        return true;
    case JK_ALU_RR: case JK_ALU_RI: case JK_ALU_RM:
        if ((d->op == JOP_ADC || d->op == JOP_SBB) && !emit_save_cf(c))
            return false;                         /* the carry-in is not known here */
        if (d->kind == JK_ALU_RM)
            emit_alu_mem(c, d, in, i);
        else
            emit_alu(c, d, in);
        return true;
    case JK_INCDEC:
        return emit_incdec(c, d);
    case JK_ROT_NF:
        emit_rotate(e, d);
        return true;
    case JK_ALU_SMALL:
        emit_alu_small(e, d, in);
        return true;
    case JK_JMP:
        emit_jump_taken(c, in, i);
        return true;
    case JK_TEST_RR: case JK_TEST_RI:
        emit_test(e, d, in);
        return true;
    case JK_LOAD: case JK_STORE:
        emit_load_store(c, d, in, i);
        return true;
    case JK_LEA:
        emit_address(e, in, false);
        if (d->size == 4)
            e_op_rr(e, false, OP_MOV_STORE, H_RAX, H_RAX);   /* mov eax, eax */
        store_greg(e, H_RAX, d->dst);
        return true;
    case JK_MOVX_R: case JK_MOVX_M:
        emit_movx(c, d, in, i);
        return true;
    case JK_MOVSXD:
        e_op_mem(e, true, OP_MOVSXD, H_RAX, H_R12, GREG(d->src));
        store_greg(e, H_RAX, d->dst);
        return true;
    case JK_PUSH: case JK_POP:
        emit_push_pop(c, d, i);
        return true;
    case JK_SHIFT_I:
        emit_shift(e, d);
        return true;
    case JK_IMUL_RR: case JK_IMUL_RRI:
        emit_imul(e, d, in);
        return true;
    case JK_MUL_R:
        emit_mul(e, d);
        return true;
    case JK_JCC:
        return emit_jcc(c, d, in, i);
    case JK_SETCC: case JK_CMOV:
        return emit_setcc_cmov(c, d);
    case JK_CALL_REL: case JK_RET:
        emit_call_ret(c, d, in, i);
        return true;
    case JK_ALU_MR: case JK_ALU_MI: case JK_TEST_MR: case JK_TEST_MI:
        emit_alu_mem_dst(c, d, in, i);
        return true;
    case JK_STORE_I: case JK_STORE_R:
        emit_store_general(c, d, in, i);
        return true;
    default:
        return false;
    }
}
