/*
 * x87/SSE/AVX state save and restore (no arithmetic): FXSAVE/FXRSTOR,
 * LDMXCSR/STMXCSR, XSAVE/XSAVEOPT/XRSTOR in the standard format,
 * XGETBV/XSETBV, and the rest of group 15: fences, CLFLUSH and the
 * FS/GS base instructions.  The state lives in
 * cpu_state.xsave, which is itself a standard-format XSAVE image (as KVM
 * hands it over), so these instructions copy between guest memory and it.
 * Component offsets and sizes are the host CPU's (CPUID leaf 0xD), which
 * is also what KVM's image uses.
 *
 * The compacted format (XSAVEC/XSAVES/XRSTORS, and XRSTOR of a compacted
 * image) is converted from/to that standard image.  IA32_XSS is taken as
 * 0: no supervisor components, so XSAVES/XRSTORS differ from XSAVEC/XRSTOR
 * only in their CPL 0 check (and XRSTORS needing the compacted form).
 *
 * Not yet: FXSAVE's 32-bit pointer layout (the image is copied as stored).
 */
#include <cpuid.h>

#include "handlers.h"
#include "sse.h"
#include "x87.h"

#define XSAVE_HDR        512u
#define MXCSR_OFF        24u
#define MXCSR_MASK_BITS  0xffffu       /* MXCSR bits the guest may set (DAZ included) */
#define XFEATURE_MAX     10u

struct xfeature { uint32_t offset, size; bool align; };

/* Host layout of components 2..9 (0 size: not supported). */
static void xfeature_layout(struct xfeature f[XFEATURE_MAX], uint64_t *supported)
{
    unsigned a, b, c, d;
    *supported = 3;
    for (unsigned i = 0; i < XFEATURE_MAX; i++)
        f[i] = (struct xfeature){ 0, 0, false };
    if (!__get_cpuid_count(0xd, 0, &a, &b, &c, &d))
        return;
    *supported = ((uint64_t)d << 32 | a) & ((1u << XFEATURE_MAX) - 1);
    for (unsigned i = 2; i < XFEATURE_MAX; i++) {
        if (!((*supported >> i) & 1) || !__get_cpuid_count(0xd, i, &a, &b, &c, &d) ||
            (uint64_t)b + a > CPU_XSAVE_AREA_SIZE) {
            *supported &= ~(UINT64_C(1) << i);
            continue;
        }
        f[i].offset = b;
        f[i].size = a;
        f[i].align = c & 2;                                /* 64-byte aligned when compacted */
    }
}

/* Guest memory <-> buffer, 8 bytes at a time through the normal checks. */
static int copy_in(struct interp_cpu *cpu, const struct insn *in, uint64_t ea, uint8_t *buf, unsigned len)
{
    for (unsigned i = 0; i < len; i += 8) {
        uint64_t v;
        int r = mem_read(cpu, in->seg, (ea + i) & insn_amask(in), 8, &v);
        if (r)
            return r;
        memcpy(buf + i, &v, 8);
    }
    return X_NEXT;
}

static int copy_out(struct interp_cpu *cpu, const struct insn *in, uint64_t ea, const uint8_t *buf,
                    unsigned off, unsigned len)
{
    for (unsigned i = off; i < off + len; i += 8) {
        uint64_t v;
        memcpy(&v, buf + i, 8);
        int r = mem_write(cpu, in->seg, (ea + i) & insn_amask(in), 8, v);
        if (r)
            return r;
    }
    return X_NEXT;
}

/* #UD/#NM rules shared by the x87/SSE state instructions. */
static int fpu_check(struct interp_cpu *cpu, bool need_osfxsr, bool need_osxsave)
{
    const struct cpu_state *st = cpu->st;
    if ((need_osxsave && !(st->cr4 & CR4_OSXSAVE)) || (need_osfxsr && !(st->cr4 & CR4_OSFXSR)) ||
        (!need_osxsave && (st->cr0 & CR0_EM)))
        return raise_ud(cpu);
    if (st->cr0 & CR0_TS)
        return raise_exc(cpu, EXC_NM, false, 0);
    x87_live_flush(cpu);               /* the state back from the host's registers */
    sse_mxcsr_flush(cpu);
    return X_NEXT;
}

static int fxsave(struct interp_cpu *cpu, const struct insn *in, uint64_t ea)
{
    if (ea & 15)
        return raise_gp(cpu, 0);
    return copy_out(cpu, in, ea, cpu->st->xsave, 0, 464);   /* 464-511 belong to software */
}

static int fxrstor(struct interp_cpu *cpu, const struct insn *in, uint64_t ea)
{
    uint8_t buf[512];
    uint32_t mxcsr;
    if (ea & 15)
        return raise_gp(cpu, 0);
    int r = copy_in(cpu, in, ea, buf, 464);
    if (r)
        return r;
    memcpy(&mxcsr, buf + MXCSR_OFF, 4);
    if (mxcsr & ~MXCSR_MASK_BITS)
        return raise_gp(cpu, 0);
    memcpy(cpu->st->xsave, buf, 24);                        /* keep the image's MXCSR_MASK */
    memcpy(cpu->st->xsave + MXCSR_OFF, &mxcsr, 4);
    memcpy(cpu->st->xsave + 32, buf + 32, 464 - 32);
    return X_NEXT;
}

static int ldmxcsr(struct interp_cpu *cpu, const struct insn *in, uint64_t ea, bool store)
{
    uint64_t v;
    if (store)
        return mem_write(cpu, in->seg, ea, 4, load_le(cpu->st->xsave + MXCSR_OFF, 4));
    int r = mem_read(cpu, in->seg, ea, 4, &v);
    if (r)
        return r;
    if (v & ~(uint64_t)MXCSR_MASK_BITS)
        return raise_gp(cpu, 0);
    store_le(cpu->st->xsave + MXCSR_OFF, 4, v);
    return X_NEXT;
}

static uint64_t xstate_bv(const uint8_t *img)
{
    return load_le(img + XSAVE_HDR, 8);
}

/* Byte ranges of component i in the standard image (x87: two ranges). */
static void component_range(unsigned i, const struct xfeature *f, unsigned *off, unsigned *len)
{
    if (i == 0) { *off = 0; *len = 24; }
    else if (i == 1) { *off = 160; *len = 256; }
    else { *off = f[i].offset; *len = f[i].size; }
}

static int xsave(struct interp_cpu *cpu, const struct insn *in, uint64_t ea)
{
    struct xfeature f[XFEATURE_MAX];
    uint64_t supported;
    const uint8_t *img = cpu->st->xsave;
    if (ea & 63)
        return raise_gp(cpu, 0);
    xfeature_layout(f, &supported);
    uint64_t rfbm = cpu->st->xcr0 & ((cpu->gpr[GPR_RDX] << 32) | (uint32_t)cpu->gpr[GPR_RAX]) & supported;
    uint64_t old_bv;
    int r = mem_read(cpu, in->seg, (ea + XSAVE_HDR) & insn_amask(in), 8, &old_bv);
    for (unsigned i = 0; !r && i < XFEATURE_MAX; i++) {
        unsigned off, len;
        if (!((rfbm >> i) & 1))
            continue;
        component_range(i, f, &off, &len);
        r = copy_out(cpu, in, ea, img, off, len);
        if (!r && i == 0)
            r = copy_out(cpu, in, ea, img, 32, 128);        /* ST0-ST7 */
    }
    if (!r && (rfbm & 6))
        r = copy_out(cpu, in, ea, img, MXCSR_OFF, 8);
    if (r)
        return r;
    uint64_t bv = (old_bv & ~rfbm) | (xstate_bv(img) & rfbm);
    return mem_write(cpu, in->seg, (ea + XSAVE_HDR) & insn_amask(in), 8, bv);
}

/* The initial configuration of component i. */
static void component_init(uint8_t *img, unsigned i, const struct xfeature *f)
{
    unsigned off, len;
    component_range(i, f, &off, &len);
    memset(img + off, 0, len);
    if (i == 0) {
        memset(img + 32, 0, 128);
        store_le(img, 2, 0x037f);                           /* FCW */
    }
}

/* Offsets of components 2.. in a compacted image with XCOMP_BV xcomp;
 * returns the image size. */
static unsigned compact_offsets(const struct xfeature *f, uint64_t xcomp, unsigned off[XFEATURE_MAX])
{
    unsigned pos = XSAVE_HDR + 64;
    for (unsigned i = 2; i < XFEATURE_MAX; i++) {
        off[i] = 0;
        if (!((xcomp >> i) & 1))
            continue;
        if (f[i].align)
            pos = (pos + 63) & ~63u;
        off[i] = pos;
        pos += f[i].size;
    }
    return pos;
}

/* XRSTOR/XRSTORS of a compacted image already read into buf (the whole
 * standard-size span; a compacted image is never larger). */
static int xrstor_compacted(struct interp_cpu *cpu, const uint8_t *buf, const struct xfeature *f,
                            uint64_t rfbm)
{
    uint8_t *img = cpu->st->xsave;
    uint64_t bv = load_le(buf + XSAVE_HDR, 8), xcomp = load_le(buf + XSAVE_HDR + 8, 8) & ~(UINT64_C(1) << 63);
    uint32_t mxcsr = (uint32_t)load_le(buf + MXCSR_OFF, 4);
    unsigned off[XFEATURE_MAX];
    for (unsigned i = 16; i < 64; i++)
        if (buf[XSAVE_HDR + i])
            return raise_gp(cpu, 0);
    if ((xcomp & ~cpu->st->xcr0) || (bv & ~xcomp) || ((rfbm & 6) && (mxcsr & ~MXCSR_MASK_BITS)) ||
        compact_offsets(f, xcomp, off) > CPU_XSAVE_AREA_SIZE)
        return raise_gp(cpu, 0);
    for (unsigned i = 0; i < XFEATURE_MAX; i++) {
        unsigned soff, len;
        if (!((rfbm >> i) & 1))
            continue;
        if (!((bv >> i) & 1)) {
            component_init(img, i, f);
            continue;
        }
        component_range(i, f, &soff, &len);
        memcpy(img + soff, buf + (i < 2 ? soff : off[i]), len);
        if (i == 0)
            memcpy(img + 32, buf + 32, 128);
    }
    if (rfbm & 6)
        store_le(img + MXCSR_OFF, 4, mxcsr);
    store_le(img + XSAVE_HDR, 8, (xstate_bv(img) & ~rfbm) | (bv & rfbm));
    return X_NEXT;
}

static int xrstor(struct interp_cpu *cpu, const struct insn *in, uint64_t ea)
{
    uint8_t buf[CPU_XSAVE_AREA_SIZE];
    struct xfeature f[XFEATURE_MAX];
    uint64_t supported, hdr[2];
    uint8_t *img = cpu->st->xsave;
    if (ea & 63)
        return raise_gp(cpu, 0);
    xfeature_layout(f, &supported);
    int r = copy_in(cpu, in, ea, buf, CPU_XSAVE_AREA_SIZE);
    if (r)
        return r;
    memcpy(hdr, buf + XSAVE_HDR, 16);
    uint32_t mxcsr = (uint32_t)load_le(buf + MXCSR_OFF, 4);
    uint64_t rfbm = cpu->st->xcr0 & ((cpu->gpr[GPR_RDX] << 32) | (uint32_t)cpu->gpr[GPR_RAX]) & supported;
    if (hdr[1] >> 63)
        return xrstor_compacted(cpu, buf, f, rfbm);
    if (hdr[1] || (hdr[0] & ~cpu->st->xcr0) || ((rfbm & 6) && (mxcsr & ~MXCSR_MASK_BITS)))
        return raise_gp(cpu, 0);
    for (unsigned i = 0; i < XFEATURE_MAX; i++) {
        unsigned off, len;
        if (!((rfbm >> i) & 1))
            continue;
        if (!((hdr[0] >> i) & 1)) {
            component_init(img, i, f);
            continue;
        }
        component_range(i, f, &off, &len);
        memcpy(img + off, buf + off, len);
        if (i == 0)
            memcpy(img + 32, buf + 32, 128);
    }
    if (rfbm & 6)
        store_le(img + MXCSR_OFF, 4, mxcsr);
    store_le(img + XSAVE_HDR, 8, (xstate_bv(img) & ~rfbm) | (hdr[0] & rfbm));
    return X_NEXT;
}

/* XSAVEC/XSAVES: the components in use among RFBM, at their compacted
 * offsets; XSTATE_BV and XCOMP_BV (bit 63 set) in the header. */
static int xsavec(struct interp_cpu *cpu, const struct insn *in, uint64_t ea)
{
    struct xfeature f[XFEATURE_MAX];
    uint64_t supported;
    const uint8_t *img = cpu->st->xsave;
    unsigned off[XFEATURE_MAX];
    if (ea & 63)
        return raise_gp(cpu, 0);
    xfeature_layout(f, &supported);
    uint64_t rfbm = cpu->st->xcr0 & ((cpu->gpr[GPR_RDX] << 32) | (uint32_t)cpu->gpr[GPR_RAX]) & supported;
    uint64_t bv = xstate_bv(img) & rfbm;
    compact_offsets(f, rfbm, off);
    int r = X_NEXT;
    for (unsigned i = 0; !r && i < XFEATURE_MAX; i++) {
        unsigned soff, len;
        if (!((bv >> i) & 1))
            continue;
        component_range(i, f, &soff, &len);
        if (i < 2) {
            r = copy_out(cpu, in, ea, img, soff, len);
            if (!r && i == 0)
                r = copy_out(cpu, in, ea, img, 32, 128);
            continue;
        }
        for (unsigned k = 0; !r && k < len; k += 8) {
            uint64_t v;
            memcpy(&v, img + soff + k, 8);
            r = mem_write(cpu, in->seg, (ea + off[i] + k) & insn_amask(in), 8, v);
        }
    }
    if (!r && (rfbm & 6))
        r = copy_out(cpu, in, ea, img, MXCSR_OFF, 8);
    if (!r)
        r = mem_write(cpu, in->seg, (ea + XSAVE_HDR) & insn_amask(in), 8, bv);
    if (!r)
        r = mem_write(cpu, in->seg, (ea + XSAVE_HDR + 8) & insn_amask(in), 8, rfbm | (UINT64_C(1) << 63));
    return r;
}

/* Group 9 memory forms /3 XRSTORS, /4 XSAVEC, /5 XSAVES (0F C7). */
int op_xsave_c7(struct interp_cpu *cpu, const struct insn *in)
{
    uint64_t ea = insn_ea(cpu, in);
    int r;
    if (in->mod3 || in->rep || in->opc != 0x1c7)
        return raise_ud(cpu);
    if ((r = fpu_check(cpu, false, true)))
        return r;
    if (in->ext != 4 && cpu->cpl)
        return raise_gp(cpu, 0);
    if (in->ext != 3)
        return xsavec(cpu, in, ea);
    uint64_t xcomp;
    if (ea & 63)
        return raise_gp(cpu, 0);
    if ((r = mem_read(cpu, in->seg, (ea + XSAVE_HDR + 8) & insn_amask(in), 8, &xcomp)))
        return r;
    if (!(xcomp >> 63))
        return raise_gp(cpu, 0);                           /* XRSTORS needs the compacted form */
    return xrstor(cpu, in, ea);
}

/* RDFSBASE RDGSBASE WRFSBASE WRGSBASE (F3 0F AE /0-/3, registers). */
static int fsgsbase(struct interp_cpu *cpu, const struct insn *in)
{
    if (!cpu->long64 || !(cpu->st->cr4 & CR4_FSGSBASE) || in->ext > 3)
        return raise_ud(cpu);
    unsigned seg = (in->ext & 1) ? SEG_GS : SEG_FS;
    uint64_t v = cpu->gpr[in->rm];
    if (in->ext < 2) {
        set_reg(cpu, in->rm, in->osz, cpu->st->seg[seg].base);
        return X_NEXT;
    }
    if (in->osz == 8 && (uint64_t)((int64_t)(v << 16) >> 16) != v)
        return raise_gp(cpu, 0);
    cpu->st->seg[seg].base = in->osz == 8 ? v : (uint32_t)v;
    seg_cache_refresh(cpu, seg);
    return X_NEXT;
}

/* Group 15 (0F AE). */
int op_grp15(struct interp_cpu *cpu, const struct insn *in)
{
    if (in->mod3 && in->rep == 0xf3)
        return fsgsbase(cpu, in);
    if (in->mod3)
        return in->ext >= 5 && !in->rep ? X_NEXT : raise_ud(cpu);   /* LFENCE MFENCE SFENCE */
    if (in->rep)
        return raise_ud(cpu);
    uint64_t ea = insn_ea(cpu, in);
    int r;
    switch (in->ext) {
    case 0: return (r = fpu_check(cpu, false, false)) ? r : fxsave(cpu, in, ea);
    case 1: return (r = fpu_check(cpu, false, false)) ? r : fxrstor(cpu, in, ea);
    case 2: return (r = fpu_check(cpu, true, false)) ? r : ldmxcsr(cpu, in, ea, false);
    case 3: return (r = fpu_check(cpu, true, false)) ? r : ldmxcsr(cpu, in, ea, true);
    case 4: case 6: return (r = fpu_check(cpu, false, true)) ? r : xsave(cpu, in, ea);
    case 5: return (r = fpu_check(cpu, false, true)) ? r : xrstor(cpu, in, ea);
    default: return X_NEXT;                                        /* CLFLUSH */
    }
}

/* XGETBV (0F 01 D0) and XSETBV (0F 01 D1). */
int op_xgetsetbv(struct interp_cpu *cpu, bool set)
{
    struct cpu_state *st = cpu->st;
    uint32_t idx = (uint32_t)cpu->gpr[GPR_RCX];
    if (!(st->cr4 & CR4_OSXSAVE))
        return raise_ud(cpu);
    if (!set) {
        uint64_t v;
        if (idx == 0)
            v = st->xcr0;
        else if (idx == 1)
            v = st->xcr0 & xstate_bv(st->xsave);
        else
            return raise_gp(cpu, 0);
        set_reg(cpu, GPR_RAX, 4, v);
        set_reg(cpu, GPR_RDX, 4, v >> 32);
        return X_NEXT;
    }
    struct xfeature f[XFEATURE_MAX];
    uint64_t supported, v = ((uint64_t)(uint32_t)cpu->gpr[GPR_RDX] << 32) | (uint32_t)cpu->gpr[GPR_RAX];
    xfeature_layout(f, &supported);
    if (cpu->cpl || idx != 0 || !(v & 1) || (v & ~supported) || ((v & 4) && !(v & 2)))
        return raise_gp(cpu, 0);
    st->xcr0 = v;
    return X_NEXT;
}
