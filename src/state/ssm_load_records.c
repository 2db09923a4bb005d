/*
 * The records of a stream after its header: each unit header is checked
 * (name, instance, version, length bound) before anything is allocated or
 * read for its payload; RAM units go straight into guest memory, the
 * others are kept for ssm_machine_apply; the end marker ends the loop.
 */
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "ssm_machine.h"
#include "ssm_stream_io.h"

/* Reads a checked payload and verifies its CRC; returns it (caller frees). */
static uint8_t *payload_read(struct ssm_load *l, const struct ssm_unit_hdr *u, uint64_t at)
{
    uint8_t *data = malloc(u->length ? (size_t)u->length : 1);
    if (!data) {
        ssm_reader_fail(&l->r, VERR_NO_MEMORY, "unit '%s' at offset %llu: out of memory", u->name,
                        (unsigned long long)at);
        return NULL;
    }
    int rc = ssm_read(&l->r, data, (size_t)u->length, u->name);
    if (rc == VERR_EOF)
        rc = ssm_reader_fail(&l->r, VERR_SSM_INTEGRITY_SIZE, "unit '%s' instance %u at offset %llu: its %llu-byte "
                             "payload runs past the end of the stream", u->name, u->instance,
                             (unsigned long long)at, (unsigned long long)u->length);
    if (RT_SUCCESS(rc) && !ssm_crc_ok(crc32c(0, data, (size_t)u->length), u->payload_crc))
        rc = ssm_reader_fail(&l->r, VERR_SSM_INTEGRITY_CRC, "unit '%s' instance %u at offset %llu: payload "
                             "checksum mismatch", u->name, u->instance, (unsigned long long)at);
    if (RT_FAILURE(rc)) {
        free(data);
        return NULL;
    }
    return data;
}

static int ram_unit(struct ssm_load *l, const struct ssm_unit_hdr *u, uint64_t at)
{
    if (u->version != SSM_RAM_UNIT_VERSION)
        return ssm_reader_fail(&l->r, VERR_SSM_UNSUPPORTED_DATA_UNIT_VERSION, "unit 'ram' instance %u at offset "
                               "%llu: version %u is not known (this Petrel reads version %u)", u->instance,
                               (unsigned long long)at, u->version, SSM_RAM_UNIT_VERSION);
    if (u->length > SSM_RAM_MAX_PAYLOAD)
        return ssm_reader_fail(&l->r, VERR_SSM_INTEGRITY_SIZE, "unit 'ram' instance %u at offset %llu: length %llu "
                               "is more than a RAM unit can hold", u->instance, (unsigned long long)at,
                               (unsigned long long)u->length);
    uint8_t *data = payload_read(l, u, at);
    if (!data)
        return l->r.rc;
    int rc = ssm_ram_load_unit(&l->ram, &l->r, at, u->instance, data, (size_t)u->length);
    free(data);
    return rc;
}

static int other_unit(struct ssm_load *l, const struct ssm_unit_hdr *u, uint64_t at)
{
    int rc = ssm_machine_check_unit(&l->ml, &l->r, at, u);
    if (RT_FAILURE(rc))
        return rc;
    uint8_t *data = payload_read(l, u, at);
    if (!data)
        return l->r.rc;
    rc = ssm_machine_keep_unit(&l->ml, u, at, data);
    return RT_FAILURE(rc) ? ssm_reader_fail(&l->r, rc, "out of memory keeping unit '%s'", u->name) : rc;
}

int ssm_load_records(struct ssm_load *l)
{
    for (uint32_t units = 0;; units++) {
        struct ssm_unit_hdr u;
        uint64_t at = l->r.off;
        int rc = ssm_record_read(&l->r, &u, units);
        if (rc == VINF_SSM_END_MARKER)
            return VINF_SUCCESS;
        if (RT_FAILURE(rc))
            return rc;
        if (!strcmp(u.name, SSM_RAM_UNIT_NAME))
            rc = ram_unit(l, &u, at);
        else if (!strcmp(u.name, SSM_RAM_IMAGE_UNIT_NAME))
            rc = ssm_ram_image_load(&l->ram, &l->r, &u, at, l->map_file ? l->map_fd : -1, l->size);
        else
            rc = other_unit(l, &u, at);
        if (RT_FAILURE(rc))
            return rc;
        if (l->size)
            ssm_progress_report(l->progress, 1 + (unsigned)(97 * (l->r.off > l->size ? l->size : l->r.off) / l->size));
    }
}

