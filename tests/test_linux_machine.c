/*
 * The machine glue for Linux guests (src/core/vm_machine*.c): a VM with
 * /Boot/Kernel = Debian's cloud kernel gets the PC devices and ACPI tables,
 * is loaded and boots under KVM far enough that its serial console (a
 * file) shows the kernel's first lines; a hard reset loads it again; bad
 * input (missing kernel, not a kernel, too little RAM, conflicting keys)
 * fails VMR3Create with a clear error; the virtual clock runs only while
 * the VM runs.
 *
 * The kernel: $PETREL_KERNEL, else scripts/fetch-kernel.sh into
 * <build>/../.cache/kernel; the boot tests are skipped with a printed
 * reason when neither works.  Engine auto (the interpreter where the CPU
 * does not virtualize guest kernel mode).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/vm_internal.h"
#include "io/io_bus.h"
#include "time/vclock.h"
#include "vm_fixture.h"

/* Stop waiting for console lines after this.  Where /dev/kvm is a software
 * hypervisor, the kernel's first line takes about 30 s (its early ring-0
 * code runs in KVM's instruction emulator); on hardware KVM, well under 1 s. */
#define BOOT_BUDGET_S 120

struct linux_vm {
    const char *kernel, *initrd, *cmdline, *entry, *image, *console;
    uint64_t ram_mib;
};

static const char *kernel_path(void)
{
    static char path[1024];
    static int tried;
    if (tried)
        return path[0] ? path : NULL;
    tried = 1;
    const char *env = getenv("PETREL_KERNEL");
    if (env && *env) {
        snprintf(path, sizeof(path), "%s", env);
        return path;
    }
    char src[1024], bin[1024], cmd[3200], line[1024] = "";
    snprintf(src, sizeof(src), "%s", __FILE__);
    snprintf(bin, sizeof(bin), "%s", PETREL_GUEST_DIR);
    snprintf(cmd, sizeof(cmd), "sh '%s/scripts/fetch-kernel.sh' '%s/../.cache/kernel' 2>/dev/null",
             dirname(dirname(src)), dirname(bin));
    FILE *p = popen(cmd, "r");
    while (p && fgets(line, sizeof(line), p))
        ;
    if (!p || pclose(p) != 0 || !line[0]) {
        fprintf(stderr, "[  SKIP    ] no kernel: set PETREL_KERNEL or make scripts/fetch-kernel.sh work (%s)\n", cmd);
        return NULL;
    }
    line[strcspn(line, "\n")] = 0;
    snprintf(path, sizeof(path), "%s", line);
    return path;
}


static int linux_ctor(PUVM uvm, PVM vm, PCVMMR3VTABLE vmm, void *user)
{
    (void)uvm;
    const struct linux_vm *c = user;
    PCFGMNODE root = vmm->pfnCFGMR3GetRoot(vm), node = NULL;
    int rc = CFGMR3InsertInteger(root, "RamSize", (c->ram_mib ? c->ram_mib : 256) << 20);
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertString(root, "ExecEngine", "auto");
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertInteger(root, "NumCPUs", vm->cCpus);
    if (RT_SUCCESS(rc) && c->kernel) rc = CFGMR3InsertString(root, "Boot/Kernel", c->kernel);
    if (RT_SUCCESS(rc) && c->initrd) rc = CFGMR3InsertString(root, "Boot/Initrd", c->initrd);
    if (RT_SUCCESS(rc) && c->cmdline) rc = CFGMR3InsertString(root, "Boot/CmdLine", c->cmdline);
    if (RT_SUCCESS(rc) && c->entry) rc = CFGMR3InsertString(root, "Boot/Entry", c->entry);
    if (RT_SUCCESS(rc) && c->image) rc = CFGMR3InsertString(root, "Boot/Image", c->image);
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertNode(root, "Devices/serial/0/Config", &node);
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertString(node, "Console", c->console ? c->console : "none");
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertNode(root, "Devices/debugcon/0/Config", &node);
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertString(node, "Output", "none");
    return rc;
}

static char *read_file(const char *path)
{
    static char buf[1 << 20];
    FILE *f = fopen(path, "rb");
    if (!f)
        return strdup("");
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    return strdup(buf);
}

static unsigned count(const char *hay, const char *needle)
{
    unsigned n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Waits until the console file holds `times` copies of needle, the VM stops
 * running, or the budget runs out; returns the file's contents. */
static char *wait_console(PUVM uvm, const char *path, const char *needle, unsigned times, double budget_s)
{
    double end = now_s() + budget_s;
    for (;;) {
        char *text = read_file(path);
        VMSTATE st = VMR3GetStateU(uvm);
        if (count(text, needle) >= times || now_s() > end || (st != VMSTATE_RUNNING && st != VMSTATE_RESETTING))
            return text;
        free(text);
        usleep(50 * 1000);
    }
}

/* The real kernel on 2 vCPUs: loader + ACPI + UART + machine wiring. */
static void test_boot_shows_kernel_banner(void **s)
{
    (void)s;
    const char *kernel = kernel_path();
    if (!kernel)
        skip();
    char log_path[] = "/tmp/petrel-linux-console-XXXXXX", spec[64];
    close(mkstemp(log_path));
    snprintf(spec, sizeof(spec), "file:%s", log_path);
    struct linux_vm c = { .kernel = kernel, .console = spec,
                          .cmdline = "console=ttyS0 earlyprintk=serial,ttyS0 panic=-1 petrel.test=1" };
    struct fixture_log log;
    fixture_log_init(&log);
    PUVM uvm = NULL;
    assert_int_equal(VMR3Create(2, NULL, fixture_on_error, &log, linux_ctor, &c, NULL, &uvm), VINF_SUCCESS);
    double t0 = now_s();
    assert_true(RT_SUCCESS(VMR3PowerOn(uvm)));
    char *text = wait_console(uvm, log_path, "smpboot: Allowing 2 CPUs", 1, BOOT_BUDGET_S);
    fprintf(stderr, "[  INFO    ] after %.1f s (state %s) the console shows:\n%.1500s\n", now_s() - t0,
            VMR3GetStateName(VMR3GetStateU(uvm)), text);
    assert_non_null(strstr(text, "Linux version "));
    assert_non_null(strstr(text, "Command line: console=ttyS0 earlyprintk=serial,ttyS0 panic=-1 petrel.test=1"));
    assert_non_null(strstr(text, "ACPI: RSDP 0x00000000000E0000"));        /* the tables, where the machine put them */
    assert_non_null(strstr(text, "smpboot: Allowing 2 CPUs"));              /* the MADT lists both vCPUs */
    free(text);
    VMR3PowerOff(uvm);
    VMR3Destroy(uvm);
    VMR3ReleaseUVM(uvm);
    unlink(log_path);
}

/* A Linux VM gets the PC devices; a /Devices entry of the user's is kept. */
static void test_default_devices(void **s)
{
    (void)s;
    const char *kernel = kernel_path();
    if (!kernel)
        skip();
    struct linux_vm c = { .kernel = kernel, .console = "none" };
    PUVM uvm = NULL;
    assert_int_equal(VMR3Create(1, NULL, NULL, NULL, linux_ctor, &c, NULL, &uvm), VINF_SUCCESS);
    PCFGMNODE root = CFGMR3GetRootU(uvm);
    const char *devices[] = { "Devices/serial/0/Config", "Devices/i8042/0/Config", "Devices/rtc/0/Config",
                              "Devices/acpi/0/Config", "Devices/pci/0/Config" };
    for (size_t i = 0; i < sizeof(devices) / sizeof(devices[0]); i++)
        assert_non_null(CFGMR3GetChild(root, devices[i]));
    char console[16] = "";
    assert_int_equal(CFGMR3QueryString(CFGMR3GetChild(root, "Devices/serial/0/Config"), "Console",
                                       console, sizeof(console)), VINF_SUCCESS);
    assert_string_equal(console, "none");
    assert_null(CFGMR3GetChild(root, "Devices/serial/1"));
    VMR3Destroy(uvm);
    VMR3ReleaseUVM(uvm);
}

/* A hard reset clears RAM: the machine loads the kernel again and it boots again. */
static void test_reset_loads_kernel_again(void **s)
{
    (void)s;
    const char *kernel = kernel_path();
    if (!kernel)
        skip();
    char log_path[] = "/tmp/petrel-linux-reset-XXXXXX", spec[64];
    close(mkstemp(log_path));
    snprintf(spec, sizeof(spec), "file:%s", log_path);
    struct linux_vm c = { .kernel = kernel, .console = spec, .cmdline = "console=ttyS0 earlyprintk=serial,ttyS0" };
    struct fixture_log log;
    fixture_log_init(&log);
    PUVM uvm = NULL;
    assert_int_equal(VMR3Create(1, NULL, fixture_on_error, &log, linux_ctor, &c, NULL, &uvm), VINF_SUCCESS);
    assert_true(RT_SUCCESS(VMR3PowerOn(uvm)));
    double t0 = now_s();
    char *first = wait_console(uvm, log_path, "Linux version ", 1, BOOT_BUDGET_S);
    fprintf(stderr, "[  INFO    ] first boot: %u banner(s) after %.1f s, state %s\n", count(first, "Linux version "),
            now_s() - t0, VMR3GetStateName(VMR3GetStateU(uvm)));
    free(first);
    int rc = VMR3Reset(uvm);
    if (RT_FAILURE(rc))
        fail_msg("VMR3Reset: %s: %s", RTErrGetShort(rc), log.last_error);
    char *text = wait_console(uvm, log_path, "Linux version ", 2, BOOT_BUDGET_S);
    assert_int_equal(count(text, "Linux version "), 2);
    free(text);
    VMR3PowerOff(uvm);
    VMR3Destroy(uvm);
    VMR3ReleaseUVM(uvm);
    unlink(log_path);
}

/* A reset re-runs the Linux load (ACPI tables, kernel, entry state) at once. */
static void test_reset_right_after_power_on(void **s)
{
    (void)s;
    const char *kernel = kernel_path();
    if (!kernel)
        skip();
    struct linux_vm c = { .kernel = kernel, .console = "none" };
    struct fixture_log log;
    fixture_log_init(&log);
    PUVM uvm = NULL;
    assert_int_equal(VMR3Create(2, NULL, fixture_on_error, &log, linux_ctor, &c, NULL, &uvm), VINF_SUCCESS);
    assert_true(RT_SUCCESS(VMR3PowerOn(uvm)));
    for (int i = 0; i < 2; i++) {
        int rc = VMR3Reset(uvm);
        if (RT_FAILURE(rc))
            fail_msg("VMR3Reset: %s: %s", RTErrGetShort(rc), log.last_error);
        assert_int_equal(VMR3GetStateU(uvm), VMSTATE_RUNNING);
    }
    VMR3PowerOff(uvm);
    VMR3Destroy(uvm);
    VMR3ReleaseUVM(uvm);
}

/* VMR3Create fails with rc and an error message containing needle; no VM. */
static void expect_create_error(const struct linux_vm *c, int rc, const char *needle)
{
    struct fixture_log log;
    fixture_log_init(&log);
    PUVM uvm = NULL;
    assert_int_equal(VMR3Create(1, NULL, fixture_on_error, &log, linux_ctor, (void *)c, NULL, &uvm), rc);
    assert_null(uvm);
    if (getenv("PETREL_TEST_VERBOSE"))
        fprintf(stderr, "[  INFO    ] %s\n", log.last_error);
    if (!strstr(log.last_error, needle))
        fail_msg("error '%s' does not mention '%s'", log.last_error, needle);
}

static void test_bad_input(void **s)
{
    (void)s;
    expect_create_error(&(struct linux_vm){ .kernel = "/nonexistent/vmlinuz" }, VERR_FILE_NOT_FOUND,
                        "/nonexistent/vmlinuz");
    char junk[] = "/tmp/petrel-not-a-kernel-XXXXXX";
    int fd = mkstemp(junk);
    assert_true(fd >= 0);
    char bytes[8192];
    memset(bytes, 0x5a, sizeof(bytes));
    assert_int_equal(write(fd, bytes, sizeof(bytes)), (ssize_t)sizeof(bytes));
    close(fd);
    expect_create_error(&(struct linux_vm){ .kernel = junk }, VERR_INVALID_EXE_SIGNATURE, junk);
    unlink(junk);
    expect_create_error(&(struct linux_vm){ .kernel = "/k", .image = "/i" }, VERR_INVALID_PARAMETER, "/Boot/Image");
    expect_create_error(&(struct linux_vm){ .kernel = "/k", .entry = "16" }, VERR_INVALID_PARAMETER, "/Boot/Entry");
    const char *kernel = kernel_path();
    if (kernel)
        expect_create_error(&(struct linux_vm){ .kernel = kernel, .ram_mib = 16 }, VERR_OUT_OF_RANGE, "RAM");
}

/* VMR3ConsoleInput types into COM1's receive FIFO (what `petrel run` does on
 * a TTY); before power-on the serial port holds input back (nothing typed
 * can be lost to a state load), so the VM is powered on (no boot image: its
 * vCPU waits for a SIPI) and suspended first. */
static void test_console_input(void **s)
{
    (void)s;
    PVM vm = NULL;
    PUVM uvm = NULL;
    struct linux_vm c = { .console = "stdout" };   /* output only: input comes from the API */
    assert_int_equal(VMR3Create(1, NULL, NULL, NULL, linux_ctor, &c, &vm, &uvm), VINF_SUCCESS);
    size_t taken = 1;
    assert_int_equal(VMR3ConsoleInput(uvm, "h", 1, &taken), VINF_SUCCESS);
    assert_int_equal(taken, 0);                                   /* held until power-on */
    assert_true(RT_SUCCESS(VMR3PowerOn(uvm)));
    assert_true(RT_SUCCESS(VMR3Suspend(uvm, VMSUSPENDREASON_USER)));
    io_bus_port_write(vm->io, 0x3fa, 1, 0x07);     /* FCR: FIFOs on (16 bytes), cleared */
    assert_int_equal(VMR3ConsoleInput(uvm, "hi", 2, &taken), VINF_SUCCESS);
    assert_int_equal(taken, 2);
    assert_true(io_bus_port_read(vm->io, 0x3fd, 1) & 0x01);      /* LSR: data ready */
    assert_int_equal(io_bus_port_read(vm->io, 0x3f8, 1), 'h');
    assert_int_equal(io_bus_port_read(vm->io, 0x3f8, 1), 'i');
    char many[64];
    memset(many, 'x', sizeof(many));
    assert_int_equal(VMR3ConsoleInput(uvm, many, sizeof(many), &taken), VINF_SUCCESS);
    assert_int_equal(taken, 16);                                  /* the FIFO is full: the caller retries */
    assert_int_equal(VMR3ConsoleInput(NULL, "a", 1, &taken), VERR_INVALID_VM_HANDLE);
    assert_true(RT_SUCCESS(VMR3PowerOff(uvm)));
    VMR3Destroy(uvm);
    VMR3ReleaseUVM(uvm);
}

/* The virtual clock exists from creation, runs only while the VM runs. */
static void test_clock_follows_vm_state(void **s)
{
    (void)s;
    PVM vm = NULL;
    PUVM uvm = NULL;
    struct linux_vm c = { 0 };        /* no boot image: the vCPUs wait for SIPI */
    assert_int_equal(VMR3Create(1, NULL, NULL, NULL, linux_ctor, &c, &vm, &uvm), VINF_SUCCESS);
    assert_non_null(vm->clock);
    assert_false(vclock_running(vm->clock));
    assert_true(RT_SUCCESS(VMR3PowerOn(uvm)));
    assert_true(vclock_running(vm->clock));
    assert_true(RT_SUCCESS(VMR3Suspend(uvm, VMSUSPENDREASON_USER)));
    assert_false(vclock_running(vm->clock));
    uint64_t t = vclock_now(vm->clock);
    usleep(20 * 1000);
    assert_int_equal(vclock_now(vm->clock), t);
    assert_true(RT_SUCCESS(VMR3Resume(uvm, VMRESUMEREASON_USER)));
    assert_true(vclock_running(vm->clock));
    assert_true(RT_SUCCESS(VMR3PowerOff(uvm)));
    assert_false(vclock_running(vm->clock));
    VMR3Destroy(uvm);
    VMR3ReleaseUVM(uvm);
}

/* `--slow`: the boots (ctest test_linux_machine_slow, label "slow", run by
 * `make check-slow`); without it the quick checks (`make check`). */
int main(int argc, char **argv)
{
    const struct CMUnitTest quick[] = {
        cmocka_unit_test(test_clock_follows_vm_state),
        cmocka_unit_test(test_default_devices),
        cmocka_unit_test(test_reset_right_after_power_on),
        cmocka_unit_test(test_console_input),
        cmocka_unit_test(test_bad_input),
    };
    const struct CMUnitTest slow[] = {
        cmocka_unit_test(test_boot_shows_kernel_banner),
        cmocka_unit_test(test_reset_loads_kernel_again),
    };
    if (getenv("PETREL_TEST_FILTER"))
        cmocka_set_test_filter(getenv("PETREL_TEST_FILTER"));
    if (argc > 1 && !strcmp(argv[1], "--slow"))
        return cmocka_run_group_tests_name("linux machine: boots", slow, NULL, NULL);
    return cmocka_run_group_tests_name("linux machine", quick, NULL, NULL);
}
