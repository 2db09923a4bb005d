/*
 * Decode-time specialised SSE handlers: the 128-bit moves and what
 * sse_fast.c computes (the commonest SSE2 integer instructions, packed
 * ADD/SUB/MUL/DIV PS/PD) get, when their block is decoded, a handler of
 * their own per opcode and operand form (register or m128), so the hot
 * path runs without the descriptor lookup and the opcode switches of
 * op_sse.  At run time the handler checks CR0.EM/TS and CR4.OSFXSR, finds
 * a memory operand through the TLB and, for floating point, that the
 * guest's MXCSR is live in the host's; anything else (a fault to raise, a
 * TLB miss, MMIO, a misaligned or page-crossing operand, exceptions
 * unmasked in MXCSR) goes to op_sse before any state has changed, so the
 * results are op_sse's by construction.
 */
#include "handlers.h"
#include "sse_compute.h"

#define XMM_OFF    160u
#define XINUSE_SSE 0x2u

static ALWAYS_INLINE bool sse_ready(const struct interp_cpu *cpu)
{
    const struct cpu_state *st = cpu->st;
    return likely(!(st->cr0 & (CR0_EM | CR0_TS)) && (st->cr4 & CR4_OSFXSR));
}

static ALWAYS_INLINE uint8_t *xmm(struct interp_cpu *cpu, unsigned i)
{
    return cpu->st->xsave + XMM_OFF + (size_t)16 * (i & 15u);
}

/* XINUSE[1]: written only when it changes (it is nearly always set). */
static ALWAYS_INLINE void note_in_use(struct interp_cpu *cpu)
{
    uint8_t *bv = &cpu->st->xsave[512];
    if (unlikely(!(*bv & XINUSE_SSE)))
        *bv |= XINUSE_SSE;
}

/* Host address of the 16 bytes at the memory operand when they lie in one
 * page the TLB holds for this access (for a write: RAM without decoded
 * code) and, if required, are aligned; NULL otherwise. */
static ALWAYS_INLINE uint8_t *m128_host(struct interp_cpu *cpu, const struct insn *in, bool write, bool align)
{
    uint64_t ea = insn_ea(cpu, in);
    const struct seg_cache *s = &cpu->seg[in->seg];
    if (ea < s->lo || ea + 15 > s->hi || !(write ? s->wr : s->rd) || ((ea + 15) & insn_amask(in)) != ea + 15)
        return NULL;
    uint64_t lin = (s->base + ea) & cpu->lin_mask;
    if (align && ((s->base + ea) & 15u))
        return NULL;
    const struct tlb_entry *e = &cpu->tlb[(lin >> 12) & (TLB_SIZE - 1)];
    if ((write ? e->tag_write : e->tag_read) != (lin & ~UINT64_C(0xfff)) || (lin & 0xfff) > 4096 - 16)
        return NULL;
    return (uint8_t *)(lin + e->addend);
}

/* op xmm, xmm/m128: integer (fp false) or floating point (pd: double). */
static ALWAYS_INLINE int arith(struct interp_cpu *cpu, const struct insn *in, unsigned op, bool fp, bool pd,
                               bool mem)
{
    if (unlikely(!sse_ready(cpu)) || (fp && unlikely(!cpu->mxcsr_live) && !sse_mxcsr_enter(cpu)))
        return op_sse(cpu, in);
    v16qu a, b;
    const uint8_t *src = mem ? m128_host(cpu, in, false, true) : xmm(cpu, in->rm);
    if (unlikely(!src))
        return op_sse(cpu, in);
    if (!fp && op == 0x70) {                       /* PSHUFD: dword loads straight from the source */
        size_t imm = (size_t)in->imm;
        uint32_t d0, d1, d2, d3;
        memcpy(&d0, src + 4 * (imm & 3u), 4);
        memcpy(&d1, src + 4 * ((imm >> 2) & 3u), 4);
        memcpy(&d2, src + 4 * ((imm >> 4) & 3u), 4);
        memcpy(&d3, src + 4 * ((imm >> 6) & 3u), 4);
        v4su r = { d0, d1, d2, d3 };
        memcpy(xmm(cpu, in->reg), &r, 16);
        note_in_use(cpu);
        return X_NEXT;
    }
    memcpy(&b, src, 16);
    memcpy(&a, xmm(cpu, in->reg), 16);
    v16qu res = fp ? compute_fp(op, pd, a, b) : compute(op, a, b, (unsigned)in->imm & 0xffu);
    memcpy(xmm(cpu, in->reg), &res, 16);
    note_in_use(cpu);
    return X_NEXT;
}

#define H(name) static int name(struct interp_cpu *cpu, const struct insn *in)
#define INT_OP(op) \
    H(int_##op##_r) { return arith(cpu, in, 0x##op, false, false, false); } \
    H(int_##op##_m) { return arith(cpu, in, 0x##op, false, false, true); }
#define FP_OPS(op) \
    H(ps_##op##_r) { return arith(cpu, in, 0x##op, true, false, false); } \
    H(ps_##op##_m) { return arith(cpu, in, 0x##op, true, false, true); } \
    H(pd_##op##_r) { return arith(cpu, in, 0x##op, true, true, false); } \
    H(pd_##op##_m) { return arith(cpu, in, 0x##op, true, true, true); }

INT_OP(70) INT_OP(74) INT_OP(75) INT_OP(76) INT_OP(d4) INT_OP(db) INT_OP(df) INT_OP(eb) INT_OP(ef)
INT_OP(f8) INT_OP(f9) INT_OP(fa) INT_OP(fb) INT_OP(fc) INT_OP(fd) INT_OP(fe)
FP_OPS(58) FP_OPS(59) FP_OPS(5c) FP_OPS(5e)

/* The 128-bit moves (MOVAPS/UPS/APD/UPD/DQA/DQU). */
static ALWAYS_INLINE int move(struct interp_cpu *cpu, const struct insn *in, bool mem, bool store, bool align)
{
    if (unlikely(!sse_ready(cpu)))
        return op_sse(cpu, in);
    _Alignas(16) uint8_t v[16];
    if (!mem) {
        memcpy(v, xmm(cpu, store ? in->reg : in->rm), 16);
        memcpy(xmm(cpu, store ? in->rm : in->reg), v, 16);
    } else {
        uint8_t *h = m128_host(cpu, in, store, align);
        if (unlikely(!h))
            return op_sse(cpu, in);
        if (store) {
            memcpy(h, xmm(cpu, in->reg), 16);
            return X_NEXT;
        }
        memcpy(v, h, 16);
        memcpy(xmm(cpu, in->reg), v, 16);
    }
    note_in_use(cpu);
    return X_NEXT;
}

H(mov_load_rr) { return move(cpu, in, false, false, false); }
H(mov_store_rr) { return move(cpu, in, false, true, false); }
H(mov_load_a) { return move(cpu, in, true, false, true); }
H(mov_load_u) { return move(cpu, in, true, false, false); }
H(mov_store_a) { return move(cpu, in, true, true, true); }
H(mov_store_u) { return move(cpu, in, true, true, false); }

#define INT_PAIR(op) [0x##op] = { int_##op##_r, int_##op##_m }
static const insn_fn int_fns[256][2] = {
    INT_PAIR(70), INT_PAIR(74), INT_PAIR(75), INT_PAIR(76), INT_PAIR(d4), INT_PAIR(db), INT_PAIR(df),
    INT_PAIR(eb), INT_PAIR(ef), INT_PAIR(f8), INT_PAIR(f9), INT_PAIR(fa), INT_PAIR(fb), INT_PAIR(fc),
    INT_PAIR(fd), INT_PAIR(fe),
};
#define FP_QUAD(op) [0x##op - 0x58] = { { ps_##op##_r, ps_##op##_m }, { pd_##op##_r, pd_##op##_m } }
static const insn_fn fp_fns[7][2][2] = { FP_QUAD(58), FP_QUAD(59), FP_QUAD(5c), FP_QUAD(5e) };

void sse_specialize(struct insn *in)
{
    const struct sse_desc *d = &sse_descs[in->sse];
    unsigned op = in->sse & 0xffu, table = in->sse >> 8, mem = !in->mod3;
    bool pd = table == SP_66 * SM_COUNT + SM_0F;
    if (d->kind == SK_MOVE) {
        bool store = d->flags & SF_WRM, align = d->flags & SF_ALIGN;
        if (!mem)
            in->fn = store ? mov_store_rr : mov_load_rr;
        else if (store)
            in->fn = align ? mov_store_a : mov_store_u;
        else
            in->fn = align ? mov_load_a : mov_load_u;
    } else if (pd && int_fns[op][mem]) {
        in->fn = int_fns[op][mem];
    } else if ((pd || table == SP_NONE * SM_COUNT + SM_0F) && op >= 0x58 && op <= 0x5e && fp_fns[op - 0x58][pd][mem]) {
        in->fn = fp_fns[op - 0x58][pd][mem];
    }
}
