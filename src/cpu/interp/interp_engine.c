/*
 * The interpreter as a VM execution engine (VM_EXEC_ENGINE_IEM): one
 * interp_cpu per vCPU over the VM's guest RAM and I/O bus.  run() executes
 * in chunks of instructions and returns to the core when a force flag is
 * set, the vCPU was poked, the guest halted or something failed.
 *
 * Not yet: an interrupt controller (PIC/PIT under the interpreter come with
 * the devices part of the interpreter issue), so irq_set() does nothing and
 * HLT waits for requests or state changes only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vmm/err.h>

#include "../../core/vm_internal.h"
#include "interp.h"

/* Instructions per interp_execute() call between force-flag checks
 * (well under a millisecond at interpreter speed). */
#define RUN_CHUNK 65536u

struct interp_vcpu {
    struct cpu_state st;              /* first: 64-byte aligned for the XSAVE area */
    struct interp_cpu *cpu;
    atomic_bool poke_pending;
};

static struct interp_vcpu *ivcpu_of(PVMCPU vcpu)
{
    return vcpu->engine_data;
}

static uint32_t bus_port_read(void *opaque, uint16_t port, unsigned size)
{
    return io_bus_port_read(opaque, port, size);
}

static void bus_port_write(void *opaque, uint16_t port, unsigned size, uint32_t value)
{
    io_bus_port_write(opaque, port, size, value);
}

static uint64_t bus_mmio_read(void *opaque, uint64_t gpa, unsigned size)
{
    return io_bus_mmio_read(opaque, gpa, size);
}

static void bus_mmio_write(void *opaque, uint64_t gpa, unsigned size, uint64_t value)
{
    io_bus_mmio_write(opaque, gpa, size, value);
}

static int interp_vm_init(PVM vm)
{
    (void)vm;
    return VINF_SUCCESS;
}

static void interp_vm_term(PVM vm)
{
    (void)vm;
}

static int interp_vcpu_init(PVMCPU vcpu)
{
    PVM vm = vcpu->pVM;
    struct interp_vcpu *iv = aligned_alloc(64, sizeof(*iv));
    if (!iv)
        return VMSetError(vm, VERR_NO_MEMORY, RT_SRC_POS, "out of memory for the interpreter's vCPU %u",
                          vcpu->idCpu);
    memset(iv, 0, sizeof(*iv));
    cpu_state_reset(&iv->st, vcpu->idCpu == 0);
    struct interp_io io = { vm->io, bus_port_read, bus_port_write, bus_mmio_read, bus_mmio_write };
    iv->cpu = interp_cpu_create(&iv->st, &vm->ram, &io);
    if (!iv->cpu) {
        free(iv);
        return VMSetError(vm, VERR_NO_MEMORY, RT_SRC_POS,
                          "out of memory for the interpreter's code cache (vCPU %u)", vcpu->idCpu);
    }
    vcpu->engine_data = iv;
    return VINF_SUCCESS;
}

static void interp_vcpu_term(PVMCPU vcpu)
{
    struct interp_vcpu *iv = ivcpu_of(vcpu);
    if (!iv)
        return;
    interp_cpu_destroy(iv->cpu);
    free(iv);
    vcpu->engine_data = NULL;
}

static bool force_flags_pending(PVMCPU vcpu)
{
    return atomic_load_explicit(&vcpu->ff, memory_order_relaxed) != 0 ||
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

static int interp_run(PVMCPU vcpu)
{
    struct interp_vcpu *iv = ivcpu_of(vcpu);
    if (!iv || iv->st.run_state == CPU_WAIT_FOR_SIPI)
        return VINF_EM_HALT;
    iv->st.run_state = CPU_RUNNABLE;       /* the core decided the vCPU resumes after HLT */
    for (;;) {
        int rc = interp_execute(iv->cpu, RUN_CHUNK);
        if (RT_FAILURE(rc))
            return interp_guru(vcpu, iv, rc);
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
    return VINF_SUCCESS;
}

static void interp_irq_set(PVM vm, uint32_t gsi, int level)
{
    (void)vm; (void)gsi; (void)level;
}

static bool interp_interrupt_pending(PVMCPU vcpu)
{
    (void)vcpu;
    return false;
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
};
