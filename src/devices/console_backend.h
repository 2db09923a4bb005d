/*
 * Console back ends: where a serial port's output goes and its input comes
 * from.  A spec string selects one:
 *   "stdio"       write fd 1, read fd 0 (raw TTY mode is the CLI's business)
 *   "stdout"      write fd 1, no input from a file: the embedder feeds
 *                 input with VMR3ConsoleInput (the `petrel` CLI does, to
 *                 handle its Ctrl-A escapes on a TTY)
 *   "none"        output discarded, no input
 *   "file:PATH"   output appended to PATH, no input
 *   "unix:PATH"   listen on a unix stream socket at PATH; the first client
 *                 is the console (bytes both ways); further clients are
 *                 refused while one is connected; reconnects are allowed
 *
 * Input is read by one I/O thread per back end (started by
 * console_backend_attach) that hands bytes to the sink and stops reading
 * while the sink is full, until console_backend_input_room() is called.
 */
#ifndef PETREL_CONSOLE_BACKEND_H
#define PETREL_CONSOLE_BACKEND_H

#include <stddef.h>
#include <stdint.h>

struct console_backend;

/* Returns how many of the len bytes the sink took (the rest is kept). */
typedef size_t console_input_fn(void *opaque, const uint8_t *buf, size_t len);

/*
 * Parses spec and opens files/sockets (VBox status).  On failure a message
 * saying what went wrong is put in err.
 */
int  console_backend_create(const char *spec, struct console_backend **out, char *err, size_t err_len);
/* Stops the I/O thread, closes everything, removes the socket file. */
void console_backend_destroy(struct console_backend *be);

/* Output from the guest; any thread.  Never blocks for long on a socket. */
void console_backend_write(struct console_backend *be, const uint8_t *buf, size_t len);

/* Starts delivering input to fn (VBox status); no-op for output-only kinds. */
int  console_backend_attach(struct console_backend *be, console_input_fn *fn, void *opaque);
/* Stops delivering input; after return fn is not running and won't run. */
void console_backend_detach(struct console_backend *be);
/* The sink has room again (any thread, any lock held: only wakes the thread). */
void console_backend_input_room(void *be);

#endif /* PETREL_CONSOLE_BACKEND_H */
