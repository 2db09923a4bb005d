/*
 * Applying the collected non-RAM units to the VM, after the end marker:
 * clock first (the chips and devices plan timers on it), then the chips
 * the engine owns, the devices, and the vCPUs on their EMTs.
 */
#include <stdlib.h>
#include <string.h>

#include "../time/vclock.h"
#include "ssm_cpu.h"
#include "ssm_machine.h"

static struct ssm_pending_unit *require(struct ssm_machine_load *ml, struct ssm_reader *r, const char *name,
                                        uint32_t instance)
{
    struct ssm_pending_unit *p = ssm_machine_find_unit(ml, name, instance);
    if (!p)
        ssm_reader_fail(r, VERR_SSM_LOAD_CONFIG_MISMATCH, "unit '%s' instance %u: missing from the saved state, "
                        "which this VM needs (different machine configuration?)", name, instance);
    return p;
}


/* Whether the engine owns chip i (it can produce its state). */
static bool engine_owns_chip(PVM vm, size_t i, uint32_t instance, uint8_t *scratch)
{
    return vm->engine->device_state_save &&
           RT_SUCCESS(vm->engine->device_state_save(vm, ssm_chip_units[i].name, instance, scratch,
                                                    ssm_chip_units[i].size));
}

static int apply_chips(struct ssm_machine_load *ml, struct ssm_reader *r)
{
    PVM vm = ml->vm;
    uint8_t scratch[512];
    for (size_t i = 0; i < SSM_CHIP_UNIT_COUNT; i++)
      for (uint32_t n = 0; n < (ssm_chip_units[i].per_cpu ? vm->cCpus : 1); n++) {
        struct ssm_pending_unit *p = ssm_machine_find_unit(ml, ssm_chip_units[i].name, n);
        bool owned = ssm_chip_units[i].size <= sizeof(scratch) && engine_owns_chip(vm, i, n, scratch);
        if (!p && (!owned || ssm_chip_units[i].optional))
            continue;
        if (!p)
            return require(ml, r, ssm_chip_units[i].name, n) ? VINF_SUCCESS : r->rc;
        int rc = vm->engine->device_state_load ? vm->engine->device_state_load(vm, p->name, n, p->data, p->len)
                                               : VERR_NOT_FOUND;
        if (rc == VERR_NOT_FOUND || rc == VERR_NOT_SUPPORTED)
            return ssm_reader_fail(r, VERR_SSM_LOAD_CONFIG_MISMATCH, "unit '%s' at offset %llu: the %s engine has "
                                   "no such chip to load it into", p->name, (unsigned long long)p->at,
                                   vm->engine->name);
        if (RT_FAILURE(rc))
            return ssm_reader_fail(r, rc, "unit '%s' at offset %llu: the chip rejected the saved values (status %d)",
                                   p->name, (unsigned long long)p->at, rc);
    }
    return VINF_SUCCESS;
}

static int apply_devices(struct ssm_machine_load *ml, struct ssm_reader *r)
{
    PVM vm = ml->vm;
    for (struct device_instance *d = vm->devices; d; d = d->next) {
        if (!d->ops->save || !d->ops->load)
            continue;
        uint32_t n = 0;
        for (struct device_instance *e = vm->devices; e != d; e = e->next)
            n += !strcmp(e->ops->name, d->ops->name);
        struct ssm_pending_unit *p = require(ml, r, d->ops->name, n);
        if (!p)
            return r->rc;
        int rc = d->ops->load(d->state, p->data);
        if (RT_FAILURE(rc))
            return ssm_reader_fail(r, rc, "unit '%s' instance %u at offset %llu: the device rejected the saved "
                                   "values (status %d)", p->name, n, (unsigned long long)p->at, rc);
    }
    return VINF_SUCCESS;
}

static int cpu_set_on_emt(PVMCPU vcpu, const struct cpu_state *st)
{
    return vcpu->pVM->engine->set_state(vcpu, st);
}

/* Every vCPU's unit is decoded before any is applied. */
static int apply_cpus(struct ssm_machine_load *ml, struct ssm_reader *r)
{
    PVM vm = ml->vm;
    struct cpu_state *st = aligned_alloc(64, sizeof(*st) * vm->cCpus);
    if (!st)
        return ssm_reader_fail(r, VERR_NO_MEMORY, "out of memory loading the vCPU states");
    int rc = VINF_SUCCESS;
    for (VMCPUID id = 0; id < vm->cCpus && RT_SUCCESS(rc); id++) {
        struct ssm_pending_unit *p = require(ml, r, SSM_CPU_UNIT_NAME, id);
        if (!p)
            rc = r->rc;
        else if (!ssm_cpu_decode(&st[id], p->data, p->len))
            rc = ssm_reader_fail(r, VERR_SSM_UNEXPECTED_DATA, "unit 'cpu' instance %u at offset %llu: the payload "
                                 "does not decode to a vCPU state", id, (unsigned long long)p->at);
    }
    for (VMCPUID id = 0; id < vm->cCpus && RT_SUCCESS(rc); id++) {
        rc = VMR3ReqCallWaitU(vm->pUVM, id, (PFNRT)cpu_set_on_emt, 2, vm->apCpus[id], &st[id]);
        if (RT_FAILURE(rc))
            ssm_reader_fail(r, rc, "unit 'cpu' instance %u: the engine refused the state (status %d)", id, rc);
    }
    free(st);
    return rc;
}

int ssm_machine_apply(struct ssm_machine_load *ml, struct ssm_reader *r)
{
    struct ssm_pending_unit *clk = require(ml, r, SSM_CLOCK_UNIT_NAME, 0);
    if (!clk)
        return r->rc;
    uint64_t now = ssm_get_u64(clk->data);
    if (now >> 62)
        return ssm_reader_fail(r, VERR_SSM_UNEXPECTED_DATA, "unit 'clock' at offset %llu: time %llu ns is out of "
                               "range", (unsigned long long)clk->at, (unsigned long long)now);
    vclock_set(ml->vm->clock, now);    /* first: the chips and devices plan timers on it */
    int rc = apply_chips(ml, r);
    if (RT_SUCCESS(rc))
        rc = apply_devices(ml, r);
    if (RT_SUCCESS(rc))
        rc = apply_cpus(ml, r);
    return rc;
}
