/*
 * Teleport over TCP (see teleport_net.h, docs/teleport.md).
 *
 *   target -> source  "PETREL-TELEPORT 1\n", challenge T (32 bytes)
 *   source -> target  challenge S (32), HMAC(pw, "source" T S)
 *   target -> source  "OK" HMAC(pw, "target" S T)   or "NO" and close
 *   source -> target  the saved-state stream (self-delimiting)
 *   target -> source  "A" once the state is loaded, "F" if it was not
 *
 * Both sides prove they know the password, so neither sends anything to an
 * impostor; the source powers off only after "A".
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE                    /* accept4 */
#endif
#include "teleport_net.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <vmm/err.h>

#define BANNER       "PETREL-TELEPORT 1\n"
#define BANNER_LEN   (sizeof(BANNER) - 1)
#define NONCE_LEN    32u
#define IO_TIMEOUT_MS 30000
#define ACK_TIMEOUT_MS 120000          /* the target loads everything before it answers */

int teleport_read_password(const char *path, char *pw, size_t size, char *err, size_t err_size)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, err_size, "cannot read the password file '%s': %s", path, strerror(errno));
        return VERR_FILE_NOT_FOUND;
    }
    bool ok = fgets(pw, (int)size, f) != NULL;
    fclose(f);
    pw[ok ? strcspn(pw, "\r\n") : 0] = '\0';
    if (!pw[0]) {
        snprintf(err, err_size, "the password file '%s' is empty", path);
        return VERR_INVALID_PARAMETER;
    }
    return VINF_SUCCESS;
}

static int fail(struct teleport_conn *c, int rc, const char *fmt, const char *detail)
{
    snprintf(c->error, sizeof(c->error), fmt, detail);
    return rc;
}

/* True once cancel_fd (-1: none) is readable: the caller asked us to stop. */
static bool cancel_requested(int cancel_fd)
{
    struct pollfd p = { .fd = cancel_fd, .events = POLLIN };
    return cancel_fd >= 0 && poll(&p, 1, 0) > 0;
}

/* Waits up to ms for ev on fd; false on timeout or when cancel_fd (-1: none) becomes readable. */
static bool io_wait(int fd, short ev, int ms, int cancel_fd)
{
    struct pollfd p[2] = { { .fd = fd, .events = ev }, { .fd = cancel_fd, .events = POLLIN } };
    int r;
    do
        r = poll(p, cancel_fd >= 0 ? 2 : 1, ms);
    while (r < 0 && errno == EINTR);
    return r > 0 && !p[1].revents && p[0].revents;
}

static bool send_all(int fd, const void *buf, size_t len, int cancel_fd)
{
    const char *p = buf;
    while (len) {
        if (!io_wait(fd, POLLOUT, IO_TIMEOUT_MS, cancel_fd))
            return false;
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

/* Exactly len bytes within ms; false on EOF, error, timeout or cancel. */
static bool recv_all(int fd, void *buf, size_t len, int ms, int cancel_fd)
{
    char *p = buf;
    while (len) {
        if (!io_wait(fd, POLLIN, ms, cancel_fd))
            return false;
        ssize_t n = recv(fd, p, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

static void mac(unsigned char out[crypto_auth_hmacsha256_BYTES], const char *password, const char *role,
                const unsigned char *a, const unsigned char *b)
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)password, strlen(password));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)role, strlen(role) + 1);
    crypto_auth_hmacsha256_update(&st, a, NONCE_LEN);
    crypto_auth_hmacsha256_update(&st, b, NONCE_LEN);
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof(st));
}

/* host:port or [v6]:port into getaddrinfo's parts. */
static bool split_host_port(const char *s, char *host, size_t hsize, char *port, size_t psize)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || !colon[1] || strlen(colon + 1) >= psize)
        return false;
    const char *h = s;
    size_t hl = (size_t)(colon - s);
    if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    if (hl == 0 || hl >= hsize)
        return false;
    memcpy(host, h, hl);
    host[hl] = '\0';
    strcpy(port, colon + 1);
    return true;
}

static int resolve(struct teleport_conn *c, const char *host_port, bool passive, struct addrinfo **res)
{
    char host[256], port[16];
    if (!split_host_port(host_port, host, sizeof(host), port, sizeof(port)))
        return fail(c, VERR_INVALID_PARAMETER, "'%s' is not HOST:PORT", host_port);
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = passive ? AI_PASSIVE : 0 };
    if (getaddrinfo(host, port, &hints, res) != 0 || !*res)
        return fail(c, VERR_NET_HOST_UNREACHABLE, "cannot resolve '%s'", host_port);
    return VINF_SUCCESS;
}

/* connect() that gives up after IO_TIMEOUT_MS or when cancel_fd becomes
 * readable (a target that never answers must not hold the source for the
 * kernel's two-minute SYN retries); the socket stays blocking. */
static bool connect_within(int fd, const struct sockaddr *sa, socklen_t len, int cancel_fd, bool *timed_out)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
        return false;
    bool ok = connect(fd, sa, len) == 0;
    if (!ok && errno == EINPROGRESS) {
        int err = 0;
        socklen_t err_len = sizeof(err);
        bool ready = io_wait(fd, POLLOUT, IO_TIMEOUT_MS, cancel_fd);
        *timed_out = !ready && !cancel_requested(cancel_fd);
        ok = ready && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &err_len) == 0 && err == 0;
    }
    return fcntl(fd, F_SETFL, flags) == 0 && ok;
}

int teleport_connect(struct teleport_conn *c, const char *host_port, const char *password, int cancel_fd)
{
    memset(c, 0, sizeof(*c));
    c->fd = -1;
    c->cancel_fd = cancel_fd;
    if (sodium_init() < 0)
        return fail(c, VERR_INTERNAL_ERROR, "%s", "libsodium cannot initialise");
    struct addrinfo *ai = NULL;
    int rc = resolve(c, host_port, false, &ai);
    if (RT_FAILURE(rc))
        return rc;
    bool timed_out = false;
    for (struct addrinfo *a = ai; a && c->fd < 0 && !cancel_requested(cancel_fd); a = a->ai_next) {
        c->fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (c->fd >= 0 && !connect_within(c->fd, a->ai_addr, a->ai_addrlen, cancel_fd, &timed_out)) {
            close(c->fd);
            c->fd = -1;
        }
    }
    freeaddrinfo(ai);
    if (c->fd < 0 && cancel_requested(cancel_fd))
        return fail(c, VERR_CANCELLED, "stopped while connecting to %s", host_port);
    if (c->fd < 0)
        return fail(c, timed_out ? VERR_TIMEOUT : VERR_NET_CONNECTION_REFUSED,
                    timed_out ? "cannot connect to %s (no answer within 30 s)" : "cannot connect to %s", host_port);
    return teleport_source_handshake(c, host_port, password);
}

int teleport_source_handshake(struct teleport_conn *c, const char *host_port, const char *password)
{
    char banner[BANNER_LEN];
    unsigned char t[NONCE_LEN], s[NONCE_LEN], m[crypto_auth_hmacsha256_BYTES], reply[2 + crypto_auth_hmacsha256_BYTES];
    if (!recv_all(c->fd, banner, BANNER_LEN, IO_TIMEOUT_MS, c->cancel_fd) || memcmp(banner, BANNER, BANNER_LEN) != 0 ||
        !recv_all(c->fd, t, NONCE_LEN, IO_TIMEOUT_MS, c->cancel_fd))
        return fail(c, VERR_NET_PROTOCOL_ERROR, "%s is not a Petrel teleport target", host_port);
    randombytes_buf(s, sizeof(s));
    mac(m, password, "source", t, s);
    if (!send_all(c->fd, s, sizeof(s), c->cancel_fd) || !send_all(c->fd, m, sizeof(m), c->cancel_fd))
        return fail(c, VERR_NET_CONNECTION_RESET_BY_PEER, "%s closed the connection", host_port);
    if (!recv_all(c->fd, reply, 2, IO_TIMEOUT_MS, c->cancel_fd) || memcmp(reply, "OK", 2) != 0)
        return fail(c, VERR_ACCESS_DENIED, "%s refused the password", host_port);
    mac(m, password, "target", s, t);
    if (!recv_all(c->fd, reply + 2, crypto_auth_hmacsha256_BYTES, IO_TIMEOUT_MS, c->cancel_fd) ||
        crypto_verify_32(reply + 2, m) != 0)
        return fail(c, VERR_ACCESS_DENIED, "%s does not know the password (not the expected target)",
                    host_port);
    return VINF_SUCCESS;
}

static int listen_on(struct teleport_conn *c, const char *addr_port)
{
    struct addrinfo *ai = NULL;
    int rc = resolve(c, addr_port, true, &ai);
    if (RT_FAILURE(rc))
        return rc;
    int fd = -1;
    for (struct addrinfo *a = ai; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        int one = 1;
        if (fd >= 0 && (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
                        bind(fd, a->ai_addr, a->ai_addrlen) != 0 || listen(fd, 1) != 0)) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(ai);
    if (fd < 0)
        return fail(c, VERR_NET_ADDRESS_IN_USE, "cannot listen on %s", addr_port);
    return fd;
}

#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION   /* the fuzzer skips the delay */
/* Sleeps ms, or less if cancel_fd becomes readable. */
static void pause_ms(int ms, int cancel_fd)
{
    struct pollfd p = { .fd = cancel_fd, .events = POLLIN };
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    if (cancel_fd >= 0)
        poll(&p, 1, ms);
    else
        nanosleep(&ts, NULL);
}
#endif

/* One source's handshake on fd; true if it knows the password. */
static bool target_handshake(int fd, const char *password, int cancel_fd)
{
    unsigned char t[NONCE_LEN], s[NONCE_LEN], m[crypto_auth_hmacsha256_BYTES], want[crypto_auth_hmacsha256_BYTES];
    randombytes_buf(t, sizeof(t));
    if (!send_all(fd, BANNER, BANNER_LEN, cancel_fd) || !send_all(fd, t, sizeof(t), cancel_fd) ||
        !recv_all(fd, s, sizeof(s), IO_TIMEOUT_MS, cancel_fd) || !recv_all(fd, m, sizeof(m), IO_TIMEOUT_MS, cancel_fd))
        return false;
    mac(want, password, "source", t, s);
    if (crypto_verify_32(m, want) != 0) {
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
        pause_ms(500 + (int)randombytes_uniform(1000), cancel_fd);   /* no fast password guessing */
#endif
        send_all(fd, "NO", 2, cancel_fd);
        return false;
    }
    mac(m, password, "target", s, t);
    return send_all(fd, "OK", 2, cancel_fd) && send_all(fd, m, sizeof(m), cancel_fd);
}

bool teleport_target_handshake(int fd, const char *password)
{
    return target_handshake(fd, password, -1);
}

/* "petrel: waiting for a teleport on ADDR:PORT", with the port actually bound (ADDR:0 picks one). */
static void say_listening(int lfd, const char *addr_port)
{
    struct sockaddr_storage sa;
    socklen_t len = sizeof(sa);
    char host[NI_MAXHOST], port[NI_MAXSERV];
    if (getsockname(lfd, (struct sockaddr *)&sa, &len) != 0 ||
        getnameinfo((struct sockaddr *)&sa, len, host, sizeof(host), port, sizeof(port),
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        fprintf(stderr, "petrel: waiting for a teleport on %s\n", addr_port);
        return;
    }
    bool v6 = sa.ss_family == AF_INET6;
    fprintf(stderr, "petrel: waiting for a teleport on %s%s%s:%s\n", v6 ? "[" : "", host, v6 ? "]" : "", port);
}

/* Waits for a connection on lfd: its fd, -1 on error, -2 when cancel_fd became readable. */
static int accept_one(int lfd, int cancel_fd)
{
    for (;;) {
        struct pollfd p[2] = { { .fd = lfd, .events = POLLIN }, { .fd = cancel_fd, .events = POLLIN } };
        int r = poll(p, cancel_fd >= 0 ? 2 : 1, -1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (cancel_fd >= 0 && p[1].revents)
            return -2;
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0 || (errno != EINTR && errno != ECONNABORTED && errno != EAGAIN))
            return fd;
    }
}

int teleport_accept(struct teleport_conn *c, const char *addr_port, const char *password, unsigned attempts,
                    int cancel_fd)
{
    memset(c, 0, sizeof(*c));
    c->fd = -1;
    c->cancel_fd = cancel_fd;
    if (sodium_init() < 0)
        return fail(c, VERR_INTERNAL_ERROR, "%s", "libsodium cannot initialise");
    int lfd = listen_on(c, addr_port);
    if (lfd < 0)
        return lfd;
    say_listening(lfd, addr_port);
    for (unsigned i = 0; i < attempts && c->fd < 0 && !cancel_requested(cancel_fd); i++) {
        int fd = accept_one(lfd, cancel_fd);
        if (fd < 0)
            break;
        if (target_handshake(fd, password, cancel_fd)) {
            c->fd = fd;
        } else if (!cancel_requested(cancel_fd)) {
            fprintf(stderr, "petrel: teleport: a source on %s did not know the password; waiting for another\n",
                    addr_port);
            close(fd);
        } else {
            close(fd);
        }
    }
    close(lfd);                        /* the port is free again, whatever happened */
    if (c->fd < 0 && cancel_requested(cancel_fd))
        return fail(c, VERR_CANCELLED, "stopped while waiting for a source on %s", addr_port);
    return c->fd >= 0 ? VINF_SUCCESS : fail(c, VERR_ACCESS_DENIED, "no source on %s knew the password",
                                            addr_port);
}

unsigned long long teleport_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000u + (unsigned long long)ts.tv_nsec / 1000000u;
}

void teleport_close(struct teleport_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

/* --- SSMSTRMOPS over the connection --- */

static int t_write(void *user, uint64_t off, const void *buf, size_t len)
{
    (void)off;
    struct teleport_conn *c = user;
    return send_all(c->fd, buf, len, c->cancel_fd) ? VINF_SUCCESS
                                     : fail(c, VERR_NET_CONNECTION_RESET_BY_PEER, "%s", "the target went away");
}

static int t_read(void *user, uint64_t off, void *buf, size_t len, size_t *got)
{
    (void)off;
    struct teleport_conn *c = user;
    *got = 0;
    if (!io_wait(c->fd, POLLIN, IO_TIMEOUT_MS, c->cancel_fd))
        return cancel_requested(c->cancel_fd) ? fail(c, VERR_CANCELLED, "%s", "stopped while receiving the VM")
                                       : fail(c, VERR_TIMEOUT, "%s", "the source stopped sending");
    ssize_t n;
    do
        n = recv(c->fd, buf, len, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return fail(c, VERR_NET_CONNECTION_RESET_BY_PEER, "%s", "the source went away");
    if (n == 0)                        /* the loader says where; this says why */
        fail(c, VINF_SUCCESS, "%s", "the source closed the connection before the whole VM arrived");
    *got = (size_t)n;
    return VINF_SUCCESS;
}

static int t_seek(void *u, int64_t o, unsigned m, uint64_t *a) { (void)u; (void)o; (void)m; (void)a; return VERR_NOT_SUPPORTED; }
static uint64_t t_tell(void *u) { (void)u; return 0; }
static int t_size(void *u, uint64_t *cb) { (void)u; (void)cb; return VERR_NOT_SUPPORTED; }

/* A peer that hung up shows as readable with nothing to read. */
static int t_is_ok(void *user)
{
    struct teleport_conn *c = user;
    struct pollfd p = { .fd = c->fd, .events = POLLIN };
    char b;
    if (poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR) || recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0))
        return fail(c, VERR_NET_CONNECTION_RESET_BY_PEER, "%s", "the peer closed the connection");
    return VINF_SUCCESS;
}

/* Target: the loader is done; tell the source whether the state loaded. */
static int t_target_close(void *user, bool cancelled)
{
    struct teleport_conn *c = user;
    return send_all(c->fd, cancelled ? "F" : "A", 1, -1) ? VINF_SUCCESS
         : fail(c, VERR_NET_CONNECTION_RESET_BY_PEER, "%s", "the source went away before the hand-over");
}

/* Source: the stream is written; only the target's "A" makes it a success. */
static int t_source_close(void *user, bool cancelled)
{
    struct teleport_conn *c = user;
    char ack = 0;
    c->acked = false;
    if (cancelled)
        return VINF_SUCCESS;
    if (!recv_all(c->fd, &ack, 1, ACK_TIMEOUT_MS, c->cancel_fd) || ack != 'A') {
        if (!ack && cancel_requested(c->cancel_fd))
            return fail(c, VERR_CANCELLED, "%s", "stopped before the target confirmed the hand-over");
        return fail(c, VERR_NET_CONNECTION_RESET_BY_PEER, "%s",
                    ack == 'F' ? "the target could not load the state" : "the target did not confirm the hand-over");
    }
    c->acked = true;
    return VINF_SUCCESS;
}

const SSMSTRMOPS teleport_source_ops = {
    SSMSTRMOPS_VERSION, t_write, t_read, t_seek, t_tell, t_size, t_is_ok, t_source_close, SSMSTRMOPS_VERSION
};

const SSMSTRMOPS teleport_target_ops = {
    SSMSTRMOPS_VERSION, t_write, t_read, t_seek, t_tell, t_size, t_is_ok, t_target_close, SSMSTRMOPS_VERSION
};
