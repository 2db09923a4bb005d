/*
 * Petrel's x86 interpreter: the public surface.
 *
 * The interpreter runs guest code on a struct cpu_state over a struct
 * guest_ram and an I/O callback table.  It knows nothing of struct VM, so it
 * serves both as the main engine (interp_engine.c) and as KVM's fallback for
 * instructions KVM cannot emulate, and it can be unit-tested on its own.
 *
 * Threading: one interp_cpu belongs to one thread (the vCPU's EMT); only
 * interp_poke() may be called from elsewhere.
 *
 * As KVM's fallback: keep one interp_cpu per vCPU over a cpu_state of its
 * own.  On an emulation failure, fill that state from KVM, call
 * interp_flush_code() and interp_state_changed(), run interp_execute(cpu, n)
 * with a small n (1 for one instruction; more while the guest stays in a
 * mode KVM only emulates), then write the state back and re-enter KVM.
 */
#ifndef PETREL_CPU_INTERP_H
#define PETREL_CPU_INTERP_H

#include <stdint.h>
#include <stdbool.h>

#include "../cpu_state.h"
#include "../../memory/guest_ram.h"

/* Port I/O and MMIO as the interpreter sees them (the engine wires these to
 * the I/O bus; tests supply their own).  Any member may be NULL: unclaimed
 * ports and MMIO read as all ones and ignore writes. */
struct interp_io {
    void     *opaque;
    uint32_t (*port_read)(void *opaque, uint16_t port, unsigned size);
    void     (*port_write)(void *opaque, uint16_t port, unsigned size, uint32_t value);
    uint64_t (*mmio_read)(void *opaque, uint64_t gpa, unsigned size);
    void     (*mmio_write)(void *opaque, uint64_t gpa, unsigned size, uint64_t value);
    /* The engine's local APIC (may be NULL).  MSR hooks return 1 when they
     * handled the MSR, 0 to leave it to the interpreter, -1 for #GP; the
     * CPUID hook adjusts what the interpreter computed (regs: EAX EBX ECX EDX). */
    int      (*msr_read)(void *opaque, uint32_t msr, uint64_t *value);
    int      (*msr_write)(void *opaque, uint32_t msr, uint64_t value);
    void     (*cpuid)(void *opaque, uint32_t leaf, uint32_t subleaf, uint32_t regs[4]);
    /* The FERR# pin (CR0.NE clear): asserted when a waiting x87
     * instruction finds an unmasked exception pending and freezes,
     * deasserted when FSW.ES clears.  The chipset answers through
     * cpu_state.x87_ignne.  NULL: the pin is unconnected and such an
     * instruction proceeds as if IGNNE# were active. */
    void     (*ferr)(void *opaque, bool asserted);
};

struct interp_cpu;
struct io_bus;

/* The interp_io that routes port I/O and MMIO to a VM's I/O bus. */
struct interp_io interp_io_for_bus(struct io_bus *bus);

/* Creates an interpreter for the state *st over ram (both stay owned by the
 * caller and must outlive it).  Returns NULL when out of memory. */
struct interp_cpu *interp_cpu_create(struct cpu_state *st, struct guest_ram *ram,
                                     const struct interp_io *io);
void interp_cpu_destroy(struct interp_cpu *cpu);

/*
 * Executes up to max_instructions guest instructions (0 = no limit other than
 * a poke).  Returns:
 *   VINF_SUCCESS          the budget ran out or the CPU was poked
 *   VINF_EM_HALT          HLT (st->run_state is CPU_HALTED, RIP past HLT), or a
 *                         waiting x87 instruction frozen by FERR# (RIP at it:
 *                         it runs again once an interrupt woke the vCPU)
 *   VINF_EM_TRIPLE_FAULT  an exception could not be delivered
 *   VERR_*                an interpreter limitation; interp_last_error() says which
 * The state is fully written back to *st on return (RFLAGS included).
 */
int interp_execute(struct interp_cpu *cpu, uint64_t max_instructions);

/* While on, interp_execute returns as soon as RFLAGS.IF (outside an
 * interrupt shadow) would let an interrupt in: the caller has one waiting. */
void interp_request_irq_window(struct interp_cpu *cpu, bool on);

/* Makes a running interp_execute() return VINF_SUCCESS at the next block end
 * (any thread, async-signal-safe). */
void interp_poke(struct interp_cpu *cpu);

/* Call after changing *st from outside (KVM hand-over, set_state): drops the
 * TLB and re-reads the mode. */
void interp_state_changed(struct interp_cpu *cpu);

/* Guest RAM [gpa, gpa+len) was written behind the interpreter's back (DMA,
 * loader): forget decoded code there. */
void interp_invalidate_code(struct interp_cpu *cpu, uint64_t gpa, uint64_t len);

/* Makes cpu use the decoded-code marks of with (same guest RAM), so that
 * code one vCPU writes is re-decoded by every vCPU that runs it.  The
 * vCPU's own thread, before it runs; 0, or -1 for a different RAM. */
int interp_cpu_share_code(struct interp_cpu *cpu, struct interp_cpu *with);

/* Drops the TLB only (EMT of the vCPU, not inside interp_execute): the
 * next write to each page goes through the slow path again, which marks
 * it in ram->dirty_bitmap (a live save's dirty log starts a new round). */
void interp_tlb_flush(struct interp_cpu *cpu);

/* Forgets all decoded code at once (O(1)): after a reset, after a loader
 * wrote the image, or before a KVM fallback (KVM's writes are invisible). */
void interp_flush_code(struct interp_cpu *cpu);

/* For an idle vCPU: gives the host back the decoded-block pages not in use
 * (dead blocks from before the arena was last emptied), with drop_code all
 * of them after forgetting every block (its idle loop is decoded again, in
 * few pages).  Touching them again costs page faults: not while busy.  The
 * vCPU's thread, outside interp_execute. */
void interp_release_idle_memory(struct interp_cpu *cpu, bool drop_code);

/* Moves the guest's TSC by delta ticks (negative after a pause: the guest
 * does not see the time the VM spent suspended).  The vCPU's thread, or
 * any thread while it is not executing. */
void interp_tsc_adjust(struct interp_cpu *cpu, int64_t delta);

/* Whether an external interrupt could be delivered now (RFLAGS.IF set, no
 * STI/MOV SS shadow): check before acknowledging one at the controller. */
bool interp_interrupts_enabled(const struct interp_cpu *cpu);

/* Delivers an external interrupt now if RFLAGS.IF allows it and there is no
 * interrupt shadow; returns true if it was delivered. */
bool interp_inject_interrupt(struct interp_cpu *cpu, uint8_t vector);

/* Delivers an NMI now unless one is being handled (NMIs blocked until the
 * next IRET); returns true if it was delivered (interp_events.c). */
bool interp_inject_nmi(struct interp_cpu *cpu);

/* The guest TSC, and its offset from the host's (all vCPUs of a VM share
 * one: an AP started by INIT/SIPI takes the BSP's). */
uint64_t interp_guest_tsc(const struct interp_cpu *cpu);
uint64_t interp_tsc_offset(const struct interp_cpu *cpu);
void     interp_set_tsc_offset(struct interp_cpu *cpu, uint64_t offset);

/* Why the last VERR_* was returned (a readable sentence). */
const char *interp_last_error(const struct interp_cpu *cpu);

/* Instructions retired since creation. */
uint64_t interp_instructions_retired(const struct interp_cpu *cpu);

/* Blocks the block compiler has compiled since creation (jit.h). */
uint64_t interp_compiled_blocks(const struct interp_cpu *cpu);

#endif /* PETREL_CPU_INTERP_H */
