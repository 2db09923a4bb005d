/*
 * SSE, SSE2, SSE3, SSSE3, SSE4.1, SSE4.2, AES-NI and PCLMULQDQ (legacy
 * encodings).  op_sse moves the guest operands into host registers, runs
 * the host stub of the same opcode (sse_host.c) and moves the results back;
 * the rules the host would not check for us are applied here: #UD/#NM from
 * CR0/CR4, 16-byte alignment (#GP(0)), memory faults before any state
 * changes, and SIMD floating-point exceptions.
 *
 * MXCSR: floating-point stubs run with the guest's rounding, DAZ and FTZ
 * and every exception masked.  The flags they raise are merged into the
 * guest's MXCSR; if one of them is unmasked there, the destination is left
 * alone and #XM (CR4.OSXMMEXCPT set) or #UD is raised.  When the unmasked
 * one is a pre-computation exception (invalid, denormal, divide by zero),
 * only those flags are set, as the hardware does not go on to compute.
 * Approximation: with several exceptions in different lanes of a packed
 * instruction, a post-computation flag of another lane may be set too.
 */
#include "handlers.h"
#include "sse.h"
#include "x87.h"

#define XMM_OFF     160u
#define MXCSR_OFF   24u
#define MXCSR_FLAGS 0x3fu
#define MXCSR_MASKS 0x1f80u
#define MXCSR_PRE   0x7u            /* IE DE ZE: detected before computing */
#define EXC_XM      19
#define XINUSE_SSE  0x2u

static uint8_t *xmm_reg(struct interp_cpu *cpu, unsigned i)
{
    return cpu->st->xsave + XMM_OFF + (size_t)16 * (i & 15u);
}

static void xmm_put(struct interp_cpu *cpu, unsigned i, const uint8_t *v)
{
    memcpy(xmm_reg(cpu, i), v, 16);
    cpu->st->xsave[512] |= XINUSE_SSE;
}

/* #UD (CR0.EM, CR4.OSFXSR for XMM forms), #NM (CR0.TS), #MF for MMX forms. */
static int sse_check(struct interp_cpu *cpu, const struct sse_desc *d)
{
    const struct cpu_state *st = cpu->st;
    bool xmm = d->reg_class == SC_XMM || d->rm_class == SC_XMM;
    if ((st->cr0 & CR0_EM) || (xmm && !(st->cr4 & CR4_OSFXSR)))
        return raise_ud(cpu);
    if (st->cr0 & CR0_TS)
        return raise_exc(cpu, EXC_NM, false, 0);
    if (d->reg_class == SC_MMX || d->rm_class == SC_MMX) {
        x87_live_flush(cpu);                             /* MMn are the x87 registers */
        return x87_pending(cpu);
    }
    return X_NEXT;
}

/* Guest memory <-> buffer (size 1, 2, 4, 8 or 16). */
static int sse_mem_read(struct interp_cpu *cpu, const struct insn *in, uint64_t ea, unsigned size, uint8_t *buf)
{
    for (unsigned i = 0; i < size; i += 8) {
        unsigned n = size - i < 8 ? size - i : 8;
        uint64_t v;
        int r = mem_read(cpu, in->seg, (ea + i) & insn_amask(in), n, &v);
        if (r)
            return r;
        store_le(buf + i, n, v);
    }
    return X_NEXT;
}

static int sse_mem_write(struct interp_cpu *cpu, const struct insn *in, uint64_t ea, unsigned size,
                         const uint8_t *buf)
{
    unsigned page_off = (unsigned)((cpu->seg[in->seg].base + ea) & 0xfffu);
    if (size > 8 && page_off + size > 4096) {   /* both pages writable before either half is written */
        uint64_t probe;
        int r = mem_read_rmw(cpu, in->seg, (ea + 4096 - page_off) & insn_amask(in), 1, &probe);
        if (r)
            return r;
    }
    for (unsigned i = 0; i < size; i += 8) {
        unsigned n = size - i < 8 ? size - i : 8;
        int r = mem_write(cpu, in->seg, (ea + i) & insn_amask(in), n, load_le(buf + i, n));
        if (r)
            return r;
    }
    return X_NEXT;
}

/* Merges the flags a floating-point stub raised; an unmasked one faults. */
static int sse_mxcsr_result(struct interp_cpu *cpu, uint32_t raised)
{
    uint8_t *m = cpu->st->xsave + MXCSR_OFF;
    uint32_t mxcsr = (uint32_t)load_le(m, 4), unmasked = raised & ~(mxcsr >> 7) & MXCSR_FLAGS;
    if (unmasked & MXCSR_PRE)
        raised &= MXCSR_PRE;
    store_le(m, 4, mxcsr | raised);
    if (!unmasked)
        return X_NEXT;
    if (cpu->st->cr4 & CR4_OSXMMEXCPT)
        return raise_exc(cpu, EXC_XM, false, 0);
    return raise_ud(cpu);
}

/* Loads the register operands the stub needs. */
static void sse_load_regs(struct interp_cpu *cpu, const struct insn *in, const struct sse_desc *d,
                          struct sse_host_regs *h)
{
    memcpy(h->xmm[0], xmm_reg(cpu, 0), 16);
    if (d->reg_class == SC_XMM)
        memcpy(h->xmm[1], xmm_reg(cpu, in->reg), 16);
    else if (d->reg_class == SC_MMX)
        h->mm1 = mmx_reg_get(cpu, in->ext);
    else
        h->rcx = cpu->gpr[in->reg];
    if (in->mod3) {
        if (d->rm_class == SC_XMM)
            memcpy(h->xmm[2], xmm_reg(cpu, in->rm), 16);
        else if (d->rm_class == SC_MMX)
            h->mm2 = mmx_reg_get(cpu, in->rm & 7u);
        else
            h->rdx = cpu->gpr[in->rm];
    }
    if (d->flags & SF_RAXRDX) {
        h->rax = cpu->gpr[GPR_RAX];
        h->rdx = cpu->gpr[GPR_RDX];
    }
}

/* Register results, once nothing can fault any more. */
static void sse_store_regs(struct interp_cpu *cpu, const struct insn *in, const struct sse_desc *d,
                           const struct sse_host_regs *h)
{
    if ((d->flags & SF_WRM) && in->mod3) {
        if (d->rm_class == SC_XMM)
            xmm_put(cpu, in->rm, h->xmm[2]);
        else
            cpu->gpr[in->rm] = h->rdx;
    }
    if (d->flags & SF_WXMM0)
        xmm_put(cpu, 0, h->xmm[0]);
    if (d->flags & SF_WECX)
        cpu->gpr[GPR_RCX] = h->rcx;
    if (d->flags & SF_WREG) {
        if (d->reg_class == SC_XMM)
            xmm_put(cpu, in->reg, h->xmm[1]);
        else if (d->reg_class == SC_MMX)
            mmx_reg_set(cpu, in->ext, h->mm1);
        else
            cpu->gpr[in->reg] = h->rcx;
    }
    if (d->flags & SF_RFLAGS)
        flags_set_arith(cpu, FLAGS_ARITH, h->rflags & FLAGS_ARITH);
    if (d->reg_class == SC_MMX || (d->rm_class == SC_MMX && in->mod3))
        mmx_enter(cpu);                              /* an MMX register was used */
}

static int sse_stub_insn(struct interp_cpu *cpu, const struct insn *in, const struct sse_desc *d)
{
    /* Not zeroed as a whole (a measurable cost per instruction): the stub
     * reads only the registers and memory bytes its instruction uses. */
    struct sse_host_regs h;
    _Alignas(16) uint8_t buf[16];
    h.rax = h.rcx = h.rdx = 0;
    h.mm1 = h.mm2 = 0;
    unsigned size = d->msize;
    uint64_t ea = 0;
    int r;
    if ((d->flags & SF_WMEM) && (in->rex & 8u))
        size *= 2;
    if (!in->mod3) {
        ea = insn_ea(cpu, in);
        if ((d->flags & SF_ALIGN) && ((cpu->seg[in->seg].base + ea) & 15u))
            return raise_gp(cpu, 0);
        if (!(d->flags & SF_WRM) && (r = sse_mem_read(cpu, in, ea, size, buf)))
            return r;
    }
    sse_load_regs(cpu, in, d, &h);
    bool fp = d->flags & SF_FP, mmx = d->reg_class == SC_MMX || d->rm_class == SC_MMX;
    if (fp && !mmx && (cpu->mxcsr_live || sse_mxcsr_enter(cpu))) {
        sse_host_run(in->sse_stub + !in->mod3, buf, &h, 0);    /* flags stay in the host's MXCSR */
    } else if (fp) {                                           /* checked per instruction */
        sse_mxcsr_flush(cpu);
        h.mxcsr = ((uint32_t)load_le(cpu->st->xsave + MXCSR_OFF, 4) & sse_host_mxcsr_mask() & ~MXCSR_FLAGS) |
                  MXCSR_MASKS;
        sse_host_run(in->sse_stub + !in->mod3, buf, &h, SSE_RUN_MXCSR | (mmx ? SSE_RUN_MMX : 0));
        if ((r = sse_mxcsr_result(cpu, h.mxcsr & MXCSR_FLAGS)))
            return r;
    } else {
        h.mxcsr = 0x1f80u;
        sse_host_run(in->sse_stub + !in->mod3, buf, &h, mmx ? SSE_RUN_MMX : 0);
    }
    if ((d->flags & SF_WRM) && !in->mod3 && (r = sse_mem_write(cpu, in, ea, size, buf)))
        return r;
    sse_store_regs(cpu, in, d, &h);
    return X_NEXT;
}

/* 66 0F 71-73 /n ib: by-immediate shifts run as the shift by an XMM count;
 * PSRLDQ/PSLLDQ (73 /3, /7) shift bytes here. */
static int sse_shift_imm(struct interp_cpu *cpu, const struct insn *in)
{
    static const uint8_t host_op[3][8] = {
        { 0, 0, 0xd1, 0, 0xe1, 0, 0xf1, 0 }, { 0, 0, 0xd2, 0, 0xe2, 0, 0xf2, 0 },
        { 0, 0, 0xd3, 0xff, 0, 0, 0xf3, 0xff },
    };
    unsigned op = host_op[(in->opc & 0xffu) - 0x71][in->ext], n = (unsigned)in->imm & 0xffu;
    if (!in->mod3 || !op)
        return raise_ud(cpu);
    uint8_t *x = xmm_reg(cpu, in->rm);
    if (op == 0xff) {
        uint8_t out[16] = { 0 };
        for (unsigned i = 0; i < 16 && n < 16; i++) {
            if (in->ext == 3 && i + n < 16)
                out[i] = x[i + n];
            else if (in->ext == 7 && i >= n)
                out[i] = x[i - n];
        }
        xmm_put(cpu, in->rm, out);
        return X_NEXT;
    }
    struct sse_host_regs h = { 0 };
    memcpy(h.xmm[1], x, 16);
    h.xmm[2][0] = (uint8_t)n;
    sse_host_run(sse_stub_number(SP_66, SM_0F, op, false, 0), NULL, &h, 0);
    xmm_put(cpu, in->rm, h.xmm[1]);
    return X_NEXT;
}

/* 66 0F F7 MASKMOVDQU xmm1, xmm2: the bytes of xmm1 whose xmm2 byte has
 * its top bit set go to DS:rDI (segment override allowed). */
static int sse_maskmov(struct interp_cpu *cpu, const struct insn *in)
{
    if (!in->mod3)
        return raise_ud(cpu);
    const uint8_t *data = xmm_reg(cpu, in->reg), *mask = xmm_reg(cpu, in->rm);
    uint64_t base = cpu->gpr[GPR_RDI];
    for (unsigned i = 0; i < 16; i++) {
        if (!(mask[i] & 0x80u))
            continue;
        int r = mem_write(cpu, in->seg, (base + i) & insn_amask(in), 1, data[i]);
        if (r)
            return r;
    }
    return X_NEXT;
}

/* Host address of the 16 bytes at seg:ea when they lie in one page that
 * the TLB holds for this access (RAM; for a write, a page without decoded
 * code); NULL otherwise (the piecewise path then checks and faults). */
static uint8_t *tlb_host16(struct interp_cpu *cpu, const struct insn *in, uint64_t ea, bool write)
{
    const struct seg_cache *s = &cpu->seg[in->seg];
    if (ea < s->lo || ea + 15 > s->hi || !(write ? s->wr : s->rd) || ((ea + 15) & insn_amask(in)) != ea + 15)
        return NULL;
    uint64_t lin = (s->base + ea) & cpu->lin_mask;
    const struct tlb_entry *e = &cpu->tlb[(lin >> 12) & (TLB_SIZE - 1)];
    if ((write ? e->tag_write : e->tag_read) != (lin & ~UINT64_C(0xfff)) || (lin & 0xfff) > 4096 - 16)
        return NULL;
    return (uint8_t *)(lin + e->addend);
}

/* The 128-bit moves: no computation, so no stub. */
static int sse_move(struct interp_cpu *cpu, const struct insn *in, const struct sse_desc *d)
{
    bool store = d->flags & SF_WRM;
    unsigned dst = store ? in->rm : in->reg, src = store ? in->reg : in->rm;
    _Alignas(16) uint8_t buf[16];
    if (in->mod3) {
        memcpy(buf, xmm_reg(cpu, src), 16);
        xmm_put(cpu, dst, buf);
        return X_NEXT;
    }
    uint64_t ea = insn_ea(cpu, in);
    if ((d->flags & SF_ALIGN) && ((cpu->seg[in->seg].base + ea) & 15u))
        return raise_gp(cpu, 0);
    uint8_t *host = tlb_host16(cpu, in, ea, store);
    if (host) {                                          /* one RAM page in the TLB */
        if (store) {
            memcpy(host, xmm_reg(cpu, in->reg), 16);
        } else {
            memcpy(buf, host, 16);
            xmm_put(cpu, in->reg, buf);
        }
        return X_NEXT;
    }
    if (store)
        return sse_mem_write(cpu, in, ea, 16, xmm_reg(cpu, in->reg));
    int r = sse_mem_read(cpu, in, ea, 16, buf);
    if (!r)
        xmm_put(cpu, in->reg, buf);
    return r;
}

int op_sse(struct interp_cpu *cpu, const struct insn *in)
{
    const struct sse_desc *d = &sse_descs[in->sse];
    if (d->kind == SK_MOVNTI)                            /* a plain GPR store, no SSE state */
        return mem_write(cpu, in->seg, insn_ea(cpu, in), in->osz, cpu->gpr[in->reg]);
    int r = sse_check(cpu, d);
    if (r)
        return r;
    if ((r = sse_fast(cpu, in)) != SSE_SLOW)
        return r;
    switch (d->kind) {
    case SK_SHIFT_IMM: return sse_shift_imm(cpu, in);
    case SK_MASKMOV:   return sse_maskmov(cpu, in);
    case SK_MOVE:      return sse_move(cpu, in, d);
    default:           return sse_stub_insn(cpu, in, d);
    }
}

/* F2 0F 38 F0/F1 CRC32 r32/r64, r/m8/16/32/64: CRC-32C (Castagnoli,
 * reflected polynomial 0x82F63B78), no initial or final inversion. */
int op_crc32(struct interp_cpu *cpu, const struct insn *in)
{
    uint64_t v;
    int r = op_rm_get(cpu, in, in->osz, &v, false);
    if (r)
        return r;
    uint32_t crc = (uint32_t)cpu->gpr[in->reg];
    for (unsigned i = 0; i < in->osz; i++) {
        crc ^= (uint8_t)(v >> (8 * i));
        for (unsigned b = 0; b < 8; b++)
            crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1u)));
    }
    set_reg(cpu, in->reg, 4, crc);                       /* r64 form: zero-extended too */
    return X_NEXT;
}
