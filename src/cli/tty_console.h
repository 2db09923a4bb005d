/*
 * The guest console on the user's terminal (`petrel run --console stdio`
 * with a TTY on stdin): raw mode, and a thread that reads stdin, handles
 * the Ctrl-A escapes (as QEMU users expect) and types everything else into
 * the guest with VMR3ConsoleInput.  The serial port then writes to stdout
 * through the "stdout" back end and reads nothing itself.
 *
 *   Ctrl-A x       quit: the quit callback powers the VM off
 *   Ctrl-A h       list the escapes (on stderr)
 *   Ctrl-A Ctrl-A  send one Ctrl-A to the guest
 */
#ifndef PETREL_CLI_TTY_CONSOLE_H
#define PETREL_CLI_TTY_CONSOLE_H

#include <stdbool.h>

#include <vmm/vmapi.h>

struct tty_console;
typedef void tty_quit_fn(void *opaque);

/* Raw mode on stdin's terminal (restored by tty_console_stop, at exit and
 * on fatal signals) and the input thread.  NULL on failure, with a message
 * on stderr.  signal_keys: Ctrl-C and Ctrl-\ stay signals for petrel
 * (no guest yet: a target waiting for a teleport) until
 * tty_console_guest_keys. */
struct tty_console *tty_console_start(PUVM uvm, tty_quit_fn *quit, void *opaque, bool signal_keys);
/* From now on Ctrl-C and Ctrl-\ are the guest's; NULL is fine. */
void tty_console_guest_keys(struct tty_console *tc);
/* Stops the thread and restores the terminal; NULL is fine. */
void tty_console_stop(struct tty_console *tc);

#endif
