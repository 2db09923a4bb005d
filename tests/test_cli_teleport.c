/*
 * Teleport between two petrel processes on 127.0.0.1 (and between two
 * network namespaces joined by a veth pair, when the test may create them): `petrel run
 * --teleport-listen` receives the counter guest from `petrel ctl PATH
 * teleport`, and its ticks continue with no gap or repeat; the source
 * exits 0.  A wrong password, a target for another machine (fingerprint),
 * a port that is not a Petrel target and a target that dies in the middle
 * of the transfer all leave the source running, with a clear error.  A
 * waiting target stops on SIGTERM (and frees its port), also when its source
 * stalls in the middle of the transfer; a source that dies in the middle
 * leaves the target with a clear error and exit status 2.
 *
 * Robust on a loaded machine: targets listen on port 0 and the test reads
 * the port they got from their "waiting for a teleport on" line (no fixed
 * sleep, no port collisions); waits are generous upper bounds; a target
 * stopped by the test may be stopped in the middle of a line, which is
 * dropped before the ticks are checked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "tick_files.h"
#include <sodium.h>

static char dir[64];

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list va;
    va_start(va, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, va);
    va_end(va);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* dir/name as a string ("" when it does not exist). */
static char *slurp_file(const char *name)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return slurp(path);
}

static unsigned file_lines(const char *name)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return lines(path);
}

static void wait_file_lines(const char *name, unsigned n)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    wait_lines(path, n);
}

/* Waits (up to WAIT_S) for a line in dir/name that contains what; the text after it, or NULL. */
#define WAIT_S 120
static char *wait_for_text(const char *name, const char *what)
{
    for (int i = 0; i < WAIT_S * 100; i++) {
        char *text = slurp_file(name), *at = strstr(text, what);
        if (at && strchr(at, '\n')) {
            char *rest = strdup(at + strlen(what));
            free(text);
            return rest;
        }
        free(text);
        usleep(10000);
    }
    return NULL;
}

#define RUN "%s run --engine interp --image %s/state_counter.bin"

/* Starts the source VM (4 MiB) with its control socket; output in src.out, exit status in src.rc. */
/* Network namespaces of the two "hosts" ("" = this one), and the target's address. */
static char src_ns[64] = "", dst_ns[64] = "", dst_ip[32] = "127.0.0.1";

static void end_source(void);

static void start_source(void)
{
    end_source();                      /* one a failed test left behind would hold the socket */
    sh("rm -f %s/src.out %s/src.rc %s/src.pid", dir, dir, dir);
    assert_int_equal(sh("(%s" RUN " --memory 4 --control %s/sock > %s/src.out 2> %s/src.err & echo $! > %s/src.pid; "
                        "wait $!; echo $? > %s/src.rc) &", src_ns, PETREL_BIN, PETREL_GUEST_DIR, dir, dir, dir, dir, dir),
                     0);
    wait_file_lines("src.out", 2);
}

/* Starts a target on a free port of dst_ip and returns that port once it listens.
 * (The timeout is a safety net only: the tests stop every target they start.) */
static int start_target(unsigned mib)
{
    sh("rm -f %s/dst.out %s/dst.err %s/dst.rc", dir, dir, dir);
    assert_int_equal(sh("(%s timeout 600 " RUN " --memory %u --teleport-listen %s:0 --teleport-password-file "
                        "%s/pw > %s/dst.out 2> %s/dst.err & echo $! > %s/dst.pid; wait $!; echo $? > %s/dst.rc) &",
                        dst_ns, PETREL_BIN, PETREL_GUEST_DIR, mib, dst_ip, dir, dir, dir, dir, dir), 0);
    char *where = wait_for_text("dst.err", "waiting for a teleport on ");
    assert_non_null(where);
    char *colon = strrchr(strtok(where, "\n"), ':');
    assert_non_null(colon);
    int port = atoi(colon + 1);
    free(where);
    assert_true(port > 0);
    for (int i = 0; i < 1000 && file_lines("dst.pid") < 1; i++)
        usleep(10000);
    return port;
}

static int teleport(int port, const char *pwfile)
{
    return sh("%s ctl %s/sock teleport %s:%d --password-file %s/%s > %s/ctl.out 2>&1", PETREL_BIN, dir, dst_ip, port,
              dir, pwfile, dir);
}

static void assert_source_runs(void)
{
    assert_int_equal(sh("%s ctl %s/sock status | grep -q 'state *RUNNING'", PETREL_BIN, dir), 0);
    unsigned n = file_lines("src.out");
    wait_file_lines("src.out", n + 1);
}

static void wait_rc(const char *name)
{
    for (int i = 0; i < WAIT_S * 100 && file_lines(name) < 1; i++)
        usleep(10000);
}

static void stop_source(void)
{
    sh("%s ctl %s/sock poweroff > /dev/null 2>&1", PETREL_BIN, dir);
    wait_rc("src.rc");
}

/* Whatever source is still running goes: powered off, or killed if it does not answer. */
static void end_source(void)
{
    if (file_lines("src.pid") < 1 || file_lines("src.rc") >= 1)
        return;
    sh("timeout 30 %s ctl %s/sock poweroff > /dev/null 2>&1", PETREL_BIN, dir);
    for (int i = 0; i < 500 && file_lines("src.rc") < 1; i++)
        usleep(10000);
    if (file_lines("src.rc") < 1 && sh("kill $(cat %s/src.pid) 2> /dev/null", dir) == 0)
        wait_rc("src.rc");
}

/* The source's ticks followed by the target's: one unbroken count.  The
 * target was stopped by the test, maybe in the middle of a line. */
static void assert_ticks_continue(unsigned min)
{
    char *a = slurp_file("src.out"), *b = slurp_file("dst.out");
    char *all = malloc(strlen(a) + strlen(b) + 1);
    assert_non_null(all);
    strcpy(all, a);
    strcat(all, b);
    drop_partial_line(all);
    assert_ticks(all, min);
    free(all);
    free(a);
    free(b);
}

static void test_teleport_continues_ticks(void **state)
{
    (void)state;
    start_source();
    int port = start_target(4);
    assert_int_equal(teleport(port, "bad"), 1);   /* refused; the target waits for another source */
    char *out = slurp_file("ctl.out");
    assert_non_null(strstr(out, "refused the password"));
    free(out);
    assert_source_runs();
    assert_int_equal(teleport(port, "pw"), 0);
    out = slurp_file("ctl.out");
    assert_non_null(strstr(out, "downtime_ms"));   /* the measured pause is reported */
    assert_non_null(strstr(out, "total_ms"));
    free(out);
    wait_rc("src.rc");
    char *rc = slurp_file("src.rc");
    assert_string_equal(rc, "0\n");    /* the source powered off after the hand-over */
    free(rc);
    wait_file_lines("dst.out", 3);
    sh("kill $(cat %s/dst.pid)", dir);   /* the target's timeout process, by its id (it passes SIGTERM on) */
    wait_rc("dst.rc");
    assert_ticks_continue(5);
    char *err = slurp_file("dst.err");
    assert_non_null(strstr(err, "did not know the password"));   /* logged on the target too */
    free(err);
}

static void test_fingerprint_mismatch_keeps_source(void **state)
{
    (void)state;
    start_source();
    int port = start_target(8);
    assert_int_equal(teleport(port, "pw"), 1);
    char *out = slurp_file("ctl.out");
    assert_non_null(strstr(out, "keeps running"));
    free(out);
    assert_source_runs();
    wait_rc("dst.rc");
    char *rc = slurp_file("dst.rc");
    assert_string_equal(rc, "2\n");    /* the target refused the state */
    free(rc);
    char *err = slurp_file("dst.err");
    assert_non_null(strstr(err, "VERR_SSM_LOAD_MEMORY_SIZE_MISMATCH"));
    free(err);
    stop_source();
}

/* A fake target: authenticates with the right password, reads `keep`
 * bytes of the state, then drops the connection (a target that dies); or,
 * with `hold`, reads the whole state and never gives its verdict. */
struct fake_target {
    int lfd;
    size_t keep;
    bool hold;
    atomic_bool have_all;              /* hold: the state's end marker arrived */
};

/* Reads until EOF, flagging the end marker ("PSSMEND!" + 24 bytes). */
static void fake_target_hold(struct fake_target *f, int fd)
{
    size_t size = 1 << 20, got = 0;
    char *all = malloc(size);
    assert_non_null(all);
    for (;;) {
        if (got == size)
            got = 0;                   /* bigger than any state here; keeps reading */
        ssize_t n = recv(fd, all + got, size - got, 0);
        if (n <= 0)
            break;
        got += (size_t)n;
        char *end = memmem(all, got, "PSSMEND!", 8);
        if (end && all + got - end >= 32)
            atomic_store(&f->have_all, true);
    }
    free(all);
}

static void *fake_target_main(void *arg)
{
    struct fake_target *f = arg;
    int fd = accept(f->lfd, NULL, NULL);
    if (fd < 0)
        return NULL;
    unsigned char t[32], s[32], m[32], buf[4096];
    randombytes_buf(t, sizeof(t));
    if (write(fd, "PETREL-TELEPORT 1\n", 18) == 18 && write(fd, t, 32) == 32 && (f->keep || f->hold)) {
        recv(fd, s, 32, MSG_WAITALL);
        recv(fd, m, 32, MSG_WAITALL);
        crypto_auth_hmacsha256_state st;
        crypto_auth_hmacsha256_init(&st, (const unsigned char *)"s3cret", 6);
        crypto_auth_hmacsha256_update(&st, (const unsigned char *)"target", 7);
        crypto_auth_hmacsha256_update(&st, s, 32);
        crypto_auth_hmacsha256_update(&st, t, 32);
        crypto_auth_hmacsha256_final(&st, m);
        if (write(fd, "OK", 2) == 2 && write(fd, m, 32) == 32 && f->hold)
            fake_target_hold(f, fd);
        else
            for (size_t got = 0; got < f->keep;) {
                ssize_t n = recv(fd, buf, sizeof(buf), 0);
                if (n <= 0)
                    break;
                got += (size_t)n;
            }
    }
    close(fd);
    return NULL;
}

/* Starts f's thread on a free loopback port; returns the port. */
static int fake_target_start(struct fake_target *f, pthread_t *th)
{
    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(sa);
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);   /* any free port */
    assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&sa, &len), 0);
    assert_int_equal(listen(f->lfd, 1), 0);
    assert_int_equal(pthread_create(th, NULL, fake_target_main, f), 0);
    return ntohs(sa.sin_port);
}

static void fake_target_case(size_t keep, const char *expect)
{
    struct fake_target f = { .keep = keep };
    pthread_t th;
    int port = fake_target_start(&f, &th);
    assert_int_equal(teleport(port, "pw"), 1);
    pthread_join(th, NULL);
    close(f.lfd);
    char *out = slurp_file("ctl.out");
    if (!strstr(out, expect))
        fprintf(stderr, "ctl said: %s\n", out);
    assert_non_null(strstr(out, expect));
    free(out);
    assert_source_runs();
}

static void test_broken_targets_keep_source(void **state)
{
    (void)state;
    assert_true(sodium_init() >= 0);
    start_source();
    fake_target_case(0, "(VERR_");                      /* closes after its challenge */
    fake_target_case(3000, "keeps running");            /* dies during the transfer */
    assert_int_equal(sh("%s ctl %s/sock teleport 127.0.0.1:1 --password-file %s/pw > %s/ctl.out 2>&1", PETREL_BIN,
                        dir, dir, dir), 1);                            /* nobody listens */
    assert_source_runs();
    stop_source();
}

/*
 * SIGTERM to a source whose target has the whole state but never gives its
 * verdict: the source gives the teleport up at once and exits 143 (it used
 * to wait two minutes for the verdict, then could neither power off nor
 * destroy its VM: "VMR3PowerOff failed ... SAVING").
 */
static void test_source_stops_while_target_stalls(void **state)
{
    (void)state;
    assert_true(sodium_init() >= 0);
    start_source();
    struct fake_target f = { .hold = true };
    pthread_t th;
    int port = fake_target_start(&f, &th);
    sh("rm -f %s/ctl.rc", dir);
    assert_int_equal(sh("(%s ctl %s/sock teleport 127.0.0.1:%d --password-file %s/pw > %s/ctl.out 2>&1; "
                        "echo $? > %s/ctl.rc) &", PETREL_BIN, dir, port, dir, dir, dir), 0);
    for (int i = 0; i < WAIT_S * 100 && !atomic_load(&f.have_all); i++)
        usleep(10000);
    assert_true(atomic_load(&f.have_all));   /* the source now waits for the verdict, its guest stopped */
    sh("kill -TERM $(cat %s/src.pid)", dir);
    wait_rc("src.rc");
    char *rc = slurp_file("src.rc");
    assert_string_equal(rc, "143\n");
    free(rc);
    wait_rc("ctl.rc");
    char *out = slurp_file("ctl.out");
    if (!strstr(out, "stopped before the target confirmed the hand-over"))
        fprintf(stderr, "ctl said: %s\n", out);
    assert_non_null(strstr(out, "stopped before the target confirmed the hand-over"));
    free(out);
    char *err = slurp_file("src.err");
    assert_null(strstr(err, "VMR3PowerOff failed"));
    assert_null(strstr(err, "VMR3Destroy failed"));
    free(err);
    pthread_join(th, NULL);            /* the fake saw the source hang up */
    close(f.lfd);
}

/*
 * A target whose accept queue is full drops the source's SYNs: the
 * connection never completes.  SIGTERM to the source stops the attempt at
 * once (it used to sit in connect() through the kernel's two minutes of SYN
 * retries, the control socket and the exit waiting behind it).
 */
static void test_source_stops_while_connecting(void **state)
{
    (void)state;
    if (sh("command -v ss > /dev/null") != 0) {
        printf("SKIP: needs ss (iproute2) to see the source's connection attempt\n");
        return;
    }
    start_source();
    int lfd = socket(AF_INET, SOCK_STREAM, 0), filler = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(sa);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &len), 0);
    assert_int_equal(listen(lfd, 0), 0);
    assert_int_equal(connect(filler, (struct sockaddr *)&sa, sizeof(sa)), 0);   /* fills the queue; never accepted */
    int port = ntohs(sa.sin_port);
    sh("rm -f %s/ctl.rc", dir);
    assert_int_equal(sh("(%s ctl %s/sock teleport 127.0.0.1:%d --password-file %s/pw > %s/ctl.out 2>&1; "
                        "echo $? > %s/ctl.rc) &", PETREL_BIN, dir, port, dir, dir, dir), 0);
    int connecting = 1;
    for (int i = 0; i < WAIT_S * 10 && connecting; i++) {     /* until its SYN is out */
        connecting = sh("ss -Htn state syn-sent '( dport = :%d )' | grep -q .", port);
        if (connecting)
            usleep(100000);
    }
    assert_int_equal(connecting, 0);
    sh("kill -TERM $(cat %s/src.pid)", dir);
    wait_rc("src.rc");
    char *rc = slurp_file("src.rc");
    assert_string_equal(rc, "143\n");
    free(rc);
    wait_rc("ctl.rc");
    char *out = slurp_file("ctl.out");
    if (!strstr(out, "stopped while connecting"))
        fprintf(stderr, "ctl said: %s\n", out);
    assert_non_null(strstr(out, "stopped while connecting"));
    free(out);
    close(filler);
    close(lfd);
}

/* The target's exit status once it stopped, and that it freed its port. */
static void assert_target_stopped(int port, const char *status, const char *message)
{
    wait_rc("dst.rc");
    char *rc = slurp_file("dst.rc");
    assert_string_equal(rc, status);
    free(rc);
    char *err = slurp_file("dst.err");
    if (!strstr(err, message))
        fprintf(stderr, "target said: %s\n", err);
    assert_non_null(strstr(err, message));
    free(err);
    /* Nobody listens on the port any more (SO_REUSEADDR: a closed connection's TIME_WAIT may stay). */
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 1), 0);
    close(fd);
}

/* A waiting target stops on SIGTERM, says so, exits 128+15. */
static void test_waiting_target_stops_on_sigterm(void **state)
{
    (void)state;
    int port = start_target(4);
    sh("kill -TERM $(cat %s/dst.pid)", dir);   /* timeout passes it on to petrel */
    assert_target_stopped(port, "143\n", "stopped by signal 15");
}

/* A fake source: connects and authenticates with the password "s3cret"; the socket, or -1. */
static int fake_source_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    unsigned char banner[18], t[32], s[32], m[32], reply[34];
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        recv(fd, banner, sizeof(banner), MSG_WAITALL) != (ssize_t)sizeof(banner) ||
        recv(fd, t, sizeof(t), MSG_WAITALL) != (ssize_t)sizeof(t)) {
        close(fd);
        return -1;
    }
    randombytes_buf(s, sizeof(s));
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)"s3cret", 6);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)"source", 7);
    crypto_auth_hmacsha256_update(&st, t, 32);
    crypto_auth_hmacsha256_update(&st, s, 32);
    crypto_auth_hmacsha256_final(&st, m);
    if (write(fd, s, 32) != 32 || write(fd, m, 32) != 32 ||
        recv(fd, reply, sizeof(reply), MSG_WAITALL) != (ssize_t)sizeof(reply) || memcmp(reply, "OK", 2) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* A source that sends the first half of a real state and then dies: the
 * target says the stream broke off and exits 2; one that stalls instead
 * leaves the target waiting until SIGTERM stops it (exit 143). */
static void test_broken_sources(void **state)
{
    (void)state;
    assert_true(sodium_init() >= 0);
    start_source();
    assert_int_equal(sh("%s ctl %s/sock save %s/half.sav --continue > /dev/null", PETREL_BIN, dir, dir), 0);
    stop_source();
    char path[128];
    snprintf(path, sizeof(path), "%s/half.sav", dir);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    assert_true(n > 1024);

    int port = start_target(4);
    int fd = fake_source_connect(port);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, buf, n / 2), (ssize_t)(n / 2));
    close(fd);                         /* the source dies in the middle */
    assert_target_stopped(port, "2\n", "the source closed the connection before the whole VM arrived");
    char *out = slurp_file("dst.out");
    assert_string_equal(out, "");      /* no guest ran */
    free(out);

    port = start_target(4);
    fd = fake_source_connect(port);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, buf, n / 2), (ssize_t)(n / 2));
    sh("kill -TERM $(cat %s/dst.pid)", dir);   /* the source stalls; the user gives up */
    assert_target_stopped(port, "143\n", "stopped by signal 15");
    char verdict = 0;
    assert_int_equal(recv(fd, &verdict, 1, 0), 1);
    assert_int_equal(verdict, 'F');    /* the target told the source it has no VM */
    close(fd);
}

/* Two "hosts": network namespaces joined by a veth pair (needs root and
 * `ip`; skipped with a reason otherwise). */
static void test_teleport_between_namespaces(void **state)
{
    (void)state;
    int id = (int)(getpid() % 200) + 20;
    char a[32], b[32];
    snprintf(a, sizeof(a), "petrel-src-%d", (int)getpid());
    snprintf(b, sizeof(b), "petrel-dst-%d", (int)getpid());
    if (sh("ip netns add %s 2>/dev/null && ip netns add %s 2>/dev/null", a, b) != 0) {
        sh("ip netns del %s 2>/dev/null", a);
        printf("SKIP: cannot create network namespaces (needs root and ip)\n");
        return;
    }
    int rc = sh("ip link add pva%d netns %s type veth peer name pvb%d netns %s && "
                "ip -n %s addr add 10.231.%d.1/24 dev pva%d && ip -n %s addr add 10.231.%d.2/24 dev pvb%d && "
                "ip -n %s link set pva%d up && ip -n %s link set pvb%d up && "
                "ip -n %s link set lo up && ip -n %s link set lo up",
                id, a, id, b, a, id, id, b, id, id, a, id, b, id, a, b);
    if (rc == 0) {
        snprintf(src_ns, sizeof(src_ns), "ip netns exec %s ", a);
        snprintf(dst_ns, sizeof(dst_ns), "ip netns exec %s ", b);
        snprintf(dst_ip, sizeof(dst_ip), "10.231.%d.2", id);
        start_source();
        rc = teleport(start_target(4), "pw");
        wait_rc("src.rc");
        wait_file_lines("dst.out", 3);
        sh("kill $(cat %s/dst.pid)", dir);
        wait_rc("dst.rc");
        if (rc == 0)
            assert_ticks_continue(5);
    }
    src_ns[0] = dst_ns[0] = '\0';
    strcpy(dst_ip, "127.0.0.1");
    sh("ip netns del %s; ip netns del %s", a, b);
    assert_int_equal(rc, 0);
}

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/petrel-teleport-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    sh("echo s3cret > %s/pw; echo wrong > %s/bad", dir, dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    end_source();
    if (sh("kill $(cat %s/dst.pid) 2> /dev/null", dir) == 0)   /* a target a failed test left behind */
        wait_rc("dst.rc");
    sh("rm -rf %s", dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_teleport_continues_ticks),
        cmocka_unit_test(test_fingerprint_mismatch_keeps_source),
        cmocka_unit_test(test_broken_targets_keep_source),
        cmocka_unit_test(test_waiting_target_stops_on_sigterm),
        cmocka_unit_test(test_source_stops_while_target_stalls),
        cmocka_unit_test(test_source_stops_while_connecting),
        cmocka_unit_test(test_broken_sources),
        cmocka_unit_test(test_teleport_between_namespaces),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
