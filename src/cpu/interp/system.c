/*
 * System instructions: HLT, CPUID, RDTSC, RDMSR/WRMSR, MOV to/from CRn,
 * group 7 (SGDT SIDT LGDT LIDT SMSW LMSW INVLPG SWAPGS RDTSCP), CLTS,
 * INVD/WBINVD, UD2.
 */
#include <stdio.h>
#include <x86intrin.h>

#include "handlers.h"
#include "sse.h"

int op_ud(struct interp_cpu *cpu, const struct insn *in)
{
    (void)in;
    return raise_ud(cpu);
}

/* An instruction longer than 15 bytes. */
int op_too_long(struct interp_cpu *cpu, const struct insn *in)
{
    (void)in;
    return raise_gp(cpu, 0);
}

static int need_cpl0(struct interp_cpu *cpu)
{
    return cpu->cpl ? raise_gp(cpu, 0) : X_NEXT;
}

int op_hlt(struct interp_cpu *cpu, const struct insn *in)
{
    (void)in;
    int r = need_cpl0(cpu);
    return r ? r : X_HALT;
}

/* INVD/WBINVD (0F 08 09): no caches to manage. */
int op_wbinvd(struct interp_cpu *cpu, const struct insn *in)
{
    (void)in;
    return need_cpl0(cpu);
}

int op_clts(struct interp_cpu *cpu, const struct insn *in)
{
    (void)in;
    int r = need_cpl0(cpu);
    if (!r)
        cpu->st->cr0 &= ~(uint64_t)CR0_TS;
    return r;
}

/* CPUID (0F A2): a conservative x86-64 CPU describing what the interpreter
 * implements: x87, MMX, FXSR and the SSE family up to SSE4.2 with AES-NI
 * and PCLMULQDQ (as far as the host has them: sse.c runs them on it). */
int op_cpuid(struct interp_cpu *cpu, const struct insn *in)
{
    (void)in;
    uint32_t leaf = (uint32_t)cpu->gpr[GPR_RAX], a = 0, b = 0, c = 0, d = 0;
    switch (leaf) {
    case 0:
        a = 7;
        /* "GenuineIntel": glibc (2.36, Debian 12) reads leaf 1 only for the
         * vendors it knows; under any other name it finds no SSE2 and its
         * ld.so refuses every x86-64 program ("CPU ISA level is lower than
         * required"). */
        b = 0x756e6547; d = 0x49656e69; c = 0x6c65746e;
        break;
    case 1:
        a = 0x000606a0;                                    /* family 6 */
        d = (1u << 0) | (1u << 23) |                       /* FPU MMX */
            (1u << 3) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 8) | (1u << 15);  /* PSE TSC MSR PAE CX8 CMOV */
        c = (1u << 13) | (1u << 22) | (1u << 23);          /* CX16 MOVBE POPCNT */
        d |= 1u << 11;                                     /* SEP: SYSENTER/SYSEXIT (syscall_ops.c) */
        d |= 1u << 13;                                     /* PGE: global pages (mmu.c) */
        d |= 1u << 1;                                      /* VME (and PVI): vme.c */
        d |= 1u << 19;                                     /* CLFLUSH, 64-byte lines */
        c |= 1u << 31;                                     /* a hypervisor: no microcode updates */
        b = 8u << 8;
        {
            uint32_t sc, sd;
            sse_host_features(&sc, &sd);                   /* SSE..SSE4.2, AES, PCLMULQDQ, FXSR */
            c |= sc;
            d |= sd;
        }
        break;
    case 7:
        if ((uint32_t)cpu->gpr[GPR_RCX] == 0) {
            a = 2;                                         /* sub-leaves 0-2 */
            b = (1u << 7) | (1u << 20);                    /* SMEP SMAP (mmu.c) */
            d = (1u << 29) |                               /* IA32_ARCH_CAPABILITIES */
                (1u << 26) | (1u << 27);                   /* IBRS+IBPB, STIBP: IA32_SPEC_CTRL/PRED_CMD */
        } else if ((uint32_t)cpu->gpr[GPR_RCX] == 2) {
            d = 1u << 4;                                   /* BHI_CTRL: IA32_SPEC_CTRL.BHI_DIS_S */
        }
        break;
    case 0x80000000:
        a = 0x80000008;
        break;
    case 0x80000001:
        d = (1u << 11) | (1u << 20) | (1u << 29);          /* SYSCALL (all modes) NX LM */
        c = (1u << 0) | (1u << 5);                         /* LAHF in 64-bit, LZCNT */
        break;
    case 0x80000008:
        a = 0x3028;                                        /* 40-bit physical, 48-bit linear */
        break;
    default:
        break;
    }
    if (cpu->io.cpuid) {                                   /* the engine's APIC: id, topology */
        uint32_t regs[4] = { a, b, c, d };
        cpu->io.cpuid(cpu->io.opaque, leaf, (uint32_t)cpu->gpr[GPR_RCX], regs);
        a = regs[0];
        b = regs[1];
        c = regs[2];
        d = regs[3];
    }
    set_reg(cpu, GPR_RAX, 4, a);
    set_reg(cpu, GPR_RBX, 4, b);
    set_reg(cpu, GPR_RCX, 4, c);
    set_reg(cpu, GPR_RDX, 4, d);
    return X_NEXT;
}

uint64_t guest_tsc(const struct interp_cpu *cpu)
{
    return __rdtsc() + cpu->tsc_offset;
}

int op_rdtsc(struct interp_cpu *cpu, const struct insn *in)
{
    if ((cpu->st->cr4 & CR4_TSD) && cpu->cpl)
        return raise_gp(cpu, 0);
    uint64_t t = guest_tsc(cpu);
    set_reg(cpu, GPR_RAX, 4, t);
    set_reg(cpu, GPR_RDX, 4, t >> 32);
    if (in->opc == 0x101)                                  /* RDTSCP */
        set_reg(cpu, GPR_RCX, 4, cpu->st->msr.tsc_aux);
    return X_NEXT;
}

/* IA32_ARCH_CAPABILITIES: the interpreter executes nothing speculatively,
 * so it is not affected by the transient-execution attacks the kernel would
 * otherwise mitigate at a cost (page-table isolation, buffer clearing):
 * RDCL_NO, SSB_NO, MDS_NO, PSCHANGE_MC_NO, TAA_NO, SBDR_SSDP_NO, FBSDP_NO,
 * PSDP_NO, BHI_NO, PBRSB_NO, GDS_NO, RFDS_NO, ITS_NO.  (Without ITS_NO a
 * kernel sends every RET through a return thunk: a second block per return
 * for the interpreter.)  IBRS_ALL (enhanced IBRS) for the same reason: with
 * it Linux makes indirect calls plain `call *reg` instead of retpolines,
 * each of which costs the interpreter three blocks. */
#define MSR_ARCH_CAPABILITIES 0x10au
#define ARCH_CAPABILITIES_NOT_AFFECTED                                                              \
    ((1u << 0) | (1u << 1) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 8) | (1u << 13) | (1u << 14) | (1u << 15) | \
     (1u << 20) | (1u << 24) | (1u << 26) | (1u << 27) | (UINT64_C(1) << 62))

/* IA32_BIOS_SIGN_ID: Linux reads an Intel CPU's microcode revision there. */
#define MSR_BIOS_SIGN_ID 0x8bu

/* IA32_SPEC_CTRL keeps IBRS, STIBP and BHI_DIS_S (no effect here, but a
 * guest reads back what it wrote; with BHI_DIS_S Linux clears no branch
 * history in software on every system call); IA32_PRED_CMD's IBPB is
 * write-only and has nothing to flush.  Other bits are reserved: #GP. */
#define MSR_SPEC_CTRL      0x48u
#define SPEC_CTRL_VALID    0x403u
#define MSR_PRED_CMD       0x49u
#define PRED_CMD_IBPB      0x1u

/* The MSRs we keep, by number; NULL if unknown. */
static uint64_t *msr_slot(struct interp_cpu *cpu, uint32_t msr)
{
    struct cpu_state *st = cpu->st;
    switch (msr) {
    case 0x1b: return &st->msr.apic_base;
    case 0x174: return &st->msr.sysenter_cs;
    case 0x175: return &st->msr.sysenter_esp;
    case 0x176: return &st->msr.sysenter_eip;
    case 0x1a0: return &st->msr.misc_enable;
    case MSR_SPEC_CTRL: return &st->msr.spec_ctrl;
    case 0x277: return &st->msr.pat;
    case 0xc0000081: return &st->msr.star;
    case 0xc0000082: return &st->msr.lstar;
    case 0xc0000083: return &st->msr.cstar;
    case 0xc0000084: return &st->msr.sfmask;
    case 0xc0000100: return &st->seg[SEG_FS].base;
    case 0xc0000101: return &st->seg[SEG_GS].base;
    case 0xc0000102: return &st->msr.kernel_gs_base;
    case 0xc0000103: return &st->msr.tsc_aux;
    default: return NULL;
    }
}

/* The MSRs the interpreter itself answers; false for #GP. */
static bool rdmsr_builtin(struct interp_cpu *cpu, uint32_t msr, uint64_t *v)
{
    const uint64_t *slot = msr_slot(cpu, msr);
    if (msr == 0x10)
        *v = guest_tsc(cpu);
    else if (msr == MSR_ARCH_CAPABILITIES)
        *v = ARCH_CAPABILITIES_NOT_AFFECTED;
    else if (msr == 0xc0000080)
        *v = cpu->st->efer;
    else if (msr == MSR_BIOS_SIGN_ID)
        *v = 0;                                            /* microcode revision 0 */
    else if (slot)
        *v = *slot;
    else
        return false;
    return true;
}

int op_rdmsr(struct interp_cpu *cpu, const struct insn *in)
{
    (void)in;
    uint32_t msr = (uint32_t)cpu->gpr[GPR_RCX];
    uint64_t v = 0;
    if (cpu->cpl)
        return raise_gp(cpu, 0);
    int hooked = cpu->io.msr_read ? cpu->io.msr_read(cpu->io.opaque, msr, &v) : 0;   /* the engine's APIC */
    if (hooked < 0 || (!hooked && !rdmsr_builtin(cpu, msr, &v)))
        return raise_gp(cpu, 0);
    set_reg(cpu, GPR_RAX, 4, v);
    set_reg(cpu, GPR_RDX, 4, v >> 32);
    return X_NEXT;
}

static int write_efer(struct interp_cpu *cpu, uint64_t v)
{
    struct cpu_state *st = cpu->st;
    if (v & ~(uint64_t)(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE))
        return raise_gp(cpu, 0);
    if ((st->cr0 & CR0_PG) && ((v ^ st->efer) & EFER_LME))
        return raise_gp(cpu, 0);
    st->efer = (v & ~(uint64_t)EFER_LMA) | (st->efer & EFER_LMA);
    tlb_flush(cpu);
    mode_refresh(cpu);
    return X_END;
}

int op_wrmsr(struct interp_cpu *cpu, const struct insn *in)
{
    (void)in;
    uint32_t msr = (uint32_t)cpu->gpr[GPR_RCX];
    uint64_t v = (cpu->gpr[GPR_RAX] & 0xffffffff) | (cpu->gpr[GPR_RDX] << 32), *slot = msr_slot(cpu, msr);
    if (cpu->cpl)
        return raise_gp(cpu, 0);
    int hooked = cpu->io.msr_write ? cpu->io.msr_write(cpu->io.opaque, msr, v) : 0;
    if (hooked)
        return hooked < 0 ? raise_gp(cpu, 0) : X_END;
    if (msr == 0x10) {
        cpu->tsc_offset = v - __rdtsc();
        return X_NEXT;
    }
    if (msr == 0xc0000080)
        return write_efer(cpu, v);
    if (msr == MSR_BIOS_SIGN_ID)                           /* Intel's "read the revision" protocol */
        return X_NEXT;
    if (msr == MSR_PRED_CMD)
        return v & ~(uint64_t)PRED_CMD_IBPB ? raise_gp(cpu, 0) : X_NEXT;
    if (msr == MSR_SPEC_CTRL && (v & ~(uint64_t)SPEC_CTRL_VALID))
        return raise_gp(cpu, 0);
    if (!slot)
        return raise_gp(cpu, 0);
    *slot = v;
    mode_refresh(cpu);                                     /* FS/GS base */
    return X_END;
}

static int write_cr0(struct interp_cpu *cpu, uint64_t v)
{
    struct cpu_state *st = cpu->st;
    v |= CR0_ET;
    if ((v >> 32) || ((v & CR0_PG) && !(v & CR0_PE)) || ((v & CR0_NW) && !(v & CR0_CD)))
        return raise_gp(cpu, 0);
    if ((v & CR0_PG) && !(st->cr0 & CR0_PG) && (st->efer & EFER_LME)) {
        if (!(st->cr4 & CR4_PAE))
            return raise_gp(cpu, 0);
        st->efer |= EFER_LMA;
    }
    if (!(v & CR0_PG) && (st->efer & EFER_LMA)) {
        if (cpu->long64)
            return raise_gp(cpu, 0);
        st->efer &= ~(uint64_t)EFER_LMA;
    }
    st->cr0 = v;
    tlb_flush(cpu);
    mode_refresh(cpu);
    return X_END;
}

static int write_cr(struct interp_cpu *cpu, unsigned n, uint64_t v)
{
    struct cpu_state *st = cpu->st;
    switch (n) {
    case 0: return write_cr0(cpu, v);
    case 2: st->cr2 = v; return X_NEXT;
    case 3: st->cr3 = v; tlb_flush_nonglobal(cpu); return X_END;
    case 4:
        if ((st->efer & EFER_LMA) && !(v & CR4_PAE))
            return raise_gp(cpu, 0);
        st->cr4 = v;
        tlb_flush(cpu);
        mode_refresh(cpu);
        return X_END;
    case 8: st->cr8 = v & 15; return X_END;
    default: return raise_ud(cpu);
    }
}

/* MOV r,CRn / MOV CRn,r (0F 20 22): the ModRM mod field is ignored. */
int op_mov_cr(struct interp_cpu *cpu, const struct insn *in)
{
    unsigned n = in->reg;                                  /* REX.R selects CR8 */
    if (n != 0 && n != 2 && n != 3 && n != 4 && n != 8)
        return raise_ud(cpu);
    int r = need_cpl0(cpu);
    if (r)
        return r;
    unsigned size = cpu->long64 ? 8 : 4;
    if (in->opc == 0x122)
        return write_cr(cpu, n, cpu->gpr[in->rm] & size_mask(size));
    const struct cpu_state *st = cpu->st;
    uint64_t v = n == 0 ? st->cr0 : n == 2 ? st->cr2 : n == 3 ? st->cr3 : n == 4 ? st->cr4 : st->cr8;
    set_reg(cpu, in->rm, size, v);
    return X_NEXT;
}

/* Descriptor-table register store/load (group 7 /0-/3, memory forms). */
static int table_reg_op(struct interp_cpu *cpu, const struct insn *in, struct table_reg *t, bool load)
{
    uint64_t ea = insn_ea(cpu, in), lim, base;
    unsigned bsize = cpu->long64 ? 8 : 4;
    int r;
    if (!load) {
        uint64_t b = cpu->long64 ? t->base : t->base & (in->osz == 2 ? 0xffffff : 0xffffffff);
        if ((r = mem_write(cpu, in->seg, ea, 2, t->limit)))
            return r;
        return mem_write(cpu, in->seg, ea + 2, bsize, b);
    }
    if ((r = need_cpl0(cpu)) || (r = mem_read(cpu, in->seg, ea, 2, &lim)) ||
        (r = mem_read(cpu, in->seg, ea + 2, bsize, &base)))
        return r;
    if (!cpu->long64 && in->osz == 2)
        base &= 0xffffff;
    t->limit = (uint16_t)lim;
    t->base = base;
    return X_END;
}

/* Group 7 mod3 forms: SWAPGS, RDTSCP, CLAC/STAC, XGETBV/XSETBV, SMSW/LMSW. */
static int grp7_reg(struct interp_cpu *cpu, const struct insn *in)
{
    unsigned rm = in->rm & 7;
    if (in->ext == 7 && rm == 0 && cpu->long64) {          /* SWAPGS */
        int r = need_cpl0(cpu);
        if (r)
            return r;
        uint64_t t = cpu->st->seg[SEG_GS].base;
        cpu->st->seg[SEG_GS].base = cpu->st->msr.kernel_gs_base;
        cpu->st->msr.kernel_gs_base = t;
        seg_cache_refresh(cpu, SEG_GS);
        return X_NEXT;
    }
    if (in->ext == 4) {                                     /* SMSW r */
        set_reg(cpu, in->rm, in->osz, cpu->st->cr0 & size_mask(in->osz));
        return X_NEXT;
    }
    if (in->ext == 6) {                                     /* LMSW r */
        int r = need_cpl0(cpu);
        uint64_t cr0 = cpu->st->cr0, v = cpu->gpr[in->rm];
        return r ? r : write_cr0(cpu, (cr0 & ~UINT64_C(0xe)) | (v & 0xf) | (cr0 & CR0_PE));
    }
    if (in->ext == 1 && (rm == 2 || rm == 3)) {             /* CLAC, STAC */
        /* #UD (not #GP) outside ring 0.  CLAC drops the translations
         * only AC allowed (tlb_ac_check). */
        if (cpu->cpl > 0)
            return raise_ud(cpu);
        if (rm == 2) {
            cpu->st->rflags &= ~(uint64_t)RFLAGS_AC;
            tlb_ac_check(cpu);
        } else {
            cpu->st->rflags |= RFLAGS_AC;
        }
        return X_NEXT;
    }
    if (in->ext == 2 && rm <= 1)                            /* XGETBV, XSETBV */
        return op_xgetsetbv(cpu, rm == 1);
    if (in->ext == 7 && rm == 1) {                          /* RDTSCP */
        struct insn tmp = *in;
        tmp.opc = 0x101;
        return op_rdtsc(cpu, &tmp);
    }
    return raise_ud(cpu);
}

int op_grp7(struct interp_cpu *cpu, const struct insn *in)
{
    struct cpu_state *st = cpu->st;
    int r;
    if (in->mod3)
        return grp7_reg(cpu, in);
    switch (in->ext) {
    case 0: return table_reg_op(cpu, in, &st->gdtr, false);
    case 1: return table_reg_op(cpu, in, &st->idtr, false);
    case 2: return table_reg_op(cpu, in, &st->gdtr, true);
    case 3: return table_reg_op(cpu, in, &st->idtr, true);
    case 4: return op_rm_set(cpu, in, 2, st->cr0 & 0xffff);  /* SMSW m16 */
    case 6: {                                               /* LMSW: cannot clear PE */
        uint64_t v;
        if ((r = need_cpl0(cpu)) || (r = op_rm_get(cpu, in, 2, &v, false)))
            return r;
        return write_cr0(cpu, (st->cr0 & ~UINT64_C(0xe)) | (v & 0xf) | (st->cr0 & CR0_PE));
    }
    case 7:                                                 /* INVLPG */
        if ((r = need_cpl0(cpu)))
            return r;
        tlb_flush_page(cpu, cpu->seg[in->seg].base + insn_ea(cpu, in));
        return X_NEXT;
    default:
        return raise_ud(cpu);
    }
}
