/*
 * Linux on virtio devices with MSI-X across a save and restore (label
 * "linux"): Debian's cloud kernel and Petrel's initramfs on 2 vCPUs with a
 * disk and --rng, driven through its shell on the console (stdin a pipe).
 * The guest reads /dev/hwrng, the VM is saved (`petrel ctl PATH save`,
 * which powers it off), then `petrel run --restore` goes on: the guest
 * writes sector 2 of the disk with fsync and reads /dev/hwrng again, which
 * completes only if the restored devices' MSI-X vectors reach it.  The
 * test checks the guest's output (still PCI-MSI interrupts) and the image.
 *
 * Kernel and initramfs as in test_linux_virtio.c ($PETREL_KERNEL /
 * $PETREL_INITRD, else .cache/); skips when they are missing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <glob.h>
#include <libgen.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define BUDGET_S 600

static char kernel[1024], initrd[1024], img[64], sock[80], sav[80];

static bool find_guest_files(void)
{
    const char *k = getenv("PETREL_KERNEL"), *i = getenv("PETREL_INITRD");
    char dir[1024], file[1024];
    snprintf(file, sizeof(file), "%s", __FILE__);
    snprintf(dir, sizeof(dir), "%s", dirname(dirname(file)));
    if (k && *k) {
        snprintf(kernel, sizeof(kernel), "%s", k);
    } else {
        char pattern[1200];
        glob_t g;
        snprintf(pattern, sizeof(pattern), "%s/.cache/kernel/root/boot/vmlinuz-*", dir);
        if (glob(pattern, 0, NULL, &g) != 0 || g.gl_pathc == 0)
            return false;
        snprintf(kernel, sizeof(kernel), "%s", g.gl_pathv[0]);
        globfree(&g);
    }
    if (i && *i)
        snprintf(initrd, sizeof(initrd), "%s", i);
    else
        snprintf(initrd, sizeof(initrd), "%.900s/.cache/initramfs.cpio.gz", dir);
    return access(kernel, R_OK) == 0 && access(initrd, R_OK) == 0;
}

struct vm {
    pid_t pid;
    int in;                  /* the guest console's input */
    int out;                 /* its output (a temporary file) */
};

/* `petrel run` with the machine options, plus extra (--control S or --restore F). */
static struct vm vm_start(const char *opt, const char *arg)
{
    struct vm v = { -1, -1, -1 };
    char out[] = "/tmp/petrel-lvr-out-XXXXXX", disk[128];
    int p[2];
    v.out = mkstemp(out);
    assert_true(v.out >= 0 && pipe(p) == 0);
    unlink(out);
    snprintf(disk, sizeof(disk), "%s,serial=petrel-vda", img);
    const char *e = getenv("PETREL_TEST_ENGINE");
    v.pid = fork();
    assert_true(v.pid >= 0);
    if (v.pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(p[0], 0);
        dup2(v.out, 1);
        dup2(v.out, 2);
        close(p[1]);
        execl(PETREL_BIN, PETREL_BIN, "run", "--kernel", kernel, "--initrd", initrd, "--engine", e && *e ? e : "auto",
              "--cpus", "2", "--console", "stdio", "--disk", disk, "--rng", opt, arg,
              "--append", "console=ttyS0 panic=-1 reboot=k", (char *)NULL);
        _exit(127);
    }
    close(p[0]);
    v.in = p[1];
    return v;
}

/* Waits for text in the output (or the VM's exit); the output so far in buf. */
static bool vm_wait_for(struct vm *v, const char *text, char *buf, size_t size)
{
    for (int t = 0; t < BUDGET_S * 10; t++) {
        ssize_t n = pread(v->out, buf, size - 1, 0);
        buf[n > 0 ? n : 0] = 0;
        if (strstr(buf, text))
            return true;
        int st;
        if (waitpid(v->pid, &st, WNOHANG) == v->pid) {
            v->pid = -1;
            return false;
        }
        usleep(100000);
    }
    return false;
}

static void vm_type(struct vm *v, const char *line)
{
    assert_int_equal(write(v->in, line, strlen(line)), (ssize_t)strlen(line));
}

/* Waits for the VM's exit (killing it after the budget); its exit status. */
static int vm_end(struct vm *v)
{
    int st = -1;
    for (int t = 0; v->pid > 0 && t < BUDGET_S * 10 && waitpid(v->pid, &st, WNOHANG) == 0; t++)
        usleep(100000);
    if (v->pid > 0 && waitpid(v->pid, &st, WNOHANG) == 0) {
        kill(v->pid, SIGKILL);
        waitpid(v->pid, &st, 0);
    }
    close(v->in);
    close(v->out);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_msix_devices_survive_restore(void **s)
{
    (void)s;
    static char out[1 << 17];
    if (!find_guest_files()) {
        fprintf(stderr, "[  SKIP    ] no kernel/initramfs: `make linux-guest` or set PETREL_KERNEL and PETREL_INITRD\n");
        skip();
    }
    snprintf(img, sizeof(img), "/tmp/petrel-lvr-img-XXXXXX");
    int fd = mkstemp(img);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 8 << 20), 0);
    close(fd);
    snprintf(sock, sizeof(sock), "%s.sock", img);
    snprintf(sav, sizeof(sav), "%s.sav", img);

    struct vm a = vm_start("--control", sock);
    if (!vm_wait_for(&a, "starting a shell", out, sizeof(out)))
        fail_msg("no shell:\n%s", out);
    /* $((...)): the marker appears in the output, not in the echoed command. */
    vm_type(&a, "head -c 8 /dev/hwrng | od -An -tx1; echo BEFORE-SAVE-$((40+2))\n");
    if (!vm_wait_for(&a, "BEFORE-SAVE-42", out, sizeof(out)))
        fail_msg("no hwrng before the save:\n%s", out);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "'%s' ctl '%s' save '%s' >/dev/null", PETREL_BIN, sock, sav);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(vm_end(&a), 0);

    struct vm b = vm_start("--restore", sav);
    /* Typed at once, while the state is still loading: no byte may be lost
     * (the serial port holds input until the load; it used to lose the first). */
    vm_type(&b, "echo restored-write | dd of=/dev/vda bs=512 seek=2 conv=sync,fsync 2>/dev/null; "
                "head -c 8 /dev/hwrng | od -An -tx1; echo MSIX-LINES $(grep -c 'PCI-MSI.*virtio' /proc/interrupts); "
                "echo AFTER-RESTORE-$((40+2)); poweroff -f\n");
    bool done = vm_wait_for(&b, "AFTER-RESTORE-42", out, sizeof(out));
    vm_end(&b);
    if (!done)
        fail_msg("the restored guest did not finish its I/O:\n%s", out);
    int msix_lines = -1;                         /* the echoed command has "$(grep", the answer a number */
    for (const char *m = strstr(out, "MSIX-LINES "); m; m = strstr(m + 1, "MSIX-LINES "))
        if (m[11] >= '0' && m[11] <= '9')
            msix_lines = atoi(m + 11);
    if (msix_lines < 4)
        fail_msg("%d MSI-X virtio interrupt lines after the restore:\n%s", msix_lines, out);
    char sector[512] = { 0 };
    fd = open(img, O_RDONLY);
    assert_int_equal(pread(fd, sector, sizeof(sector), 1024), 512);
    close(fd);
    if (memcmp(sector, "restored-write\n", 15) != 0)
        fail_msg("sector 2 does not hold what the restored guest wrote:\n%s", out);
    unlink(img);
    unlink(sav);
    unlink(sock);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_msix_devices_survive_restore),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
