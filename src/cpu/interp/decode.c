/*
 * The instruction decoder: prefixes, REX, opcode maps, ModRM/SIB/displacement
 * and immediates into a struct insn whose handler and operands are final, so
 * that executing a cached instruction does no decoding work at all.
 */
#include "handlers.h"
#include "sse.h"

#define MAX_INSN_LEN 15

struct dstate {
    const uint8_t *b;
    unsigned avail, pos;
};

/* Makes sure n more bytes are there. */
static int need(const struct dstate *d, unsigned n)
{
    if (d->pos + n > MAX_INSN_LEN)
        return DEC_TOO_LONG;
    if (d->pos + n > d->avail)
        return DEC_MORE;
    return DEC_OK;
}

static uint64_t take(struct dstate *d, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)d->b[d->pos + i] << (8 * i);
    d->pos += n;
    return v;
}

static uint8_t byte_reg(unsigned r, uint8_t rex)
{
    return (uint8_t)((rex || r < 4 || r > 7) ? r : 16 + (r - 4));
}

/* 16-bit addressing: base/index pairs of ModRM.rm. */
static const uint8_t rm16_base[8]  = { GPR_RBX, GPR_RBX, GPR_RBP, GPR_RBP, REG_NONE, REG_NONE, GPR_RBP, GPR_RBX };
static const uint8_t rm16_index[8] = { GPR_RSI, GPR_RDI, GPR_RSI, GPR_RDI, GPR_RSI, GPR_RDI, REG_NONE, REG_NONE };

static int decode_modrm16(struct dstate *d, struct insn *in, unsigned mod, unsigned rm)
{
    int r;
    in->base = rm16_base[rm];
    in->index = rm16_index[rm];
    if (rm == 4 || rm == 5) {          /* SI / DI alone */
        in->base = in->index;
        in->index = REG_NONE;
    }
    if (mod == 0 && rm == 6) {
        in->base = REG_NONE;
        if ((r = need(d, 2)))
            return r;
        in->disp = (int16_t)take(d, 2);
    } else if (mod == 1) {
        if ((r = need(d, 1)))
            return r;
        in->disp = (int32_t)(int8_t)take(d, 1);   /* sign-extend disp8 */
    } else if (mod == 2) {
        if ((r = need(d, 2)))
            return r;
        in->disp = (int16_t)take(d, 2);
    }
    in->seg = in->base == GPR_RBP ? SEG_SS : SEG_DS;
    return DEC_OK;
}

static int decode_modrm32(struct dstate *d, struct insn *in, enum code_mode mode,
                          unsigned mod, unsigned rm, uint8_t rex)
{
    int r;
    in->index = REG_NONE;
    if (rm == 4) {
        if ((r = need(d, 1)))
            return r;
        uint8_t sib = (uint8_t)take(d, 1);
        unsigned idx = ((sib >> 3) & 7) | ((rex & 2u) << 2);
        in->scale = sib >> 6;
        in->index = idx == 4 ? REG_NONE : (uint8_t)idx;
        in->base = (uint8_t)((sib & 7) | ((rex & 1u) << 3));
        if ((sib & 7) == 5 && mod == 0) {
            in->base = REG_NONE;
            mod = 2;                    /* disp32 follows */
        }
    } else if (rm == 5 && mod == 0) {
        in->base = REG_NONE;
        in->rip_rel = mode == MODE_64;
        mod = 2;
    } else {
        in->base = (uint8_t)(rm | ((rex & 1u) << 3));
    }
    if (mod == 1) {
        if ((r = need(d, 1)))
            return r;
        in->disp = (int32_t)(int8_t)take(d, 1);   /* sign-extend disp8 */
    } else if (mod == 2) {
        if ((r = need(d, 4)))
            return r;
        in->disp = (int32_t)take(d, 4);
    }
    in->seg = (in->base == GPR_RSP || in->base == GPR_RBP) ? SEG_SS : SEG_DS;
    return DEC_OK;
}

static int decode_modrm(struct dstate *d, struct insn *in, enum code_mode mode, uint8_t rex,
                        bool always_reg)
{
    int r;
    if ((r = need(d, 1)))
        return r;
    uint8_t m = (uint8_t)take(d, 1);
    unsigned mod = always_reg ? 3 : m >> 6, reg = (m >> 3) & 7, rm = m & 7;
    in->ext = (uint8_t)reg;
    in->reg = (uint8_t)(reg | ((rex & 4u) << 1));
    in->reg8 = byte_reg(in->reg, rex);
    if (mod == 3) {
        in->mod3 = 1;
        in->rm = (uint8_t)(rm | ((rex & 1u) << 3));
        in->rm8 = byte_reg(in->rm, rex);
        return DEC_OK;
    }
    if (in->asz == 2)
        return decode_modrm16(d, in, mod, rm);
    return decode_modrm32(d, in, mode, mod, rm, rex);
}

static unsigned imm_bytes(uint32_t f, const struct insn *in)
{
    if (f & F_IMM8)
        return 1;
    if (f & F_IMMZ)
        return in->osz == 2 ? 2 : 4;
    if (f & F_IMMV)
        return in->osz;
    if (f & F_IMM16)
        return 2;
    return 0;
}

static int decode_imm(struct dstate *d, struct insn *in, uint32_t f)
{
    int r;
    unsigned n = imm_bytes(f, in);
    if (f & F_MOFFS)
        n = in->asz;
    if (f & F_FAR)
        n = in->osz == 2 ? 2 : 4;
    if (f & F_ENTER)
        n = 2;
    if (n) {
        if ((r = need(d, n)))
            return r;
        uint64_t v = take(d, n);
        if ((f & F_IMMZ) || (f & F_SX) || ((f & F_IMMV) && n < 8))
            v = (uint64_t)sign_extend(v, n);
        in->imm = v;
    }
    if (f & (F_FAR | F_ENTER)) {
        unsigned n2 = (f & F_FAR) ? 2 : 1;
        if ((r = need(d, n2)))
            return r;
        in->imm2 = (uint16_t)take(d, n2);
    }
    return DEC_OK;
}

static unsigned operand_size(enum code_mode mode, uint32_t f, bool opsize, uint8_t rex)
{
    if (f & F_BYTE)
        return 1;
    if (mode == MODE_64) {
        if (f & F_FORCE64)
            return 8;
        if (rex & 8u)
            return 8;
        if (opsize)
            return 2;
        return (f & F_DEF64) ? 8 : 4;
    }
    return (mode == MODE_32) != opsize ? 4 : 2;
}

static unsigned address_size(enum code_mode mode, bool adsize)
{
    if (mode == MODE_64)
        return adsize ? 4 : 8;
    return (mode == MODE_32) != adsize ? 4 : 2;
}

/* Legacy prefixes and REX; leaves d->pos at the opcode. */
static int decode_prefixes(struct dstate *d, struct insn *in, enum code_mode mode,
                           bool *opsize, bool *adsize, int *seg, uint8_t *rex)
{
    int r;
    for (;;) {
        if ((r = need(d, 1)))
            return r;
        uint8_t c = d->b[d->pos];
        switch (c) {
        case 0x66: *opsize = true; break;
        case 0x67: *adsize = true; break;
        case 0xf2: case 0xf3: in->rep = c; break;
        case 0xf0: in->lock = 1; break;
        case 0x26: *seg = SEG_ES; break;
        case 0x2e: *seg = SEG_CS; break;
        case 0x36: *seg = SEG_SS; break;
        case 0x3e: *seg = SEG_DS; break;
        case 0x64: *seg = SEG_FS; break;
        case 0x65: *seg = SEG_GS; break;
        default:
            if (mode == MODE_64 && (c & 0xf0) == 0x40) {
                *rex = c;              /* only effective right before the opcode */
                d->pos++;
                continue;
            }
            return DEC_OK;
        }
        *rex = 0;
        d->pos++;
    }
}

/* The two- and three-byte maps: SSE opcodes by mandatory prefix (F3/F2,
 * the last one wins, else 66), then the prefix-less 0F map (MMX and the
 * integer instructions, where 66/F2/F3 keep their ordinary meanings). */
static const struct opinfo *lookup_0f(struct dstate *d, struct insn *in, bool opsize, struct opinfo *tmp,
                                      int *status)
{
    static const struct opinfo none = { 0, 0, 0 };
    if ((*status = need(d, 1)))
        return NULL;
    uint8_t c = (uint8_t)take(d, 1);
    unsigned map = SM_0F;
    in->opc = (uint16_t)(0x100 | c);
    if (c == 0x38 || c == 0x3a) {
        if ((*status = need(d, 1)))
            return NULL;
        map = c == 0x38 ? SM_0F38 : SM_0F3A;
        c = (uint8_t)take(d, 1);
        in->opc = (uint16_t)((map == SM_0F38 ? 0x200 : 0x300) | c);
    }
    if (map == SM_0F38 && (c == 0xf0 || c == 0xf1)) {
        if (in->rep == 0xf2)                                /* CRC32 (66 still sizes the source) */
            *tmp = (struct opinfo){ op_crc32, F_MODRM | (c == 0xf0 ? F_BYTE : 0), 0 };
        else if (!in->rep)
            *tmp = (struct opinfo){ op_movbe, F_MODRM | F_MEMONLY, 0 };
        else
            return &none;
        return tmp;
    }
    unsigned prefix = in->rep == 0xf3 ? SP_F3 : in->rep == 0xf2 ? SP_F2 : opsize ? SP_66 : SP_NONE;
    unsigned idx = sse_desc_index(prefix, map, c);
    if (sse_descs[idx].kind != SK_NONE && sse_host_supports(prefix, map, c)) {
        in->sse = (uint16_t)idx;
        *tmp = (struct opinfo){ op_sse, F_MODRM | ((sse_descs[idx].flags & SF_IMM) ? F_IMM8 : 0), 0 };
        return tmp;
    }
    return map == SM_0F ? &opmap_0f[c] : &none;
}

/* The opcode-map entry, with the special cases that depend on the mode;
 * NULL with *status set if the opcode bytes run out. */
static const struct opinfo *lookup_opcode(struct dstate *d, struct insn *in, enum code_mode mode, bool opsize,
                                          struct opinfo *tmp, int *status)
{
    uint8_t c = (uint8_t)take(d, 1);
    if (c == 0x0f)
        return lookup_0f(d, in, opsize, tmp, status);
    in->opc = c;
    if (c == 0x63 && mode == MODE_64) {
        *tmp = (struct opinfo){ op_movsxd, F_MODRM, 0 };
        return tmp;
    }
    return &opmap_one[c];
}

/* An SSE instruction once ModRM and imm8 are known: register/memory form
 * rules and the host stub (NULL handler: #UD). */
static void sse_finish(struct insn *in)
{
    const struct sse_desc *sd = &sse_descs[in->sse];
    unsigned prefix = in->sse / (SM_COUNT * 256u), map = (in->sse / 256u) % SM_COUNT, op = in->sse & 0xffu;
    if ((sd->flags & SF_MEMONLY) && in->mod3) {
        in->fn = NULL;
        return;
    }
    if (sd->kind != SK_STUB)
        return;
    if (!sd->msize && !in->mod3) {
        in->fn = NULL;
        return;
    }
    unsigned n = sse_stub_number(prefix, map, op, (in->rex & 8u) && (sd->flags & SF_W), (unsigned)in->imm);
    if (n == 0xffff)
        in->fn = NULL;
    else
        in->sse_stub = (uint16_t)n;
}

/* After ModRM: the group member, LOCK and memory-operand rules, and the
 * immediates and operand sizes that depend on ModRM.reg.  Returns the
 * (possibly extended) flags. */
static uint32_t modrm_rules(struct insn *in, const struct opinfo *oi, uint32_t f, enum code_mode mode,
                            bool opsize)
{
    if (f & F_GROUP) {
        unsigned g = oi->group, bit = 1u << in->ext;
        in->fn = group_table[g][in->ext];
        in->ends = (group_end[g] & bit) != 0;
        if ((in->lock && !(group_lock[g] & bit)) || (in->mod3 && (group_memonly[g] & bit)))
            in->fn = NULL;
        if ((in->opc == 0xf6 || in->opc == 0xf7) && in->ext < 2)
            f |= in->opc == 0xf6 ? F_IMM8 : F_IMMZ;      /* TEST has an immediate */
        if (in->opc == 0xff && (in->ext == 2 || in->ext == 4) && mode == MODE_64)
            in->osz = 8;                                  /* near indirect CALL/JMP */
        if (in->opc == 0xff && in->ext == 6 && mode == MODE_64)
            in->osz = opsize ? 2 : 8;                     /* PUSH r/m */
    } else if (in->lock && !(f & F_LOCK)) {
        in->fn = NULL;
    }
    if ((in->lock && in->mod3) || ((f & F_MEMONLY) && in->mod3))
        in->fn = NULL;
    return f;
}

int decode_insn(enum code_mode mode, const uint8_t *bytes, unsigned avail, struct insn *in)
{
    struct dstate d = { bytes, avail, 0 };
    bool opsize = false, adsize = false;
    int seg = -1, r;
    uint8_t rex = 0;
    struct opinfo tmp;

    memset(in, 0, sizeof(*in));
    in->base = in->index = REG_NONE;
    if ((r = decode_prefixes(&d, in, mode, &opsize, &adsize, &seg, &rex)))
        return r;
    in->rex = rex;
    if ((r = need(&d, 1)))
        return r;
    const struct opinfo *oi = lookup_opcode(&d, in, mode, opsize, &tmp, &r);
    if (!oi)
        return r;
    uint32_t f = oi->flags;
    in->fn = oi->fn;
    in->osz = (uint8_t)operand_size(mode, f, opsize, rex);
    in->asz = (uint8_t)address_size(mode, adsize);
    in->seg = SEG_DS;
    in->ends = (f & F_END) != 0;
    if (f & F_REGOP) {
        in->reg = (uint8_t)((in->opc & 7) | ((rex & 1u) << 3));
        in->reg8 = byte_reg(in->reg, rex);
    }
    if (f & F_MODRM) {
        if ((r = decode_modrm(&d, in, mode, rex, (f & F_MODREG) != 0)))
            return r;
        f = modrm_rules(in, oi, f, mode, opsize);
    } else if (in->lock) {
        in->fn = NULL;
    }
    if (seg >= 0)
        in->seg = (uint8_t)seg;
    if ((r = decode_imm(&d, in, f)))
        return r;
    in->len = (uint8_t)d.pos;
    if (in->fn == op_sse)
        sse_finish(in);
    if (!in->fn || ((f & F_INV64) && mode == MODE_64)) {
        in->fn = op_ud;
        in->ends = 1;
        return DEC_UD;
    }
    insn_specialize(in);
    return DEC_OK;
}
