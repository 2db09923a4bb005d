/*
 * Data integrity of virtio-blk under Linux (label "linux"): Debian's cloud
 * kernel and Petrel's initramfs on an ext4 image the test makes with
 * mkfs.ext4 (e2fsprogs).
 *
 * - petrel.test=blk-sync: the guest writes /file (`seq 1 100000`), syncs
 *   and powers off with `poweroff -f` (no unmount).  After journal replay
 *   (e2fsck -fy on a copy) the file system is clean and debugfs reads the
 *   file back unchanged.
 * - petrel.test=blk-crash: the guest writes files fN (`seq N N+999`) and
 *   O_DIRECT blocks without pause, fsyncs every third file and prints
 *   "synced fN" once fsync returned; the test SIGKILLs petrel while it
 *   writes.  After journal replay the file system is clean and every file
 *   the console called synced is there with its content: a flush the guest
 *   saw completed is never lost.
 *
 * Kernel and initramfs: $PETREL_KERNEL / $PETREL_INITRD, else .cache/ as
 * `make linux-guest` leaves them (the initramfs must be built from this
 * tree's initramfs/init, which knows petrel.test=blk-sync/blk-crash).  Skips when they or e2fsprogs are
 * missing.  PETREL_TEST_ENGINE picks the engine (default auto).
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

#define BUDGET_S     600
#define IMAGE_MIB    64
#define CRASH_SYNCED 5             /* synced files to see before the kill */

static char kernel[1024], initrd[1024];

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

static void skip_without_guest(void)
{
    if (!find_guest_files()) {
        fprintf(stderr, "[  SKIP    ] no kernel/initramfs: `make linux-guest` or set PETREL_KERNEL and PETREL_INITRD\n");
        skip();
    }
    if (system("{ command -v mkfs.ext4 && command -v e2fsck && command -v debugfs; } >/dev/null") != 0) {
        fprintf(stderr, "[  SKIP    ] e2fsprogs missing (apt-get install e2fsprogs)\n");
        skip();
    }
}

/* A shell command's exit status; its output goes to `out` (a file). */
static int run(const char *out, const char *fmt, ...)
{
    char cmd[2048], full[2400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    snprintf(full, sizeof(full), "(%s) >%s 2>&1", cmd, out);
    int st = system(full);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The whole of a small file, NUL-terminated (the caller frees it). */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n + 1 == cap) {
            char *bigger = realloc(buf, cap *= 2);
            if (!bigger)
                free(buf);
            buf = bigger;
        }
    }
    fclose(f);
    if (buf)
        buf[n] = 0;
    if (len)
        *len = n;
    return buf;
}

static void make_image(const char *img)
{
    char out[] = "/tmp/petrel-bi-mkfs-XXXXXX";
    close(mkstemp(out));
    int fd = open(img, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)IMAGE_MIB << 20), 0);
    close(fd);
    assert_int_equal(run(out, "mkfs.ext4 -q -F %s", img), 0);
    unlink(out);
}

static pid_t start_petrel(const char *img, const char *log, const char *mode)
{
    char disk[256], console[256], append[256];
    snprintf(disk, sizeof(disk), "%s", img);
    snprintf(console, sizeof(console), "file:%s", log);
    snprintf(append, sizeof(append), "console=ttyS0 panic=-1 reboot=k petrel.test=%s", mode);
    const char *e = getenv("PETREL_TEST_ENGINE");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        execl(PETREL_BIN, PETREL_BIN, "run", "--kernel", kernel, "--initrd", initrd, "--engine", e && *e ? e : "auto",
              "--console", console, "--disk", disk, "--append", append, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Polls the console log until `text` appears (true) or petrel exits or time runs out. */
static bool wait_for_text(pid_t pid, const char *log, const char *text, int *status)
{
    for (int t = 0; t < BUDGET_S * 10; t++) {
        char *out = slurp(log, NULL);
        bool found = out && strstr(out, text);
        free(out);
        if (found)
            return true;
        if (waitpid(pid, status, WNOHANG) == pid)
            return false;
        usleep(100000);
    }
    return false;
}

static void fail_with_log(const char *what, const char *log)
{
    size_t n = 0;
    char *out = slurp(log, &n);
    fail_msg("%s; console:\n%s", what, out ? out + (n > 4000 ? n - 4000 : 0) : "(none)");
}

/* `seq from to`'s output. */
static char *seq_text(unsigned from, unsigned to, size_t *len)
{
    size_t cap = (size_t)(to - from + 1) * 12 + 1, n = 0;
    char *s = malloc(cap);
    assert_non_null(s);
    for (unsigned v = from; v <= to; v++)
        n += (size_t)snprintf(s + n, cap - n, "%u\n", v);
    *len = n;
    return s;
}

/* Repairs in an e2fsck report other than the superblock's free counts. */
static int real_repairs(const char *report)
{
    int n = 0;
    for (const char *p = report; (p = strstr(p, "? yes")) != NULL; p++)
        n++;
    /* ext4 does not journal the superblock's summary counters (the kernel
     * recomputes them from the group descriptors at mount), so after a crash
     * e2fsck always "fixes" them: those two are not damage. */
    const char *benign[] = { "\nFree blocks count wrong (", "\nFree inodes count wrong (" };
    for (size_t i = 0; i < 2; i++)
        if (strstr(report, benign[i]))
            n--;
    return n;
}

/*
 * Replays the journal on a copy of the image (e2fsck -fy: 0 or 1, and no
 * repair beyond the replay and the summary counters), then a read-only full
 * check of the copy must find nothing.  Returns the copy's path in `copy`.
 */
static void check_fs_after_replay(const char *img, char *copy, size_t size)
{
    char out[] = "/tmp/petrel-bi-fsck-XXXXXX";
    close(mkstemp(out));
    snprintf(copy, size, "%s.copy", img);
    assert_int_equal(run(out, "cp --sparse=always %s %s", img, copy), 0);
    int rc = run(out, "e2fsck -fy %s", copy);
    char *report = slurp(out, NULL);
    if (rc > 1 || !report || real_repairs(report) != 0)
        fail_msg("e2fsck -fy (journal replay) exit %d:\n%s", rc, report ? report : "");
    free(report);
    rc = run(out, "e2fsck -fn %s", copy);
    report = slurp(out, NULL);
    if (rc != 0)
        fail_msg("e2fsck -fn after replay exit %d:\n%s", rc, report ? report : "");
    free(report);
    unlink(out);
}

/*
 * debugfs reads `name` from the (replayed) image: it must be `seq from to`,
 * or with `prefix_ok` any prefix of it (a file not yet fsynced: ordered
 * data mode never exposes blocks that were not written).
 */
static void check_file(const char *img, const char *name, unsigned from, unsigned to, bool prefix_ok)
{
    char out[] = "/tmp/petrel-bi-cat-XXXXXX";
    close(mkstemp(out));
    assert_int_equal(run(out, "debugfs -R 'cat /%s' %s 2>/dev/null", name, img), 0);
    size_t got_len = 0, want_len = 0;
    char *got = slurp(out, &got_len), *want = seq_text(from, to, &want_len);
    assert_non_null(got);
    bool ok = prefix_ok ? got_len <= want_len : got_len == want_len;
    if (!ok || memcmp(got, want, got_len < want_len ? got_len : want_len) != 0)
        fail_msg("/%s: %zu bytes read back, %s%zu expected (seq %u %u); starts '%.40s'", name, got_len,
                 prefix_ok ? "a prefix of " : "", want_len, from, to, got);
    free(got);
    free(want);
    unlink(out);
}

/* Every fN in the root directory not in `synced`: a prefix of its content. */
static unsigned check_unsynced_files(const char *img, const bool *synced, unsigned max)
{
    char out[] = "/tmp/petrel-bi-ls-XXXXXX";
    close(mkstemp(out));
    assert_int_equal(run(out, "debugfs -R 'ls -p /' %s 2>/dev/null", img), 0);
    char *list = slurp(out, NULL);
    assert_non_null(list);
    unsigned seen = 0;
    for (const char *p = list; (p = strstr(p, "/f")) != NULL; p++) {
        char *end;
        unsigned long n = strtoul(p + 2, &end, 10);
        if (end == p + 2 || *end != '/' || (n < max && synced[n]))
            continue;                     /* "ls -p" lines: /inode/mode/uid/gid/name/size/ */
        char name[32];
        snprintf(name, sizeof(name), "f%lu", n);
        check_file(img, name, (unsigned)n, (unsigned)n + 999, true);
        seen++;
    }
    free(list);
    unlink(out);
    return seen;
}

static void test_synced_file_survives_poweroff(void **s)
{
    (void)s;
    skip_without_guest();
    char img[] = "/tmp/petrel-bi-img-XXXXXX", log[] = "/tmp/petrel-bi-log-XXXXXX", copy[128];
    close(mkstemp(img));
    close(mkstemp(log));
    make_image(img);
    pid_t pid = start_petrel(img, log, "blk-sync");
    int status = -1;
    bool synced = wait_for_text(pid, log, "petrel-blk: synced file", &status);
    if (!synced)
        kill(pid, SIGKILL);
    for (int t = 0; t < 600 && waitpid(pid, &status, WNOHANG) == 0; t++)
        usleep(100000);
    if (waitpid(pid, &status, WNOHANG) == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        fail_with_log("petrel did not exit after poweroff -f", log);
    }
    if (!synced)
        fail_with_log("the guest did not report the synced file", log);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    check_fs_after_replay(img, copy, sizeof(copy));
    check_file(copy, "file", 1, 100000, false);
    unlink(copy);
    unlink(img);
    unlink(log);
}

static void test_fsynced_files_survive_kill(void **s)
{
    (void)s;
    skip_without_guest();
    char img[] = "/tmp/petrel-bi-img-XXXXXX", log[] = "/tmp/petrel-bi-log-XXXXXX", copy[128], last[64];
    close(mkstemp(img));
    close(mkstemp(log));
    make_image(img);
    pid_t pid = start_petrel(img, log, "blk-crash");
    int status = -1;
    snprintf(last, sizeof(last), "petrel-blk: synced f%d", 3 * CRASH_SYNCED);
    bool seen = wait_for_text(pid, log, last, &status);
    usleep(300000);                       /* into the next files' unsynced writes */
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    if (!seen)
        fail_with_log("the guest did not get far enough", log);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    check_fs_after_replay(img, copy, sizeof(copy));
    char *out = slurp(log, NULL);
    assert_non_null(out);
    unsigned checked = 0;
    bool synced[4096] = { false };
    for (const char *p = out; (p = strstr(p, "petrel-blk: synced f")) != NULL; p++) {
        char *end;
        unsigned long n = strtoul(p + 20, &end, 10);
        if (*end != '\r' && *end != '\n')
            continue;                     /* a line cut by the kill is not an acknowledgement */
        char name[32];
        snprintf(name, sizeof(name), "f%lu", n);
        check_file(copy, name, (unsigned)n, (unsigned)n + 999, false);
        if (n < 4096)
            synced[n] = true;
        checked++;
    }
    free(out);
    assert_true(checked >= CRASH_SYNCED);
    unsigned unsynced = check_unsynced_files(copy, synced, 4096);
    fprintf(stderr, "%u fsynced files intact, %u other files hold a prefix of their content\n", checked, unsynced);
    unlink(copy);
    unlink(img);
    unlink(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_synced_file_survives_poweroff),
        cmocka_unit_test(test_fsynced_files_survive_kill),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
