/*
 * Port-I/O and MMIO dispatch: a guest access is routed to the device that
 * registered the range.  Used the same way by both engines.
 *
 * Unclaimed ports read as all ones and ignore writes, as on a PC.  An
 * unclaimed MMIO address reads as all ones and ignores writes.
 *
 * Registration happens while the VM is being built (EMT(0)); lookups happen
 * on any EMT without locks (the tables are read-only once the VM runs).
 * Handlers must do their own locking if the device is shared between vCPUs.
 */
#ifndef PETREL_IO_BUS_H
#define PETREL_IO_BUS_H

#include <stdint.h>
#include <stdbool.h>

struct io_port_ops {
    uint32_t (*read)(void *opaque, uint16_t port, unsigned size);
    void     (*write)(void *opaque, uint16_t port, unsigned size, uint32_t value);
};

struct io_mmio_ops {
    uint64_t (*read)(void *opaque, uint64_t offset, unsigned size);
    void     (*write)(void *opaque, uint64_t offset, unsigned size, uint64_t value);
};

struct io_bus;

struct io_bus *io_bus_create(void);
void io_bus_destroy(struct io_bus *bus);

/* Returns VINF_SUCCESS, VERR_ALREADY_EXISTS on an overlap, VERR_NO_MEMORY. */
int io_bus_register_ports(struct io_bus *bus, uint16_t first, uint32_t count,
                          const struct io_port_ops *ops, void *opaque, const char *name);
int io_bus_register_mmio(struct io_bus *bus, uint64_t gpa, uint64_t size,
                         const struct io_mmio_ops *ops, void *opaque, const char *name);

/* size is 1, 2 or 4 for ports; 1, 2, 4 or 8 for MMIO. */
uint32_t io_bus_port_read(struct io_bus *bus, uint16_t port, unsigned size);
void     io_bus_port_write(struct io_bus *bus, uint16_t port, unsigned size, uint32_t value);
uint64_t io_bus_mmio_read(struct io_bus *bus, uint64_t gpa, unsigned size);
void     io_bus_mmio_write(struct io_bus *bus, uint64_t gpa, unsigned size, uint64_t value);
/* True if some device claims gpa (used by the interpreter to tell RAM from MMIO). */
bool     io_bus_mmio_claimed(struct io_bus *bus, uint64_t gpa);

#endif /* PETREL_IO_BUS_H */
