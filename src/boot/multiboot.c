/*
 * Multiboot v1 loader (see multiboot.h).  Everything read from the file is
 * bounds-checked against the file and guest RAM: a hostile header can make
 * the load fail, never read or write out of bounds.
 */
#include "multiboot.h"

#include <stdio.h>
#include <string.h>

#include <vmm/err.h>

#include "e820.h"
#include "linux_boot_internal.h"

/* Header flags (spec 3.1.2). */
#define MB_PAGE_ALIGN   (1u << 0)
#define MB_MEMORY_INFO  (1u << 1)
#define MB_VIDEO_MODE   (1u << 2)
#define MB_AOUT_KLUDGE  (1u << 16)
#define MB_KNOWN_FLAGS  (MB_PAGE_ALIGN | MB_MEMORY_INFO | MB_VIDEO_MODE | MB_AOUT_KLUDGE)

/* Information flags (spec 3.3). */
#define MBI_MEMORY   (1u << 0)
#define MBI_CMDLINE  (1u << 2)
#define MBI_MODS     (1u << 3)
#define MBI_MMAP     (1u << 6)
#define MBI_LOADER   (1u << 9)

#define MBI_SIZE       88u                    /* up to boot_loader_name */
#define MBI_MMAP_ADDR  (MULTIBOOT_INFO_ADDR + 0x100)
#define MBI_NAME_ADDR  (MULTIBOOT_INFO_ADDR + 0x800)
#define MMAP_MAX       16u

struct mb_header {
    size_t   offset;                          /* in the file */
    uint32_t flags;
    uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
};

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static void wr32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static bool find_header(const uint8_t *file, size_t size, struct mb_header *h)
{
    size_t limit = size < MULTIBOOT_SEARCH ? size : MULTIBOOT_SEARCH;
    for (size_t off = 0; off + 12 <= limit; off += 4) {
        const uint8_t *p = file + off;
        if (rd32(p) != MULTIBOOT_HEADER_MAGIC || (uint32_t)(rd32(p) + rd32(p + 4) + rd32(p + 8)) != 0)
            continue;
        *h = (struct mb_header){ .offset = off, .flags = rd32(p + 4) };
        if ((h->flags & MB_AOUT_KLUDGE) && off + 32 <= size) {
            h->header_addr = rd32(p + 12);
            h->load_addr = rd32(p + 16);
            h->load_end_addr = rd32(p + 20);
            h->bss_end_addr = rd32(p + 24);
            h->entry_addr = rd32(p + 28);
        }
        return true;
    }
    return false;
}

bool multiboot_detect(const uint8_t *file, size_t size)
{
    struct mb_header h;
    return file && find_header(file, size, &h);
}

/* Guest RAM [addr, addr + len) as a host pointer, or NULL when not all low RAM. */
static uint8_t *ram_span(struct guest_ram *ram, uint64_t addr, uint64_t len)
{
    if (addr > ram->low_size || len > ram->low_size - addr)
        return NULL;
    return ram->host + addr;
}

/* The a.out kludge: the file from header_addr's position is loaded at load_addr. */
static int load_aout(struct guest_ram *ram, const uint8_t *file, size_t size, const struct mb_header *h,
                     uint64_t *end, char *err, size_t err_size)
{
    if (h->header_addr < h->load_addr || h->header_addr - h->load_addr > h->offset)
        return linux_err(err, err_size, VERR_INVALID_EXE_SIGNATURE,
                         "multiboot header: header_addr 0x%x is below load_addr 0x%x or before the file start",
                         h->header_addr, h->load_addr);
    uint64_t file_off = h->offset - (h->header_addr - h->load_addr);
    uint64_t load_end = h->load_end_addr ? h->load_end_addr : h->load_addr + (size - file_off);
    uint64_t bss_end = h->bss_end_addr > load_end ? h->bss_end_addr : load_end;
    if (load_end < h->load_addr || load_end - h->load_addr > size - file_off)
        return linux_err(err, err_size, VERR_OUT_OF_RANGE, "multiboot header: load_end_addr 0x%llx runs past "
                         "the file", (unsigned long long)load_end);
    uint8_t *dst = ram_span(ram, h->load_addr, bss_end - h->load_addr);
    if (!dst || h->load_addr < E820_BIOS_END)
        return linux_err(err, err_size, VERR_OUT_OF_RANGE, "multiboot kernel 0x%x-0x%llx is not in guest RAM "
                         "above 1 MiB", h->load_addr, (unsigned long long)bss_end);
    memcpy(dst, file + file_off, load_end - h->load_addr);
    memset(dst + (load_end - h->load_addr), 0, bss_end - load_end);
    *end = bss_end;
    return VINF_SUCCESS;
}

/* ELF32: PT_LOAD segments at their physical addresses. */
static int load_elf32(struct guest_ram *ram, const uint8_t *file, size_t size, uint64_t *entry, uint64_t *end,
                      char *err, size_t err_size)
{
    if (size < 52 || memcmp(file, "\x7f" "ELF", 4) != 0 || file[4] != 1 || rd32(file + 16) >> 16 != 3)
        return linux_err(err, err_size, VERR_INVALID_EXE_SIGNATURE,
                         "a multiboot kernel without the a.out kludge must be an ELF32 x86 executable");
    uint32_t phoff = rd32(file + 28);
    uint16_t phentsize, phnum;
    memcpy(&phentsize, file + 42, 2);
    memcpy(&phnum, file + 44, 2);
    if (phentsize < 32 || phoff > size || (uint64_t)phnum * phentsize > size - phoff)
        return linux_err(err, err_size, VERR_OUT_OF_RANGE, "ELF program headers run past the file");
    *entry = rd32(file + 24);
    *end = 0;
    for (unsigned i = 0; i < phnum; i++) {
        const uint8_t *ph = file + phoff + (size_t)i * phentsize;
        if (rd32(ph) != 1)                                    /* PT_LOAD */
            continue;
        uint64_t off = rd32(ph + 4), paddr = rd32(ph + 12), filesz = rd32(ph + 16), memsz = rd32(ph + 20);
        uint8_t *dst = ram_span(ram, paddr, memsz);
        if (filesz > memsz || off > size || filesz > size - off || !dst || paddr < E820_BIOS_END)
            return linux_err(err, err_size, VERR_OUT_OF_RANGE, "ELF segment %u (0x%llx+0x%llx) is outside the "
                             "file or guest RAM above 1 MiB", i, (unsigned long long)paddr,
                             (unsigned long long)memsz);
        memcpy(dst, file + off, filesz);
        memset(dst + filesz, 0, memsz - filesz);
        if (paddr + memsz > *end)
            *end = paddr + memsz;
    }
    if (!*end)
        return linux_err(err, err_size, VERR_INVALID_EXE_SIGNATURE, "the ELF kernel has no loadable segment");
    return VINF_SUCCESS;
}

/* The memory map (e820 entries in multiboot's "size, base, length, type" form). */
static uint32_t write_mmap(struct guest_ram *ram, uint8_t *info)
{
    struct e820_entry map[MMAP_MAX];
    unsigned n = e820_build(ram, map, MMAP_MAX);
    uint8_t *p = ram->host + MBI_MMAP_ADDR;
    for (unsigned i = 0; i < n; i++, p += 24) {
        wr32(p, 20);
        memcpy(p + 4, &map[i].addr, 8);
        memcpy(p + 12, &map[i].size, 8);
        wr32(p + 20, map[i].type);
    }
    wr32(info + 44, n * 24);
    wr32(info + 48, (uint32_t)MBI_MMAP_ADDR);
    return MBI_MMAP;
}

static int write_info(struct guest_ram *ram, const char *cmdline, uint64_t mod_addr, uint64_t mod_size,
                      const char *module_path, char *err, size_t err_size)
{
    uint8_t *info = ram->host + MULTIBOOT_INFO_ADDR;
    memset(info, 0, 0x1000);
    uint32_t flags = MBI_MEMORY | MBI_LOADER;
    uint64_t upper = (ram->low_size - E820_BIOS_END) >> 10;
    wr32(info + 4, (uint32_t)(E820_LOW_RAM_END >> 10));              /* mem_lower, KiB */
    wr32(info + 8, (uint32_t)(upper > UINT32_MAX ? UINT32_MAX : upper)); /* mem_upper, KiB */
    size_t len = cmdline ? strlen(cmdline) : 0;
    if (len >= LINUX_CMDLINE_MAX)
        return linux_err(err, err_size, VERR_BUFFER_OVERFLOW, "the command line is longer than %llu bytes",
                         (unsigned long long)LINUX_CMDLINE_MAX - 1);
    memcpy(ram->host + MULTIBOOT_CMDLINE_ADDR, cmdline ? cmdline : "", len + 1);
    wr32(info + 16, (uint32_t)MULTIBOOT_CMDLINE_ADDR);
    flags |= MBI_CMDLINE;
    if (mod_size) {
        uint8_t *mod = ram->host + MULTIBOOT_MODS_ADDR;
        memset(mod, 0, 0x1000);
        wr32(mod, (uint32_t)mod_addr);
        wr32(mod + 4, (uint32_t)(mod_addr + mod_size));
        snprintf((char *)mod + 16, 0x800, "%s", module_path);   /* the module's string: its path */
        wr32(mod + 8, (uint32_t)MULTIBOOT_MODS_ADDR + 16);
        wr32(info + 20, 1);
        wr32(info + 24, (uint32_t)MULTIBOOT_MODS_ADDR);
        flags |= MBI_MODS;
    }
    flags |= write_mmap(ram, info);
    snprintf((char *)ram->host + MBI_NAME_ADDR, 16, "%s", "Petrel");
    wr32(info + 64, (uint32_t)MBI_NAME_ADDR);
    wr32(info, flags);
    return VINF_SUCCESS;
}

int multiboot_load_buffer(struct guest_ram *ram, const uint8_t *file, size_t size, const char *module_path,
                          const char *cmdline, struct cpu_state *bsp, uint64_t *entry, char *err,
                          size_t err_size)
{
    struct mb_header h;
    if (!ram || !ram->host || !file || !bsp || ram->low_size < 2 * E820_BIOS_END)
        return linux_err(err, err_size, VERR_INVALID_PARAMETER, "multiboot: missing argument or too little RAM");
    if (!find_header(file, size, &h))
        return linux_err(err, err_size, VERR_INVALID_EXE_SIGNATURE,
                         "no multiboot header (magic 0x1BADB002 with a valid checksum) in the first 8 KiB");
    if (h.flags & MB_VIDEO_MODE)
        return linux_err(err, err_size, VERR_NOT_SUPPORTED, "the multiboot kernel asks for a video mode; "
                         "Petrel has no graphics");
    if ((h.flags & 0xffff) & ~MB_KNOWN_FLAGS)
        return linux_err(err, err_size, VERR_NOT_SUPPORTED, "the multiboot header asks for features 0x%x that "
                         "Petrel does not know", (h.flags & 0xffff) & ~MB_KNOWN_FLAGS);
    uint64_t end = 0, start = 0;
    int rc = (h.flags & MB_AOUT_KLUDGE) ? load_aout(ram, file, size, &h, &end, err, err_size)
                                        : load_elf32(ram, file, size, &start, &end, err, err_size);
    if (RT_FAILURE(rc))
        return rc;
    if (h.flags & MB_AOUT_KLUDGE)
        start = h.entry_addr;
    uint64_t mod_addr = 0, mod_size = 0;
    if (module_path && *module_path)
        rc = linux_initrd_load(ram, module_path, (end + GUEST_PAGE_SIZE - 1) & ~(uint64_t)(GUEST_PAGE_SIZE - 1),
                               UINT32_MAX, &mod_addr, &mod_size, err, err_size);
    if (RT_SUCCESS(rc))
        rc = write_info(ram, cmdline, mod_addr, mod_size, module_path, err, err_size);
    if (RT_SUCCESS(rc))
        rc = linux_boot_tables_write(ram, false);
    if (RT_FAILURE(rc))
        return rc;
    linux_entry_state(bsp, false, start);
    bsp->gpr[GPR_RAX] = MULTIBOOT_BOOTLOADER_MAGIC;
    bsp->gpr[GPR_RBX] = MULTIBOOT_INFO_ADDR;
    bsp->gpr[GPR_RSI] = 0;
    if (entry)
        *entry = start;
    return VINF_SUCCESS;
}

int multiboot_load(struct guest_ram *ram, const char *kernel_path, const char *module_path, const char *cmdline,
                   struct cpu_state *bsp, uint64_t *entry, char *err, size_t err_size)
{
    const uint8_t *file;
    size_t size;
    int rc = linux_file_map(kernel_path, "kernel", &file, &size, err, err_size);
    if (RT_FAILURE(rc))
        return rc;
    rc = multiboot_load_buffer(ram, file, size, module_path, cmdline, bsp, entry, err, err_size);
    linux_file_unmap(file, size);
    return rc;
}
