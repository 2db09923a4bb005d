/*
 * The machine behind a VM: guest RAM, the I/O bus, the execution engine,
 * the devices and the boot image, set up and torn down for the core.
 *
 * Configuration read here:
 *   RamSize      bytes of guest RAM, a multiple of 4 KiB (default 0; at
 *                least 1 MiB when /Boot/Image is set)
 *   RamHoleSize  bytes of MMIO hole below 4 GiB (default 512 MiB)
 *   ExecEngine   "auto" (default: KVM where the CPU has vmx/svm, else the interpreter), "kvm" or "interp"
 *   Boot/Image   a flat image (flat_loader.c), or
 *   Boot/Kernel  a Linux kernel (vm_machine_linux.c): the PC devices are
 *                added and ACPI tables built; the two are exclusive
 *
 * A VM with neither has nothing to run: every vCPU (the BSP too) waits for
 * a SIPI, i.e. stays halted until reset or power-off.
 *
 * The virtual clock (vm->clock) exists from init to term and runs only
 * while the VM runs, so device timers stop while it is suspended or off.
 */
#include "vm_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../boot/flat_loader.h"
#include "../time/vclock.h"
#include "vm_machine_devices.h"
#include "vm_machine_linux.h"

#define RAM_HOLE_DEFAULT  (UINT64_C(512) << 20)
#define RAM_MIN_FOR_IMAGE (UINT64_C(1) << 20)

static int machine_ram_init(PVM vm)
{
    PCFGMNODE root = CFGMR3GetRoot(vm);
    uint64_t size = 0, hole = 0;
    int rc = CFGMR3QueryU64Def(root, "RamSize", &size, 0);
    if (RT_SUCCESS(rc))
        rc = CFGMR3QueryU64Def(root, "RamHoleSize", &hole, RAM_HOLE_DEFAULT);
    if (RT_FAILURE(rc))
        return VMSetError(vm, rc, RT_SRC_POS, "Configuration error: RamSize and RamHoleSize must be integers");
    if (size % GUEST_PAGE_SIZE || hole % GUEST_PAGE_SIZE || hole > GUEST_4G)
        return VMSetError(vm, VERR_INVALID_PARAMETER, RT_SRC_POS,
                          "Configuration error: RamSize (%#llx) and RamHoleSize (%#llx) must be multiples of "
                          "4 KiB and the hole at most 4 GiB", (unsigned long long)size, (unsigned long long)hole);
    if (size < RAM_MIN_FOR_IMAGE && (flat_loader_configured(vm) || vm_machine_linux_configured(vm)))
        return VMSetError(vm, VERR_OUT_OF_RANGE, RT_SRC_POS,
                          "Configuration error: RamSize must be at least 1 MiB to load /Boot/%s",
                          flat_loader_configured(vm) ? "Image" : "Kernel");
    rc = guest_ram_init(&vm->ram, size, hole);
    if (RT_FAILURE(rc))
        return VMSetError(vm, rc, RT_SRC_POS, "cannot map %llu MiB of guest RAM",
                          (unsigned long long)(size >> 20));
    return VINF_SUCCESS;
}

static int machine_engine_init(PVM vm)
{
    char name[16], why[256] = "";
    int rc = CFGMR3QueryStringDef(CFGMR3GetRoot(vm), "ExecEngine", name, sizeof(name), "auto");
    if (RT_FAILURE(rc))
        return VMSetError(vm, VERR_INVALID_PARAMETER, RT_SRC_POS,
                          "Configuration error: ExecEngine must be \"auto\", \"kvm\" or \"interp\"");
    const struct engine_ops *ops = engine_select(name, why, sizeof(why));
    if (!ops) {
        bool known = strcmp(name, "kvm") == 0 || strcmp(name, "auto") == 0;
        rc = strcmp(name, "interp") == 0 ? VERR_NOT_SUPPORTED : known ? VERR_NEM_NOT_AVAILABLE : VERR_INVALID_PARAMETER;
        return VMSetError(vm, rc, RT_SRC_POS, "ExecEngine \"%s\": %s", name, why);
    }
    vm->io = io_bus_create();
    if (!vm->io)
        return VMSetError(vm, VERR_NO_MEMORY, RT_SRC_POS, "out of memory for the I/O bus");
    vm->engine = ops;
    vm->bMainExecutionEngine = ops->exec_engine;
    snprintf(vm->engine_reason, sizeof(vm->engine_reason), "%s", why);
    vm_log(vm->pUVM, "execution engine %s (%s)", ops->name, why);
    rc = ops->vm_init(vm);
    if (RT_FAILURE(rc)) {
        vm->engine = NULL;             /* the engine cleaned up after itself */
        vm->bMainExecutionEngine = VM_EXEC_ENGINE_NOT_SET;
    }
    return rc;
}

/* Devices arm timers on the clock, so it exists before them (paused). */
static int machine_clock_init(PVM vm)
{
    vm->clock = vclock_create();
    if (!vm->clock)
        return VMSetError(vm, VERR_NO_MEMORY, RT_SRC_POS, "cannot create the virtual clock (out of memory or threads)");
    return VINF_SUCCESS;
}

/* A Linux guest gets the PC devices it expects unless /Devices has them. */
static int machine_linux_init(PVM vm)
{
    int rc = vm_machine_linux_check_config(vm);
    if (RT_SUCCESS(rc) && vm_machine_linux_configured(vm))
        rc = vm_machine_linux_add_devices(vm);
    return rc;
}

int vm_machine_init(PVM vm)
{
    int rc = machine_linux_init(vm);
    if (RT_SUCCESS(rc))
        rc = machine_ram_init(vm);
    if (RT_SUCCESS(rc))
        rc = machine_engine_init(vm);
    if (RT_SUCCESS(rc))
        rc = machine_clock_init(vm);
    if (RT_SUCCESS(rc))
        rc = vm_devices_create(vm);
    if (RT_FAILURE(rc))
        vm_machine_term(vm);           /* the core does not call term after a failed init */
    return rc;
}

void vm_machine_term(PVM vm)
{
    vm_devices_destroy(vm);
    vclock_destroy(vm->clock);         /* after the devices: they own timers on it */
    vm->clock = NULL;
    if (vm->engine && vm->engine->vm_term)
        vm->engine->vm_term(vm);
    vm->engine = NULL;
    io_bus_destroy(vm->io);
    vm->io = NULL;
    guest_ram_term(&vm->ram);
}

/* Puts one vCPU in its reset state, or parked (waiting for SIPI). */
static int vcpu_reset_state(PVM vm, PVMCPU vcpu, bool park)
{
    struct cpu_state *st = aligned_alloc(64, sizeof(*st));
    if (!st)
        return VMSetError(vm, VERR_NO_MEMORY, RT_SRC_POS, "out of memory");
    cpu_state_reset(st, vcpu->idCpu == 0);
    if (park)
        st->run_state = CPU_WAIT_FOR_SIPI;
    int rc = vm->engine->set_state(vcpu, st);
    free(st);
    return rc;
}

int vm_machine_vcpu_init(PVMCPU vcpu)
{
    PVM vm = vcpu->pVM;
    if (!vm->engine)
        return VMSetError(vm, VERR_INVALID_STATE, RT_SRC_POS, "vCPU %u: the machine is not set up", vcpu->idCpu);
    int rc = vm->engine->vcpu_init(vcpu);
    if (RT_SUCCESS(rc))
        rc = vcpu_reset_state(vm, vcpu, false);
    return rc;
}

void vm_machine_vcpu_term(PVMCPU vcpu)
{
    PVM vm = vcpu->pVM;
    if (vm->engine && vm->engine->vcpu_term)
        vm->engine->vcpu_term(vcpu);
}

int vm_machine_load(PVM vm)
{
    if (flat_loader_configured(vm))
        return flat_loader_load(vm);
    if (vm_machine_linux_configured(vm))
        return vm_machine_linux_load(vm);
    int rc = VINF_SUCCESS;
    for (uint32_t i = 0; i < vm->cCpus && RT_SUCCESS(rc); i++)
        rc = vcpu_reset_state(vm, vm->apCpus[i], true);
    return rc;
}

int vm_machine_reset(PVM vm)
{
    vm_devices_reset(vm);
    guest_ram_clear(&vm->ram);
    int rc = VINF_SUCCESS;
    for (uint32_t i = 0; i < vm->cCpus && RT_SUCCESS(rc); i++)
        rc = vcpu_reset_state(vm, vm->apCpus[i], false);
    if (RT_SUCCESS(rc))
        rc = vm_machine_load(vm);
    return rc;
}

/*
 * Guest time stops while the VM does not run: the clock (and the engine's
 * guest clocks) pause before the devices hear of a suspend or power-off and
 * resume after they heard of a power-on or resume, so no timer fires into a
 * device that is stopped and the guest sees no jump.
 */
void vm_machine_notify(PVM vm, enum vm_machine_event what)
{
    bool starting = what == VM_MACHINE_POWER_ON || what == VM_MACHINE_RESUME;
    if (!starting) {
        if (vm->clock)
            vclock_pause(vm->clock);
        if (vm->engine && vm->engine->vm_pause)
            vm->engine->vm_pause(vm);  /* guest clocks (kvmclock, TSC) stop too */
    }
    vm_devices_notify(vm, what);
    if (starting) {
        if (vm->engine && vm->engine->vm_resume)
            vm->engine->vm_resume(vm);
        if (vm->clock)
            vclock_resume(vm->clock);
    }
}
