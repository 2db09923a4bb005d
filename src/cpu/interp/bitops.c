/*
 * Bit instructions: BT/BTS/BTR/BTC, BSF/BSR, TZCNT/LZCNT/POPCNT (F3 forms),
 * BSWAP.  Undefined flags: BT* leave everything but CF; BSF/BSR set only ZF;
 * TZCNT/LZCNT set CF and ZF (others left).
 */
#include "interp_internal.h"

/* BT family on r/m with bit offset `off`; op 0 BT, 1 BTS, 2 BTR, 3 BTC. */
static int bt_common(struct interp_cpu *cpu, const struct insn *in, unsigned op, uint64_t off, bool reg_off)
{
    unsigned size = in->osz, bits = size * 8;
    uint64_t v;
    int r;
    if (in->mod3) {
        v = cpu->gpr[in->rm] & size_mask(size);
    } else {
        uint64_t ea = insn_ea(cpu, in);
        if (reg_off) {      /* register offsets address beyond the operand (signed) */
            int64_t so = sign_extend(off, size);
            ea = (ea + (uint64_t)((so >> (size == 8 ? 6 : size == 4 ? 5 : 4)) * (int64_t)size)) & size_mask(in->asz);
        }
        unsigned bit = off & (bits - 1);
        if (op && unlikely(in->lock)) {     /* BTS/BTR/BTC as OR/AND/XOR with the bit mask */
            static const uint8_t kinds[4] = { 0, RMW_OR, RMW_AND, RMW_XOR };
            uint64_t mask = UINT64_C(1) << bit;
            struct rmw_op o = { .kind = kinds[op], .size = (uint8_t)size, .src = op == 2 ? ~mask : mask };
            if ((r = rmw_locked(cpu, in->seg, ea, &o, &v)))
                return r;
            flags_set_arith(cpu, RFLAGS_CF, ((v >> bit) & 1) ? RFLAGS_CF : 0);
            return X_NEXT;
        }
        r = op ? mem_read_rmw(cpu, in->seg, ea, size, &v) : mem_read(cpu, in->seg, ea, size, &v);
        if (r)
            return r;
        bool cf = (v >> bit) & 1;
        if (op) {
            uint64_t nv = op == 1 ? v | (UINT64_C(1) << bit) : op == 2 ? v & ~(UINT64_C(1) << bit) : v ^ (UINT64_C(1) << bit);
            if ((r = mem_write(cpu, in->seg, ea, size, nv)))
                return r;
        }
        flags_set_arith(cpu, RFLAGS_CF, cf ? RFLAGS_CF : 0);
        return X_NEXT;
    }
    unsigned bit = off & (bits - 1);
    bool cf = (v >> bit) & 1;
    if (op) {
        uint64_t nv = op == 1 ? v | (UINT64_C(1) << bit) : op == 2 ? v & ~(UINT64_C(1) << bit) : v ^ (UINT64_C(1) << bit);
        set_reg(cpu, in->rm, size, nv);
    }
    flags_set_arith(cpu, RFLAGS_CF, cf ? RFLAGS_CF : 0);
    return X_NEXT;
}

/* BT/BTS/BTR/BTC Ev,Gv (0F A3 AB B3 BB). */
int op_bt_r(struct interp_cpu *cpu, const struct insn *in)
{
    static const uint8_t op_of[4] = { 0, 1, 2, 3 };   /* A3 AB B3 BB by bits 3-4 */
    unsigned op = op_of[((in->opc >> 3) & 3)];
    return bt_common(cpu, in, op, cpu->gpr[in->reg], true);
}

/* Group 8: BT/BTS/BTR/BTC Ev,Ib (0F BA /4-/7). */
int op_bt_imm(struct interp_cpu *cpu, const struct insn *in)
{
    return bt_common(cpu, in, in->ext - 4u, in->imm & 0xff, false);
}

/* BSF/TZCNT (0F BC) and BSR/LZCNT (0F BD). */
int op_bsf_bsr(struct interp_cpu *cpu, const struct insn *in)
{
    unsigned size = in->osz, bits = size * 8;
    bool reverse = in->opc == 0x1bd;
    uint64_t s;
    int r = op_rm_get(cpu, in, size, &s, false);
    if (r)
        return r;
    if (in->rep == 0xf3) {                            /* TZCNT / LZCNT */
        unsigned n;
        if (s == 0)
            n = bits;
        else
            n = reverse ? (unsigned)__builtin_clzll(s) - (64 - bits) : (unsigned)__builtin_ctzll(s);
        set_reg(cpu, in->reg, size, n);
        flags_set_arith(cpu, RFLAGS_CF | RFLAGS_ZF, (s == 0 ? RFLAGS_CF : 0) | (n == 0 ? RFLAGS_ZF : 0));
        return X_NEXT;
    }
    if (s == 0) {                                     /* destination unchanged */
        flags_set_arith(cpu, RFLAGS_ZF, RFLAGS_ZF);
        return X_NEXT;
    }
    unsigned n = reverse ? 63u - (unsigned)__builtin_clzll(s) : (unsigned)__builtin_ctzll(s);
    set_reg(cpu, in->reg, size, n);
    flags_set_arith(cpu, RFLAGS_ZF, 0);
    return X_NEXT;
}

/* POPCNT (F3 0F B8); without F3 this is JMPE: #UD. */
int op_popcnt(struct interp_cpu *cpu, const struct insn *in)
{
    if (in->rep != 0xf3)
        return raise_ud(cpu);
    uint64_t s;
    int r = op_rm_get(cpu, in, in->osz, &s, false);
    if (r)
        return r;
    set_reg(cpu, in->reg, in->osz, (uint64_t)__builtin_popcountll(s));
    flags_set_arith(cpu, FLAGS_ARITH, s == 0 ? RFLAGS_ZF : 0);
    return X_NEXT;
}

/* BSWAP r (0F C8-CF); the 16-bit form is undefined and yields 0 on hardware. */
int op_bswap(struct interp_cpu *cpu, const struct insn *in)
{
    uint64_t v = cpu->gpr[in->reg];
    if (in->osz == 8)
        cpu->gpr[in->reg] = __builtin_bswap64(v);
    else if (in->osz == 4)
        cpu->gpr[in->reg] = __builtin_bswap32((uint32_t)v);
    else
        set_reg(cpu, in->reg, 2, 0);
    return X_NEXT;
}
