/*
 * acpi_build for a VM (see acpi.h): what the machine glue calls after RAM
 * and devices exist, on every (re)load since a hard reset clears RAM.
 *
 * Taken from the VM: vCPUs = cCpus (all present unless
 * /Devices/acpi/0/Config/CpuPresentMask says otherwise, for CPU hot plug;
 * processor objects in the DSDT when the acpi device does CPU hot plug),
 * the PM block base from the "acpi" device, COM1 when /Devices/serial/0
 * exists, and a 32-bit PCI window from the end of low RAM (1 MiB aligned)
 * up to the IOAPIC at 0xFEC00000.  No 64-bit window: Petrel's guests may
 * have as few as 36 physical address bits.
 */
#include "acpi.h"

#include <vmm/err.h>

#include "../core/vm_internal.h"
#include "../devices/acpi_pm.h"

#define MIB UINT64_C(0x100000)

static int config_from_vm(struct VM *vm, struct acpi_pm *pm, struct acpi_config *cfg)
{
    PCFGMNODE root = CFGMR3GetRoot(vm);
    uint64_t mask;
    int rc = CFGMR3QueryU64Def(CFGMR3GetChild(root, "Devices/acpi/0/Config"), "CpuPresentMask", &mask, 0);
    if (RT_FAILURE(rc))
        return VMSetError(vm, rc, RT_SRC_POS, "acpi: /Devices/acpi/0/Config/CpuPresentMask must be an integer");
    cfg->cpus = vm->cCpus;
    cfg->max_cpus = vm->cCpus;
    cfg->cpu_present_mask = mask;
    cfg->pm_io_base = acpi_pm_io_base(pm);
    cfg->com1 = CFGMR3GetChild(root, "Devices/serial/0") != NULL;
    cfg->cpu_hotplug = acpi_cpu_hotplug_of_vm(vm) != NULL;
    uint64_t base = (vm->ram.low_size + MIB - 1) & ~(MIB - 1);
    if (base < ACPI_IOAPIC_ADDR) {
        cfg->pci_mmio32_base = base;
        cfg->pci_mmio32_size = ACPI_IOAPIC_ADDR - base;
    }
    return VINF_SUCCESS;
}

int acpi_build_for_vm(struct VM *vm, uint64_t *rsdp_gpa)
{
    struct acpi_pm *pm = acpi_pm_of_vm(vm);
    if (!pm)
        return VMSetError(vm, VERR_NOT_FOUND, RT_SRC_POS,
                          "ACPI tables need the ACPI PM block: configure /Devices/acpi/0");
    struct acpi_config cfg = { 0 };
    int rc = config_from_vm(vm, pm, &cfg);
    if (RT_FAILURE(rc))
        return rc;
    rc = acpi_build(&vm->ram, &cfg, rsdp_gpa);
    if (rc == VERR_INVALID_PARAMETER)
        return VMSetError(vm, rc, RT_SRC_POS, "acpi: invalid CPU configuration (%u vCPUs, present mask %#llx): "
                          "vCPU 0 must be present and at most %u vCPUs are supported",
                          vm->cCpus, (unsigned long long)cfg.cpu_present_mask, ACPI_MAX_CPUS);
    if (RT_FAILURE(rc))
        return VMSetError(vm, rc, RT_SRC_POS, "acpi: cannot write the ACPI tables at %#llx-%#llx of guest RAM (status %d)",
                          (unsigned long long)ACPI_AREA_START, (unsigned long long)ACPI_AREA_END - 1, rc);
    return VINF_SUCCESS;
}
