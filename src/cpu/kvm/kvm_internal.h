/*
 * Private state of the KVM engine, shared by the files of src/cpu/kvm/.
 */
#ifndef PETREL_KVM_INTERNAL_H
#define PETREL_KVM_INTERNAL_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "../../core/vm_internal.h"

/* Per VM (VM::engine_data). */
struct kvm_vm {
    int   kvm_fd;
    int   vm_fd;
    int   run_size;                  /* bytes of each vCPU's kvm_run mapping */
    bool  has_xsave, has_xcrs, has_debugregs;
    bool  has_irqchip;               /* in-kernel PIC + IOAPIC + LAPIC and PIT (/KVM/IrqChip) */
    bool  has_tsc_deadline;          /* KVM_CAP_TSC_DEADLINE_TIMER (needs the irqchip) */
    bool  has_adjust_clock;          /* KVM_CAP_ADJUST_CLOCK: kvmclock can be saved/restored */
    bool  tsc_offsettable;           /* guest RDTSC honours KVM's TSC offset (not kvm_pvm) */
    struct kvm_cpuid2 *supported_cpuid;
    /* Power-on states of the in-kernel PIC master/slave, IOAPIC and PIT (VM reset). */
    struct kvm_irqchip  reset_chip[3];
    struct kvm_pit_state2 reset_pit;
    /* Guest time while suspended (vm_pause .. vm_resume). */
    pthread_mutex_t pause_lock;
    bool     paused;
    struct kvm_clock_data paused_clock;
    uint64_t paused_tsc[VMM_MAX_CPU_COUNT];
    /* vCPUs live until vm_term so a late poke never touches freed memory. */
    struct kvm_vcpu *vcpus[VMM_MAX_CPU_COUNT];
};

/* Per vCPU (VMCPU::engine_data). */
struct kvm_vcpu {
    int              fd;
    struct kvm_run  *run;
    int              run_size;
    pthread_t        thread;         /* the EMT, target of the poke signal */
    atomic_bool      poke_pending;   /* set by poke(), consumed by run() */
    atomic_bool      in_run;         /* between the poke check and KVM_RUN's return */
    bool             halted;         /* stopped at HLT; run() resumes after it */
    bool             parked;         /* wait-for-SIPI without an irqchip: nothing to run */
    uint8_t          sipi_vector;
    bool             has_reset_lapic;
    struct kvm_lapic_state reset_lapic;  /* the LAPIC as KVM created it (this vCPU's APIC id) */
    /* Interpreter fallback and per-mode engine choice (kvm_fallback.c, kvm_mode_select.c). */
#define KVM_VCPU_HAS_FALLBACK 1
    struct kvm_fallback *fallback;   /* created on first use; freed by vm_term */
    bool             interpret_unpaged;  /* /KVM/InterpretUnpagedModes */
    bool             maybe_unpaged;  /* last known mode unpaged: check it before KVM_RUN */
    uint32_t         runs_since_check;   /* run-loop rounds since the last mode check */
};

static inline struct kvm_vm *kvm_vm_of(PVM vm) { return vm->engine_data; }
static inline struct kvm_vcpu *kvm_vcpu_of(PVMCPU vcpu)
{
    return __atomic_load_n((struct kvm_vcpu **)&vcpu->engine_data, __ATOMIC_ACQUIRE);
}

/* kvm_vcpu.c */
int  kvm_vcpu_init(PVMCPU vcpu);
void kvm_vcpu_term(PVMCPU vcpu);

/* kvm_cpuid.c */
int  kvm_cpuid_fetch_supported(PVM vm, struct kvm_vm *kvm);
int  kvm_cpuid_apply(PVMCPU vcpu, struct kvm_vm *kvm, int vcpu_fd);

/* kvm_irqchip.c */
int  kvm_irqchip_create(PVM vm, struct kvm_vm *kvm);
int  kvm_irqchip_vcpu_init(PVMCPU vcpu, struct kvm_vm *kvm, struct kvm_vcpu *kv);
int  kvm_irqchip_reset_vm(PVMCPU vcpu, struct kvm_vm *kvm);
int  kvm_irqchip_reset_lapic(PVMCPU vcpu, struct kvm_vcpu *kv);
void kvm_irq_set(PVM vm, uint32_t gsi, int level);
int  kvm_msi_send(PVM vm, uint64_t addr, uint32_t data);

/* kvm_clock.c */
void kvm_vm_pause(PVM vm);
void kvm_vm_resume(PVM vm);

/* kvm_poke.c */
int  kvm_poke_prepare_thread(void);
void kvm_poke(PVMCPU vcpu);

/* kvm_run.c, kvm_exit_io.c, kvm_guru.c */
int  kvm_run(PVMCPU vcpu);
int  kvm_exit_io(PVMCPU vcpu, struct kvm_vcpu *kv);
int  kvm_exit_mmio(PVMCPU vcpu, struct kvm_vcpu *kv);
int  kvm_guru(PVMCPU vcpu, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* kvm_state.c, kvm_state_fpu.c, kvm_state_msrs.c */
int  kvm_get_state(PVMCPU vcpu, struct cpu_state *st);
int  kvm_set_state(PVMCPU vcpu, const struct cpu_state *st);
int  kvm_get_fpu_state(PVMCPU vcpu, struct kvm_vm *kvm, int fd, struct cpu_state *st);
int  kvm_set_fpu_state(PVMCPU vcpu, struct kvm_vm *kvm, int fd, const struct cpu_state *st);
int  kvm_get_msrs(PVMCPU vcpu, int fd, struct cpu_msrs *m);
int  kvm_set_msrs(PVMCPU vcpu, int fd, const struct cpu_msrs *m);

/* An ioctl that failed on the vCPU: raises a VM error naming it. */
int  kvm_ioctl_error(PVMCPU vcpu, const char *what);

#endif /* PETREL_KVM_INTERNAL_H */
