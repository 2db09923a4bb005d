/*
 * The root of the tables: RSDP (revision 2, ACPI 6.5 section 5.2.5), XSDT
 * (5.2.8) and FACS (5.2.10; the FADT points at it for the OS's global
 * lock and waking vector fields, which Petrel leaves at 0).
 */
#include "acpi_internal.h"

#include <stdlib.h>
#include <string.h>

#include <vmm/err.h>

void acpi_rsdp_build(uint64_t xsdt, uint8_t out[ACPI_RSDP_LEN])
{
    memset(out, 0, ACPI_RSDP_LEN);
    acpi_put_chars(out, "RSD PTR ", 8);
    acpi_put_chars(out + 9, ACPI_OEM_ID, 6);
    out[15] = 2;                               /* revision: XSDT present */
    acpi_put32(out + 16, 0);                   /* no RSDT: 64-bit XSDT only */
    acpi_put32(out + 20, ACPI_RSDP_LEN);
    acpi_put64(out + 24, xsdt);
    acpi_checksum(out, ACPI_RSDP_V1_LEN, 8);
    acpi_checksum(out, ACPI_RSDP_LEN, 32);     /* extended checksum covers everything */
}

int acpi_xsdt_build(const uint64_t *tables, unsigned count, struct acpi_blob *out)
{
    size_t len = ACPI_HEADER_LEN + 8 * (size_t)count;
    uint8_t *t = calloc(1, len);
    if (!t)
        return VERR_NO_MEMORY;
    acpi_header(t, "XSDT", (uint32_t)len, 1);
    for (unsigned i = 0; i < count; i++)
        acpi_put64(t + ACPI_HEADER_LEN + (size_t)8 * i, tables[i]);
    acpi_table_finish(t, len);
    out->data = t;
    out->len = len;
    return VINF_SUCCESS;
}

void acpi_facs_build(uint8_t out[ACPI_FACS_LEN])
{
    memset(out, 0, ACPI_FACS_LEN);
    acpi_put_chars(out, "FACS", 4);
    acpi_put32(out + 4, ACPI_FACS_LEN);
    acpi_put32(out + 8, 0);                    /* hardware signature: constant machine */
    out[32] = 2;                               /* version (ACPI 2.0+ layout) */
}
