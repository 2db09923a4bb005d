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

#endif /* PETREL_CRC32C_H */
