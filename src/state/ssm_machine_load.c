/*
 * Checking and applying the VM's non-RAM units.  A unit's header is
 * checked against this VM before its payload is read; payloads are kept
 * (each at most SSM_UNIT_PAYLOAD_MAX, one per known unit) and applied only
 * once the end marker has vouched for the whole stream.
 */
#include <stdlib.h>
#include <string.h>

#include "../devices/i8254.h"
#include "../devices/i8259.h"
#include "../time/vclock.h"
#include "ssm_cpu.h"
#include "ssm_machine.h"

struct unit_rule {
    uint32_t version;
    uint64_t min_len, max_len;
    const struct device_instance *dev; /* a device unit */
};

static const struct { const char *name; uint32_t version; size_t size; } chip_units[] = {
    { "i8259", I8259_SAVED_VERSION, sizeof(struct i8259_saved) },
    { "i8254", I8254_SAVED_VERSION, sizeof(struct i8254_saved) },
};
#define CHIP_COUNT (sizeof(chip_units) / sizeof(chip_units[0]))

static const struct device_instance *device_by_unit(PVM vm, const char *name, uint32_t instance)
{
    uint32_t n = 0;
    for (const struct device_instance *d = vm->devices; d; d = d->next) {
        if (strcmp(d->ops->name, name) != 0)
            continue;
        if (n++ == instance)
            return d->ops->save && d->ops->load ? d : NULL;
    }
    return NULL;
}

/* The rule for (name, instance) in this VM; false when it knows no such unit. */
static bool unit_rule(PVM vm, const char *name, uint32_t instance, struct unit_rule *rule)
{
    memset(rule, 0, sizeof(*rule));
    if (!strcmp(name, SSM_CLOCK_UNIT_NAME)) {
        *rule = (struct unit_rule){ SSM_CLOCK_UNIT_VERSION, 8, 8, NULL };
        return instance == 0;
    }
    if (!strcmp(name, SSM_CPU_UNIT_NAME)) {
        *rule = (struct unit_rule){ SSM_CPU_UNIT_VERSION, 1, SSM_CPU_PAYLOAD_MAX, NULL };
        return instance < vm->cCpus;
    }
    for (size_t i = 0; i < CHIP_COUNT; i++)
        if (!strcmp(name, chip_units[i].name)) {
            *rule = (struct unit_rule){ chip_units[i].version, chip_units[i].size, chip_units[i].size, NULL };
            return instance == 0;
        }
    const struct device_instance *d = device_by_unit(vm, name, instance);
    if (!d)
        return false;
    *rule = (struct unit_rule){ d->ops->saved_version, d->ops->saved_size, d->ops->saved_size, d };
    return true;
}

static struct ssm_pending_unit *find_pending(struct ssm_machine_load *ml, const char *name, uint32_t instance)
{
    for (uint32_t i = 0; i < ml->count; i++)
        if (ml->units[i].instance == instance && !strcmp(ml->units[i].name, name))
            return &ml->units[i];
    return NULL;
}

int ssm_machine_check_unit(struct ssm_machine_load *ml, struct ssm_reader *r, uint64_t at,
                           const struct ssm_unit_hdr *u)
{
    struct unit_rule rule;
    if (!unit_rule(ml->vm, u->name, u->instance, &rule))
        return ssm_reader_fail(r, VERR_SSM_INTEGRITY_UNIT_NOT_FOUND, "unit '%s' instance %u at offset %llu: this VM "
                               "has no such unit", u->name, u->instance, (unsigned long long)at);
    if (find_pending(ml, u->name, u->instance))
        return ssm_reader_fail(r, VERR_SSM_UNIT_EXISTS, "unit '%s' instance %u at offset %llu: it appears twice",
                               u->name, u->instance, (unsigned long long)at);
    if (u->version != rule.version)
        return ssm_reader_fail(r, VERR_SSM_UNSUPPORTED_DATA_UNIT_VERSION, "unit '%s' instance %u at offset %llu: "
                               "version %u is not known (this Petrel reads version %u)", u->name, u->instance,
                               (unsigned long long)at, u->version, rule.version);
    if (u->length > rule.max_len)
        return ssm_reader_fail(r, VERR_SSM_INTEGRITY_SIZE, "unit '%s' instance %u at offset %llu: length %llu is "
                               "more than the unit can hold (%llu)", u->name, u->instance, (unsigned long long)at,
                               (unsigned long long)u->length, (unsigned long long)rule.max_len);
    if (u->length < rule.min_len)
        return ssm_reader_fail(r, VERR_SSM_LOADED_TOO_LITTLE, "unit '%s' instance %u at offset %llu: length %llu is "
                               "less than the unit needs (%llu)", u->name, u->instance, (unsigned long long)at,
                               (unsigned long long)u->length, (unsigned long long)rule.min_len);
    return VINF_SUCCESS;
}

int ssm_machine_keep_unit(struct ssm_machine_load *ml, const struct ssm_unit_hdr *u, uint64_t at, uint8_t *data)
{
    if (ml->count == ml->cap) {
        uint32_t cap = ml->cap ? ml->cap * 2 : 16;
        struct ssm_pending_unit *n = realloc(ml->units, cap * sizeof(*n));
        if (!n) {
            free(data);
            return VERR_NO_MEMORY;
        }
        ml->units = n;
        ml->cap = cap;
    }
    struct ssm_pending_unit *p = &ml->units[ml->count++];
    memcpy(p->name, u->name, sizeof(p->name));
    p->instance = u->instance;
    p->at = at;
    p->data = data;
    p->len = (size_t)u->length;
    return VINF_SUCCESS;
}

void ssm_machine_load_free(struct ssm_machine_load *ml)
{
    for (uint32_t i = 0; i < ml->count; i++)
        free(ml->units[i].data);
    free(ml->units);
    ml->units = NULL;
    ml->count = ml->cap = 0;
}

static struct ssm_pending_unit *require(struct ssm_machine_load *ml, struct ssm_reader *r, const char *name,
                                        uint32_t instance)
{
    struct ssm_pending_unit *p = find_pending(ml, name, instance);
    if (!p)
        ssm_reader_fail(r, VERR_SSM_LOAD_CONFIG_MISMATCH, "unit '%s' instance %u: missing from the saved state, "
                        "which this VM needs (different machine configuration?)", name, instance);
    return p;
}

/* Whether the engine owns chip i (it can produce its state). */
static bool engine_owns_chip(PVM vm, size_t i, uint8_t *scratch)
{
    return vm->engine->device_state_save &&
           RT_SUCCESS(vm->engine->device_state_save(vm, chip_units[i].name, scratch, chip_units[i].size));
}

static int apply_chips(struct ssm_machine_load *ml, struct ssm_reader *r)
{
    PVM vm = ml->vm;
    uint8_t scratch[512];
    for (size_t i = 0; i < CHIP_COUNT; i++) {
        struct ssm_pending_unit *p = find_pending(ml, chip_units[i].name, 0);
        bool owned = chip_units[i].size <= sizeof(scratch) && engine_owns_chip(vm, i, scratch);
        if (!p && !owned)
            continue;
        if (!p)
            return require(ml, r, chip_units[i].name, 0) ? VINF_SUCCESS : r->rc;
        int rc = vm->engine->device_state_load ? vm->engine->device_state_load(vm, p->name, p->data, p->len)
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
