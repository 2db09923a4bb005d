/*
 * Writing RAM units: runs of consecutive pages (never across the hole),
 * at most SSM_RAM_MAX_DATA_PAGES pages of data per unit, compressed as one
 * zstd frame so that small scattered pages still compress together.
 */
#include <stdlib.h>
#include <string.h>

#include <zstd.h>
#include <vmm/err.h>

#include "ssm_format.h"
#include "ssm_ram.h"

#define ZSTD_LEVEL 1

struct unit_build {
    uint32_t runs, data_pages;
    uint64_t run_first;                /* page index of the open run */
    uint32_t run_pages;
    bool     run_zero, run_open;
};

int ssm_ram_saver_init(struct ssm_ram_saver *s, struct ssm_writer *w, const struct guest_ram *ram)
{
    memset(s, 0, sizeof(*s));
    s->w = w;
    s->ram = ram;
    s->cctx = ZSTD_createCCtx();
    s->data = malloc((size_t)SSM_RAM_MAX_DATA_PAGES * GUEST_PAGE_SIZE);
    s->payload = malloc(SSM_RAM_MAX_PAYLOAD);
    if (!s->cctx || !s->data || !s->payload) {
        ssm_ram_saver_term(s);
        return ssm_writer_fail(w, VERR_NO_MEMORY, "out of memory for the RAM compressor");
    }
    return VINF_SUCCESS;
}

void ssm_ram_saver_term(struct ssm_ram_saver *s)
{
    ZSTD_freeCCtx(s->cctx);
    free(s->data);
    free(s->payload);
    s->cctx = NULL;
    s->data = s->payload = NULL;
}

bool ssm_ram_page_is_zero(const uint8_t *p)
{
    const uint64_t *q = (const uint64_t *)p;
    for (unsigned i = 0; i < GUEST_PAGE_SIZE / 8; i++)
        if (q[i])
            return false;
    return true;
}

static uint64_t page_gpa(const struct guest_ram *ram, uint64_t page)
{
    uint64_t off = page * GUEST_PAGE_SIZE;
    return off < ram->low_size ? off : GUEST_4G + (off - ram->low_size);
}

static void run_close(struct ssm_ram_saver *s, struct unit_build *b)
{
    if (!b->run_open)
        return;
    uint8_t *rec = s->payload + SSM_RAM_HDR_SIZE + (size_t)b->runs * SSM_RAM_RUN_SIZE;
    ssm_put_u64(rec, page_gpa(s->ram, b->run_first));
    ssm_put_u32(rec + 8, b->run_pages);
    ssm_put_u32(rec + 12, b->run_zero ? 1u : 0u);
    b->runs++;
    b->run_open = false;
}

static int unit_flush(struct ssm_ram_saver *s, struct unit_build *b)
{
    run_close(s, b);
    if (b->runs == 0)
        return VINF_SUCCESS;
    size_t raw = (size_t)b->data_pages * GUEST_PAGE_SIZE;
    size_t hdr = SSM_RAM_HDR_SIZE + (size_t)b->runs * SSM_RAM_RUN_SIZE;
    size_t comp = 0;
    if (raw) {
        comp = ZSTD_compressCCtx(s->cctx, s->payload + hdr, SSM_RAM_MAX_PAYLOAD - hdr, s->data, raw, ZSTD_LEVEL);
        if (ZSTD_isError(comp))
            return ssm_writer_fail(s->w, VERR_SSM_IPE_2, "RAM unit %u: compression failed: %s", s->next_instance,
                                   ZSTD_getErrorName(comp));
    }
    ssm_put_u32(s->payload, b->runs);
    ssm_put_u32(s->payload + 4, 1u);   /* flags: page data is one zstd frame */
    ssm_put_u64(s->payload + 8, raw);
    int rc = ssm_unit_write(s->w, SSM_RAM_UNIT_NAME, s->next_instance++, SSM_RAM_UNIT_VERSION, s->payload,
                            hdr + comp);
    s->units_written++;
    s->bytes_sent += hdr + comp + SSM_UNIT_HDR_SIZE;
    memset(b, 0, sizeof(*b));
    return rc;
}

/* Adds one page to the unit being built, flushing it when full. */
static int page_add(struct ssm_ram_saver *s, struct unit_build *b, uint64_t page, bool zero)
{
    bool low_edge = page * GUEST_PAGE_SIZE == s->ram->low_size;   /* runs never cross the hole */
    if (b->run_open && (b->run_zero != zero || b->run_first + b->run_pages != page || low_edge))
        run_close(s, b);
    if ((!zero && b->data_pages == SSM_RAM_MAX_DATA_PAGES) || (!b->run_open && b->runs == SSM_RAM_MAX_RUNS)) {
        int rc = unit_flush(s, b);
        if (RT_FAILURE(rc))
            return rc;
    }
    if (!b->run_open) {
        b->run_open = true;
        b->run_first = page;
        b->run_pages = 0;
        b->run_zero = zero;
    }
    b->run_pages++;
    s->pages_sent += !zero;
    if (!zero) {
        GUEST_READS_BEGIN();
        memcpy(s->data + (size_t)b->data_pages++ * GUEST_PAGE_SIZE, s->ram->host + page * GUEST_PAGE_SIZE,
               GUEST_PAGE_SIZE);
        GUEST_READS_END();
    }
    return VINF_SUCCESS;
}

int ssm_ram_save_pass(struct ssm_ram_saver *s, const uint8_t *dirty)
{
    struct unit_build b;
    memset(&b, 0, sizeof(b));
    uint64_t pages = s->ram->size / GUEST_PAGE_SIZE;
    for (uint64_t p = 0; p < pages; p++) {
        if (dirty && !(dirty[p / 8] & (1u << (p % 8))))
            continue;
        GUEST_READS_BEGIN();
        bool zero = ssm_ram_page_is_zero(s->ram->host + p * GUEST_PAGE_SIZE);
        GUEST_READS_END();
        int rc = zero && !dirty ? VINF_SUCCESS       /* the target starts from zeroed RAM */
               : page_add(s, &b, p, zero);
        if (RT_FAILURE(rc))
            return rc;
        if (s->progress && (p & 0xfff) == 0)
            s->progress(s->progress_user, p, pages);
    }
    return unit_flush(s, &b);
}
