/*
 * The control socket's requests and replies (docs/control-protocol.md),
 * independent of the transport: one request line in, one reply line out.
 * Requests are carried out through the public VM API only.
 */
#ifndef PETREL_CLI_CONTROL_PROTOCOL_H
#define PETREL_CLI_CONTROL_PROTOCOL_H

#include <stddef.h>
#include <vmm/vmapi.h>

/* Longest request line accepted, without its '\n'. */
#define CONTROL_MAX_LINE 65536u

/* The VM a control socket acts on, with the capture of the VM errors its
 * calls raise (an at-error callback). */
struct control_vm;

/* Retains the UVM and registers the at-error callback; NULL on failure. */
struct control_vm *control_vm_open(PUVM uvm);
void control_vm_close(struct control_vm *cv);

/* Makes a request in progress that waits on the network (a teleport: its
 * handshake, stream and hand-over) give up at once, and every later one;
 * any thread.  For shutting down while a teleport waits on its target. */
void control_vm_abort(struct control_vm *cv);

/* Carries out one request (line without its '\n', any bytes) and returns
 * the reply, one JSON object ending in '\n', to be freed by the caller;
 * NULL only when out of memory.  Call from one thread at a time. */
char *control_handle_line(struct control_vm *cv, const char *line, size_t len);

/* An error reply for failures outside a request (line too long, ...). */
char *control_error_reply(int status, const char *message);

#endif
