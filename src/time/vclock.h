/*
 * The virtual clock and device timers.
 *
 * A VM's virtual clock counts nanoseconds of guest time: it starts at 0,
 * runs while the VM runs and stops while it is paused (suspended, saving),
 * so guest timers do not fire for time the guest did not live.
 *
 * Timers fire on the clock's own timer thread, in deadline order, with no
 * lock of the clock held: a device callback takes its own lock.  Arming,
 * disarming and destroying are safe from any thread; after vtimer_disarm()
 * or vtimer_destroy() returns, the callback is not running and will not run.
 */
#ifndef PETREL_VCLOCK_H
#define PETREL_VCLOCK_H

#include <stdint.h>
#include <stdbool.h>

struct vclock;
struct vtimer;
typedef void vtimer_fn(void *opaque);

/* Created paused at time 0; NULL when out of memory or threads. */
struct vclock *vclock_create(void);
void     vclock_destroy(struct vclock *clock);
uint64_t vclock_now(struct vclock *clock);          /* ns of guest time */
void     vclock_pause(struct vclock *clock);
void     vclock_resume(struct vclock *clock);
bool     vclock_running(struct vclock *clock);
/* Sets the clock (restore from saved state); keeps the paused/running state. */
void     vclock_set(struct vclock *clock, uint64_t now_ns);

struct vtimer *vtimer_create(struct vclock *clock, vtimer_fn *fn, void *opaque);
void vtimer_destroy(struct vtimer *timer);
/* Fires fn once when the clock reaches deadline_ns (at once if already past). */
void vtimer_arm(struct vtimer *timer, uint64_t deadline_ns);
void vtimer_disarm(struct vtimer *timer);
bool vtimer_armed(struct vtimer *timer);
/* The earliest armed deadline, or UINT64_MAX (lets an EMT bound its halt wait). */
uint64_t vclock_next_deadline(struct vclock *clock);

#endif /* PETREL_VCLOCK_H */
