/*
 * The CPU hot plug registers the DSDT's processor objects read
 * (src/boot/acpi_dsdt_cpus.c), at ACPI_CPU_HOTPLUG_PORT in I/O space:
 *
 *   +0x00 PRS0  +0x04 PRS1   present vCPUs (bits 0-31, 32-63), read-only
 *   +0x08 INS0  +0x0C INS1   vCPUs plugged since the last read; reading clears
 *   +0x10 RMV0  +0x14 RMV1   vCPUs the host asks to remove; reading clears
 *   +0x18 EJCT               write n: the guest has ejected vCPU n
 *
 * Registers are 32-bit; narrower or unaligned accesses read 0 and are
 * ignored (the DSDT's fields are DWordAcc).  Plugging and unplugging raise
 * the hot plug GPE on the ACPI PM block.  Thread-safe.
 */
#ifndef PETREL_ACPI_CPU_HOTPLUG_H
#define PETREL_ACPI_CPU_HOTPLUG_H

#include <stdint.h>

struct io_bus;
struct acpi_pm;
struct acpi_cpu_hotplug;

/* Called (on the vCPU thread that wrote EJCT) when the guest ejected vCPU id. */
typedef void acpi_cpu_ejected_fn(void *opaque, uint32_t id);

/* Registers the ports; NULL if they are taken or out of memory.  present:
 * the vCPUs present at power-on; max_cpus: how many exist (1..64). */
struct acpi_cpu_hotplug *acpi_cpu_hotplug_create(struct io_bus *bus, struct acpi_pm *pm, uint64_t present,
                                                 uint32_t max_cpus, acpi_cpu_ejected_fn *ejected,
                                                 void *opaque);
void acpi_cpu_hotplug_destroy(struct acpi_cpu_hotplug *hp);
/* Power-on state: the boot-time present set, nothing pending. */
void acpi_cpu_hotplug_reset(struct acpi_cpu_hotplug *hp);

/* The host plugs vCPU id: present, and the guest is told (device check).
 * VERR_INVALID_CPU_ID past max_cpus; VINF_SUCCESS if already present. */
int acpi_cpu_hotplug_plug(struct acpi_cpu_hotplug *hp, uint32_t id);
/* The host asks the guest to remove vCPU id (eject request); it stays
 * present until the guest ejects it.  VERR_INVALID_CPU_ID past max_cpus,
 * VERR_NOT_FOUND if it is not present. */
int acpi_cpu_hotplug_request_unplug(struct acpi_cpu_hotplug *hp, uint32_t id);
uint64_t acpi_cpu_hotplug_present(struct acpi_cpu_hotplug *hp);

#endif /* PETREL_ACPI_CPU_HOTPLUG_H */
