/*
 * The interpreter's port I/O and MMIO routed to the I/O bus: shared by the
 * interpreter engine and KVM's fallback.
 */
#include "interp.h"
#include "../../io/io_bus.h"

static uint32_t bus_port_read(void *opaque, uint16_t port, unsigned size)
{
    return io_bus_port_read(opaque, port, size);
}

static void bus_port_write(void *opaque, uint16_t port, unsigned size, uint32_t value)
{
    io_bus_port_write(opaque, port, size, value);
}

static uint64_t bus_mmio_read(void *opaque, uint64_t gpa, unsigned size)
{
    return io_bus_mmio_read(opaque, gpa, size);
}

static void bus_mmio_write(void *opaque, uint64_t gpa, unsigned size, uint64_t value)
{
    io_bus_mmio_write(opaque, gpa, size, value);
}

struct interp_io interp_io_for_bus(struct io_bus *bus)
{
    struct interp_io io = { .opaque = bus, .port_read = bus_port_read, .port_write = bus_port_write,
                            .mmio_read = bus_mmio_read, .mmio_write = bus_mmio_write };
    return io;
}
