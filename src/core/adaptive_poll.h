/*
 * Adaptive polling before a sleep, as KVM's halt polling does: a thread
 * about to sleep until a word changes spins on the word first, because
 * waking a sleeping thread costs tens of microseconds (a system call on
 * each side, an IPI) and the event it waits for often comes sooner.  The
 * spin starts at ADAPTIVE_POLL_START_NS and doubles while sleeps end within
 * ADAPTIVE_POLL_MAX_NS; it halves away when they are longer, so a thread
 * that waits long (an idle guest's vCPU, an idle disk) spends nothing.
 */
#ifndef PETREL_CORE_ADAPTIVE_POLL_H
#define PETREL_CORE_ADAPTIVE_POLL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define ADAPTIVE_POLL_START_NS 10000u
#define ADAPTIVE_POLL_MAX_NS   200000u

struct adaptive_poll {
    uint64_t ns;              /* the current spin; 0: sleep at once */
};

/* Spins until *word is no longer seen (true) or the spin is over (false). */
bool adaptive_poll_spin(const struct adaptive_poll *p, const atomic_uint *word, unsigned seen);
/* After a sleep of slept_ns that the spin did not avoid: grow or shrink it. */
void adaptive_poll_adapt(struct adaptive_poll *p, uint64_t slept_ns);

#endif /* PETREL_CORE_ADAPTIVE_POLL_H */
