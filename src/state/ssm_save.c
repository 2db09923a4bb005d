/*
 * Writing a saved-state stream: header, RAM passes, machine units, end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ssm_machine.h"
#include "ssm_stream_io.h"

#ifndef PETREL_VERSION
#define PETREL_VERSION "unknown"
#endif

static void ram_progress(void *user, uint64_t done, uint64_t total)
{
    struct ssm_save *s = user;
    if (total)
        ssm_progress_report(s->progress, s->pct_lo + (unsigned)((s->pct_hi - s->pct_lo) * done / total));
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One RAM pass (dirty NULL: every non-zero page; image: the first pass as
 * a "ramimage" unit), measuring the rate of the pages sent with data. */
static int any_pass(struct ssm_save *s, const uint8_t *dirty, bool image, unsigned lo, unsigned hi)
{
    s->pct_lo = lo;
    s->pct_hi = hi;
    uint64_t t0 = now_ns(), pages0 = s->ram.pages_sent;
    int rc = image ? ssm_ram_image_write(&s->ram) : ssm_ram_save_pass(&s->ram, dirty);
    uint64_t ns = now_ns() - t0, bytes = (s->ram.pages_sent - pages0) * GUEST_PAGE_SIZE;
    if (RT_SUCCESS(rc) && bytes >= (UINT64_C(1) << 20) && ns)   /* too little data says nothing */
        s->bytes_per_s = (uint64_t)((unsigned __int128)bytes * 1000000000u / ns);
    s->passes++;
    return rc;
}

static int ram_pass(struct ssm_save *s, const uint8_t *dirty, unsigned lo, unsigned hi)
{
    return any_pass(s, dirty, false, lo, hi);
}

static int log_start(struct ssm_save *s)
{
    const struct engine_ops *e = s->vm->engine;
    if (!e->dirty_log_start || !e->dirty_log_fetch || !e->dirty_log_stop)
        return VINF_SUCCESS;           /* the final pass resends everything */
    s->dirty_bytes = (size_t)((s->vm->ram.size / GUEST_PAGE_SIZE + 7) / 8) + 1;
    s->dirty = calloc(1, s->dirty_bytes);
    if (!s->dirty)
        return ssm_writer_fail(&s->w, VERR_NO_MEMORY, "out of memory for the dirty-page bitmap");
    int rc = e->dirty_log_start(s->vm);
    if (RT_FAILURE(rc))
        return ssm_writer_fail(&s->w, rc, "the %s engine cannot log dirty pages (status %d)", e->name, rc);
    s->logging = true;
    return VINF_SUCCESS;
}

int ssm_save_begin(struct ssm_save *s, PVM vm, PCSSMSTRMOPS ops, void *user, struct ssm_progress *progress,
                   bool live, bool file_image)
{
    memset(s, 0, sizeof(*s));
    s->vm = vm;
    s->progress = progress;
    s->live = live;
    ssm_writer_init(&s->w, ops, user);
    s->w.holes_ok = file_image;        /* only ever a fresh file */
    int rc = ssm_ram_saver_init(&s->ram, &s->w, &vm->ram);
    if (RT_FAILURE(rc))
        return rc;
    s->ram.progress = ram_progress;
    s->ram.progress_user = s;
    struct ssm_header h;
    memset(&h, 0, sizeof(h));
    h.format_version = SSM_FORMAT_VERSION;
    snprintf(h.petrel_version, sizeof(h.petrel_version), "%s", PETREL_VERSION);
    ssm_machine_fingerprint(vm, &h.fp);
    rc = ssm_header_write(&s->w, &h);
    ssm_progress_report(progress, 2);
    if (RT_SUCCESS(rc) && live)
        rc = log_start(s);
    if (RT_SUCCESS(rc))
        rc = any_pass(s, NULL, file_image, 2, live ? 60 : 90);
    return rc;
}

static uint64_t bits_set(const uint8_t *b, size_t n)
{
    uint64_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += (uint64_t)__builtin_popcount(b[i]);
    return c;
}

/* Still running: is what is left small enough for the downtime? */
static bool converged(const struct ssm_save *s, uint64_t pages, uint32_t downtime_ms)
{
    if (pages == 0)
        return true;
    if (!s->bytes_per_s)               /* too little data so far to measure: it is small */
        return pages * GUEST_PAGE_SIZE < (UINT64_C(1) << 20);
    return pages * GUEST_PAGE_SIZE * 1000 / s->bytes_per_s <= downtime_ms;
}

static bool still_live(PVM vm)
{
    return atomic_load(&vm->enmVMState) == VMSTATE_RUNNING_LS;
}

int ssm_save_live_passes(struct ssm_save *s, uint32_t downtime_ms)
{
    if (!s->logging)
        return s->w.rc;
    if (downtime_ms < SSM_LIVE_MIN_DOWNTIME)
        downtime_ms = SSM_LIVE_MIN_DOWNTIME;
    for (unsigned pass = 1; pass <= SSM_LIVE_MAX_PASSES && RT_SUCCESS(s->w.rc) && still_live(s->vm); pass++) {
        int rc = s->vm->engine->dirty_log_fetch(s->vm, s->dirty);
        if (RT_FAILURE(rc))
            return ssm_writer_fail(&s->w, rc, "reading the dirty-page log failed (status %d)", rc);
        if (converged(s, bits_set(s->dirty, s->dirty_bytes), downtime_ms))
            break;                     /* the final pass sends these with the guest stopped */
        rc = ram_pass(s, s->dirty, 60 + pass, 61 + pass);
        memset(s->dirty, 0, s->dirty_bytes);
        if (RT_FAILURE(rc))
            return rc;
    }
    return s->w.rc;
}

static int final_ram_pass(struct ssm_save *s)
{
    if (s->logging) {
        int rc = s->vm->engine->dirty_log_fetch(s->vm, s->dirty);   /* adds to what is still pending */
        if (RT_FAILURE(rc))
            return ssm_writer_fail(&s->w, rc, "reading the dirty-page log failed (status %d)", rc);
        return ram_pass(s, s->dirty, 90, 97);
    }
    size_t bytes = (size_t)((s->vm->ram.size / GUEST_PAGE_SIZE + 7) / 8);
    uint8_t *all = malloc(bytes + 1);  /* no log: every page again, zero ones included */
    if (!all)
        return ssm_writer_fail(&s->w, VERR_NO_MEMORY, "out of memory for the final RAM pass");
    memset(all, 0xff, bytes + 1);
    int rc = ram_pass(s, all, 90, 97);
    free(all);
    return rc;
}

int ssm_save_finish(struct ssm_save *s)
{
    int rc = s->w.rc;
    if (RT_SUCCESS(rc) && s->live)
        rc = final_ram_pass(s);
    uint32_t units = s->ram.units_written;
    if (RT_SUCCESS(rc))
        rc = ssm_machine_save(s->vm, &s->w, &units);
    if (RT_SUCCESS(rc))
        rc = ssm_end_write(&s->w, units);
    if (RT_SUCCESS(rc))
        ssm_progress_report(s->progress, 98);
    return rc;
}

void ssm_save_end(struct ssm_save *s)
{
    if (s->logging)
        s->vm->engine->dirty_log_stop(s->vm);
    s->logging = false;
    free(s->dirty);
    s->dirty = NULL;
    ssm_ram_saver_term(&s->ram);
}
