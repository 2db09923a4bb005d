/*
 * MSI-X of the virtio-pci transport (PCI Local Bus 3.0, section 6.8.2;
 * virtio 1.2, section 4.1.5.1.2): the capability in config space, the
 * table and the pending bit array in BAR2, and the delivery of a vector.
 * A vector is sent at once, or remembered in its pending bit while the
 * function or the vector is masked and sent when both are unmasked.
 * Everything here runs with the transport lock held, except the BAR
 * accessors, which take it.
 */
#include "virtio_pci_internal.h"

#include <string.h>

#define PCI_COMMAND    0x04
#define PCI_CMD_MEMORY 0x0002
#define PCI_BAR2       0x18
#define MSIX_CTRL      (VIRTIO_PCI_MSIX_CAP + 2)
#define MSIX_ENABLE    0x8000u
#define MSIX_FMASK     0x4000u
#define BIR_BAR2       2u
#define ENTRY          16u
#define E_DATA         8u
#define E_CTRL         12u
#define CTRL_MASKED    1u

_Static_assert(VIRTIO_PCI_MSIX_MAX <= 32, "msix_pending holds one bit per vector");

static uint16_t msg_ctrl(const struct virtio_pci *t)
{
    uint16_t v;
    memcpy(&v, t->cfg + MSIX_CTRL, 2);
    return v;
}

bool virtio_pci_msix_enabled(const struct virtio_pci *t)
{
    return t->msi && (msg_ctrl(t) & MSIX_ENABLE);
}

uint16_t virtio_pci_msix_vector(const struct virtio_pci *t, uint16_t v)
{
    return t->msi && v < t->msix_count ? v : (uint16_t)VIRTIO_MSI_NO_VECTOR;
}

void virtio_pci_msix_init(struct virtio_pci *t)
{
    t->config_vector = VIRTIO_MSI_NO_VECTOR;
    for (unsigned q = 0; q < VIRTIO_PCI_MAX_QUEUES; q++)
        t->queue_vector[q] = VIRTIO_MSI_NO_VECTOR;
    t->msix_pending = 0;
    memset(t->msix_table, 0, sizeof(t->msix_table));
    if (!t->msi)
        return;
    for (unsigned v = 0; v < t->msix_count; v++)
        t->msix_table[v * ENTRY + E_CTRL] = CTRL_MASKED;      /* every vector masked at reset */
    uint8_t *c = t->cfg + VIRTIO_PCI_MSIX_CAP;
    uint16_t ctrl = (uint16_t)(t->msix_count - 1);           /* table size - 1; disabled, unmasked */
    uint32_t table = VIRTIO_PCI_MSIX_TABLE | BIR_BAR2, pba = VIRTIO_PCI_MSIX_PBA | BIR_BAR2;
    c[0] = 0x11;                                              /* MSI-X capability, last in the list */
    c[1] = 0;
    memcpy(c + 2, &ctrl, 2);
    memcpy(c + 4, &table, 4);
    memcpy(c + 8, &pba, 4);
    memset(t->cfg + PCI_BAR2, 0, 4);                          /* 32-bit memory BAR, firmware places it */
}

/* Vector v is due: send it, or keep it pending while masked. */
static void msix_fire(struct virtio_pci *t, unsigned v)
{
    const uint8_t *e = t->msix_table + (size_t)v * ENTRY;
    if ((e[E_CTRL] & CTRL_MASKED) || (msg_ctrl(t) & MSIX_FMASK)) {
        t->msix_pending |= 1u << v;
        return;
    }
    uint64_t addr;
    uint32_t data;
    memcpy(&addr, e, 8);
    memcpy(&data, e + E_DATA, 4);
    t->msix_pending &= ~(1u << v);
    t->msi(t->msi_opaque, addr, data);
}

/* After an unmask: pending vectors that are deliverable now go out. */
static void msix_deliver_pending(struct virtio_pci *t)
{
    if (!virtio_pci_msix_enabled(t) || (msg_ctrl(t) & MSIX_FMASK))
        return;
    for (unsigned v = 0; v < t->msix_count; v++)
        if ((t->msix_pending & (1u << v)) && !(t->msix_table[v * ENTRY + E_CTRL] & CTRL_MASKED))
            msix_fire(t, v);
}

void virtio_pci_signal(struct virtio_pci *t, uint8_t isr_bit, uint16_t vector)
{
    t->isr |= isr_bit;
    virtio_pci_update_irq(t);                     /* INTx stays low while MSI-X is enabled */
    if (virtio_pci_msix_enabled(t) && vector < t->msix_count)
        msix_fire(t, vector);                     /* NO_VECTOR: no interrupt at all (4.1.5.1.2) */
}

bool virtio_pci_msix_config_byte(struct virtio_pci *t, unsigned off, uint8_t b)
{
    if (!t->msi)
        return false;
    if (off == MSIX_CTRL + 1) {                   /* enable and function mask; table size is read-only */
        t->cfg[off] = (uint8_t)((t->cfg[off] & 0x07) | (b & 0xC0));
        return true;
    }
    if (off >= PCI_BAR2 && off < PCI_BAR2 + 4) {  /* address bits below the size read 0; 32-bit memory */
        uint32_t mask = (uint32_t)~(VIRTIO_PCI_MSIX_BAR_SIZE - 1);
        t->cfg[off] = (uint8_t)(b & (mask >> (8 * (off - PCI_BAR2))));
        return true;
    }
    return false;
}

void virtio_pci_msix_config_written(struct virtio_pci *t)
{
    virtio_pci_update_irq(t);                     /* enabling MSI-X takes INTx down */
    msix_deliver_pending(t);
}

void virtio_pci_msix_publish(struct virtio_pci *t)
{
    uint32_t base;
    uint16_t cmd;
    memcpy(&base, t->cfg + PCI_BAR2, 4);
    memcpy(&cmd, t->cfg + PCI_COMMAND, 2);
    __atomic_store_n(&t->msix_decode, false, __ATOMIC_RELEASE);
    __atomic_store_n(&t->msix_base, (uint64_t)(base & ~0xFu), __ATOMIC_RELEASE);
    __atomic_store_n(&t->msix_decode, t->msi && (cmd & PCI_CMD_MEMORY), __ATOMIC_RELEASE);
}

bool virtio_pci_msix_decodes(const struct virtio_pci *t, uint64_t *base)
{
    if (!__atomic_load_n(&t->msix_decode, __ATOMIC_ACQUIRE))
        return false;
    *base = __atomic_load_n(&t->msix_base, __ATOMIC_ACQUIRE);
    return true;
}

void virtio_pci_set_msix_bar(struct virtio_pci *t, uint64_t base)
{
    pthread_mutex_lock(&t->lock);
    if (t->msi) {
        uint32_t v = (uint32_t)base & ~(VIRTIO_PCI_MSIX_BAR_SIZE - 1);
        memcpy(t->cfg + PCI_BAR2, &v, 4);
        virtio_pci_msix_publish(t);
    }
    pthread_mutex_unlock(&t->lock);
}

static bool access_ok(uint64_t off, unsigned size)
{
    return (size == 1 || size == 2 || size == 4 || size == 8) && off < VIRTIO_PCI_MSIX_BAR_SIZE &&
           off + size <= VIRTIO_PCI_MSIX_BAR_SIZE;
}

uint64_t virtio_pci_msix_read(struct virtio_pci *t, uint64_t off, unsigned size)
{
    uint64_t v = 0;
    if (!access_ok(off, size))
        return UINT64_MAX;
    pthread_mutex_lock(&t->lock);
    if (off + size <= (uint64_t)t->msix_count * ENTRY) {
        memcpy(&v, t->msix_table + off, size);
    } else if (off >= VIRTIO_PCI_MSIX_PBA && off + size <= VIRTIO_PCI_MSIX_PBA + 8) {
        uint64_t pba = t->msix_pending;
        memcpy(&v, (const uint8_t *)&pba + (off - VIRTIO_PCI_MSIX_PBA), size);
    }
    pthread_mutex_unlock(&t->lock);
    return v;
}

/* Table writes of any width; the PBA and everything else is read-only. */
void virtio_pci_msix_write(struct virtio_pci *t, uint64_t off, unsigned size, uint64_t value)
{
    if (!access_ok(off, size))
        return;
    pthread_mutex_lock(&t->lock);
    if (off + size <= (uint64_t)t->msix_count * ENTRY) {
        memcpy(t->msix_table + off, &value, size);
        for (unsigned v = 0; v < t->msix_count; v++) {     /* reserved control bits stay 0 */
            uint8_t *ctrl = t->msix_table + (size_t)v * ENTRY + E_CTRL;
            ctrl[0] &= CTRL_MASKED;
            ctrl[1] = ctrl[2] = ctrl[3] = 0;
        }
        msix_deliver_pending(t);
    }
    pthread_mutex_unlock(&t->lock);
}
