/*
 * Specialised handlers for instructions that read a condition (Jcc, SETcc,
 * CMOVcc with register operands): the condition comes straight from the
 * lazy state of the CMP/SUB/TEST/logic instruction that almost always sets
 * it, without materialising a flag.  Other lazy states take cond_eval().
 * Semantics are those of the general handlers (the differential test runs
 * both).
 */
#include "handlers.h"
#include "jit.h"

/* cc as in the opcode's low nibble (O NO B AE Z NZ BE A S NS P NP L GE LE G). */
static ALWAYS_INLINE bool cond_now(const struct interp_cpu *cpu, unsigned cc)
{
    const struct lazy_flags *lf = &cpu->lf;
    bool r;
    if (lf->op == LF_SUB) {
        uint64_t m = size_mask(lf->size), d = lf->dst & m, s = lf->src & m;
        int64_t sd = sign_extend(d, lf->size), ss = sign_extend(s, lf->size);
        switch (cc >> 1) {
        case 1: r = d < s; break;
        case 2: r = d == s; break;
        case 3: r = d <= s; break;
        case 6: r = sd < ss; break;
        case 7: r = sd <= ss; break;
        default: return cond_eval(cpu, cc);
        }
        return r != (cc & 1);
    }
    if (lf->op == LF_LOGIC) {                     /* CF = OF = 0 */
        uint64_t res = lf->res & size_mask(lf->size);
        bool sf = (res & sign_bit(lf->size)) != 0;
        switch (cc >> 1) {
        case 0: case 1: r = false; break;
        case 2: case 3: r = res == 0; break;
        case 4: case 6: r = sf; break;
        case 7: r = res == 0 || sf; break;
        default: return cond_eval(cpu, cc);
        }
        return r != (cc & 1);
    }
    return cond_eval(cpu, cc);
}

static ALWAYS_INLINE bool zf_now(const struct interp_cpu *cpu)
{
    if (cpu->lf.op == LF_NONE)
        return cpu->st->rflags & RFLAGS_ZF;
    return (cpu->lf.res & size_mask(cpu->lf.size)) == 0;
}

/* A taken Jcc in 64-bit mode (canonical check) or flat 32-bit code (limit check). */
static ALWAYS_INLINE int jump_rel(struct interp_cpu *cpu, const struct insn *in)
{
    uint64_t t = insn_next_rip(cpu, in) + in->imm;
    if (cpu->long64) {
        if (unlikely((uint64_t)((int64_t)(t << 16) >> 16) != t))
            return raise_gp(cpu, 0);
    } else {
        t &= in->osz == 2 ? 0xffff : 0xffffffff;
        if (unlikely(t > cpu->st->seg[SEG_CS].limit))
            return raise_gp(cpu, 0);
    }
    set_next_rip(cpu, t);
    return X_NEXT;
}

static int jz(struct interp_cpu *cpu, const struct insn *in) { return zf_now(cpu) ? jump_rel(cpu, in) : X_NEXT; }
static int jnz(struct interp_cpu *cpu, const struct insn *in) { return zf_now(cpu) ? X_NEXT : jump_rel(cpu, in); }
static int jcc(struct interp_cpu *cpu, const struct insn *in)
{
    return cond_now(cpu, in->opc & 15) ? jump_rel(cpu, in) : X_NEXT;
}

static int setcc_reg(struct interp_cpu *cpu, const struct insn *in)
{
    set_reg8(cpu, in->rm8, cond_now(cpu, in->opc & 15));
    return X_NEXT;
}

/* A 32-bit CMOV zero-extends its destination even when it does not move. */
static int cmov_rr4(struct interp_cpu *cpu, const struct insn *in)
{
    unsigned src = cond_now(cpu, in->opc & 15) ? in->rm : in->reg;
    cpu->gpr[in->reg] = (uint32_t)cpu->gpr[src];
    return X_NEXT;
}

static int cmov_rr8(struct interp_cpu *cpu, const struct insn *in)
{
    if (cond_now(cpu, in->opc & 15))
        cpu->gpr[in->reg] = cpu->gpr[in->rm];
    return X_NEXT;
}

bool insn_specialize_cond(struct insn *in)
{
    if (in->fn == op_jcc) {
        in->fn = (in->opc & 0xe) != 4 ? jcc : (in->opc & 1) ? jnz : jz;
        return true;
    }
    if (in->fn == op_setcc && in->mod3) {
        in->fn = setcc_reg;
        return true;
    }
    if (in->fn == op_cmov && in->mod3 && (in->osz == 4 || in->osz == 8)) {
        in->fn = in->osz == 8 ? cmov_rr8 : cmov_rr4;
        return true;
    }
    return false;
}

/* Described for the block compiler (jit.h): op is the condition code. */
bool fastpath_cond_jit_desc(const struct insn *in, struct jit_desc *d)
{
    if (in->fn == jz || in->fn == jnz || in->fn == jcc)
        *d = (struct jit_desc){ .kind = JK_JCC, .op = in->opc & 15, .size = 8 };
    else if (in->fn == setcc_reg)
        *d = (struct jit_desc){ .kind = JK_SETCC, .op = in->opc & 15, .size = 1, .dst = in->rm8 };
    else if (in->fn == cmov_rr4 || in->fn == cmov_rr8)
        *d = (struct jit_desc){ .kind = JK_CMOV, .op = in->opc & 15, .size = in->fn == cmov_rr8 ? 8 : 4,
                                .dst = in->reg, .src = in->rm };
    else
        return false;
    return true;
}
