/*
 * The PVH entry (Xen's "direct boot" ABI, which Linux also accepts without
 * Xen): a vmlinux built with CONFIG_PVH carries an ELF note
 * XEN_ELFNOTE_PHYS32_ENTRY with the physical address of its 32-bit entry
 * (pvh_start_xen), entered in flat 32-bit protected mode, paging off, with
 * EBX pointing at a struct hvm_start_info instead of a zero page.
 */
#include "linux_boot_internal.h"

#include <elf.h>
#include <string.h>

#include <vmm/err.h>

#include "e820.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define HVM_START_MAGIC          0x336ec578u
#define PVH_MEMMAP_MAX           64

struct hvm_start_info {
    uint32_t magic, version, flags, nr_modules;
    uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
    uint32_t memmap_entries, reserved;
};

struct hvm_modlist_entry {
    uint64_t paddr, size, cmdline_paddr, reserved;
};

struct hvm_memmap_entry {
    uint64_t addr, size;
    uint32_t type, reserved;
};

/* Scans one PT_NOTE segment [p, p + size) for the Xen PHYS32_ENTRY note. */
static bool note_scan(const uint8_t *p, uint64_t size, uint64_t *entry)
{
    uint64_t pos = 0;
    while (size - pos >= sizeof(Elf64_Nhdr)) {
        Elf64_Nhdr nh;
        memcpy(&nh, p + pos, sizeof(nh));
        pos += sizeof(nh);
        uint64_t name_len = ((uint64_t)nh.n_namesz + 3) & ~UINT64_C(3);
        uint64_t desc_len = ((uint64_t)nh.n_descsz + 3) & ~UINT64_C(3);
        if (name_len > size - pos || desc_len > size - pos - name_len)
            return false;
        const uint8_t *name = p + pos, *desc = p + pos + name_len;
        if (nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY && nh.n_namesz == 4 && memcmp(name, "Xen", 4) == 0 &&
            (nh.n_descsz == 4 || nh.n_descsz == 8)) {
            uint64_t v = 0;
            memcpy(&v, desc, nh.n_descsz);          /* little-endian */
            *entry = v;
            return true;
        }
        pos += name_len + desc_len;
    }
    return false;
}

int linux_pvh_entry_find(const uint8_t *elf, size_t size, uint64_t *entry, char *err, size_t err_size)
{
    Elf64_Ehdr eh;
    memcpy(&eh, elf, sizeof(eh));                   /* linux_elf_check validated the tables */
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        memcpy(&ph, elf + eh.e_phoff + (size_t)i * sizeof(ph), sizeof(ph));
        if (ph.p_type != PT_NOTE || ph.p_offset > size || ph.p_filesz > size - ph.p_offset)
            continue;
        if (note_scan(elf + ph.p_offset, ph.p_filesz, entry)) {
            if (*entry < UINT64_C(0x100000) || *entry >= GUEST_4G)
                return linux_err(err, err_size, VERR_BAD_EXE_FORMAT,
                                 "kernel's PVH entry 0x%llx is not between 1 MiB and 4 GiB",
                                 (unsigned long long)*entry);
            return VINF_SUCCESS;
        }
    }
    return linux_err(err, err_size, VERR_NOT_SUPPORTED,
                     "kernel has no PVH entry (no XEN_ELFNOTE_PHYS32_ENTRY note: built without CONFIG_PVH); "
                     "use the 64-bit entry");
}

/* start_info, the initrd module and the memory map, all in the page at LINUX_PVH_INFO_ADDR. */
int linux_pvh_start_info_write(struct guest_ram *ram, uint64_t initrd_addr, uint64_t initrd_size,
                               uint64_t acpi_rsdp)
{
    uint8_t *page = guest_ram_ptr(ram, LINUX_PVH_INFO_ADDR, GUEST_PAGE_SIZE);
    if (!page)
        return VERR_OUT_OF_RANGE;
    memset(page, 0, GUEST_PAGE_SIZE);
    struct hvm_start_info si = { .magic = HVM_START_MAGIC, .version = 1,
                                 .cmdline_paddr = LINUX_CMDLINE_ADDR, .rsdp_paddr = acpi_rsdp };
    size_t mod_off = sizeof(si), map_off = mod_off + sizeof(struct hvm_modlist_entry);
    if (initrd_size) {
        struct hvm_modlist_entry mod = { .paddr = initrd_addr, .size = initrd_size };
        memcpy(page + mod_off, &mod, sizeof(mod));
        si.nr_modules = 1;
        si.modlist_paddr = LINUX_PVH_INFO_ADDR + mod_off;
    }
    struct e820_entry e820[PVH_MEMMAP_MAX];
    unsigned n = e820_build(ram, e820, PVH_MEMMAP_MAX);
    for (unsigned i = 0; i < n; i++) {
        struct hvm_memmap_entry m = { .addr = e820[i].addr, .size = e820[i].size, .type = e820[i].type };
        memcpy(page + map_off + i * sizeof(m), &m, sizeof(m));
    }
    si.memmap_paddr = LINUX_PVH_INFO_ADDR + map_off;
    si.memmap_entries = n;
    memcpy(page, &si, sizeof(si));
    return VINF_SUCCESS;
}
