/*
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of
 * every saved-state record and of the whole stream.
 */
#ifndef PETREL_CRC32C_H
#define PETREL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continues a CRC: start with crc32c(0, ...), feed the result back in. */
uint32_t crc32c(uint32_t crc, const void *data, size_t len);
/* The same without the SSE4.2 instruction (what hosts without it use). */
uint32_t crc32c_portable(uint32_t crc, const void *data, size_t len);

/*
 * Whether a stored checksum matches the computed one.  A fuzzing build
 * accepts any, so that the fuzzer reaches what the checksums protect.
 */
static inline int ssm_crc_ok(uint32_t computed, uint32_t stored)
{
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    (void)computed; (void)stored;
    return 1;
#else
    return computed == stored;
#endif
}

#endif /* PETREL_CRC32C_H */
