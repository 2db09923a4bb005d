/*
 * The e820 memory map of a guest (layout in e820.h).
 */
#include "e820.h"

static unsigned e820_add(struct e820_entry *t, unsigned n, unsigned max,
                         uint64_t addr, uint64_t end, uint32_t type)
{
    if (end <= addr || n >= max)
        return n;
    t[n].addr = addr;
    t[n].size = end - addr;
    t[n].type = type;
    return n + 1;
}

unsigned e820_build(const struct guest_ram *ram, struct e820_entry *table, unsigned max)
{
    uint64_t low = ram->low_size;
    unsigned n = 0;
    n = e820_add(table, n, max, 0, low < E820_LOW_RAM_END ? low : E820_LOW_RAM_END, E820_RAM);
    n = e820_add(table, n, max, E820_LOW_RAM_END, E820_BIOS_END, E820_RESERVED);
    n = e820_add(table, n, max, E820_BIOS_END, low, E820_RAM);
    if (ram->high_size)
        n = e820_add(table, n, max, GUEST_4G, GUEST_4G + ram->high_size, E820_RAM);
    return n;
}
