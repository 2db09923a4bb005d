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
    for (unsigned n = 0; n < STRING_CHUNK; n++) {
        uint64_t cnt = cpu->gpr[GPR_RCX] & c.amask;
        if (cnt == 0)
            return X_NEXT;
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
    cpu->next_rip = (cpu->next_rip - in->len) & cpu->ip_mask;   /* not done: restart this instruction */
    return X_END;
}
