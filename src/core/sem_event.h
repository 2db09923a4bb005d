/*
 * Auto-reset event semaphore on a futex: RTSEMEVENT's implementation.
 * Signal wakes one waiter (or lets the next wait return at once).
 */
#ifndef PETREL_SEM_EVENT_H
#define PETREL_SEM_EVENT_H

#include <stdint.h>
#include <stdatomic.h>
#include <vmm/types.h>

struct RTSEMEVENTINTERNAL {
    atomic_uint signalled;   /* futex word: 0 or 1 */
    atomic_uint waiters;
};

int  sem_event_create(RTSEMEVENT *sem);
void sem_event_destroy(RTSEMEVENT sem);
void sem_event_signal(RTSEMEVENT sem);
/* VINF_SUCCESS when signalled, VERR_TIMEOUT otherwise; RT_INDEFINITE_WAIT waits forever. */
int  sem_event_wait(RTSEMEVENT sem, RTMSINTERVAL ms);
/* Consumes a pending signal without waiting. */
void sem_event_reset(RTSEMEVENT sem);

/* Monotonic clock in nanoseconds. */
uint64_t time_now_ns(void);
/* This thread's CPU time (user + system) in nanoseconds. */
uint64_t thread_cpu_ns(void);

/* futex helpers shared by the core's wait loops. */
void futex_wait_u32(atomic_uint *word, unsigned expected, uint64_t timeout_ns);
void futex_wake_u32(atomic_uint *word, int count);

#endif /* PETREL_SEM_EVENT_H */
