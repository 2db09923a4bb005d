/*
 * The DSDT, hand-assembled with the AML emitter (acpi_aml.h):
 *
 *   \_S0_, \_S5_          sleep types for PM1a_CNT.SLP_TYP (S5 = ACPI_SLP_TYP_S5)
 *   \_SB.PCI0             PNP0A03 root bridge (_HID and no _ADR, as the spec
 *                         asks): bus 0-255, config ports, I/O and memory
 *                         windows, _PRT for INTx (pci_host.h)
 *   \_SB.COM1             PNP0501 at 0x3F8, IRQ 4 (if cfg->com1)
 *   \_SB.PS2K             PNP0303 i8042 at 0x60/0x64, IRQ 1 (so Linux's i8042
 *                         driver finds the controller through PNP, quietly)
 *   \_SB.RTC              PNP0B00 CMOS RTC at 0x70, IRQ 8
 *
 * Linux finds the CPUs in the MADT; with cfg->cpu_hotplug the DSDT also
 * has a processor object per possible vCPU and the hot plug GPE handler
 * (acpi_dsdt_cpus.c).
 */
#include "acpi_internal.h"

#include <stdlib.h>
#include <string.h>

#include <vmm/err.h>

#include "../devices/pci_host.h"
#include "acpi_aml.h"

#define DSDT_REVISION 2                /* 64-bit AML integers */
#define PCI_SLOTS     32
#define PCI_PINS      4

static void sleep_state(struct aml *a, const char *name, unsigned typ)
{
    aml_name(a, name);
    aml_package_begin(a, 4);
    aml_integer(a, typ);               /* SLP_TYPa */
    aml_integer(a, typ);               /* SLP_TYPb (no PM1b block) */
    aml_integer(a, 0);
    aml_integer(a, 0);
    aml_end(a);
}

static void pci0_crs(struct aml *a, const struct acpi_config *cfg)
{
    aml_name(a, "_CRS");
    aml_buffer_begin(a);
    aml_res_word_bus(a, 0x00, 0xFF);
    aml_res_io(a, PCI_CONFIG_ADDRESS_PORT, PCI_CONFIG_ADDRESS_PORT, 1, 8);
    aml_res_word_io(a, 0x0000, PCI_CONFIG_ADDRESS_PORT - 1);   /* legacy ports below */
    aml_res_word_io(a, 0x0D00, 0xFFFF);                        /* room for I/O BARs */
    if (cfg->pci_mmio32_size)
        aml_res_dword_mem(a, (uint32_t)cfg->pci_mmio32_base,
                          (uint32_t)(cfg->pci_mmio32_base + cfg->pci_mmio32_size - 1), false);
    if (cfg->pci_mmio64_size)
        aml_res_qword_mem(a, cfg->pci_mmio64_base,
                          cfg->pci_mmio64_base + cfg->pci_mmio64_size - 1, false);
    aml_res_end(a);
    aml_end(a);
}

/* Package { address (slot << 16 | 0xFFFF), pin, source Zero (= GSI), GSI } per slot and pin. */
static void pci0_prt(struct aml *a)
{
    aml_name(a, "_PRT");
    aml_package_begin(a, PCI_SLOTS * PCI_PINS);
    for (unsigned slot = 0; slot < PCI_SLOTS; slot++)
        for (unsigned pin = 0; pin < PCI_PINS; pin++) {
            aml_package_begin(a, 4);
            aml_dword(a, (slot << 16) | 0xFFFF);
            aml_integer(a, pin);
            aml_integer(a, 0);
            aml_integer(a, pci_intx_gsi(slot, pin));
            aml_end(a);
        }
    aml_end(a);
}

static void pci0(struct aml *a, const struct acpi_config *cfg)
{
    aml_device_begin(a, "PCI0");
    aml_name(a, "_HID");
    aml_eisaid(a, "PNP0A03");
    aml_name(a, "_UID");
    aml_integer(a, 0);
    aml_name(a, "_BBN");
    aml_integer(a, 0);
    pci0_crs(a, cfg);
    pci0_prt(a);
    aml_end(a);
}

/* An ISA-style device: _HID, _UID, and _CRS with up to two I/O ranges and an IRQ. */
static void isa_device(struct aml *a, const char *name, const char *hid, unsigned uid,
                       const uint16_t io[2][2], unsigned irq)
{
    aml_device_begin(a, name);
    aml_name(a, "_HID");
    aml_eisaid(a, hid);
    aml_name(a, "_UID");
    aml_integer(a, uid);
    aml_name(a, "_CRS");
    aml_buffer_begin(a);
    for (unsigned i = 0; i < 2 && io[i][1]; i++)
        aml_res_io(a, io[i][0], io[i][0], 1, (uint8_t)io[i][1]);
    aml_res_irq_noflags(a, (uint16_t)(1u << irq));
    aml_res_end(a);
    aml_end(a);
    aml_end(a);
}

static void system_bus(struct aml *a, const struct acpi_config *cfg)
{
    static const uint16_t com1_io[2][2] = { { 0x3F8, 8 }, { 0, 0 } };
    static const uint16_t kbd_io[2][2] = { { 0x60, 1 }, { 0x64, 1 } };
    static const uint16_t rtc_io[2][2] = { { 0x70, 2 }, { 0, 0 } };
    aml_scope_begin(a, "\\_SB");
    pci0(a, cfg);
    if (cfg->com1)
        isa_device(a, "COM1", "PNP0501", 1, com1_io, 4);
    isa_device(a, "PS2K", "PNP0303", 0, kbd_io, 1);
    isa_device(a, "RTC", "PNP0B00", 0, rtc_io, 8);
    aml_end(a);
}

int acpi_dsdt_build(const struct acpi_config *cfg, struct acpi_blob *out)
{
    struct aml a;
    aml_init(&a);
    aml_bytes(&a, (uint8_t[ACPI_HEADER_LEN]){ 0 }, ACPI_HEADER_LEN);   /* header, filled below */
    sleep_state(&a, "\\_S0", 0);
    sleep_state(&a, "\\_S5", ACPI_SLP_TYP_S5);
    system_bus(&a, cfg);
    if (cfg->cpu_hotplug)
        acpi_dsdt_cpus(&a, cfg);
    if (aml_failed(&a) || a.len > UINT32_MAX) {
        int rc = a.failed && !a.buf ? VERR_NO_MEMORY : VERR_INTERNAL_ERROR;
        aml_free(&a);
        return rc;
    }
    acpi_header(a.buf, "DSDT", (uint32_t)a.len, DSDT_REVISION);
    acpi_table_finish(a.buf, a.len);
    out->data = a.buf;                 /* ownership moves to the blob */
    out->len = a.len;
    return VINF_SUCCESS;
}
