/*
 * The one interface between the VM core and an execution engine (KVM or the
 * interpreter).  The core never includes kvm/ or interp/ headers; it picks an
 * engine with engine_select() and calls through these operations.
 *
 * Threading: vcpu_* operations run on the vCPU's own EMT, except poke(),
 * which any thread may call to make run() return promptly.
 */
#ifndef PETREL_CPU_ENGINE_H
#define PETREL_CPU_ENGINE_H

#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>

#include "cpu_state.h"

struct VM;
struct VMCPU;

struct engine_ops {
    const char *name;          /* "kvm", "interp" */
    uint8_t     exec_engine;   /* VM_EXEC_ENGINE_* reported to the API */

    /* Machine-wide set-up after guest RAM and the I/O bus exist (EMT(0)).
     * Returns a VBox status; on failure it has raised a VM error. */
    int  (*vm_init)(struct VM *vm);
    void (*vm_term)(struct VM *vm);

    /* Per vCPU, on its EMT. */
    int  (*vcpu_init)(struct VMCPU *vcpu);
    void (*vcpu_term)(struct VMCPU *vcpu);

    /*
     * Run guest code until something needs the core.  Port I/O and MMIO are
     * dispatched to the I/O bus inside the engine.  Returns:
     *   VINF_SUCCESS       poked, or a force flag needs attention
     *   VINF_EM_HALT       the guest executed HLT with nothing pending
     *   VINF_EM_TRIPLE_FAULT
     *   VINF_EM_OFF / VINF_EM_RESET / VINF_EM_SUSPEND  a device asked for it
     *   VERR_*             unrecoverable: the caller enters guru meditation;
     *                      the engine has put a message in vcpu->guru_message
     */
    int  (*run)(struct VMCPU *vcpu);

    /* Make run() return soon; any thread, async-signal-safe where needed. */
    void (*poke)(struct VMCPU *vcpu);

    /* Architectural state transfer (EMT of the vCPU). */
    int  (*get_state)(struct VMCPU *vcpu, struct cpu_state *st);
    int  (*set_state)(struct VMCPU *vcpu, const struct cpu_state *st);

    /* Interrupt line from the device models (any thread). */
    void (*irq_set)(struct VM *vm, uint32_t gsi, int level);

    /* A message-signalled interrupt (PCI MSI/MSI-X): addr 0xFEExxxxx with
     * the destination APIC id in bits 19:12, data with the vector, delivery
     * and trigger mode (any thread).  VBox status.  May be NULL: no MSI. */
    int  (*msi_send)(struct VM *vm, uint64_t addr, uint32_t data);

    /* Whether the guest's vCPU has an interrupt it could take now (used by
     * the halt wait).  May be NULL: the engine then wakes itself. */
    bool (*interrupt_pending)(struct VMCPU *vcpu);

    /* Guest time across a suspend (may be NULL).  The core calls vm_pause
     * when the VM stops running (suspend, before saving) and vm_resume
     * before it runs again, once each, on an EMT while no vCPU is inside
     * run(): the engine keeps guest clocks (KVM: kvmclock and the TSCs) from
     * jumping by the time spent suspended.  Repeated calls are harmless. */
    void (*vm_pause)(struct VM *vm);
    void (*vm_resume)(struct VM *vm);

    /* True when the engine emulates the PIC, IOAPIC, local APICs and PIT
     * itself (KVM's in-kernel irqchip, /KVM/IrqChip): their ports and MMIO
     * never reach the I/O bus, so the machine must not create device models
     * for them; irq_set() feeds the engine's chips.  May be NULL (= false).
     * Valid after vm_init. */
    bool (*irqchip_in_engine)(struct VM *vm);

    /* A one-line readable summary of engine-specific counters (KVM: the
     * interpreter fallbacks per opcode) into buf, NUL-terminated.  May be
     * NULL (= none).  Any thread, between vm_init and vm_term.  Returns a
     * VBox status: VERR_BUFFER_OVERFLOW when the text did not fit (buf then
     * holds as much as fit). */
    int  (*stats)(struct VM *vm, char *buf, size_t size);

    /*
     * Saved state of machine parts the engine owns (the interpreter's PIC
     * and PIT, KVM's in-kernel irqchip and PIT), exchanged as Petrel's
     * engine-neutral device structs (struct i8259_saved for unit "i8259",
     * struct i8254_saved for "i8254", struct ioapic_saved for "ioapic",
     * struct lapic_saved for "lapic" with instance = vCPU, ...) so that a
     * state saved under one engine loads under the other.  EMT(0), VM not
     * running.  Return VERR_NOT_FOUND for a unit the engine does not own;
     * load validates (VERR_SSM_UNEXPECTED_DATA).  May be NULL: the engine
     * owns none.
     */
    int  (*device_state_save)(struct VM *vm, const char *unit, uint32_t instance, void *saved, size_t size);
    int  (*device_state_load)(struct VM *vm, const char *unit, uint32_t instance, const void *saved, size_t size);

    /*
     * The guest-visible CPU feature words of the saved-state fingerprint
     * (CPUID 1 ECX/EDX, 7.0 EBX/ECX/EDX, 0x80000001 ECX/EDX, 0xD.0 EAX, in
     * that order).  May be NULL: the engine reports none (all zero).
     */
    void (*cpu_features)(struct VM *vm, uint32_t words[8]);

    /*
     * Dirty-page log for live save and teleport (pages indexed as in
     * struct guest_ram: host offset / 4096).  start: from now on every
     * guest write is logged; fetch: ORs into out (one bit per page) the
     * pages written since start or the previous fetch and clears them,
     * consistently against running vCPUs; stop: logging ends.  Foreign
     * thread only (they use EMT rendezvous).  May be NULL: no log, and a
     * live save resends all RAM in its final pass.
     */
    int  (*dirty_log_start)(struct VM *vm);
    int  (*dirty_log_fetch)(struct VM *vm, uint8_t *out);
    void (*dirty_log_stop)(struct VM *vm);
};

/*
 * Picks an engine by name: "kvm", "interp" or "auto".  Fills why with the
 * reason for the choice (one line for the log), or, returning NULL, with why
 * the engine is not available (for the error message).
 */
const struct engine_ops *engine_select(const char *name, char *why, size_t why_size);

#endif /* PETREL_CPU_ENGINE_H */
