/*
 * Whole saved-state streams: writing one (all at once, or as a live save
 * in two steps) and reading one into a VM.  The VM is not running while
 * machine state is written or any state is loaded.
 */
#ifndef PETREL_SSM_STREAM_IO_H
#define PETREL_SSM_STREAM_IO_H

#include "../core/vm_internal.h"
#include "ssm_machine.h"
#include "ssm_ram.h"

struct ssm_progress {
    PUVM uvm;
    PFNVMPROGRESS fn;
    void *user;
    unsigned last;                     /* never reported backwards */
};
void ssm_progress_report(struct ssm_progress *p, unsigned percent);

#define SSM_LIVE_MAX_PASSES   30u          /* then the guest is stopped anyway */
#define SSM_LIVE_MIN_DOWNTIME 32u          /* ms, as the API clamps it */

struct ssm_save {
    PVM vm;
    struct ssm_writer w;
    struct ssm_ram_saver ram;
    struct ssm_progress *progress;
    unsigned pct_lo, pct_hi;           /* the range the current RAM pass reports in */
    bool     live;                     /* RAM is copied while the guest runs */
    bool     logging;                  /* the engine's dirty log is on */
    uint8_t *dirty;                    /* pages still to send (logging) */
    size_t   dirty_bytes;
    uint64_t bytes_per_s;              /* measured page-data rate, 0 = not yet */
    unsigned passes;                   /* RAM passes written */
};

/* Header and the first RAM pass; live: the guest runs meanwhile (the
 * engine's dirty log, if it has one, is started first).  file_image: the
 * stream is a new file and the first pass is a mappable "ramimage" unit. */
int  ssm_save_begin(struct ssm_save *s, PVM vm, PCSSMSTRMOPS ops, void *user, struct ssm_progress *progress,
                    bool live, bool file_image);
/* Live: more RAM passes while the guest runs, until what is left would be
 * sent within downtime_ms at the measured rate (or the pass cap). */
int  ssm_save_live_passes(struct ssm_save *s, uint32_t downtime_ms);
/* With the VM stopped: the last RAM pass (dirty pages, or all pages again
 * without a log), the machine units, the end marker. */
int  ssm_save_finish(struct ssm_save *s);
void ssm_save_end(struct ssm_save *s);

/* A load in progress (ssm_load.c, ssm_load_records.c; the fuzz target). */
struct ssm_load {
    PVM vm;
    struct ssm_reader r;
    struct ssm_ram_loader ram;
    struct ssm_machine_load ml;
    struct ssm_progress *progress;
    uint64_t size;                     /* stream size if known, else 0 */
    bool     map_file;                 /* map_fd is the file: a RAM image may be mapped */
    int      map_fd;
};

/* Reads every record after the header up to and including the end marker. */
int  ssm_load_records(struct ssm_load *l);

/* Loads a whole stream; msg gets the reason on failure.  map_fd >= 0: the
 * stream is that file, whose RAM image (if any) is mapped copy-on-write. */
int  ssm_load_stream(PVM vm, PCSSMSTRMOPS ops, void *user, int map_fd, struct ssm_progress *progress, char *msg,
                     size_t msg_size);

#endif /* PETREL_SSM_STREAM_IO_H */
