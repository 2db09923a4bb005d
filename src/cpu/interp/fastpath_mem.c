/*
 * MOV loads and stores of 32/64-bit registers specialised by the shape of
 * their address, chosen once at decode time: [base+disp], [base+index*s+disp]
 * and [rip+disp] with 64-bit addresses, the first two with 32-bit ones.
 * They skip insn_ea's tests of absent registers and its address-size mask,
 * and with 64-bit addresses (64-bit mode only) the segment check too: there
 * segments have no limits or types and only FS/GS add a base.  Semantics
 * are those of the general path (interp_internal.h's mem_read/mem_write).
 */
#include "handlers.h"
#include "jit.h"

enum ea_form { EA_BD, EA_BISD, EA_RIP };

static ALWAYS_INLINE uint64_t ea_of(const struct interp_cpu *cpu, const struct insn *in, enum ea_form form)
{
    uint64_t d = (uint64_t)(int64_t)in->disp;
    switch (form) {
    case EA_BD:   return cpu->gpr[in->base] + d;
    case EA_BISD: return cpu->gpr[in->base] + (cpu->gpr[in->index] << in->scale) + d;
    default:      return insn_next_rip(cpu, in) + d;
    }
}

/* 64-bit addresses: the linear address as seg_linear computes it there. */
static ALWAYS_INLINE uint64_t lin64(const struct interp_cpu *cpu, const struct insn *in, enum ea_form form)
{
    return cpu->seg[in->seg].base + ea_of(cpu, in, form);
}

#define MEM64(form, tag, size) \
    static int load##size##_##tag##64(struct interp_cpu *cpu, const struct insn *in) \
    { \
        uint64_t v; \
        int r = lin_read(cpu, lin64(cpu, in, form), size, &v, ACC_READ); \
        if (likely(!r)) \
            cpu->gpr[in->reg] = v; \
        return r; \
    } \
    static int store##size##_##tag##64(struct interp_cpu *cpu, const struct insn *in) \
    { return lin_write(cpu, lin64(cpu, in, form), size, cpu->gpr[in->reg]); }

#define MEM32(form, tag, size) \
    static int load##size##_##tag##32(struct interp_cpu *cpu, const struct insn *in) \
    { \
        uint64_t v; \
        int r = mem_read(cpu, in->seg, (uint32_t)ea_of(cpu, in, form), size, &v); \
        if (likely(!r)) \
            cpu->gpr[in->reg] = v; \
        return r; \
    } \
    static int store##size##_##tag##32(struct interp_cpu *cpu, const struct insn *in) \
    { return mem_write(cpu, in->seg, (uint32_t)ea_of(cpu, in, form), size, cpu->gpr[in->reg]); }

MEM64(EA_BD, bd, 4) MEM64(EA_BD, bd, 8) MEM64(EA_BISD, bisd, 4) MEM64(EA_BISD, bisd, 8)
MEM64(EA_RIP, rip, 4) MEM64(EA_RIP, rip, 8)
MEM32(EA_BD, bd, 4) MEM32(EA_BD, bd, 8) MEM32(EA_BISD, bisd, 4) MEM32(EA_BISD, bisd, 8)

/* [store][size 4/8][form] */
static const insn_fn mem64[2][2][3] = {
    { { load4_bd64, load4_bisd64, load4_rip64 }, { load8_bd64, load8_bisd64, load8_rip64 } },
    { { store4_bd64, store4_bisd64, store4_rip64 }, { store8_bd64, store8_bisd64, store8_rip64 } },
};
static const insn_fn mem32[2][2][2] = {
    { { load4_bd32, load4_bisd32 }, { load8_bd32, load8_bisd32 } },
    { { store4_bd32, store4_bisd32 }, { store8_bd32, store8_bisd32 } },
};

/* The handler for MOV r,[mem] (store: MOV [mem],r) of a 4- or 8-byte
 * register, or NULL when the address has no specialised shape. */
insn_fn mem_move_handler(const struct insn *in, bool store)
{
    unsigned s = in->osz == 8;
    if (in->rip_rel)
        return in->asz == 8 && in->base == REG_NONE && in->index == REG_NONE ? mem64[store][s][EA_RIP] : NULL;
    if (in->base == REG_NONE)
        return NULL;
    enum ea_form form = in->index == REG_NONE ? EA_BD : EA_BISD;
    if (in->asz == 8)
        return mem64[store][s][form];
    return in->asz == 4 ? mem32[store][s][form] : NULL;
}

/* Described for the block compiler (jit.h): the 64-bit address forms. */
bool fastpath_mem_jit_desc(const struct insn *in, struct jit_desc *d)
{
    for (unsigned store = 0; store < 2; store++)
        for (unsigned s = 0; s < 2; s++)
            for (unsigned form = 0; form < 3; form++)
                if (mem64[store][s][form] == in->fn) {
                    *d = (struct jit_desc){ .kind = store ? JK_STORE : JK_LOAD, .size = s ? 8 : 4, .dst = in->reg };
                    return true;
                }
    return false;
}
