/*
 * virtio-pci transports in a VM (see virtio_pci_vm.h): slot, INTx and the
 * BAR router over the PCI window.
 */
#include "virtio_pci_vm.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <vmm/err.h>

#include "../../boot/acpi.h"
#include "../../core/vm_internal.h"
#include "../../io/io_bus.h"
#include "../pci_host.h"

#define ROUTER_MAX 32u
#define MIB        UINT64_C(0x100000)

struct virtio_pci_router {
    uint64_t base, size;
    unsigned count, users;
    struct virtio_pci *t[ROUTER_MAX];    /* filled while the VM is built, read-only afterwards */
    /* INTx lines are shared (slots s and s+8 have the same GSI): a line is
     * the wired OR of its devices, so count who asserts it. */
    pthread_mutex_t irq_lock;
    unsigned asserted[PCI_INTX_GSI_COUNT];
};

/* The transport whose BAR0 (*msix false) or MSI-X BAR2 (*msix true) holds gpa. */
static struct virtio_pci *route(struct virtio_pci_router *r, uint64_t gpa, uint64_t *off, bool *msix)
{
    for (unsigned i = 0; i < r->count; i++) {
        uint64_t base;
        if (virtio_pci_bar_decodes(r->t[i], &base) && gpa - base < VIRTIO_PCI_BAR_SIZE) {
            *off = gpa - base;
            *msix = false;
            return r->t[i];
        }
        if (virtio_pci_msix_decodes(r->t[i], &base) && gpa - base < VIRTIO_PCI_MSIX_BAR_SIZE) {
            *off = gpa - base;
            *msix = true;
            return r->t[i];
        }
    }
    return NULL;
}

static uint64_t router_read(void *opaque, uint64_t offset, unsigned size)
{
    struct virtio_pci_router *r = opaque;
    uint64_t off;
    bool msix;
    struct virtio_pci *t = route(r, r->base + offset, &off, &msix);
    if (!t)
        return UINT64_MAX;
    return msix ? virtio_pci_msix_read(t, off, size) : virtio_pci_bar_read(t, off, size);
}

static void router_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct virtio_pci_router *r = opaque;
    uint64_t off;
    bool msix;
    struct virtio_pci *t = route(r, r->base + offset, &off, &msix);
    if (t && msix)
        virtio_pci_msix_write(t, off, size, value);
    else if (t)
        virtio_pci_bar_write(t, off, size, value);
}

static const struct io_mmio_ops router_ops = { router_read, router_write };

/* The router of an earlier virtio device of this VM, or a new one on the I/O bus. */
static int router_get(struct VM *vm, struct virtio_pci_router **out)
{
    for (struct device_instance *i = vm->devices; i; i = i->next)
        if (!strncmp(i->ops->name, "virtio-", 7)) {
            *out = ((struct virtio_vm_dev *)i->state)->router;
            (*out)->users++;
            return VINF_SUCCESS;
        }
    uint64_t base = (vm->ram.low_size + MIB - 1) & ~(MIB - 1);
    if (base >= ACPI_IOAPIC_ADDR)
        return VMSetError(vm, VERR_OUT_OF_RANGE, RT_SRC_POS,
                          "virtio: no room below 4 GiB for PCI BARs: give the VM a RAM hole (RamHoleSize)");
    struct virtio_pci_router *r = calloc(1, sizeof(*r));
    if (!r)
        return VMSetError(vm, VERR_NO_MEMORY, RT_SRC_POS, "virtio: out of memory");
    r->base = base;
    r->size = ACPI_IOAPIC_ADDR - base;
    r->users = 1;
    pthread_mutex_init(&r->irq_lock, NULL);
    int rc = io_bus_register_mmio(vm->io, r->base, r->size, &router_ops, r, "virtio-pci");
    if (RT_FAILURE(rc)) {
        free(r);
        return VMSetError(vm, rc, RT_SRC_POS, "virtio: the PCI window %#llx-%#llx is already taken",
                          (unsigned long long)base, (unsigned long long)ACPI_IOAPIC_ADDR - 1);
    }
    *out = r;
    return VINF_SUCCESS;
}

static void router_put(struct virtio_pci_router *r)
{
    if (r && --r->users == 0) {
        pthread_mutex_destroy(&r->irq_lock);
        free(r);                         /* the I/O bus goes with the VM; nobody routes any more */
    }
}

/* The transport calls this only on changes of its own level. */
static void dev_irq(void *opaque, int level)
{
    struct virtio_vm_dev *d = opaque;
    struct virtio_pci_router *r = d->router;
    unsigned line = d->gsi - PCI_INTX_GSI_BASE;
    pthread_mutex_lock(&r->irq_lock);
    unsigned before = r->asserted[line];
    r->asserted[line] = level ? before + 1 : before - (before > 0);
    if (!before != !r->asserted[line])
        irq_set(d->vm, d->gsi, level);
    pthread_mutex_unlock(&r->irq_lock);
}

/* MSI-X messages go to the engine's interrupt controllers (a failure: the message is lost,
 * as on a bus that drops a write to a non-APIC address). */
static void dev_msi(void *opaque, uint64_t addr, uint32_t data)
{
    struct virtio_vm_dev *d = opaque;
    (void)irq_msi(d->vm, addr, data);
}

static const struct pci_function_ops function_ops = { virtio_pci_config_read, virtio_pci_config_write };

/* Registers the function at PciSlot or the first free slot from 1. */
static int plug(struct VM *vm, struct pci_host *host, PCFGMNODE cfg, const char *name, struct virtio_vm_dev *d)
{
    uint32_t want;
    int rc = CFGMR3QueryU32Def(cfg, "PciSlot", &want, 0);
    if (RT_FAILURE(rc) || want > 31)
        return VMSetError(vm, VERR_INVALID_PARAMETER, RT_SRC_POS, "%s: PciSlot must be a slot number 1-31", name);
    for (unsigned slot = want ? want : 1; slot < 32; slot++) {
        rc = pci_host_register_function(host, PCI_DEVFN(slot, 0), &function_ops, d->transport);
        if (RT_SUCCESS(rc)) {
            d->slot = slot;
            d->gsi = pci_intx_gsi(slot, 0);
            return VINF_SUCCESS;
        }
        if (want)
            break;
    }
    if (want)
        return VMSetError(vm, VERR_ALREADY_EXISTS, RT_SRC_POS, "%s: PCI slot %u is taken", name, want);
    return VMSetError(vm, VERR_ALREADY_EXISTS, RT_SRC_POS, "%s: no free PCI slot left", name);
}

int virtio_vm_dev_create(struct VM *vm, PCFGMNODE cfg, const char *name, const struct virtio_device_ops *ops,
                         void *dev, uint64_t features, struct virtio_vm_dev **out)
{
    struct pci_host *host = pci_host_of_vm(vm);
    if (!host)
        return VMSetError(vm, VERR_NOT_FOUND, RT_SRC_POS,
                          "%s: virtio devices sit on the PCI bus: configure /Devices/pci/0 before them", name);
    struct virtio_vm_dev *d = calloc(1, sizeof(*d));
    if (!d)
        return VMSetError(vm, VERR_NO_MEMORY, RT_SRC_POS, "%s: out of memory", name);
    d->vm = vm;
    d->dev = dev;
    d->transport = virtio_pci_create(ops, dev, features, &vm->ram, dev_irq, d);
    int rc = d->transport ? router_get(vm, &d->router)
                          : VMSetError(vm, VERR_NO_MEMORY, RT_SRC_POS, "%s: out of memory", name);
    if (RT_SUCCESS(rc) && d->router->count == ROUTER_MAX)
        rc = VMSetError(vm, VERR_OUT_OF_RESOURCES, RT_SRC_POS, "%s: at most %u virtio devices", name, ROUTER_MAX);
    if (RT_SUCCESS(rc))
        rc = plug(vm, host, cfg, name, d);
    if (RT_FAILURE(rc)) {
        router_put(d->router);
        virtio_pci_destroy(d->transport);
        free(d);
        return rc;
    }
    struct virtio_pci_router *r = d->router;
    if (vm->engine && vm->engine->msi_send)     /* MSI-X only where messages can be delivered */
        virtio_pci_set_msi(d->transport, dev_msi, d);
    virtio_pci_set_bar(d->transport, r->base + (uint64_t)r->count * VIRTIO_PCI_BAR_SIZE);
    virtio_pci_set_msix_bar(d->transport, r->base + (uint64_t)ROUTER_MAX * VIRTIO_PCI_BAR_SIZE +
                                          (uint64_t)r->count * VIRTIO_PCI_MSIX_BAR_SIZE);
    r->t[r->count++] = d->transport;
    *out = d;
    return VINF_SUCCESS;
}

/* The host bridge was destroyed before us (creation order): nothing to unplug. */
void virtio_vm_dev_destroy(void *state)
{
    struct virtio_vm_dev *d = state;
    if (!d)
        return;
    if (d->dev_destroy)
        d->dev_destroy(d->dev);
    virtio_pci_destroy(d->transport);
    router_put(d->router);
    free(d);
}

void virtio_vm_dev_reset(void *state)
{
    virtio_pci_reset(((struct virtio_vm_dev *)state)->transport);
}

void virtio_vm_dev_save(void *state, void *saved)
{
    virtio_pci_save(((struct virtio_vm_dev *)state)->transport, saved);
}

int virtio_vm_dev_load(void *state, const void *saved)
{
    return virtio_pci_load(((struct virtio_vm_dev *)state)->transport, saved);
}
