/*
 * ACPI: the AML emitter's encodings; the tables acpi_build writes for 1, 2,
 * 4 and 64 vCPUs (RSDP found by the legacy scan, checksums, signatures,
 * lengths, FADT PM block, MADT entries, hot-pluggable CPUs, DSDT names);
 * bad configurations; ACPICA's iasl disassembles every table without
 * errors and recompiles the DSDT (skipped with a reason when iasl is not
 * installed: make deps installs acpica-tools).  Then the PM block: timer
 * rate over virtual time, S5 -> power off, power button -> SCI, write 1 to
 * clear, reset register, GPE, and the "acpi" device + acpi_build_for_vm.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <vmm/err.h>

#include "boot/acpi.h"
#include "boot/acpi_aml.h"
#include "config/cfgm_internal.h"
#include "core/vm_internal.h"
#include "devices/acpi_cpu_hotplug.h"
#include "devices/acpi_pm.h"
#include "io/io_bus.h"
#include "memory/guest_ram.h"
#include "time/vclock.h"

#define MIB (1024ull * 1024)

/* --- reading tables back --- */

static uint32_t rd32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static uint8_t sum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    while (n--)
        s = (uint8_t)(s + *p++);
    return s;
}

static const uint8_t *gp(struct guest_ram *ram, uint64_t gpa, uint64_t len)
{
    const uint8_t *p = guest_ram_ptr(ram, gpa, len);
    assert_non_null(p);
    return p;
}

/* A table at gpa: signature, length inside the ACPI area, checksum, OEM id. */
static const uint8_t *table_at(struct guest_ram *ram, uint64_t gpa, const char *sig)
{
    assert_true(gpa >= ACPI_AREA_START && gpa + 36 <= ACPI_AREA_END);
    const uint8_t *t = gp(ram, gpa, 36);
    assert_memory_equal(t, sig, 4);
    uint32_t len = rd32(t + 4);
    assert_true(len >= 36 && gpa + len <= ACPI_AREA_END);
    t = gp(ram, gpa, len);
    assert_int_equal(sum(t, len), 0);
    assert_memory_equal(t + 10, "PETREL", 6);
    return t;
}

/* As Linux without acpi_rsdp_addr: 16-byte steps over 0xE0000-0xFFFFF. */
static uint64_t legacy_rsdp_scan(struct guest_ram *ram)
{
    for (uint64_t a = 0xE0000; a < 0x100000; a += 16) {
        const uint8_t *p = gp(ram, a, 20);
        if (!memcmp(p, "RSD PTR ", 8) && sum(p, 20) == 0)
            return a;
    }
    return 0;
}

struct tables {
    const uint8_t *rsdp, *xsdt, *fadt, *madt, *dsdt, *facs;
};

static struct tables find_tables(struct guest_ram *ram, uint64_t rsdp_gpa)
{
    struct tables t = { 0 };
    assert_int_equal(legacy_rsdp_scan(ram), rsdp_gpa);
    t.rsdp = gp(ram, rsdp_gpa, 36);
    assert_int_equal(t.rsdp[15], 2);
    assert_int_equal(rd32(t.rsdp + 20), 36);
    assert_int_equal(sum(t.rsdp, 36), 0);
    assert_memory_equal(t.rsdp + 9, "PETREL", 6);
    t.xsdt = table_at(ram, rd64(t.rsdp + 24), "XSDT");
    uint32_t n = (rd32(t.xsdt + 4) - 36) / 8;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t a = rd64(t.xsdt + 36 + 8 * (size_t)i);
        const uint8_t *h = gp(ram, a, 4);
        if (!memcmp(h, "FACP", 4))
            t.fadt = table_at(ram, a, "FACP");
        else if (!memcmp(h, "APIC", 4))
            t.madt = table_at(ram, a, "APIC");
        else
            fail_msg("unexpected table %.4s in the XSDT", (const char *)h);
    }
    assert_non_null(t.fadt);
    assert_non_null(t.madt);
    assert_int_equal(rd32(t.fadt + 40), rd64(t.fadt + 140));      /* DSDT == X_DSDT */
    t.dsdt = table_at(ram, rd64(t.fadt + 140), "DSDT");
    uint64_t facs = rd64(t.fadt + 132);
    assert_int_equal(facs % 64, 0);
    t.facs = gp(ram, facs, 64);
    assert_memory_equal(t.facs, "FACS", 4);
    assert_int_equal(rd32(t.facs + 4), 64);
    return t;
}

/* --- the AML emitter --- */

static void test_aml_encodings(void **state)
{
    (void)state;
    struct aml a;
    aml_init(&a);
    aml_integer(&a, 0);
    aml_integer(&a, 1);
    aml_integer(&a, 0x12);
    aml_integer(&a, 0x1234);
    aml_integer(&a, 0x12345678);
    aml_integer(&a, 0x123456789Aull);
    static const uint8_t ints[] = { 0x00, 0x01, 0x0A, 0x12, 0x0B, 0x34, 0x12, 0x0C, 0x78, 0x56, 0x34, 0x12,
                                    0x0E, 0x9A, 0x78, 0x56, 0x34, 0x12, 0, 0, 0 };
    assert_int_equal(a.len, sizeof(ints));
    assert_memory_equal(a.buf, ints, sizeof(ints));
    aml_free(&a);

    aml_eisaid(&a, "PNP0A03");                    /* iasl: 0x030AD041 */
    static const uint8_t eisa[] = { 0x0C, 0x41, 0xD0, 0x0A, 0x03 };
    assert_memory_equal(a.buf, eisa, sizeof(eisa));
    aml_free(&a);

    aml_namestring(&a, "\\_SB.PCI0");
    aml_namestring(&a, "^RTC");
    aml_namestring(&a, "\\A.B.C");
    static const uint8_t names[] = { 0x5C, 0x2E, '_', 'S', 'B', '_', 'P', 'C', 'I', '0',
                                     0x5E, 'R', 'T', 'C', '_',
                                     0x5C, 0x2F, 3, 'A', '_', '_', '_', 'B', '_', '_', '_', 'C', '_', '_', '_' };
    assert_int_equal(a.len, sizeof(names));
    assert_memory_equal(a.buf, names, sizeof(names));
    assert_false(aml_failed(&a));
    aml_namestring(&a, "bad");
    assert_true(aml_failed(&a));
    aml_free(&a);

    /* Device (DEV0) { Method (_STA, 0, NotSerialized) { Return (0x0F) } } */
    aml_device_begin(&a, "DEV0");
    aml_method_begin(&a, "_STA", 0, false);
    aml_return(&a);
    aml_integer(&a, 0x0F);
    aml_end(&a);
    aml_end(&a);
    static const uint8_t dev[] = { 0x5B, 0x82, 0x0F, 'D', 'E', 'V', '0',
                                   0x14, 0x09, '_', 'S', 'T', 'A', 0x00, 0xA4, 0x0A, 0x0F };
    assert_false(aml_failed(&a));
    assert_int_equal(a.len, sizeof(dev));
    assert_memory_equal(a.buf, dev, sizeof(dev));
    aml_end(&a);                                  /* one end too many */
    assert_true(aml_failed(&a));
    aml_free(&a);
}

/* PkgLength: 1 byte below 64, then 2 bytes (low nibble + next byte). */
static void test_aml_pkglength(void **state)
{
    (void)state;
    struct aml a;
    aml_init(&a);
    aml_package_begin(&a, 1);
    aml_integer(&a, 0x42);                        /* 0A 42: body = 1 + 2 */
    aml_end(&a);
    static const uint8_t small[] = { 0x12, 0x04, 0x01, 0x0A, 0x42 };
    assert_false(aml_failed(&a));
    assert_memory_equal(a.buf, small, sizeof(small));
    aml_free(&a);

    aml_buffer_begin(&a);
    for (int i = 0; i < 100; i++)
        aml_byte(&a, (uint8_t)i);
    aml_end(&a);                                  /* BufferSize 0A 64; total 100 + 2 + 2 = 104 */
    assert_false(aml_failed(&a));
    assert_int_equal(a.len, 1 + 2 + 2 + 100);
    assert_int_equal(a.buf[1], 0x40 | (104 & 0xF));
    assert_int_equal(a.buf[2], 104 >> 4);
    assert_int_equal(a.buf[3], 0x0A);
    assert_int_equal(a.buf[4], 100);
    assert_int_equal(a.buf[5], 0);
    aml_free(&a);

    aml_buffer_begin(&a);                         /* 3-byte PkgLength, Word BufferSize */
    for (int i = 0; i < 5000; i++)
        aml_byte(&a, 0x55);
    aml_end(&a);
    size_t total = 3 + 3 + 5000;                  /* PkgLength + 0B 88 13 + bytes */
    assert_false(aml_failed(&a));
    assert_int_equal(a.len, 1 + total);
    assert_int_equal(a.buf[1], 0x80 | (total & 0xF));
    assert_int_equal(a.buf[2], (total >> 4) & 0xFF);
    assert_int_equal(a.buf[3], total >> 12);
    assert_int_equal(a.buf[4], 0x0B);
    assert_int_equal(a.buf[5] | a.buf[6] << 8, 5000);
    aml_free(&a);

    aml_scope_begin(&a, "\\_SB");                 /* left open: reported as failed */
    assert_true(aml_failed(&a));
    aml_free(&a);
}

/* --- the tables --- */

static void check_fadt(const uint8_t *f)
{
    assert_int_equal(rd32(f + 4), 276);
    assert_int_equal(f[8], 6);
    assert_int_equal(rd16(f + 46), 9);            /* SCI_INT */
    assert_int_equal(rd32(f + 48), 0);            /* SMI_CMD: always ACPI mode */
    assert_int_equal(rd32(f + 56), 0x600);        /* PM1a_EVT_BLK */
    assert_int_equal(rd32(f + 64), 0x604);        /* PM1a_CNT_BLK */
    assert_int_equal(rd32(f + 76), 0x608);        /* PM_TMR_BLK */
    assert_int_equal(rd32(f + 80), 0x610);        /* GPE0_BLK */
    assert_int_equal(f[88], 4);
    assert_int_equal(f[89], 2);
    assert_int_equal(f[91], 4);
    assert_int_equal(f[92], 4);
    assert_int_equal(rd64(f + 148 + 4), 0x600);   /* X_PM1a_EVT_BLK */
    assert_int_equal(f[148 + 1], 32);
    assert_int_equal(rd64(f + 208 + 4), 0x608);   /* X_PM_TMR_BLK */
    uint16_t boot = rd16(f + 109);
    assert_true(boot & 0x2);                      /* 8042 */
    assert_false(boot & 0x20);                    /* CMOS RTC present */
    uint32_t flags = rd32(f + 112);
    assert_false(flags & (1u << 20));             /* not HW_REDUCED */
    assert_false(flags & (1u << 4));              /* fixed power button */
    assert_true(flags & (1u << 10));              /* RESET_REG_SUP */
    assert_true(flags & (1u << 8));               /* 32-bit timer */
    assert_int_equal(f[116], 1);                  /* reset register in I/O space */
    assert_int_equal(f[117], 8);
    assert_int_equal(rd64(f + 120), 0x60C);
    assert_int_equal(f[128], ACPI_PM_RESET_VALUE);
    assert_int_equal(f[108], 0x32);               /* CMOS century */
}

static void check_madt(const uint8_t *m, uint32_t max_cpus, uint64_t present)
{
    assert_int_equal(m[8], 5);
    assert_int_equal(rd32(m + 36), 0xFEE00000);
    assert_int_equal(rd32(m + 40), 1);            /* PCAT_COMPAT */
    uint32_t len = rd32(m + 4), lapics = 0, ioapics = 0, nmis = 0;
    bool iso0 = false, iso9 = false;
    for (uint32_t off = 44; off < len; off += m[off + 1]) {
        const uint8_t *e = m + off;
        assert_true(e[1] >= 2 && off + e[1] <= len);
        switch (e[0]) {
        case 0:
            assert_int_equal(e[1], 8);
            assert_int_equal(e[2], lapics);       /* UID = APIC id = index */
            assert_int_equal(e[3], lapics);
            assert_int_equal(rd32(e + 4), (present >> lapics) & 1 ? 1 : 2);
            lapics++;
            break;
        case 1:
            assert_int_equal(rd32(e + 4), 0xFEC00000);
            assert_int_equal(rd32(e + 8), 0);
            ioapics++;
            break;
        case 2:
            if (e[3] == 0) {
                iso0 = rd32(e + 4) == 2 && rd16(e + 8) == 0;
            } else {
                assert_int_equal(e[3], 9);
                iso9 = rd32(e + 4) == 9 && rd16(e + 8) == 0xD;
            }
            break;
        case 4:
            assert_int_equal(e[2], 0xFF);
            assert_int_equal(e[5], 1);            /* LINT1 */
            nmis++;
            break;
        default:
            fail_msg("unexpected MADT entry type %u", e[0]);
        }
    }
    assert_int_equal(lapics, max_cpus);
    assert_int_equal(ioapics, 1);
    assert_int_equal(nmis, 1);
    assert_true(iso0 && iso9);
}

static bool contains(const uint8_t *p, size_t len, const void *needle, size_t n)
{
    return memmem(p, len, needle, n) != NULL;
}

static void check_dsdt(const uint8_t *d)
{
    size_t len = rd32(d + 4);
    assert_int_equal(d[8], 2);
    /* Name (\_S5_, Package (4) { 5, 5, 0, 0 }) */
    static const uint8_t s5[] = { 0x08, 0x5C, '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0A, 5, 0x0A, 5, 0, 0 };
    assert_true(contains(d, len, s5, sizeof(s5)));
    assert_true(contains(d, len, "PCI0", 4));
    assert_true(contains(d, len, "PS2K", 4));
    assert_true(contains(d, len, "_PRT", 4));
    static const uint8_t pnp0303[] = { 0x0C, 0x41, 0xD0, 0x03, 0x03 };
    assert_true(contains(d, len, pnp0303, sizeof(pnp0303)));
}

static void build_and_check(uint32_t cpus, uint32_t max_cpus, uint64_t mask)
{
    struct guest_ram ram;
    assert_int_equal(guest_ram_init(&ram, 64 * MIB, 0), VINF_SUCCESS);
    struct acpi_config cfg = { .cpus = cpus, .max_cpus = max_cpus, .cpu_present_mask = mask,
                               .pci_mmio32_base = 64 * MIB, .pci_mmio32_size = 0xFEC00000 - 64 * MIB,
                               .com1 = true };
    uint64_t rsdp = 0;
    assert_int_equal(acpi_build(&ram, &cfg, &rsdp), VINF_SUCCESS);
    assert_int_equal(rsdp, ACPI_RSDP_ADDR);
    struct tables t = find_tables(&ram, rsdp);
    check_fadt(t.fadt);
    if (!mask)
        mask = cpus == 64 ? UINT64_MAX : (1ull << cpus) - 1;
    check_madt(t.madt, max_cpus ? max_cpus : cpus, mask);
    check_dsdt(t.dsdt);
    guest_ram_term(&ram);
}

static void test_tables_1_2_4_64_cpus(void **state)
{
    (void)state;
    build_and_check(1, 0, 0);
    build_and_check(2, 0, 0);
    build_and_check(4, 0, 0);
    build_and_check(64, 0, 0);
}

static void test_tables_hotplug_cpus(void **state)
{
    (void)state;
    build_and_check(2, 8, 0);                     /* 2 enabled, 6 online capable */
    build_and_check(0, 4, 0x5);                   /* vCPUs 0 and 2 present */
}

static void test_bad_configs(void **state)
{
    (void)state;
    struct guest_ram ram;
    assert_int_equal(guest_ram_init(&ram, 16 * MIB, 0), VINF_SUCCESS);
    uint64_t rsdp = 0;
    struct acpi_config c0 = { .cpus = 0 }, c65 = { .cpus = 65 }, cmax = { .cpus = 4, .max_cpus = 2 },
                       nobsp = { .max_cpus = 4, .cpu_present_mask = 0x6 },
                       outside = { .cpus = 2, .max_cpus = 2, .cpu_present_mask = 0x5 },
                       port = { .cpus = 1, .pm_io_base = 0xFFF0 },
                       win = { .cpus = 1, .pci_mmio32_base = 0xFFFF0000, .pci_mmio32_size = 0x20000 };
    const struct acpi_config *bad[] = { &c0, &c65, &cmax, &nobsp, &outside, &port, &win };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(acpi_build(&ram, bad[i], &rsdp), VERR_INVALID_PARAMETER);
    assert_int_equal(rsdp, 0);
    guest_ram_term(&ram);

    /* 512 KiB of RAM: the BIOS area is not RAM. */
    assert_int_equal(guest_ram_init(&ram, UINT64_C(512) * 1024, 0), VINF_SUCCESS);
    struct acpi_config ok = { .cpus = 1 };
    assert_int_equal(acpi_build(&ram, &ok, &rsdp), VERR_OUT_OF_RANGE);
    guest_ram_term(&ram);
}

/* --- iasl --- */

static bool have_iasl(void)
{
    return system("command -v iasl >/dev/null 2>&1") == 0;
}

/* Reads a tool's output; the buffer is static so a failing check cannot leak it. */
static char *slurp(const char *path)
{
    static char buf[1 << 20];
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static void dump(const char *dir, const char *name, const uint8_t *t, size_t len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(t, 1, len, f), len);
    fclose(f);
}

/* iasl -d name.dat -> name.dsl; fails on an error exit or an error/warning in the output. */
static char *disassemble(const char *dir, const char *name)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "cd %s && iasl -d %s.dat > %s.log 2>&1", dir, name, name);
    int rc = system(cmd);
    snprintf(cmd, sizeof(cmd), "%s/%s.log", dir, name);
    if (rc != 0) {
        char *log = slurp(cmd);
        fail_msg("iasl -d %s failed: %s", name, log ? log : "");
    }
    snprintf(cmd, sizeof(cmd), "%s/%s.dsl", dir, name);
    char *dsl = slurp(cmd);
    assert_non_null(dsl);
    if (strstr(dsl, "Incorrect") || strstr(dsl, "**** Error") || strstr(dsl, "Invalid") || strstr(dsl, "Unknown"))
        fail_msg("iasl -d %s reports a problem:\n%s", name, dsl);
    return dsl;
}

/*
 * iasl's data-table compiler rebuilds the table from the disassembly: the
 * same bytes back means iasl understood every field.  Only the checksum and
 * the creator id/revision (iasl puts its own) may differ.
 */
static void recompile_data_table(const char *dir, const char *name, const uint8_t *orig, size_t len)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "cd %s && iasl -p re_%s %s.dsl > re_%s.log 2>&1", dir, name, name, name);
    int rc = system(cmd);
    snprintf(cmd, sizeof(cmd), "%s/re_%s.log", dir, name);
    char *log = slurp(cmd);
    if (rc != 0 || !log || !strstr(log, "0 Errors, 0 Warnings"))
        fail_msg("iasl could not recompile %s.dsl: %s", name, log ? log : "");
    snprintf(cmd, sizeof(cmd), "%s/re_%s.aml", dir, name);
    FILE *f = fopen(cmd, "rb");
    assert_non_null(f);
    uint8_t buf[4096];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    assert_int_equal(n, len);
    bool header = memcmp(orig, "FACS", 4) != 0;
    for (size_t i = 0; i < len; i++)
        if (!(header && (i == 9 || (i >= 28 && i < 36))) && buf[i] != orig[i])
            fail_msg("%s: iasl's rebuild differs at byte %zu (%#x, ours %#x)", name, i, buf[i], orig[i]);
}

/*
 * ACPICA's interpreter (the one in Linux) loads the tables as the kernel
 * would and evaluates what Linux uses.  Its built-in self tests print
 * "Unexpected ..." lines of their own; those are not ours.
 */
static void run_acpiexec(const char *dir)
{
    if (system("command -v acpiexec >/dev/null 2>&1") != 0) {
        printf("SKIP acpiexec part: acpiexec is not installed\n");
        return;
    }
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "cd %s && timeout 60 acpiexec -b 'evaluate \\_S5; evaluate \\_SB.PCI0._CRS; "
             "evaluate \\_SB.PCI0._PRT; evaluate \\_SB.PS2K._CRS; evaluate \\_SB.C003._STA; "
             "evaluate \\_SB.C003._MAT; evaluate \\_GPE._E02' dsdt.dat facp.dat apic.dat facs.dat "
             "> acpiexec.log 2>&1", dir);
    int rc = system(cmd);
    snprintf(cmd, sizeof(cmd), "%s/acpiexec.log", dir);
    char *log = slurp(cmd);
    assert_non_null(log);
    const char *want[] = { "1 ACPI AML tables successfully acquired and loaded",
                           "Evaluation of \\_S5 returned object", "[Integer] = 0000000000000005",
                           "Evaluation of \\_SB.PCI0._CRS returned", "Evaluation of \\_SB.PCI0._PRT returned",
                           "Evaluation of \\_SB.PS2K._CRS returned", "2 regs on interrupt 0x9 (SCI)",
                           "Evaluation of \\_SB.C003._STA returned", "Evaluation of \\_SB.C003._MAT returned",
                           "No object was returned from evaluation of \\_GPE._E02" };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (rc != 0 || !strstr(log, want[i]))
            fail_msg("acpiexec (exit %d) lacks \"%s\":\n%s", rc, want[i], log);
    if (strstr(log, "ACPI Error") || strstr(log, "ACPI Exception") || strstr(log, "ACPI Warning"))
        fail_msg("acpiexec reports a problem:\n%s", log);
}

static void test_iasl_accepts_tables(void **state)
{
    (void)state;
    if (!have_iasl()) {
        printf("SKIP iasl part: iasl is not installed (Debian package acpica-tools; `make deps`)\n");
        skip();
    }
    struct guest_ram ram;
    assert_int_equal(guest_ram_init(&ram, 64 * MIB, 0), VINF_SUCCESS);
    struct acpi_config cfg = { .cpus = 4, .max_cpus = 8, .pci_mmio32_base = 64 * MIB,
                               .pci_mmio32_size = 0xFEC00000 - 64 * MIB,
                               .pci_mmio64_base = 1ull << 36, .pci_mmio64_size = 1ull << 34, .com1 = true,
                               .cpu_hotplug = true };
    uint64_t rsdp;
    assert_int_equal(acpi_build(&ram, &cfg, &rsdp), VINF_SUCCESS);
    struct tables t = find_tables(&ram, rsdp);
    char dir[] = "/tmp/petrel-acpi-XXXXXX";
    assert_non_null(mkdtemp(dir));
    dump(dir, "rsdp", t.rsdp, 36);
    dump(dir, "xsdt", t.xsdt, rd32(t.xsdt + 4));
    dump(dir, "facp", t.fadt, rd32(t.fadt + 4));
    dump(dir, "apic", t.madt, rd32(t.madt + 4));
    dump(dir, "facs", t.facs, 64);
    dump(dir, "dsdt", t.dsdt, rd32(t.dsdt + 4));
    /* (iasl 20200925 cannot read a raw RSDP: find_tables checked it.) */
    const char *names[] = { "xsdt", "facp", "apic", "facs" };
    const uint8_t *tabs[] = { t.xsdt, t.fadt, t.madt, t.facs };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        disassemble(dir, names[i]);
        recompile_data_table(dir, names[i], tabs[i], i == 3 ? 64 : rd32(tabs[i] + 4));
    }

    char *dsl = disassemble(dir, "dsdt");
    const char *want[] = { "_S5, Package", "_S0, Package", "Device (PCI0)", "EisaId (\"PNP0A03\")",
                           "Name (_PRT, Package", "WordBusNumber", "DWordMemory", "QWordMemory",
                           "Device (COM1)", "EisaId (\"PNP0501\")", "Device (PS2K)", "EisaId (\"PNP0303\")",
                           "IRQNoFlags", "Device (RTC)", "EisaId (\"PNP0B00\")", "0x03F8",
                           /* CPU hot plug: processor objects, their registers and the GPE handler */
                           "OperationRegion (CPHR, SystemIO, 0x0CD8, 0x1C)", "EJCT,   32", "Device (C007)",
                           "Name (_HID, \"ACPI0007\" /* Processor Device */)", "Method (_EJ0, 1", "EJCT = 0x07", "Method (_E02, 0, Serialized)",
                           "Notify (\\_SB.C007, 0x03)", "Notify (\\_SB.C000, One)" };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (!strstr(dsl, want[i]))
            fail_msg("the disassembled DSDT lacks \"%s\":\n%s", want[i], dsl);

    /* The disassembly compiles back without errors (iasl exits non-zero on one). */
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "cd %s && iasl -p recompiled dsdt.dsl > recompile.log 2>&1", dir);
    int rc = system(cmd);
    snprintf(cmd, sizeof(cmd), "%s/recompile.log", dir);
    char *log = slurp(cmd);
    if (rc != 0 || !log || !strstr(log, "0 Errors, 0 Warnings, 0 Remarks"))
        fail_msg("iasl could not recompile the DSDT cleanly: %s", log ? log : "");
    run_acpiexec(dir);
    if (getenv("PETREL_KEEP_ACPI")) return;
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    guest_ram_term(&ram);
}

/* --- the PM block --- */

#define PM 0x600

struct pm_fx {
    struct io_bus *bus;
    struct vclock *clock;
    struct acpi_pm *pm;
    atomic_int power_offs, resets, sci_level, sci_edges;
};

static void cb_power_off(void *o) { atomic_fetch_add(&((struct pm_fx *)o)->power_offs, 1); }
static void cb_reset(void *o) { atomic_fetch_add(&((struct pm_fx *)o)->resets, 1); }

static void cb_sci(void *o, int level)
{
    struct pm_fx *f = o;
    assert_int_not_equal(atomic_exchange(&f->sci_level, level), level);   /* changes only */
    atomic_fetch_add(&f->sci_edges, 1);
}

static int pm_setup(void **state)
{
    struct pm_fx *f = calloc(1, sizeof(*f));
    f->bus = io_bus_create();
    f->clock = vclock_create();
    struct acpi_pm_callbacks cb = { cb_power_off, cb_reset, cb_sci, f };
    f->pm = acpi_pm_create(f->bus, PM, f->clock, &cb);
    *state = f;
    return f->pm ? 0 : -1;
}

static int pm_teardown(void **state)
{
    struct pm_fx *f = *state;
    acpi_pm_destroy(f->pm);
    vclock_destroy(f->clock);
    io_bus_destroy(f->bus);
    free(f);
    return 0;
}

static uint32_t in(struct pm_fx *f, uint16_t port, unsigned size) { return io_bus_port_read(f->bus, port, size); }
static void out(struct pm_fx *f, uint16_t port, unsigned size, uint32_t v) { io_bus_port_write(f->bus, port, size, v); }

static void test_pm_timer_rate(void **state)
{
    struct pm_fx *f = *state;
    assert_int_equal(in(f, PM + 8, 4), 0);                 /* clock paused at 0 */
    vclock_set(f->clock, 1000000000ull);
    assert_int_equal(in(f, PM + 8, 4), 3579545);
    vclock_set(f->clock, 3ull * 3600 * 1000000000ull);     /* past the naive ns*Hz overflow */
    assert_int_equal(in(f, PM + 8, 4), (uint32_t)(3579545ull * 3 * 3600));
    vclock_set(f->clock, 1500000000ull);
    assert_int_equal(in(f, PM + 8, 4), 5369317);           /* 1.5 s, truncated */
    assert_int_equal(in(f, PM + 8, 2), 5369317 & 0xFFFF);  /* word and byte reads of it */
    assert_int_equal(in(f, PM + 10, 1), (5369317 >> 16) & 0xFF);
    out(f, PM + 8, 4, 0);                                   /* read-only */
    assert_int_equal(in(f, PM + 8, 4), 5369317);
    /* Running: about 3.58 ticks per microsecond of virtual time. */
    vclock_resume(f->clock);
    uint64_t t0 = vclock_now(f->clock);
    uint32_t c0 = in(f, PM + 8, 4);
    usleep(100 * 1000);
    uint32_t c1 = in(f, PM + 8, 4);
    uint64_t t1 = vclock_now(f->clock);
    double expect = (double)(t1 - t0) * 3579545.0 / 1e9;
    assert_true((double)(c1 - c0) > expect * 0.95 && (double)(c1 - c0) < expect * 1.05 + 10);
    vclock_pause(f->clock);                                 /* stops with the clock */
    uint32_t p0 = in(f, PM + 8, 4);
    usleep(20 * 1000);
    assert_int_equal(in(f, PM + 8, 4), p0);
}

static void test_pm_s5_powers_off(void **state)
{
    struct pm_fx *f = *state;
    assert_int_equal(in(f, PM + 4, 2) & 1, 1);             /* SCI_EN always set */
    out(f, PM + 4, 2, 0);
    assert_int_equal(in(f, PM + 4, 2) & 1, 1);
    out(f, PM + 4, 2, 5 << 10);                            /* SLP_TYP alone: nothing */
    assert_int_equal(f->power_offs, 0);
    assert_int_equal(in(f, PM + 4, 2), (5 << 10) | 1);
    out(f, PM + 4, 2, (3 << 10) | 0x2000);                 /* an undeclared state: ignored */
    assert_int_equal(f->power_offs, 0);
    assert_int_equal(in(f, PM + 4, 2) & 0x2000, 0);        /* SLP_EN reads 0 */
    out(f, PM + 4, 2, (5 << 10) | 0x2000 | 1);             /* what ACPICA writes for S5 */
    assert_int_equal(f->power_offs, 1);
    out(f, PM + 5, 1, (5 << 2) | 0x20);                    /* a byte write of the high half */
    assert_int_equal(f->power_offs, 2);
    out(f, PM + 4, 4, (5 << 10) | 0x2000);                 /* dword: also touches the gap */
    assert_int_equal(f->power_offs, 3);
    assert_int_equal(f->resets, 0);
}

static void *press(void *arg)
{
    acpi_pm_power_button(arg);
    return NULL;
}

static void test_pm_power_button_sci(void **state)
{
    struct pm_fx *f = *state;
    acpi_pm_power_button(f->pm);                           /* not enabled: status only */
    assert_int_equal(in(f, PM + 0, 2), 0x100);
    assert_int_equal(f->sci_level, 0);
    out(f, PM + 0, 2, 0x100);                              /* write 1 to clear */
    assert_int_equal(in(f, PM + 0, 2), 0);
    out(f, PM + 2, 2, 0x100);                              /* PWRBTN_EN, as ACPICA sets it */
    assert_int_equal(in(f, PM + 2, 2), 0x100);
    pthread_t t;                                           /* pressed from another thread */
    assert_int_equal(pthread_create(&t, NULL, press, f->pm), 0);
    pthread_join(t, NULL);
    assert_int_equal(f->sci_level, 1);
    assert_int_equal(in(f, PM + 0, 4), 0x01000100);        /* dword read: STS and EN */
    out(f, PM + 0, 2, 0x0020);                             /* clearing another bit: still raised */
    assert_int_equal(f->sci_level, 1);
    out(f, PM + 1, 1, 0x01);                               /* byte write 1 to clear PWRBTN_STS */
    assert_int_equal(f->sci_level, 0);
    assert_int_equal(in(f, PM + 0, 2), 0);
    acpi_pm_power_button(f->pm);
    assert_int_equal(f->sci_level, 1);
    out(f, PM + 2, 2, 0);                                  /* disabling lowers it too */
    assert_int_equal(f->sci_level, 0);
    out(f, PM + 2, 2, 0xFFFF);                             /* only real enables stick */
    assert_int_equal(in(f, PM + 2, 2), 0x0721);
    acpi_pm_reset(f->pm);
    assert_int_equal(in(f, PM + 0, 2), 0);
    assert_int_equal(in(f, PM + 2, 2), 0);
    assert_int_equal(f->sci_level, 0);
}

static void test_pm_reset_register_and_gpe(void **state)
{
    struct pm_fx *f = *state;
    out(f, PM + 12, 1, 0x01);
    out(f, PM + 12, 1, 0xFF);
    assert_int_equal(f->resets, 0);
    out(f, PM + 12, 1, ACPI_PM_RESET_VALUE);
    assert_int_equal(f->resets, 1);
    assert_int_equal(in(f, PM + 12, 1), 0);
    acpi_pm_gpe_raise(f->pm, 2);
    acpi_pm_gpe_raise(f->pm, 99);                          /* out of range: ignored */
    assert_int_equal(in(f, PM + 16, 1), 0x04);
    assert_int_equal(f->sci_level, 0);
    out(f, PM + 18, 1, 0x04);                              /* GPE0_EN bit 2 */
    assert_int_equal(f->sci_level, 1);
    out(f, PM + 16, 1, 0x04);
    assert_int_equal(f->sci_level, 0);
    /* Hostile: every size at every offset, then the state is still sane. */
    for (uint16_t p = PM; p < PM + ACPI_PM_IO_SIZE; p++)
        for (unsigned s = 1; s <= 4; s <<= 1) {
            out(f, p, s, p == PM + 12 ? 0 : 0xDFFF);       /* never SLP_EN: no power-off here */
            (void)in(f, p, s);
        }
    assert_int_equal(f->power_offs, 0);
    assert_int_equal(in(f, PM + 4, 2) & 1, 1);
    /* A second block on the same ports is refused. */
    assert_null(acpi_pm_create(f->bus, PM, f->clock, NULL));
}

/* --- CPU hot plug registers --- */

static uint32_t ejected_ids[8], n_ejected;

static void note_ejected(void *opaque, uint32_t id)
{
    (void)opaque;
    if (n_ejected < 8)
        ejected_ids[n_ejected++] = id;
}

static void test_cpu_hotplug_registers(void **state)
{
    struct pm_fx *f = *state;
    const uint16_t hp_port = ACPI_CPU_HOTPLUG_PORT;
    n_ejected = 0;
    assert_null(acpi_cpu_hotplug_create(f->bus, f->pm, 1, 65, note_ejected, NULL));   /* too many vCPUs */
    struct acpi_cpu_hotplug *hp = acpi_cpu_hotplug_create(f->bus, f->pm, 0x3, 40, note_ejected, NULL);
    assert_non_null(hp);
    out(f, PM + 18, 1, 1u << ACPI_CPU_HOTPLUG_GPE);            /* the guest enables the GPE */
    assert_int_equal(in(f, hp_port + 0, 4), 0x3);              /* PRS0: vCPUs 0 and 1 */
    assert_int_equal(in(f, hp_port + 4, 4), 0);
    /* Plug vCPU 2 and 35: present, "inserted" pending, GPE + SCI. */
    assert_int_equal(acpi_cpu_hotplug_plug(hp, 2), VINF_SUCCESS);
    assert_int_equal(acpi_cpu_hotplug_plug(hp, 35), VINF_SUCCESS);
    assert_int_equal(acpi_cpu_hotplug_plug(hp, 40), VERR_INVALID_CPU_ID);
    assert_int_equal(in(f, PM + 16, 1), 1u << ACPI_CPU_HOTPLUG_GPE);
    assert_int_equal(f->sci_level, 1);
    assert_int_equal(in(f, hp_port + 0, 4), 0x7);
    assert_int_equal(in(f, hp_port + 4, 4), 1u << 3);
    assert_int_equal(in(f, hp_port + 8, 4), 0x4);              /* INS0, then cleared by the read */
    assert_int_equal(in(f, hp_port + 8, 4), 0);
    assert_int_equal(in(f, hp_port + 12, 4), 1u << 3);
    assert_int_equal(in(f, hp_port + 8, 2), 0);                /* not a dword access: reads 0 */
    /* Unplug: an eject request; the vCPU stays present until the guest ejects it. */
    assert_int_equal(acpi_cpu_hotplug_request_unplug(hp, 1), VINF_SUCCESS);
    assert_int_equal(acpi_cpu_hotplug_request_unplug(hp, 5), VERR_NOT_FOUND);
    assert_int_equal(in(f, hp_port + 16, 4), 0x2);             /* RMV0 */
    assert_int_equal(in(f, hp_port + 16, 4), 0);
    assert_int_equal(n_ejected, 0);
    out(f, hp_port + 24, 4, 0);                                /* vCPU 0 is never ejected */
    out(f, hp_port + 24, 4, 99);                               /* out of range: ignored */
    out(f, hp_port + 24, 2, 1);                                /* not a dword write: ignored */
    assert_int_equal(n_ejected, 0);
    out(f, hp_port + 24, 4, 1);
    assert_int_equal(n_ejected, 1);
    assert_int_equal(ejected_ids[0], 1);
    assert_int_equal(acpi_cpu_hotplug_present(hp), (UINT64_C(1) << 35) | 0x5);
    out(f, hp_port + 24, 4, 1);                                /* already gone: no second callback */
    assert_int_equal(n_ejected, 1);
    /* Reset: the boot-time set again, nothing pending. */
    acpi_cpu_hotplug_reset(hp);
    assert_int_equal(acpi_cpu_hotplug_present(hp), 0x3);
    assert_int_equal(in(f, hp_port + 12, 4), 0);
    acpi_cpu_hotplug_destroy(hp);
}

/* --- the "acpi" device and acpi_build_for_vm on a bare VM --- */

static void test_device_and_build_for_vm(void **state)
{
    (void)state;
    struct VM *vm = calloc(1, sizeof(*vm));
    assert_non_null(vm);
    vm->io = io_bus_create();
    vm->clock = vclock_create();
    vm->cCpus = 3;
    assert_int_equal(guest_ram_init(&vm->ram, 128 * MIB, 0), VINF_SUCCESS);
    vm->cfg_root = cfgm_create_tree();
    PCFGMNODE node = NULL;
    assert_int_equal(CFGMR3InsertNode(vm->cfg_root, "Devices", &node), VINF_SUCCESS);
    assert_int_equal(CFGMR3InsertNode(node, "acpi", &node), VINF_SUCCESS);
    assert_int_equal(CFGMR3InsertNode(node, "0", &node), VINF_SUCCESS);
    assert_int_equal(CFGMR3InsertNode(node, "Config", &node), VINF_SUCCESS);
    assert_int_equal(CFGMR3InsertInteger(node, "IoBase", 0xB000), VINF_SUCCESS);
    assert_int_equal(CFGMR3InsertInteger(node, "CpuPresentMask", 0x5), VINF_SUCCESS);

    assert_null(acpi_pm_of_vm(vm));
    assert_int_equal(acpi_pm_press_power_button_vm(vm), VERR_NOT_FOUND);
    struct device_instance inst = { .ops = &acpi_pm_device_ops };
    assert_string_equal(acpi_pm_device_ops.name, "acpi");
    assert_int_equal(acpi_pm_device_ops.create(vm, node, &inst.state), VINF_SUCCESS);
    vm->devices = &inst;
    assert_non_null(acpi_pm_of_vm(vm));
    assert_int_equal(acpi_pm_io_base(acpi_pm_of_vm(vm)), 0xB000);
    assert_int_equal(acpi_pm_press_power_button_vm(vm), VINF_SUCCESS);
    assert_int_equal(io_bus_port_read(vm->io, 0xB000, 2), 0x100);

    uint64_t rsdp = 0;
    assert_int_equal(acpi_build_for_vm(vm, &rsdp), VINF_SUCCESS);
    struct tables t = find_tables(&vm->ram, rsdp);
    assert_int_equal(rd32(t.fadt + 56), 0xB000);           /* FADT follows the device */
    check_madt(t.madt, 3, 0x5);                            /* vCPU 1 hot-pluggable */
    assert_null(memmem(t.dsdt, rd32(t.dsdt + 4), "COM1", 4));   /* no /Devices/serial/0 */
    acpi_pm_device_ops.reset(inst.state);
    assert_int_equal(io_bus_port_read(vm->io, 0xB000, 2), 0);
    acpi_pm_device_ops.destroy(inst.state);
    vm->devices = NULL;
    cfgm_destroy_tree(vm->cfg_root);
    guest_ram_term(&vm->ram);
    vclock_destroy(vm->clock);
    io_bus_destroy(vm->io);
    free(vm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aml_encodings),
        cmocka_unit_test(test_aml_pkglength),
        cmocka_unit_test(test_tables_1_2_4_64_cpus),
        cmocka_unit_test(test_tables_hotplug_cpus),
        cmocka_unit_test(test_bad_configs),
        cmocka_unit_test(test_iasl_accepts_tables),
        cmocka_unit_test_setup_teardown(test_pm_timer_rate, pm_setup, pm_teardown),
        cmocka_unit_test_setup_teardown(test_pm_s5_powers_off, pm_setup, pm_teardown),
        cmocka_unit_test_setup_teardown(test_pm_power_button_sci, pm_setup, pm_teardown),
        cmocka_unit_test_setup_teardown(test_pm_reset_register_and_gpe, pm_setup, pm_teardown),
        cmocka_unit_test_setup_teardown(test_cpu_hotplug_registers, pm_setup, pm_teardown),
        cmocka_unit_test(test_device_and_build_for_vm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
