/*
 * Guest RAM: one anonymous mapping, split around the PCI hole below 4 GiB.
 *
 *   [0, low_size)              RAM, at host base
 *   [low_size, 4 GiB)          hole (MMIO: PCI, IOAPIC, LAPIC, ...)
 *   [4 GiB, 4 GiB + high_size) RAM, at host base + low_size
 *
 * Both engines and the loaders access guest memory through these helpers;
 * KVM gets the same mapping as memory slots.
 */
#ifndef PETREL_GUEST_RAM_H
#define PETREL_GUEST_RAM_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

#define GUEST_PAGE_SIZE   4096u
#define GUEST_4G          UINT64_C(0x100000000)

struct guest_ram {
    uint8_t  *host;          /* base of the whole mapping */
    uint64_t  size;          /* total RAM bytes */
    uint64_t  low_size;      /* RAM below the hole */
    uint64_t  high_size;     /* RAM above 4 GiB */
    uint64_t  hole_size;     /* bytes between low_size and 4 GiB */
    uint8_t  *dirty_bitmap;  /* one bit per page written by user space (interp, devices); may be NULL */
    bool      file_backed;   /* RAM is a private (copy-on-write) mapping of a state file */
    bool      accepts_hook;  /* made by guest_ram_init: guest_ram_set_write_hook works */
    /* Told of every page a device writes (guest_ram_write, guest_ram_mark_dirty),
     * after the bytes: the interpreter drops code it decoded there. */
    void    (*write_hook)(void *opaque, uint64_t page);
    void    (*write_hook_release)(void *opaque);
    void     *write_hook_opaque;
};

/* Installs the device-write hook (replacing and releasing any earlier one;
 * guest_ram_term releases the last).  Only while no device writes: at
 * machine set-up.  Returns false (and installs nothing) for RAM that was
 * not made by guest_ram_init. */
bool guest_ram_set_write_hook(struct guest_ram *ram, void (*hook)(void *opaque, uint64_t page),
                              void (*release)(void *opaque), void *opaque);

/* Maps size bytes of RAM with a hole of hole_size below 4 GiB (VBox status). */
int  guest_ram_init(struct guest_ram *ram, uint64_t size, uint64_t hole_size);
void guest_ram_term(struct guest_ram *ram);
/* Zeroes all RAM (hard reset) at the same host address: a file-backed
 * mapping is replaced by fresh anonymous memory, since dropping its pages
 * would read the file again. */
void guest_ram_clear(struct guest_ram *ram);
/*
 * Maps ram->size bytes of fd at file offset off (page-aligned) over all RAM,
 * copy-on-write, at the same host address (engines keep that address).  On
 * failure RAM is anonymous and zeroed again (VBox status).
 */
int  guest_ram_map_file(struct guest_ram *ram, int fd, uint64_t off);

/* Host pointer for [gpa, gpa+len) if it lies entirely in one RAM region, else NULL. */
void *guest_ram_ptr(const struct guest_ram *ram, uint64_t gpa, uint64_t len);
bool  guest_ram_contains(const struct guest_ram *ram, uint64_t gpa, uint64_t len);

/* Copy helpers that fail (VERR_OUT_OF_RANGE) instead of touching memory outside RAM. */
int guest_ram_read(const struct guest_ram *ram, uint64_t gpa, void *buf, size_t len);
int guest_ram_write(struct guest_ram *ram, uint64_t gpa, const void *buf, size_t len);
/* For writers through guest_ram_ptr (device DMA): marks [gpa, gpa+len) dirty for live save. */
void guest_ram_mark_dirty(struct guest_ram *ram, uint64_t gpa, uint64_t len);

#endif /* PETREL_GUEST_RAM_H */
