/*
 * Lays the tables out in [ACPI_AREA_START, ACPI_AREA_END) (see acpi.h):
 * RSDP, FACS, then XSDT, FADT, MADT, DSDT.  Tables whose size varies
 * (MADT, DSDT) are built first so every address is known before the
 * tables that point at them.
 */
#include "acpi_internal.h"

#include <stdlib.h>
#include <string.h>

#include <vmm/err.h>

#define FACS_ADDR   (ACPI_AREA_START + 0x40)      /* 64-byte aligned */
#define TABLES_ADDR (ACPI_AREA_START + 0x80)
#define XSDT_ENTRIES 2                            /* FADT, MADT (the DSDT hangs off the FADT) */

static uint64_t align16(uint64_t v)
{
    return (v + 15) & ~UINT64_C(15);
}

struct acpi_layout {
    struct acpi_blob xsdt, fadt, madt, dsdt;
    uint64_t xsdt_addr, fadt_addr, madt_addr, dsdt_addr, end;
};

static void layout_free(struct acpi_layout *l)
{
    free(l->xsdt.data);
    free(l->fadt.data);
    free(l->madt.data);
    free(l->dsdt.data);
}

static int layout_build(const struct acpi_config *cfg, struct acpi_layout *l)
{
    int rc = acpi_madt_build(cfg, &l->madt);
    if (RT_SUCCESS(rc))
        rc = acpi_dsdt_build(cfg, &l->dsdt);
    if (RT_FAILURE(rc))
        return rc;
    l->xsdt_addr = TABLES_ADDR;
    l->fadt_addr = align16(l->xsdt_addr + ACPI_HEADER_LEN + (uint64_t)8 * XSDT_ENTRIES);
    l->madt_addr = align16(l->fadt_addr + ACPI_FADT_LEN);
    l->dsdt_addr = align16(l->madt_addr + l->madt.len);
    l->end = l->dsdt_addr + l->dsdt.len;
    if (l->end > ACPI_AREA_END)
        return VERR_BUFFER_OVERFLOW;
    rc = acpi_fadt_build(cfg, FACS_ADDR, l->dsdt_addr, &l->fadt);
    if (RT_FAILURE(rc))
        return rc;
    const uint64_t entries[XSDT_ENTRIES] = { l->fadt_addr, l->madt_addr };
    return acpi_xsdt_build(entries, XSDT_ENTRIES, &l->xsdt);
}

/* Assembled in host memory, then copied with guest_ram_write (dirty tracking). */
static int layout_write(struct guest_ram *ram, const struct acpi_layout *l)
{
    const size_t size = ACPI_AREA_END - ACPI_AREA_START;
    uint8_t *area = calloc(1, size);
    if (!area)
        return VERR_NO_MEMORY;
    acpi_rsdp_build(l->xsdt_addr, area + (ACPI_RSDP_ADDR - ACPI_AREA_START));
    acpi_facs_build(area + (FACS_ADDR - ACPI_AREA_START));
    memcpy(area + (l->xsdt_addr - ACPI_AREA_START), l->xsdt.data, l->xsdt.len);
    memcpy(area + (l->fadt_addr - ACPI_AREA_START), l->fadt.data, l->fadt.len);
    memcpy(area + (l->madt_addr - ACPI_AREA_START), l->madt.data, l->madt.len);
    memcpy(area + (l->dsdt_addr - ACPI_AREA_START), l->dsdt.data, l->dsdt.len);
    int rc = guest_ram_write(ram, ACPI_AREA_START, area, size);
    free(area);
    return rc;
}

int acpi_build(struct guest_ram *ram, const struct acpi_config *cfg_in, uint64_t *rsdp_gpa)
{
    if (!ram || !cfg_in || !rsdp_gpa)
        return VERR_INVALID_POINTER;
    struct acpi_config cfg;
    int rc = acpi_config_normalize(cfg_in, &cfg);
    if (RT_FAILURE(rc))
        return rc;
    if (!guest_ram_contains(ram, ACPI_AREA_START, ACPI_AREA_END - ACPI_AREA_START))
        return VERR_OUT_OF_RANGE;
    struct acpi_layout l = { 0 };
    rc = layout_build(&cfg, &l);
    if (RT_SUCCESS(rc))
        rc = layout_write(ram, &l);
    layout_free(&l);
    if (RT_SUCCESS(rc))
        *rsdp_gpa = ACPI_RSDP_ADDR;
    return rc;
}
