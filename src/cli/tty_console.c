/*
 * The guest console on the user's terminal (see tty_console.h).
 *
 * Raw mode is QEMU's: no echo, no line editing, no signal keys (Ctrl-C goes
 * to the guest), but output post-processing stays on, so "\n" in petrel's
 * own messages still starts a new line.  The saved terminal state is put
 * back on every way out: tty_console_stop, exit(), and fatal signals (the
 * handler restores, then re-raises through the previous handler).
 * SIGINT/SIGTERM/SIGHUP/SIGQUIT are handled by cmd_run's normal exit path.
 */
#include "tty_console.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define CTRL_A 0x01
#define FEED_RETRY_MS 2              /* the guest's FIFO was full: offer again */

struct tty_console {
    PUVM uvm;
    tty_quit_fn *quit;
    void *quit_opaque;
    int stop_pipe[2];
    pthread_t thread;
    bool escape;                     /* the last byte was Ctrl-A */
    bool signal_keys;                /* Ctrl-C and Ctrl-\ are still signals */
};

static struct termios saved_termios;
static atomic_bool termios_saved;    /* raw mode is on: restore on the way out */
static const int fatal_signals[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
static struct sigaction previous_actions[sizeof(fatal_signals) / sizeof(fatal_signals[0])];

/* Async-signal-safe. */
static void terminal_restore(void)
{
    if (atomic_exchange(&termios_saved, false))
        tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
}

static void fatal_signal_handler(int sig)
{
    terminal_restore();
    for (size_t i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]); i++)
        if (fatal_signals[i] == sig)
            sigaction(sig, &previous_actions[i], NULL);
    raise(sig);
}

static void install_restore_hooks(void)
{
    static bool installed;
    if (installed)
        return;
    installed = true;
    atexit(terminal_restore);
    struct sigaction sa = { .sa_handler = fatal_signal_handler };
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]); i++)
        sigaction(fatal_signals[i], &sa, &previous_actions[i]);
}

/* Raw mode; signal_keys keeps Ctrl-C and Ctrl-\ as signals (no guest to
 * take them yet) but never Ctrl-Z: a job stopped in raw mode would leave
 * the shell a raw terminal. */
static int terminal_raw(bool signal_keys)
{
    struct termios t;
    if (tcgetattr(STDIN_FILENO, &t) != 0)
        return -1;
    saved_termios = t;
    install_restore_hooks();
    t.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
    t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | IEXTEN | (signal_keys ? 0 : ISIG));
    t.c_cc[VSUSP] = _POSIX_VDISABLE;
    t.c_cflag &= ~(tcflag_t)(CSIZE | PARENB);
    t.c_cflag |= CS8;
    t.c_oflag |= OPOST;
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    atomic_store(&termios_saved, true);
    return tcsetattr(STDIN_FILENO, TCSANOW, &t);
}

/* Waits up to ms for the stop pipe; true if stopping. */
static bool wait_stop(struct tty_console *tc, int ms)
{
    struct pollfd p = { .fd = tc->stop_pipe[0], .events = POLLIN };
    return poll(&p, 1, ms) > 0;
}

/* Types buf into the guest, waiting while its FIFO is full; false to stop. */
static bool feed_guest(struct tty_console *tc, const uint8_t *buf, size_t len)
{
    while (len) {
        size_t taken = 0;
        int rc = VMR3ConsoleInput(tc->uvm, buf, len, &taken);
        if (rc == VERR_NOT_FOUND)
            return true;               /* no serial port: input is dropped, escapes still work */
        if (RT_FAILURE(rc))
            return false;              /* the VM is going away */
        buf += taken;
        len -= taken;
        if (len && !taken && wait_stop(tc, FEED_RETRY_MS))
            return false;
    }
    return true;
}

static void print_escapes(void)
{
    fputs("\nC-a h    print this help\n"
          "C-a x    exit petrel (powers the VM off)\n"
          "C-a C-a  send C-a to the guest\n", stderr);
}

/* Handles the escapes in buf, keeping guest bytes in out; false after C-a x. */
static bool filter_escapes(struct tty_console *tc, const uint8_t *buf, size_t len, uint8_t *out, size_t *out_len)
{
    *out_len = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t b = buf[i];
        if (!tc->escape) {
            if (b == CTRL_A)
                tc->escape = true;
            else
                out[(*out_len)++] = b;
            continue;
        }
        tc->escape = false;
        if (b == 'x' || b == 'X') {
            tc->quit(tc->quit_opaque);
            return false;
        }
        if (b == 'h' || b == 'H' || b == '?')
            print_escapes();
        else if (b == CTRL_A)
            out[(*out_len)++] = CTRL_A;
    }
    return true;
}

static void *input_thread(void *arg)
{
    struct tty_console *tc = arg;
    uint8_t buf[256], out[256];
    for (;;) {
        struct pollfd p[2] = { { .fd = STDIN_FILENO, .events = POLLIN }, { .fd = tc->stop_pipe[0], .events = POLLIN } };
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (p[1].revents)
            break;
        if (!p[0].revents)
            continue;
        ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0)
            break;                     /* the terminal hung up: no more input */
        size_t out_len;
        bool go_on = filter_escapes(tc, buf, (size_t)n, out, &out_len);
        if (!feed_guest(tc, out, out_len) || !go_on)
            break;
    }
    return NULL;
}

struct tty_console *tty_console_start(PUVM uvm, tty_quit_fn *quit, void *opaque, bool signal_keys)
{
    struct tty_console *tc = calloc(1, sizeof(*tc));
    if (!tc || pipe(tc->stop_pipe) != 0) {
        fprintf(stderr, "petrel: console: out of resources (%s)\n", strerror(errno));
        free(tc);
        return NULL;
    }
    tc->uvm = uvm;
    tc->quit = quit;
    tc->quit_opaque = opaque;
    tc->signal_keys = signal_keys;
    if (terminal_raw(signal_keys) != 0)
        fprintf(stderr, "petrel: console: cannot put the terminal in raw mode: %s\n", strerror(errno));
    sigset_t all, old;
    sigfillset(&all);                  /* signals are for the main thread */
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int err = pthread_create(&tc->thread, NULL, input_thread, tc);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err) {
        fprintf(stderr, "petrel: console: cannot start the input thread: %s\n", strerror(err));
        terminal_restore();
        close(tc->stop_pipe[0]);
        close(tc->stop_pipe[1]);
        free(tc);
        return NULL;
    }
    return tc;
}

void tty_console_guest_keys(struct tty_console *tc)
{
    struct termios t;
    if (!tc || !tc->signal_keys || !atomic_load(&termios_saved) || tcgetattr(STDIN_FILENO, &t) != 0)
        return;
    tc->signal_keys = false;
    t.c_lflag &= ~(tcflag_t)ISIG;
    tcsetattr(STDIN_FILENO, TCSANOW, &t);
}

void tty_console_stop(struct tty_console *tc)
{
    if (!tc)
        return;
    if (write(tc->stop_pipe[1], "x", 1) < 0) {
        /* cannot fail with an empty pipe; the join below would wait */
    }
    pthread_join(tc->thread, NULL);
    close(tc->stop_pipe[0]);
    close(tc->stop_pipe[1]);
    terminal_restore();
    free(tc);
}
