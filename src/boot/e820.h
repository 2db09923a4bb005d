/*
 * The guest's physical memory map as the BIOS e820 call would report it
 * (what Linux reads from the zero page).  Layout, from struct guest_ram:
 *
 *   [0, 0x9f000)              RAM        (conventional memory)
 *   [0x9f000, 0x100000)       reserved   (EBDA, VGA hole, BIOS area: ACPI
 *                                         RSDP/MP tables live here)
 *   [0x100000, low_size)      RAM
 *   [low_size, 4 GiB)         not listed (PCI hole: MMIO, the kernel may
 *                                         assign PCI BARs there)
 *   [4 GiB, 4 GiB+high_size)  RAM
 */
#ifndef PETREL_E820_H
#define PETREL_E820_H

#include <stdint.h>

#include "../memory/guest_ram.h"

#define E820_RAM       1
#define E820_RESERVED  2
#define E820_ACPI      3
#define E820_NVS       4

#define E820_LOW_RAM_END   UINT64_C(0x9f000)
#define E820_BIOS_END      UINT64_C(0x100000)

/* The boot_params layout: 20 bytes, packed. */
struct __attribute__((packed)) e820_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
};

/* Fills table (room for max entries) and returns the number of entries. */
unsigned e820_build(const struct guest_ram *ram, struct e820_entry *table, unsigned max);

#endif /* PETREL_E820_H */
