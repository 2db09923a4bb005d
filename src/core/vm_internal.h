/*
 * The VM core's internal structures: the user-mode VM (UVM, the handle the
 * API hands out), the VM, and the per-vCPU halves of both.  Only src/core/,
 * engines, devices and tests include this; embedders see opaque handles.
 */
#ifndef PETREL_VM_INTERNAL_H
#define PETREL_VM_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

#include <vmm/vmapi.h>
#include <vmm/vmm.h>

#include "../cpu/engine.h"
#include "../memory/guest_ram.h"
#include "../io/io_bus.h"
#include "../devices/device.h"
#include "adaptive_poll.h"
#include "sem_event.h"

#define UVM_MAGIC       UINT32_C(0x19700823)
#define UVM_MAGIC_DEAD  UINT32_MAX
#define VMM_MAX_CPU_COUNT 64

/* VM-wide force-action flags (VM::ff). */
#define VM_FF_REQUEST            RT_BIT_32(0)  /* global normal queue has work */
#define VM_FF_PRIORITY_REQUEST   RT_BIT_32(1)  /* global priority queue has work */
#define VM_FF_EMT_RENDEZVOUS     RT_BIT_32(2)  /* all EMTs must join a rendezvous */
#define VM_FF_CHECK_VM_STATE     RT_BIT_32(3)  /* state changed: leave guest code */
#define VM_FF_RESET              RT_BIT_32(4)  /* the guest asked for a reset */
#define VM_FF_POWER_OFF          RT_BIT_32(5)  /* the guest asked for power-off */
#define VM_FF_TERMINATE          RT_BIT_32(6)  /* EMTs must exit their loops */
#define VM_FF_TRIPLE_FAULT       RT_BIT_32(7)  /* reset source: triple fault */

/* Per-vCPU force-action flags (VMCPU::ff). */
#define VMCPU_FF_REQUEST           RT_BIT_32(0)  /* own normal queue has work */
#define VMCPU_FF_PRIORITY_REQUEST  RT_BIT_32(1)  /* own priority queue has work */
#define VMCPU_FF_INTERRUPT         RT_BIT_32(2)  /* an interrupt is pending (wakes HLT) */
#define VMCPU_FF_UNHALT            RT_BIT_32(3)
#define VMCPU_FF_DEVICE_READY      RT_BIT_32(4)  /* VMR3NotifyCpuDeviceReady */

/* Rendezvous flags (order and error policy). */
#define VMMEMTRENDEZVOUS_ORDER_ALL_AT_ONCE  1u
#define VMMEMTRENDEZVOUS_ORDER_ONE_BY_ONE   2u   /* ascending */
#define VMMEMTRENDEZVOUS_ORDER_DESCENDING   3u
#define VMMEMTRENDEZVOUS_ORDER_ONCE         4u   /* only the last to arrive runs it */
#define VMMEMTRENDEZVOUS_ORDER_MASK         7u
#define VMMEMTRENDEZVOUS_STOP_ON_ERROR      8u
#define VMMEMTRENDEZVOUS_PRIORITY           16u  /* the caller used a priority request */

typedef int (*vm_rendezvous_worker)(PVM vm, PVMCPU vcpu, void *user);

struct vm_req_queue {
    pthread_mutex_t lock;
    PVMREQ head, tail;       /* FIFO through VMREQ::pNext */
};

struct vm_callback {
    struct vm_callback *next;
    void (*fn)(void);        /* FNVMATSTATE / FNVMATERROR / FNVMATRUNTIMEERROR */
    void *user;
};

struct UVMCPU {
    PUVM         pUVM;
    PVM _Atomic  pVM;        /* NULL until the VM exists */
    PVMCPU _Atomic pVCpu;
    VMCPUID      idCpu;
    pthread_t    thread;
    pid_t        tid;
    bool         thread_started;
    struct vm_req_queue req_normal, req_priority;
    atomic_uint  wake_seq;   /* futex word: bumped by every notification */
    atomic_bool  waiting;    /* blocked in an EMT wait */
    atomic_bool  in_guest;   /* inside engine->run: a notification pokes it */
    struct adaptive_poll halt_poll;  /* a halted wait's spin (EMT only; vm_emt.c) */
    /* Held while poking and while the VMCPU goes away, so a notifier never
     * pokes a freed vCPU (the UVMCPU outlives the VM). */
    pthread_mutex_t poke_lock;
};

struct UVM {
    uint32_t        u32Magic;
    atomic_uint     refs;
    uint32_t        cCpus;
    PVM _Atomic     pVM;
    PCVMM2USERMETHODS vmm2user;

    pthread_mutex_t state_cb_lock;           /* at-state list and transitions */
    struct vm_callback *at_state;
    pthread_mutex_t error_lock;              /* at-error and runtime-error lists */
    struct vm_callback *at_error, *at_runtime_error;
    atomic_uint     error_count, runtime_error_count;

    struct vm_req_queue req_global_normal, req_global_priority;
    pthread_mutex_t req_free_lock;           /* recycled packets */
    PVMREQ          req_free;
    unsigned        req_free_count;

    atomic_bool     emts_terminate;          /* EMT loops exit */
    atomic_uint     active_emts;
    char           *name;                    /* from config "Name" */
    RTUUID          uuid;
    atomic_bool     power_off_instead_of_reset;

    struct UVMCPU   aCpus[];                 /* cCpus entries */
};

struct VMCPU {
    PVM          pVM;
    PUVMCPU      pUVCpu;
    VMCPUID      idCpu;
    atomic_uint  ff;                         /* VMCPU_FF_* */
    atomic_bool  started;                    /* powered on, may run guest code */
    void        *engine_data;                /* the engine's per-vCPU state */
    char         guru_message[4096];         /* set by the engine on a VERR_* from run() */

    /* Execution cap accounting (thread CPU time in 100 ms slices). */
    uint64_t     cap_slice_start_ns;
    uint64_t     cap_slice_cpu_start_ns;
};

struct vm_rendezvous {
    pthread_mutex_t      lock;
    pthread_cond_t       cond;
    bool                 active;
    uint32_t             flags;
    vm_rendezvous_worker worker;
    void                *user;
    uint32_t             arrived;            /* EMTs that have joined */
    uint32_t             ran;                /* workers run so far (ordered modes) */
    uint32_t             left;               /* EMTs that have left */
    int                  rc;                 /* merged status */
    bool                 stopped;            /* stop-on-error hit */
    bool                 once_done;          /* ORDER_ONCE: the worker has run */
    uint64_t             generation;
    uint64_t             joined_gen[VMM_MAX_CPU_COUNT];
};

struct VM {
    PUVM            pUVM;
    VMSTATE _Atomic enmVMState;
    VMSTATE         enmPrevVMState;
    uint32_t        cCpus;
    atomic_uint     ff;                      /* VM_FF_* */
    uint8_t         bMainExecutionEngine;    /* VM_EXEC_ENGINE_* */
    char            engine_reason[256];      /* why engine_select() chose it */
    const struct engine_ops *engine;
    void           *engine_data;
    struct guest_ram ram;
    struct io_bus  *io;
    struct device_instance *devices;
    PCFGMNODE       cfg_root;
    struct vclock  *clock;                   /* virtual clock + device timers (src/time) */

    atomic_uint     exec_cap;                /* percent, 100 = none */
    atomic_uint     reset_count_soft, reset_count_hard;
    VMSUSPENDREASON suspend_reason;
    VMRESUMEREASON  resume_reason;
    bool            teleported_not_resumed;
    bool            triple_fault_reset;      /* /EM/TripleFaultReset */

    atomic_bool     has_guest_exit_code;     /* the guest wrote the debug-exit port */
    atomic_uint     guest_exit_code;
    atomic_bool     guest_entered;           /* a vCPU entered guest code (start-up trace) */

    struct vm_rendezvous rendezvous;
    pthread_t       cap_thread;              /* pokes capped vCPUs out of guest code */
    bool            cap_thread_started;
    atomic_bool     cap_thread_stop;
    PVMCPU          apCpus[VMM_MAX_CPU_COUNT];
};

/* --- handles (vm_handle.c) --- */
bool uvm_is_valid(PUVM uvm);
/* The VM if the handle is valid and the VM is usable from outside, else NULL. */
PVM  uvm_vm(PUVM uvm);
bool vm_is_valid_ext(PVM vm);
/* The VM belongs to a live UVM (any state); never dereferences garbage. */
bool vm_is_registered(PVM vm);
int  uvm_registry_add(PUVM uvm);
void uvm_registry_remove(PUVM uvm);
/* Frees the UVM once its last reference is gone (vm_create.c). */
void uvm_free(PUVM uvm);

/* --- current thread (vm_emt.c) --- */
/* The caller's UVMCPU if it is an EMT of uvm, else NULL. */
PUVMCPU vm_current_emt(PUVM uvm);
bool    vm_is_emt(PVM vm);
VMCPUID vm_current_cpu_id(PUVM uvm);

/* --- EMT wake-ups (vm_emt.c) --- */
void emt_notify(PUVMCPU uvcpu, bool poke);
/* Pokes the vCPU out of guest code if it is there (under its poke lock). */
void emt_poke(PUVMCPU uvcpu);
void emt_notify_all(PUVM uvm, bool poke);
/* Blocks the EMT until notified or timeout_ns passes (0 = no timeout). */
void emt_wait(PUVMCPU uvcpu, unsigned seq_seen, uint64_t timeout_ns);
void vm_set_ff(PVM vm, uint32_t ff);
void vmcpu_set_ff(PVMCPU vcpu, uint32_t ff);
/* Detaches the VM from the UVMCPUs (teardown), safely against pokes. */
void emt_detach_vm(PUVM uvm);

/* --- requests (vm_req.c) --- */
/* Processes the queues this EMT serves; stops at and returns the first EM
 * status (VINF_EM_FIRST..LAST) a request returned, else VINF_SUCCESS. */
int  vm_req_process_pending(PUVMCPU uvcpu, bool priority_only);
bool vm_req_pending(PUVMCPU uvcpu, bool include_global);
/* Completes every queued packet with VERR_VM_REQUEST_KILLED (destroy). */
void vm_req_kill_all(PUVM uvm);
void vm_req_free_cache(PUVM uvm);
int  vm_req_init_queues(PUVM uvm);
void vm_req_term_queues(PUVM uvm);

/* --- state machine (vm_state.c) --- */
/*
 * Tries each (old -> new) pair in order; on a match performs the transition
 * and returns the index of the pair (>= 0).  Otherwise raises the spec's VM
 * error naming `who` and returns VERR_VM_INVALID_VM_STATE.
 */
int  vm_state_try_set(PVM vm, const char *who, unsigned pairs, ...);
/* Unconditional transition (caller knows it is legal). */
void vm_state_set(PVM vm, VMSTATE new_state, VMSTATE expected_old);
void vm_state_set_locked(PVM vm, VMSTATE new_state, VMSTATE old_state);

/* Callback lists: append / remove first match (fn and user) / free. */
int  vm_callback_add(pthread_mutex_t *lock, struct vm_callback **list, void (*fn)(void), void *user);
int  vm_callback_remove(pthread_mutex_t *lock, struct vm_callback **list, void (*fn)(void), void *user);
void vm_callback_free_all(struct vm_callback **list);

/* --- rendezvous (vm_rendezvous.c) --- */
int  vm_emt_rendezvous(PVM vm, uint32_t flags, vm_rendezvous_worker worker, void *user);
/* Called by an EMT that sees VM_FF_EMT_RENDEZVOUS. */
int  vm_rendezvous_join(PVM vm, PVMCPU vcpu);
/* Status merge used by rendezvous: failure wins, else the lowest non-zero info. */
int  vm_merge_status(int a, int b);

/* --- errors (vm_error.c) --- */
int  vm_set_error_worker(PUVM uvm, int rc, RT_SRC_POS_DECL, const char *fmt, va_list va);
void vm_log(PUVM uvm, const char *fmt, ...) RT_IPRT_FORMAT_ATTR(2, 3);

/* --- CPU hot plug (vm_cpu.c) --- */
/* The guest ejected vCPU id (ACPI _EJ0): it goes back to waiting for a
 * startup IPI.  Any thread; the work is queued to that vCPU's EMT. */
void vm_cpu_ejected_by_guest(PVM vm, uint32_t id);

/* --- guest requests from devices (vm_emt.c) --- */
/* A device asks for power-off (optionally with a debug-exit code) or reset. */
void vm_guest_request_power_off(PVM vm, bool has_code, uint32_t code);
void vm_guest_request_reset(PVM vm);

/* --- machine set-up (vm_machine.c) --- */
int  vm_machine_init(PVM vm);           /* EMT(0): RAM, I/O bus, engine, devices */
int  vm_machine_vcpu_init(PVMCPU vcpu); /* each vCPU's EMT, after vm_machine_init */
int  vm_machine_load(PVM vm);           /* EMT(0), after all vCPUs: guest image, BSP state */
int  vm_machine_reset(PVM vm);          /* EMT(0), others parked: devices, RAM, CPUs, re-load */
void vm_machine_vcpu_term(PVMCPU vcpu); /* each vCPU's EMT */
void vm_machine_term(PVM vm);           /* EMT(0) */
enum vm_machine_event { VM_MACHINE_POWER_ON, VM_MACHINE_SUSPEND, VM_MACHINE_RESUME, VM_MACHINE_POWER_OFF };
void vm_machine_notify(PVM vm, enum vm_machine_event what);  /* EMT(0): device hooks */

/* --- execution cap watchdog (vm_cpu.c) --- */
void vm_exec_cap_start(PVM vm);
void vm_exec_cap_stop(PVM vm);


#endif /* PETREL_VM_INTERNAL_H */
