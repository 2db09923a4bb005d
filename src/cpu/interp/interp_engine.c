/*
 * The interpreter as a VM execution engine (VM_EXEC_ENGINE_IEM): one
 * interp_cpu per vCPU over the VM's guest RAM and I/O bus.  run() executes
 * in chunks of instructions and returns to the core when a force flag is
 * set, the vCPU was poked, the guest halted or something failed.
 *
 * The engine owns the interrupt controllers KVM would provide in the
 * kernel: the 8259A pair (created with the engine, on the I/O bus) and the
 * 8254 PIT (created with vCPU 0, once the virtual clock exists), the
 * IOAPIC and a local APIC per vCPU (interp_apic.c).  irq_set() drives PIC
 * and IOAPIC inputs; each vCPU takes its interrupts, NMI, INIT and SIPI
 * between chunks; vCPU 0 also takes the PIC's through LINT0 (virtual wire).
 * It also plays the chipset's x87 error logic: vCPU 0's FERR# to IRQ 13
 * and the port 0xF0 write that acknowledges it (IGNNE#).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <x86intrin.h>

#include <vmm/err.h>

#include "../../core/vm_internal.h"
#include "../../devices/device.h"
#include "../../devices/i8254.h"
#include "../../devices/i8259.h"
#include "interp.h"
#include "interp_apic.h"

/* Instructions per interp_execute() call between force-flag checks
 * (well under a millisecond at interpreter speed). */
#define RUN_CHUNK 65536u
/* A halt at least this long counts as idle: the vCPU gives back decoded-
 * block memory it does not use, and at most every IDLE_DROP_NS drops all its
 * decoded code (an idle Linux re-decodes ~0.5 MiB per wake-up, ~4 ms with
 * the page faults, so not at every one). */
#define IDLE_RELEASE_NS UINT64_C(50000000)
#define IDLE_DROP_NS    UINT64_C(10000000000)

struct interp_vm {
    PVM vm;
    uint64_t paused_tsc;              /* host TSC when the VM stopped running; 0 = running */
    struct i8259 *pic;
    struct i8254 *pit;
    struct apic_system *apics;
    uint8_t *dirty_log;               /* kept until vm_term once a live save used it */
};

struct interp_vcpu {
    struct cpu_state st;              /* first: 64-byte aligned for the XSAVE area */
    struct interp_cpu *cpu;
    struct apic_vcpu apic;
    atomic_bool poke_pending;
    uint64_t halted_ns;               /* CLOCK_MONOTONIC when the guest last halted */
    uint64_t idle_drop_ns;            /* ... when an idle vCPU last dropped its decoded code */
    void (*bus_port_write)(void *opaque, uint16_t port, unsigned size, uint32_t value);
};

static struct interp_vcpu *ivcpu_of(PVMCPU vcpu)
{
    return vcpu->engine_data;
}

/* The interp_io hooks get the vCPU's apic_vcpu as opaque. */
static struct interp_vcpu *ivcpu_of_apic(void *av)
{
    return (struct interp_vcpu *)((char *)av - offsetof(struct interp_vcpu, apic));
}

/*
 * The PC chipset's x87 error logic (SDM vol. 1, D.2.1.2): FERR# sets a
 * latch that drives IRQ 13; any write to port 0xF0 clears the latch and,
 * while FERR# is active, asserts IGNNE#, which drops when FERR# does (the
 * interpreter clears st.x87_ignne then).  Only vCPU 0's FERR# is wired,
 * and only its own write to 0xF0 reaches its IGNNE# (the write is on its
 * thread; an AP's write lowers IRQ 13 only).  The latch is the IRQ 13
 * line's level, which the PIC's saved state keeps.
 */
static void ferr_pin(void *opaque, bool asserted)
{
    struct interp_vcpu *iv = ivcpu_of_apic(opaque);
    if (asserted)
        irq_set(iv->apic.vcpu->pVM, 13, 1);
}

static void engine_port_write(void *opaque, uint16_t port, unsigned size, uint32_t value)
{
    struct interp_vcpu *iv = ivcpu_of_apic(opaque);
    if (port != 0xf0) {
        iv->bus_port_write(opaque, port, size, value);
        return;
    }
    irq_set(iv->apic.vcpu->pVM, 13, 0);
    if (iv->st.x87_ferr)
        iv->st.x87_ignne = true;
}

/* The PIC's INTR line rose: wake or kick vCPU 0 (any thread). */
static void pic_notify(void *opaque, bool has_interrupt)
{
    PVM vm = opaque;
    PVMCPU vcpu = vm->apCpus[0];
    if (!has_interrupt || !vcpu)
        return;
    vmcpu_set_ff(vcpu, VMCPU_FF_INTERRUPT);
    emt_notify(vcpu->pUVCpu, true);
}

static void pit_irq(void *opaque, int level)
{
    struct interp_vm *ivm = opaque;
    i8259_set_irq(ivm->pic, 0, level);
    ioapic_set_irq(apic_system_ioapic(ivm->apics), 2, level);   /* the MADT's IRQ0 -> GSI 2 override */
}

static int interp_vm_init(PVM vm)
{
    struct interp_vm *ivm = calloc(1, sizeof(*ivm));
    if (!ivm)
        return VMSetError(vm, VERR_NO_MEMORY, RT_SRC_POS, "out of memory for the interpreter engine");
    ivm->vm = vm;
    ivm->pic = i8259_create(vm->io, pic_notify, vm);
    if (!ivm->pic) {
        free(ivm);
        return VMSetError(vm, VERR_NO_MEMORY, RT_SRC_POS,
                          "cannot create the interrupt controller for the interpreter (out of memory, "
                          "or ports 0x20/0xA0 already taken by a configured device)");
    }
    ivm->apics = apic_system_create(vm, ivm->pic);
    if (!ivm->apics) {
        i8259_destroy(ivm->pic);
        free(ivm);
        return VERR_NO_MEMORY;
    }
    vm->engine_data = ivm;
    return VINF_SUCCESS;
}

static void interp_vm_term(PVM vm)
{
    struct interp_vm *ivm = vm->engine_data;
    if (!ivm)
        return;
    apic_system_destroy(ivm->apics);
    i8259_destroy(ivm->pic);
    vm->ram.dirty_bitmap = NULL;
    free(ivm->dirty_log);
    free(ivm);
    vm->engine_data = NULL;
}

/* The PIT needs the virtual clock, which exists once vCPUs are set up. */
static int create_pit(PVM vm, struct interp_vm *ivm)
{
    if (!ivm || ivm->pit || !vm->clock)
        return VINF_SUCCESS;
    ivm->pit = i8254_create(vm->io, vm->clock, pit_irq, ivm);
    if (!ivm->pit)
        return VMSetError(vm, VERR_NO_MEMORY, RT_SRC_POS,
                          "cannot create the interval timer for the interpreter (out of memory, "
                          "or ports 0x40-0x43/0x61 already taken by a configured device)");
    return VINF_SUCCESS;
}

static int interp_vcpu_init(PVMCPU vcpu)
{
    PVM vm = vcpu->pVM;
    if (vcpu->idCpu == 0) {
        int rc = create_pit(vm, vm->engine_data);
        if (RT_FAILURE(rc))
            return rc;
    }
    struct interp_vcpu *iv = aligned_alloc(64, sizeof(*iv));
    if (!iv)
        return VMSetError(vm, VERR_NO_MEMORY, RT_SRC_POS, "out of memory for the interpreter's vCPU %u",
                          vcpu->idCpu);
    memset(iv, 0, sizeof(*iv));
    cpu_state_reset(&iv->st, vcpu->idCpu == 0);
    struct interp_vm *ivm = vm->engine_data;
    /* The APIC hooks need the interp_cpu, which copies its interp_io: set up
     * the APIC first with the cpu pointer filled in after creation. */
    int rc = apic_vcpu_init(ivm->apics, &iv->apic, vcpu, &iv->st, NULL);
    if (RT_FAILURE(rc)) {
        free(iv);
        return rc;
    }
    struct interp_io io = apic_vcpu_io(&iv->apic);
    iv->bus_port_write = io.port_write;
    io.port_write = engine_port_write;
    if (vcpu->idCpu == 0)
        io.ferr = ferr_pin;
    iv->cpu = interp_cpu_create(&iv->st, &vm->ram, &io);
    if (!iv->cpu) {
        apic_vcpu_term(&iv->apic);
        free(iv);
        return VMSetError(vm, VERR_NO_MEMORY, RT_SRC_POS,
                          "out of memory for the interpreter's code cache (vCPU %u)", vcpu->idCpu);
    }
    iv->apic.cpu = iv->cpu;
    /* One set of decoded-code marks for all vCPUs: a write by one vCPU to
     * code another runs makes that one decode it again. */
    struct interp_vcpu *iv0 = vcpu->idCpu && vm->apCpus[0] ? ivcpu_of(vm->apCpus[0]) : NULL;
    if (iv0)
        interp_cpu_share_code(iv->cpu, iv0->cpu);
    vcpu->engine_data = iv;
    return VINF_SUCCESS;
}

static void interp_vcpu_term(PVMCPU vcpu)
{
    struct interp_vm *ivm = vcpu->pVM->engine_data;
    if (vcpu->idCpu == 0 && ivm && ivm->pit) {        /* its timer lives on the clock, which goes first */
        i8254_destroy(ivm->pit);
        ivm->pit = NULL;
    }
    struct interp_vcpu *iv = ivcpu_of(vcpu);
    if (!iv)
        return;
    /* Pokes read engine_data under the poke lock: none sees it freed. */
    pthread_mutex_lock(&vcpu->pUVCpu->poke_lock);
    vcpu->engine_data = NULL;
    pthread_mutex_unlock(&vcpu->pUVCpu->poke_lock);
    apic_vcpu_term(&iv->apic);                /* its timer lives on the clock too */
    interp_cpu_destroy(iv->cpu);
    free(iv);
}

/* Force flags that need the core (the interrupt flag is ours). */
static bool force_flags_pending(PVMCPU vcpu)
{
    return (atomic_load_explicit(&vcpu->ff, memory_order_relaxed) & ~VMCPU_FF_INTERRUPT) != 0 ||
           atomic_load_explicit(&vcpu->pVM->ff, memory_order_relaxed) != 0;
}


static int interp_guru(PVMCPU vcpu, struct interp_vcpu *iv, int rc)
{
    size_t len = (size_t)snprintf(vcpu->guru_message, sizeof(vcpu->guru_message),
                                  "vCPU %u: interpreter: %s\n", vcpu->idCpu, interp_last_error(iv->cpu));
    if (len < sizeof(vcpu->guru_message))
        cpu_state_format(&iv->st, vcpu->guru_message + len, sizeof(vcpu->guru_message) - len);
    return rc;
}

static uint64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * HLT ends only with something to take: an interrupt the guest accepts, an
 * NMI, INIT or SIPI.  The core also enters a halted vCPU after a resume, a
 * load or a request; waking it then would run a guest's "check the flag,
 * HLT" loop once more, and an interrupt taken between the check and the HLT
 * would then be slept through (a restored uart_echo hung so).  The interrupt
 * flag is consumed here, as in apic_vcpu_service: the next event raises it.
 */
static bool halt_goes_on(PVMCPU vcpu, struct interp_vcpu *iv)
{
    atomic_fetch_and(&vcpu->ff, ~VMCPU_FF_INTERRUPT);
    return !apic_vcpu_wake_pending(&iv->apic);
}

static int interp_run(PVMCPU vcpu)
{
    struct interp_vcpu *iv = ivcpu_of(vcpu);
    if (!iv)
        return VINF_EM_HALT;
    if (iv->st.run_state == CPU_HALTED) {
        if (halt_goes_on(vcpu, iv))
            return VINF_EM_HALT;
        iv->st.run_state = CPU_RUNNABLE;
        uint64_t now = monotonic_ns();
        if (now - iv->halted_ns >= IDLE_RELEASE_NS) {
            bool drop = !iv->idle_drop_ns || now - iv->idle_drop_ns >= IDLE_DROP_NS;
            interp_release_idle_memory(iv->cpu, drop);
            if (drop)
                iv->idle_drop_ns = now;
        }
    }
    bool window = false;
    for (;;) {
        if (!apic_vcpu_service(&iv->apic))
            return VINF_EM_HALT;           /* waiting for SIPI */
        interp_request_irq_window(iv->cpu, window);   /* return when STI/POPF/IRET opens it */
        int rc = interp_execute(iv->cpu, RUN_CHUNK);
        window = apic_vcpu_after_chunk(&iv->apic);
        if (RT_FAILURE(rc))
            return interp_guru(vcpu, iv, rc);
        if (rc == VINF_EM_HALT)
            iv->halted_ns = monotonic_ns();
        if (rc != VINF_SUCCESS)
            return rc;
        if (atomic_exchange(&iv->poke_pending, false) || force_flags_pending(vcpu))
            return VINF_SUCCESS;
    }
}

static void interp_engine_poke(PVMCPU vcpu)
{
    struct interp_vcpu *iv = ivcpu_of(vcpu);
    if (!iv)
        return;
    atomic_store(&iv->poke_pending, true);
    interp_poke(iv->cpu);
}

static int interp_get_state(PVMCPU vcpu, struct cpu_state *st)
{
    struct interp_vcpu *iv = ivcpu_of(vcpu);
    if (!iv)
        return VERR_INVALID_STATE;
    memcpy(st, &iv->st, sizeof(*st));
    return VINF_SUCCESS;
}

/* A new state (reset, load, hand-over) usually comes with new guest code
 * written by a loader: drop everything decoded. */
static int interp_set_state(PVMCPU vcpu, const struct cpu_state *st)
{
    struct interp_vcpu *iv = ivcpu_of(vcpu);
    if (!iv)
        return VERR_INVALID_STATE;
    memcpy(&iv->st, st, sizeof(*st));
    interp_flush_code(iv->cpu);
    interp_state_changed(iv->cpu);
    if (vcpu->idCpu == 0 && st->lapic_reset)      /* a machine reset clears the IRQ 13 latch too */
        irq_set(vcpu->pVM, 13, 0);
    apic_vcpu_state_set(&iv->apic);
    return VINF_SUCCESS;
}

static void interp_irq_set(PVM vm, uint32_t gsi, int level)
{
    struct interp_vm *ivm = vm->engine_data;
    if (ivm)
        apic_system_irq(ivm->apics, gsi, level);
}

static int interp_msi_send(PVM vm, uint64_t addr, uint32_t data)
{
    struct interp_vm *ivm = vm->engine_data;
    return ivm ? apic_system_msi(ivm->apics, addr, data) : VERR_INVALID_STATE;
}

/* For the halt wait: something this vCPU would take now. */
static bool interp_interrupt_pending(PVMCPU vcpu)
{
    struct interp_vcpu *iv = ivcpu_of(vcpu);
    return iv && apic_vcpu_wake_pending(&iv->apic);
}

/* The local APIC of vCPU n, or NULL. */
static struct lapic *lapic_of(PVM vm, uint32_t n)
{
    struct interp_vcpu *iv = n < vm->cCpus && vm->apCpus[n] ? ivcpu_of(vm->apCpus[n]) : NULL;
    return iv ? iv->apic.lapic : NULL;
}

/* Saved state of the chips the engine owns, as Petrel's engine-neutral
 * device units: one instance each, the local APICs one per vCPU. */
static int interp_device_state_save(PVM vm, const char *unit, uint32_t instance, void *saved, size_t size)
{
    struct interp_vm *ivm = vm->engine_data;
    struct lapic *apic = !strcmp(unit, "lapic") ? lapic_of(vm, instance) : NULL;
    if (apic && size == sizeof(struct lapic_saved)) {
        memset(saved, 0, size);
        lapic_save(apic, saved);
        return VINF_SUCCESS;
    }
    if (!ivm || instance != 0)
        return VERR_NOT_FOUND;
    if (!strcmp(unit, "i8259") && size == sizeof(struct i8259_saved)) {
        i8259_save(ivm->pic, saved);
        return VINF_SUCCESS;
    }
    if (ivm->pit && !strcmp(unit, "i8254") && size == sizeof(struct i8254_saved)) {
        i8254_save(ivm->pit, saved);
        return VINF_SUCCESS;
    }
    if (!strcmp(unit, "ioapic") && size == sizeof(struct ioapic_saved)) {
        memset(saved, 0, size);
        ioapic_save(apic_system_ioapic(ivm->apics), saved);
        return VINF_SUCCESS;
    }
    return VERR_NOT_FOUND;
}

static int interp_device_state_load(PVM vm, const char *unit, uint32_t instance, const void *saved, size_t size)
{
    struct interp_vm *ivm = vm->engine_data;
    struct lapic *apic = !strcmp(unit, "lapic") ? lapic_of(vm, instance) : NULL;
    if (apic && size == sizeof(struct lapic_saved))
        return lapic_load(apic, saved);
    if (!ivm || instance != 0)
        return VERR_NOT_FOUND;
    if (!strcmp(unit, "i8259") && size == sizeof(struct i8259_saved))
        return i8259_load(ivm->pic, saved);
    if (ivm->pit && !strcmp(unit, "i8254") && size == sizeof(struct i8254_saved))
        return i8254_load(ivm->pit, saved);
    if (!strcmp(unit, "ioapic") && size == sizeof(struct ioapic_saved))
        return ioapic_load(apic_system_ioapic(ivm->apics), saved);
    return VERR_NOT_FOUND;
}

/* The guest TSCs stop while the VM does not run, all by the same amount so
 * that the vCPUs stay in step (the virtual clock stops too). */
static void interp_vm_pause(PVM vm)
{
    struct interp_vm *ivm = vm->engine_data;
    if (ivm && !ivm->paused_tsc)
        ivm->paused_tsc = __rdtsc();
}

static void interp_vm_resume(PVM vm)
{
    struct interp_vm *ivm = vm->engine_data;
    if (!ivm || !ivm->paused_tsc)
        return;
    int64_t stopped = (int64_t)(__rdtsc() - ivm->paused_tsc);
    ivm->paused_tsc = 0;
    for (uint32_t i = 0; i < vm->cCpus; i++) {
        struct interp_vcpu *iv = vm->apCpus[i] ? ivcpu_of(vm->apCpus[i]) : NULL;
        if (iv)
            interp_tsc_adjust(iv->cpu, -stopped);
    }
}

/*
 * Dirty log for live save: the interpreter marks ram.dirty_bitmap when it
 * installs a writable TLB entry and on slow-path writes, so every change
 * (log on, round end, log off) happens while all EMTs are parked in a
 * rendezvous: the first switches the bitmap pointer, each drops its TLB,
 * the last takes the bitmap.  The bitmap stays allocated until vm_term
 * (device threads may still be marking it).
 */
struct dirty_round {
    uint8_t *set;                     /* new ram.dirty_bitmap (start) */
    bool     change, stop;
    uint8_t *out;                     /* fetch into this */
};

static int dirty_round_worker(PVM vm, PVMCPU vcpu, void *user)
{
    struct interp_vm *ivm = vm->engine_data;
    struct dirty_round *r = user;
    if (vcpu->idCpu == 0 && r->change)
        __atomic_store_n(&vm->ram.dirty_bitmap, r->stop ? NULL : r->set, __ATOMIC_RELEASE);
    struct interp_vcpu *iv = ivcpu_of(vcpu);
    if (iv)
        interp_tlb_flush(iv->cpu);
    if (r->out && vcpu->idCpu == vm->cCpus - 1) {
        size_t bytes = (size_t)((vm->ram.size / GUEST_PAGE_SIZE + 7) / 8);
        for (size_t i = 0; i < bytes; i++)
            r->out[i] |= __atomic_exchange_n(&ivm->dirty_log[i], 0, __ATOMIC_RELAXED);
    }
    return VINF_SUCCESS;
}

static int dirty_round(PVM vm, struct dirty_round *r)
{
    return vm_emt_rendezvous(vm, VMMEMTRENDEZVOUS_ORDER_ONE_BY_ONE, dirty_round_worker, r);
}

static int interp_dirty_log_start(PVM vm)
{
    struct interp_vm *ivm = vm->engine_data;
    size_t bytes = (size_t)((vm->ram.size / GUEST_PAGE_SIZE + 7) / 8);
    if (!ivm->dirty_log)
        ivm->dirty_log = calloc(1, bytes + 1);
    if (!ivm->dirty_log)
        return VERR_NO_MEMORY;
    struct dirty_round r = { .set = ivm->dirty_log, .change = true };
    int rc = dirty_round(vm, &r);
    if (RT_SUCCESS(rc)) {             /* what was marked before the log started does not count */
        uint8_t *scratch = calloc(1, bytes + 1);
        struct dirty_round clear = { .out = scratch };
        rc = scratch ? dirty_round(vm, &clear) : VERR_NO_MEMORY;
        free(scratch);
    }
    return rc;
}

static int interp_dirty_log_fetch(PVM vm, uint8_t *out)
{
    struct interp_vm *ivm = vm->engine_data;
    if (!ivm->dirty_log)
        return VERR_INVALID_STATE;
    struct dirty_round r = { .out = out };
    return dirty_round(vm, &r);
}

static void interp_dirty_log_stop(PVM vm)
{
    struct dirty_round r = { .change = true, .stop = true };
    dirty_round(vm, &r);
}

const struct engine_ops interp_engine_ops = {
    .name = "interp",
    .exec_engine = VM_EXEC_ENGINE_IEM,
    .vm_init = interp_vm_init,
    .vm_term = interp_vm_term,
    .vcpu_init = interp_vcpu_init,
    .vcpu_term = interp_vcpu_term,
    .run = interp_run,
    .poke = interp_engine_poke,
    .get_state = interp_get_state,
    .set_state = interp_set_state,
    .irq_set = interp_irq_set,
    .interrupt_pending = interp_interrupt_pending,
    .msi_send = interp_msi_send,
    .vm_pause = interp_vm_pause,
    .vm_resume = interp_vm_resume,
    .device_state_save = interp_device_state_save,
    .device_state_load = interp_device_state_load,
    .dirty_log_start = interp_dirty_log_start,
    .dirty_log_fetch = interp_dirty_log_fetch,
    .dirty_log_stop = interp_dirty_log_stop,
};
