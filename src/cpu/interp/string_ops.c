/*
 * String instructions MOVS CMPS STOS LODS SCAS INS OUTS with REP/REPE/REPNE.
 * A repeated instruction runs a bounded number of iterations per execution
 * and then restarts itself (RIP unchanged), so interrupts and pokes are seen
 * in the middle of a long copy; a fault leaves the registers describing the
 * iterations already done, as on hardware.
 */
#include "interp_internal.h"

int io_check(struct interp_cpu *cpu, uint16_t port, unsigned size);
uint32_t io_in(struct interp_cpu *cpu, uint16_t port, unsigned size);
void io_out(struct interp_cpu *cpu, uint16_t port, unsigned size, uint32_t v);

#define STRING_CHUNK 4096u

struct str_ctx {
    unsigned size, asz;
    uint64_t amask;
    int64_t step;
};

static inline void advance(struct interp_cpu *cpu, const struct str_ctx *c, unsigned reg)
{
    set_reg(cpu, reg, c->asz, (cpu->gpr[reg] + (uint64_t)c->step) & c->amask);
}

/* One iteration; *zf_out gets ZF for CMPS/SCAS. */
static int string_step(struct interp_cpu *cpu, const struct insn *in, const struct str_ctx *c)
{
    uint64_t si = cpu->gpr[GPR_RSI] & c->amask, di = cpu->gpr[GPR_RDI] & c->amask, a, b;
    int r;
    switch (in->opc & 0xfe) {
    case 0xa4:                                                  /* MOVS */
        if ((r = mem_read(cpu, in->seg, si, c->size, &a)) || (r = mem_write(cpu, SEG_ES, di, c->size, a)))
            return r;
        advance(cpu, c, GPR_RSI);
        advance(cpu, c, GPR_RDI);
        return X_NEXT;
    case 0xa6:                                                  /* CMPS */
        if ((r = mem_read(cpu, in->seg, si, c->size, &a)) || (r = mem_read(cpu, SEG_ES, di, c->size, &b)))
            return r;
        lazy_set(cpu, LF_SUB, c->size, a, b, a - b);
        advance(cpu, c, GPR_RSI);
        advance(cpu, c, GPR_RDI);
        return X_NEXT;
    case 0xaa:                                                  /* STOS */
        if ((r = mem_write(cpu, SEG_ES, di, c->size, cpu->gpr[GPR_RAX])))
            return r;
        advance(cpu, c, GPR_RDI);
        return X_NEXT;
    case 0xac:                                                  /* LODS */
        if ((r = mem_read(cpu, in->seg, si, c->size, &a)))
            return r;
        set_reg(cpu, GPR_RAX, c->size, a);
        advance(cpu, c, GPR_RSI);
        return X_NEXT;
    case 0xae:                                                  /* SCAS */
        if ((r = mem_read(cpu, SEG_ES, di, c->size, &b)))
            return r;
        a = cpu->gpr[GPR_RAX] & size_mask(c->size);
        lazy_set(cpu, LF_SUB, c->size, a, b, a - b);
        advance(cpu, c, GPR_RDI);
        return X_NEXT;
    case 0x6c:                                                  /* INS: the port is read after the write check */
        if ((r = mem_write(cpu, SEG_ES, di, c->size, 0)))
            return r;
        a = io_in(cpu, (uint16_t)cpu->gpr[GPR_RDX], c->size);
        if ((r = mem_write(cpu, SEG_ES, di, c->size, a)))
            return r;
        advance(cpu, c, GPR_RDI);
        return X_NEXT;
    default:                                                    /* OUTS */
        if ((r = mem_read(cpu, in->seg, si, c->size, &a)))
            return r;
        io_out(cpu, (uint16_t)cpu->gpr[GPR_RDX], c->size, (uint32_t)a);
        advance(cpu, c, GPR_RSI);
        return X_NEXT;
    }
}

/* Host pointer of n bytes at seg:ea when the TLB already maps them as RAM
 * for this kind of access inside one page and the segment allows them all;
 * NULL sends the caller to the element-by-element path, which faults,
 * fills the TLB, handles MMIO and code pages exactly. */
static uint8_t *run_host(struct interp_cpu *cpu, unsigned seg, uint64_t ea, uint64_t n, bool write)
{
    const struct seg_cache *s = &cpu->seg[seg];
    if (ea < s->lo || ea + n - 1 > s->hi || !(write ? s->wr : s->rd))
        return NULL;
    uint64_t lin = (s->base + ea) & cpu->lin_mask;
    if ((lin & 0xfff) + n > 4096)
        return NULL;
    const struct tlb_entry *e = &cpu->tlb[(lin >> 12) & (TLB_SIZE - 1)];
    if ((write ? e->tag_write : e->tag_read) != (lin & ~UINT64_C(0xfff)))
        return NULL;
    return (uint8_t *)(lin + e->addend);
}

/* Elements of a forward REP MOVS/STOS that can run at once: up to the end
 * of the first page either operand leaves, without address-size wrap. */
static uint64_t run_length(uint64_t cnt, const struct str_ctx *c, uint64_t di, uint64_t si, bool movs)
{
    uint64_t k = (c->amask - di) / c->size + 1;       /* elements before RDI wraps */
    if (movs && (c->amask - si) / c->size + 1 < k)
        k = (c->amask - si) / c->size + 1;
    if (cnt < k)
        k = cnt;
    return k < STRING_CHUNK ? k : STRING_CHUNK;
}

/* REP MOVS / REP STOS forward over RAM the TLB maps: whole runs with
 * memmove/memset instead of one element at a time.  Returns elements done
 * (0: take one ordinary step). */
static uint64_t string_run(struct interp_cpu *cpu, const struct insn *in, const struct str_ctx *c, uint64_t cnt)
{
    bool movs = (in->opc & 0xfe) == 0xa4;
    uint64_t di = cpu->gpr[GPR_RDI] & c->amask, si = cpu->gpr[GPR_RSI] & c->amask;
    uint64_t k = run_length(cnt, c, di, si, movs);
    if (k == 0)
        return 0;
    uint64_t bytes = k * c->size;
    uint64_t dpage = 4096 - ((cpu->seg[SEG_ES].base + di) & 0xfff);
    if (bytes > dpage)
        bytes = dpage - dpage % c->size;
    if (movs) {
        uint64_t spage = 4096 - ((cpu->seg[in->seg].base + si) & 0xfff);
        if (bytes > spage)
            bytes = spage - spage % c->size;
    }
    if (bytes == 0)
        return 0;
    uint8_t *d = run_host(cpu, SEG_ES, di, bytes, true);
    const uint8_t *src = movs ? run_host(cpu, in->seg, si, bytes, false) : NULL;
    if (!d || (movs && !src))
        return 0;
    k = bytes / c->size;
    if (!movs && c->size == 1) {
        memset(d, (int)(cpu->gpr[GPR_RAX] & 0xff), bytes);
    } else if (!movs) {
        for (uint64_t i = 0; i < k; i++)
            store_le(d + i * c->size, c->size, cpu->gpr[GPR_RAX]);
    } else if (d <= src || d >= src + bytes) {
        memmove(d, src, bytes);             /* forward copy order cannot matter here */
    } else {
        for (uint64_t i = 0; i < k; i++)      /* overlapping forward copy: repeats, as element steps do */
            memmove(d + i * c->size, src + i * c->size, c->size);
    }
    set_reg(cpu, GPR_RDI, c->asz, (di + bytes) & c->amask);
    if (movs)
        set_reg(cpu, GPR_RSI, c->asz, (si + bytes) & c->amask);
    return k;
}

int op_string(struct interp_cpu *cpu, const struct insn *in)
{
    struct str_ctx c;
    c.size = in->osz;
    if ((in->opc & 0xfc) == 0x6c) {
        if (c.size == 8)
            c.size = 4;
        int r = io_check(cpu, (uint16_t)cpu->gpr[GPR_RDX], c.size);
        if (r)
            return r;
    }
    c.asz = in->asz;
    c.amask = size_mask(in->asz);
    c.step = (cpu->st->rflags & RFLAGS_DF) ? -(int64_t)c.size : (int64_t)c.size;
    if (!in->rep)
        return string_step(cpu, in, &c);

    bool cmp = (in->opc & 0xfe) == 0xa6 || (in->opc & 0xfe) == 0xae;
    bool runs = c.step > 0 && ((in->opc & 0xfe) == 0xa4 || (in->opc & 0xfe) == 0xaa) && !(cpu->st->dr7 & 0xff);
    for (unsigned n = 0; n < STRING_CHUNK; n++) {
        uint64_t cnt = cpu->gpr[GPR_RCX] & c.amask;
        if (cnt == 0)
            return X_NEXT;
        uint64_t done = runs ? string_run(cpu, in, &c, cnt) : 0;
        if (done) {
            set_reg(cpu, GPR_RCX, c.asz, cnt - done);
            n += (unsigned)done - 1;
            continue;
        }
        int r = string_step(cpu, in, &c);
        if (r)
            return r;
        set_reg(cpu, GPR_RCX, c.asz, cnt - 1);
        if (cmp) {
            bool zf = ((cpu->lf.res) & size_mask(c.size)) == 0;
            if ((in->rep == 0xf3) != zf)
                return X_NEXT;
        }
        if (cpu->smc)
            break;
    }
    if ((cpu->gpr[GPR_RCX] & c.amask) == 0)
        return X_NEXT;
    set_next_rip(cpu, (insn_next_rip(cpu, in) - in->len) & cpu->ip_mask);   /* not done: restart this instruction */
    return X_END;
}
