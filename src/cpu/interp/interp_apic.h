/*
 * The interpreter engine's APIC system: one local APIC per vCPU (its MMIO
 * page, IA32_APIC_BASE, TSC-deadline MSR, CR8 and CPUID seen only by that
 * vCPU), the IOAPIC on the I/O bus, the message routing between them
 * (IPIs, IOAPIC, MSI), and the acceptance of interrupts, NMI, INIT and
 * SIPI by a vCPU between interpreter chunks.
 */
#ifndef PETREL_INTERP_APIC_H
#define PETREL_INTERP_APIC_H

#include <stdbool.h>
#include <stdint.h>

#include "../../devices/ioapic.h"
#include "../../devices/lapic.h"
#include "interp.h"

struct VM;
struct VMCPU;
struct i8259;
struct apic_system;

/* One vCPU's view (embedded in the engine's per-vCPU data). */
struct apic_vcpu {
    struct apic_system *sys;
    struct VMCPU *vcpu;
    struct cpu_state *st;
    struct interp_cpu *cpu;
    struct lapic *lapic;
    uint8_t cr8_synced;          /* st->cr8 as last given to the guest */
    bool nmi_pending;            /* waiting for the previous NMI's IRET */
};

/* Creates the IOAPIC on vm->io; NULL (error set) on failure. */
struct apic_system *apic_system_create(struct VM *vm, struct i8259 *pic);
void apic_system_destroy(struct apic_system *sys);
struct ioapic *apic_system_ioapic(struct apic_system *sys);

/* Per vCPU, on its EMT, once st and cpu exist.  VBox status. */
int  apic_vcpu_init(struct apic_system *sys, struct apic_vcpu *av, struct VMCPU *vcpu,
                    struct cpu_state *st, struct interp_cpu *cpu);
void apic_vcpu_term(struct apic_vcpu *av);
/* The interp_io of this vCPU: the bus, with its APIC page, MSRs and CPUID on top. */
struct interp_io apic_vcpu_io(struct apic_vcpu *av);
/* The engine was handed a new state (reset, load): lapic_reset flag, CR8. */
void apic_vcpu_state_set(struct apic_vcpu *av);

/* Takes what is pending for this vCPU before a chunk (INIT, SIPI, NMI, one
 * interrupt).  Returns false while it waits for SIPI (nothing to run). */
bool apic_vcpu_service(struct apic_vcpu *av);
/* After a chunk: CR8 written by the guest reaches the TPR.  Returns true
 * when an interrupt waits for the guest to enable interrupts (the engine
 * runs short chunks then, to take it soon after STI). */
bool apic_vcpu_after_chunk(struct apic_vcpu *av);
/* For the halt wait: something this vCPU would take now. */
bool apic_vcpu_wake_pending(struct apic_vcpu *av);

/* Interrupt inputs. */
void apic_system_irq(struct apic_system *sys, uint32_t gsi, int level);
int  apic_system_msi(struct apic_system *sys, uint64_t addr, uint32_t data);

#endif /* PETREL_INTERP_APIC_H */
