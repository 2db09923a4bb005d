/*
 * The progress callback of save and load: 0..100, never backwards, each
 * value once (100 only on success: the callers report it last).
 */
#include "ssm_stream_io.h"

void ssm_progress_report(struct ssm_progress *p, unsigned percent)
{
    if (!p || !p->fn || percent <= p->last)
        return;
    p->last = percent;
    p->fn(p->uvm, percent, p->user);
}
