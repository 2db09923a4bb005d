/*
 * Port-I/O and MMIO dispatch over two sorted range tables.  Lookups are a
 * binary search over non-overlapping ranges; an access that straddles range
 * boundaries (or touches unclaimed bytes) is split into byte accesses so
 * each byte goes to whoever owns it and unclaimed bytes read as 0xff.
 */
#include "io_bus.h"

#include <stdlib.h>
#include <string.h>

#include <vmm/err.h>

#define IO_NAME_MAX 32

struct io_range {
    uint64_t first;
    uint64_t size;                   /* > 0; first + size never wraps */
    const void *ops;                 /* struct io_port_ops or io_mmio_ops */
    void *opaque;
    char name[IO_NAME_MAX];
};

struct io_table {
    struct io_range *ranges;
    size_t count, capacity;
};

struct io_bus {
    struct io_table ports;
    struct io_table mmio;
};

struct io_bus *io_bus_create(void)
{
    return calloc(1, sizeof(struct io_bus));
}

void io_bus_destroy(struct io_bus *bus)
{
    if (!bus)
        return;
    free(bus->ports.ranges);
    free(bus->mmio.ranges);
    free(bus);
}

/* Index of the last range with first <= addr, or -1. */
static long table_floor(const struct io_table *t, uint64_t addr)
{
    long lo = 0, hi = (long)t->count - 1, found = -1;
    while (lo <= hi) {
        long mid = lo + (hi - lo) / 2;
        if (t->ranges[mid].first <= addr) {
            found = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    return found;
}

static const struct io_range *table_find(const struct io_table *t, uint64_t addr)
{
    long i = table_floor(t, addr);
    if (i < 0 || addr - t->ranges[i].first >= t->ranges[i].size)
        return NULL;
    return &t->ranges[i];
}

static int table_insert(struct io_table *t, uint64_t first, uint64_t size,
                        const void *ops, void *opaque, const char *name)
{
    long i = table_floor(t, first);
    /* The range before must end at or before first; the one after must start at or after first + size. */
    if (i >= 0 && first - t->ranges[i].first < t->ranges[i].size)
        return VERR_ALREADY_EXISTS;
    size_t pos = (size_t)(i + 1);
    if (pos < t->count && t->ranges[pos].first - first < size)
        return VERR_ALREADY_EXISTS;
    if (t->count == t->capacity) {
        size_t cap = t->capacity ? t->capacity * 2 : 16;
        struct io_range *n = realloc(t->ranges, cap * sizeof(*n));
        if (!n)
            return VERR_NO_MEMORY;
        t->ranges = n;
        t->capacity = cap;
    }
    memmove(&t->ranges[pos + 1], &t->ranges[pos], (t->count - pos) * sizeof(*t->ranges));
    struct io_range *r = &t->ranges[pos];
    memset(r, 0, sizeof(*r));
    r->first = first;
    r->size = size;
    r->ops = ops;
    r->opaque = opaque;
    if (name)
        strncpy(r->name, name, IO_NAME_MAX - 1);
    t->count++;
    return VINF_SUCCESS;
}

int io_bus_register_ports(struct io_bus *bus, uint16_t first, uint32_t count,
                          const struct io_port_ops *ops, void *opaque, const char *name)
{
    if (!bus || !ops || count == 0)
        return VERR_INVALID_PARAMETER;
    if (count > 0x10000u - first)
        return VERR_OUT_OF_RANGE;
    return table_insert(&bus->ports, first, count, ops, opaque, name);
}

int io_bus_register_mmio(struct io_bus *bus, uint64_t gpa, uint64_t size,
                         const struct io_mmio_ops *ops, void *opaque, const char *name)
{
    if (!bus || !ops || size == 0)
        return VERR_INVALID_PARAMETER;
    if (gpa + size - 1 < gpa)             /* wraps past 2^64 */
        return VERR_OUT_OF_RANGE;
    return table_insert(&bus->mmio, gpa, size, ops, opaque, name);
}

static uint64_t size_mask(unsigned size)
{
    return size >= 8 ? UINT64_MAX : (UINT64_C(1) << (size * 8)) - 1;
}

/* The range that holds all of [addr, addr+size), or NULL. */
static const struct io_range *table_find_whole(const struct io_table *t, uint64_t addr, unsigned size)
{
    const struct io_range *r = table_find(t, addr);
    if (r && size - 1 <= r->size - 1 - (addr - r->first))
        return r;
    return NULL;
}

static uint8_t port_read_byte(struct io_bus *bus, uint32_t port)
{
    const struct io_range *r = port <= 0xffff ? table_find(&bus->ports, port) : NULL;
    const struct io_port_ops *ops = r ? r->ops : NULL;
    if (!ops || !ops->read)
        return 0xff;
    return (uint8_t)ops->read(r->opaque, (uint16_t)port, 1);
}

uint32_t io_bus_port_read(struct io_bus *bus, uint16_t port, unsigned size)
{
    if (size != 1 && size != 2 && size != 4)
        return UINT32_MAX;
    const struct io_range *r = table_find_whole(&bus->ports, port, size);
    if (r && (uint32_t)port + size <= 0x10000u) {
        const struct io_port_ops *ops = r->ops;
        if (!ops->read)
            return (uint32_t)size_mask(size);
        return ops->read(r->opaque, port, size) & (uint32_t)size_mask(size);
    }
    uint32_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint32_t)port_read_byte(bus, (uint32_t)port + i) << (8 * i);
    return v;
}

void io_bus_port_write(struct io_bus *bus, uint16_t port, unsigned size, uint32_t value)
{
    if (size != 1 && size != 2 && size != 4)
        return;
    value &= (uint32_t)size_mask(size);
    const struct io_range *r = table_find_whole(&bus->ports, port, size);
    if (r && (uint32_t)port + size <= 0x10000u) {
        const struct io_port_ops *ops = r->ops;
        if (ops->write)
            ops->write(r->opaque, port, size, value);
        return;
    }
    for (unsigned i = 0; i < size; i++) {
        uint32_t p = (uint32_t)port + i;
        const struct io_range *b = p <= 0xffff ? table_find(&bus->ports, p) : NULL;
        const struct io_port_ops *ops = b ? b->ops : NULL;
        if (ops && ops->write)
            ops->write(b->opaque, (uint16_t)p, 1, (value >> (8 * i)) & 0xff);
    }
}

static bool mmio_size_ok(unsigned size)
{
    return size == 1 || size == 2 || size == 4 || size == 8;
}

uint64_t io_bus_mmio_read(struct io_bus *bus, uint64_t gpa, unsigned size)
{
    if (!mmio_size_ok(size))
        return UINT64_MAX;
    const struct io_range *r = table_find_whole(&bus->mmio, gpa, size);
    if (r) {
        const struct io_mmio_ops *ops = r->ops;
        if (!ops->read)
            return size_mask(size);
        return ops->read(r->opaque, gpa - r->first, size) & size_mask(size);
    }
    uint64_t v = 0;
    for (unsigned i = 0; i < size; i++) {
        uint64_t a = gpa + i;
        const struct io_range *b = a >= gpa ? table_find(&bus->mmio, a) : NULL;
        const struct io_mmio_ops *ops = b ? b->ops : NULL;
        uint64_t byte = ops && ops->read ? ops->read(b->opaque, a - b->first, 1) & 0xff : 0xff;
        v |= byte << (8 * i);
    }
    return v;
}

void io_bus_mmio_write(struct io_bus *bus, uint64_t gpa, unsigned size, uint64_t value)
{
    if (!mmio_size_ok(size))
        return;
    value &= size_mask(size);
    const struct io_range *r = table_find_whole(&bus->mmio, gpa, size);
    if (r) {
        const struct io_mmio_ops *ops = r->ops;
        if (ops->write)
            ops->write(r->opaque, gpa - r->first, size, value);
        return;
    }
    for (unsigned i = 0; i < size; i++) {
        uint64_t a = gpa + i;
        const struct io_range *b = a >= gpa ? table_find(&bus->mmio, a) : NULL;
        const struct io_mmio_ops *ops = b ? b->ops : NULL;
        if (ops && ops->write)
            ops->write(b->opaque, a - b->first, 1, (value >> (8 * i)) & 0xff);
    }
}

bool io_bus_mmio_claimed(struct io_bus *bus, uint64_t gpa)
{
    return table_find(&bus->mmio, gpa) != NULL;
}
