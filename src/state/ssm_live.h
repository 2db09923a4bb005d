/*
 * Saving a VM: the state machine of VMR3Save and VMR3Teleport around the
 * stream writer (ssm_save_vm.c).
 */
#ifndef PETREL_SSM_LIVE_H
#define PETREL_SSM_LIVE_H

#include "../core/vm_internal.h"
#include "ssm_stream_io.h"

struct ssm_target {
    const char  *filename;             /* or ops + user */
    PCSSMSTRMOPS ops;
    void        *user;
    bool         raw_ram;              /* a file with a mappable RAM image */
};

enum ssm_save_mode { SSM_LIVE_SAVE, SSM_LIVE_TELEPORT };

/* downtime_ms: the longest the guest may stay stopped for the final pass
 * (VMR3Save: 250 ms, as the API fixes it; VMR3Teleport: the caller's). */
int ssm_save_vm(PVM vm, const struct ssm_target *target, struct ssm_progress *progress, enum ssm_save_mode mode,
                uint32_t downtime_ms, bool *suspended);

#endif /* PETREL_SSM_LIVE_H */
