/*
 * The virtual clock and device timers (see vclock.h).
 *
 * Guest time is host CLOCK_MONOTONIC time minus the time spent paused:
 * while running, now = virt_base + (host_now - host_base); while paused,
 * now = virt_base.  Armed timers sit in a list sorted by deadline; one timer
 * thread per clock sleeps on a CLOCK_MONOTONIC condition variable until the
 * earliest deadline (or forever while paused / nothing is armed) and is
 * signalled whenever that changes, so an idle clock costs no CPU.
 *
 * A callback runs with the clock unlocked; `current` names the timer whose
 * callback is running so that disarm/destroy from another thread can wait
 * for it, while the callback itself may re-arm, disarm or destroy its own
 * timer without waiting on itself.
 */
#include "vclock.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>

#define NS_PER_SEC 1000000000ull

struct vtimer {
    struct vclock *clock;
    vtimer_fn *fn;
    void *opaque;
    uint64_t deadline;
    bool armed;                     /* on the clock's sorted list */
    bool dying;                     /* vtimer_destroy started: arming is ignored */
    struct vtimer *prev, *next;
    struct vtimer *all_prev, *all_next;     /* every timer of the clock */
};

struct vclock {
    pthread_mutex_t lock;
    pthread_cond_t wake;            /* timer thread: deadlines or state changed */
    pthread_cond_t idle;            /* a callback finished */
    bool running;
    uint64_t virt_base;             /* guest ns at host_base (or while paused) */
    uint64_t host_base;             /* host monotonic ns when last resumed/set */
    struct vtimer *head;            /* armed timers, earliest deadline first */
    struct vtimer *current;         /* timer whose callback is running */
    struct vtimer *all;             /* every timer, for vclock_destroy */
    uint64_t asleep_until;          /* guest ns the timer thread waits for (UINT64_MAX: no
                                       deadline); 0 while it runs and will look at head anyway */
    pthread_t thread;
    bool stop;
};

/* The clock whose timer thread this is (NULL on every other thread). */
static __thread struct vclock *tls_timer_clock;

static uint64_t host_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

static uint64_t now_locked(const struct vclock *c)
{
    if (!c->running)
        return c->virt_base;
    return c->virt_base + (host_ns() - c->host_base);
}

static void list_remove(struct vclock *c, struct vtimer *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        c->head = t->next;
    if (t->next)
        t->next->prev = t->prev;
    t->prev = t->next = NULL;
    t->armed = false;
}

/* Inserts after any timer with the same deadline, so equal deadlines fire FIFO. */
static void list_insert(struct vclock *c, struct vtimer *t)
{
    struct vtimer *prev = NULL, *it = c->head;
    while (it && it->deadline <= t->deadline) {
        prev = it;
        it = it->next;
    }
    t->prev = prev;
    t->next = it;
    if (prev)
        prev->next = t;
    else
        c->head = t;
    if (it)
        it->prev = t;
    t->armed = true;
}

/* Host monotonic time at which the clock reaches virt (clock running). */
static struct timespec host_deadline(const struct vclock *c, uint64_t virt)
{
    uint64_t delta = virt - c->virt_base;
    uint64_t host = c->host_base + delta;
    if (host < c->host_base)        /* overflow: "never" in practice */
        host = UINT64_MAX / 2;
    struct timespec ts = { .tv_sec = (time_t)(host / NS_PER_SEC),
                           .tv_nsec = (long)(host % NS_PER_SEC) };
    return ts;
}

/* Runs t's callback with the clock unlocked; called and returns locked. */
static void fire(struct vclock *c, struct vtimer *t)
{
    list_remove(c, t);
    c->current = t;
    vtimer_fn *fn = t->fn;
    void *opaque = t->opaque;
    pthread_mutex_unlock(&c->lock);
    fn(opaque);                     /* may re-arm or even destroy t */
    pthread_mutex_lock(&c->lock);
    c->current = NULL;
    pthread_cond_broadcast(&c->idle);
}

static void *timer_thread(void *arg)
{
    struct vclock *c = arg;
    tls_timer_clock = c;
    /* Named by itself (a prctl), not by its creator (a write to /proc on the
     * creating EMT's way to the first guest instruction). */
    pthread_setname_np(pthread_self(), "Timer");
    pthread_mutex_lock(&c->lock);
    while (!c->stop) {
        struct vtimer *t = c->head;
        if (!t || !c->running) {
            c->asleep_until = UINT64_MAX;
            pthread_cond_wait(&c->wake, &c->lock);
            c->asleep_until = 0;
            continue;
        }
        if (t->deadline > now_locked(c)) {
            struct timespec ts = host_deadline(c, t->deadline);
            c->asleep_until = t->deadline;
            pthread_cond_timedwait(&c->wake, &c->lock, &ts);
            c->asleep_until = 0;
            continue;
        }
        fire(c, t);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

static int start_thread(struct vclock *c)
{
    /* Signals (e.g. vCPU pokes) must never land on the timer thread. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int err = pthread_create(&c->thread, NULL, timer_thread, c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return err;
}

static int init_sync(struct vclock *c)
{
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr))
        return -1;
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int err = pthread_cond_init(&c->wake, &attr);
    pthread_condattr_destroy(&attr);
    if (err)
        return -1;
    if (pthread_cond_init(&c->idle, NULL)) {
        pthread_cond_destroy(&c->wake);
        return -1;
    }
    pthread_mutex_init(&c->lock, NULL);
    return 0;
}

struct vclock *vclock_create(void)
{
    struct vclock *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    if (init_sync(c)) {
        free(c);
        return NULL;
    }
    c->host_base = host_ns();
    if (start_thread(c)) {
        pthread_cond_destroy(&c->wake);
        pthread_cond_destroy(&c->idle);
        pthread_mutex_destroy(&c->lock);
        free(c);
        return NULL;
    }
    return c;
}

/* Devices destroy their timers first; any left over are freed here. */
void vclock_destroy(struct vclock *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    c->stop = true;
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->lock);
    pthread_join(c->thread, NULL);
    while (c->all) {
        struct vtimer *t = c->all;
        c->all = t->all_next;
        free(t);
    }
    pthread_cond_destroy(&c->wake);
    pthread_cond_destroy(&c->idle);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

uint64_t vclock_now(struct vclock *c)
{
    pthread_mutex_lock(&c->lock);
    uint64_t now = now_locked(c);
    pthread_mutex_unlock(&c->lock);
    return now;
}

void vclock_pause(struct vclock *c)
{
    pthread_mutex_lock(&c->lock);
    if (c->running) {
        c->virt_base = now_locked(c);
        c->running = false;
        pthread_cond_signal(&c->wake);
    }
    pthread_mutex_unlock(&c->lock);
}

void vclock_resume(struct vclock *c)
{
    pthread_mutex_lock(&c->lock);
    if (!c->running) {
        c->host_base = host_ns();
        c->running = true;
        pthread_cond_signal(&c->wake);
    }
    pthread_mutex_unlock(&c->lock);
}

bool vclock_running(struct vclock *c)
{
    pthread_mutex_lock(&c->lock);
    bool running = c->running;
    pthread_mutex_unlock(&c->lock);
    return running;
}

void vclock_set(struct vclock *c, uint64_t now_ns)
{
    pthread_mutex_lock(&c->lock);
    c->virt_base = now_ns;
    c->host_base = host_ns();
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->lock);
}

uint64_t vclock_next_deadline(struct vclock *c)
{
    pthread_mutex_lock(&c->lock);
    uint64_t d = c->head ? c->head->deadline : UINT64_MAX;
    pthread_mutex_unlock(&c->lock);
    return d;
}

struct vtimer *vtimer_create(struct vclock *c, vtimer_fn *fn, void *opaque)
{
    if (!c || !fn)
        return NULL;
    struct vtimer *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->clock = c;
    t->fn = fn;
    t->opaque = opaque;
    pthread_mutex_lock(&c->lock);
    t->all_next = c->all;
    if (c->all)
        c->all->all_prev = t;
    c->all = t;
    pthread_mutex_unlock(&c->lock);
    return t;
}

/*
 * Waits until t's callback is not running, unless we are that callback
 * (the timer thread itself), which must not wait on itself.  Locked.
 */
static void wait_not_current(struct vclock *c, struct vtimer *t)
{
    if (tls_timer_clock == c)
        return;                     /* only one callback runs, and it is ours or none */
    while (c->current == t)
        pthread_cond_wait(&c->idle, &c->lock);
}

void vtimer_destroy(struct vtimer *t)
{
    if (!t)
        return;
    struct vclock *c = t->clock;
    pthread_mutex_lock(&c->lock);
    t->dying = true;                /* a callback in flight must not re-arm it */
    if (t->armed)
        list_remove(c, t);
    if (t->all_prev)
        t->all_prev->all_next = t->all_next;
    else
        c->all = t->all_next;
    if (t->all_next)
        t->all_next->all_prev = t->all_prev;
    wait_not_current(c, t);
    pthread_mutex_unlock(&c->lock);
    free(t);
}

void vtimer_arm(struct vtimer *t, uint64_t deadline_ns)
{
    struct vclock *c = t->clock;
    pthread_mutex_lock(&c->lock);
    if (t->dying) {                 /* its own callback, running while it is destroyed */
        pthread_mutex_unlock(&c->lock);
        return;
    }
    if (t->armed)
        list_remove(c, t);
    t->deadline = deadline_ns;
    list_insert(c, t);
    /* Wake the thread only for a deadline earlier than the one it sleeps
     * for: a later one costs it at most an early wake-up and a re-plan,
     * and guests re-arm their timer at every idle entry and exit. */
    if (c->head == t && deadline_ns < c->asleep_until)
        pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->lock);
}

void vtimer_disarm(struct vtimer *t)
{
    struct vclock *c = t->clock;
    pthread_mutex_lock(&c->lock);
    if (t->armed)
        list_remove(c, t);
    /* The thread sleeps until a deadline that may now be gone; a spurious
     * wake-up only re-plans, so no signal is needed. */
    wait_not_current(c, t);
    pthread_mutex_unlock(&c->lock);
}

bool vtimer_armed(struct vtimer *t)
{
    struct vclock *c = t->clock;
    pthread_mutex_lock(&c->lock);
    bool armed = t->armed;
    pthread_mutex_unlock(&c->lock);
    return armed;
}
