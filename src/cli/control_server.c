/*
 * The control socket: a unix stream socket served by one thread with
 * poll().  Each client sends request lines and gets one reply line per
 * request, in order (control_protocol.c does the work).
 *
 * Clients are never trusted: sockets are non-blocking, a request line is
 * limited to CONTROL_MAX_LINE bytes (longer: an error reply, then the
 * connection is closed), a partial line left by a disconnecting client is
 * dropped unexecuted, and a client that does not read its replies is not
 * read from either (its unread replies bound what it can make us buffer).
 */
#ifndef _GNU_SOURCE
# define _GNU_SOURCE      /* accept4, pipe2, pthread_setname_np */
#endif
#include "control_server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control_protocol.h"

#define CONTROL_MAX_CLIENTS 64

struct control_client {
    int     fd;                /* -1: free slot */
    char   *in;                /* received bytes; [in_off, in_len) not yet handled */
    size_t  in_off, in_len;
    char   *out;               /* reply bytes not yet sent */
    size_t  out_len, out_off;
    bool    eof;               /* the client sent everything it will */
    bool    closing;           /* close once the replies are out */
};

struct control_server {
    struct control_vm    *vm;
    char                 *path;
    dev_t                 sock_dev;       /* identify our socket file at unlink time */
    ino_t                 sock_ino;
    int                   listen_fd;
    int                   wake[2];        /* control_server_stop -> thread */
    pthread_t             thread;
    struct control_client clients[CONTROL_MAX_CLIENTS];
};

/* --- one client --- */

static void client_close(struct control_client *c)
{
    close(c->fd);
    free(c->in);
    free(c->out);
    *c = (struct control_client){ .fd = -1 };
}

/* Queues a reply (takes ownership); a failed allocation closes the client. */
static void client_queue(struct control_client *c, char *reply)
{
    if (!reply) {
        c->closing = true;
        return;
    }
    size_t n = strlen(reply);
    if (c->out_off == c->out_len) {
        free(c->out);
        c->out = reply;
        c->out_len = n;
        c->out_off = 0;
        return;
    }
    char *grown = realloc(c->out, c->out_len + n);
    if (grown) {
        memcpy(grown + c->out_len, reply, n);   /* NOLINT(bugprone-not-null-terminated-result): bytes, not a string */
        c->out = grown;
        c->out_len += n;
    } else {
        c->closing = true;
    }
    free(reply);
}

/* Sends what the socket takes; false when the client is gone. */
static bool client_flush(struct control_client *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
        c->out_off += (size_t)n;
    }
    return true;
}

static char *client_next_line(const struct control_client *c)
{
    return c->in_len > c->in_off ? memchr(c->in + c->in_off, '\n', c->in_len - c->in_off) : NULL;
}

/* Handles the first complete line in the input buffer; false if none. */
static bool client_handle_one(struct control_vm *vm, struct control_client *c)
{
    char *line = c->in + c->in_off, *nl = client_next_line(c);
    if (!nl)
        return false;
    size_t len = (size_t)(nl - line);
    c->in_off += len + 1;                     /* consumed, whatever the outcome */
    if (len && line[len - 1] == '\r')        /* tolerate CRLF from terminals */
        len--;
    size_t blank = 0;
    while (blank < len && strchr(" \t", line[blank]))
        blank++;
    if (blank < len)                          /* blank lines are ignored */
        client_queue(c, control_handle_line(vm, line, len));
    return true;
}

/* Reads what arrived; false when the client must be closed at once. */
static bool client_read(struct control_client *c)
{
    if (!c->in && !(c->in = malloc(CONTROL_MAX_LINE + 1)))
        return false;
    memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);   /* once per read, not per line */
    c->in_len -= c->in_off;
    c->in_off = 0;
    size_t room = CONTROL_MAX_LINE + 1 - c->in_len;
    if (room == 0)
        return true;                          /* full: client_service decides */
    ssize_t n = recv(c->fd, c->in + c->in_len, room, MSG_DONTWAIT);
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    if (n == 0) {
        c->eof = true;                        /* a partial line is dropped */
        return true;
    }
    c->in_len += (size_t)n;
    return true;
}

/* Replies to complete lines while the client keeps up with its replies;
 * closes it when it is done or must go. */
static void client_service(struct control_vm *vm, struct control_client *c)
{
    if (!client_flush(c)) {
        client_close(c);
        return;
    }
    while (!c->closing && c->out_off == c->out_len && client_handle_one(vm, c))
        if (!client_flush(c)) {
            client_close(c);
            return;
        }
    if (!c->closing && c->in_len - c->in_off > CONTROL_MAX_LINE && !client_next_line(c)) {
        char msg[96];
        snprintf(msg, sizeof(msg), "request line longer than %u bytes: closing the connection", CONTROL_MAX_LINE);
        client_queue(c, control_error_reply(VERR_TOO_MUCH_DATA, msg));
        c->closing = true;
        client_flush(c);
    }
    /* A closing client gets one try at its last reply: one that does not
     * read must not hold a slot. */
    bool out_done = c->out_off == c->out_len;
    if (c->closing || (out_done && c->eof && !client_next_line(c)))
        client_close(c);
}

/* --- the server thread --- */

static void accept_clients(struct control_server *s)
{
    for (;;) {
        int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0 && (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM))
            usleep(10 * 1000);                 /* out of descriptors: don't spin on poll */
        if (fd < 0)
            return;
        struct control_client *slot = NULL;
        for (int i = 0; i < CONTROL_MAX_CLIENTS && !slot; i++)
            if (s->clients[i].fd < 0)
                slot = &s->clients[i];
        if (!slot) {
            char *reply = control_error_reply(VERR_OUT_OF_RESOURCES, "too many control clients; try again later");
            if (reply)
                send(fd, reply, strlen(reply), MSG_NOSIGNAL | MSG_DONTWAIT);
            free(reply);
            close(fd);
            continue;
        }
        *slot = (struct control_client){ .fd = fd };
    }
}

/* Fills pfd for the listener, the wake pipe and each client; returns the count. */
static nfds_t build_pollset(struct control_server *s, struct pollfd *pfd, int *owner)
{
    nfds_t n = 0;
    pfd[n++] = (struct pollfd){ .fd = s->wake[0], .events = POLLIN };
    pfd[n++] = (struct pollfd){ .fd = s->listen_fd, .events = POLLIN };
    for (int i = 0; i < CONTROL_MAX_CLIENTS; i++) {
        struct control_client *c = &s->clients[i];
        if (c->fd < 0)
            continue;
        bool pending_out = c->out_off < c->out_len;
        short ev = pending_out ? POLLOUT : 0;
        if (!pending_out && !c->eof && !c->closing)
            ev |= POLLIN;
        owner[n] = i;
        pfd[n++] = (struct pollfd){ .fd = c->fd, .events = ev };
    }
    return n;
}

static void *server_thread(void *arg)
{
    struct control_server *s = arg;
    pthread_setname_np(pthread_self(), "CtlServer");
    struct pollfd pfd[CONTROL_MAX_CLIENTS + 2];
    int owner[CONTROL_MAX_CLIENTS + 2];
    for (;;) {
        nfds_t n = build_pollset(s, pfd, owner);
        if (poll(pfd, n, -1) < 0 && errno != EINTR)
            break;
        if (pfd[0].revents)
            break;                             /* control_server_stop */
        for (nfds_t i = 2; i < n; i++) {
            struct control_client *c = &s->clients[owner[i]];
            if (!pfd[i].revents)
                continue;
            if ((pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) && !c->eof && !client_read(c)) {
                client_close(c);
                continue;
            }
            client_service(s->vm, c);
        }
        if (pfd[1].revents & POLLIN)
            accept_clients(s);
    }
    return NULL;
}

/* --- start and stop --- */

/* Removes a stale socket file; refuses anything else, and live sockets. */
static int clear_path(const char *path, char *err, size_t err_size)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : (snprintf(err, err_size, "%s: %s", path, strerror(errno)), -1);
    if (!S_ISSOCK(st.st_mode)) {
        snprintf(err, err_size, "%s exists and is not a socket; not replacing it", path);
        return -1;
    }
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    bool live = probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    if (probe >= 0)
        close(probe);
    if (live) {
        snprintf(err, err_size, "%s is in use by another process", path);
        return -1;
    }
    if (unlink(path) != 0 && errno != ENOENT) {
        snprintf(err, err_size, "cannot remove the stale socket %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int listen_on(struct control_server *s, char *err, size_t err_size)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(s->path) >= sizeof(sa.sun_path)) {
        snprintf(err, err_size, "control socket path too long (at most %zu bytes): %s", sizeof(sa.sun_path) - 1, s->path);
        return -1;
    }
    if (clear_path(s->path, err, err_size) != 0)
        return -1;
    memcpy(sa.sun_path, s->path, strlen(s->path) + 1);
    s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct stat st;
    bool bound = s->listen_fd >= 0 && bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
                 lstat(s->path, &st) == 0;
    if (bound) {                               /* ours to remove from now on */
        s->sock_dev = st.st_dev;
        s->sock_ino = st.st_ino;
    }
    if (!bound || chmod(s->path, 0600) != 0 || listen(s->listen_fd, 16) != 0) {
        snprintf(err, err_size, "cannot listen on %s: %s", s->path, strerror(errno));
        return -1;
    }
    return 0;
}

static void server_free(struct control_server *s, bool unlink_path)
{
    for (int i = 0; i < CONTROL_MAX_CLIENTS; i++)
        if (s->clients[i].fd >= 0)
            client_close(&s->clients[i]);
    struct stat st;
    if (unlink_path && lstat(s->path, &st) == 0 && st.st_dev == s->sock_dev && st.st_ino == s->sock_ino)
        unlink(s->path);
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    for (int i = 0; i < 2; i++)
        if (s->wake[i] >= 0)
            close(s->wake[i]);
    control_vm_close(s->vm);
    free(s->path);
    free(s);
}

/* The thread blocks every signal: they belong to the main thread. */
static int start_thread(struct control_server *s)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&s->thread, NULL, server_thread, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

struct control_server *control_server_start(PUVM uvm, const char *path, char *err, size_t err_size)
{
    struct control_server *s = calloc(1, sizeof(*s));
    if (!s || !path || !*path) {
        snprintf(err, err_size, s ? "no control socket path given" : "out of memory");
        free(s);
        return NULL;
    }
    s->listen_fd = s->wake[0] = s->wake[1] = -1;
    for (int i = 0; i < CONTROL_MAX_CLIENTS; i++)
        s->clients[i].fd = -1;
    s->path = strdup(path);
    s->vm = control_vm_open(uvm);
    if (!s->path || !s->vm) {
        snprintf(err, err_size, s->path ? "control socket: invalid VM handle" : "out of memory");
        server_free(s, false);
        return NULL;
    }
    if (listen_on(s, err, err_size) != 0) {
        server_free(s, true);
        return NULL;
    }
    if (pipe2(s->wake, O_CLOEXEC | O_NONBLOCK) != 0 || start_thread(s) != 0) {
        snprintf(err, err_size, "control socket: cannot start its thread: %s", strerror(errno));
        server_free(s, true);
        return NULL;
    }
    return s;
}

void control_server_stop(struct control_server *server)
{
    if (!server)
        return;
    control_vm_abort(server->vm);      /* a teleport waiting on its target gives up */
    ssize_t n;
    do
        n = write(server->wake[1], "x", 1);
    while (n < 0 && errno == EINTR);
    pthread_join(server->thread, NULL);
    server_free(server, true);
}
