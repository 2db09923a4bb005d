/*
 * KVM's interpreter fallback and the per-mode engine choice.
 *
 * kvm_fallback.c: when KVM stops with an emulation failure
 * (KVM_EXIT_INTERNAL_ERROR / KVM_INTERNAL_ERROR_EMULATION), the vCPU's state
 * goes to a per-vCPU interpreter, which finishes that instruction (and the
 * following ones while the guest stays in a mode KVM only emulates), and
 * comes back; fallbacks are counted per opcode.
 *
 * kvm_mode_select.c: /KVM/InterpretUnpagedModes — on hosts where KVM only
 * emulates real mode and unpaged protected mode (no vmx/svm: kvm_pvm), the
 * interpreter runs those modes instead of KVM_RUN.
 *
 * All functions run on the vCPU's EMT except the statistics (any thread;
 * the counters are read racily but safely).  The interpreter runs one
 * instruction per interp_execute and checks the force flags and the poke
 * flag after each, so pokes need nothing beyond the engine's own.
 */
#ifndef PETREL_KVM_FALLBACK_H
#define PETREL_KVM_FALLBACK_H

#include <stdbool.h>
#include <stddef.h>

#include "kvm_internal.h"
#include "../interp/interp.h"

#define KVM_FALLBACK_OPCODE_SLOTS 32u

/* One opcode's counter.  key: bytes 0-3, byte count << 32, (ModRM.reg+1) << 40. */
struct kvm_fallback_opcode {
    uint64_t key;
    _Atomic uint64_t count;
};

/* Per vCPU (kvm_vcpu::fallback), created on the first use. */
struct kvm_fallback {
    struct cpu_state st;               /* first: 64-byte aligned for the XSAVE area */
    struct interp_cpu *cpu;
    _Atomic unsigned n_opcodes;        /* published after the slot's key is written */
    struct kvm_fallback_opcode opcodes[KVM_FALLBACK_OPCODE_SLOTS];
    _Atomic uint64_t other;            /* opcodes beyond the table */
    _Atomic uint64_t total;            /* emulation failures finished */
    _Atomic uint64_t interpreted;      /* instructions run in unpaged modes */
};

/* --- kvm_fallback.c --- */

/* The emulation-failure exit: VINF_SUCCESS = re-enter KVM; VINF_EM_HALT,
 * VINF_EM_TRIPLE_FAULT; VERR_* with vcpu->guru_message filled. */
int  kvm_fallback_emulation_failure(PVMCPU vcpu, struct kvm_vcpu *kv);

/* Runs the interpreter while the guest stays in an unpaged mode (called
 * before KVM_RUN when kvm_mode_select_interp() says so).  *to_core is set
 * when a poke or force flag needs the core; the return value is as above. */
int  kvm_fallback_interpret(PVMCPU vcpu, struct kvm_vcpu *kv, bool *to_core);

/* engine_ops.set_state: kvm_set_state, and notes the guest's mode. */
int  kvm_fallback_set_state(PVMCPU vcpu, const struct cpu_state *st);

/* Frees the vCPU's interpreter (vm_term, no EMT runs any more). */
void kvm_fallback_free(struct kvm_vcpu *kv);

/* --- kvm_fallback_stats.c --- */

/* Counts one fallback at the instruction bytes p[0..n) and logs the first
 * one of each opcode and the totals every 1000. */
void kvm_fallback_count_insn(PVMCPU vcpu, struct kvm_fallback *fb, const uint8_t *p, size_t n, bool long64);

/* "0f 01 d0" for bytes (guru messages, logs). */
void kvm_fallback_format_bytes(const uint8_t *p, size_t n, char *buf, size_t size);

/* "f0 0f c7/1: 12, cc: 1" (all vCPUs; "none" without fallbacks) plus the
 * instructions interpreted in unpaged modes.  Returns the length written. */
size_t kvm_fallback_stats(PVM vm, char *buf, size_t size);

/* Total emulation failures finished by the interpreter (all vCPUs), and
 * the count of one opcode key as kvm_fallback_stats prints it ("cc"). */
uint64_t kvm_fallback_total(PVM vm);
uint64_t kvm_fallback_count(PVM vm, const char *key);

/* Instructions the interpreter ran in unpaged modes (all vCPUs). */
uint64_t kvm_fallback_interpreted(PVM vm);

/* Writes the counts to the VM log (vm_term: after power-off). */
void kvm_fallback_log_stats(PVM vm);

/* --- kvm_mode_select.c --- */

/* Reads /KVM/InterpretUnpagedModes into kv (vcpu_init). */
int  kvm_mode_select_init(PVMCPU vcpu, struct kvm_vcpu *kv);

/* True when the host CPU has no vmx/svm flag, i.e. KVM emulates unpaged
 * modes in software (the default of /KVM/InterpretUnpagedModes). */
bool kvm_mode_host_emulates_unpaged(void);

/* Before each KVM_RUN: should the interpreter run instead?  Cheap unless
 * the guest may be unpaged (one KVM_GET_SREGS, every 256th time otherwise). */
bool kvm_mode_select_interp(PVMCPU vcpu, struct kvm_vcpu *kv);

/* Whether st may run in the interpreter instead of KVM's emulator:
 * unpaged, runnable, no event in flight, and (with KVM's irqchip, which
 * only delivers inside KVM_RUN) interrupts disabled. */
bool kvm_mode_interp_eligible(const struct cpu_state *st, bool irqchip);

/* True if the instruction at the unpaged st's CS:RIP must run in KVM:
 * CPUID (the interpreter has its own CPU model), port I/O to KVM's
 * in-kernel PIC/PIT (irqchip), or unreadable code. */
bool kvm_mode_next_is_kvms(PVM vm, const struct cpu_state *st, bool irqchip);

#endif /* PETREL_KVM_FALLBACK_H */
