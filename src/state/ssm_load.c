/*
 * Reading a saved-state stream into a VM that is not running: header and
 * fingerprint, the records (ssm_load_records.c), then the collected units
 * are applied (ssm_machine_apply.c).  RAM is zeroed first, since zero
 * pages are not in the stream.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ssm_machine.h"
#include "ssm_stream_io.h"

int ssm_load_stream(PVM vm, PCSSMSTRMOPS ops, void *user, int map_fd, struct ssm_progress *progress, char *msg,
                    size_t msg_size)
{
    struct ssm_load l;
    memset(&l, 0, sizeof(l));
    l.vm = vm;
    l.ml.vm = vm;
    l.progress = progress;
    l.map_file = map_fd >= 0;
    l.map_fd = map_fd;
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
        rc = ssm_load_records(&l);
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
