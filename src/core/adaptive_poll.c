/* Adaptive polling before a sleep (adaptive_poll.h). */
#include "adaptive_poll.h"

#include "sem_event.h"

bool adaptive_poll_spin(const struct adaptive_poll *p, const atomic_uint *word, unsigned seen)
{
    if (!p->ns)
        return false;
    uint64_t end = time_now_ns() + p->ns;
    do {
        for (unsigned i = 0; i < 64; i++) {
            if (atomic_load_explicit(word, memory_order_acquire) != seen)
                return true;
            __builtin_ia32_pause();
        }
    } while (time_now_ns() < end);
    return false;
}

void adaptive_poll_adapt(struct adaptive_poll *p, uint64_t slept_ns)
{
    uint64_t ns = p->ns;
    if (slept_ns > ADAPTIVE_POLL_MAX_NS)
        ns = ns / 2 < ADAPTIVE_POLL_START_NS ? 0 : ns / 2;
    else if (slept_ns > ns)
        ns = ns ? (ns * 2 > ADAPTIVE_POLL_MAX_NS ? ADAPTIVE_POLL_MAX_NS : ns * 2) : ADAPTIVE_POLL_START_NS;
    p->ns = ns;
}
