/*
 * CPU hot plug registers (see acpi_cpu_hotplug.h).  The host side sets the
 * present and pending bits and raises the GPE; the guest's GPE handler
 * reads (and so clears) the pending bits and notifies the processor
 * objects; the guest's _EJ0 writes EJCT once it has taken a vCPU offline.
 */
#include "acpi_cpu_hotplug.h"

#include <pthread.h>
#include <stdlib.h>

#include <vmm/err.h>

#include "../boot/acpi.h"
#include "../io/io_bus.h"
#include "acpi_pm.h"

enum { REG_PRS0 = 0x00, REG_PRS1 = 0x04, REG_INS0 = 0x08, REG_INS1 = 0x0C,
       REG_RMV0 = 0x10, REG_RMV1 = 0x14, REG_EJCT = 0x18 };

struct acpi_cpu_hotplug {
    pthread_mutex_t lock;
    struct acpi_pm *pm;
    acpi_cpu_ejected_fn *ejected;
    void *opaque;
    uint32_t max_cpus;
    uint64_t boot_present, present, inserted, remove;
};

/* Reads half of a 64-bit register; `clear` empties that half. */
static uint32_t half(uint64_t *reg, unsigned hi, bool clear)
{
    uint64_t mask = hi ? UINT64_C(0xFFFFFFFF00000000) : UINT64_C(0xFFFFFFFF);
    uint32_t v = (uint32_t)((*reg & mask) >> (hi ? 32 : 0));
    if (clear)
        *reg &= ~mask;
    return v;
}

static uint32_t hp_read(void *opaque, uint16_t port, unsigned size)
{
    struct acpi_cpu_hotplug *hp = opaque;
    unsigned off = (unsigned)(port - ACPI_CPU_HOTPLUG_PORT);
    if (size != 4 || (off & 3))
        return 0;
    uint32_t v = 0;
    pthread_mutex_lock(&hp->lock);
    switch (off) {
    case REG_PRS0: case REG_PRS1: v = half(&hp->present, off == REG_PRS1, false); break;
    case REG_INS0: case REG_INS1: v = half(&hp->inserted, off == REG_INS1, true); break;
    case REG_RMV0: case REG_RMV1: v = half(&hp->remove, off == REG_RMV1, true); break;
    default: break;
    }
    pthread_mutex_unlock(&hp->lock);
    return v;
}

static void hp_write(void *opaque, uint16_t port, unsigned size, uint32_t value)
{
    struct acpi_cpu_hotplug *hp = opaque;
    if (size != 4 || port - ACPI_CPU_HOTPLUG_PORT != REG_EJCT || value >= hp->max_cpus || value == 0)
        return;                        /* vCPU 0 is never ejected */
    uint64_t bit = UINT64_C(1) << value;
    pthread_mutex_lock(&hp->lock);
    bool was = (hp->present & bit) != 0;
    hp->present &= ~bit;
    hp->remove &= ~bit;
    pthread_mutex_unlock(&hp->lock);
    if (was && hp->ejected)            /* outside the lock: the VM queues work */
        hp->ejected(hp->opaque, value);
}

static const struct io_port_ops hp_ops = { .read = hp_read, .write = hp_write };

struct acpi_cpu_hotplug *acpi_cpu_hotplug_create(struct io_bus *bus, struct acpi_pm *pm, uint64_t present,
                                                 uint32_t max_cpus, acpi_cpu_ejected_fn *ejected,
                                                 void *opaque)
{
    if (max_cpus == 0 || max_cpus > ACPI_MAX_CPUS)
        return NULL;
    struct acpi_cpu_hotplug *hp = calloc(1, sizeof(*hp));
    if (!hp)
        return NULL;
    pthread_mutex_init(&hp->lock, NULL);
    hp->pm = pm;
    hp->ejected = ejected;
    hp->opaque = opaque;
    hp->max_cpus = max_cpus;
    hp->boot_present = hp->present = present | 1;
    if (RT_FAILURE(io_bus_register_ports(bus, ACPI_CPU_HOTPLUG_PORT, ACPI_CPU_HOTPLUG_LEN, &hp_ops, hp,
                                         "acpi-cpu-hotplug"))) {
        pthread_mutex_destroy(&hp->lock);
        free(hp);
        return NULL;
    }
    return hp;
}

void acpi_cpu_hotplug_destroy(struct acpi_cpu_hotplug *hp)
{
    if (!hp)
        return;
    pthread_mutex_destroy(&hp->lock);
    free(hp);
}

void acpi_cpu_hotplug_reset(struct acpi_cpu_hotplug *hp)
{
    pthread_mutex_lock(&hp->lock);
    hp->present = hp->boot_present;
    hp->inserted = hp->remove = 0;
    pthread_mutex_unlock(&hp->lock);
}

int acpi_cpu_hotplug_plug(struct acpi_cpu_hotplug *hp, uint32_t id)
{
    if (id >= hp->max_cpus)
        return VERR_INVALID_CPU_ID;
    uint64_t bit = UINT64_C(1) << id;
    pthread_mutex_lock(&hp->lock);
    bool was = (hp->present & bit) != 0;
    hp->present |= bit;
    hp->remove &= ~bit;
    if (!was)
        hp->inserted |= bit;
    pthread_mutex_unlock(&hp->lock);
    if (!was)
        acpi_pm_gpe_raise(hp->pm, ACPI_CPU_HOTPLUG_GPE);
    return VINF_SUCCESS;
}

int acpi_cpu_hotplug_request_unplug(struct acpi_cpu_hotplug *hp, uint32_t id)
{
    if (id >= hp->max_cpus)
        return VERR_INVALID_CPU_ID;
    uint64_t bit = UINT64_C(1) << id;
    pthread_mutex_lock(&hp->lock);
    bool present = (hp->present & bit) != 0;
    if (present) {
        hp->remove |= bit;
        hp->inserted &= ~bit;
    }
    pthread_mutex_unlock(&hp->lock);
    if (!present)
        return VERR_NOT_FOUND;
    acpi_pm_gpe_raise(hp->pm, ACPI_CPU_HOTPLUG_GPE);
    return VINF_SUCCESS;
}

uint64_t acpi_cpu_hotplug_present(struct acpi_cpu_hotplug *hp)
{
    pthread_mutex_lock(&hp->lock);
    uint64_t v = hp->present;
    pthread_mutex_unlock(&hp->lock);
    return v;
}
