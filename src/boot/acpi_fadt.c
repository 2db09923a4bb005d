/*
 * FADT, revision 6 (ACPI 6.5 section 5.2.9).  Not hardware-reduced: the
 * legacy fixed hardware of src/devices/acpi_pm.c gives Linux the fixed
 * power button (reliable since ACPI 1.0, no GED/_AEI methods needed), S5
 * through PM1a_CNT, the PM timer as a clocksource and a reset register.
 * SMI_CMD = 0: the machine is always in ACPI mode (SCI_EN reads 1).
 */
#include "acpi_internal.h"

#include <stdlib.h>

#include <vmm/err.h>

#include "../devices/acpi_pm.h"

#define FADT_REVISION       6
#define FADT_MINOR_REVISION 5

/* Flags (table 5.10). */
#define FADT_WBINVD         (1u << 0)
#define FADT_PROC_C1        (1u << 2)
#define FADT_SLP_BUTTON     (1u << 5)   /* 1: no fixed sleep button */
#define FADT_FIX_RTC        (1u << 6)   /* 1: no RTC wake status in PM1 (rtc-cmos then skips it) */
#define FADT_TMR_VAL_EXT    (1u << 8)   /* 32-bit PM timer */
#define FADT_RESET_REG_SUP  (1u << 10)

/* IA-PC boot architecture flags (table 5.11). */
#define BOOT_LEGACY_DEVICES (1u << 0)   /* ISA-style devices: UART, RTC, i8042 */
#define BOOT_8042           (1u << 1)
#define BOOT_VGA_NOT_PRESENT (1u << 2)  /* CMOS_RTC_NOT_PRESENT (bit 5) stays clear */

#define CMOS_CENTURY_INDEX  0x32
#define LATENCY_NO_C2_C3    0x0FFF      /* > 100 / > 1000 us: C2 and C3 not supported */
#define GAS_ACCESS_BYTE     1

_Static_assert(ACPI_SCI_IRQ == 9, "the MADT override and acpi_pm use IRQ 9");

static void put_block(uint8_t *t, size_t legacy, size_t len_field, size_t gas,
                      uint32_t port, uint8_t len)
{
    acpi_put32(t + legacy, port);
    t[len_field] = len;
    acpi_gas(t + gas, ACPI_GAS_IO, (uint8_t)(8 * len), 0, port);
}

static void put_pm_blocks(uint8_t *t, uint32_t base)
{
    put_block(t, 56, 88, 148, base + ACPI_PM1_STS, ACPI_PM1_EVT_LEN);   /* PM1a_EVT_BLK */
    put_block(t, 64, 89, 172, base + ACPI_PM1_CNT, ACPI_PM1_CNT_LEN);   /* PM1a_CNT_BLK */
    put_block(t, 76, 91, 208, base + ACPI_PM_TMR, ACPI_PM_TMR_LEN);     /* PM_TMR_BLK */
    put_block(t, 80, 92, 220, base + ACPI_GPE0_STS, ACPI_GPE0_BLK_LEN); /* GPE0_BLK */
}

int acpi_fadt_build(const struct acpi_config *cfg, uint64_t facs, uint64_t dsdt, struct acpi_blob *out)
{
    if (dsdt > UINT32_MAX)
        return VERR_INVALID_PARAMETER;
    uint8_t *t = calloc(1, ACPI_FADT_LEN);
    if (!t)
        return VERR_NO_MEMORY;
    acpi_header(t, "FACP", ACPI_FADT_LEN, FADT_REVISION);
    acpi_put32(t + 40, (uint32_t)dsdt);              /* DSDT (also in X_DSDT) */
    acpi_put16(t + 46, ACPI_SCI_IRQ);                /* SCI_INT; SMI_CMD (48) = 0 */
    put_pm_blocks(t, cfg->pm_io_base);
    acpi_put16(t + 96, LATENCY_NO_C2_C3);            /* P_LVL2_LAT */
    acpi_put16(t + 98, LATENCY_NO_C2_C3);            /* P_LVL3_LAT */
    t[108] = CMOS_CENTURY_INDEX;
    acpi_put16(t + 109, BOOT_LEGACY_DEVICES | BOOT_8042 | BOOT_VGA_NOT_PRESENT);
    acpi_put32(t + 112, FADT_WBINVD | FADT_PROC_C1 | FADT_SLP_BUTTON | FADT_FIX_RTC |
                        FADT_TMR_VAL_EXT | FADT_RESET_REG_SUP);
    acpi_gas(t + 116, ACPI_GAS_IO, 8, GAS_ACCESS_BYTE, cfg->pm_io_base + ACPI_PM_RESET);
    t[128] = ACPI_PM_RESET_VALUE;
    t[131] = FADT_MINOR_REVISION;
    acpi_put64(t + 132, facs);                       /* X_FIRMWARE_CTRL (32-bit one stays 0) */
    acpi_put64(t + 140, dsdt);                       /* X_DSDT */
    acpi_put_chars(t + 268, "Petrel  ", 8);                  /* hypervisor vendor identity */
    acpi_table_finish(t, ACPI_FADT_LEN);
    out->data = t;
    out->len = ACPI_FADT_LEN;
    return VINF_SUCCESS;
}
