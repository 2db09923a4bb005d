/*
 * Linux with virtio devices (label "slow"; it needs the interpreter's
 * IOAPIC, or KVM, for the devices' PCI interrupts): Debian's cloud kernel
 * and Petrel's initramfs booted with `--disk IMG,serial=S --rng` and
 * `petrel.test=virtio`, where /init reports /dev/vda's size, serial and
 * sector 0, writes sector 1 (fsync), reads 16 bytes of /dev/hwrng, lists
 * the virtio functions' MSI-X vectors (sysfs msi_irqs) and their lines of
 * /proc/interrupts, and powers off.  The test checks the report (both
 * devices interrupt through MSI-X only, the disk's request queue took
 * interrupts) and the image file.  With --intx the kernel gets pci=nomsi:
 * the same I/O works over INTx through the IOAPIC (the fallback).
 *
 * Kernel and initramfs: $PETREL_KERNEL / $PETREL_INITRD, else .cache/ as
 * `make linux-guest` leaves them (the initramfs must be built from this
 * tree's initramfs/init, which knows petrel.test=virtio).  Skips when they
 * are missing.  PETREL_TEST_ENGINE picks the engine (default auto).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "linux_guest.h"

#define BUDGET_S 600

static bool intx_only;                 /* --intx: pci=nomsi, INTx expected */

/* The interrupt count of a /proc/interrupts line after "NN:" (all CPU columns). */
static unsigned long irq_count(const char *line)
{
    unsigned long sum = 0;
    const char *p = strchr(line, ':');
    if (!p)
        return 0;
    for (p++;;) {
        p += strspn(p, " ");
        if (*p < '0' || *p > '9')
            return sum;
        char *end;
        sum += strtoul(p, &end, 10);
        p = end;
    }
}

/* pci=nomsi: no MSI vectors, the devices' interrupts came through the IOAPIC. */
static void check_intx(const char *out)
{
    if (!strstr(out, "petrel-virtio: msi_irqs 0x1042 0") || !strstr(out, "petrel-virtio: msi_irqs 0x1044 0"))
        fail_msg("MSI vectors despite pci=nomsi:\n%s", out);
    const char *l = strstr(out, "petrel-virtio: irq ");
    if (!l || !strstr(out, "IO-APIC") || strstr(out, "PCI-MSI") ||
        irq_count(l + strlen("petrel-virtio: irq ")) == 0)
        fail_msg("no INTx interrupts from the virtio devices:\n%s", out);
}

/* Both virtio functions have MSI-X vectors, and every virtio interrupt line is an
 * MSI one: none on the IOAPIC (INTx); the disk's requests completed through one. */
static void check_msix(const char *out)
{
    const char *want[] = { "petrel-virtio: msi_irqs 0x1042 ", "petrel-virtio: msi_irqs 0x1044 " };
    for (size_t i = 0; i < 2; i++) {
        const char *m = strstr(out, want[i]);
        if (!m || atoi(m + strlen(want[i])) < 2)
            fail_msg("'%s' missing or with fewer than 2 vectors", want[i]);
    }
    unsigned lines = 0;
    unsigned long req = 0;
    for (const char *l = strstr(out, "petrel-virtio: irq "); l; l = strstr(l + 1, "petrel-virtio: irq ")) {
        char line[256];
        snprintf(line, sizeof(line), "%.*s", (int)strcspn(l, "\r\n"), l);
        if (!strstr(line, "PCI-MSI"))
            fail_msg("a virtio interrupt that is not MSI-X: %s", line);
        if (strstr(line, "virtio0-req"))
            req += irq_count(line + strlen("petrel-virtio: irq "));
        lines++;
    }
    if (lines < 4 || req == 0)
        fail_msg("%u virtio interrupt lines, %lu request interrupts:\n%s", lines, req, out);
}

static void test_linux_reads_and_writes_vda(void **s)
{
    (void)s;
    char kernel[1024], initrd[1024];
    if (!find_guest_files(kernel, initrd, sizeof(kernel))) {
        fprintf(stderr, "[  SKIP    ] no kernel/initramfs: `make linux-guest` or set PETREL_KERNEL and PETREL_INITRD\n");
        skip();
    }
    char img[] = "/tmp/petrel-lv-img-XXXXXX", log[] = "/tmp/petrel-lv-log-XXXXXX";
    int fd = mkstemp(img), lfd = mkstemp(log);
    assert_true(fd >= 0 && lfd >= 0);
    assert_int_equal(ftruncate(fd, 8 << 20), 0);
    assert_int_equal(pwrite(fd, "PETREL-DISK-SECTOR0", 19, 0), 19);
    close(fd);
    char disk[128], console[128];
    snprintf(disk, sizeof(disk), "%s,serial=petrel-vda", img);
    snprintf(console, sizeof(console), "file:%s", log);
    const char *e = getenv("PETREL_TEST_ENGINE");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        execl(PETREL_BIN, PETREL_BIN, "run", "--kernel", kernel, "--initrd", initrd, "--engine", e && *e ? e : "auto",
              "--console", console, "--disk", disk, "--rng",
              "--append", intx_only ? "console=ttyS0 panic=-1 reboot=k petrel.test=virtio pci=nomsi"
                                    : "console=ttyS0 panic=-1 reboot=k petrel.test=virtio", (char *)NULL);
        _exit(127);
    }
    int status = -1;
    for (int t = 0; t < BUDGET_S * 10 && waitpid(pid, &status, WNOHANG) == 0; t++)
        usleep(100000);
    if (waitpid(pid, &status, WNOHANG) == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    char out[65536] = { 0 };
    ssize_t n = pread(lfd, out, sizeof(out) - 1, 0);
    close(lfd);
    out[n > 0 ? n : 0] = 0;
    const char *want[] = { "petrel-virtio: vda 16384 sectors, serial petrel-vda", "petrel-virtio: sector0 PETREL-DISK-SECTOR0",
                           "petrel-virtio: write ok", "petrel-virtio: done" };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (!strstr(out, want[i]))
            fail_msg("'%s' missing from the console:\n%s", want[i], out + (n > 4000 ? n - 4000 : 0));
    const char *rng = strstr(out, "petrel-virtio: hwrng ");
    assert_non_null(rng);
    assert_true(strspn(rng + 21, "0123456789abcdef") == 32);
    if (intx_only)
        check_intx(out);
    else
        check_msix(out);
    char sector[512] = { 0 };
    fd = open(img, O_RDONLY);
    assert_int_equal(pread(fd, sector, sizeof(sector), 512), 512);
    close(fd);
    assert_memory_equal(sector, "written-by-linux\n", 17);
    unlink(img);
    unlink(log);
}

int main(int argc, char **argv)
{
    intx_only = argc > 1 && !strcmp(argv[1], "--intx");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linux_reads_and_writes_vda),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
