/*
 * The VM's units: what a saved state holds besides RAM, and the order it
 * is written and applied in.  Units are written by ssm_machine_save and
 * collected by the loader (bounded, small), then applied only after the
 * whole stream checked out (ssm_machine_apply).
 */
#ifndef PETREL_SSM_MACHINE_H
#define PETREL_SSM_MACHINE_H

#include "../core/vm_internal.h"
#include "ssm_format.h"

#define SSM_CLOCK_UNIT_NAME    "clock"
#define SSM_CLOCK_UNIT_VERSION 1u
#define SSM_UNIT_PAYLOAD_MAX   (UINT64_C(64) << 10)   /* any non-RAM unit */

/* The target machine's fingerprint. */
void ssm_machine_fingerprint(PVM vm, struct ssm_fingerprint *fp);

/* Writes clock, cpu, engine-owned chip and device units (VM not running). */
int  ssm_machine_save(PVM vm, struct ssm_writer *w, uint32_t *units);

/* A unit collected by the loader, applied at the end. */
struct ssm_pending_unit {
    char     name[SSM_UNIT_NAME_SIZE];
    uint32_t instance;
    uint64_t at;                       /* stream offset of its record, for messages */
    uint8_t *data;
    size_t   len;
};

struct ssm_machine_load {
    PVM vm;
    struct ssm_pending_unit *units;
    uint32_t count, cap;
};

/*
 * Checks a unit header against the units this VM knows (name, instance,
 * version, length bound, duplicates) before its payload is read.
 */
int  ssm_machine_check_unit(struct ssm_machine_load *ml, struct ssm_reader *r, uint64_t at,
                            const struct ssm_unit_hdr *u);
/* Keeps a checked unit's payload (takes ownership of data). */
int  ssm_machine_keep_unit(struct ssm_machine_load *ml, const struct ssm_unit_hdr *u, uint64_t at, uint8_t *data);
/* The unit (name, instance) collected so far, or NULL. */
struct ssm_pending_unit *ssm_machine_find_unit(struct ssm_machine_load *ml, const char *name, uint32_t instance);

/* The engine-owned chips, as engine-neutral device units (see engine.h).
 * per_cpu: one instance per vCPU.  optional: a state saved before the chip
 * existed lacks it and loads with the chip in its reset state. */
struct ssm_chip_unit { const char *name; uint32_t version; size_t size; bool per_cpu, optional; };
#define SSM_CHIP_UNIT_COUNT 4
extern const struct ssm_chip_unit ssm_chip_units[SSM_CHIP_UNIT_COUNT];

/* After the end marker: every required unit present, then applied in order
 * (ssm_machine_apply.c). */
int  ssm_machine_apply(struct ssm_machine_load *ml, struct ssm_reader *r);
void ssm_machine_load_free(struct ssm_machine_load *ml);

#endif /* PETREL_SSM_MACHINE_H */
