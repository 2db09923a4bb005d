/*
 * Guest RAM: one anonymous private mapping split around the hole below
 * 4 GiB (see guest_ram.h for the layout).  Every helper checks bounds with
 * subtractions only, so a huge gpa or len can never wrap around.
 */
#include "guest_ram.h"

#include <string.h>
#include <sys/mman.h>

#include <vmm/err.h>

#define RAM_GUARD ((size_t)GUEST_PAGE_SIZE)   /* inaccessible bytes on each side of RAM */
#define RAM_ALIGN ((uintptr_t)2 << 20)        /* RAM starts on a 2 MiB boundary (huge pages) */

/* Fresh zeroed anonymous memory at the same address (MAP_FIXED replaces
 * what was there in one step; KVM follows through its MMU notifiers). */
static int ram_map_anonymous(struct guest_ram *ram)
{
    void *p = mmap(ram->host, ram->size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
    if (p == MAP_FAILED)
        return VERR_NO_MEMORY;
    /* Transparent huge pages where the host allows them: a boot faults in
     * 2 MiB at a time instead of 4 KiB (a fault costs tens of microseconds
     * under a software hypervisor), and KVM can map guest 2 MiB pages with
     * host ones (RAM is 2 MiB aligned for that).  Only a hint: no error. */
    (void)madvise(ram->host, ram->size, MADV_HUGEPAGE);
    ram->file_backed = false;
    return VINF_SUCCESS;
}

int guest_ram_init(struct guest_ram *ram, uint64_t size, uint64_t hole_size)
{
    memset(ram, 0, sizeof(*ram));
    if (size % GUEST_PAGE_SIZE || hole_size % GUEST_PAGE_SIZE || hole_size > GUEST_4G)
        return VERR_INVALID_PARAMETER;
    if (size > (UINT64_C(1) << 46))       /* more than any x86-64 host can map */
        return VERR_OUT_OF_RANGE;
    uint64_t low_max = GUEST_4G - hole_size;
    ram->low_size  = size < low_max ? size : low_max;
    ram->high_size = size - ram->low_size;
    ram->hole_size = hole_size;
    ram->size      = size;
    ram->accepts_hook = true;
    if (size == 0)
        return VINF_SUCCESS;
    /* A reservation with an inaccessible guard page on each side: an
     * overrun faults, and the kernel never merges a neighbouring mapping
     * (a malloc arena, say) into the RAM's, so /proc/PID/smaps shows the
     * RAM as a mapping of its own (what the memory benchmark measures). */
    size_t span = size + 2 * RAM_GUARD + RAM_ALIGN;
    uint8_t *base = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) {
        memset(ram, 0, sizeof(*ram));
        return VERR_NO_MEMORY;
    }
    /* Keep [guard, RAM aligned to 2 MiB, guard] and give the slack back. */
    uint8_t *host = (uint8_t *)(((uintptr_t)base + RAM_GUARD + RAM_ALIGN - 1) & ~(RAM_ALIGN - 1));
    size_t head = (size_t)(host - RAM_GUARD - base), tail = span - head - (size + 2 * RAM_GUARD);
    if (head)
        munmap(base, head);
    if (tail)
        munmap(host + size + RAM_GUARD, tail);
    ram->host = host;
    if (RT_FAILURE(ram_map_anonymous(ram))) {
        munmap(base, size + 2 * RAM_GUARD);
        memset(ram, 0, sizeof(*ram));
        return VERR_NO_MEMORY;
    }
    return VINF_SUCCESS;
}

void guest_ram_term(struct guest_ram *ram)
{
    if (ram->write_hook_release)
        ram->write_hook_release(ram->write_hook_opaque);
    if (ram->host)
        munmap(ram->host - RAM_GUARD, ram->size + 2 * RAM_GUARD);   /* with the guards */
    memset(ram, 0, sizeof(*ram));
}

void guest_ram_clear(struct guest_ram *ram)
{
    if (!ram->host)
        return;
    /* MADV_DONTNEED on a private file mapping would bring back the file's
     * contents, not zeros. */
    if (ram->file_backed && RT_SUCCESS(ram_map_anonymous(ram)))
        return;
    /* Dropping the pages zeroes them and gives the memory back to the host;
     * KVM sees the change through its MMU notifiers. */
    if (ram->file_backed || madvise(ram->host, ram->size, MADV_DONTNEED) != 0)
        memset(ram->host, 0, ram->size);
}

int guest_ram_map_file(struct guest_ram *ram, int fd, uint64_t off)
{
    if (!ram->host || off % GUEST_PAGE_SIZE || off > (uint64_t)INT64_MAX - ram->size)
        return VERR_INVALID_PARAMETER;
    void *p = mmap(ram->host, ram->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE | MAP_FIXED, fd,
                   (off_t)off);
    if (p == MAP_FAILED) {
        /* A failed MAP_FIXED may already have dropped the old pages. */
        ram_map_anonymous(ram);
        return VERR_NO_MEMORY;
    }
    ram->file_backed = true;
    return VINF_SUCCESS;
}

/*
 * Offset into the mapping of gpa and the bytes left in its region, or false
 * when gpa is not RAM.
 */
static bool ram_locate(const struct guest_ram *ram, uint64_t gpa, uint64_t *off, uint64_t *left)
{
    if (gpa < ram->low_size) {
        *off = gpa;
        *left = ram->low_size - gpa;
        return true;
    }
    if (gpa >= GUEST_4G && gpa - GUEST_4G < ram->high_size) {
        *off = ram->low_size + (gpa - GUEST_4G);
        *left = ram->high_size - (gpa - GUEST_4G);
        return true;
    }
    return false;
}

void *guest_ram_ptr(const struct guest_ram *ram, uint64_t gpa, uint64_t len)
{
    uint64_t off, left;
    if (!ram->host || !ram_locate(ram, gpa, &off, &left) || len > left)
        return NULL;
    return ram->host + off;
}

bool guest_ram_contains(const struct guest_ram *ram, uint64_t gpa, uint64_t len)
{
    /* Walk region by region: with no hole, low and high RAM are contiguous. */
    while (len > 0) {
        uint64_t off, left;
        if (!ram->host || !ram_locate(ram, gpa, &off, &left))
            return false;
        if (len <= left)
            return true;
        len -= left;
        gpa += left;
    }
    return ram->host != NULL;
}

static void ram_mark_dirty(struct guest_ram *ram, uint64_t off, uint64_t len)
{
    /* Read once: a live save may switch logging off meanwhile (the bitmap
     * itself stays allocated); atomic against its fetch. */
    uint8_t *bitmap = __atomic_load_n(&ram->dirty_bitmap, __ATOMIC_ACQUIRE);
    void (*hook)(void *, uint64_t) = __atomic_load_n(&ram->write_hook, __ATOMIC_ACQUIRE);
    if ((!bitmap && !hook) || len == 0)
        return;
    for (uint64_t pg = off / GUEST_PAGE_SIZE; pg <= (off + len - 1) / GUEST_PAGE_SIZE; pg++) {
        if (bitmap)
            __atomic_fetch_or(&bitmap[pg / 8], (uint8_t)(1u << (pg % 8)), __ATOMIC_RELAXED);
        if (hook)
            hook(ram->write_hook_opaque, pg);
    }
}

bool guest_ram_set_write_hook(struct guest_ram *ram, void (*hook)(void *opaque, uint64_t page),
                              void (*release)(void *opaque), void *opaque)
{
    if (!ram->accepts_hook)
        return false;
    void (*old_release)(void *) = ram->write_hook_release;
    void *old = ram->write_hook_opaque;
    ram->write_hook_opaque = opaque;
    ram->write_hook_release = release;
    __atomic_store_n(&ram->write_hook, hook, __ATOMIC_RELEASE);
    if (old_release)
        old_release(old);
    return true;
}

int guest_ram_read(const struct guest_ram *ram, uint64_t gpa, void *buf, size_t len)
{
    if (!guest_ram_contains(ram, gpa, len))
        return VERR_OUT_OF_RANGE;
    uint8_t *dst = buf;
    while (len > 0) {
        uint64_t off = 0, left = 0;
        if (!ram_locate(ram, gpa, &off, &left))   /* cannot happen: checked above */
            return VERR_OUT_OF_RANGE;
        size_t chunk = len < left ? len : (size_t)left;
        memcpy(dst, ram->host + off, chunk);
        dst += chunk; gpa += chunk; len -= chunk;
    }
    return VINF_SUCCESS;
}

int guest_ram_write(struct guest_ram *ram, uint64_t gpa, const void *buf, size_t len)
{
    if (!guest_ram_contains(ram, gpa, len))
        return VERR_OUT_OF_RANGE;
    const uint8_t *src = buf;
    while (len > 0) {
        uint64_t off = 0, left = 0;
        if (!ram_locate(ram, gpa, &off, &left))   /* cannot happen: checked above */
            return VERR_OUT_OF_RANGE;
        size_t chunk = len < left ? len : (size_t)left;
        memcpy(ram->host + off, src, chunk);
        ram_mark_dirty(ram, off, chunk);
        src += chunk; gpa += chunk; len -= chunk;
    }
    return VINF_SUCCESS;
}

void guest_ram_mark_dirty(struct guest_ram *ram, uint64_t gpa, uint64_t len)
{
    while (len > 0) {
        uint64_t off = 0, left = 0;
        if (!ram_locate(ram, gpa, &off, &left))
            return;
        uint64_t chunk = len < left ? len : left;
        ram_mark_dirty(ram, off, chunk);
        gpa += chunk;
        len -= chunk;
    }
}
