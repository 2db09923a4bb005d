/*
 * The control socket of `petrel run --control PATH`: a unix stream socket
 * speaking newline-delimited JSON (one request object per line, one reply
 * object per line).  Requests are carried out through the public VM API.
 * See docs/control-protocol.md.
 */
#ifndef PETREL_CLI_CONTROL_SERVER_H
#define PETREL_CLI_CONTROL_SERVER_H

#include <vmm/vmapi.h>

struct control_server;

/* Listens on path (an existing socket file is replaced) and serves requests
 * on its own thread until control_server_stop().  NULL on failure, with a
 * one-line reason in err. */
struct control_server *control_server_start(PUVM uvm, const char *path, char *err, size_t err_size);
void control_server_stop(struct control_server *server);

#endif
