/*
 * Console back ends (see console_backend.h).
 *
 * Locks: `sink_lock` is held by the I/O thread while it calls the sink, so
 * detach can wait for a delivery in progress; `out_lock` guards the output
 * fds (a unix client may come and go under a writer).  Order: sink_lock ->
 * (the UART's lock) -> out_lock.  console_backend_input_room() takes no lock.
 */
#include "console_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <vmm/err.h>

#define PENDING_MAX 256
#define SOCKET_WRITE_WAIT_MS 100     /* a stalled client loses output after this */
#define RETRY_MS 50                  /* re-offer held input even without a room call */

enum be_kind { BE_NONE, BE_STDIO, BE_STDOUT, BE_FILE, BE_UNIX };

struct console_backend {
    enum be_kind kind;
    pthread_mutex_t out_lock;
    int out_fd;                      /* stdio / file; -1 otherwise */
    int listen_fd, client_fd;        /* unix */
    atomic_bool client_dead;         /* a write failed: the I/O thread closes it */
    bool client_stalled;             /* stopped reading: drop output without waiting */
    char *path;                      /* unix: the socket file we created */

    int in_fd;                       /* stdio: 0, -1 after EOF */
    int wake_fd;                     /* eventfd: room, attach, stop */
    pthread_t thread;
    bool thread_started;
    atomic_bool stop;

    pthread_mutex_t sink_lock;
    console_input_fn *sink;
    void *sink_opaque;
    uint8_t pend[PENDING_MAX];       /* read but not yet accepted (I/O thread only) */
    size_t pend_off, pend_len;
};

void console_backend_input_room(void *opaque)
{
    struct console_backend *be = opaque;
    uint64_t one = 1;
    if (be && be->wake_fd >= 0 && write(be->wake_fd, &one, sizeof(one)) < 0) {
        /* EAGAIN: the counter is already non-zero, the thread will wake */
    }
}

/* --- output --- */

static void write_fd_all(int fd, const uint8_t *buf, size_t len)
{
    while (len) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;                  /* output gone: drop rather than stall the guest */
        buf += n;
        len -= (size_t)n;
    }
}

/*
 * Non-blocking send.  A slow client gets a short wait; one that stopped
 * reading is marked stalled and loses output at once (the guest must never
 * crawl because nobody reads its console) until it reads again.  out_lock held.
 */
static void write_client(struct console_backend *be, const uint8_t *buf, size_t len)
{
    while (len && !atomic_load(&be->client_dead)) {
        ssize_t n = send(be->client_fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            buf += n;
            len -= (size_t)n;
            be->client_stalled = false;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd p = { .fd = be->client_fd, .events = POLLOUT };
            if (be->client_stalled || poll(&p, 1, SOCKET_WRITE_WAIT_MS) <= 0) {
                be->client_stalled = true;
                return;
            }
        } else {
            atomic_store(&be->client_dead, true);
            console_backend_input_room(be);
        }
    }
}

void console_backend_write(struct console_backend *be, const uint8_t *buf, size_t len)
{
    if (!be || !buf || !len)
        return;
    pthread_mutex_lock(&be->out_lock);
    if (be->out_fd >= 0)
        write_fd_all(be->out_fd, buf, len);
    else if (be->client_fd >= 0)
        write_client(be, buf, len);
    pthread_mutex_unlock(&be->out_lock);
}

/* --- the I/O thread --- */

/* Offers held input to the sink; true if some is still held. */
static bool deliver_pending(struct console_backend *be)
{
    pthread_mutex_lock(&be->sink_lock);
    if (be->sink && be->pend_len) {
        size_t n = be->sink(be->sink_opaque, be->pend + be->pend_off, be->pend_len);
        if (n > be->pend_len)
            n = be->pend_len;
        be->pend_off += n;
        be->pend_len -= n;
    }
    bool can_read = be->sink != NULL;
    pthread_mutex_unlock(&be->sink_lock);
    if (!be->pend_len)
        be->pend_off = 0;
    return be->pend_len || !can_read;
}

static void close_client(struct console_backend *be)
{
    pthread_mutex_lock(&be->out_lock);
    if (be->client_fd >= 0)
        close(be->client_fd);
    be->client_fd = -1;
    be->client_stalled = false;
    atomic_store(&be->client_dead, false);
    pthread_mutex_unlock(&be->out_lock);
}

static void accept_client(struct console_backend *be)
{
    int fd = accept4(be->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0)
        return;
    pthread_mutex_lock(&be->out_lock);
    bool busy = be->client_fd >= 0;
    if (!busy)
        be->client_fd = fd;
    pthread_mutex_unlock(&be->out_lock);
    if (busy)
        close(fd);                   /* one console client at a time */
}

/* Reads what is available on fd into the pending buffer; false on EOF/error. */
static bool read_input(struct console_backend *be, int fd)
{
    ssize_t n = read(fd, be->pend, sizeof(be->pend));
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
        return true;
    if (n <= 0)
        return false;
    be->pend_off = 0;
    be->pend_len = (size_t)n;
    return true;
}

/* The fd input comes from now (stdin or the client), or -1. */
static int input_fd(struct console_backend *be)
{
    if (be->kind == BE_STDIO)
        return be->in_fd;
    return be->client_fd;            /* only this thread changes it */
}

static void handle_input(struct console_backend *be, int fd)
{
    if (read_input(be, fd))
        return;
    if (be->kind == BE_STDIO)
        be->in_fd = -1;              /* EOF on stdin: no more input, output goes on */
    else
        close_client(be);
}

static void io_iteration(struct console_backend *be)
{
    if (atomic_load(&be->client_dead))
        close_client(be);
    bool held = deliver_pending(be);
    struct pollfd p[3] = { { .fd = be->wake_fd, .events = POLLIN } };
    nfds_t n = 1;
    int in = held ? -1 : input_fd(be), in_idx = -1, listen_idx = -1;
    if (be->listen_fd >= 0) {
        listen_idx = (int)n;
        p[n++] = (struct pollfd){ .fd = be->listen_fd, .events = POLLIN };
    }
    if (in >= 0) {
        in_idx = (int)n;
        p[n++] = (struct pollfd){ .fd = in, .events = POLLIN };
    }
    if (poll(p, n, be->pend_len ? RETRY_MS : -1) <= 0)
        return;
    uint64_t count;
    if ((p[0].revents & POLLIN) && read(be->wake_fd, &count, sizeof(count)) < 0) {
        /* nothing: the eventfd was drained by a racing read */
    }
    if (listen_idx >= 0 && (p[listen_idx].revents & POLLIN))
        accept_client(be);
    if (in_idx >= 0 && p[in_idx].revents)
        handle_input(be, in);
}

static void *io_thread(void *arg)
{
    struct console_backend *be = arg;
    pthread_setname_np(pthread_self(), "ConsoleIO");   /* a prctl; by its creator, a write to /proc */
    while (!atomic_load(&be->stop))
        io_iteration(be);
    return NULL;
}

static int start_thread(struct console_backend *be)
{
    sigset_t all, old;
    sigfillset(&all);                /* vCPU poke signals must not land here */
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int err = pthread_create(&be->thread, NULL, io_thread, be);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err)
        return VERR_NO_MEMORY;
    be->thread_started = true;
    return VINF_SUCCESS;
}

/* --- opening --- */

static int open_file(struct console_backend *be, const char *path, char *err, size_t err_len)
{
    be->out_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (be->out_fd >= 0)
        return VINF_SUCCESS;
    snprintf(err, err_len, "console: cannot open '%s' for appending: %s", path, strerror(errno));
    return errno == ENOENT ? VERR_PATH_NOT_FOUND : VERR_ACCESS_DENIED;
}

/* Removes a stale socket file left by an earlier run; refuses other files. */
static int clear_socket_path(const char *path, char *err, size_t err_len)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return VINF_SUCCESS;
    if (!S_ISSOCK(st.st_mode)) {
        snprintf(err, err_len, "console: '%s' exists and is not a socket; choose another path", path);
        return VERR_ALREADY_EXISTS;
    }
    unlink(path);
    return VINF_SUCCESS;
}

static int open_unix(struct console_backend *be, const char *path, char *err, size_t err_len)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof(addr.sun_path)) {
        snprintf(err, err_len, "console: socket path '%s' is too long (at most %zu bytes)",
                 path, sizeof(addr.sun_path) - 1);
        return VERR_FILENAME_TOO_LONG;
    }
    int rc = clear_socket_path(path, err, err_len);
    if (RT_FAILURE(rc))
        return rc;
    strcpy(addr.sun_path, path);
    be->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (be->listen_fd < 0 || bind(be->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) != 0
        || listen(be->listen_fd, 4) != 0) {
        snprintf(err, err_len, "console: cannot listen on unix socket '%s': %s", path, strerror(errno));
        return VERR_ACCESS_DENIED;
    }
    be->path = strdup(path);
    return be->path ? VINF_SUCCESS : VERR_NO_MEMORY;
}

static int parse_and_open(struct console_backend *be, const char *spec, char *err, size_t err_len)
{
    if (!strcmp(spec, "none"))
        return VINF_SUCCESS;
    if (!strcmp(spec, "stdio")) {
        be->kind = BE_STDIO;
        be->out_fd = STDOUT_FILENO;
        be->in_fd = STDIN_FILENO;
        return VINF_SUCCESS;
    }
    if (!strcmp(spec, "stdout")) {   /* input comes from elsewhere (VMR3ConsoleInput) */
        be->kind = BE_STDOUT;
        be->out_fd = STDOUT_FILENO;
        return VINF_SUCCESS;
    }
    if (!strncmp(spec, "file:", 5) && spec[5]) {
        be->kind = BE_FILE;
        return open_file(be, spec + 5, err, err_len);
    }
    if (!strncmp(spec, "unix:", 5) && spec[5]) {
        be->kind = BE_UNIX;
        return open_unix(be, spec + 5, err, err_len);
    }
    snprintf(err, err_len, "console: unknown back end '%s' (use stdio, stdout, none, file:PATH or unix:PATH)", spec);
    return VERR_INVALID_PARAMETER;
}

int console_backend_create(const char *spec, struct console_backend **out, char *err, size_t err_len)
{
    char dummy[1];
    if (!err || !err_len) {
        err = dummy;
        err_len = sizeof(dummy);
    }
    err[0] = '\0';
    if (!spec || !out) {
        snprintf(err, err_len, "console: no back end given");
        return VERR_INVALID_PARAMETER;
    }
    struct console_backend *be = calloc(1, sizeof(*be));
    if (!be) {
        snprintf(err, err_len, "console: out of memory");
        return VERR_NO_MEMORY;
    }
    pthread_mutex_init(&be->out_lock, NULL);
    pthread_mutex_init(&be->sink_lock, NULL);
    be->out_fd = be->in_fd = be->listen_fd = be->client_fd = be->wake_fd = -1;
    int rc = parse_and_open(be, spec, err, err_len);
    if (RT_SUCCESS(rc) && (be->kind == BE_STDIO || be->kind == BE_UNIX)) {
        be->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        rc = be->wake_fd < 0 ? VERR_NO_MEMORY : start_thread(be);
        if (RT_FAILURE(rc))
            snprintf(err, err_len, "console: cannot start the console I/O thread");
    }
    if (RT_FAILURE(rc)) {
        console_backend_destroy(be);
        return rc;
    }
    *out = be;
    return VINF_SUCCESS;
}

void console_backend_destroy(struct console_backend *be)
{
    if (!be)
        return;
    if (be->thread_started) {
        atomic_store(&be->stop, true);
        console_backend_input_room(be);
        pthread_join(be->thread, NULL);
    }
    if (be->kind == BE_FILE && be->out_fd >= 0)
        close(be->out_fd);
    if (be->client_fd >= 0)
        close(be->client_fd);
    if (be->listen_fd >= 0)
        close(be->listen_fd);
    if (be->path)
        unlink(be->path);
    if (be->wake_fd >= 0)
        close(be->wake_fd);
    free(be->path);
    pthread_mutex_destroy(&be->out_lock);
    pthread_mutex_destroy(&be->sink_lock);
    free(be);
}

/* --- the input sink --- */

int console_backend_attach(struct console_backend *be, console_input_fn *fn, void *opaque)
{
    if (!be || !fn)
        return VERR_INVALID_PARAMETER;
    pthread_mutex_lock(&be->sink_lock);
    be->sink = fn;
    be->sink_opaque = opaque;
    pthread_mutex_unlock(&be->sink_lock);
    console_backend_input_room(be);  /* start reading */
    return VINF_SUCCESS;
}

void console_backend_detach(struct console_backend *be)
{
    if (!be)
        return;
    pthread_mutex_lock(&be->sink_lock);  /* waits for a delivery in progress */
    be->sink = NULL;
    be->sink_opaque = NULL;
    pthread_mutex_unlock(&be->sink_lock);
}
