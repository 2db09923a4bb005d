/*
 * A local APIC (xAPIC register set) for one vCPU: ID, version, TPR/PPR,
 * EOI, LDR/DFR, SVR, ISR/TMR/IRR, ESR, ICR, the LVT (timer, thermal,
 * performance, LINT0, LINT1, error) and the timer in one-shot, periodic
 * and TSC-deadline modes on the virtual clock.  Used by the interpreter
 * engine (KVM has its own in the kernel); knows nothing of engines: the
 * owner routes ICR sends and EOI broadcasts through lapic_host callbacks.
 *
 * Thread-safe: interrupts arrive from any thread (other vCPUs' IPIs,
 * IOAPIC, timer thread); register accesses come from the owning vCPU.
 * Callbacks are called without the APIC's lock held.
 */
#ifndef PETREL_LAPIC_H
#define PETREL_LAPIC_H

#include <stdbool.h>
#include <stdint.h>

struct vclock;
struct lapic;

/* The bus clock of the APIC timer: one tick per nanosecond (1 GHz). */
#define LAPIC_BUS_NS 1u

/* Delivery modes (ICR, LVT, IOAPIC redirection entries, MSI data). */
enum {
    APIC_DM_FIXED = 0, APIC_DM_LOWEST = 1, APIC_DM_SMI = 2, APIC_DM_NMI = 4,
    APIC_DM_INIT = 5, APIC_DM_SIPI = 6, APIC_DM_EXTINT = 7,
};

/* Events lapic_take_events() hands to the vCPU. */
#define LAPIC_EV_NMI  1u
#define LAPIC_EV_INIT 2u
#define LAPIC_EV_SIPI 4u

/* An interrupt message as sent on the APIC bus. */
struct apic_msg {
    uint8_t  vector;
    uint8_t  delivery_mode;     /* APIC_DM_* */
    bool     logical;           /* destination mode */
    bool     level;             /* trigger mode: level (TMR set on acceptance) */
    bool     assert;            /* level bit of the ICR (INIT de-assert is ignored) */
    uint8_t  shorthand;         /* 0 none, 1 self, 2 all, 3 all but self */
    uint32_t dest;              /* 8-bit xAPIC destination */
};

struct lapic_host {
    void *opaque;
    /* Something changed that the vCPU must look at (interrupt, event). */
    void (*notify)(void *opaque, uint32_t cpu);
    /* The guest wrote the ICR: deliver msg (src = sending CPU index). */
    void (*send)(void *opaque, uint32_t src, const struct apic_msg *msg);
    /* EOI of a level-triggered vector: the IOAPIC clears remote IRR. */
    void (*eoi)(void *opaque, uint8_t vector);
};

/* cpu is the vCPU index (APIC id at reset).  NULL when out of memory. */
struct lapic *lapic_create(struct vclock *clock, uint32_t cpu, const struct lapic_host *host);
/* Waits for a running timer callback; call before the clock goes. */
void lapic_destroy(struct lapic *apic);
/* RESET (bsp: LINT0 as ExtINT, virtual wire) or INIT (keeps the ID). */
void lapic_reset(struct lapic *apic, bool bsp, bool init);

/* Register access at offset (0..0xff0, 16-byte granularity; 4 bytes). */
uint32_t lapic_read(struct lapic *apic, uint32_t offset);
void     lapic_write(struct lapic *apic, uint32_t offset, uint32_t value);

/* IA32_APIC_BASE.EN changed: a disabled APIC takes nothing and its
 * registers reset when it comes back (the ID is kept). */
void lapic_set_hw_enabled(struct lapic *apic, bool enabled);
/* TSC-deadline timer: guest TSC value and the clock time it stands for
 * (0 = disarm). */
void     lapic_set_tsc_deadline(struct lapic *apic, uint64_t tsc, uint64_t at_ns);
uint64_t lapic_tsc_deadline(struct lapic *apic);
/* Whether CPUID may advertise TSC-deadline (it is implemented). */
#define LAPIC_HAS_TSC_DEADLINE 1

/* Does a message with this destination reach this APIC (physical or
 * flat/cluster logical; shorthands are the sender's business)? */
bool lapic_match(struct lapic *apic, uint32_t dest, bool logical);
uint8_t lapic_id(struct lapic *apic);

/* Accepts a message addressed to this APIC (any thread). */
void lapic_accept(struct lapic *apic, const struct apic_msg *msg);

/* The highest IRR vector above the processor priority, or -1. */
int  lapic_pending(struct lapic *apic);
/* INTA: moves the highest deliverable vector from IRR to ISR; -1 if none. */
int  lapic_acknowledge(struct lapic *apic);
/* LAPIC_EV_* pending since the last call (cleared); *sipi_vector set with SIPI. */
uint32_t lapic_take_events(struct lapic *apic, uint8_t *sipi_vector);
/* Events pending (without taking them). */
bool lapic_events_pending(struct lapic *apic);
/* LINT0 lets the 8259's INTR through (ExtINT, or the APIC hardware-disabled). */
bool lapic_accepts_pic(struct lapic *apic);
/* TPR bits 7:4, as CR8. */
uint8_t lapic_get_cr8(struct lapic *apic);
void    lapic_set_cr8(struct lapic *apic, uint8_t cr8);

/* Saved state: unit "lapic" (instance = vCPU), version LAPIC_SAVED_VERSION.
 * Timer times are virtual-clock nanoseconds (restore the clock first). */
#define LAPIC_SAVED_VERSION 1u
struct lapic_saved {
    uint32_t id, tpr, ldr, dfr, svr, esr, icr_lo, icr_hi;
    uint32_t lvt[7];              /* CMCI, timer, thermal, perf, LINT0, LINT1, error */
    uint32_t initial_count, divide_config;
    uint32_t isr[8], tmr[8], irr[8];
    uint32_t pad0;                /* the 64-bit fields aligned, no hidden padding */
    uint64_t timer_start_ns;      /* one-shot/periodic: when the count started */
    uint64_t tsc_deadline;        /* guest TSC (MSR 0x6E0) */
    uint64_t tsc_deadline_ns;     /* the clock time it stands for; 0 = none */
    uint32_t events;              /* LAPIC_EV_* not yet taken */
    uint8_t  sipi_vector, hw_enabled;
    uint8_t  timer_armed;         /* the count/deadline has yet to raise its interrupt */
    uint8_t  pad;
};
void lapic_save(struct lapic *apic, struct lapic_saved *out);
int  lapic_load(struct lapic *apic, const struct lapic_saved *in);

#endif /* PETREL_LAPIC_H */
