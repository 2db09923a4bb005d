/*
 * Reading a saved-state stream into a VM that is not running.  Nothing is
 * allocated from a length before the length is checked against the
 * unit's bound; RAM goes straight into guest memory (zeroed first, since
 * zero pages are not in the stream); all other units wait for the end
 * marker's whole-stream checksum before they touch the VM.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "ssm_machine.h"
#include "ssm_stream_io.h"

struct load {
    PVM vm;
    struct ssm_reader r;
    struct ssm_ram_loader ram;
    struct ssm_machine_load ml;
    struct ssm_progress *progress;
    uint64_t size;                     /* stream size if known, else 0 */
};

/* Reads a checked payload and verifies its CRC; returns it (caller frees). */
static uint8_t *payload_read(struct load *l, const struct ssm_unit_hdr *u, uint64_t at)
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
    if (RT_SUCCESS(rc) && crc32c(0, data, (size_t)u->length) != u->payload_crc)
        rc = ssm_reader_fail(&l->r, VERR_SSM_INTEGRITY_CRC, "unit '%s' instance %u at offset %llu: payload "
                             "checksum mismatch", u->name, u->instance, (unsigned long long)at);
    if (RT_FAILURE(rc)) {
        free(data);
        return NULL;
    }
    return data;
}

static int ram_unit(struct load *l, const struct ssm_unit_hdr *u, uint64_t at)
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

static int other_unit(struct load *l, const struct ssm_unit_hdr *u, uint64_t at)
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

static int records_read(struct load *l)
{
    for (uint32_t units = 0;; units++) {
        struct ssm_unit_hdr u;
        uint64_t at = l->r.off;
        int rc = ssm_record_read(&l->r, &u, units);
        if (rc == VINF_SSM_END_MARKER)
            return VINF_SUCCESS;
        if (RT_FAILURE(rc))
            return rc;
        rc = !strcmp(u.name, SSM_RAM_UNIT_NAME) ? ram_unit(l, &u, at) : other_unit(l, &u, at);
        if (RT_FAILURE(rc))
            return rc;
        if (l->size)
            ssm_progress_report(l->progress, 1 + (unsigned)(97 * (l->r.off > l->size ? l->size : l->r.off) / l->size));
    }
}

int ssm_load_stream(PVM vm, PCSSMSTRMOPS ops, void *user, struct ssm_progress *progress, char *msg, size_t msg_size)
{
    struct load l;
    memset(&l, 0, sizeof(l));
    l.vm = vm;
    l.ml.vm = vm;
    l.progress = progress;
    ssm_reader_init(&l.r, ops, user);
    if (ops->pfnSize && RT_FAILURE(ops->pfnSize(user, &l.size)))
        l.size = 0;
    ssm_progress_report(progress, 1);
    struct ssm_header h;
    struct ssm_fingerprint target;
    ssm_machine_fingerprint(vm, &target);
    int rc = ssm_header_read(&l.r, &h);
    if (RT_SUCCESS(rc))
        rc = ssm_fingerprint_check(&l.r, &h.fp, &target);
    if (RT_SUCCESS(rc) && RT_FAILURE(ssm_ram_loader_init(&l.ram, &vm->ram)))
        rc = ssm_reader_fail(&l.r, VERR_NO_MEMORY, "out of memory for the RAM decompressor");
    if (RT_SUCCESS(rc)) {
        guest_ram_clear(&vm->ram);
        rc = records_read(&l);
    }
    if (RT_SUCCESS(rc))
        rc = ssm_machine_apply(&l.ml, &l.r);
    ssm_ram_loader_term(&l.ram);
    ssm_machine_load_free(&l.ml);
    if (RT_FAILURE(rc) && msg)
        snprintf(msg, msg_size, "%s", l.r.msg[0] ? l.r.msg : "the saved state could not be read");
    if (RT_SUCCESS(rc))
        ssm_progress_report(progress, 99);
    return rc;
}
