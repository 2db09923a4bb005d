/*
 * Picks the execution engine named in the VM configuration (/ExecEngine).
 * "auto" means KVM for now; the interpreter will become the fallback when
 * it exists (see the interpreter issue).
 */
#include "engine.h"

#include <stdio.h>
#include <string.h>

#include "kvm/kvm_engine.h"

extern const struct engine_ops interp_engine_ops;   /* interp/interp_engine.c */

const struct engine_ops *engine_select(const char *name, char *why, size_t why_size)
{
    if (!name || !strcmp(name, "auto") || !strcmp(name, "kvm")) {
        if (kvm_engine_available(why, why_size))
            return &kvm_engine_ops;
        return NULL;
    }
    if (!strcmp(name, "interp"))
        return &interp_engine_ops;
    snprintf(why, why_size, "unknown execution engine '%s' (use kvm, interp or auto)", name);
    return NULL;
}
