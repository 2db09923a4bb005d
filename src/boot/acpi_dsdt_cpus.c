/*
 * The DSDT's processor objects for ACPI CPU hot plug (ACPI 6.5 sections
 * 8.4 and 5.6.6), over the register block of src/devices/acpi_cpu_hotplug.c:
 *
 *   \_SB.CPHR  OperationRegion, SystemIO at ACPI_CPU_HOTPLUG_PORT
 *              PRS0/PRS1  present vCPUs, bits 0-31 / 32-63
 *              INS0/INS1  vCPUs plugged since the last read (read clears)
 *              RMV0/RMV1  vCPUs whose removal the host asks (read clears)
 *              EJCT       write n: the guest has ejected vCPU n
 *   \_SB.Cnnn  one ACPI0007 device per possible vCPU n (hex): _UID n,
 *              _STA from PRSx, _MAT an enabled local APIC entry (Linux
 *              takes the APIC id of a hot-added CPU from it), _EJ0
 *   \_GPE._Exx the hot plug GPE: Notify (Cnnn, 1) (device check) for each
 *              plugged vCPU, Notify (Cnnn, 3) (eject request) for each
 *              vCPU to remove.
 */
#include "acpi_internal.h"

#include <stdio.h>

#include "acpi_aml.h"

#define STA_PRESENT 0x0F
#define NOTIFY_DEVICE_CHECK 1
#define NOTIFY_EJECT_REQUEST 3

static void cpu_name(char out[5], unsigned n)
{
    snprintf(out, 5, "C%03X", n & 0xFFF);
}

/* Field holding vCPU n's bit in a pair of 32-bit registers: "PRS0"/"PRS1". */
static void reg_name(char out[5], const char *prefix, unsigned n)
{
    snprintf(out, 5, "%.3s%c", prefix, n < 32 ? '0' : '1');
}

static void cpu_sta(struct aml *a, unsigned n)
{
    char prs[5];
    reg_name(prs, "PRS", n);
    aml_method_begin(a, "_STA", 0, false);
    aml_if_begin(a);                       /* If (And (PRSx, bit)) { Return (0x0F) } */
    aml_and(a);
    aml_namestring(a, prs);
    aml_integer(a, UINT64_C(1) << (n % 32));
    aml_null_target(a);
    aml_return(a);
    aml_integer(a, STA_PRESENT);
    aml_end(a);
    aml_return(a);
    aml_integer(a, 0);
    aml_end(a);
}

static void cpu_device(struct aml *a, unsigned n)
{
    char name[5];
    cpu_name(name, n);
    aml_device_begin(a, name);
    aml_name(a, "_HID");
    aml_string(a, "ACPI0007");
    aml_name(a, "_UID");
    aml_integer(a, n);
    cpu_sta(a, n);
    aml_name(a, "_MAT");                   /* MADT Processor Local APIC, enabled */
    aml_buffer_begin(a);
    aml_bytes(a, (uint8_t[8]){ 0, 8, (uint8_t)n, (uint8_t)n, 1, 0, 0, 0 }, 8);
    aml_end(a);
    aml_method_begin(a, "_EJ0", 1, false);
    aml_store(a);
    aml_integer(a, n);
    aml_namestring(a, "EJCT");
    aml_end(a);
    aml_end(a);
}

/* If (And (LocalN, bit)) { Notify (\_SB.Cnnn, value) } */
static void notify_if(struct aml *a, unsigned local, unsigned n, unsigned value)
{
    char name[5], path[12];
    cpu_name(name, n);
    snprintf(path, sizeof(path), "\\_SB.%s", name);
    aml_if_begin(a);
    aml_and(a);
    aml_local(a, local);
    aml_integer(a, UINT64_C(1) << (n % 32));
    aml_null_target(a);
    aml_notify(a);
    aml_namestring(a, path);
    aml_integer(a, value);
    aml_end(a);
}

static void gpe_handler(struct aml *a, unsigned max_cpus)
{
    static const char *const regs[4] = { "INS0", "INS1", "RMV0", "RMV1" };
    char method[8];
    snprintf(method, sizeof(method), "_E%02X", ACPI_CPU_HOTPLUG_GPE);
    aml_scope_begin(a, "\\_GPE");
    aml_method_begin(a, method, 0, true);
    for (unsigned i = 0; i < 4; i++) {     /* Store (\_SB.INSx, Local i): each read clears */
        char path[16];
        if ((i & 1) && max_cpus <= 32)
            continue;                      /* no vCPU 32-63: the high halves stay unread */
        snprintf(path, sizeof(path), "\\_SB.%s", regs[i]);
        aml_store(a);
        aml_namestring(a, path);
        aml_local(a, i);
    }
    for (unsigned n = 0; n < max_cpus; n++) {
        notify_if(a, n / 32, n, NOTIFY_DEVICE_CHECK);
        notify_if(a, 2 + n / 32, n, NOTIFY_EJECT_REQUEST);
    }
    aml_end(a);
    aml_end(a);
}

void acpi_dsdt_cpus(struct aml *a, const struct acpi_config *cfg)
{
    static const char *const names[7] = { "PRS0", "PRS1", "INS0", "INS1", "RMV0", "RMV1", "EJCT" };
    static const unsigned bits[7] = { 32, 32, 32, 32, 32, 32, 32 };
    unsigned max = cfg->max_cpus ? cfg->max_cpus : cfg->cpus;
    aml_scope_begin(a, "\\_SB");
    aml_opregion_io(a, "CPHR", ACPI_CPU_HOTPLUG_PORT, ACPI_CPU_HOTPLUG_LEN);
    aml_field_dword(a, "CPHR", names, bits, 7);
    for (unsigned n = 0; n < max; n++)
        cpu_device(a, n);
    aml_end(a);
    gpe_handler(a, max);
}
