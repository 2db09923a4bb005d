/*
 * virtio-blk seen from a guest: guests/virtio_blk.asm, a bare-metal
 * long-mode driver, enumerates PCI through 0xCF8/0xCFC, sizes and moves
 * BAR0, sets up a queue and (polling the used ring) reads sector 0 of the
 * image, writes sector 1 and flushes; the test checks what it printed and
 * what landed in the image file once `petrel run` exited.  Also: a
 * read-only disk refuses the write, --rng coexists on the bus, and the
 * --disk option's errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct run_result {
    int status;
    char out[4096];
    char err[4096];
};

static void read_all(int fd, char *buf, size_t size)
{
    size_t len = 0;
    ssize_t n;
    while (len + 1 < size && (n = read(fd, buf + len, size - 1 - len)) > 0)
        len += (size_t)n;
    buf[len] = 0;
}

static struct run_result run_petrel(const char *const *args)
{
    struct run_result r = { 0 };
    char out_path[] = "/tmp/petrel-vg-out-XXXXXX", err_path[] = "/tmp/petrel-vg-err-XXXXXX";
    int out = mkstemp(out_path), err = mkstemp(err_path);
    assert_true(out >= 0 && err >= 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        const char *argv[32] = { PETREL_BIN };
        for (int i = 0; args[i] && i < 30; i++)
            argv[i + 1] = args[i];
        dup2(out, 1);
        dup2(err, 2);
        execv(PETREL_BIN, (char *const *)argv);
        _exit(127);
    }
    int wstatus = 0;
    waitpid(pid, &wstatus, 0);
    r.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
    lseek(out, 0, SEEK_SET);
    lseek(err, 0, SEEK_SET);
    read_all(out, r.out, sizeof(r.out));
    read_all(err, r.err, sizeof(r.err));
    close(out);
    close(err);
    unlink(out_path);
    unlink(err_path);
    return r;
}

#define GUEST PETREL_GUEST_DIR "/virtio_blk.bin"
#define HELLO "Sector zero says hello\n"
#define WMSG  "Written by the virtio guest"

static void make_image(char *path)
{
    strcpy(path, "/tmp/petrel-vg-img-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 64 * 512), 0);
    assert_int_equal(pwrite(fd, HELLO, sizeof(HELLO), 0), sizeof(HELLO));
    close(fd);
}

static void read_sector(const char *path, unsigned sector, char *buf)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, buf, 512, sector * 512), 512);
    close(fd);
}

static void test_guest_reads_and_writes(void **s)
{
    (void)s;
    char img[64], disk[128], sector[512];
    make_image(img);
    snprintf(disk, sizeof(disk), "%s,serial=guest-disk", img);
    struct run_result r = run_petrel((const char *[]){ "run", "--image", GUEST, "--mode", "long", "--memory", "64",
                                                       "--rng", "--disk", disk, NULL });
    if (r.status != 33)
        fail_msg("status %d, stdout '%s', stderr '%s'", r.status, r.out, r.err);
    assert_string_equal(r.out, HELLO "virtio-blk done\n");
    read_sector(img, 1, sector);
    assert_string_equal(sector, WMSG);
    read_sector(img, 0, sector);
    assert_string_equal(sector, HELLO);
    unlink(img);
}

static void test_guest_read_only_disk(void **s)
{
    (void)s;
    char img[64], disk[128], sector[512];
    make_image(img);
    snprintf(disk, sizeof(disk), "%s,ro", img);
    assert_int_equal(chmod(img, 0444), 0);
    struct run_result r = run_petrel((const char *[]){ "run", "--image", GUEST, "--mode", "long", "--memory", "64",
                                                       "--disk", disk, NULL });
    assert_string_equal(r.out, HELLO "write failed\n");
    assert_int_equal(r.status, (7 << 1) | 1);
    read_sector(img, 1, sector);
    assert_int_equal(sector[0], 0);
    unlink(img);
}

static void expect_usage_error(const char *disk, const char *needle)
{
    struct run_result r = run_petrel((const char *[]){ "run", "--image", GUEST, "--mode", "long", "--disk", disk, NULL });
    if (r.status != 2 || !strstr(r.err, needle) || strchr(r.err, '\n') != r.err + strlen(r.err) - 1)
        fail_msg("--disk %s: status %d, stderr '%s' (want 2, one line with '%s')", disk, r.status, r.err, needle);
}

static void test_disk_option_errors(void **s)
{
    (void)s;
    char img[64], arg[160];
    make_image(img);
    expect_usage_error("/nonexistent/disk.img", "/nonexistent/disk.img");
    snprintf(arg, sizeof(arg), "%s,rw", img);
    expect_usage_error(arg, "unknown option 'rw'");
    snprintf(arg, sizeof(arg), "%s,serial=123456789012345678901", img);
    expect_usage_error(arg, "1 to 20 characters");
    expect_usage_error(",ro", "no image path");
    /* A writable disk on a file we may not write: say so, suggest ,ro (root may write anyway). */
    if (geteuid() != 0) {
        assert_int_equal(chmod(img, 0444), 0);
        expect_usage_error(img, ",ro");
    }
    /* Not a disk at all: the device model's error, exit status 1 with the reason. */
    struct run_result r = run_petrel((const char *[]){ "run", "--image", GUEST, "--mode", "long", "--disk", "/dev/null",
                                                       NULL });
    assert_int_not_equal(r.status, 0);
    assert_non_null(strstr(r.err, "virtio-blk"));
    unlink(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_guest_reads_and_writes),
        cmocka_unit_test(test_guest_read_only_disk),
        cmocka_unit_test(test_disk_option_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
