/*
 * The architectural state of one x86-64 vCPU, shared by both engines and by
 * the saved-state code.  A state read from KVM can be handed to the
 * interpreter and back without translation loss.
 */
#ifndef PETREL_CPU_STATE_H
#define PETREL_CPU_STATE_H

#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>

enum gpr_index {
    GPR_RAX, GPR_RCX, GPR_RDX, GPR_RBX, GPR_RSP, GPR_RBP, GPR_RSI, GPR_RDI,
    GPR_R8, GPR_R9, GPR_R10, GPR_R11, GPR_R12, GPR_R13, GPR_R14, GPR_R15,
    GPR_COUNT
};

/* Segment register index, in the encoding order of the ModRM sreg field. */
enum seg_index { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_LDTR, SEG_TR, SEG_COUNT };

/* Hidden segment attributes, in the layout of descriptor bits 40..55
 * (type:4 s:1 dpl:2 p:1, limit 19:16 skipped, avl:1 l:1 db:1 g:1) plus a
 * flag for a null/unusable selector. */
#define SEG_ATTR_TYPE_MASK  0x000fu
#define SEG_ATTR_S          0x0010u
#define SEG_ATTR_DPL_SHIFT  5
#define SEG_ATTR_DPL_MASK   0x0060u
#define SEG_ATTR_P          0x0080u
#define SEG_ATTR_AVL        0x1000u
#define SEG_ATTR_L          0x2000u
#define SEG_ATTR_DB         0x4000u
#define SEG_ATTR_G          0x8000u
#define SEG_ATTR_UNUSABLE   0x10000u

struct seg_reg {
    uint16_t selector;
    uint64_t base;
    uint32_t limit;      /* byte-granular (already scaled by G) */
    uint32_t attr;       /* SEG_ATTR_* */
};

struct table_reg {
    uint64_t base;
    uint16_t limit;
};

/* RFLAGS bits. */
#define RFLAGS_CF   (1u << 0)
#define RFLAGS_FIXED (1u << 1)
#define RFLAGS_PF   (1u << 2)
#define RFLAGS_AF   (1u << 4)
#define RFLAGS_ZF   (1u << 6)
#define RFLAGS_SF   (1u << 7)
#define RFLAGS_TF   (1u << 8)
#define RFLAGS_IF   (1u << 9)
#define RFLAGS_DF   (1u << 10)
#define RFLAGS_OF   (1u << 11)
#define RFLAGS_IOPL (3u << 12)
#define RFLAGS_NT   (1u << 14)
#define RFLAGS_RF   (1u << 16)
#define RFLAGS_VM   (1u << 17)
#define RFLAGS_AC   (1u << 18)
#define RFLAGS_VIF  (1u << 19)
#define RFLAGS_VIP  (1u << 20)
#define RFLAGS_ID   (1u << 21)

#define CR0_PE (1u << 0)
#define CR0_MP (1u << 1)
#define CR0_EM (1u << 2)
#define CR0_TS (1u << 3)
#define CR0_ET (1u << 4)
#define CR0_NE (1u << 5)
#define CR0_WP (1u << 16)
#define CR0_AM (1u << 18)
#define CR0_NW (1u << 29)
#define CR0_CD (1u << 30)
#define CR0_PG (1u << 31)

#define CR4_VME        (1u << 0)
#define CR4_PVI        (1u << 1)
#define CR4_TSD        (1u << 2)
#define CR4_DE         (1u << 3)
#define CR4_PSE        (1u << 4)
#define CR4_PAE        (1u << 5)
#define CR4_MCE        (1u << 6)
#define CR4_PGE        (1u << 7)
#define CR4_PCE        (1u << 8)
#define CR4_OSFXSR     (1u << 9)
#define CR4_OSXMMEXCPT (1u << 10)
#define CR4_UMIP       (1u << 11)
#define CR4_FSGSBASE   (1u << 16)
#define CR4_PCIDE      (1u << 17)
#define CR4_OSXSAVE    (1u << 18)
#define CR4_SMEP       (1u << 20)
#define CR4_SMAP       (1u << 21)

#define EFER_SCE (1u << 0)
#define EFER_LME (1u << 8)
#define EFER_LMA (1u << 10)
#define EFER_NXE (1u << 11)

/* MSRs that are part of the architectural state. */
struct cpu_msrs {
    uint64_t star, lstar, cstar, sfmask, kernel_gs_base;
    uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
    uint64_t tsc;            /* guest TSC value at the time of the snapshot */
    uint64_t tsc_aux;
    uint64_t apic_base;
    uint64_t pat;
    uint64_t misc_enable;
    uint64_t spec_ctrl;      /* IA32_SPEC_CTRL: IBRS, STIBP, SSBD as the guest set them */
};

/* x87/SSE/AVX state in the standard XSAVE layout (legacy area first), so
 * that both engines and saved state can use it as-is. */
#define CPU_XSAVE_AREA_SIZE 4096

/* Pending event (exception or interrupt being delivered when the state was
 * taken), and interruptibility. */
struct cpu_events {
    bool     exception_pending;
    uint8_t  exception_vector;
    bool     exception_has_error_code;
    uint32_t exception_error_code;
    bool     interrupt_pending;        /* external interrupt injected, not yet delivered */
    uint8_t  interrupt_vector;
    bool     nmi_pending;
    bool     nmi_masked;
    bool     interrupt_shadow;         /* STI / MOV SS shadow */
};

enum cpu_run_state {
    CPU_RUNNABLE = 0,
    CPU_HALTED,
    CPU_WAIT_FOR_SIPI,                 /* an AP after INIT, or a hot-unplugged vCPU */
};

struct cpu_state {
    uint64_t gpr[GPR_COUNT];
    uint64_t rip;
    uint64_t rflags;
    struct seg_reg seg[SEG_COUNT];
    struct table_reg gdtr, idtr;
    uint64_t cr0, cr2, cr3, cr4, cr8;
    uint64_t efer;
    uint64_t dr[4], dr6, dr7;
    uint64_t xcr0;
    struct cpu_msrs msr;
    struct cpu_events events;
    enum cpu_run_state run_state;
    uint8_t sipi_vector;
    /* Set by cpu_state_reset (RESET/INIT also reset the local APIC): an
     * engine with its own LAPIC resets it when it is handed this state.
     * States read back from an engine have it clear. */
    bool lapic_reset;
    /* The x87 error pins with CR0.NE clear (MS-DOS compatible reporting):
     * FERR# as the CPU drives it (an unmasked exception reached a waiting
     * instruction) and IGNNE# as the chipset drives it (port 0xF0 written
     * while FERR# was active; it drops when FERR# does). */
    bool x87_ferr;
    bool x87_ignne;
    uint8_t xsave[CPU_XSAVE_AREA_SIZE] __attribute__((aligned(64)));
};

/* The state of a vCPU after RESET/INIT (real mode at F000:FFF0). */
void cpu_state_reset(struct cpu_state *st, bool is_bsp);

/* A readable register dump into buf (used for guru-meditation messages). */
int cpu_state_format(const struct cpu_state *st, char *buf, size_t size);

#endif /* PETREL_CPU_STATE_H */
