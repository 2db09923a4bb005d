/*
 * ACPI tables for direct-booted guests (no firmware): RSDP, XSDT, FADT,
 * FACS, MADT and a DSDT assembled here.  See docs/acpi.md.
 *
 * The tables live in the legacy BIOS area, which e820 marks reserved:
 *
 *   0xE0000  RSDP (rev 2, 16-byte aligned: the kernel's legacy scan of
 *            0xE0000-0xFFFFF finds it even without boot_params.acpi_rsdp_addr)
 *   0xE0040  FACS (64-byte aligned)
 *   0xE0080  XSDT, FADT, MADT, DSDT, each 16-byte aligned, in that order
 *   ...      up to ACPI_AREA_END; 0xF0000-0xFFFFF is left for other tables
 *
 * The FADT describes a legacy (not hardware-reduced) PM block in I/O space,
 * served by src/devices/acpi_pm.c: fixed power button, S5 via PM1a_CNT,
 * the 3.579545 MHz PM timer and a reset register.  SCI is IRQ 9.
 */
#ifndef PETREL_ACPI_H
#define PETREL_ACPI_H

#include <stdbool.h>
#include <stdint.h>

#include "../memory/guest_ram.h"

#define ACPI_AREA_START   UINT64_C(0xE0000)
#define ACPI_AREA_END     UINT64_C(0xF0000)     /* exclusive */
#define ACPI_RSDP_ADDR    ACPI_AREA_START

#define ACPI_OEM_ID       "PETREL"              /* 6 characters */
#define ACPI_OEM_TABLE_ID "PETRELVM"            /* 8 characters */

#define ACPI_MAX_CPUS     64u                   /* = VMM_MAX_CPU_COUNT; fits cpu_present_mask */
#define ACPI_SCI_IRQ      9u
#define ACPI_LAPIC_ADDR   UINT32_C(0xFEE00000)
#define ACPI_IOAPIC_ADDR  UINT32_C(0xFEC00000)
#define ACPI_IOAPIC_ID    0u                    /* KVM's in-kernel IOAPIC resets to id 0 */

/* CPU hot plug registers (src/devices/acpi_cpu_hotplug.c), read by the
 * DSDT's processor objects and its GPE handler; GPE0 bit that signals them. */
#define ACPI_CPU_HOTPLUG_PORT 0x0CD8u
#define ACPI_CPU_HOTPLUG_LEN  0x1Cu
#define ACPI_CPU_HOTPLUG_GPE  2u

/* Sleep type the DSDT's \_S5_ gives and acpi_pm treats as "power off". */
#define ACPI_SLP_TYP_S5   5u

struct acpi_config {
    uint32_t cpus;              /* vCPUs 0..cpus-1 present at boot (ignored if cpu_present_mask) */
    uint32_t max_cpus;          /* MADT entries, 1..64 (the others are hot-pluggable); 0 = cpus */
    uint64_t cpu_present_mask;  /* bit n = vCPU n present (bit 0 must be set); 0 = use cpus */
    uint16_t pm_io_base;        /* the acpi_pm device's ports; 0 = ACPI_PM_IO_BASE_DEFAULT */
    uint64_t pci_mmio32_base;   /* PCI0 32-bit memory window; size 0 = none */
    uint64_t pci_mmio32_size;
    uint64_t pci_mmio64_base;   /* PCI0 64-bit memory window; size 0 = none */
    uint64_t pci_mmio64_size;
    bool     com1;              /* declare \_SB.COM1 (0x3F8, IRQ 4) */
    bool     cpu_hotplug;       /* processor objects + GPE handler for CPU hot plug */
};

/*
 * Writes all tables into [ACPI_AREA_START, ACPI_AREA_END) of guest RAM
 * (zeroing that area first) and returns the RSDP's guest-physical address.
 * VERR_INVALID_PARAMETER for a bad config, VERR_OUT_OF_RANGE when RAM does
 * not cover the area, VERR_BUFFER_OVERFLOW when the tables do not fit,
 * VERR_NO_MEMORY.
 */
int acpi_build(struct guest_ram *ram, const struct acpi_config *cfg, uint64_t *rsdp_gpa);

struct VM;
/*
 * The machine glue's helper: fills cfg from the VM (cCpus, the RAM layout
 * for the PCI window, the "acpi" device's IoBase, /CpuHotPlug/MaxCpus) and
 * builds the tables into vm->ram.  Sets a VM error on failure.
 */
int acpi_build_for_vm(struct VM *vm, uint64_t *rsdp_gpa);

#endif /* PETREL_ACPI_H */
