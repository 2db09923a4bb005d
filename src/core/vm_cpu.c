/*
 * Per-VM settings and vCPU-level calls: name, UUID, execution engine,
 * execution cap, CPU hot plug, core/package ids.
 */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "vm_internal.h"

#include "../devices/acpi_cpu_hotplug.h"
#include "../devices/acpi_pm.h"

VMMR3DECL(const char *) VMR3GetName(PUVM pUVM)
{
    return uvm_is_valid(pUVM) ? pUVM->name : NULL;
}

VMMR3DECL(PRTUUID) VMR3GetUuid(PUVM pUVM, PRTUUID pUuid)
{
    if (!uvm_is_valid(pUVM) || !pUuid)
        return NULL;
    memcpy(pUuid, &pUVM->uuid, sizeof(*pUuid));
    return pUuid;
}

VMMR3DECL(int) EMR3QueryMainExecutionEngine(PUVM pUVM, uint8_t *pbMainExecutionEngine)
{
    if (!pbMainExecutionEngine)
        return VERR_INVALID_POINTER;
    *pbMainExecutionEngine = VM_EXEC_ENGINE_NOT_SET;
    PVM vm = uvm_vm(pUVM);
    if (!vm)
        return VERR_INVALID_VM_HANDLE;
    *pbMainExecutionEngine = vm->bMainExecutionEngine;
    return VINF_SUCCESS;
}

VMMR3DECL(int) EMR3QueryExecutionEngineReason(PUVM pUVM, char *pszBuf, size_t cbBuf)
{
    if (!pszBuf)
        return VERR_INVALID_POINTER;
    if (!cbBuf)
        return VERR_BUFFER_OVERFLOW;
    pszBuf[0] = '\0';
    PVM vm = uvm_vm(pUVM);
    if (!vm)
        return VERR_INVALID_VM_HANDLE;
    int n = snprintf(pszBuf, cbBuf, "%s", vm->engine_reason);
    return n >= 0 && (size_t)n < cbBuf ? VINF_SUCCESS : VERR_BUFFER_OVERFLOW;
}

VMMR3_INT_DECL(bool) VMR3IsLongModeAllowed(PVM pVM)
{
    return vm_is_registered(pVM) && pVM->bMainExecutionEngine != VM_EXEC_ENGINE_NOT_SET;
}

VMMR3_INT_DECL(void) VMR3Relocate(PVM pVM, RTGCINTPTR offDelta)
{
    (void)pVM; (void)offDelta;   /* nothing is position dependent in Petrel */
}

VMMR3DECL(int) VMR3SetPowerOffInsteadOfReset(PUVM pUVM, bool fPowerOffInsteadOfReset)
{
    if (!uvm_vm(pUVM))
        return VERR_INVALID_VM_HANDLE;
    atomic_store(&pUVM->power_off_instead_of_reset, fPowerOffInsteadOfReset);
    return VINF_SUCCESS;
}

VMMR3DECL(int) VMR3GetCpuCoreAndPackageIdFromCpuId(PUVM pUVM, VMCPUID idCpu, uint32_t *pidCpuCore, uint32_t *pidCpuPackage)
{
    PVM vm = uvm_vm(pUVM);
    if (!vm)
        return VERR_INVALID_VM_HANDLE;
    if (!pidCpuCore || !pidCpuPackage)
        return VERR_INVALID_POINTER;
    if (idCpu >= vm->cCpus)
        return VERR_INVALID_CPU_ID;
    /* One package, one core per vCPU: matches the CPUID topology the guest sees. */
    *pidCpuCore = idCpu;
    *pidCpuPackage = 0;
    return VINF_SUCCESS;
}

/* --- CPU hot plug --- */

static int hot_unplug_on_emt(PVM vm, PVMCPU vcpu)
{
    struct cpu_state *st = calloc(1, sizeof(*st));
    if (!st)
        return VERR_NO_MEMORY;
    cpu_state_reset(st, false);          /* an AP after INIT: waits for SIPI */
    int rc = vm->engine->set_state(vcpu, st);
    free(st);
    return RT_FAILURE(rc) ? rc : VINF_EM_WAIT_SIPI;
}

static int check_hotplug_cpu(PUVM uvm, VMCPUID id, PVM *pvm)
{
    PVM vm = uvm_vm(uvm);
    if (!vm)
        return VERR_INVALID_VM_HANDLE;
    if (id >= vm->cCpus)
        return VERR_INVALID_CPU_ID;
    *pvm = vm;
    return VINF_SUCCESS;
}

void vm_cpu_ejected_by_guest(PVM vm, uint32_t id)
{
    if (id == 0 || id >= vm->cCpus)
        return;
    VMR3ReqCallNoWaitU(vm->pUVM, id, (PFNRT)hot_unplug_on_emt, 2, vm, vm->apCpus[id]);
}

/* With the ACPI CPU hot plug registers the guest is asked to give the vCPU
 * up (an eject request); it is reset once the guest has ejected it.
 * Without them (flat test guests) the vCPU is reset at once. */
VMMR3DECL(int) VMR3HotUnplugCpu(PUVM pUVM, VMCPUID idCpu)
{
    PVM vm = NULL;
    int rc = check_hotplug_cpu(pUVM, idCpu, &vm);
    if (RT_FAILURE(rc))
        return rc;
    /* Petrel refuses to unplug the boot CPU: no guest can continue without it. */
    if (idCpu == 0)
        return VMSetError(vm, VERR_NOT_SUPPORTED, RT_SRC_POS, "CPU 0 (the boot CPU) cannot be unplugged");
    struct acpi_cpu_hotplug *hp = acpi_cpu_hotplug_of_vm(vm);
    if (hp) {
        rc = acpi_cpu_hotplug_request_unplug(hp, idCpu);
        if (rc == VERR_NOT_FOUND)
            return VMSetError(vm, VERR_INVALID_STATE, RT_SRC_POS, "CPU %u is not plugged", idCpu);
        return rc;
    }
    if (vm_current_cpu_id(pUVM) == idCpu)
        return hot_unplug_on_emt(vm, vm->apCpus[idCpu]);
    return VMR3ReqCallNoWaitU(pUVM, idCpu, (PFNRT)hot_unplug_on_emt, 2, vm, vm->apCpus[idCpu]);
}

/* The vCPU waits for a startup IPI; the guest learns of it through ACPI
 * (a device check on its processor object) when the machine has it. */
VMMR3DECL(int) VMR3HotPlugCpu(PUVM pUVM, VMCPUID idCpu)
{
    PVM vm = NULL;
    int rc = check_hotplug_cpu(pUVM, idCpu, &vm);
    if (RT_FAILURE(rc))
        return rc;
    struct acpi_cpu_hotplug *hp = acpi_cpu_hotplug_of_vm(vm);
    return hp ? acpi_cpu_hotplug_plug(hp, idCpu) : VINF_SUCCESS;
}

/* --- execution cap --- */

/* Pokes capped vCPUs out of guest code every few ms so the EMT can account
 * its CPU time even when the guest never exits on its own. */
static void *exec_cap_thread(void *arg)
{
    PVM vm = arg;
    pthread_setname_np(pthread_self(), "exec-cap");
    while (!atomic_load(&vm->cap_thread_stop)) {
        struct timespec ts = { 0, 5000000L };
        nanosleep(&ts, NULL);
        if (atomic_load(&vm->exec_cap) >= 100)
            continue;
        for (uint32_t i = 0; i < vm->cCpus; i++)
            emt_poke(vm->apCpus[i]->pUVCpu);
    }
    return NULL;
}

void vm_exec_cap_start(PVM vm)
{
    if (vm->cap_thread_started)
        return;
    atomic_store(&vm->cap_thread_stop, false);
    if (pthread_create(&vm->cap_thread, NULL, exec_cap_thread, vm) == 0)
        vm->cap_thread_started = true;
}

void vm_exec_cap_stop(PVM vm)
{
    if (!vm->cap_thread_started)
        return;
    atomic_store(&vm->cap_thread_stop, true);
    pthread_join(vm->cap_thread, NULL);
    vm->cap_thread_started = false;
}

static void exec_cap_start_on_emt(PVM vm)
{
    vm_exec_cap_start(vm);
}

VMMR3DECL(int) VMR3SetCpuExecutionCap(PUVM pUVM, uint32_t uCpuExecutionCap)
{
    PVM vm = uvm_vm(pUVM);
    if (!vm)
        return VERR_INVALID_VM_HANDLE;
    if (uCpuExecutionCap < 1 || uCpuExecutionCap > 100)
        return VERR_INVALID_PARAMETER;
    atomic_store(&vm->exec_cap, uCpuExecutionCap);
    /* The watchdog belongs to EMT(0) so that start/stop never race. */
    if (uCpuExecutionCap < 100 && !vm->cap_thread_started)
        return vm_current_emt(pUVM) ? (exec_cap_start_on_emt(vm), VINF_SUCCESS)
                                    : VMR3ReqCallVoidWaitU(pUVM, 0, (PFNRT)exec_cap_start_on_emt, 1, vm);
    return VINF_SUCCESS;
}
