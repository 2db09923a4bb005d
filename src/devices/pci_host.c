/*
 * PCI host bridge, configuration mechanism #1 (see pci_host.h).  The
 * CONFIG_ADDRESS latch is shared by all vCPUs as on real hardware (Linux
 * serializes config cycles with pci_config_lock); a mutex keeps the
 * latch, the function table and the callbacks consistent.
 */
#include "pci_host.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <vmm/err.h>

#include "../core/vm_internal.h"
#include "../io/io_bus.h"

#define CONFIG_ENABLE   UINT32_C(0x80000000)
#define CONFIG_MASK     UINT32_C(0x80FFFFFC)     /* bits 30-24 and 1-0 read 0 */
#define RCR_RST_CPU     0x04
#define RCR_KEEP        0x0A                     /* SYS_RST, FULL_RST: stored, read back */
#define PCI_FUNCTIONS   256
#define PCI_CONFIG_SIZE 256

struct pci_slot {
    const struct pci_function_ops *ops;
    void *opaque;
};

struct pci_host {
    pthread_mutex_t lock;
    uint32_t address;                            /* CONFIG_ADDRESS latch */
    uint8_t rcr;                                 /* reset control register */
    void (*reset)(void *opaque);
    void *reset_opaque;
    uint8_t bridge_config[PCI_CONFIG_SIZE];      /* 00:00.0 */
    struct pci_slot fn[PCI_FUNCTIONS];
};

/* --- 00:00.0, the host bridge's own config space: read-only but for COMMAND --- */

static uint32_t bridge_read(void *opaque, unsigned offset, unsigned size)
{
    struct pci_host *h = opaque;
    uint32_t v = 0;
    memcpy(&v, h->bridge_config + offset, size);   /* little-endian host */
    return v;
}

static void bridge_write(void *opaque, unsigned offset, unsigned size, uint32_t value)
{
    struct pci_host *h = opaque;
    for (unsigned i = 0; i < size; i++)
        if (offset + i == 0x04)                    /* COMMAND: memory, I/O, master */
            h->bridge_config[0x04] = (uint8_t)(value >> (8 * i)) & 0x07;
}

static const struct pci_function_ops bridge_ops = { bridge_read, bridge_write };

static void bridge_init(struct pci_host *h)
{
    uint8_t *c = h->bridge_config;
    memset(c, 0, PCI_CONFIG_SIZE);
    c[0x00] = PCI_HOST_VENDOR_ID & 0xFF;
    c[0x01] = PCI_HOST_VENDOR_ID >> 8;
    c[0x02] = PCI_HOST_DEVICE_ID & 0xFF;
    c[0x03] = PCI_HOST_DEVICE_ID >> 8;
    c[0x04] = 0x06;                                /* COMMAND: memory + master */
    c[0x09] = (uint8_t)PCI_HOST_CLASS;             /* prog-if */
    c[0x0A] = (uint8_t)(PCI_HOST_CLASS >> 8);      /* subclass: host */
    c[0x0B] = (uint8_t)(PCI_HOST_CLASS >> 16);     /* class: bridge */
    c[0x0E] = 0x00;                                /* header type 0, single function */
}

/* --- config cycles through 0xCFC-0xCFF --- */

/* The function CONFIG_ADDRESS selects, or NULL (disabled, bus != 0, empty). */
static struct pci_slot *selected(struct pci_host *h)
{
    if (!(h->address & CONFIG_ENABLE) || ((h->address >> 16) & 0xFF) != 0)
        return NULL;
    struct pci_slot *s = &h->fn[(h->address >> 8) & 0xFF];
    return s->ops ? s : NULL;
}

/* Misaligned accesses (a word at 0xCFD) become byte cycles: functions see aligned ones only. */
static uint32_t data_read(struct pci_host *h, unsigned byte, unsigned size)
{
    struct pci_slot *s = selected(h);
    unsigned offset = (h->address & 0xFC) + byte;
    if (!s)
        return UINT32_MAX;                         /* master abort */
    if (!(offset & (size - 1)))
        return s->ops->config_read(s->opaque, offset, size);
    uint32_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (s->ops->config_read(s->opaque, offset + i, 1) & 0xFF) << (8 * i);
    return v;
}

static void data_write(struct pci_host *h, unsigned byte, unsigned size, uint32_t value)
{
    struct pci_slot *s = selected(h);
    unsigned offset = (h->address & 0xFC) + byte;
    if (!s)
        return;
    if (!(offset & (size - 1)))
        s->ops->config_write(s->opaque, offset, size, value);
    else
        for (unsigned i = 0; i < size; i++)
            s->ops->config_write(s->opaque, offset + i, 1, (value >> (8 * i)) & 0xFF);
}

static uint32_t pci_port_read(void *opaque, uint16_t port, unsigned size)
{
    struct pci_host *h = opaque;
    uint32_t v = UINT32_MAX;
    pthread_mutex_lock(&h->lock);
    if (port >= PCI_CONFIG_DATA_PORT)
        v = data_read(h, port - PCI_CONFIG_DATA_PORT, size);
    else if (port == PCI_CONFIG_ADDRESS_PORT && size == 4)
        v = h->address;
    else if (port == PCI_RESET_CONTROL_PORT && size == 1)
        v = h->rcr;
    pthread_mutex_unlock(&h->lock);
    return v;
}

static void pci_port_write(void *opaque, uint16_t port, unsigned size, uint32_t value)
{
    struct pci_host *h = opaque;
    bool reset = false;
    pthread_mutex_lock(&h->lock);
    if (port >= PCI_CONFIG_DATA_PORT)
        data_write(h, port - PCI_CONFIG_DATA_PORT, size, value);
    else if (port == PCI_CONFIG_ADDRESS_PORT && size == 4)
        h->address = value & CONFIG_MASK;
    else if (port == PCI_RESET_CONTROL_PORT && size == 1) {
        h->rcr = (uint8_t)value & RCR_KEEP;
        reset = value & RCR_RST_CPU;
    }
    pthread_mutex_unlock(&h->lock);
    if (reset && h->reset)                         /* outside the lock: the VM acts */
        h->reset(h->reset_opaque);
}

static const struct io_port_ops pci_port_ops = { pci_port_read, pci_port_write };

/* --- life cycle and registration --- */

struct pci_host *pci_host_create(struct io_bus *bus, void (*reset)(void *opaque), void *opaque)
{
    struct pci_host *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    pthread_mutex_init(&h->lock, NULL);
    h->reset = reset;
    h->reset_opaque = opaque;
    bridge_init(h);
    h->fn[0] = (struct pci_slot){ &bridge_ops, h };
    if (RT_FAILURE(io_bus_register_ports(bus, PCI_CONFIG_ADDRESS_PORT, 8, &pci_port_ops, h, "pci-host"))) {
        pthread_mutex_destroy(&h->lock);
        free(h);
        return NULL;
    }
    return h;
}

void pci_host_destroy(struct pci_host *host)
{
    if (!host)
        return;
    pthread_mutex_destroy(&host->lock);
    free(host);
}

void pci_host_reset(struct pci_host *host)
{
    pthread_mutex_lock(&host->lock);
    host->address = 0;
    host->rcr = 0;
    host->bridge_config[0x04] = 0x06;
    pthread_mutex_unlock(&host->lock);
}

int pci_host_register_function(struct pci_host *host, uint8_t devfn,
                               const struct pci_function_ops *ops, void *opaque)
{
    if (!host || !ops || !ops->config_read || !ops->config_write)
        return VERR_INVALID_PARAMETER;
    int rc = VINF_SUCCESS;
    pthread_mutex_lock(&host->lock);
    if (host->fn[devfn].ops)
        rc = VERR_ALREADY_EXISTS;
    else
        host->fn[devfn] = (struct pci_slot){ ops, opaque };
    pthread_mutex_unlock(&host->lock);
    return rc;
}

int pci_host_unregister_function(struct pci_host *host, uint8_t devfn)
{
    if (!host)
        return VERR_INVALID_PARAMETER;
    if (devfn == 0)
        return VERR_ACCESS_DENIED;                 /* the host bridge stays */
    int rc = VINF_SUCCESS;
    pthread_mutex_lock(&host->lock);
    if (!host->fn[devfn].ops)
        rc = VERR_NOT_FOUND;
    host->fn[devfn] = (struct pci_slot){ NULL, NULL };
    pthread_mutex_unlock(&host->lock);
    return rc;
}

/* --- the "pci" device --- */

struct pci_host_dev {
    struct VM *vm;
    struct pci_host *host;
};

static void dev_reset_request(void *opaque)
{
    struct pci_host_dev *d = opaque;
    vm_guest_request_reset(d->vm);
}

static int pci_dev_create(struct VM *vm, PCFGMNODE cfg, void **state)
{
    (void)cfg;
    struct pci_host_dev *d = calloc(1, sizeof(*d));
    if (!d)
        return VMSetError(vm, VERR_NO_MEMORY, RT_SRC_POS, "pci: out of memory");
    d->vm = vm;
    d->host = pci_host_create(vm->io, dev_reset_request, d);
    if (!d->host) {
        free(d);
        return VMSetError(vm, VERR_ALREADY_EXISTS, RT_SRC_POS,
                          "pci: ports 0xcf8-0xcff are already taken (or out of memory)");
    }
    *state = d;
    return VINF_SUCCESS;
}

static void pci_dev_destroy(void *state)
{
    struct pci_host_dev *d = state;
    pci_host_destroy(d->host);
    free(d);
}

static void pci_dev_reset(void *state)
{
    struct pci_host_dev *d = state;
    pci_host_reset(d->host);
}

/* --- saved state --- */

void pci_host_save(struct pci_host *h, struct pci_host_saved *o)
{
    memset(o, 0, sizeof(*o));
    pthread_mutex_lock(&h->lock);
    o->address = h->address;
    o->rcr = h->rcr;
    memcpy(o->bridge_config, h->bridge_config, sizeof(o->bridge_config));
    pthread_mutex_unlock(&h->lock);
}

/* Only COMMAND of 00:00.0 is guest-writable: the rest must be what this bridge is. */
int pci_host_load(struct pci_host *h, const struct pci_host_saved *o)
{
    pthread_mutex_lock(&h->lock);
    bool same = memcmp(o->bridge_config, h->bridge_config, 4) == 0 && !(o->bridge_config[4] & ~0x07) &&
                memcmp(o->bridge_config + 5, h->bridge_config + 5, sizeof(o->bridge_config) - 5) == 0 &&
                !(o->rcr & ~RCR_KEEP);
    if (same) {
        h->address = o->address;
        h->rcr = o->rcr;
        memcpy(h->bridge_config, o->bridge_config, sizeof(h->bridge_config));
    }
    pthread_mutex_unlock(&h->lock);
    return same ? VINF_SUCCESS : VERR_SSM_UNEXPECTED_DATA;
}

static void pci_dev_save(void *state, void *saved)
{
    pci_host_save(((struct pci_host_dev *)state)->host, saved);
}

static int pci_dev_load(void *state, const void *saved)
{
    return pci_host_load(((struct pci_host_dev *)state)->host, saved);
}

const struct device_ops pci_host_device_ops = {
    .name = "pci",
    .create = pci_dev_create,
    .destroy = pci_dev_destroy,
    .reset = pci_dev_reset,
    .saved_version = PCI_HOST_SAVED_VERSION,
    .saved_size = sizeof(struct pci_host_saved),
    .save = pci_dev_save,
    .load = pci_dev_load,
};

struct pci_host *pci_host_of_vm(struct VM *vm)
{
    if (!vm)
        return NULL;
    for (struct device_instance *i = vm->devices; i; i = i->next)
        if (i->ops == &pci_host_device_ops)
            return ((struct pci_host_dev *)i->state)->host;
    return NULL;
}
