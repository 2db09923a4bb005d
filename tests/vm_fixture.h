/*
 * Test helpers: build small VMs through the public API and record what
 * their callbacks see.  Header-only so each test program stays standalone.
 */
#ifndef PETREL_TEST_VM_FIXTURE_H
#define PETREL_TEST_VM_FIXTURE_H

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <vmm/vmapi.h>
#include <vmm/vmm.h>

/* What a test VM is made of. */
struct fixture_config {
    uint32_t    cpus;
    uint64_t    ram_mib;
    const char *image;          /* guest binary name under PETREL_GUEST_DIR, or NULL */
    const char *mode;           /* real | protected | long */
    const char *engine;         /* auto | kvm | interp */
    const char *console;        /* debugcon output path; NULL = "none" */
    bool        triple_fault_reset;
    bool        power_off_instead_of_reset;
    uint32_t    exec_cap;       /* 0 = leave default */
};

#define FIXTURE_MAX_EVENTS 256

/* Records state transitions and errors seen by callbacks. */
struct fixture_log {
    pthread_mutex_t lock;
    pthread_cond_t  cond;
    unsigned        n_states;
    VMSTATE         old_states[FIXTURE_MAX_EVENTS], new_states[FIXTURE_MAX_EVENTS];
    unsigned        n_errors;
    int             last_error_rc;
    char            last_error[512];
};

static inline void fixture_log_init(struct fixture_log *log)
{
    memset(log, 0, sizeof(*log));
    pthread_mutex_init(&log->lock, NULL);
    pthread_cond_init(&log->cond, NULL);
}

static inline void fixture_on_state(PUVM uvm, PCVMMR3VTABLE vmm, VMSTATE st, VMSTATE old, void *user)
{
    (void)uvm; (void)vmm;
    struct fixture_log *log = user;
    pthread_mutex_lock(&log->lock);
    if (log->n_states < FIXTURE_MAX_EVENTS) {
        log->old_states[log->n_states] = old;
        log->new_states[log->n_states] = st;
        log->n_states++;
    }
    pthread_cond_broadcast(&log->cond);
    pthread_mutex_unlock(&log->lock);
}

static inline void fixture_on_error(PUVM uvm, void *user, int rc, RT_SRC_POS_DECL, const char *fmt, va_list va)
{
    (void)uvm; (void)pszFile; (void)iLine; (void)pszFunction;
    struct fixture_log *log = user;
    pthread_mutex_lock(&log->lock);
    log->n_errors++;
    log->last_error_rc = rc;
    vsnprintf(log->last_error, sizeof(log->last_error), fmt, va);
    pthread_cond_broadcast(&log->cond);
    pthread_mutex_unlock(&log->lock);
}

static inline int fixture_ctor(PUVM uvm, PVM vm, PCVMMR3VTABLE vmm, void *user)
{
    (void)uvm; (void)vmm;
    const struct fixture_config *c = user;
    PCFGMNODE root = CFGMR3GetRoot(vm), node = NULL;
    int rc = CFGMR3InsertString(root, "Name", "test-vm");
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertInteger(root, "NumCPUs", c->cpus ? c->cpus : 1);
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertInteger(root, "RamSize", (c->ram_mib ? c->ram_mib : 16) << 20);
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertString(root, "ExecEngine", c->engine ? c->engine : "auto");
    if (RT_SUCCESS(rc) && c->power_off_instead_of_reset) rc = CFGMR3InsertInteger(root, "PowerOffInsteadOfReset", 1);
    if (RT_SUCCESS(rc) && c->exec_cap) rc = CFGMR3InsertInteger(root, "CpuExecutionCap", c->exec_cap);
    if (RT_SUCCESS(rc) && c->triple_fault_reset) {
        rc = CFGMR3InsertNode(root, "EM", &node);
        if (RT_SUCCESS(rc)) rc = CFGMR3InsertInteger(node, "TripleFaultReset", 1);
    }
    if (RT_SUCCESS(rc) && c->image) {
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", PETREL_GUEST_DIR, c->image);
        rc = CFGMR3InsertNode(root, "Boot", &node);
        if (RT_SUCCESS(rc)) rc = CFGMR3InsertString(node, "Image", path);
        if (RT_SUCCESS(rc)) rc = CFGMR3InsertString(node, "Mode", c->mode ? c->mode : "real");
    }
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertNode(root, "Devices/debugcon/0/Config", &node);
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertString(node, "Output", c->console ? c->console : "none");
    return rc;
}

/* Creates a VM with a state and error log attached; returns the status. */
static inline int fixture_create(const struct fixture_config *c, struct fixture_log *log, PUVM *puvm)
{
    return VMR3Create(c->cpus ? c->cpus : 1, NULL, log ? fixture_on_error : NULL, log, fixture_ctor,
                      (void *)c, NULL, puvm);
}

static inline void fixture_attach_state_log(PUVM uvm, struct fixture_log *log)
{
    VMR3AtStateRegister(uvm, fixture_on_state, log);
}

/* Waits up to ms for the VM to reach state; true if it did. */
static inline bool fixture_wait_state(PUVM uvm, VMSTATE state, unsigned ms)
{
    for (unsigned waited = 0; waited < ms; waited += 1) {
        if (VMR3GetStateU(uvm) == state)
            return true;
        usleep(1000);
    }
    return VMR3GetStateU(uvm) == state;
}

/* Powers off (if needed), destroys and releases. */
static inline void fixture_destroy(PUVM uvm)
{
    VMSTATE st = VMR3GetStateU(uvm);
    if (st != VMSTATE_OFF && st != VMSTATE_CREATED)
        VMR3PowerOff(uvm);
    VMR3Destroy(uvm);
    VMR3ReleaseUVM(uvm);
}

static inline uint64_t fixture_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

#endif
