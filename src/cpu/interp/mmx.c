/*
 * MMX (the no-prefix forms of 0F 60-7F, C4, C5, D1-FE and 0F 77 EMMS,
 * including the SSE-era integer forms PSHUFW, PINSRW, PEXTRW, PMOVMSKB,
 * PMINUB/PMAXUB, PMINSW/PMAXSW, PAVGB/W, PMULHUW, PSADBW, PMULUDQ,
 * PADDQ/PSUBQ, MOVNTQ, MASKMOVQ).  MM0-MM7 are the mantissas of the x87
 * physical registers: every MMX instruction sets TOP to 0 and every tag
 * valid (so MMi is the slot of ST(i) in the FXSAVE image), a write sets
 * the register's sign/exponent to all ones; EMMS sets TOP to 0 and empties
 * every tag.
 *
 * The two-operand arithmetic runs on the host's own MMX unit: the operands
 * are loaded into host MM0 (destination) and MM1 (source; or [rdi] for a
 * memory source), a stub executes the same opcode, and EMMS leaves the
 * host FPU empty again.  Shifts by an immediate run as the shift by an MM1
 * count (same semantics).  Moves to and from GPRs, shuffles and inserts are
 * done here in C.
 *
 * With a 66, F2 or F3 prefix these opcodes are SSE instructions (sse.c).
 */
#include "handlers.h"
#include "sse.h"
#include "x87.h"

__asm__(".pushsection .text.petrel_mmx_stubs,\"ax\",@progbits\n"
        ".p2align 4\n"
        ".globl petrel_mmx_stubs\n"
        ".hidden petrel_mmx_stubs\n"
        "petrel_mmx_stubs:\n"
        ".set .Lmmx_op, 0\n"
        ".rept 256\n"
        ".byte 0xf3, 0x0f, 0x1e, 0xfa, 0x0f, .Lmmx_op, 0xc1, 0xc3\n"   /* op mm0, mm1 */
        ".byte 0xf3, 0x0f, 0x1e, 0xfa, 0x0f, .Lmmx_op, 0x07, 0xc3\n"   /* op mm0, [rdi] */
        ".set .Lmmx_op, .Lmmx_op + 1\n"
        ".endr\n"
        ".popsection\n");

extern const uint8_t petrel_mmx_stubs[];

/* Runs 0F op with MM0 = v[0], MM1 = v[1] (or [mem]); v receives both back. */
static void mmx_host(unsigned op, void *mem, uint64_t v[2])
{
    const uint8_t *stub = petrel_mmx_stubs + (size_t)(op & 0xffu) * 16u + (mem ? 8u : 0u);
    __asm__ volatile("sub $128, %%rsp\n\t"
                     "movq (%[v]), %%mm0\n\t"
                     "movq 8(%[v]), %%mm1\n\t"
                     "call *%[stub]\n\t"
                     "movq %%mm0, (%[v])\n\t"
                     "movq %%mm1, 8(%[v])\n\t"
                     "emms\n\t"
                     "add $128, %%rsp"
                     :
                     : [v] "r"(v), [stub] "r"(stub), "D"(mem)
                     : "memory", "cc", "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", "st(7)",
                       "mm0", "mm1", "mm2", "mm3", "mm4", "mm5", "mm6", "mm7");
}

/* MMi is physical register i, kept in the image at its stack slot (the
 * state moves to TOP = 0 only once the instruction has succeeded). */
static uint8_t *mm_reg(const struct interp_cpu *cpu, unsigned i)
{
    unsigned top = (x87_get(cpu, X87_FSW) >> 11) & 7u;
    return cpu->st->xsave + X87_REGS + (size_t)16 * ((i - top) & 7u);
}

uint64_t mmx_reg_get(const struct interp_cpu *cpu, unsigned i)
{
    return load_le(mm_reg(cpu, i), 8);
}

void mmx_reg_set(struct interp_cpu *cpu, unsigned i, uint64_t v)
{
    uint8_t *r = mm_reg(cpu, i);
    store_le(r, 8, v);
    store_le(r + 8, 2, 0xffff);
}


/* #UD (EM, or an SSE prefix), #NM (TS), #MF (pending x87 exception). */
static int mmx_check(struct interp_cpu *cpu, const struct insn *in)
{
    /* A 66 prefix (no MMX form) shows as the operand size it toggles to. */
    bool p66 = cpu->mode == MODE_16 ? in->osz == 4 : in->osz == 2;
    if ((cpu->st->cr0 & CR0_EM) || in->rep || p66)
        return raise_ud(cpu);
    if (cpu->st->cr0 & CR0_TS)
        return raise_exc(cpu, EXC_NM, false, 0);
    x87_live_flush(cpu);                                 /* MMn are the x87 registers */
    return x87_pending(cpu);
}

/* After a successful MMX instruction: TOP = 0, every tag valid. */
void mmx_enter(struct interp_cpu *cpu)
{
    x87_set_fsw(cpu, x87_get(cpu, X87_FSW) & (uint16_t)~FSW_TOP);
    cpu->st->xsave[X87_FTW] = 0xff;
}

static int mmx_done(struct interp_cpu *cpu, int r)
{
    if (r)
        return r;
    mmx_enter(cpu);
    return X_NEXT;
}

static int op_rm_get_mm(struct interp_cpu *cpu, const struct insn *in, uint64_t *v)
{
    if (in->mod3) {
        *v = mmx_reg_get(cpu, in->rm);
        return X_NEXT;
    }
    return mem_read(cpu, in->seg, insn_ea(cpu, in), 8, v);
}

/* Host-computed two-operand forms: opcodes whose source is mm/m64. */
static bool host_form(unsigned op)
{
    return (op >= 0x60 && op <= 0x6b) || op == 0x6f || (op >= 0x74 && op <= 0x76) || op == 0x7f ||
           (op >= 0xd1 && op <= 0xd5) || (op >= 0xd8 && op <= 0xe5) || op == 0xe7 ||
           (op >= 0xe8 && op <= 0xef) || (op >= 0xf1 && op <= 0xf6) || (op >= 0xf8 && op <= 0xfe);
}

static int mmx_arith(struct interp_cpu *cpu, const struct insn *in, unsigned op)
{
    uint64_t v[2] = { mmx_reg_get(cpu, in->ext), 0 }, m = 0, ea = 0;
    bool store = op == 0x7f || op == 0xe7;
    if (op == 0xe7 && in->mod3)
        return raise_ud(cpu);
    if (in->mod3) {
        v[1] = mmx_reg_get(cpu, in->rm);
    } else {
        ea = insn_ea(cpu, in);
        if (!store) {
            int r = mem_read(cpu, in->seg, ea, 8, &m);
            if (r)
                return r;
        }
    }
    uint8_t buf[8];
    store_le(buf, 8, m);
    mmx_host(op, in->mod3 ? NULL : buf, v);
    if (!store) {
        mmx_reg_set(cpu, in->ext, v[0]);
        return X_NEXT;
    }
    if (!in->mod3)
        return mem_write(cpu, in->seg, ea, 8, load_le(buf, 8));
    mmx_reg_set(cpu, in->rm, v[1]);                      /* 0F 7F with a register: MOVQ mm2, mm1 */
    return X_NEXT;
}

/* 0F 71/72/73: shift by imm8 (/2 logical right, /4 arithmetic right, /6 left). */
static int mmx_shift_imm(struct interp_cpu *cpu, const struct insn *in, unsigned op)
{
    static const uint8_t right[3] = { 0xd1, 0xd2, 0xd3 }, arith[3] = { 0xe1, 0xe2, 0 },
                         left[3] = { 0xf1, 0xf2, 0xf3 };
    unsigned k = op - 0x71, host = 0;
    if (in->mod3) {
        host = in->ext == 2 ? right[k] : in->ext == 4 ? arith[k] : in->ext == 6 ? left[k] : 0;
    }
    if (!host)
        return raise_ud(cpu);
    uint64_t v[2] = { mmx_reg_get(cpu, in->rm), in->imm & 0xff };
    mmx_host(host, NULL, v);
    mmx_reg_set(cpu, in->rm, v[0]);
    return X_NEXT;
}

/* MASKMOVQ mm1, mm2: bytes of mm1 whose mm2 byte has its top bit set go to [rDI]. */
static int mmx_maskmovq(struct interp_cpu *cpu, const struct insn *in)
{
    if (!in->mod3)
        return raise_ud(cpu);
    uint64_t data = mmx_reg_get(cpu, in->ext), mask = mmx_reg_get(cpu, in->rm);
    uint64_t base = cpu->gpr[GPR_RDI];
    for (unsigned i = 0; i < 8; i++) {
        if (!((mask >> (8 * i + 7)) & 1))
            continue;
        int r = mem_write(cpu, in->seg, (base + i) & insn_amask(in), 1, (data >> (8 * i)) & 0xff);
        if (r)
            return r;
    }
    return X_NEXT;
}

static uint64_t pshufw(uint64_t src, unsigned imm)
{
    uint64_t d = 0;
    for (unsigned i = 0; i < 4; i++)
        d |= ((src >> (16 * ((imm >> (2 * i)) & 3))) & 0xffff) << (16 * i);
    return d;
}

static unsigned pmovmskb(uint64_t v)
{
    unsigned m = 0;
    for (unsigned i = 0; i < 8; i++)
        m |= (unsigned)((v >> (8 * i + 7)) & 1) << i;
    return m;
}

/* The forms with a GPR or an immediate. */
static int mmx_misc(struct interp_cpu *cpu, const struct insn *in, unsigned op)
{
    bool w = in->rex & 8;
    uint64_t v;
    int r;
    switch (op) {
    case 0x6e:                                                     /* MOVD/MOVQ mm, r/m */
        r = op_rm_get(cpu, in, w ? 8 : 4, &v, false);
        if (!r)
            mmx_reg_set(cpu, in->ext, v);
        return r;
    case 0x7e:                                                     /* MOVD/MOVQ r/m, mm */
        v = mmx_reg_get(cpu, in->ext);
        return op_rm_set(cpu, in, w ? 8 : 4, w ? v : (uint32_t)v);
    case 0x70:                                                     /* PSHUFW mm, mm/m64, imm8 */
        r = op_rm_get_mm(cpu, in, &v);
        if (!r)
            mmx_reg_set(cpu, in->ext, pshufw(v, (unsigned)in->imm));
        return r;
    case 0xc4: {                                                   /* PINSRW mm, r32/m16, imm8 */
        r = op_rm_get(cpu, in, 2, &v, false);
        if (r)
            return r;
        unsigned sh = 16 * ((unsigned)in->imm & 3);
        mmx_reg_set(cpu, in->ext, (mmx_reg_get(cpu, in->ext) & ~(UINT64_C(0xffff) << sh)) | (v & 0xffff) << sh);
        return X_NEXT;
    }
    case 0xc5:                                                     /* PEXTRW r32, mm, imm8 */
        if (!in->mod3)
            return raise_ud(cpu);
        set_reg(cpu, in->reg, 4, (mmx_reg_get(cpu, in->rm) >> (16 * (in->imm & 3))) & 0xffff);
        return X_NEXT;
    case 0xd7:                                                     /* PMOVMSKB r32, mm */
        if (!in->mod3)
            return raise_ud(cpu);
        set_reg(cpu, in->reg, 4, pmovmskb(mmx_reg_get(cpu, in->rm)));
        return X_NEXT;
    default:
        return mmx_maskmovq(cpu, in);                              /* F7 */
    }
}

int op_mmx(struct interp_cpu *cpu, const struct insn *in)
{
    unsigned op = in->opc & 0xffu;
    bool known = host_form(op) || (op >= 0x70 && op <= 0x73) || op == 0x6e || op == 0x7e || op == 0xc4 ||
                 op == 0xc5 || op == 0xd7 || op == 0xf7;
    if (!known)
        return raise_ud(cpu);
    int r = mmx_check(cpu, in);
    if (r)
        return r;
    if (host_form(op))
        return mmx_done(cpu, mmx_arith(cpu, in, op));
    if (op >= 0x71 && op <= 0x73)
        return mmx_done(cpu, mmx_shift_imm(cpu, in, op));
    return mmx_done(cpu, mmx_misc(cpu, in, op));
}

/* 0F 77 EMMS: TOP = 0 and every tag empty (SDM vol. 1 table 9-3). */
int op_emms(struct interp_cpu *cpu, const struct insn *in)
{
    int r = mmx_done(cpu, mmx_check(cpu, in));
    if (!r)
        cpu->st->xsave[X87_FTW] = 0;
    return r;
}
