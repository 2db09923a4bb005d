/*
 * Debian 12 from a root disk (label "linux"): Debian's cloud kernel and
 * Petrel's initramfs booted with `--disk ROOTFS` and `root=/dev/vda`; /init
 * loads the virtio drivers and switch_roots into the disk, where systemd
 * reaches multi-user and logs root in on the serial console.  The test types
 * commands there and reads their output (systemd's state, PID 1, Debian's
 * version, a file written and read back), then `poweroff`: systemd shuts
 * down, petrel exits 0, and the host finds the file in the image (debugfs)
 * and the file system clean (e2fsck -n).
 *
 * The image comes from scripts/make-rootfs.sh (debootstrap, cached under
 * .cache/rootfs), which the test runs (a no-op once built), or from
 * $PETREL_ROOTFS; the test boots a sparse copy of it.  The kernel and the
 * initramfs as for tests/test_linux_boot.c ($PETREL_KERNEL, $PETREL_INITRD,
 * else .cache/).  Skips when any of them is missing and cannot be built.
 */
#include "linux_guest.h"

/* systemd on the interpreter takes about two minutes to reach the prompt in
 * the optimized build, ten times longer when petrel runs under ASan. */
#if defined(__SANITIZE_ADDRESS__)
#define TIME_SCALE 10.0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TIME_SCALE 10.0
#endif
#endif
#ifndef TIME_SCALE
#define TIME_SCALE 1.0
#endif
#define BOOT_BUDGET_S (600.0 * TIME_SCALE)   /* far more than a boot takes: a hang fails */
#define CMD_BUDGET_S  (60.0 * TIME_SCALE)

/* A file from $env, else the last line printed by a build script. */
static bool find_file(const char *env, const char *script_cmd, char *path, size_t size)
{
    const char *v = getenv(env);
    const char *line = v && *v ? v : last_line_of(script_cmd);
    if (!line || access(line, R_OK) != 0) {
        fprintf(stderr, "[  SKIP    ] no %s: set it or make it with: %s\n", env, script_cmd);
        return false;
    }
    snprintf(path, size, "%s", line);
    return true;
}

/* The kernel, the initramfs and the root disk image. */
static bool find_rootdisk_files(char *kernel, char *initrd, char *rootfs, size_t size)
{
    if (!find_guest_files(kernel, initrd, size))
        return false;
    /* Building the disk takes a minute or two the first time (debootstrap). */
    char cmd[4096];
    const char *d = source_dir();
    snprintf(cmd, sizeof(cmd), "sh '%s/scripts/make-rootfs.sh' '%s/.cache/rootfs.ext4' '%s/.cache/rootfs' 2>&1", d, d, d);
    return find_file("PETREL_ROOTFS", cmd, rootfs, size);
}

static struct guest *guest_start(const char *kernel, const char *initrd, const char *disk)
{
    const char *argv[] = { PETREL_BIN, "run", "--kernel", kernel, "--initrd", initrd, "--disk", disk,
                           "--memory", "512", "--engine", guest_engine(), "--console", "stdio",
                           "--append", "console=ttyS0 root=/dev/vda panic=-1 reboot=k", NULL };
    return guest_spawn(argv);
}

/* Types cmd, whose output the test finds as "<tag>=VALUE=" (the echo of the
 * typed line holds <tag>""= instead); returns VALUE (static). */
static const char *guest_ask(struct guest *g, const char *tag, const char *cmd)
{
    static char value[256];
    char line[512], needle[64];
    snprintf(line, sizeof(line), "echo %s\"\"=\"$(%s)\"=\n", tag, cmd);
    snprintf(needle, sizeof(needle), "%s=", tag);
    guest_type(g, line);
    guest_expect(g, needle, CMD_BUDGET_S);
    size_t from = g->cursor;
    const char *end = guest_expect(g, "=", CMD_BUDGET_S);
    snprintf(value, sizeof(value), "%.*s", (int)(end - (g->out + from)), g->out + from);
    return value;
}

/* The copy of the image: removed after the test, also when it failed. */
static char image_copy[] = "/tmp/petrel-rootdisk-XXXXXX";

static int remove_image_copy(void **s)
{
    (void)s;
    if (strcmp(image_copy + strlen(image_copy) - 6, "XXXXXX") != 0)
        unlink(image_copy);
    return 0;
}

static void test_debian_boots_from_root_disk(void **s)
{
    (void)s;
    char kernel[1024], initrd[1024], rootfs[1024], cmd[4200];
    if (!find_rootdisk_files(kernel, initrd, rootfs, sizeof(kernel)))
        skip();
    /* The guest writes to its disk: boot a copy, keep the cached image clean. */
    char *img = image_copy;
    int fd = mkstemp(img);
    assert_true(fd >= 0);
    close(fd);
    snprintf(cmd, sizeof(cmd), "cp --sparse=always '%s' '%s'", rootfs, img);
    assert_int_equal(system(cmd), 0);

    struct guest *g = guest_start(kernel, initrd, img);
    guest_expect(g, "petrel-init: switching to /dev/vda", BOOT_BUDGET_S);
    guest_expect(g, "root@petrel:", BOOT_BUDGET_S);      /* the autologin shell's prompt */
    double t_login = now_s() - g->t0;

    const char *state = guest_ask(g, "state", "systemctl is-system-running --wait");
    if (strcmp(state, "running") != 0) {
        guest_type(g, "systemctl --failed --no-pager\n");
        guest_pump(g, 3000);
        guest_dump(g);
        fail_msg("systemd's state is \"%s\", not \"running\"", state);
    }
    double t_running = now_s() - g->t0;
    assert_string_equal(guest_ask(g, "pid1", "cat /proc/1/comm"), "systemd");
    assert_string_equal(guest_ask(g, "rootdev", "findmnt -no SOURCE /"), "/dev/vda");
    assert_true(strncmp(guest_ask(g, "debian", "cat /etc/debian_version"), "12.", 3) == 0);
    assert_string_equal(guest_ask(g, "written", "echo petrel-disk-$((6 * 7)) > /root/petrel-written && cat /root/petrel-written"),
                        "petrel-disk-42");

    double t_off = now_s();
    guest_type(g, "poweroff\n");
    guest_expect(g, "reboot: Power down", CMD_BUDGET_S);
    int status = guest_wait_exit(g, CMD_BUDGET_S);
    printf("[  INFO    ] autologin prompt after %.1f s, systemd running after %.1f s, powered off in %.1f s\n",
           t_login, t_running, now_s() - t_off);
    guest_free(g);
    assert_int_equal(status, 0);

    /* The clean shutdown left the file on the disk and the file system clean. */
    snprintf(cmd, sizeof(cmd), "debugfs -R 'cat /root/petrel-written' '%s' 2>/dev/null", img);
    const char *content = last_line_of(cmd);
    assert_non_null(content);
    assert_string_equal(content, "petrel-disk-42");
    snprintf(cmd, sizeof(cmd), "e2fsck -fn '%s' >/dev/null 2>&1", img);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_debian_boots_from_root_disk, remove_image_copy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
