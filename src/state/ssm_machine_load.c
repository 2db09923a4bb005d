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
#include "../devices/ioapic.h"
#include "../devices/lapic.h"
#include "ssm_cpu.h"
#include "ssm_machine.h"

struct unit_rule {
    uint32_t version;
    uint64_t min_len, max_len;
    const struct device_instance *dev; /* a device unit */
};

const struct ssm_chip_unit ssm_chip_units[SSM_CHIP_UNIT_COUNT] = {
    { "i8259", I8259_SAVED_VERSION, sizeof(struct i8259_saved), false, false },
    { "i8254", I8254_SAVED_VERSION, sizeof(struct i8254_saved), false, false },
    { "ioapic", IOAPIC_SAVED_VERSION, sizeof(struct ioapic_saved), false, true },
    { "lapic", LAPIC_SAVED_VERSION, sizeof(struct lapic_saved), true, true },
};

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
    for (size_t i = 0; i < SSM_CHIP_UNIT_COUNT; i++)
        if (!strcmp(name, ssm_chip_units[i].name)) {
            *rule = (struct unit_rule){ ssm_chip_units[i].version, ssm_chip_units[i].size, ssm_chip_units[i].size, NULL };
            return ssm_chip_units[i].per_cpu ? instance < vm->cCpus : instance == 0;
        }
    const struct device_instance *d = device_by_unit(vm, name, instance);
    if (!d)
        return false;
    *rule = (struct unit_rule){ d->ops->saved_version, d->ops->saved_size, d->ops->saved_size, d };
    return true;
}

struct ssm_pending_unit *ssm_machine_find_unit(struct ssm_machine_load *ml, const char *name, uint32_t instance)
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
    if (ssm_machine_find_unit(ml, u->name, u->instance))
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
