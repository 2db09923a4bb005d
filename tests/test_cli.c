/*
 * The `petrel` command as a user meets it: guests print and exit with their
 * code; bad arguments and unreadable files give one line on stderr and exit
 * status 2.  On a terminal: the console's escapes, and Ctrl-C, which stops
 * a target still waiting for a teleport but belongs to the guest once the
 * VM has arrived.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <glob.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

struct run_result {
    int status;
    char out[4096];
    char err[4096];
    int err_lines;
};

static void read_all(int fd, char *buf, size_t size)
{
    size_t len = 0;
    ssize_t n;
    while (len + 1 < size && (n = read(fd, buf + len, size - 1 - len)) > 0)
        len += (size_t)n;
    buf[len] = 0;
}

/* Runs PETREL_BIN with argv (NULL-terminated), capturing stdout and stderr. */
static struct run_result run_petrel(const char *const *args)
{
    struct run_result r = { 0 };
    char out_path[] = "/tmp/petrel-cli-out-XXXXXX", err_path[] = "/tmp/petrel-cli-err-XXXXXX";
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
    for (const char *p = r.err; *p; p++)
        r.err_lines += *p == '\n';
    close(out);
    close(err);
    unlink(out_path);
    unlink(err_path);
    return r;
}

#define GUEST(name) PETREL_GUEST_DIR "/" name

static void test_guests_print_and_exit(void **s)
{
    (void)s;
    struct run_result r = run_petrel((const char *[]){ "run", "--image", GUEST("hello_real.bin"), NULL });
    assert_string_equal(r.out, "Hello from real mode\n");
    assert_int_equal(r.status, 33);
    r = run_petrel((const char *[]){ "run", "--image", GUEST("hello_prot.bin"), "--mode", "protected", NULL });
    assert_string_equal(r.out, "Hello from protected mode\n");
    assert_int_equal(r.status, 65);
    r = run_petrel((const char *[]){ "run", "--image", GUEST("hello_long.bin"), "--mode", "long", "--memory", "32", NULL });
    assert_string_equal(r.out, "Hello from long mode\n");
    assert_int_equal(r.status, 97);
    assert_string_equal(r.err, "");
}

/* Each bad command line: exit status 2 and exactly one line on stderr. */
static void expect_usage_error(const char *const *args, const char *needle)
{
    struct run_result r = run_petrel(args);
    if (r.status != 2 || r.err_lines != 1 || !strstr(r.err, needle))
        fail_msg("args starting '%s %s': status %d, stderr '%s' (want 2, one line containing '%s')",
                 args[0], args[1] ? args[1] : "", r.status, r.err, needle);
}

static void test_bad_arguments(void **s)
{
    (void)s;
    expect_usage_error((const char *[]){ "frobnicate", NULL }, "unknown command");
    expect_usage_error((const char *[]){ "run", NULL }, "--image");
    expect_usage_error((const char *[]){ "run", "--image", "/nonexistent/guest.bin", NULL }, "/nonexistent/guest.bin");
    expect_usage_error((const char *[]){ "run", "--image", GUEST("hello_real.bin"), "--mode", "weird", NULL }, "--mode");
    expect_usage_error((const char *[]){ "run", "--image", GUEST("hello_real.bin"), "--cpus", "0", NULL }, "--cpus");
    expect_usage_error((const char *[]){ "run", "--image", GUEST("hello_real.bin"), "--cpus", "65", NULL }, "--cpus");
    expect_usage_error((const char *[]){ "run", "--image", GUEST("hello_real.bin"), "--cpus", "2x", NULL }, "--cpus");
    expect_usage_error((const char *[]){ "run", "--image", GUEST("hello_real.bin"), "--memory", "-5", NULL }, "--memory");
    expect_usage_error((const char *[]){ "run", "--image", GUEST("hello_real.bin"), "--load-addr", "0x1ffffffff", NULL }, "--load-addr");
    expect_usage_error((const char *[]){ "run", "--image", GUEST("hello_real.bin"), "--engine", "qemu", NULL }, "--engine");
    expect_usage_error((const char *[]){ "run", "--image", GUEST("hello_real.bin"), "--bogus", NULL }, "--bogus");
    expect_usage_error((const char *[]){ "run", "--image", GUEST("hello_real.bin"), "extra", NULL }, "extra");
    expect_usage_error((const char *[]){ "run", "--image", NULL }, "--image");
    /* A directory is not a readable image. */
    expect_usage_error((const char *[]){ "run", "--image", "/", NULL }, "/");
}

/* A guest image that does not fit in guest RAM: one clear line, status 2. */
static void test_image_too_big(void **s)
{
    (void)s;
    char path[] = "/tmp/petrel-big-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 8 << 20), 0);
    close(fd);
    expect_usage_error((const char *[]){ "run", "--image", path, "--memory", "4", NULL }, path);
    unlink(path);
}

/* Debian's kernel from the cache scripts/fetch-kernel.sh fills (tests/test_linux_*.c fetch it), or NULL. */
static const char *cached_kernel(void)
{
    static char path[1024];
    glob_t g;
    if (glob(PETREL_GUEST_DIR "/../../.cache/kernel/root/boot/vmlinuz-*", 0, NULL, &g) != 0)
        return NULL;
    snprintf(path, sizeof(path), "%s", g.gl_pathv[g.gl_pathc - 1]);
    globfree(&g);
    return path;
}

/* `run --kernel`: bad files and sizes are one line and status 2, no VM runs. */
static void test_linux_bad_input(void **s)
{
    (void)s;
    expect_usage_error((const char *[]){ "run", "--kernel", "/nonexistent/bzImage", NULL }, "/nonexistent/bzImage");
    expect_usage_error((const char *[]){ "run", "--kernel", "/", NULL }, "/");
    expect_usage_error((const char *[]){ "run", "--kernel", "/k", "--image", GUEST("hello_real.bin"), NULL }, "--kernel");
    expect_usage_error((const char *[]){ "run", "--kernel", GUEST("hello_real.bin"), "--initrd", "/nonexistent/initrd", NULL },
                       "/nonexistent/initrd");
    expect_usage_error((const char *[]){ "run", "--kernel", GUEST("hello_real.bin"), "--cpus", "0", NULL }, "--cpus");
    expect_usage_error((const char *[]){ "run", "--kernel", GUEST("hello_real.bin"), "--cpus", "65", NULL }, "--cpus");
    expect_usage_error((const char *[]){ "run", "--kernel", GUEST("hello_real.bin"), "--console", "tty", NULL }, "--console");
    expect_usage_error((const char *[]){ "run", "--kernel", GUEST("hello_real.bin"), "--engine", "bochs", NULL }, "--engine");
    char json[] = "/tmp/petrel-cli-json-XXXXXX";
    int fd = mkstemp(json);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "{\n  \"NoSuchKey\": 1\n}\n", 21), 21);
    close(fd);
    expect_usage_error((const char *[]){ "run", "--kernel", GUEST("hello_real.bin"), "--config", json, NULL }, "NoSuchKey");
    unlink(json);
    /* A flat test guest is not a Linux kernel: the loader says so. */
    expect_usage_error((const char *[]){ "run", "--kernel", GUEST("hello_real.bin"), "--console", "none", NULL },
                       "not a Linux kernel");
    const char *kernel = cached_kernel();
    if (!kernel) {
        fprintf(stderr, "[  SKIP    ] too-little-memory case: no kernel in the cache (run scripts/fetch-kernel.sh)\n");
        return;
    }
    expect_usage_error((const char *[]){ "run", "--kernel", kernel, "--memory", "16", "--console", "none", NULL },
                       "too little guest RAM");
}

/* Reads from fd into buf (appending) until needle shows up (NULL: never)
 * or timeout_ms passes, dropping the oldest half when buf fills up. */
static bool pty_wait_for(int fd, char *buf, size_t size, const char *needle, int timeout_ms)
{
    size_t len = strlen(buf);
    for (int waited = 0; !(needle && strstr(buf, needle)) && waited < timeout_ms; waited += 50) {
        if (len + 1 >= size) {
            memmove(buf, buf + size / 2, len - size / 2 + 1);
            len -= size / 2;
        }
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, 50) > 0) {
            ssize_t n = read(fd, buf + len, size - 1 - len);
            if (n <= 0)
                break;
            len += (size_t)n;
            buf[len] = 0;
        }
    }
    return needle && strstr(buf, needle) != NULL;
}

/* On a terminal: raw mode, Ctrl-A h lists the escapes, Ctrl-A x quits with 0, terminal restored. */
static void test_console_escapes_on_tty(void **s)
{
    (void)s;
    const char *kernel = cached_kernel();
    if (!kernel)
        skip();
    int master = -1;
    pid_t pid = forkpty(&master, NULL, NULL, NULL);
    assert_true(pid >= 0);
    if (pid == 0) {
        execl(PETREL_BIN, PETREL_BIN, "run", "--kernel", kernel, "--console", "stdio", (char *)NULL);
        _exit(127);
    }
    static char out[1 << 16];
    out[0] = 0;
    assert_true(pty_wait_for(master, out, sizeof(out), "petrel: engine", 10000));
    struct termios t;
    for (int i = 0; i < 100 && tcgetattr(master, &t) == 0 && (t.c_lflag & (ICANON | ECHO | ISIG)); i++)
        pty_wait_for(master, out, sizeof(out), NULL, 50);           /* the console starts after the log line */
    assert_int_equal(t.c_lflag & (ICANON | ECHO | ISIG), 0);          /* raw while the VM runs */
    assert_int_equal(write(master, "\001h", 2), 2);
    assert_true(pty_wait_for(master, out, sizeof(out), "C-a x", 5000));
    assert_int_equal(write(master, "\001x", 2), 2);
    int wstatus = 0;
    for (int i = 0; i < 200 && waitpid(pid, &wstatus, WNOHANG) == 0; i++) {
        pty_wait_for(master, out, sizeof(out), NULL, 50);               /* keep draining the output */
        usleep(20 * 1000);                                              /* the pty may be closed already */
    }
    if (waitpid(pid, &wstatus, WNOHANG) == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &wstatus, 0);
        fail_msg("petrel did not quit on Ctrl-A x; output:\n%s", out);
    }
    assert_true(WIFEXITED(wstatus));
    assert_int_equal(WEXITSTATUS(wstatus), 0);
    assert_int_equal(tcgetattr(master, &t), 0);
    assert_int_equal(t.c_lflag & (ICANON | ECHO | ISIG), ICANON | ECHO | ISIG);   /* restored */
    close(master);
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Waits up to timeout_ms for pid, draining the pty (which may hang up
 * first: then nothing blocks); its exit status, or -1 (still running: killed). */
static int pty_wait_exit(pid_t pid, int master, char *out, size_t size, int timeout_ms)
{
    int wstatus = 0;
    for (uint64_t end = mono_ms() + (uint64_t)timeout_ms; mono_ms() < end && waitpid(pid, &wstatus, WNOHANG) == 0;) {
        pty_wait_for(master, out, size, NULL, 50);
        usleep(10 * 1000);
    }
    if (waitpid(pid, &wstatus, WNOHANG) == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &wstatus, 0);
        return -1;
    }
    pty_wait_for(master, out, size, NULL, 50);              /* its last words */
    return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
}

/* A password file for teleports (path in pw, unlinked by the caller). */
static void write_password(char *pw)
{
    int fd = mkstemp(pw);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "s3cret\n", 7), 7);
    close(fd);
}

/* `petrel run --kernel K --teleport-listen 127.0.0.1:0` on a new pty (its
 * master in *master); returns the pid once it listens, with its port in *port. */
static pid_t start_tty_target(const char *kernel, const char *pw, int *master, char *out, size_t size, int *port)
{
    pid_t pid = forkpty(master, NULL, NULL, NULL);
    assert_true(pid >= 0);
    if (pid == 0) {
        execl(PETREL_BIN, PETREL_BIN, "run", "--kernel", kernel, "--engine", "interp", "--memory", "128",
              "--teleport-listen", "127.0.0.1:0", "--teleport-password-file", pw, (char *)NULL);
        _exit(127);
    }
    out[0] = 0;
    const char *line = "waiting for a teleport on 127.0.0.1:";
    bool waiting = pty_wait_for(*master, out, size, line, 30000);
    pty_wait_for(*master, out, size, NULL, 200);            /* the console starts after the line */
    *port = waiting ? atoi(strstr(out, line) + strlen(line)) : 0;
    if (!waiting)
        fail_msg("the target does not listen; output:\n%s", out);
    return pid;
}

/* On a terminal, a target waiting for a teleport has no guest to give keys
 * to: Ctrl-C stops it (exit 130, a clear message, terminal restored).  It
 * used to be raw already, Ctrl-C a byte held for a guest that never came. */
static void test_teleport_wait_stops_on_ctrl_c(void **s)
{
    (void)s;
    const char *kernel = cached_kernel();
    if (!kernel)
        skip();
    char pw[] = "/tmp/petrel-cli-pw-XXXXXX";
    write_password(pw);
    static char out[1 << 16];
    int master = -1, port = 0;
    pid_t pid = start_tty_target(kernel, pw, &master, out, sizeof(out), &port);
    assert_int_equal(write(master, "\003", 1), 1);
    int status = pty_wait_exit(pid, master, out, sizeof(out), 5000);
    unlink(pw);
    if (status != 130 || !strstr(out, "stopped by signal 2 (Interrupt) before a VM was received"))
        fail_msg("Ctrl-C did not stop the waiting target (status %d); output:\n%s", status, out);
    struct termios t;
    assert_int_equal(tcgetattr(master, &t), 0);
    assert_int_equal(t.c_lflag & (ICANON | ECHO | ISIG), ICANON | ECHO | ISIG);   /* restored */
    close(master);
}

/* Once the VM has arrived, Ctrl-C is the guest's (raw terminal, petrel
 * runs on) and Ctrl-A x quits.  The source: a Linux VM just started. */
static void test_teleported_vm_gets_ctrl_c(void **s)
{
    (void)s;
    const char *kernel = cached_kernel();
    if (!kernel)
        skip();
    char pw[] = "/tmp/petrel-cli-pw-XXXXXX", sock[64], addr[32];
    write_password(pw);
    snprintf(sock, sizeof(sock), "%s.sock", pw);
    pid_t src = fork();
    assert_true(src >= 0);
    if (src == 0) {
        freopen("/dev/null", "w", stderr);
        execl(PETREL_BIN, PETREL_BIN, "run", "--kernel", kernel, "--engine", "interp", "--memory", "128", "--console",
              "none", "--control", sock, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 3000 && access(sock, F_OK) != 0; i++)
        usleep(10 * 1000);
    static char out[1 << 16];
    int master = -1, port = 0;
    pid_t pid = start_tty_target(kernel, pw, &master, out, sizeof(out), &port);
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
    struct run_result r = run_petrel((const char *[]){ "ctl", sock, "teleport", addr, "--password-file", pw, NULL });
    int wstatus = 0;
    for (int i = 0; r.status == 0 && i < 3000 && waitpid(src, &wstatus, WNOHANG) == 0; i++)
        usleep(10 * 1000);                                  /* the source powers off after the hand-over */
    if (waitpid(src, &wstatus, WNOHANG) == 0) {
        kill(src, SIGKILL);
        waitpid(src, &wstatus, 0);
    }
    unlink(pw);
    unlink(sock);
    if (r.status != 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &wstatus, 0);
        close(master);
        fail_msg("teleport failed (%d): %s%s", r.status, r.out, r.err);
    }
    bool received = pty_wait_for(master, out, sizeof(out), "teleported VM received", 10000);
    struct termios t = { 0 };
    for (int i = 0; i < 100 && tcgetattr(master, &t) == 0 && (t.c_lflag & ISIG); i++)
        pty_wait_for(master, out, sizeof(out), NULL, 50);
    assert_int_equal(write(master, "\003", 1), 1);
    pty_wait_for(master, out, sizeof(out), NULL, 500);
    bool runs_on = waitpid(pid, &wstatus, WNOHANG) == 0;
    if (runs_on)
        assert_int_equal(write(master, "\001x", 2), 2);
    int status = runs_on ? pty_wait_exit(pid, master, out, sizeof(out), 10000) : -1;
    close(master);
    if (!received || (t.c_lflag & ISIG) || !runs_on || status != 0)
        fail_msg("after the teleport: ISIG %s, %s Ctrl-C, exit %d; output:\n%s", t.c_lflag & ISIG ? "on" : "off",
                 runs_on ? "ran on after" : "stopped by", status, out);
}

static void test_help_and_version(void **s)
{
    (void)s;
    struct run_result r = run_petrel((const char *[]){ "version", NULL });
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "petrel "));
    r = run_petrel((const char *[]){ "help", "run", NULL });
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "--image"));
    assert_non_null(strstr(r.out, "--kernel"));
    assert_non_null(strstr(r.out, "Ctrl-A x"));
    r = run_petrel((const char *[]){ NULL });
    assert_int_equal(r.status, 2);
}

static double realtime_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The VM log tells when the first vCPU entered guest code (the start-up
 * benchmark's end point): once, between the spawn and the exit. */
static void test_first_guest_entry_logged(void **s)
{
    (void)s;
    char log_path[] = "/tmp/petrel-cli-log-XXXXXX";
    int fd = mkstemp(log_path);
    assert_true(fd >= 0);
    setenv("PETREL_LOG", log_path, 1);
    double before = realtime_now();
    struct run_result r = run_petrel((const char *[]){ "run", "--image", GUEST("exit_at_once.bin"), NULL });
    double after = realtime_now();
    unsetenv("PETREL_LOG");
    assert_int_equal(r.status, 97);                     /* its exit code (0x30 << 1 | 1) */
    char log[8192];
    read_all(fd, log, sizeof(log));
    close(fd);
    unlink(log_path);
    const char *key = "enters guest code first at ";
    const char *line = strstr(log, key);
    assert_non_null(line);
    assert_null(strstr(line + 1, key));                 /* only the first entry */
    double t = strtod(line + strlen(key), NULL);
    assert_true(t >= before && t <= after);
    assert_non_null(strstr(line, "engine interp") ? line : strstr(line, "engine kvm"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_guests_print_and_exit),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_image_too_big),
        cmocka_unit_test(test_linux_bad_input),
        cmocka_unit_test(test_console_escapes_on_tty),
        cmocka_unit_test(test_teleport_wait_stops_on_ctrl_c),
        cmocka_unit_test(test_teleported_vm_gets_ctrl_c),
        cmocka_unit_test(test_help_and_version),
        cmocka_unit_test(test_first_guest_entry_logged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
