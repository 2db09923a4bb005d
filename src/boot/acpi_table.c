/*
 * Byte helpers, checksums, the common table header and Generic Address
 * Structures (ACPI 6.5 sections 5.2.3 and 5.2.6).
 */
#include "acpi_internal.h"


#include <vmm/err.h>

#include "../devices/acpi_pm.h"

#define ACPI_CREATOR_ID  "PTRL"
#define ACPI_OEM_REV     1u
#define ACPI_CREATOR_REV 1u

void acpi_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

void acpi_put32(uint8_t *p, uint32_t v)
{
    acpi_put16(p, (uint16_t)v);
    acpi_put16(p + 2, (uint16_t)(v >> 16));
}

void acpi_put64(uint8_t *p, uint64_t v)
{
    acpi_put32(p, (uint32_t)v);
    acpi_put32(p + 4, (uint32_t)(v >> 32));
}

void acpi_put_chars(uint8_t *p, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)s[i];
}

uint8_t acpi_sum(const uint8_t *p, size_t len)
{
    uint8_t s = 0;
    for (size_t i = 0; i < len; i++)
        s = (uint8_t)(s + p[i]);
    return s;
}

void acpi_checksum(uint8_t *p, size_t len, size_t field)
{
    p[field] = 0;
    p[field] = (uint8_t)(0x100 - acpi_sum(p, len));
}

void acpi_header(uint8_t *t, const char sig[4], uint32_t len, uint8_t revision)
{
    acpi_put_chars(t, sig, 4);
    acpi_put32(t + 4, len);
    t[8] = revision;
    t[9] = 0;                                  /* checksum, set last */
    acpi_put_chars(t + 10, ACPI_OEM_ID, 6);
    acpi_put_chars(t + 16, ACPI_OEM_TABLE_ID, 8);
    acpi_put32(t + 24, ACPI_OEM_REV);
    acpi_put_chars(t + 28, ACPI_CREATOR_ID, 4);
    acpi_put32(t + 32, ACPI_CREATOR_REV);
}

void acpi_table_finish(uint8_t *t, size_t len)
{
    acpi_checksum(t, len, 9);
}

void acpi_gas(uint8_t *p, uint8_t space, uint8_t bit_width, uint8_t access_size, uint64_t addr)
{
    p[0] = space;
    p[1] = bit_width;
    p[2] = 0;                                  /* bit offset */
    p[3] = access_size;
    acpi_put64(p + 4, addr);
}

static bool window_ok(uint64_t base, uint64_t size, uint64_t limit)
{
    return size == 0 || (base + size > base && base + size <= limit);
}

int acpi_config_normalize(const struct acpi_config *in, struct acpi_config *out)
{
    *out = *in;
    if (out->cpu_present_mask)
        out->cpus = (uint32_t)__builtin_popcountll(out->cpu_present_mask);
    if (!out->max_cpus)
        out->max_cpus = out->cpus;
    if (!out->pm_io_base)
        out->pm_io_base = ACPI_PM_IO_BASE_DEFAULT;
    if (out->cpus < 1 || out->max_cpus > ACPI_MAX_CPUS || out->cpus > out->max_cpus)
        return VERR_INVALID_PARAMETER;
    if (!out->cpu_present_mask)
        out->cpu_present_mask = out->cpus == 64 ? UINT64_MAX : (UINT64_C(1) << out->cpus) - 1;
    if (out->max_cpus < 64 && (out->cpu_present_mask >> out->max_cpus))
        return VERR_INVALID_PARAMETER;          /* a present CPU without an entry */
    if (!(out->cpu_present_mask & 1))
        return VERR_INVALID_PARAMETER;          /* the boot CPU is always there */
    if ((uint32_t)out->pm_io_base + ACPI_PM_IO_SIZE > 0x10000u || (out->pm_io_base & 0xF))
        return VERR_INVALID_PARAMETER;
    if (!window_ok(out->pci_mmio32_base, out->pci_mmio32_size, UINT64_C(1) << 32) ||
        !window_ok(out->pci_mmio64_base, out->pci_mmio64_size, UINT64_C(1) << 52))
        return VERR_INVALID_PARAMETER;
    return VINF_SUCCESS;
}
