/*
 * Reading RAM units.  Every run is checked against the guest's RAM map and
 * the decompressed size against what the runs announce before a byte of
 * guest memory is touched.
 */
#include <stdlib.h>
#include <string.h>

#include <zstd.h>
#include <vmm/err.h>

#include "ssm_format.h"
#include "ssm_ram.h"

int ssm_ram_loader_init(struct ssm_ram_loader *l, struct guest_ram *ram)
{
    memset(l, 0, sizeof(*l));
    l->ram = ram;
    l->last_instance = -1;
    l->dctx = ZSTD_createDCtx();
    l->data = malloc((size_t)SSM_RAM_MAX_DATA_PAGES * GUEST_PAGE_SIZE);
    if (!l->dctx || !l->data) {
        ssm_ram_loader_term(l);
        return VERR_NO_MEMORY;
    }
    return VINF_SUCCESS;
}

void ssm_ram_loader_term(struct ssm_ram_loader *l)
{
    ZSTD_freeDCtx(l->dctx);
    free(l->data);
    l->dctx = NULL;
    l->data = NULL;
}

/* Checks every run; returns the number of data pages they announce, or -1. */
static int64_t runs_check(struct ssm_ram_loader *l, struct ssm_reader *r, uint64_t at, uint32_t instance,
                          const uint8_t *runs, uint32_t count)
{
    uint64_t data_pages = 0;
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *rec = runs + (size_t)i * SSM_RAM_RUN_SIZE;
        uint64_t gpa = ssm_get_u64(rec), n = ssm_get_u32(rec + 8);
        uint32_t kind = ssm_get_u32(rec + 12);
        if (gpa % GUEST_PAGE_SIZE || n == 0 || kind > 1 ||
            !guest_ram_ptr(l->ram, gpa, n * GUEST_PAGE_SIZE)) {
            ssm_reader_fail(r, VERR_SSM_UNEXPECTED_DATA, "unit 'ram' instance %u at offset %llu: run %u (%llu "
                            "pages at %#llx, kind %u) is not inside guest RAM", instance, (unsigned long long)at, i,
                            (unsigned long long)n, (unsigned long long)gpa, kind);
            return -1;
        }
        if (kind == 0)
            data_pages += n;
    }
    if (data_pages > SSM_RAM_MAX_DATA_PAGES) {
        ssm_reader_fail(r, VERR_SSM_UNEXPECTED_DATA, "unit 'ram' instance %u at offset %llu: %llu data pages, more "
                        "than a unit may hold", instance, (unsigned long long)at, (unsigned long long)data_pages);
        return -1;
    }
    return (int64_t)data_pages;
}

static void runs_apply(struct ssm_ram_loader *l, const uint8_t *runs, uint32_t count)
{
    const uint8_t *src = l->data;
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *rec = runs + (size_t)i * SSM_RAM_RUN_SIZE;
        uint64_t len = (uint64_t)ssm_get_u32(rec + 8) * GUEST_PAGE_SIZE;
        uint8_t *dst = guest_ram_ptr(l->ram, ssm_get_u64(rec), len);
        if (ssm_get_u32(rec + 12) == 1) {
            memset(dst, 0, len);
        } else {
            memcpy(dst, src, len);
            src += len;
        }
    }
}

int ssm_ram_load_unit(struct ssm_ram_loader *l, struct ssm_reader *r, uint64_t at, uint32_t instance,
                      const uint8_t *payload, size_t len)
{
    if ((int64_t)instance <= l->last_instance)
        return ssm_reader_fail(r, VERR_SSM_UNIT_EXISTS, "unit 'ram' instance %u at offset %llu: repeated or out of "
                               "order (the last was %lld)", instance, (unsigned long long)at, (long long)l->last_instance);
    l->last_instance = instance;
    if (len < SSM_RAM_HDR_SIZE)
        return ssm_reader_fail(r, VERR_SSM_LOADED_TOO_LITTLE, "unit 'ram' instance %u at offset %llu: %zu bytes, "
                               "too short", instance, (unsigned long long)at, len);
    uint32_t count = ssm_get_u32(payload), flags = ssm_get_u32(payload + 4);
    uint64_t raw = ssm_get_u64(payload + 8);
    if (count > SSM_RAM_MAX_RUNS || flags != 1 || (size_t)count * SSM_RAM_RUN_SIZE > len - SSM_RAM_HDR_SIZE)
        return ssm_reader_fail(r, VERR_SSM_UNEXPECTED_DATA, "unit 'ram' instance %u at offset %llu: bad run table "
                               "(%u runs, flags %#x)", instance, (unsigned long long)at, count, flags);
    const uint8_t *runs = payload + SSM_RAM_HDR_SIZE;
    int64_t data_pages = runs_check(l, r, at, instance, runs, count);
    if (data_pages < 0)
        return r->rc;
    if (raw != (uint64_t)data_pages * GUEST_PAGE_SIZE)
        return ssm_reader_fail(r, VERR_SSM_UNEXPECTED_DATA, "unit 'ram' instance %u at offset %llu: %llu bytes of "
                               "page data for %lld data pages", instance, (unsigned long long)at,
                               (unsigned long long)raw, (long long)data_pages);
    const uint8_t *comp = runs + (size_t)count * SSM_RAM_RUN_SIZE;
    size_t comp_len = len - SSM_RAM_HDR_SIZE - (size_t)count * SSM_RAM_RUN_SIZE;
    if (raw) {
        size_t got = ZSTD_decompressDCtx(l->dctx, l->data, (size_t)raw, comp, comp_len);
        if (ZSTD_isError(got) || got != raw)
            return ssm_reader_fail(r, VERR_SSM_INTEGRITY_DECOMPRESSION, "unit 'ram' instance %u at offset %llu: the "
                                   "page data does not decompress to %llu bytes (%s)", instance,
                                   (unsigned long long)at, (unsigned long long)raw,
                                   ZSTD_isError(got) ? ZSTD_getErrorName(got) : "wrong size");
    } else if (comp_len) {
        return ssm_reader_fail(r, VERR_SSM_LOADED_TOO_MUCH, "unit 'ram' instance %u at offset %llu: %zu bytes after "
                               "the run table of a unit without page data", instance, (unsigned long long)at, comp_len);
    }
    runs_apply(l, runs, count);
    return VINF_SUCCESS;
}
