/*
 * Writing a saved-state stream.
 */
#include <stdlib.h>
#include <string.h>

#include "ssm_machine.h"
#include "ssm_stream_io.h"

#ifndef PETREL_VERSION
#define PETREL_VERSION "unknown"
#endif

void ssm_progress_report(struct ssm_progress *p, unsigned percent)
{
    if (!p || !p->fn || percent <= p->last)
        return;
    p->last = percent;
    p->fn(p->uvm, percent, p->user);
}

static void ram_progress(void *user, uint64_t done, uint64_t total)
{
    struct ssm_save *s = user;
    if (total)
        ssm_progress_report(s->progress, s->pct_lo + (unsigned)((s->pct_hi - s->pct_lo) * done / total));
}

int ssm_save_begin(struct ssm_save *s, PVM vm, PCSSMSTRMOPS ops, void *user, struct ssm_progress *progress)
{
    memset(s, 0, sizeof(*s));
    s->vm = vm;
    s->progress = progress;
    ssm_writer_init(&s->w, ops, user);
    int rc = ssm_ram_saver_init(&s->ram, &s->w, &vm->ram);
    if (RT_FAILURE(rc))
        return rc;
    s->ram.progress = ram_progress;
    s->ram.progress_user = s;
    struct ssm_header h;
    memset(&h, 0, sizeof(h));
    h.format_version = SSM_FORMAT_VERSION;
    strncpy(h.petrel_version, PETREL_VERSION, sizeof(h.petrel_version) - 1);
    ssm_machine_fingerprint(vm, &h.fp);
    rc = ssm_header_write(&s->w, &h);
    ssm_progress_report(progress, 2);
    s->pct_lo = 2;
    s->pct_hi = 90;
    if (RT_SUCCESS(rc))
        rc = ssm_ram_save_pass(&s->ram, NULL);
    return rc;
}

int ssm_save_finish(struct ssm_save *s, bool ram_changed, const uint8_t *dirty)
{
    int rc = s->w.rc;
    uint8_t *all = NULL;
    if (RT_SUCCESS(rc) && ram_changed) {
        if (!dirty) {                  /* no dirty log: every page again, zero ones included */
            size_t bytes = (size_t)(s->vm->ram.size / GUEST_PAGE_SIZE + 7) / 8;
            all = malloc(bytes ? bytes : 1);
            if (!all)
                return ssm_writer_fail(&s->w, VERR_NO_MEMORY, "out of memory for the final RAM pass");
            memset(all, 0xff, bytes);
            dirty = all;
        }
        s->pct_lo = 90;
        s->pct_hi = 97;
        rc = ssm_ram_save_pass(&s->ram, dirty);
        free(all);
    }
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
    ssm_ram_saver_term(&s->ram);
}
