/*
 * `petrel run`: build a configuration from the command line, create the VM,
 * power it on and wait until it stops.  The exit status is the guest's
 * debug-exit code, 0 for a plain power-off, 1 when the VM failed, 2 for bad
 * arguments or input files (including a kernel the loader refuses and a
 * saved state that does not load).
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include <sodium.h>

#include "control_server.h"
#include "teleport_net.h"
#include "tty_console.h"

#define TELEPORT_ATTEMPTS 8           /* sources with a wrong password before giving up */

/* What the waiting main thread learns from the at-state callback and the console. */
struct run_wait {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    VMSTATE last;
    bool stopped;
    bool quit;                       /* Ctrl-A x on the console */
    pthread_t waiter;                /* the thread in wait_for_stop: woken with WAKE_SIGNAL */
};

/* Wakes wait_for_stop at once when the VM stops (it also waits for signals). */
#define WAKE_SIGNAL SIGUSR1

void cmd_run_help(void)
{
    fputs("usage: petrel run --kernel FILE [options]      boot a Linux kernel\n"
          "       petrel run --image FILE [options]       run a flat test guest\n"
          "\n"
          "Linux (bzImage or ELF vmlinux, booted directly; console on COM1 = ttyS0):\n"
          "  --kernel FILE       the kernel\n"
          "  --initrd FILE       an initrd / initramfs\n"
          "  --append CMDLINE    kernel command line (default:\n"
          "                      \"" CLI_LINUX_APPEND "\")\n"
          "  --console SPEC      stdio | none | file:PATH | unix:PATH (default: stdio)\n"
          "                      on a terminal: raw mode; Ctrl-A x quits, Ctrl-A h lists\n"
          "                      the escapes, Ctrl-A Ctrl-A sends Ctrl-A\n"
          "\n"
          "Flat guests (debug console, port 0xE9, printed on stdout):\n"
          "  --image FILE        flat binary to load\n"
          "  --mode MODE         real | protected | long (default: real)\n"
          "  --load-addr ADDR    guest-physical load address (default: 0x7c00 in real\n"
          "                      mode, 0x100000 otherwise); execution starts there\n"
          "\n"
          "Both:\n"
          "  --cpus N            number of vCPUs, 1..64 (default: 1)\n"
          "  --max-cpus M        vCPUs the guest can have, M >= N: the others start\n"
          "                      unplugged (petrel ctl PATH cpu-plug ID adds one)\n"
          "  --memory MIB        guest RAM in MiB (default: 256 for Linux, 64 for --image)\n"
          "  --engine ENGINE     auto | kvm | interp (default: auto)\n"
          "  --name NAME         the VM's name (default: petrel)\n"
          "  --power-off-on-reset  a guest reboot powers the VM off instead\n"
          "  --disk PATH[,ro][,serial=S]  a virtio-blk disk on a raw image or block\n"
          "                      device (repeatable, up to 8; ro: read-only; S: the\n"
          "                      disk's serial, up to 20 characters)\n"
          "  --net tap:NAME|none[,mac=M][,offload=off]\n"
          "                      a virtio-net device on the tap interface NAME (opened,\n"
          "                      or created with CAP_NET_ADMIN) or on nothing; offload=off:\n"
          "                      no checksum/TSO offloads through the tap\n"
          "                      (repeatable, up to 4; default MAC 52:54:00:12:34:56+N)\n"
          "  --rng               a virtio-rng device (entropy from the host)\n"
          "  --virtio-console SPEC  a virtio console (Linux: /dev/hvc0) on SPEC:\n"
          "                      stdio | none | file:PATH | unix:PATH\n"
          "  --control PATH      serve the control socket at PATH (see `petrel ctl`)\n"
          "  --config FILE       a JSON file mapped onto the configuration tree;\n"
          "                      the flags above override it\n"
          "  --restore FILE      resume the saved state FILE (`petrel ctl PATH save FILE`)\n"
          "                      instead of booting; give the same machine options\n"
          "  --teleport-listen ADDR:PORT  --teleport-password-file FILE\n"
          "                      wait on ADDR:PORT (that address only; port 0: any free\n"
          "                      one, printed) for a VM that `petrel ctl PATH teleport`\n"
          "                      sends, then run it; the source must know the password\n"
          "                      in FILE (first line); SIGTERM/SIGINT stop the wait\n"
          "\n"
          "Exit status: 0 when the guest powers off (or Ctrl-A x), the guest's code for\n"
          "the debug-exit port (0xF4), 1 when the VM fails, 2 for bad arguments or input.\n",
          stdout);
}

static void on_error(PUVM uvm, void *user, int rc, RT_SRC_POS_DECL, const char *fmt, va_list va)
{
    (void)uvm; (void)user; (void)pszFile; (void)iLine; (void)pszFunction;
    fflush(stdout);
    fputs("petrel: ", stderr);
    vfprintf(stderr, fmt, va);
    fprintf(stderr, " (%s)\n", RTErrGetShort(rc));
}

static void on_state(PUVM uvm, PCVMMR3VTABLE vmm, VMSTATE state, VMSTATE old, void *user)
{
    (void)uvm; (void)vmm; (void)old;
    struct run_wait *w = user;
    pthread_mutex_lock(&w->lock);
    w->last = state;
    if (state == VMSTATE_OFF || state == VMSTATE_GURU_MEDITATION || state == VMSTATE_FATAL_ERROR ||
        state == VMSTATE_LOAD_FAILURE)
        w->stopped = true;
    pthread_cond_broadcast(&w->cond);
    bool wake = w->stopped;
    pthread_mutex_unlock(&w->lock);
    if (wake)
        pthread_kill(w->waiter, WAKE_SIGNAL);
}

static void on_console_quit(void *user)
{
    struct run_wait *w = user;
    pthread_mutex_lock(&w->lock);
    w->quit = true;
    pthread_mutex_unlock(&w->lock);
    pthread_kill(w->waiter, WAKE_SIGNAL);
}

/* Waits for the VM to stop, Ctrl-A x, or a signal in sigs (blocked, taken
 * here); WAKE_SIGNAL (also in sigs) only wakes it to look again. */
static int wait_for_stop(struct run_wait *w, const sigset_t *sigs)
{
    for (;;) {
        pthread_mutex_lock(&w->lock);
        bool stopped = w->stopped || w->quit;
        pthread_mutex_unlock(&w->lock);
        if (stopped)
            return 0;
        struct timespec ts = { 1, 0 };
        int sig = sigtimedwait(sigs, NULL, &ts);
        if (sig > 0 && sig != WAKE_SIGNAL)
            return sig;
    }
}

/* One line on stderr: which engine runs the guest, and why. */
static void log_engine(PUVM uvm)
{
    char why[256] = "";
    if (RT_SUCCESS(EMR3QueryExecutionEngineReason(uvm, why, sizeof(why))) && why[0])
        fprintf(stderr, "petrel: engine %s\n", why);
}

static struct control_server *start_control(PUVM uvm, const char *path)
{
    char err[512] = "";
    struct control_server *srv = control_server_start(uvm, path, err, sizeof(err));
    if (!srv)
        fprintf(stderr, "petrel: --control: %s\n", err[0] ? err : "cannot start the control socket");
    return srv;
}

/* The exit status once the VM stopped (or we were told to stop). */
static int run_status(PUVM uvm, int power_on_rc, int sig)
{
    VMSTATE st = VMR3GetStateU(uvm);
    uint32_t code = 0;
    if (RT_FAILURE(power_on_rc) || st == VMSTATE_GURU_MEDITATION || st == VMSTATE_FATAL_ERROR)
        return CLI_EXIT_GUEST_FAIL;
    if (sig)
        return 128 + sig;
    if (RT_SUCCESS(VMR3GetGuestExitCode(uvm, &code)))
        return (int)(code & 0xff);
    return CLI_EXIT_OK;
}

/* A progress line on a terminal: percentage, MiB/s of the file, ETA. */
struct progress_view {
    const char *what;
    uint64_t total_bytes;
    uint64_t start_ns;
};

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int on_progress(PUVM uvm, unsigned pct, void *user)
{
    (void)uvm;
    struct progress_view *v = user;
    double secs = (double)(mono_ns() - v->start_ns) / 1e9;
    double mib = (double)v->total_bytes * pct / 100.0 / (1 << 20);
    double rate = secs > 0 ? mib / secs : 0;
    double eta = pct && pct < 100 ? secs * (100 - pct) / pct : 0;
    fprintf(stderr, "\rpetrel: %s %3u%%  %7.1f MiB/s  ETA %4.1f s%s", v->what, pct, rate, eta, pct == 100 ? "\n" : "");
    fflush(stderr);
    return VINF_SUCCESS;
}

/*
 * The signal that stopped a wait on sig_fd (a signalfd of cmd_run's set),
 * 0 if none: WAKE_SIGNAL counts only with Ctrl-A x (it is the only thing
 * that sends it before the VM runs), which gives SIGINT's meaning.
 */
static int stop_signal(int sig_fd, struct run_wait *w)
{
    struct signalfd_siginfo si;
    while (read(sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo != WAKE_SIGNAL)
            return (int)si.ssi_signo;
        pthread_mutex_lock(&w->lock);
        bool quit = w->quit;
        pthread_mutex_unlock(&w->lock);
        if (quit)
            return SIGINT;
    }
    return 0;
}

/* Accepts and loads a teleported VM; stops early when sig_fd becomes readable. */
static int accept_and_load(PUVM uvm, const struct run_options *o, const char *password, int sig_fd)
{
    struct teleport_conn conn;
    int rc = teleport_accept(&conn, o->teleport_listen, password, TELEPORT_ATTEMPTS, sig_fd);
    if (RT_SUCCESS(rc))
        rc = VMR3LoadFromStream(uvm, &teleport_target_ops, &conn, NULL, NULL, true);
    if (RT_FAILURE(rc) && conn.error[0])
        fprintf(stderr, "petrel: teleport: %s\n", conn.error);
    teleport_close(&conn);
    return rc;
}

/*
 * --teleport-listen: one authenticated source's stream, loaded as a
 * teleport.  SIGINT/SIGTERM/SIGHUP/SIGQUIT (blocked in every thread, seen
 * here through a signalfd) and Ctrl-A x stop the wait and the transfer:
 * *sig tells which.
 */
static int receive_teleport(PUVM uvm, const struct run_options *o, struct run_wait *w, const sigset_t *sigs,
                            int *sig)
{
    char password[TELEPORT_PASSWORD_MAX + 2], err[256];
    int rc = teleport_read_password(o->teleport_password_file, password, sizeof(password), err, sizeof(err));
    if (RT_FAILURE(rc)) {
        fprintf(stderr, "petrel: %s\n", err);
        return rc;
    }
    int sig_fd = signalfd(-1, sigs, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sig_fd < 0) {
        sodium_memzero(password, sizeof(password));
        fprintf(stderr, "petrel: teleport: cannot watch for signals (signalfd)\n");
        return VERR_NO_MEMORY;
    }
    rc = accept_and_load(uvm, o, password, sig_fd);
    sodium_memzero(password, sizeof(password));
    *sig = RT_FAILURE(rc) ? stop_signal(sig_fd, w) : 0;
    close(sig_fd);
    if (*sig)
        fprintf(stderr, "petrel: teleport: stopped by signal %d (%s) before a VM was received; exiting\n", *sig,
                strsignal(*sig));
    if (RT_SUCCESS(rc)) {
        fprintf(stderr, "petrel: teleported VM received\n");
        rc = VMR3Resume(uvm, VMRESUMEREASON_TELEPORTED);
    }
    return rc;
}

/* Loads --restore FILE or a teleported VM and resumes, or powers on. */
static int start_vm(PUVM uvm, const struct run_options *o, struct run_wait *w, const sigset_t *sigs, int *sig)
{
    if (o->teleport_listen)
        return receive_teleport(uvm, o, w, sigs, sig);
    if (!o->restore)
        return VMR3PowerOn(uvm);
    struct stat st;
    struct progress_view view = { "restoring", stat(o->restore, &st) == 0 ? (uint64_t)st.st_size : 0, mono_ns() };
    bool tty = isatty(STDERR_FILENO);
    int rc = VMR3LoadFromFile(uvm, o->restore, tty ? on_progress : NULL, &view);
    if (tty && RT_FAILURE(rc))
        fputc('\n', stderr);
    return RT_SUCCESS(rc) ? VMR3Resume(uvm, VMRESUMEREASON_STATE_RESTORED) : rc;
}

/* Runs the created VM until it stops; returns the exit status. */
static int run_vm(PUVM uvm, const struct run_options *o, struct run_wait *w, const sigset_t *sigs)
{
    struct control_server *srv = NULL;
    if (o->control && !(srv = start_control(uvm, o->control)))
        return CLI_EXIT_USAGE;
    /* A target waiting for a teleport has no guest yet: Ctrl-C stops it. */
    struct tty_console *tc =
        o->cli_reads_stdin ? tty_console_start(uvm, on_console_quit, w, o->teleport_listen != NULL) : NULL;
    int sig = 0;
    int rc = start_vm(uvm, o, w, sigs, &sig);
    if (RT_SUCCESS(rc)) {
        tty_console_guest_keys(tc);
        sig = wait_for_stop(w, sigs);
    }
    tty_console_stop(tc);              /* the terminal is sane again before any message */
    VMSTATE st = VMR3GetStateU(uvm);
    int status = RT_FAILURE(rc) && sig ? 128 + sig       /* stopped while waiting for a teleport */
               : st == VMSTATE_LOAD_FAILURE || (o->teleport_listen && st == VMSTATE_CREATED) ? CLI_EXIT_USAGE
               : run_status(uvm, rc, sig);
    /* The control socket first: a teleport waiting on its target gives up
     * (the VM resumes), so that the power-off below finds a stable state. */
    if (srv)
        control_server_stop(srv);
    if (VMR3GetStateU(uvm) != VMSTATE_OFF)
        VMR3PowerOff(uvm);
    return status;
}

int cmd_run(int argc, char **argv)
{
    struct run_options o;
    int rc = run_options_parse(argc, argv, &o);
    if (rc)
        return rc < 0 ? CLI_EXIT_OK : rc;

    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
    sigaddset(&sigs, SIGQUIT);
    sigaddset(&sigs, WAKE_SIGNAL);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    struct run_wait w = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER,
                          .waiter = pthread_self() };
    PUVM uvm = NULL;
    rc = VMR3Create((uint32_t)o.max_cpus, NULL, on_error, NULL, run_config, &o, NULL, &uvm);
    if (RT_FAILURE(rc))
        return CLI_EXIT_USAGE;
    if (!o.image)
        log_engine(uvm);
    VMR3AtStateRegister(uvm, on_state, &w);
    int status = run_vm(uvm, &o, &w, &sigs);
    VMR3AtStateDeregister(uvm, on_state, &w);
    VMR3Destroy(uvm);
    VMR3ReleaseUVM(uvm);
    fflush(stdout);
    return status;
}
