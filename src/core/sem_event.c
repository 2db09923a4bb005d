/*
 * Futex-based event semaphore and clock helpers.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <vmm/err.h>
#include "sem_event.h"

uint64_t time_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void futex_wait_u32(atomic_uint *word, unsigned expected, uint64_t timeout_ns)
{
    struct timespec ts, *pts = NULL;
    if (timeout_ns) {
        ts.tv_sec = (time_t)(timeout_ns / 1000000000u);
        ts.tv_nsec = (long)(timeout_ns % 1000000000u);
        pts = &ts;
    }
    /* Relative timeout; spurious returns are fine: callers re-check. */
    syscall(SYS_futex, (unsigned *)word, FUTEX_WAIT_PRIVATE, expected, pts, NULL, 0);
}

void futex_wake_u32(atomic_uint *word, int count)
{
    syscall(SYS_futex, (unsigned *)word, FUTEX_WAKE_PRIVATE, count, NULL, NULL, 0);
}

int sem_event_create(RTSEMEVENT *sem)
{
    struct RTSEMEVENTINTERNAL *e = calloc(1, sizeof(*e));
    if (!e)
        return VERR_NO_MEMORY;
    *sem = e;
    return VINF_SUCCESS;
}

void sem_event_destroy(RTSEMEVENT sem)
{
    free(sem);
}

void sem_event_signal(RTSEMEVENT sem)
{
    /* seq_cst on both sides: the store must not pass the load of waiters. */
    atomic_store(&sem->signalled, 1);
    if (atomic_load(&sem->waiters))
        futex_wake_u32(&sem->signalled, 1);
}

void sem_event_reset(RTSEMEVENT sem)
{
    atomic_store_explicit(&sem->signalled, 0, memory_order_relaxed);
}

int sem_event_wait(RTSEMEVENT sem, RTMSINTERVAL ms)
{
    uint64_t deadline = ms == RT_INDEFINITE_WAIT ? 0 : time_now_ns() + (uint64_t)ms * 1000000u;
    for (;;) {
        unsigned one = 1;
        if (atomic_compare_exchange_strong_explicit(&sem->signalled, &one, 0,
                                                    memory_order_acq_rel, memory_order_relaxed))
            return VINF_SUCCESS;
        uint64_t timeout = 0;
        if (deadline) {
            uint64_t now = time_now_ns();
            if (now >= deadline)
                return VERR_TIMEOUT;
            timeout = deadline - now;
        }
        atomic_fetch_add(&sem->waiters, 1);
        futex_wait_u32(&sem->signalled, 0, timeout);
        atomic_fetch_sub_explicit(&sem->waiters, 1, memory_order_acq_rel);
    }
}
