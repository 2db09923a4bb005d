/*
 * MADT (ACPI 6.5 section 5.2.12), revision 5 so the "online capable" bit
 * means something: one Processor Local APIC entry per possible vCPU
 * (processor UID = APIC id = vCPU index), enabled if present, online
 * capable if it may be hot plugged later; the IOAPIC; the ISA overrides
 * KVM's in-kernel IOAPIC wiring needs (IRQ0 -> GSI2, SCI level/high); and
 * LINT1 as NMI on every CPU.
 */
#include "acpi_internal.h"

#include <stdlib.h>

#include <vmm/err.h>

#define MADT_REVISION      5
#define MADT_PCAT_COMPAT   0x1u          /* dual 8259s present (masked by Linux) */

enum { MADT_LAPIC = 0, MADT_IOAPIC = 1, MADT_ISO = 2, MADT_LAPIC_NMI = 4 };
#define MADT_LAPIC_LEN     8
#define MADT_IOAPIC_LEN    12
#define MADT_ISO_LEN       10
#define MADT_LAPIC_NMI_LEN 6

#define LAPIC_ENABLED        0x1u
#define LAPIC_ONLINE_CAPABLE 0x2u

/* MPS INTI flags: polarity bits 0-1 (1 = high), trigger bits 2-3 (1 = edge, 3 = level). */
#define INTI_CONFORMS      0x0000u
#define INTI_LEVEL_HIGH    0x000Du

static size_t put_lapic(uint8_t *p, uint32_t cpu, bool present)
{
    p[0] = MADT_LAPIC;
    p[1] = MADT_LAPIC_LEN;
    p[2] = (uint8_t)cpu;                      /* ACPI processor UID */
    p[3] = (uint8_t)cpu;                      /* APIC id */
    acpi_put32(p + 4, present ? LAPIC_ENABLED : LAPIC_ONLINE_CAPABLE);
    return MADT_LAPIC_LEN;
}

static size_t put_ioapic(uint8_t *p)
{
    p[0] = MADT_IOAPIC;
    p[1] = MADT_IOAPIC_LEN;
    p[2] = ACPI_IOAPIC_ID;
    p[3] = 0;
    acpi_put32(p + 4, ACPI_IOAPIC_ADDR);
    acpi_put32(p + 8, 0);                     /* GSI base */
    return MADT_IOAPIC_LEN;
}

static size_t put_iso(uint8_t *p, uint8_t irq, uint32_t gsi, uint16_t flags)
{
    p[0] = MADT_ISO;
    p[1] = MADT_ISO_LEN;
    p[2] = 0;                                 /* bus: ISA */
    p[3] = irq;
    acpi_put32(p + 4, gsi);
    acpi_put16(p + 8, flags);
    return MADT_ISO_LEN;
}

static size_t put_lapic_nmi(uint8_t *p)
{
    p[0] = MADT_LAPIC_NMI;
    p[1] = MADT_LAPIC_NMI_LEN;
    p[2] = 0xFF;                              /* all processors */
    acpi_put16(p + 3, INTI_CONFORMS);
    p[5] = 1;                                 /* LINT1 */
    return MADT_LAPIC_NMI_LEN;
}

int acpi_madt_build(const struct acpi_config *cfg, struct acpi_blob *out)
{
    size_t len = ACPI_HEADER_LEN + 8 + (size_t)cfg->max_cpus * MADT_LAPIC_LEN
               + MADT_IOAPIC_LEN + (size_t)2 * MADT_ISO_LEN + MADT_LAPIC_NMI_LEN;
    uint8_t *t = calloc(1, len);
    if (!t)
        return VERR_NO_MEMORY;
    acpi_header(t, "APIC", (uint32_t)len, MADT_REVISION);
    acpi_put32(t + 36, ACPI_LAPIC_ADDR);
    acpi_put32(t + 40, MADT_PCAT_COMPAT);
    size_t off = ACPI_HEADER_LEN + 8;
    for (uint32_t cpu = 0; cpu < cfg->max_cpus; cpu++)
        off += put_lapic(t + off, cpu, (cfg->cpu_present_mask >> cpu) & 1);
    off += put_ioapic(t + off);
    off += put_iso(t + off, 0, 2, INTI_CONFORMS);          /* PIT on IOAPIC pin 2 */
    off += put_iso(t + off, ACPI_SCI_IRQ, ACPI_SCI_IRQ, INTI_LEVEL_HIGH);
    off += put_lapic_nmi(t + off);
    if (off != len) {
        free(t);
        return VERR_INTERNAL_ERROR;
    }
    acpi_table_finish(t, len);
    out->data = t;
    out->len = len;
    return VINF_SUCCESS;
}
