/*
 * The I/O APIC model (see ioapic.h).  A redirection entry is the 64-bit
 * register pair as the guest sees it; delivery status (bit 12) reads 0
 * since messages are delivered at once.
 */
#include "ioapic.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <vmm/err.h>

#include "../io/io_bus.h"

#define RTE_MASKED     (UINT64_C(1) << 16)
#define RTE_LEVEL      (UINT64_C(1) << 15)
#define RTE_REMOTE_IRR (UINT64_C(1) << 14)
/* Guest-writable bits: vector, delivery/destination mode, polarity, trigger, mask, destination. */
#define RTE_WRITABLE   (UINT64_C(0xff00000000000000) | 0x1afffu)
#define IOAPIC_VERSION (0x11u | ((IOAPIC_PINS - 1) << 16))

enum { REG_SELECT = 0x00, REG_WINDOW = 0x10, REG_EOI = 0x40 };

struct ioapic {
    pthread_mutex_t lock;
    ioapic_deliver_fn *deliver;
    void *opaque;
    struct ioapic_saved s;
};

/* Messages collected under the lock, delivered after it. */
struct pending_msgs {
    unsigned n;
    struct apic_msg msg[IOAPIC_PINS];
};

static void flush_msgs(struct ioapic *io, const struct pending_msgs *p)
{
    for (unsigned i = 0; i < p->n; i++)
        io->deliver(io->opaque, &p->msg[i]);
}

/* Sends pin's interrupt if its entry lets it through now (lock held). */
static void service_pin(struct ioapic *io, unsigned pin, bool edge_rise, struct pending_msgs *p)
{
    uint64_t e = io->s.redir[pin];
    bool asserted = (io->s.pins >> pin) & 1;
    if (e & RTE_MASKED)
        return;
    if (e & RTE_LEVEL) {
        if (!asserted || (e & RTE_REMOTE_IRR))
            return;
        io->s.redir[pin] |= RTE_REMOTE_IRR;
    } else if (!edge_rise) {
        return;
    }
    struct apic_msg m = {
        .vector = (uint8_t)e, .delivery_mode = (e >> 8) & 7, .logical = (e >> 11) & 1,
        .level = (e & RTE_LEVEL) != 0, .assert = true, .dest = (uint32_t)(e >> 56),
    };
    p->msg[p->n++] = m;
}

static uint64_t mmio_read(void *opaque, uint64_t offset, unsigned size)
{
    (void)size;
    return ioapic_mmio_read(opaque, (uint32_t)offset);
}

static void mmio_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    if (size == 4 || size == 8)
        ioapic_mmio_write(opaque, (uint32_t)offset, (uint32_t)value);
}

static const struct io_mmio_ops ioapic_mmio_ops = { mmio_read, mmio_write };

struct ioapic *ioapic_create(struct io_bus *bus, ioapic_deliver_fn *deliver, void *opaque)
{
    struct ioapic *io = calloc(1, sizeof(*io));
    if (!io)
        return NULL;
    pthread_mutex_init(&io->lock, NULL);
    io->deliver = deliver;
    io->opaque = opaque;
    ioapic_reset(io);
    if (bus && io_bus_register_mmio(bus, IOAPIC_ADDR, 0x1000, &ioapic_mmio_ops, io, "ioapic") != VINF_SUCCESS) {
        ioapic_destroy(io);
        return NULL;
    }
    return io;
}

void ioapic_destroy(struct ioapic *io)
{
    if (!io)
        return;
    pthread_mutex_destroy(&io->lock);
    free(io);
}

void ioapic_reset(struct ioapic *io)
{
    pthread_mutex_lock(&io->lock);
    uint32_t pins = io->s.pins;               /* the input lines are the devices' */
    memset(&io->s, 0, sizeof(io->s));
    io->s.pins = pins;
    for (unsigned i = 0; i < IOAPIC_PINS; i++)
        io->s.redir[i] = RTE_MASKED;
    pthread_mutex_unlock(&io->lock);
}

void ioapic_set_irq(struct ioapic *io, uint32_t pin, int level)
{
    if (pin >= IOAPIC_PINS)
        return;
    struct pending_msgs p = { 0 };
    pthread_mutex_lock(&io->lock);
    bool was = (io->s.pins >> pin) & 1;
    if (level)
        io->s.pins |= 1u << pin;
    else
        io->s.pins &= ~(1u << pin);
    service_pin(io, pin, level && !was, &p);
    pthread_mutex_unlock(&io->lock);
    flush_msgs(io, &p);
}

void ioapic_eoi(struct ioapic *io, uint8_t vector)
{
    struct pending_msgs p = { 0 };
    pthread_mutex_lock(&io->lock);
    for (unsigned i = 0; i < IOAPIC_PINS; i++) {
        uint64_t e = io->s.redir[i];
        if ((e & RTE_LEVEL) && (e & RTE_REMOTE_IRR) && (uint8_t)e == vector) {
            io->s.redir[i] &= ~RTE_REMOTE_IRR;
            service_pin(io, i, false, &p);     /* still asserted: again */
        }
    }
    pthread_mutex_unlock(&io->lock);
    flush_msgs(io, &p);
}

static uint32_t window_read(const struct ioapic *io)
{
    uint32_t r = io->s.regsel;
    switch (r) {
    case 0: return io->s.id << 24;
    case 1: return IOAPIC_VERSION;
    case 2: return io->s.id << 24;             /* arbitration id */
    default:
        if (r >= 0x10 && r < 0x10 + 2 * IOAPIC_PINS) {
            uint64_t e = io->s.redir[(r - 0x10) / 2];
            return (r & 1) ? (uint32_t)(e >> 32) : (uint32_t)e;
        }
        return 0xffffffff;
    }
}

static void window_write(struct ioapic *io, uint32_t v, struct pending_msgs *p)
{
    uint32_t r = io->s.regsel;
    if (r == 0) {
        io->s.id = (v >> 24) & 0xf;
        return;
    }
    if (r < 0x10 || r >= 0x10 + 2 * IOAPIC_PINS)
        return;                                /* version, arbitration, reserved: read-only */
    unsigned pin = (r - 0x10) / 2;
    uint64_t e = io->s.redir[pin];
    uint64_t nv = (r & 1) ? (e & 0xffffffffu) | ((uint64_t)v << 32) : (e & ~UINT64_C(0xffffffff)) | v;
    nv = (nv & RTE_WRITABLE) | (e & RTE_REMOTE_IRR);
    if (!(nv & RTE_LEVEL))
        nv &= ~RTE_REMOTE_IRR;
    io->s.redir[pin] = nv;
    service_pin(io, pin, false, p);            /* an unmasked asserted level line fires */
}

uint32_t ioapic_mmio_read(struct ioapic *io, uint32_t offset)
{
    pthread_mutex_lock(&io->lock);
    uint32_t v = offset == REG_SELECT ? io->s.regsel : offset == REG_WINDOW ? window_read(io) : 0xffffffff;
    pthread_mutex_unlock(&io->lock);
    return v;
}

void ioapic_mmio_write(struct ioapic *io, uint32_t offset, uint32_t value)
{
    if (offset == REG_EOI) {
        ioapic_eoi(io, (uint8_t)value);
        return;
    }
    struct pending_msgs p = { 0 };
    pthread_mutex_lock(&io->lock);
    if (offset == REG_SELECT)
        io->s.regsel = value & 0xff;
    else if (offset == REG_WINDOW)
        window_write(io, value, &p);
    pthread_mutex_unlock(&io->lock);
    flush_msgs(io, &p);
}

void ioapic_save(struct ioapic *io, struct ioapic_saved *out)
{
    pthread_mutex_lock(&io->lock);
    *out = io->s;
    out->pad = 0;
    pthread_mutex_unlock(&io->lock);
}

int ioapic_load(struct ioapic *io, const struct ioapic_saved *in)
{
    if (in->id > 0xf || in->regsel > 0xff || (in->pins >> IOAPIC_PINS))
        return VERR_SSM_UNEXPECTED_DATA;
    for (unsigned i = 0; i < IOAPIC_PINS; i++)
        if (in->redir[i] & ~(RTE_WRITABLE | RTE_REMOTE_IRR))
            return VERR_SSM_UNEXPECTED_DATA;
    pthread_mutex_lock(&io->lock);
    io->s = *in;
    pthread_mutex_unlock(&io->lock);
    return VINF_SUCCESS;
}
