/*
 * The saved-state stream format (docs/saved-state-format.md has it byte by
 * byte): a header with the machine fingerprint, named units each framed by
 * a record header with two CRC-32Cs, and an end marker with a checksum of
 * the whole stream.  All integers are little-endian.
 */
#ifndef PETREL_SSM_FORMAT_H
#define PETREL_SSM_FORMAT_H

#include <stdint.h>

#include "ssm_stream.h"

#define SSM_MAGIC_SIZE       8
/* The record magics: 8 bytes each, no NUL. */
static const char SSM_MAGIC[SSM_MAGIC_SIZE] = { 'P', 'E', 'T', 'R', 'E', 'L', 'S', 'S' };
static const char SSM_UNIT_MAGIC[SSM_MAGIC_SIZE] = { 'P', 'S', 'S', 'M', 'U', 'N', 'I', 'T' };
static const char SSM_END_MAGIC[SSM_MAGIC_SIZE] = { 'P', 'S', 'S', 'M', 'E', 'N', 'D', '!' };
#define SSM_FORMAT_VERSION   1u

#define SSM_HEADER_SIZE      128u
#define SSM_UNIT_HDR_SIZE    64u
#define SSM_END_SIZE         32u
#define SSM_UNIT_NAME_SIZE   24u               /* NUL-terminated, NUL-padded */
#define SSM_VERSION_SIZE     32u
#define SSM_CPUID_WORDS      8u

/* Guest-visible CPU features in the fingerprint (see ssm_cpuid_words()). */
enum ssm_cpuid_word {
    SSM_CPUID_1_ECX, SSM_CPUID_1_EDX, SSM_CPUID_7_EBX, SSM_CPUID_7_ECX,
    SSM_CPUID_7_EDX, SSM_CPUID_81_ECX, SSM_CPUID_81_EDX, SSM_CPUID_D_EAX,
};

/* What must match between the saved machine and the one loading it. */
struct ssm_fingerprint {
    uint64_t ram_size, ram_low_size, ram_hole_size;
    uint32_t vcpu_count;
    uint32_t cpuid[SSM_CPUID_WORDS];
};

struct ssm_header {
    uint32_t format_version;
    char     petrel_version[SSM_VERSION_SIZE];
    struct ssm_fingerprint fp;
};

struct ssm_unit_hdr {
    char     name[SSM_UNIT_NAME_SIZE];
    uint32_t instance;
    uint32_t version;
    uint64_t length;
    uint32_t payload_crc;
};

int ssm_header_write(struct ssm_writer *w, const struct ssm_header *h);
/* Checks magic, version and header CRC; fills h. */
int ssm_header_read(struct ssm_reader *r, struct ssm_header *h);
/* Compares a loaded fingerprint with the target machine's (messages name the field). */
int ssm_fingerprint_check(struct ssm_reader *r, const struct ssm_fingerprint *saved,
                          const struct ssm_fingerprint *target);

/* One whole unit: record header then payload. */
int ssm_unit_write(struct ssm_writer *w, const char *name, uint32_t instance, uint32_t version,
                   const void *payload, size_t len);
/* A record header alone, for a payload the caller writes itself. */
int ssm_unit_header_write(struct ssm_writer *w, const char *name, uint32_t instance, uint32_t version,
                          uint64_t len, uint32_t payload_crc);
int ssm_end_write(struct ssm_writer *w, uint32_t unit_count);

/*
 * Reads the next record: a unit header (returns VINF_SUCCESS and fills u)
 * or the end marker (returns VINF_EOF after checking its count and
 * checksums against what was read).  The payload is left to the caller.
 */
#define VINF_SSM_END_MARKER  VINF_EOF
int ssm_record_read(struct ssm_reader *r, struct ssm_unit_hdr *u, uint32_t units_read);

#endif /* PETREL_SSM_FORMAT_H */
