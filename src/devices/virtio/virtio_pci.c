/*
 * The virtio-pci transport: PCI configuration space with the virtio
 * vendor capabilities, life cycle, and the queue API of the device models.
 * The BAR's registers are in virtio_pci_bar.c.
 */
#include "virtio_pci_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vmm/err.h>

#include "virtio.h"

#define PCI_COMMAND          0x04
#define PCI_STATUS           0x06
#define PCI_BAR0             0x10
#define PCI_BAR1             0x14
#define PCI_BAR2             0x18
#define PCI_INTERRUPT_LINE   0x3C
#define PCI_CMD_MEMORY       0x0002
#define PCI_CMD_WRITABLE     0x0406u     /* memory, bus master, INTx disable */
#define PCI_CMD_INTX_DISABLE 0x0400
#define PCI_STATUS_CAPS      0x0010
#define PCI_STATUS_INTX      0x0008
#define BAR_MEM64            0x4u

/* virtio_pci_cap.cfg_type */
enum { CAP_COMMON = 1, CAP_NOTIFY = 2, CAP_ISR = 3, CAP_DEVICE = 4, CAP_PCI_CFG = 5 };

/* The VIRTIO_PCI_CAP_PCI_CFG window: bar, offset, length chosen by the driver, then data. */
#define CFG_WIN        0x84
#define CFG_WIN_BAR    (CFG_WIN + 4)
#define CFG_WIN_OFFSET (CFG_WIN + 8)
#define CFG_WIN_LENGTH (CFG_WIN + 12)
#define CFG_WIN_DATA   (CFG_WIN + 16)

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

static void put_cap(uint8_t *cfg, unsigned at, unsigned next, unsigned len, uint8_t type,
                    uint32_t offset, uint32_t length)
{
    cfg[at] = 0x09;                             /* vendor-specific capability */
    cfg[at + 1] = (uint8_t)next;
    cfg[at + 2] = (uint8_t)len;
    cfg[at + 3] = type;
    cfg[at + 4] = 0;                            /* BAR0 */
    put32(cfg + at + 8, offset);
    put32(cfg + at + 12, length);
}

static void config_space_init(struct virtio_pci *t)
{
    uint8_t *c = t->cfg;
    memset(c, 0, sizeof(t->cfg));
    put16(c + 0x00, VIRTIO_PCI_VENDOR);
    put16(c + 0x02, (uint16_t)(VIRTIO_PCI_DEVICE_BASE + t->ops->device_id));
    put16(c + PCI_STATUS, PCI_STATUS_CAPS);
    c[0x08] = 1;                                /* revision 1: modern only */
    c[0x09] = (uint8_t)t->ops->pci_class;
    c[0x0A] = (uint8_t)(t->ops->pci_class >> 8);
    c[0x0B] = (uint8_t)(t->ops->pci_class >> 16);
    put32(c + PCI_BAR0, BAR_MEM64);
    put16(c + 0x2C, VIRTIO_PCI_VENDOR);         /* subsystem vendor */
    put16(c + 0x2E, 0x1100);                    /* subsystem id (>= 0x40 for 1.x devices) */
    c[0x34] = 0x40;                             /* capabilities pointer */
    c[0x3D] = 1;                                /* INTA# */
    put_cap(c, 0x40, 0x50, 16, CAP_COMMON, VIRTIO_PCI_COMMON, 0x38);
    put_cap(c, 0x50, 0x64, 20, CAP_NOTIFY, VIRTIO_PCI_NOTIFY, VIRTIO_PCI_NOTIFY_MULT * t->ops->num_queues);
    put32(c + 0x50 + 16, VIRTIO_PCI_NOTIFY_MULT);
    /* No device-config capability for a device without config space (the
     * entropy device): Linux refuses to probe one of length 0. */
    bool has_cfg = t->ops->config_size > 0;
    put_cap(c, 0x64, has_cfg ? 0x74 : CFG_WIN, 16, CAP_ISR, VIRTIO_PCI_ISR, 1);
    if (has_cfg)
        put_cap(c, 0x74, CFG_WIN, 16, CAP_DEVICE, VIRTIO_PCI_DEVCFG, t->ops->config_size);
    put_cap(c, CFG_WIN, t->msi ? VIRTIO_PCI_MSIX_CAP : 0x00, 20, CAP_PCI_CFG, 0, 0);
    virtio_pci_msix_init(t);
}

struct virtio_pci *virtio_pci_create(const struct virtio_device_ops *ops, void *dev, uint64_t features,
                                     struct guest_ram *ram, virtio_irq_fn *irq, void *irq_opaque)
{
    if (!ops || !ram || !irq || ops->num_queues == 0 || ops->num_queues > VIRTIO_PCI_MAX_QUEUES ||
        ops->queue_size == 0 || ops->queue_size > VQ_MAX_SIZE || ops->config_size > 0x1000)
        return NULL;
    struct virtio_pci *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    pthread_mutex_init(&t->lock, NULL);
    t->ops = ops;
    t->dev = dev;
    t->ram = ram;
    t->irq = irq;
    t->irq_opaque = irq_opaque;
    t->offered = features | VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC) |
                 VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX);
    config_space_init(t);
    for (unsigned q = 0; q < VIRTIO_PCI_MAX_QUEUES; q++)
        vq_reset(&t->queues[q], ops->queue_size);
    return t;
}

void virtio_pci_set_msi(struct virtio_pci *t, virtio_msi_fn *msi, void *msi_opaque)
{
    pthread_mutex_lock(&t->lock);
    t->msi = msi;
    t->msi_opaque = msi_opaque;
    t->msix_count = (uint16_t)(t->ops->num_queues + 1);
    uint64_t base = t->bar_base;
    config_space_init(t);
    pthread_mutex_unlock(&t->lock);
    if (base)
        virtio_pci_set_bar(t, base);
}

void virtio_pci_destroy(struct virtio_pci *t)
{
    if (!t)
        return;
    pthread_mutex_destroy(&t->lock);
    free(t);
}

void virtio_pci_device_reset(struct virtio_pci *t)
{
    if (t->ops->quiesce)
        t->ops->quiesce(t->dev);
    pthread_mutex_lock(&t->lock);
    t->device_feature_select = t->driver_feature_select = 0;
    t->driver_features = 0;
    t->status = 0;
    t->isr = 0;
    t->queue_select = 0;
    t->config_vector = VIRTIO_MSI_NO_VECTOR;    /* the MSI-X table is the PCI function's: it stays */
    for (unsigned q = 0; q < VIRTIO_PCI_MAX_QUEUES; q++)
        t->queue_vector[q] = VIRTIO_MSI_NO_VECTOR;
    t->broken_reason[0] = 0;
    for (unsigned q = 0; q < VIRTIO_PCI_MAX_QUEUES; q++)
        vq_reset(&t->queues[q], t->ops->queue_size);
    virtio_pci_update_irq(t);
    if (t->ops->reset)
        t->ops->reset(t->dev);
    pthread_mutex_unlock(&t->lock);
}

void virtio_pci_reset(struct virtio_pci *t)
{
    pthread_mutex_lock(&t->lock);
    t->status = 0;                              /* no more pops while quiescing */
    pthread_mutex_unlock(&t->lock);
    virtio_pci_device_reset(t);
    pthread_mutex_lock(&t->lock);
    uint64_t base = t->bar_base, msix_base = t->msix_base;
    config_space_init(t);
    __atomic_store_n(&t->bar_decode, false, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&t->lock);
    virtio_pci_set_bar(t, base);                /* firmware placed them: keep them there */
    virtio_pci_set_msix_bar(t, msix_base);
}

void virtio_pci_update_irq(struct virtio_pci *t)
{
    uint16_t cmd, st;
    memcpy(&cmd, t->cfg + PCI_COMMAND, 2);
    memcpy(&st, t->cfg + PCI_STATUS, 2);
    st = (uint16_t)(t->isr ? st | PCI_STATUS_INTX : st & ~PCI_STATUS_INTX);
    put16(t->cfg + PCI_STATUS, st);
    bool level = t->isr && !(cmd & PCI_CMD_INTX_DISABLE) && !virtio_pci_msix_enabled(t);
    if (level != t->irq_level) {
        t->irq_level = level;
        t->irq(t->irq_opaque, level);
    }
}

/* --- configuration space --- */

/* The BAR access the config window asks for: false unless BAR0, 1/2/4 bytes, inside it. */
static bool window_target(struct virtio_pci *t, uint64_t *off, unsigned *len)
{
    uint32_t o, l;
    memcpy(&o, t->cfg + CFG_WIN_OFFSET, 4);
    memcpy(&l, t->cfg + CFG_WIN_LENGTH, 4);
    *off = o;
    *len = l;
    return t->cfg[CFG_WIN_BAR] == 0 && (l == 1 || l == 2 || l == 4) && o <= VIRTIO_PCI_BAR_SIZE - l;
}

uint32_t virtio_pci_config_read(void *opaque, unsigned offset, unsigned size)
{
    struct virtio_pci *t = opaque;
    uint32_t v = 0;
    uint64_t off = 0;
    unsigned len = 0;
    if (offset >= sizeof(t->cfg) || size > 4 || offset + size > sizeof(t->cfg))
        return UINT32_MAX;
    pthread_mutex_lock(&t->lock);
    memcpy(&v, t->cfg + offset, size);
    bool window = offset == CFG_WIN_DATA && window_target(t, &off, &len);
    pthread_mutex_unlock(&t->lock);
    if (window)                                 /* the BAR takes the lock itself */
        v = (uint32_t)virtio_pci_bar_read(t, off, len);
    return v;
}

void virtio_pci_publish_bar(struct virtio_pci *t)
{
    uint32_t lo, hi;
    uint16_t cmd;
    memcpy(&lo, t->cfg + PCI_BAR0, 4);
    memcpy(&hi, t->cfg + PCI_BAR1, 4);
    memcpy(&cmd, t->cfg + PCI_COMMAND, 2);
    __atomic_store_n(&t->bar_decode, false, __ATOMIC_RELEASE);
    __atomic_store_n(&t->bar_base, (uint64_t)hi << 32 | (lo & ~0xFu), __ATOMIC_RELEASE);
    __atomic_store_n(&t->bar_decode, (cmd & PCI_CMD_MEMORY) != 0, __ATOMIC_RELEASE);
    virtio_pci_msix_publish(t);
}

/* One byte of a config write: only COMMAND, BAR0/1, the interrupt line, the PCI_CFG
 * window and (with MSI-X) BAR2 and the MSI-X message control are writable. */
static void config_write_byte(struct virtio_pci *t, unsigned off, uint8_t b)
{
    if (virtio_pci_msix_config_byte(t, off, b))
        return;
    if (off == PCI_COMMAND || off == PCI_COMMAND + 1)
        t->cfg[off] = b & (uint8_t)(PCI_CMD_WRITABLE >> (8 * (off - PCI_COMMAND)));
    else if (off >= PCI_BAR0 && off < PCI_BAR1 + 4) {
        /* Size probing: address bits below the BAR size are hard-wired to 0, type bits stay. */
        uint32_t mask = (uint32_t)~(VIRTIO_PCI_BAR_SIZE - 1);
        if (off < PCI_BAR1)
            t->cfg[off] = (uint8_t)((b & (mask >> (8 * (off - PCI_BAR0)))) |
                                    (off == PCI_BAR0 ? BAR_MEM64 : 0));
        else
            t->cfg[off] = b;
    } else if (off == PCI_INTERRUPT_LINE || off == CFG_WIN_BAR || (off >= CFG_WIN_OFFSET && off < CFG_WIN_DATA))
        t->cfg[off] = b;
}

void virtio_pci_config_write(void *opaque, unsigned offset, unsigned size, uint32_t value)
{
    struct virtio_pci *t = opaque;
    if (offset >= sizeof(t->cfg) || size > 4 || offset + size > sizeof(t->cfg))
        return;
    pthread_mutex_lock(&t->lock);
    for (unsigned i = 0; i < size; i++)
        config_write_byte(t, offset + i, (uint8_t)(value >> (8 * i)));
    if (offset < PCI_BAR2 + 4 && offset + size > PCI_COMMAND) {
        virtio_pci_publish_bar(t);
        virtio_pci_update_irq(t);               /* INTx disable may have changed */
    }
    if (offset < VIRTIO_PCI_MSIX_CAP + 4 && offset + size > VIRTIO_PCI_MSIX_CAP + 2)
        virtio_pci_msix_config_written(t);      /* enable / function mask */
    uint64_t off = 0;
    unsigned len = 0;
    bool window = offset == CFG_WIN_DATA && window_target(t, &off, &len);
    pthread_mutex_unlock(&t->lock);
    if (window)
        virtio_pci_bar_write(t, off, len, value & (len == 4 ? UINT32_MAX : (1u << (8 * len)) - 1));
}

bool virtio_pci_bar_decodes(const struct virtio_pci *t, uint64_t *base)
{
    if (!__atomic_load_n(&t->bar_decode, __ATOMIC_ACQUIRE))
        return false;
    *base = __atomic_load_n(&t->bar_base, __ATOMIC_ACQUIRE);
    return true;
}

void virtio_pci_set_bar(struct virtio_pci *t, uint64_t base)
{
    pthread_mutex_lock(&t->lock);
    put32(t->cfg + PCI_BAR0, ((uint32_t)base & ~(VIRTIO_PCI_BAR_SIZE - 1)) | BAR_MEM64);
    put32(t->cfg + PCI_BAR1, (uint32_t)(base >> 32));
    virtio_pci_publish_bar(t);
    pthread_mutex_unlock(&t->lock);
}

/* --- queue API of the device models --- */

static bool live(const struct virtio_pci *t)
{
    return (t->status & VIRTIO_STATUS_DRIVER_OK) && !(t->status & VIRTIO_STATUS_NEEDS_RESET);
}

int virtio_pci_pop(struct virtio_pci *t, unsigned q, struct vq_chain *c)
{
    int rc = 0;
    pthread_mutex_lock(&t->lock);
    if (q < t->ops->num_queues && live(t) && t->queues[q].enabled) {
        const char *why = "";
        rc = vq_pop(&t->queues[q], t->ram, c, &why);
        if (RT_FAILURE(rc))
            virtio_pci_break_locked(t, why);
    }
    pthread_mutex_unlock(&t->lock);
    return rc;
}

void virtio_pci_push(struct virtio_pci *t, unsigned q, uint16_t head, uint32_t written)
{
    pthread_mutex_lock(&t->lock);
    struct virtqueue *vq = &t->queues[q < VIRTIO_PCI_MAX_QUEUES ? q : 0];
    if (q < t->ops->num_queues && vq->enabled) {
        if (RT_FAILURE(vq_push(vq, t->ram, head, written)))
            virtio_pci_break_locked(t, "used ring outside guest RAM");
        else if (vq_should_notify(vq, t->ram))
            virtio_pci_signal(t, VIRTIO_ISR_QUEUE, t->queue_vector[q]);
    }
    pthread_mutex_unlock(&t->lock);
}

void virtio_pci_break_locked(struct virtio_pci *t, const char *why)
{
    if (t->status & VIRTIO_STATUS_NEEDS_RESET)
        return;
    t->status |= VIRTIO_STATUS_NEEDS_RESET;
    snprintf(t->broken_reason, sizeof(t->broken_reason), "%s", why);
    t->config_generation++;
    virtio_pci_signal(t, VIRTIO_ISR_CONFIG, t->config_vector);
}

void virtio_pci_set_broken(struct virtio_pci *t, const char *why)
{
    pthread_mutex_lock(&t->lock);
    virtio_pci_break_locked(t, why);
    pthread_mutex_unlock(&t->lock);
}

void virtio_pci_config_changed(struct virtio_pci *t)
{
    pthread_mutex_lock(&t->lock);
    t->config_generation++;
    virtio_pci_signal(t, VIRTIO_ISR_CONFIG, t->config_vector);
    pthread_mutex_unlock(&t->lock);
}

uint64_t virtio_pci_features(struct virtio_pci *t)
{
    pthread_mutex_lock(&t->lock);
    uint64_t f = t->driver_features;
    pthread_mutex_unlock(&t->lock);
    return f;
}

struct guest_ram *virtio_pci_ram(struct virtio_pci *t)
{
    return t->ram;
}

const char *virtio_pci_broken_reason(struct virtio_pci *t)
{
    return t->broken_reason;
}
