/*
 * The interpreter engine's APIC system (see interp_apic.h): routing of
 * APIC messages and the per-vCPU view of its local APIC.
 *
 * Routing reads the table of vCPUs under a read lock, so that a vCPU
 * going away (vcpu_term) never leaves a device thread delivering into a
 * freed APIC.  Neither the table lock nor an APIC's lock is held while
 * another chip is called, so there is no lock order to keep.
 */
#include "interp_apic.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <x86intrin.h>

#include <vmm/err.h>

#include "../../core/vm_internal.h"
#include "../../devices/i8259.h"
#include "../../io/io_bus.h"
#include "../../time/vclock.h"

#define APIC_BASE_BSP    (UINT64_C(1) << 8)
#define APIC_BASE_ENABLE (UINT64_C(1) << 11)
#define APIC_BASE_ADDR   UINT64_C(0xfffffff000)       /* 40-bit physical addresses (CPUID 0x80000008) */
#define MSR_APIC_BASE    0x1bu
#define MSR_TSC_DEADLINE 0x6e0u

struct apic_system {
    PVM vm;
    struct i8259 *pic;
    struct ioapic *ioapic;
    pthread_rwlock_t lock;                            /* guards cpus[] */
    struct apic_vcpu *cpus[VMM_MAX_CPU_COUNT];
};

static void route(struct apic_system *sys, int src, const struct apic_msg *m)
{
    pthread_rwlock_rdlock(&sys->lock);
    uint32_t n = sys->vm->cCpus < VMM_MAX_CPU_COUNT ? sys->vm->cCpus : VMM_MAX_CPU_COUNT;
    for (uint32_t i = 0; i < n; i++) {
        struct apic_vcpu *av = sys->cpus[i];
        if (!av)
            continue;
        bool hit;
        switch (m->shorthand) {
        case 1: hit = (int)i == src; break;
        case 2: hit = true; break;
        case 3: hit = (int)i != src; break;
        default: hit = lapic_match(av->lapic, m->dest, m->logical); break;
        }
        if (!hit)
            continue;
        lapic_accept(av->lapic, m);
        if (m->delivery_mode == APIC_DM_LOWEST)       /* arbitration: the lowest-numbered target */
            break;
    }
    pthread_rwlock_unlock(&sys->lock);
}

static void host_notify(void *opaque, uint32_t cpu)
{
    struct apic_system *sys = opaque;
    PVMCPU vcpu = cpu < VMM_MAX_CPU_COUNT ? sys->vm->apCpus[cpu] : NULL;
    if (!vcpu)
        return;
    vmcpu_set_ff(vcpu, VMCPU_FF_INTERRUPT);
    emt_notify(vcpu->pUVCpu, true);
}

static void host_send(void *opaque, uint32_t src, const struct apic_msg *msg)
{
    route(opaque, (int)src, msg);
}

static void host_eoi(void *opaque, uint8_t vector)
{
    struct apic_system *sys = opaque;
    ioapic_eoi(sys->ioapic, vector);
}

static void ioapic_deliver(void *opaque, const struct apic_msg *msg)
{
    route(opaque, -1, msg);
}

struct apic_system *apic_system_create(PVM vm, struct i8259 *pic)
{
    struct apic_system *sys = calloc(1, sizeof(*sys));
    if (!sys) {
        VMSetError(vm, VERR_NO_MEMORY, RT_SRC_POS, "out of memory for the interpreter's APICs");
        return NULL;
    }
    sys->vm = vm;
    sys->pic = pic;
    pthread_rwlock_init(&sys->lock, NULL);
    sys->ioapic = ioapic_create(vm->io, ioapic_deliver, sys);
    if (!sys->ioapic) {
        VMSetError(vm, VERR_NO_MEMORY, RT_SRC_POS, "cannot create the I/O APIC for the interpreter (out of "
                   "memory, or 0xFEC00000 already taken by a configured device)");
        apic_system_destroy(sys);
        return NULL;
    }
    return sys;
}

void apic_system_destroy(struct apic_system *sys)
{
    if (!sys)
        return;
    ioapic_destroy(sys->ioapic);
    pthread_rwlock_destroy(&sys->lock);
    free(sys);
}

struct ioapic *apic_system_ioapic(struct apic_system *sys)
{
    return sys->ioapic;
}

int apic_vcpu_init(struct apic_system *sys, struct apic_vcpu *av, PVMCPU vcpu, struct cpu_state *st,
                   struct interp_cpu *cpu)
{
    struct lapic_host host = { sys, host_notify, host_send, host_eoi };
    memset(av, 0, sizeof(*av));
    av->sys = sys;
    av->vcpu = vcpu;
    av->st = st;
    av->cpu = cpu;
    av->lapic = lapic_create(sys->vm->clock, vcpu->idCpu, &host);
    if (!av->lapic)
        return VMSetError(sys->vm, VERR_NO_MEMORY, RT_SRC_POS, "out of memory for the local APIC of vCPU %u",
                          vcpu->idCpu);
    pthread_rwlock_wrlock(&sys->lock);
    sys->cpus[vcpu->idCpu] = av;
    pthread_rwlock_unlock(&sys->lock);
    return VINF_SUCCESS;
}

void apic_vcpu_term(struct apic_vcpu *av)
{
    if (!av->sys)
        return;
    pthread_rwlock_wrlock(&av->sys->lock);
    av->sys->cpus[av->vcpu->idCpu] = NULL;
    pthread_rwlock_unlock(&av->sys->lock);
    lapic_destroy(av->lapic);
    av->lapic = NULL;
    av->sys = NULL;
}

/* ---- the vCPU's own view: APIC page, MSRs, CPUID ---- */

static bool on_apic_page(const struct apic_vcpu *av, uint64_t gpa)
{
    uint64_t base = av->st->msr.apic_base;
    return (base & APIC_BASE_ENABLE) && (gpa & ~UINT64_C(0xfff)) == (base & APIC_BASE_ADDR);
}

static uint32_t vcpu_port_read(void *opaque, uint16_t port, unsigned size)
{
    const struct apic_vcpu *av = opaque;
    return io_bus_port_read(av->sys->vm->io, port, size);
}

static void vcpu_port_write(void *opaque, uint16_t port, unsigned size, uint32_t value)
{
    const struct apic_vcpu *av = opaque;
    io_bus_port_write(av->sys->vm->io, port, size, value);
}

static uint64_t vcpu_mmio_read(void *opaque, uint64_t gpa, unsigned size)
{
    struct apic_vcpu *av = opaque;
    if (!on_apic_page(av, gpa))
        return io_bus_mmio_read(av->sys->vm->io, gpa, size);
    unsigned in_reg = gpa & 0xf;                      /* registers are the first dword of 16 bytes */
    uint64_t v = in_reg < 4 ? lapic_read(av->lapic, gpa & 0xff0) >> (in_reg * 8) : 0;
    return size < 8 ? v & ((UINT64_C(1) << (size * 8)) - 1) : v;
}

static void vcpu_mmio_write(void *opaque, uint64_t gpa, unsigned size, uint64_t value)
{
    struct apic_vcpu *av = opaque;
    if (!on_apic_page(av, gpa)) {
        io_bus_mmio_write(av->sys->vm->io, gpa, size, value);
        return;
    }
    if ((gpa & 0xf) || size < 4)                      /* only aligned dword writes reach a register */
        return;
    lapic_write(av->lapic, gpa & 0xff0, (uint32_t)value);
    if ((gpa & 0xff0) == 0x80) {                      /* TPR: CR8 shows it at once */
        av->st->cr8 = lapic_get_cr8(av->lapic);
        av->cr8_synced = (uint8_t)av->st->cr8;
    }
}

static uint64_t tsc_hz;

/* The host TSC rate (the guest's too: guest TSC = host TSC + offset). */
static void calibrate_tsc(void)
{
    struct timespec t0, t1, pause = { 0, 20000000L };
    clock_gettime(CLOCK_MONOTONIC, &t0);
    uint64_t c0 = __rdtsc();
    nanosleep(&pause, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    uint64_t c1 = __rdtsc();
    uint64_t ns = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000u + (uint64_t)t1.tv_nsec - (uint64_t)t0.tv_nsec;
    tsc_hz = ns ? (uint64_t)((unsigned __int128)(c1 - c0) * 1000000000u / ns) : 1000000000u;
    if (!tsc_hz)
        tsc_hz = 1000000000u;
}

/* IA32_TSC_DEADLINE: the guest TSC value as a virtual-clock time. */
static void write_tsc_deadline(struct apic_vcpu *av, uint64_t deadline)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, calibrate_tsc);
    uint64_t now_tsc = interp_guest_tsc(av->cpu), now_ns = vclock_now(av->sys->vm->clock);
    uint64_t at = now_ns;
    if (deadline > now_tsc)
        at += (uint64_t)((unsigned __int128)(deadline - now_tsc) * 1000000000u / tsc_hz);
    lapic_set_tsc_deadline(av->lapic, deadline, deadline ? at : 0);
}

static int vcpu_msr_read(void *opaque, uint32_t msr, uint64_t *value)
{
    struct apic_vcpu *av = opaque;
    if (msr != MSR_TSC_DEADLINE)
        return 0;                                     /* IA32_APIC_BASE: the interpreter's slot */
    *value = lapic_tsc_deadline(av->lapic);
    return 1;
}

static int vcpu_msr_write(void *opaque, uint32_t msr, uint64_t value)
{
    struct apic_vcpu *av = opaque;
    if (msr == MSR_TSC_DEADLINE) {
        write_tsc_deadline(av, value);
        return 1;
    }
    if (msr != MSR_APIC_BASE)
        return 0;
    uint64_t old = av->st->msr.apic_base;
    if (value & ~(APIC_BASE_ADDR | APIC_BASE_ENABLE | APIC_BASE_BSP))
        return -1;                                    /* x2APIC (EXTD) is not offered */
    av->st->msr.apic_base = (value & ~APIC_BASE_BSP) | (old & APIC_BASE_BSP);
    if ((old ^ value) & APIC_BASE_ENABLE)
        lapic_set_hw_enabled(av->lapic, (value & APIC_BASE_ENABLE) != 0);
    return 1;
}

static void vcpu_cpuid(void *opaque, uint32_t leaf, uint32_t subleaf, uint32_t regs[4])
{
    struct apic_vcpu *av = opaque;
    uint32_t id = av->vcpu->idCpu, ncpus = av->sys->vm->cCpus, shift = 0;
    while ((1u << shift) < ncpus)
        shift++;
    switch (leaf) {
    case 0:
        if (regs[0] < 0xb)
            regs[0] = 0xb;                            /* up to the topology leaf */
        break;
    case 1:
        regs[1] = (regs[1] & 0x00ffffffu) | (id << 24);
        regs[3] |= 1u << 9;                           /* APIC */
        regs[2] |= 1u << 24;                          /* TSC-deadline timer (lapic.c) */
        break;
    case 0xb:                                         /* one thread per core, all cores in one package */
        regs[0] = subleaf == 0 ? 0 : subleaf == 1 ? shift : 0;
        regs[1] = subleaf == 0 ? 1 : subleaf == 1 ? ncpus : 0;
        regs[2] = (subleaf & 0xff) | (subleaf == 0 ? 1u << 8 : subleaf == 1 ? 2u << 8 : 0);
        regs[3] = id;
        break;
    default:
        break;
    }
}

struct interp_io apic_vcpu_io(struct apic_vcpu *av)
{
    struct interp_io io = { .opaque = av, .port_read = vcpu_port_read, .port_write = vcpu_port_write };
    io.mmio_read = vcpu_mmio_read;
    io.mmio_write = vcpu_mmio_write;
    io.msr_read = vcpu_msr_read;
    io.msr_write = vcpu_msr_write;
    io.cpuid = vcpu_cpuid;
    return io;
}

void apic_vcpu_state_set(struct apic_vcpu *av)
{
    struct cpu_state *st = av->st;
    bool bsp = av->vcpu->idCpu == 0;
    if (st->lapic_reset) {
        lapic_reset(av->lapic, bsp, false);
        if (bsp)
            ioapic_reset(av->sys->ioapic);            /* a machine reset resets the BSP */
        st->lapic_reset = false;
        av->nmi_pending = false;
    }
    lapic_set_hw_enabled(av->lapic, (st->msr.apic_base & APIC_BASE_ENABLE) != 0);
    lapic_set_cr8(av->lapic, (uint8_t)st->cr8);
    av->cr8_synced = (uint8_t)st->cr8;
}

/* ---- accepting events between chunks ---- */

/* INIT: the vCPU waits for SIPI; its APIC resets but keeps its ID. */
static void do_init(struct apic_vcpu *av)
{
    struct cpu_state *st = av->st;
    uint64_t apic_base = st->msr.apic_base;
    bool bsp = av->vcpu->idCpu == 0;
    cpu_state_reset(st, false);
    st->msr.apic_base = apic_base;
    st->lapic_reset = false;
    interp_state_changed(av->cpu);
    lapic_reset(av->lapic, bsp, true);
    av->nmi_pending = false;
    av->cr8_synced = 0;
}

/* SIPI: real mode at vector:0000, with the guest TSC of the BSP. */
static void do_sipi(struct apic_vcpu *av, uint8_t vector)
{
    struct cpu_state *st = av->st;
    st->seg[SEG_CS].selector = (uint16_t)(vector << 8);
    st->seg[SEG_CS].base = (uint64_t)vector << 12;
    st->rip = 0;
    st->run_state = CPU_RUNNABLE;
    interp_state_changed(av->cpu);
    pthread_rwlock_rdlock(&av->sys->lock);
    struct apic_vcpu *bsp = av->sys->cpus[0];
    if (bsp && bsp != av)
        interp_set_tsc_offset(av->cpu, interp_tsc_offset(bsp->cpu));
    pthread_rwlock_unlock(&av->sys->lock);
}

static bool pic_wants(struct apic_vcpu *av)
{
    return av->vcpu->idCpu == 0 && av->sys->pic && lapic_accepts_pic(av->lapic) && i8259_has_interrupt(av->sys->pic);
}

bool apic_vcpu_service(struct apic_vcpu *av)
{
    struct cpu_state *st = av->st;
    atomic_fetch_and(&av->vcpu->ff, ~VMCPU_FF_INTERRUPT);
    uint8_t sipi = 0;
    uint32_t ev = lapic_take_events(av->lapic, &sipi);
    if (ev & LAPIC_EV_INIT)
        do_init(av);
    if ((ev & LAPIC_EV_SIPI) && st->run_state == CPU_WAIT_FOR_SIPI)
        do_sipi(av, sipi);                            /* a SIPI to a running CPU is ignored */
    if (st->run_state == CPU_WAIT_FOR_SIPI)
        return false;
    if (ev & LAPIC_EV_NMI)
        av->nmi_pending = true;
    if (av->nmi_pending && !st->events.nmi_masked) {
        av->nmi_pending = false;
        interp_inject_nmi(av->cpu);
    } else if (interp_interrupts_enabled(av->cpu)) {
        int v = lapic_acknowledge(av->lapic);
        if (v >= 0)
            interp_inject_interrupt(av->cpu, (uint8_t)v);
        else if (pic_wants(av))
            interp_inject_interrupt(av->cpu, (uint8_t)i8259_acknowledge(av->sys->pic));
    }
    st->cr8 = lapic_get_cr8(av->lapic);
    av->cr8_synced = (uint8_t)st->cr8;
    return true;
}

bool apic_vcpu_after_chunk(struct apic_vcpu *av)
{
    if (av->st->cr8 != av->cr8_synced) {              /* MOV CR8 */
        lapic_set_cr8(av->lapic, (uint8_t)av->st->cr8);
        av->cr8_synced = (uint8_t)av->st->cr8;
    }
    if (av->st->run_state != CPU_RUNNABLE || interp_interrupts_enabled(av->cpu))
        return false;
    return lapic_pending(av->lapic) >= 0 || pic_wants(av);
}

bool apic_vcpu_wake_pending(struct apic_vcpu *av)
{
    if (av->nmi_pending || lapic_events_pending(av->lapic))
        return true;
    if (av->st->run_state == CPU_WAIT_FOR_SIPI || !(av->st->rflags & RFLAGS_IF))
        return false;
    return lapic_pending(av->lapic) >= 0 || pic_wants(av);
}

/* ---- interrupt inputs ---- */

void apic_system_irq(struct apic_system *sys, uint32_t gsi, int level)
{
    if (gsi < 16 && gsi != 2 && sys->pic)            /* IR2 of the master is the cascade */
        i8259_set_irq(sys->pic, gsi, level);
    ioapic_set_irq(sys->ioapic, gsi, level);
}

int apic_system_msi(struct apic_system *sys, uint64_t addr, uint32_t data)
{
    if ((addr >> 20) != 0xfee)
        return VERR_INVALID_PARAMETER;
    struct apic_msg m = {
        .vector = (uint8_t)data, .delivery_mode = (data >> 8) & 7, .logical = (addr >> 2) & 1,
        .level = (data >> 15) & 1, .assert = !((data >> 15) & 1) || ((data >> 14) & 1),
        .dest = (uint32_t)(addr >> 12) & 0xff,
    };
    if (m.level && !m.assert)
        return VINF_SUCCESS;                          /* a level de-assert message: nothing to do */
    route(sys, -1, &m);
    return VINF_SUCCESS;
}
