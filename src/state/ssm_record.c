/*
 * Unit records and the end marker.  A unit record header carries the
 * payload's length and CRC-32C and its own CRC, so a reader can check a
 * length before trusting it and reject a flipped bit anywhere.
 */
#include <string.h>

#include <vmm/err.h>

#include "crc32c.h"
#include "ssm_format.h"

int ssm_unit_header_write(struct ssm_writer *w, const char *name, uint32_t instance, uint32_t version,
                          uint64_t len, uint32_t payload_crc)
{
    uint8_t b[SSM_UNIT_HDR_SIZE] = { 0 };
    if (strlen(name) >= SSM_UNIT_NAME_SIZE)
        return ssm_writer_fail(w, VERR_SSM_IPE_1, "unit name '%s' is too long", name);
    memcpy(b, SSM_UNIT_MAGIC, SSM_MAGIC_SIZE);
    for (size_t i = 0; name[i]; i++)      /* NUL-padded: b is zeroed */
        b[8 + i] = (uint8_t)name[i];
    ssm_put_u32(b + 32, instance);
    ssm_put_u32(b + 36, version);
    ssm_put_u64(b + 40, len);
    ssm_put_u32(b + 48, payload_crc);
    ssm_put_u32(b + 60, crc32c(0, b, 60));
    return ssm_write(w, b, sizeof(b));
}

int ssm_unit_write(struct ssm_writer *w, const char *name, uint32_t instance, uint32_t version,
                   const void *payload, size_t len)
{
    int rc = ssm_unit_header_write(w, name, instance, version, len, crc32c(0, payload, len));
    return RT_SUCCESS(rc) ? ssm_write(w, payload, len) : rc;
}

int ssm_end_write(struct ssm_writer *w, uint32_t unit_count)
{
    uint8_t b[SSM_END_SIZE] = { 0 };
    memcpy(b, SSM_END_MAGIC, SSM_MAGIC_SIZE);
    ssm_put_u32(b + 8, unit_count);
    ssm_put_u64(b + 16, w->off);
    ssm_put_u32(b + 24, w->crc);
    ssm_put_u32(b + 28, crc32c(0, b, 28));
    return ssm_write(w, b, sizeof(b));
}

static int end_read(struct ssm_reader *r, const uint8_t *magic, uint32_t stream_crc, uint32_t units_read)
{
    uint64_t at = r->off - SSM_MAGIC_SIZE;
    uint8_t b[SSM_END_SIZE];
    memcpy(b, magic, SSM_MAGIC_SIZE);
    int rc = ssm_read(r, b + SSM_MAGIC_SIZE, SSM_END_SIZE - SSM_MAGIC_SIZE, "end marker");
    if (rc == VERR_EOF)
        return ssm_reader_fail(r, VERR_SSM_INTEGRITY_SIZE, "end marker at offset %llu: truncated",
                               (unsigned long long)at);
    if (RT_FAILURE(rc))
        return rc;
    if (!ssm_crc_ok(crc32c(0, b, 28), ssm_get_u32(b + 28)))
        return ssm_reader_fail(r, VERR_SSM_INTEGRITY_REC_TERM_CRC, "end marker at offset %llu: checksum mismatch",
                               (unsigned long long)at);
    if (ssm_get_u32(b + 8) != units_read || ssm_get_u64(b + 16) != at)
        return ssm_reader_fail(r, VERR_SSM_INTEGRITY_REC_TERM, "end marker at offset %llu: it counts %u units "
                               "ending at %llu, the stream had %u ending at %llu", (unsigned long long)at,
                               ssm_get_u32(b + 8), (unsigned long long)ssm_get_u64(b + 16), units_read,
                               (unsigned long long)at);
    if (!ssm_crc_ok(stream_crc, ssm_get_u32(b + 24)))
        return ssm_reader_fail(r, VERR_SSM_INTEGRITY_REC_TERM_CRC, "end marker at offset %llu: the whole-stream "
                               "checksum does not match the stream", (unsigned long long)at);
    return VINF_SSM_END_MARKER;
}

int ssm_record_read(struct ssm_reader *r, struct ssm_unit_hdr *u, uint32_t units_read)
{
    uint64_t at = r->off;
    uint32_t stream_crc = r->crc;      /* the end marker covers everything before it */
    uint8_t b[SSM_UNIT_HDR_SIZE];
    int rc = ssm_read(r, b, SSM_MAGIC_SIZE, "record");
    if (rc == VERR_EOF)
        return ssm_reader_fail(r, VERR_SSM_INTEGRITY_FOOTER, "offset %llu: the stream ends without an end marker "
                               "(truncated after %u units)", (unsigned long long)at, units_read);
    if (RT_FAILURE(rc))
        return rc;
    if (memcmp(b, SSM_END_MAGIC, SSM_MAGIC_SIZE) == 0)
        return end_read(r, b, stream_crc, units_read);
    if (memcmp(b, SSM_UNIT_MAGIC, SSM_MAGIC_SIZE) != 0)
        return ssm_reader_fail(r, VERR_SSM_INTEGRITY_UNIT_MAGIC, "offset %llu: no unit or end marker here (bad "
                               "record magic)", (unsigned long long)at);
    rc = ssm_read(r, b + SSM_MAGIC_SIZE, SSM_UNIT_HDR_SIZE - SSM_MAGIC_SIZE, "unit header");
    if (rc == VERR_EOF)
        rc = ssm_reader_fail(r, VERR_SSM_INTEGRITY_SIZE, "unit header at offset %llu: truncated",
                             (unsigned long long)at);
    if (RT_FAILURE(rc))
        return rc;
    if (!ssm_crc_ok(crc32c(0, b, 60), ssm_get_u32(b + 60)))
        return ssm_reader_fail(r, VERR_SSM_INTEGRITY_REC_HDR, "unit header at offset %llu: checksum mismatch",
                               (unsigned long long)at);
    memcpy(u->name, b + 8, SSM_UNIT_NAME_SIZE);
    if (u->name[SSM_UNIT_NAME_SIZE - 1] != '\0')
        return ssm_reader_fail(r, VERR_SSM_INTEGRITY_UNIT, "unit header at offset %llu: the name is not "
                               "terminated", (unsigned long long)at);
    u->instance = ssm_get_u32(b + 32);
    u->version = ssm_get_u32(b + 36);
    u->length = ssm_get_u64(b + 40);
    u->payload_crc = ssm_get_u32(b + 48);
    return VINF_SUCCESS;
}
