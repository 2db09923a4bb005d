/*
 * PETREL_GUEST_PROFILE=FILE: where the guest spends the interpreter's time.
 * Each thread that runs a vCPU gets a timer on its own CPU clock (1 kHz);
 * its signal records the start of the guest block running then.  At exit
 * FILE gets those addresses, one per line in time order (the host's tick
 * may space them wider than 1 ms): `sort FILE | uniq -c | sort -rn`, then
 * look them up in the guest kernel's symbols (/proc/kallsyms in the guest).
 * A development aid: off unless the variable is set.
 */
#include "interp_internal.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define PROFILE_MAX_SAMPLES (1u << 22)

static const char *profile_path;
static uint64_t *samples;
static unsigned sample_count;                        /* atomic: several vCPU threads */
static _Thread_local struct interp_cpu *running;      /* read by this thread's own signal */
static _Thread_local bool timer_armed;

static void on_tick(int sig)
{
    (void)sig;
    const struct interp_cpu *cpu = running;
    if (!cpu)
        return;
    unsigned i = __atomic_fetch_add(&sample_count, 1, __ATOMIC_RELAXED);
    if (i < PROFILE_MAX_SAMPLES)
        samples[i] = cpu->block_rip;
}

static void write_profile(void)
{
    unsigned n = __atomic_load_n(&sample_count, __ATOMIC_RELAXED);
    if (n > PROFILE_MAX_SAMPLES)
        n = PROFILE_MAX_SAMPLES;
    FILE *f = fopen(profile_path, "w");
    if (!f) {
        fprintf(stderr, "petrel: guest profile: cannot write %s\n", profile_path);
        return;
    }
    for (unsigned i = 0; i < n; i++)
        fprintf(f, "%#llx\n", (unsigned long long)samples[i]);
    fclose(f);
}

static void profile_setup(void)
{
    profile_path = getenv("PETREL_GUEST_PROFILE");
    if (!profile_path || !*profile_path)
        return;
    samples = malloc(sizeof(*samples) * PROFILE_MAX_SAMPLES);
    struct sigaction sa = { .sa_handler = on_tick, .sa_flags = SA_RESTART };
    sigemptyset(&sa.sa_mask);
    if (!samples || sigaction(SIGPROF, &sa, NULL) || atexit(write_profile)) {
        fprintf(stderr, "petrel: guest profile: cannot set up\n");
        profile_path = NULL;
    }
}

static void arm_thread_timer(void)
{
    struct sigevent ev = { .sigev_notify = SIGEV_THREAD_ID, .sigev_signo = SIGPROF };
    ev._sigev_un._tid = gettid();     /* (glibc 2.36 names it only so) */
    timer_t t;
    struct itimerspec every_ms = { { 0, 1000000 }, { 0, 1000000 } };
    sigset_t prof;
    sigemptyset(&prof);
    sigaddset(&prof, SIGPROF);
    pthread_sigmask(SIG_UNBLOCK, &prof, NULL);       /* (vCPU threads block signals) */
    if (timer_create(CLOCK_THREAD_CPUTIME_ID, &ev, &t) == 0)
        timer_settime(t, 0, &every_ms, NULL);
}

void guest_profile_enter(struct interp_cpu *cpu)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, profile_setup);
    if (!profile_path)
        return;
    if (!timer_armed) {
        timer_armed = true;
        arm_thread_timer();
    }
    running = cpu;
}

void guest_profile_leave(void)
{
    running = NULL;
}
