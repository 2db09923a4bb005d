/*
 * The random-program tests' generator: xorshift64 over one static state
 * (seed `rng` with a non-zero value), reproducible from a printed seed.
 */
#ifndef PETREL_TESTS_XORSHIFT_H
#define PETREL_TESTS_XORSHIFT_H

#include <stdint.h>

static uint64_t rng;

static inline uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static inline unsigned rn(unsigned n) { return (unsigned)(rnd() % n); }

#endif
