/*
 * A hostile guest against the whole PC machine: guests/hostile_io.asm
 * writes random values to every I/O port in every width, reads them all
 * back, and hammers the device MMIO windows (IOAPIC, HPET, local APIC, the
 * PCI memory window).  Petrel must stay up: the guest finishes and exits
 * with its code, the VM powers off normally, no sanitizer complains.  Runs
 * on the auto engine, and on KVM too where /dev/kvm is usable.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vm_fixture.h"

#define HOSTILE_EXIT ((0x2A << 1) | 1)

/* The fixture's flat guest plus the devices a Linux guest gets. */
static int hostile_ctor(PUVM uvm, PVM vm, PCVMMR3VTABLE vmm, void *user)
{
    int rc = fixture_ctor(uvm, vm, vmm, user);
    static const char *const devices[] = { "serial", "i8042", "rtc", "acpi", "pci" };
    PCFGMNODE root = CFGMR3GetRoot(vm), node = NULL;
    for (size_t i = 0; RT_SUCCESS(rc) && i < sizeof(devices) / sizeof(devices[0]); i++) {
        char path[64];
        snprintf(path, sizeof(path), "Devices/%s/0/Config", devices[i]);
        rc = CFGMR3InsertNode(root, path, &node);
        if (RT_SUCCESS(rc) && !strcmp(devices[i], "serial"))
            rc = CFGMR3InsertString(node, "Console", "none");
    }
    return rc;
}

static void run_hostile(const char *engine)
{
    char out[] = "/tmp/petrel-hostile-XXXXXX";
    close(mkstemp(out));
    struct fixture_config cfg = { .cpus = 1, .ram_mib = 64, .image = "hostile_io.bin", .mode = "protected",
                                  .engine = engine, .console = out };
    struct fixture_log log;
    fixture_log_init(&log);
    PUVM uvm = NULL;
    int rc = VMR3Create(1, NULL, fixture_on_error, &log, hostile_ctor, &cfg, NULL, &uvm);
    if (RT_FAILURE(rc))
        fail_msg("VMR3Create (%s): %d %s", engine, rc, log.last_error);
    uint64_t t0 = fixture_now_ms();
    assert_true(RT_SUCCESS(VMR3PowerOn(uvm)));
    bool off = fixture_wait_state(uvm, VMSTATE_OFF, 120000);
    uint32_t code = 0;
    int have_code = VMR3GetGuestExitCode(uvm, &code);
    /* The debug console got random bytes too (port 0xE9): look for the lines. */
    FILE *f = fopen(out, "r");
    char text[65536];
    size_t n = f ? fread(text, 1, sizeof(text), f) : 0;
    if (f)
        fclose(f);
    static const char done[] = "ports done\nmmio done, survived\n";
    bool survived = memmem(text, n, done, sizeof(done) - 1) != NULL;
    printf("[  INFO    ] %s: state %s after %llu ms, exit code %#x, %s\n", engine,
           VMR3GetStateName(VMR3GetStateU(uvm)), (unsigned long long)(fixture_now_ms() - t0), code,
           survived ? "the guest survived" : "no \"survived\" line");
    assert_true(off);
    assert_int_equal(have_code, VINF_SUCCESS);
    assert_int_equal(code, HOSTILE_EXIT);
    assert_true(survived);
    fixture_destroy(uvm);
    unlink(out);
}

static void test_hostile_auto(void **s)
{
    (void)s;
    run_hostile("auto");
}

static void test_hostile_kvm(void **s)
{
    (void)s;
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        printf("[  SKIP    ] /dev/kvm is absent: the KVM run of the hostile guest needs it\n");
        skip();
    }
    close(fd);
    run_hostile("kvm");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostile_auto),
        cmocka_unit_test(test_hostile_kvm),
    };
    return cmocka_run_group_tests_name("hostile guest", tests, NULL, NULL);
}
