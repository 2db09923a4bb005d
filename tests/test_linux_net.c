/*
 * Linux on virtio-net over a tap (label "linux"): the test moves itself
 * into a network namespace of its own (unshare(CLONE_NEWNET): nothing
 * touches the host's network, and the namespace goes with the process
 * even when it is killed), creates the tap "pnet0" at 10.0.2.1/24 there
 * and runs Petrel with `--net tap:pnet0` and /init's `petrel.test=net`:
 * the guest takes 10.0.2.15/24 with busybox ip, the host pings it, sends
 * it PETREL_NET_MIB MiB (default 100: about 30 s in all under the
 * interpreter) of pseudo-random bytes on TCP 5001,
 * reads them back from 5002 and the guest's md5sum of what it received
 * from 5003.  The host's md5sum (coreutils) of what it sent, of what came
 * back, and the guest's must all match.  Throughput both ways is printed
 * (bench/linux_net.sh measures it properly).
 *
 * Skips with the reason without CAP_NET_ADMIN / CAP_SYS_ADMIN or
 * /dev/net/tun, and without kernel and initramfs (see test_linux_virtio.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "linux_guest.h"

#define TAP        "pnet0"
#define HOST_IP    "10.0.2.1"
#define GUEST_IP   "10.0.2.15"
#define BUDGET_S   600

static bool if_up(int s, const char *name)
{
    struct ifreq ifr = { 0 };
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
        return false;
    ifr.ifr_flags |= IFF_UP;
    return ioctl(s, SIOCSIFFLAGS, &ifr) == 0;
}

static bool if_set_addr(int s, const char *name, unsigned long req, const char *ip)
{
    struct ifreq ifr = { 0 };
    struct sockaddr_in a = { .sin_family = AF_INET };
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    inet_pton(AF_INET, ip, &a.sin_addr);
    memcpy(&ifr.ifr_addr, &a, sizeof(a));
    return ioctl(s, req, &ifr) == 0;
}

/* In a fresh network namespace: lo up, persistent tap TAP at HOST_IP/24, up.  NULL or why not. */
static const char *make_namespace_and_tap(void)
{
    static char why[256];
    if (unshare(CLONE_NEWNET) < 0) {
        snprintf(why, sizeof(why), "cannot create a network namespace: %s (needs CAP_SYS_ADMIN)", strerror(errno));
        return why;
    }
    int t = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (t < 0) {
        snprintf(why, sizeof(why), "cannot open /dev/net/tun: %s", strerror(errno));
        return why;
    }
    struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), TAP);
    bool ok = ioctl(t, TUNSETIFF, &ifr) == 0 && ioctl(t, TUNSETPERSIST, 1) == 0;
    close(t);
    if (!ok) {
        snprintf(why, sizeof(why), "cannot create tap %s: %s (needs CAP_NET_ADMIN)", TAP, strerror(errno));
        return why;
    }
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(s >= 0);
    assert_true(if_up(s, "lo"));
    assert_true(if_set_addr(s, TAP, SIOCSIFADDR, HOST_IP));
    assert_true(if_set_addr(s, TAP, SIOCSIFNETMASK, "255.255.255.0"));
    assert_true(if_up(s, TAP));
    close(s);
    return NULL;
}

static bool vm_exited(pid_t vm)
{
    siginfo_t si = { 0 };
    return waitid(P_PID, (id_t)vm, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid != 0;
}

/* Connects to the guest's port, retrying while it boots or prepares (at most BUDGET_S). */
static int connect_guest(int port, pid_t vm)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    inet_pton(AF_INET, GUEST_IP, &a.sin_addr);
    for (double end = now_s() + BUDGET_S; now_s() < end && !vm_exited(vm); usleep(200000)) {
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(s >= 0);
        struct timeval tv = { .tv_sec = 120 };    /* no transfer may stall this long */
        setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        if (connect(s, (struct sockaddr *)&a, sizeof(a)) == 0)
            return s;
        close(s);
    }
    return -1;
}

/* md5sum (coreutils) of a stream: the returned pipe is fed, md5_finish reads the sum. */
static FILE *md5_start(char *path, size_t size)
{
    snprintf(path, size, "/tmp/petrel-ln-md5-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "md5sum > %s", path);
    FILE *p = popen(cmd, "w");
    assert_non_null(p);
    return p;
}

static void md5_finish(FILE *p, const char *path, char sum[33])
{
    assert_int_equal(pclose(p), 0);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_int_equal(fscanf(f, "%32s", sum), 1);
    fclose(f);
    unlink(path);
}

/* Host -> guest: `bytes` pseudo-random bytes; their md5 into sum.  Returns MB/s. */
static double send_to_guest(int s, uint64_t bytes, char sum[33])
{
    char md5_path[64];
    FILE *md5 = md5_start(md5_path, sizeof(md5_path));
    static uint64_t buf[8192];
    uint64_t x = 0x9E3779B97F4A7C15u;
    double t0 = now_s();
    for (uint64_t done = 0; done < bytes;) {
        for (size_t i = 0; i < 8192; i++) {          /* xorshift64 */
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            buf[i] = x;
        }
        size_t n = bytes - done < sizeof(buf) ? (size_t)(bytes - done) : sizeof(buf);
        for (size_t off = 0; off < n;) {
            ssize_t w = send(s, (char *)buf + off, n - off, MSG_NOSIGNAL);
            if (w <= 0)
                fail_msg("sending to the guest failed after %llu bytes: %s", (unsigned long long)(done + off),
                         strerror(errno));
            off += (size_t)w;
        }
        assert_int_equal(fwrite(buf, 1, n, md5), n);
        done += n;
    }
    shutdown(s, SHUT_WR);
    char c;
    assert_int_equal(recv(s, &c, 1, 0), 0);           /* the guest has it all */
    double mbs = (double)bytes / (now_s() - t0) / 1e6;
    md5_finish(md5, md5_path, sum);
    return mbs;
}

/* Guest -> host until EOF: byte count and md5. */
static double receive_from_guest(int s, uint64_t *bytes, char sum[33])
{
    char md5_path[64];
    FILE *md5 = md5_start(md5_path, sizeof(md5_path));
    static char buf[1 << 16];
    double t0 = now_s();
    ssize_t n;
    *bytes = 0;
    while ((n = recv(s, buf, sizeof(buf), 0)) > 0) {
        assert_int_equal(fwrite(buf, 1, (size_t)n, md5), (size_t)n);
        *bytes += (uint64_t)n;
    }
    if (n < 0)
        fail_msg("receiving from the guest failed after %llu bytes: %s", (unsigned long long)*bytes, strerror(errno));
    double mbs = (double)*bytes / (now_s() - t0) / 1e6;
    md5_finish(md5, md5_path, sum);
    return mbs;
}

static pid_t start_vm(const char *kernel, const char *initrd, const char *log)
{
    char console[128];
    snprintf(console, sizeof(console), "file:%s", log);
    const char *e = getenv("PETREL_TEST_ENGINE");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        execl(PETREL_BIN, PETREL_BIN, "run", "--kernel", kernel, "--initrd", initrd, "--engine", e && *e ? e : "auto",
              "--memory", "512", "--console", console, "--net", "tap:" TAP,
              "--append", "console=ttyS0 panic=-1 reboot=k petrel.test=net", (char *)NULL);
        _exit(127);
    }
    return pid;
}

static void print_console_tail(const char *log)
{
    char out[4096] = { 0 };
    int fd = open(log, O_RDONLY);
    off_t end = fd >= 0 ? lseek(fd, 0, SEEK_END) : 0;
    ssize_t n = fd >= 0 ? pread(fd, out, sizeof(out) - 1, end > 4000 ? end - 4000 : 0) : -1;
    out[n > 0 ? n : 0] = 0;
    if (fd >= 0)
        close(fd);
    fprintf(stderr, "--- the guest's console (end) ---\n%s\n", out);
}

static void test_linux_tcp_both_ways(void **st)
{
    (void)st;
    char kernel[1024], initrd[1024];
    if (!find_guest_files(kernel, initrd, sizeof(kernel))) {
        fprintf(stderr, "[  SKIP    ] no kernel/initramfs: `make linux-guest` or set PETREL_KERNEL and PETREL_INITRD\n");
        skip();
    }
    const char *why = make_namespace_and_tap();
    if (why) {
        fprintf(stderr, "[  SKIP    ] %s\n", why);
        skip();
    }
    const char *mib_env = getenv("PETREL_NET_MIB");
    int mib = mib_env && atoi(mib_env) > 0 ? atoi(mib_env) : 100;
    uint64_t bytes = (uint64_t)mib << 20;
    char log[] = "/tmp/petrel-ln-log-XXXXXX";
    int lfd = mkstemp(log);
    assert_true(lfd >= 0);
    close(lfd);
    double t0 = now_s();
    pid_t vm = start_vm(kernel, initrd, log);

    int s = connect_guest(5001, vm);
    if (s < 0)
        print_console_tail(log);
    assert_true(s >= 0);
    fprintf(stderr, "guest up and listening after %.1f s\n", now_s() - t0);
    assert_int_equal(system("busybox ping -c 3 -W 5 " GUEST_IP " >&2"), 0);

    char sent[33], back[33], guest[33] = { 0 };
    double rx = send_to_guest(s, bytes, sent);
    close(s);
    s = connect_guest(5002, vm);
    assert_true(s >= 0);
    uint64_t got = 0;
    double tx = receive_from_guest(s, &got, back);
    close(s);
    s = connect_guest(5003, vm);
    assert_true(s >= 0);
    assert_true(recv(s, guest, 32, MSG_WAITALL) == 32);
    close(s);
    fprintf(stderr, "%llu MiB: host->guest %.1f MB/s, guest->host %.1f MB/s; md5 sent %s, guest %s, back %s; "
            "%.1f s in all\n", (unsigned long long)(bytes >> 20), rx, tx, sent, guest, back, now_s() - t0);

    int status = -1;
    for (int t = 0; t < 600 && waitpid(vm, &status, WNOHANG) == 0; t++)
        usleep(100000);
    if (waitpid(vm, &status, WNOHANG) == 0) {
        kill(vm, SIGKILL);
        waitpid(vm, &status, 0);
        print_console_tail(log);
        fail_msg("the guest did not power off");
    }
    assert_int_equal(got, bytes);
    assert_string_equal(guest, sent);
    assert_string_equal(back, sent);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    unlink(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linux_tcp_both_ways),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
