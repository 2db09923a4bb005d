/*
 * Sequential saved-state streams over SSMSTRMOPS: a writer and a reader
 * that keep the offset, a running CRC-32C of everything that passed (the
 * end marker's whole-stream checksum) and the first error with a message
 * that names where it happened.
 */
#ifndef PETREL_SSM_STREAM_H
#define PETREL_SSM_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vmm/ssm.h>

#define SSM_MSG_SIZE 320

struct ssm_writer {
    PCSSMSTRMOPS ops;
    void        *user;
    uint64_t     off;
    uint32_t     crc;                 /* of every byte written so far */
    int          rc;                  /* first failure, sticky */
    bool         holes_ok;            /* a file: skipped bytes read back as zero */
    char         msg[SSM_MSG_SIZE];
};

struct ssm_reader {
    PCSSMSTRMOPS ops;
    void        *user;
    uint64_t     off;
    uint32_t     crc;                 /* of every byte read so far */
    int          rc;
    char         msg[SSM_MSG_SIZE];
};

void ssm_writer_init(struct ssm_writer *w, PCSSMSTRMOPS ops, void *user);
/* Polls pfnIsOk, then writes all of buf; a failure sticks (returned again). */
int  ssm_write(struct ssm_writer *w, const void *buf, size_t len);
/* Records the first failure with a message; returns rc. */
int  ssm_writer_fail(struct ssm_writer *w, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Writes bytes that the whole-stream checksum leaves out (a RAM image). */
int  ssm_write_unchecked(struct ssm_writer *w, const void *buf, size_t len);
/* Leaves len zero bytes as a hole (only when holes_ok: a file). */
int  ssm_write_hole(struct ssm_writer *w, uint64_t len);

void ssm_reader_init(struct ssm_reader *r, PCSSMSTRMOPS ops, void *user);
/*
 * Reads exactly len bytes.  Returns VINF_SUCCESS, VERR_EOF when the stream
 * ended before the first byte (a clean record boundary: the caller decides
 * what that means), or a failure (a short read is VERR_SSM_INTEGRITY_SIZE).
 * `what` names the record for the message.
 */
int  ssm_read(struct ssm_reader *r, void *buf, size_t len, const char *what);
/* As ssm_read, for bytes the whole-stream checksum leaves out. */
int  ssm_read_unchecked(struct ssm_reader *r, void *buf, size_t len, const char *what);
/* Steps over len bytes without reading them (the caller checked they exist). */
void ssm_reader_skip(struct ssm_reader *r, uint64_t len);
int  ssm_reader_fail(struct ssm_reader *r, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Little-endian field access for the on-disk records. */
static inline void     ssm_put_u32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static inline void     ssm_put_u64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static inline uint32_t ssm_get_u32(const uint8_t *p) { uint32_t v = 0; for (int i = 3; i >= 0; i--) v = v << 8 | p[i]; return v; }
static inline uint64_t ssm_get_u64(const uint8_t *p) { uint64_t v = 0; for (int i = 7; i >= 0; i--) v = v << 8 | p[i]; return v; }

#endif /* PETREL_SSM_STREAM_H */
