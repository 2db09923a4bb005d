/*
 * What the Linux tests share: finding Debian's kernel and Petrel's
 * initramfs, and one `petrel run` process with its console on pipes
 * (typed input, everything printed kept, waiting for a text).
 *
 * The kernel comes from scripts/fetch-kernel.sh and the initramfs from
 * scripts/make-initramfs.sh (`make linux-guest` makes both), or from
 * $PETREL_KERNEL and $PETREL_INITRD.
 */
#ifndef PETREL_TESTS_LINUX_GUEST_H
#define PETREL_TESTS_LINUX_GUEST_H

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

#define GUEST_OUT_MAX (4u << 20)

static inline double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- the kernel and the initramfs ---- */

static inline const char *source_dir(void)
{
    static char dir[1024];
    if (!dir[0]) {
        char file[1024];
        snprintf(file, sizeof(file), "%s", __FILE__);
        snprintf(dir, sizeof(dir), "%s", dirname(dirname(file)));
    }
    return dir;
}

/* Runs a shell command and returns its last output line (static), or NULL. */
static inline const char *last_line_of(const char *cmd)
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

/* False (saying why) when either is missing. */
static inline bool find_guest_files(char *kernel, char *initrd, size_t size)
{
    const char *k = getenv("PETREL_KERNEL"), *i = getenv("PETREL_INITRD");
    char cmd[4096];
    if (k && *k) {
        snprintf(kernel, size, "%s", k);
    } else {
        snprintf(cmd, sizeof(cmd), "sh '%s/scripts/fetch-kernel.sh' '%s/.cache/kernel' 2>/dev/null",
                 source_dir(), source_dir());
        const char *line = last_line_of(cmd);
        if (!line) {
            fprintf(stderr, "[  SKIP    ] no kernel: `make linux-guest` or set PETREL_KERNEL (%s)\n", cmd);
            return false;
        }
        snprintf(kernel, size, "%s", line);
    }
    if (i && *i)
        snprintf(initrd, size, "%s", i);
    else
        snprintf(initrd, size, "%.900s/.cache/initramfs.cpio.gz", source_dir());
    if (access(initrd, R_OK) != 0) {
        fprintf(stderr, "[  SKIP    ] no initramfs at %s: `make linux-guest` or set PETREL_INITRD\n", initrd);
        return false;
    }
    return true;
}

/* ---- one petrel process with its console on pipes ---- */

struct guest {
    pid_t pid;
    int in_fd, out_fd;
    char *out;                    /* everything the console printed (stdout + stderr) */
    size_t len, cursor;           /* cursor: where the next expect() starts looking */
    char ctl[64];                 /* a control socket to remove at the end, or "" */
    double t0;
    int status;                   /* exit status once reaped, else -1 */
};

/* The engine the tests ask for: $PETREL_TEST_ENGINE, else auto. */
static inline const char *guest_engine(void)
{
    const char *e = getenv("PETREL_TEST_ENGINE");
    return e && *e ? e : "auto";
}

/* Runs argv (a petrel command line) with stdin, stdout and stderr on pipes. */
static inline struct guest *guest_spawn(const char *const *argv)
{
    struct guest *g = calloc(1, sizeof(*g));
    assert_non_null(g);
    g->out = malloc(GUEST_OUT_MAX + 1);
    assert_non_null(g->out);
    g->out[0] = 0;
    g->status = -1;
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
        execv(argv[0], (char *const *)argv);
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
static inline bool guest_pump(struct guest *g, int ms)
{
    struct pollfd p = { g->out_fd, POLLIN, 0 };
    if (poll(&p, 1, ms) <= 0)
        return true;
    for (;;) {
        if (g->len >= GUEST_OUT_MAX)
            return true;
        ssize_t n = read(g->out_fd, g->out + g->len, GUEST_OUT_MAX - g->len);
        if (n > 0) {
            g->len += (size_t)n;
            g->out[g->len] = 0;
            continue;
        }
        return n < 0 && (errno == EAGAIN || errno == EINTR);
    }
}

static inline void guest_dump(const struct guest *g)
{
    fprintf(stderr, "---- the console's last lines ----\n%s\n----\n", g->out + (g->len > 8000 ? g->len - 8000 : 0));
}

/* Waits for needle after the cursor; moves the cursor past it.  Fails the
 * test (printing the console) when it does not come within budget_s. */
static inline const char *guest_expect(struct guest *g, const char *needle, double budget_s)
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
            guest_dump(g);
            fail_msg("no \"%s\" on the console after %.1f s (%s)", needle, now_s() - g->t0,
                     open ? "timed out" : "petrel exited");
        }
    }
}

static inline void guest_type(struct guest *g, const char *text)
{
    size_t len = strlen(text);
    assert_int_equal(write(g->in_fd, text, len), (ssize_t)len);
}

/* Waits for petrel to exit; returns its exit status (fails after budget_s). */
static inline int guest_wait_exit(struct guest *g, double budget_s)
{
    double end = now_s() + budget_s;
    while (g->status < 0) {
        guest_pump(g, 50);
        int st = 0;
        if (waitpid(g->pid, &st, WNOHANG) == g->pid) {
            g->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        } else if (now_s() > end) {
            guest_dump(g);
            fail_msg("petrel did not exit within %.0f s", budget_s);
        }
    }
    guest_pump(g, 0);
    return g->status;
}

/* Kills petrel if it still runs, and frees everything. */
static inline void guest_free(struct guest *g)
{
    if (g->status < 0) {
        kill(g->pid, SIGKILL);
        waitpid(g->pid, NULL, 0);
    }
    close(g->in_fd);
    close(g->out_fd);
    if (g->ctl[0])
        unlink(g->ctl);
    free(g->out);
    free(g);
}

#endif
