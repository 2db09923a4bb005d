/*
 * ACPI PM block (see acpi_pm.h): PM1a event/control, PM timer, reset
 * register and GPE0.  Register semantics from ACPI 6.5 section 4.8.
 */
#include "acpi_pm.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <vmm/err.h>

#include "../boot/acpi.h"
#include "../core/vm_internal.h"
#include "../io/io_bus.h"
#include "../time/vclock.h"
#include "acpi_cpu_hotplug.h"

#define NS_PER_SEC 1000000000ull

/* Enables and control bits that stick; anything else reads 0. */
#define PM1_EN_BITS  (ACPI_PM1_TMR | ACPI_PM1_GBL | ACPI_PM1_PWRBTN | ACPI_PM1_SLPBTN | ACPI_PM1_RTC)
#define PM1_CNT_BITS (ACPI_PM1_SCI_EN | ACPI_PM1_BM_RLD | ACPI_PM1_SLP_TYP)

struct acpi_pm {
    pthread_mutex_t lock;
    struct io_bus *bus;
    struct vclock *clock;
    struct acpi_pm_callbacks cb;
    uint16_t base;
    uint16_t pm1_sts, pm1_en, pm1_cnt;
    uint16_t gpe_sts, gpe_en;
    int sci_level;
};

enum pm_action { PM_NONE, PM_POWER_OFF, PM_RESET };

/* Caller holds the lock. */
static void update_sci(struct acpi_pm *pm)
{
    int level = (pm->pm1_sts & pm->pm1_en) || (pm->gpe_sts & pm->gpe_en);
    if (level != pm->sci_level) {
        pm->sci_level = level;
        if (pm->cb.sci)
            pm->cb.sci(pm->cb.opaque, level);
    }
}

static uint32_t timer_now(const struct acpi_pm *pm)
{
    uint64_t ns = pm->clock ? vclock_now(pm->clock) : 0;
    /* Split so ns * Hz cannot overflow (it would after 85 minutes). */
    uint64_t ticks = ns / NS_PER_SEC * ACPI_PM_TIMER_HZ
                   + ns % NS_PER_SEC * ACPI_PM_TIMER_HZ / NS_PER_SEC;
    return (uint32_t)ticks;
}

static uint8_t read_byte(const struct acpi_pm *pm, unsigned off, uint32_t tmr)
{
    unsigned shift = 8 * (off & 1);
    switch (off & ~1u) {
    case ACPI_PM1_STS: return (uint8_t)(pm->pm1_sts >> shift);
    case ACPI_PM1_EN:  return (uint8_t)(pm->pm1_en >> shift);
    case ACPI_PM1_CNT: return (uint8_t)((pm->pm1_cnt | ACPI_PM1_SCI_EN) >> shift);
    case ACPI_PM_TMR:
    case ACPI_PM_TMR + 2: return (uint8_t)(tmr >> (8 * (off - ACPI_PM_TMR)));
    case ACPI_GPE0_STS: return (uint8_t)(pm->gpe_sts >> shift);
    case ACPI_GPE0_EN:  return (uint8_t)(pm->gpe_en >> shift);
    default: return 0;                 /* reset register and gaps */
    }
}

static uint16_t replace_byte(uint16_t reg, unsigned shift, uint8_t b)
{
    return (uint16_t)((reg & ~(0xFFu << shift)) | ((unsigned)b << shift));
}

/* Applies one byte; returns an action for a reset-register write. */
static enum pm_action write_byte(struct acpi_pm *pm, unsigned off, uint8_t b)
{
    unsigned shift = 8 * (off & 1);
    switch (off & ~1u) {
    case ACPI_PM1_STS: pm->pm1_sts &= (uint16_t)~((unsigned)b << shift); break;
    case ACPI_PM1_EN:  pm->pm1_en = replace_byte(pm->pm1_en, shift, b) & PM1_EN_BITS; break;
    case ACPI_PM1_CNT: pm->pm1_cnt = replace_byte(pm->pm1_cnt, shift, b); break;
    case ACPI_GPE0_STS: pm->gpe_sts &= (uint16_t)~((unsigned)b << shift); break;
    case ACPI_GPE0_EN:  pm->gpe_en = replace_byte(pm->gpe_en, shift, b); break;
    case ACPI_PM_RESET: return off == ACPI_PM_RESET && b == ACPI_PM_RESET_VALUE ? PM_RESET : PM_NONE;
    default: break;                    /* timer (read-only) and gaps */
    }
    return PM_NONE;
}

/* SLP_EN is write-only: act on it once and drop it with the other strobes. */
static enum pm_action control_written(struct acpi_pm *pm)
{
    uint16_t cnt = pm->pm1_cnt;
    pm->pm1_cnt = (uint16_t)((cnt & PM1_CNT_BITS) | ACPI_PM1_SCI_EN);
    if (!(cnt & ACPI_PM1_SLP_EN))
        return PM_NONE;
    unsigned typ = (cnt & ACPI_PM1_SLP_TYP) >> ACPI_PM1_SLP_TYP_SHIFT;
    return typ == ACPI_SLP_TYP_S5 ? PM_POWER_OFF : PM_NONE;   /* no other state is declared */
}

static uint32_t pm_port_read(void *opaque, uint16_t port, unsigned size)
{
    struct acpi_pm *pm = opaque;
    unsigned off = (unsigned)(port - pm->base);
    uint32_t tmr = timer_now(pm), v = 0;
    pthread_mutex_lock(&pm->lock);
    for (unsigned i = 0; i < size && off + i < ACPI_PM_IO_SIZE; i++)
        v |= (uint32_t)read_byte(pm, off + i, tmr) << (8 * i);
    pthread_mutex_unlock(&pm->lock);
    return v;
}

static void pm_port_write(void *opaque, uint16_t port, unsigned size, uint32_t value)
{
    struct acpi_pm *pm = opaque;
    unsigned off = (unsigned)(port - pm->base);
    enum pm_action action = PM_NONE;
    pthread_mutex_lock(&pm->lock);
    for (unsigned i = 0; i < size && i < 4 && off + i < ACPI_PM_IO_SIZE; i++) {
        if (write_byte(pm, off + i, (uint8_t)(value >> (8 * i))) == PM_RESET)
            action = PM_RESET;
        if ((off + i) >> 1 == ACPI_PM1_CNT >> 1 && control_written(pm) == PM_POWER_OFF)
            action = PM_POWER_OFF;
    }
    update_sci(pm);
    pthread_mutex_unlock(&pm->lock);
    /* Outside the lock: the VM may call back into devices while acting. */
    if (action == PM_POWER_OFF && pm->cb.power_off)
        pm->cb.power_off(pm->cb.opaque);
    else if (action == PM_RESET && pm->cb.reset)
        pm->cb.reset(pm->cb.opaque);
}

static const struct io_port_ops acpi_pm_port_ops = {
    .read = pm_port_read,
    .write = pm_port_write,
};

struct acpi_pm *acpi_pm_create(struct io_bus *bus, uint16_t base, struct vclock *clock,
                               const struct acpi_pm_callbacks *cb)
{
    if (!bus || (uint32_t)base + ACPI_PM_IO_SIZE > 0x10000u)
        return NULL;
    struct acpi_pm *pm = calloc(1, sizeof(*pm));
    if (!pm)
        return NULL;
    pthread_mutex_init(&pm->lock, NULL);
    pm->bus = bus;
    pm->clock = clock;
    pm->base = base;
    if (cb)
        pm->cb = *cb;
    pm->pm1_cnt = ACPI_PM1_SCI_EN;
    if (RT_FAILURE(io_bus_register_ports(bus, base, ACPI_PM_IO_SIZE, &acpi_pm_port_ops, pm, "acpi-pm"))) {
        pthread_mutex_destroy(&pm->lock);
        free(pm);
        return NULL;
    }
    return pm;
}

void acpi_pm_destroy(struct acpi_pm *pm)
{
    if (!pm)
        return;
    pthread_mutex_destroy(&pm->lock);
    free(pm);
}

void acpi_pm_reset(struct acpi_pm *pm)
{
    pthread_mutex_lock(&pm->lock);
    pm->pm1_sts = pm->pm1_en = 0;
    pm->gpe_sts = pm->gpe_en = 0;
    pm->pm1_cnt = ACPI_PM1_SCI_EN;
    update_sci(pm);
    pthread_mutex_unlock(&pm->lock);
}

uint16_t acpi_pm_io_base(const struct acpi_pm *pm)
{
    return pm->base;
}

void acpi_pm_power_button(struct acpi_pm *pm)
{
    pthread_mutex_lock(&pm->lock);
    pm->pm1_sts |= ACPI_PM1_PWRBTN;
    update_sci(pm);
    pthread_mutex_unlock(&pm->lock);
}

void acpi_pm_gpe_raise(struct acpi_pm *pm, unsigned bit)
{
    if (bit >= 16)
        return;
    pthread_mutex_lock(&pm->lock);
    pm->gpe_sts |= (uint16_t)(1u << bit);
    update_sci(pm);
    pthread_mutex_unlock(&pm->lock);
}

/* --- the "acpi" device: wires the callbacks to the VM --- */

struct acpi_pm_dev {
    struct VM *vm;
    struct acpi_pm *pm;
    struct acpi_cpu_hotplug *cpu_hotplug;    /* NULL: no CPU hot plug */
};

static void dev_power_off(void *opaque)
{
    struct acpi_pm_dev *d = opaque;
    vm_guest_request_power_off(d->vm, false, 0);
}

static void dev_reset(void *opaque)
{
    struct acpi_pm_dev *d = opaque;
    vm_guest_request_reset(d->vm);
}

static void dev_sci(void *opaque, int level)
{
    struct acpi_pm_dev *d = opaque;
    irq_set(d->vm, ACPI_SCI_IRQ, level);
}

static void dev_cpu_ejected(void *opaque, uint32_t id)
{
    struct acpi_pm_dev *d = opaque;
    vm_cpu_ejected_by_guest(d->vm, id);
}

/* CpuHotPlug (default: on with more than one vCPU) and CpuPresentMask
 * (default: all vCPUs) of /Devices/acpi/0/Config. */
static int create_cpu_hotplug(struct VM *vm, PCFGMNODE cfg, struct acpi_pm_dev *d)
{
    bool on;
    uint64_t present;
    uint64_t all = vm->cCpus >= 64 ? ~UINT64_C(0) : (UINT64_C(1) << vm->cCpus) - 1;
    int rc = CFGMR3QueryBoolDef(cfg, "CpuHotPlug", &on, vm->cCpus > 1);
    if (RT_SUCCESS(rc))
        rc = CFGMR3QueryU64Def(cfg, "CpuPresentMask", &present, all);
    if (RT_FAILURE(rc))
        return VMSetError(vm, rc, RT_SRC_POS, "acpi: /Devices/acpi/0/Config/CpuHotPlug must be a boolean and "
                          "CpuPresentMask an integer");
    if (!on)
        return VINF_SUCCESS;
    d->cpu_hotplug = acpi_cpu_hotplug_create(vm->io, d->pm, present & all, vm->cCpus, dev_cpu_ejected, d);
    if (!d->cpu_hotplug)
        return VMSetError(vm, VERR_ALREADY_EXISTS, RT_SRC_POS, "acpi: CPU hot plug ports 0x%x-0x%x are already "
                          "taken (or out of memory)", ACPI_CPU_HOTPLUG_PORT,
                          ACPI_CPU_HOTPLUG_PORT + ACPI_CPU_HOTPLUG_LEN - 1);
    return VINF_SUCCESS;
}

static int acpi_dev_create(struct VM *vm, PCFGMNODE cfg, void **state)
{
    uint16_t base;
    int rc = CFGMR3QueryU16Def(cfg, "IoBase", &base, ACPI_PM_IO_BASE_DEFAULT);
    if (RT_FAILURE(rc) || base < 0x100 || (base & 0xF) || base > 0x10000 - ACPI_PM_IO_SIZE)
        return VMSetError(vm, RT_FAILURE(rc) ? rc : VERR_INVALID_PARAMETER, RT_SRC_POS,
                          "acpi: /Devices/acpi/0/Config/IoBase must be a multiple of 16 "
                          "from 0x100 to 0x%x", 0x10000 - ACPI_PM_IO_SIZE);
    struct acpi_pm_dev *d = calloc(1, sizeof(*d));
    if (!d)
        return VMSetError(vm, VERR_NO_MEMORY, RT_SRC_POS, "acpi: out of memory");
    d->vm = vm;
    struct acpi_pm_callbacks cb = { dev_power_off, dev_reset, dev_sci, d };
    d->pm = acpi_pm_create(vm->io, base, vm->clock, &cb);
    if (!d->pm) {
        free(d);
        return VMSetError(vm, VERR_ALREADY_EXISTS, RT_SRC_POS,
                          "acpi: ports 0x%x-0x%x are already taken (or out of memory)",
                          base, base + ACPI_PM_IO_SIZE - 1);
    }
    rc = create_cpu_hotplug(vm, cfg, d);
    if (RT_FAILURE(rc)) {
        acpi_pm_destroy(d->pm);
        free(d);
        return rc;
    }
    *state = d;
    return VINF_SUCCESS;
}

static void acpi_dev_destroy(void *state)
{
    struct acpi_pm_dev *d = state;
    acpi_cpu_hotplug_destroy(d->cpu_hotplug);
    acpi_pm_destroy(d->pm);
    free(d);
}

static void acpi_dev_reset(void *state)
{
    struct acpi_pm_dev *d = state;
    acpi_pm_reset(d->pm);
    if (d->cpu_hotplug)
        acpi_cpu_hotplug_reset(d->cpu_hotplug);
}

/* --- saved state --- */

void acpi_pm_save(struct acpi_pm *pm, struct acpi_pm_saved *o)
{
    memset(o, 0, sizeof(*o));
    pthread_mutex_lock(&pm->lock);
    o->pm1_sts = pm->pm1_sts;
    o->pm1_en = pm->pm1_en;
    o->pm1_cnt = pm->pm1_cnt;
    o->gpe_sts = pm->gpe_sts;
    o->gpe_en = pm->gpe_en;
    pthread_mutex_unlock(&pm->lock);
}

/* Any register value is one the guest could have written. */
int acpi_pm_load(struct acpi_pm *pm, const struct acpi_pm_saved *o)
{
    pthread_mutex_lock(&pm->lock);
    pm->pm1_sts = o->pm1_sts;
    pm->pm1_en = o->pm1_en;
    pm->pm1_cnt = o->pm1_cnt;
    pm->gpe_sts = o->gpe_sts;
    pm->gpe_en = o->gpe_en;
    pm->sci_level = -1;              /* the line is told again */
    update_sci(pm);
    pthread_mutex_unlock(&pm->lock);
    return VINF_SUCCESS;
}

static void acpi_dev_save(void *state, void *saved)
{
    acpi_pm_save(((struct acpi_pm_dev *)state)->pm, saved);
}

static int acpi_dev_load(void *state, const void *saved)
{
    return acpi_pm_load(((struct acpi_pm_dev *)state)->pm, saved);
}

const struct device_ops acpi_pm_device_ops = {
    .name = "acpi",
    .create = acpi_dev_create,
    .destroy = acpi_dev_destroy,
    .reset = acpi_dev_reset,
    .saved_version = ACPI_PM_SAVED_VERSION,
    .saved_size = sizeof(struct acpi_pm_saved),
    .save = acpi_dev_save,
    .load = acpi_dev_load,
};

struct acpi_pm *acpi_pm_of_vm(struct VM *vm)
{
    if (!vm)
        return NULL;
    for (struct device_instance *i = vm->devices; i; i = i->next)
        if (i->ops == &acpi_pm_device_ops)
            return ((struct acpi_pm_dev *)i->state)->pm;
    return NULL;
}

struct acpi_cpu_hotplug *acpi_cpu_hotplug_of_vm(struct VM *vm)
{
    if (!vm)
        return NULL;
    for (struct device_instance *i = vm->devices; i; i = i->next)
        if (i->ops == &acpi_pm_device_ops)
            return ((struct acpi_pm_dev *)i->state)->cpu_hotplug;
    return NULL;
}

int acpi_pm_press_power_button_vm(struct VM *vm)
{
    struct acpi_pm *pm = acpi_pm_of_vm(vm);
    if (!pm)
        return VERR_NOT_FOUND;
    acpi_pm_power_button(pm);
    return VINF_SUCCESS;
}
