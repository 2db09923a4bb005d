/*
 * Architectural reset state of a vCPU and a readable register dump.
 * Reset values follow the Intel SDM, "Processor state following power-up,
 * reset or INIT" (vol. 3A, 10.1.1).
 */
#include "cpu_state.h"

#include <stdio.h>
#include <string.h>

/* Family 6, model 0, stepping 0 in EDX after reset, as a generic P6. */
#define RESET_EDX          0x600u
#define RESET_PAT          UINT64_C(0x0007040600070406)
#define APIC_BASE_DEFAULT  UINT64_C(0xfee00000)
#define APIC_BASE_BSP      (UINT64_C(1) << 8)
#define APIC_BASE_ENABLE   (UINT64_C(1) << 11)
#define MISC_ENABLE_FAST_STRINGS 1u

/* Offsets into the legacy XSAVE area. */
#define XSAVE_FCW_OFF        0
#define XSAVE_MXCSR_OFF     24
#define XSAVE_XSTATE_BV_OFF 512

static void seg_set(struct seg_reg *s, uint16_t sel, uint64_t base, uint32_t limit, uint32_t attr)
{
    s->selector = sel;
    s->base = base;
    s->limit = limit;
    s->attr = attr;
}

static void xsave_reset(uint8_t *xs)
{
    uint16_t fcw = 0x037f;
    uint32_t mxcsr = 0x1f80;
    uint64_t xstate_bv = 3;            /* x87 and SSE state present (at their init values) */
    memset(xs, 0, CPU_XSAVE_AREA_SIZE);
    memcpy(xs + XSAVE_FCW_OFF, &fcw, sizeof(fcw));
    memcpy(xs + XSAVE_MXCSR_OFF, &mxcsr, sizeof(mxcsr));
    memcpy(xs + XSAVE_XSTATE_BV_OFF, &xstate_bv, sizeof(xstate_bv));
}

void cpu_state_reset(struct cpu_state *st, bool is_bsp)
{
    const uint32_t data_attr = SEG_ATTR_P | SEG_ATTR_S | 0x3;  /* read/write, accessed */
    memset(st, 0, sizeof(*st));
    st->gpr[GPR_RDX] = RESET_EDX;
    st->rip = 0xfff0;
    st->rflags = RFLAGS_FIXED;
    for (int i = 0; i < SEG_COUNT; i++)
        seg_set(&st->seg[i], 0, 0, 0xffff, data_attr);
    seg_set(&st->seg[SEG_CS], 0xf000, 0xffff0000, 0xffff, SEG_ATTR_P | SEG_ATTR_S | 0xb);
    seg_set(&st->seg[SEG_LDTR], 0, 0, 0xffff, SEG_ATTR_P | 0x2);    /* LDT */
    seg_set(&st->seg[SEG_TR], 0, 0, 0xffff, SEG_ATTR_P | 0xb);      /* busy 32-bit TSS */
    st->gdtr.limit = 0xffff;
    st->idtr.limit = 0xffff;
    st->cr0 = CR0_CD | CR0_NW | CR0_ET;
    st->dr6 = 0xffff0ff0;
    st->dr7 = 0x400;
    st->xcr0 = 1;
    st->msr.pat = RESET_PAT;
    st->msr.apic_base = APIC_BASE_DEFAULT | APIC_BASE_ENABLE | (is_bsp ? APIC_BASE_BSP : 0);
    st->msr.misc_enable = MISC_ENABLE_FAST_STRINGS;
    st->run_state = is_bsp ? CPU_RUNNABLE : CPU_WAIT_FOR_SIPI;
    st->lapic_reset = true;
    xsave_reset(st->xsave);
}

/* snprintf that keeps appending to buf while tracking the total length. */
#define APPEND(...) do { \
        int n_ = snprintf(buf + (len < size ? len : size), len < size ? size - len : 0, __VA_ARGS__); \
        if (n_ > 0) len += (size_t)n_; \
    } while (0)

int cpu_state_format(const struct cpu_state *st, char *buf, size_t size)
{
    static const char *const gpr_names[GPR_COUNT] = {
        "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
        "r8 ", "r9 ", "r10", "r11", "r12", "r13", "r14", "r15" };
    static const char *const seg_names[SEG_COUNT] = { "es", "cs", "ss", "ds", "fs", "gs", "ldtr", "tr" };
    static const char *const run_names[] = { "runnable", "halted", "wait-for-sipi" };
    size_t len = 0;
    if (size)
        buf[0] = '\0';
    for (int i = 0; i < GPR_COUNT; i++)
        APPEND("%s=%016llx%s", gpr_names[i], (unsigned long long)st->gpr[i], i % 4 == 3 ? "\n" : " ");
    APPEND("rip=%016llx rflags=%08llx\n", (unsigned long long)st->rip, (unsigned long long)st->rflags);
    for (int i = 0; i < SEG_COUNT; i++)
        APPEND("%-4s=%04x base=%016llx limit=%08x attr=%05x\n", seg_names[i], st->seg[i].selector,
               (unsigned long long)st->seg[i].base, st->seg[i].limit, st->seg[i].attr);
    APPEND("gdtr=%016llx:%04x idtr=%016llx:%04x\n", (unsigned long long)st->gdtr.base, st->gdtr.limit,
           (unsigned long long)st->idtr.base, st->idtr.limit);
    APPEND("cr0=%016llx cr2=%016llx cr3=%016llx\ncr4=%016llx cr8=%016llx efer=%016llx\n",
           (unsigned long long)st->cr0, (unsigned long long)st->cr2, (unsigned long long)st->cr3,
           (unsigned long long)st->cr4, (unsigned long long)st->cr8, (unsigned long long)st->efer);
    APPEND("dr6=%016llx dr7=%016llx xcr0=%016llx\n", (unsigned long long)st->dr6,
           (unsigned long long)st->dr7, (unsigned long long)st->xcr0);
    APPEND("events: exc=%s%u err=%x irq=%s%u nmi=%s%s shadow=%d state=%s",
           st->events.exception_pending ? "+" : "-", st->events.exception_vector,
           st->events.exception_error_code, st->events.interrupt_pending ? "+" : "-",
           st->events.interrupt_vector, st->events.nmi_pending ? "pending" : "none",
           st->events.nmi_masked ? ",masked" : "", st->events.interrupt_shadow,
           (unsigned)st->run_state < 3 ? run_names[st->run_state] : "?");
    return (int)len;
}
