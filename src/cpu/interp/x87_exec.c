/*
 * The x87 instructions that compute or move data (everything but the
 * control and environment instructions): the operand is fetched, the
 * instruction runs on the host FPU (x87_host.c) with every exception
 * masked, and the result is committed under the guest's exception masks:
 *
 * - masked exceptions: the host's result is the guest's (QNaN indefinite,
 *   infinities, denormals, stack fault responses are all the host's);
 * - unmasked invalid-operation, denormal or zero-divide, and unmasked
 *   overflow/underflow on a store to memory: nothing is stored, the stack
 *   is unchanged, the flags are set with ES and B (a stack fault also
 *   takes C1), and #MF follows at the next waiting instruction;
 * - unmasked overflow/underflow with a register destination: the masked
 *   result is stored (hardware stores the mantissa with a re-biased
 *   exponent; not modelled, see docs/interpreter.md) and ES is set;
 * - unmasked precision: the result is stored and ES is set.
 *
 * FOP, FIP and FDP are updated by every instruction handled here.
 */
#include <stdio.h>

#include "x87.h"

#define FL_CZP (RFLAGS_CF | RFLAGS_ZF | RFLAGS_PF)

/* Memory forms: operand size (0: none/undefined here), and which ones store. */
static const uint8_t mem_size[8][8] = {
    { 4, 4, 4, 4, 4, 4, 4, 4 },         /* D8: m32real arithmetic */
    { 4, 0, 4, 4, 0, 0, 0, 0 },         /* D9: FLD/FST/FSTP m32 (the rest is control) */
    { 4, 4, 4, 4, 4, 4, 4, 4 },         /* DA: m32int arithmetic */
    { 4, 4, 4, 4, 0, 10, 0, 10 },       /* DB: FILD/FISTTP/FIST/FISTP m32, FLD/FSTP m80 */
    { 8, 8, 8, 8, 8, 8, 8, 8 },         /* DC: m64real arithmetic */
    { 8, 8, 8, 8, 0, 0, 0, 0 },         /* DD: FLD/FISTTP/FST/FSTP m64 */
    { 2, 2, 2, 2, 2, 2, 2, 2 },         /* DE: m16int arithmetic */
    { 2, 2, 2, 2, 10, 8, 10, 8 },       /* DF: FILD/FISTTP/FIST/FISTP m16, FBLD, FILD m64, FBSTP, FISTP m64 */
};
static const uint8_t mem_store[8] = { [1] = 0x0c, [3] = 0x8e, [5] = 0x0e, [7] = 0xce };

/* FISTTP (DB/DD/DF /1) is an SSE3 instruction: the host must have it to
 * run it (every x86-64 CPU since 2005; the first Opterons did not). */
static bool host_sse3(void)
{
    return __builtin_cpu_supports("sse3");
}

/* Register forms: false for undefined encodings; the reserved aliases that
 * hardware executes (FSTP1, FXCH4, FCOM2, FCOMP3, FCOMP5, FXCH7, FSTP8/9)
 * are mapped to their documented twins. */
static bool reg_form(unsigned *esc, unsigned *modrm)
{
    unsigned m = *modrm, hi = m & 0xf8;
    switch (*esc) {
    case 0:
        return true;
    case 1:
        if (hi == 0xd8) {
            *esc = 5;
            return true;
        }
        return m < 0xd0 || m == 0xe0 || m == 0xe1 || m == 0xe4 || m == 0xe5 ||
               (m >= 0xe8 && m <= 0xee) || m >= 0xf0;
    case 2:
        return m < 0xe0 || m == 0xe9;
    case 3:
        return m < 0xe0 || (m >= 0xe8 && m < 0xf8);
    case 4:
        if (hi == 0xd0 || hi == 0xd8)
            *esc = 0;
        return true;
    case 5:
        if (hi == 0xc8)
            *esc = 1;
        return m < 0xf0;
    case 6:
        if (hi == 0xd0) {
            *esc = 0;
            *modrm = 0xd8 | (m & 7);
            return true;
        }
        return hi != 0xd8 || m == 0xd9;
    default:
        if (hi == 0xc8) {
            *esc = 1;
            return true;
        }
        if (hi == 0xd0 || hi == 0xd8) {
            *esc = 5;
            *modrm = 0xd8 | (m & 7);
            return true;
        }
        return m < 0xc8 || (m >= 0xe8 && m < 0xf8);
    }
}

/* Guest memory <-> buffer in 8/4/2-byte pieces (every x87 operand size is even). */
static int read_buf(struct interp_cpu *cpu, const struct insn *in, uint64_t ea, uint8_t *buf, unsigned len)
{
    for (unsigned i = 0; i < len;) {
        unsigned n = len - i >= 8 ? 8 : len - i >= 4 ? 4 : 2;
        uint64_t v;
        int r = mem_read(cpu, in->seg, (ea + i) & insn_amask(in), n, &v);
        if (r)
            return r;
        store_le(buf + i, n, v);
        i += n;
    }
    return X_NEXT;
}

static int write_buf(struct interp_cpu *cpu, const struct insn *in, uint64_t ea, const uint8_t *buf, unsigned len)
{
    for (unsigned i = 0; i < len;) {
        unsigned n = len - i >= 8 ? 8 : len - i >= 4 ? 4 : 2;
        int r = mem_write(cpu, in->seg, (ea + i) & insn_amask(in), n, load_le(buf + i, n));
        if (r)
            return r;
        i += n;
    }
    return X_NEXT;
}

static int x87_undefined(struct interp_cpu *cpu, const struct insn *in)
{
    snprintf(cpu->error, sizeof(cpu->error), "x87 instruction %02x /%u (modrm %s) is undefined",
             0xd8 + (in->opc & 7), in->ext, in->mod3 ? "register" : "memory");
    return raise_ud(cpu);
}

/* The last-instruction pointers of FNSTENV/FXSAVE. */
static void record_pointers(struct interp_cpu *cpu, const struct insn *in, unsigned modrm, uint64_t ea)
{
    uint8_t *xs = cpu->st->xsave;
    store_le(xs + X87_FOP, 2, (((in->opc & 7u) << 8) | modrm) & 0x7ffu);
    store_le(xs + X87_FIP, 8, (insn_next_rip(cpu, in) - in->len) & cpu->ip_mask);   /* st->rip lags inside a block */
    if (!in->mod3)
        store_le(xs + X87_FDP, 8, ea);
}

/* Copies the host's result into the guest state. */
static void commit(struct interp_cpu *cpu, const uint8_t *fx, uint16_t fsw, uint16_t fcw, uint16_t raised)
{
    uint8_t *xs = cpu->st->xsave;
    for (unsigned i = 0; i < 8; i++)
        memcpy(xs + X87_REGS + (size_t)16 * i, fx + X87_REGS + (size_t)16 * i, 10);
    xs[X87_FTW] = fx[X87_FTW];
    uint16_t hsw = (uint16_t)load_le(fx + X87_FSW, 2);
    x87_put(cpu, X87_FSW, x87_fix_es((uint16_t)((hsw & (FSW_CC | FSW_TOP)) | ((fsw | raised) & 0x7fu)), fcw));
}

bool x87_live_form(const struct insn *in, unsigned *esc, unsigned *modrm, unsigned *size, bool *store)
{
    *esc = in->opc & 7u;
    *size = 0;
    *store = false;
    if (in->mod3) {
        *modrm = 0xc0u | (in->ext << 3) | (in->rm & 7u);
        return !((*esc == 3 && *modrm >= 0xe0 && *modrm <= 0xe4) || (*esc == 7 && *modrm == 0xe0) ||
                 (*esc == 1 && *modrm == 0xd0)) && reg_form(esc, modrm);  /* not control, FNOP, undefined */
    }
    *size = mem_size[*esc][in->ext & 7];
    if (!*size || (*esc == 1 && in->ext != 0 && in->ext != 2 && in->ext != 3) ||
        ((in->ext & 7) == 1 && (*esc & 1) && !host_sse3()))
        return false;
    *store = (mem_store[*esc] >> (in->ext & 7)) & 1;
    *modrm = (in->ext & 7u) << 3 | (in->rm & 7u);
    return true;
}

int x87_exec_live(struct interp_cpu *cpu, const struct insn *in)
{
    unsigned esc, modrm, size;
    bool store;
    uint64_t ea = 0;
    uint8_t buf[16];
    if (!x87_live_form(in, &esc, &modrm, &size, &store))
        return X87_SLOW;
    if (!in->mod3) {
        ea = insn_ea(cpu, in);
        if (!store) {
            int r = read_buf(cpu, in, ea, buf, size);
            if (r)
                return r;
        }
    }
    int r = x87_live_exec(cpu, in, esc, modrm, buf, ea, size, store);
    if (r == X_NEXT)
        record_pointers(cpu, in, modrm, ea);
    return r;
}

int x87_exec(struct interp_cpu *cpu, const struct insn *in)
{
    unsigned esc = in->opc & 7u, modrm, size = 0;
    bool store = false;
    uint64_t ea = 0;
    uint8_t buf[16] = { 0 };
    if (in->mod3) {
        modrm = 0xc0u | (in->ext << 3) | (in->rm & 7u);
        if (!reg_form(&esc, &modrm))
            return x87_undefined(cpu, in);
    } else {
        size = mem_size[esc][in->ext & 7];
        if (!size || ((in->ext & 7) == 1 && (esc & 1) && !host_sse3()))
            return x87_undefined(cpu, in);
        store = (mem_store[esc] >> (in->ext & 7)) & 1;
        modrm = (in->ext & 7u) << 3 | (in->rm & 7u);
        ea = insn_ea(cpu, in);
    }
    int r = x87_pending(cpu);
    if (r)
        return r;
    if (!in->mod3 && !store) {
        r = read_buf(cpu, in, ea, buf, size);
        if (r)
            return r;
    }
    if (cpu->x87_live || x87_live_enter(cpu)) {
        r = x87_live_exec(cpu, in, esc, modrm, buf, ea, size, store);
        if (r != X87_SLOW) {
            if (r == X_NEXT)
                record_pointers(cpu, in, modrm, ea);
            return r;
        }
        x87_live_flush(cpu);
    }

    _Alignas(16) uint8_t fx[512];
    const uint8_t *xs = cpu->st->xsave;
    uint16_t fcw = x87_get(cpu, X87_FCW), fsw = x87_get(cpu, X87_FSW);
    memcpy(fx, xs, 160);
    store_le(fx + X87_FCW, 2, fcw | 0x3fu);
    store_le(fx + X87_FSW, 2, fsw & ~(FSW_EXC | FSW_B));
    uint64_t fl = flags_get(cpu);
    x87_host_exec(fx, esc, modrm, buf, &fl);

    uint16_t hsw = (uint16_t)load_le(fx + X87_FSW, 2), raised = hsw & 0x7fu;
    uint16_t unmasked = raised & ~fcw & 0x3fu;
    if ((unmasked & (FSW_IE | FSW_DE | FSW_ZE)) || (store && (unmasked & (FSW_OE | FSW_UE)))) {
        uint16_t nsw = fsw | raised;
        if (raised & FSW_SF)
            nsw = (uint16_t)((nsw & ~0x0200u) | (hsw & 0x0200u));
        record_pointers(cpu, in, modrm, ea);
        x87_put(cpu, X87_FSW, x87_fix_es(nsw, fcw));
        return X_NEXT;
    }
    if (store) {
        r = write_buf(cpu, in, ea, buf, size);
        if (r)
            return r;
    }
    record_pointers(cpu, in, modrm, ea);
    commit(cpu, fx, fsw, fcw, raised);
    if ((esc == 3 || esc == 7) && modrm >= 0xe8 && modrm < 0xf8)     /* FCOMI, FUCOMI (+P): ZF PF CF, others 0 */
        flags_set_arith(cpu, FLAGS_ARITH, fl & FL_CZP);
    return X_NEXT;
}
