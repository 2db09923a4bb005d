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
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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
#define OUT_MAX       (4u << 20)

struct guest {
    pid_t pid;
    int in_fd, out_fd;
    char *out;                    /* everything the console printed */
    size_t len, cursor;           /* cursor: where the next expect() starts looking */
    double t0;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *source_dir(void)
{
    static char dir[1024];
    if (!dir[0]) {
        char file[1024];
        snprintf(file, sizeof(file), "%s", __FILE__);
        snprintf(dir, sizeof(dir), "%s", dirname(dirname(file)));
    }
    return dir;
}

/* Runs a shell command; its last output line (static) or NULL on failure. */
static const char *last_line_of(const char *cmd)
{
    static char line[1024];
    char buf[1024];
    line[0] = 0;
    FILE *p = popen(cmd, "r");
    while (p && fgets(buf, sizeof(buf), p))
        snprintf(line, sizeof(line), "%s", buf);
    if (!p || pclose(p) != 0 || !line[0])
        return NULL;
    line[strcspn(line, "\n")] = 0;
    return line;
}

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

static bool find_guest_files(char *kernel, char *initrd, char *rootfs, size_t size)
{
    char cmd[4096];
    const char *d = source_dir();
    snprintf(cmd, sizeof(cmd), "sh '%s/scripts/fetch-kernel.sh' '%s/.cache/kernel' 2>/dev/null", d, d);
    if (!find_file("PETREL_KERNEL", cmd, kernel, size))
        return false;
    snprintf(cmd, sizeof(cmd), "ls '%s/.cache/initramfs.cpio.gz' 2>/dev/null", d);
    if (!find_file("PETREL_INITRD", cmd, initrd, size))
        return false;
    /* Building the disk takes a minute or two the first time (debootstrap). */
    snprintf(cmd, sizeof(cmd), "sh '%s/scripts/make-rootfs.sh' '%s/.cache/rootfs.ext4' '%s/.cache/rootfs' 2>&1", d, d, d);
    return find_file("PETREL_ROOTFS", cmd, rootfs, size);
}

static struct guest *guest_start(const char *kernel, const char *initrd, const char *disk)
{
    struct guest *g = calloc(1, sizeof(*g));
    assert_non_null(g);
    g->out = malloc(OUT_MAX + 1);
    assert_non_null(g->out);
    g->out[0] = 0;
    const char *e = getenv("PETREL_TEST_ENGINE");
    const char *argv[] = { PETREL_BIN, "run", "--kernel", kernel, "--initrd", initrd, "--disk", disk,
                           "--memory", "512", "--engine", e && *e ? e : "auto", "--console", "stdio",
                           "--append", "console=ttyS0 root=/dev/vda panic=-1 reboot=k", NULL };
    int in[2], out[2];
    assert_int_equal(pipe(in), 0);
    assert_int_equal(pipe(out), 0);
    g->t0 = now_s();
    g->pid = fork();
    assert_true(g->pid >= 0);
    if (g->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);          /* never outlive a test that was killed */
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(out[1], 2);
        close(in[1]);
        close(out[0]);
        execv(PETREL_BIN, (char *const *)argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    g->in_fd = in[1];
    g->out_fd = out[0];
    fcntl(g->out_fd, F_SETFL, O_NONBLOCK);
    return g;
}

/* Reads what is there (waiting up to ms for more); false at end of file. */
static bool guest_pump(struct guest *g, int ms)
{
    struct pollfd p = { g->out_fd, POLLIN, 0 };
    if (poll(&p, 1, ms) <= 0)
        return true;
    for (;;) {
        if (g->len >= OUT_MAX)
            return true;
        ssize_t n = read(g->out_fd, g->out + g->len, OUT_MAX - g->len);
        if (n > 0) {
            g->len += (size_t)n;
            g->out[g->len] = 0;
            continue;
        }
        return n < 0 && (errno == EAGAIN || errno == EINTR);
    }
}

static void dump_console(const struct guest *g)
{
    fprintf(stderr, "---- the console's last lines ----\n%s\n----\n", g->out + (g->len > 8000 ? g->len - 8000 : 0));
}

/* Waits for needle after the cursor and moves the cursor past it. */
static const char *guest_expect(struct guest *g, const char *needle, double budget_s)
{
    double end = now_s() + budget_s;
    for (;;) {
        const char *hit = strstr(g->out + g->cursor, needle);
        if (hit) {
            g->cursor = (size_t)(hit - g->out) + strlen(needle);
            return hit;
        }
        bool open = guest_pump(g, 50);
        if ((!open && !strstr(g->out + g->cursor, needle)) || now_s() > end) {
            dump_console(g);
            fail_msg("no \"%s\" on the console after %.1f s (%s)", needle, now_s() - g->t0,
                     open ? "timed out" : "petrel exited");
        }
    }
}

static void guest_type(struct guest *g, const char *text)
{
    size_t len = strlen(text);
    assert_int_equal(write(g->in_fd, text, len), (ssize_t)len);
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

static void guest_free(struct guest *g, bool reaped)
{
    if (!reaped) {
        kill(g->pid, SIGKILL);
        waitpid(g->pid, NULL, 0);
    }
    close(g->in_fd);
    close(g->out_fd);
    free(g->out);
    free(g);
}

/* Waits for petrel to exit; its exit status (fails after budget_s). */
static int guest_wait_exit(struct guest *g, double budget_s)
{
    double end = now_s() + budget_s;
    for (;;) {
        guest_pump(g, 50);
        int st = 0;
        if (waitpid(g->pid, &st, WNOHANG) == g->pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        if (now_s() > end) {
            dump_console(g);
            fail_msg("petrel did not exit within %.0f s of poweroff", budget_s);
        }
    }
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
    if (!find_guest_files(kernel, initrd, rootfs, sizeof(kernel)))
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
        dump_console(g);
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
    guest_free(g, true);
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
