/*
 * The I/O APIC (82093AA register set, version 0x11, 24 pins) at
 * 0xFEC00000: IOREGSEL/IOWIN, ID, version, arbitration and the
 * redirection table; edge and level inputs with remote IRR, cleared by the
 * local APICs' EOI of a level-triggered vector.  Used by the interpreter
 * engine; delivery to the local APICs goes through deliver() so the model
 * knows nothing of them.
 *
 * Thread-safe.  deliver() is called without the IOAPIC's lock held.
 */
#ifndef PETREL_IOAPIC_H
#define PETREL_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>

#include "lapic.h"

#define IOAPIC_ADDR 0xfec00000u
#define IOAPIC_PINS 24u

struct io_bus;
struct ioapic;

typedef void ioapic_deliver_fn(void *opaque, const struct apic_msg *msg);

/* Registers the MMIO page on bus; NULL when out of memory or taken. */
struct ioapic *ioapic_create(struct io_bus *bus, ioapic_deliver_fn *deliver, void *opaque);
void ioapic_destroy(struct ioapic *io);
void ioapic_reset(struct ioapic *io);

/* Input pin (GSI) asserted (level != 0) or not; pins >= 24 are ignored. */
void ioapic_set_irq(struct ioapic *io, uint32_t pin, int level);
/* A local APIC's EOI for a level-triggered vector. */
void ioapic_eoi(struct ioapic *io, uint8_t vector);

/* Register access as the guest sees it (offset in the page). */
uint32_t ioapic_mmio_read(struct ioapic *io, uint32_t offset);
void     ioapic_mmio_write(struct ioapic *io, uint32_t offset, uint32_t value);

/* Saved state: unit "ioapic", version IOAPIC_SAVED_VERSION. */
#define IOAPIC_SAVED_VERSION 1u
struct ioapic_saved {
    uint64_t redir[IOAPIC_PINS];    /* remote IRR (bit 14) included */
    uint32_t id, regsel;
    uint32_t pins;                  /* input levels, one bit per pin */
    uint32_t pad;
};
void ioapic_save(struct ioapic *io, struct ioapic_saved *out);
int  ioapic_load(struct ioapic *io, const struct ioapic_saved *in);

#endif /* PETREL_IOAPIC_H */
