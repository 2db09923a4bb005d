/*
 * Whole saved-state streams: writing one (all at once, or as a live save
 * in two steps) and reading one into a VM.  The VM is not running while
 * machine state is written or any state is loaded.
 */
#ifndef PETREL_SSM_STREAM_IO_H
#define PETREL_SSM_STREAM_IO_H

#include "../core/vm_internal.h"
#include "ssm_ram.h"

struct ssm_progress {
    PUVM uvm;
    PFNVMPROGRESS fn;
    void *user;
    unsigned last;                     /* never reported backwards */
};
void ssm_progress_report(struct ssm_progress *p, unsigned percent);

struct ssm_save {
    PVM vm;
    struct ssm_writer w;
    struct ssm_ram_saver ram;
    uint32_t units;
    struct ssm_progress *progress;
    unsigned pct_lo, pct_hi;           /* the range the current RAM pass reports in */
};

/* Header and the first RAM pass (the VM may run: a live save's first step). */
int  ssm_save_begin(struct ssm_save *s, PVM vm, PCSSMSTRMOPS ops, void *user, struct ssm_progress *progress);
/* With the VM stopped: the remaining RAM (all pages again when dirty is
 * NULL and begin ran while the guest ran), the machine units, the end marker. */
int  ssm_save_finish(struct ssm_save *s, bool ram_changed, const uint8_t *dirty);
void ssm_save_end(struct ssm_save *s);

/* Loads a whole stream; msg gets the reason on failure. */
int  ssm_load_stream(PVM vm, PCSSMSTRMOPS ops, void *user, struct ssm_progress *progress, char *msg, size_t msg_size);

#endif /* PETREL_SSM_STREAM_IO_H */
