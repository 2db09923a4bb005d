/*
 * Teleport over TCP: the connection, the mutual challenge-response with a
 * shared password (HMAC-SHA-256; the password never crosses the wire) and
 * SSMSTRMOPS over the socket for VMR3Teleport (source) and
 * VMR3LoadFromStream (target).  docs/teleport.md describes the protocol.
 */
#ifndef PETREL_CLI_TELEPORT_NET_H
#define PETREL_CLI_TELEPORT_NET_H

#include <stdbool.h>
#include <stddef.h>

#include <vmm/ssm.h>

#define TELEPORT_PASSWORD_MAX 1024

struct teleport_conn {
    int  fd;
    int  cancel_fd;                    /* readable = stop waiting (-1: none) */
    bool acked;                        /* source: the target confirmed the load */
    char error[256];                   /* why it failed, for the user */
};

/* The stream for VMR3Teleport (its close waits for the target's verdict)
 * and for VMR3LoadFromStream (its close sends the verdict). */
extern const SSMSTRMOPS teleport_source_ops;
extern const SSMSTRMOPS teleport_target_ops;

/* Reads a password file (first line, at most TELEPORT_PASSWORD_MAX bytes). */
int teleport_read_password(const char *path, char *pw, size_t size, char *err, size_t err_size);

/* Source: connects to host:port and authenticates; VBox status.  When
 * cancel_fd (-1: none) becomes readable, the handshake, the stream's writes
 * and the wait for the target's verdict give up at once (the teleport
 * fails, the VM keeps running).  (connect() itself is not cancelled.) */
int teleport_connect(struct teleport_conn *c, const char *host_port, const char *password, int cancel_fd);
/* Target: listens on addr:port (port 0: any free one), says on stderr
 * where it listens, accepts one source and authenticates it (a wrong
 * password is refused after a random delay and the next connection
 * awaited, up to `attempts` in all).  When cancel_fd (-1: none; e.g. a
 * signalfd) becomes readable, it stops waiting with VERR_CANCELLED, and so
 * does the stream's read later on.  The listening socket is closed on
 * every way out. */
int teleport_accept(struct teleport_conn *c, const char *addr_port, const char *password, unsigned attempts,
                    int cancel_fd);
void teleport_close(struct teleport_conn *c);

/* The two halves of the handshake on a connected socket (also driven
 * directly by the fuzz target): the source's (c->fd set; host_port names
 * the peer in messages) and the target's (true: the peer knows the
 * password and has been told so). */
int  teleport_source_handshake(struct teleport_conn *c, const char *host_port, const char *password);
bool teleport_target_handshake(int fd, const char *password);

/* Monotonic milliseconds (downtime and totals). */
unsigned long long teleport_now_ms(void);

#endif
