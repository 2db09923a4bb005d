/*
 * Picks the execution engine named in the VM configuration (/ExecEngine).
 *
 * "auto" takes KVM only where the CPU itself virtualizes guest kernel mode
 * (the host CPU reports vmx or svm).  A /dev/kvm without them is a software
 * hypervisor that runs guest ring-0 code in its own instruction emulator at
 * about a million instructions per second; Petrel's interpreter is two
 * orders of magnitude faster there, so auto takes the interpreter.
 */
#include "engine.h"

#include <cpuid.h>
#include <stdio.h>
#include <string.h>

#include "kvm/kvm_engine.h"

extern const struct engine_ops interp_engine_ops;   /* interp/interp_engine.c */

/* Whether the host CPU reports hardware virtualization (Intel VMX, AMD SVM). */
static const char *host_virt_extension(void)
{
    unsigned a, b, c, d;
    if (__get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 5)))
        return "vmx";
    if (__get_cpuid(0x80000001, &a, &b, &c, &d) && (c & (1u << 2)))
        return "svm";
    return NULL;
}

static const struct engine_ops *select_auto(char *why, size_t why_size)
{
    char kvm_why[256] = "";
    const char *ext = host_virt_extension();
    if (!kvm_engine_available(kvm_why, sizeof(kvm_why))) {
        snprintf(why, why_size, "auto: the interpreter, because KVM is not usable (%s)", kvm_why);
        return &interp_engine_ops;
    }
    if (!ext) {
        snprintf(why, why_size, "auto: the interpreter, because the host CPU has no vmx/svm: /dev/kvm "
                                "would run guest kernel code in its instruction emulator");
        return &interp_engine_ops;
    }
    snprintf(why, why_size, "auto: KVM, because /dev/kvm is usable and the host CPU has %s", ext);
    return &kvm_engine_ops;
}

const struct engine_ops *engine_select(const char *name, char *why, size_t why_size)
{
    if (!name || !strcmp(name, "auto"))
        return select_auto(why, why_size);
    if (!strcmp(name, "kvm")) {
        if (!kvm_engine_available(why, why_size))
            return NULL;
        snprintf(why, why_size, "kvm: asked for by name");
        return &kvm_engine_ops;
    }
    if (!strcmp(name, "interp")) {
        snprintf(why, why_size, "interp: asked for by name");
        return &interp_engine_ops;
    }
    snprintf(why, why_size, "unknown execution engine '%s' (use kvm, interp or auto)", name);
    return NULL;
}
