/*
 * ELF64 x86-64 vmlinux: validation and loading of its PT_LOAD segments at
 * their physical addresses.  vmlinux links its segments with
 * AT(virtual - __START_KERNEL_map), so p_paddr is physical; e_entry is
 * phys_startup_64 (still converted if a link gives a virtual one).
 */
#include "linux_boot_internal.h"

#include <elf.h>
#include <string.h>

#include <vmm/err.h>

#define ELF_MAX_PHDRS 256
#define LOW_AREA_END  UINT64_C(0x100000)   /* the loader's own tables live below */

bool linux_elf_is_elf(const uint8_t *data, size_t size)
{
    return size >= SELFMAG && memcmp(data, ELFMAG, SELFMAG) == 0;
}

static uint64_t to_phys(uint64_t paddr, uint64_t vaddr)
{
    if (paddr)
        return paddr;
    return vaddr >= LINUX_START_KERNEL_MAP ? vaddr - LINUX_START_KERNEL_MAP : vaddr;
}

static int ehdr_check(const uint8_t *elf, size_t size, Elf64_Ehdr *eh, char *err, size_t err_size)
{
    if (size < sizeof(*eh))
        return linux_err(err, err_size, VERR_BAD_EXE_FORMAT, "ELF kernel is truncated (%zu bytes)", size);
    memcpy(eh, elf, sizeof(*eh));
    if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB ||
        eh->e_machine != EM_X86_64)
        return linux_err(err, err_size, VERR_BAD_EXE_FORMAT,
                         "ELF kernel is not a 64-bit little-endian x86-64 image (class %u, machine %u)",
                         eh->e_ident[EI_CLASS], eh->e_machine);
    if (eh->e_type != ET_EXEC && eh->e_type != ET_DYN)
        return linux_err(err, err_size, VERR_BAD_EXE_FORMAT, "ELF kernel is not an executable (type %u)",
                         eh->e_type);
    if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum == 0 || eh->e_phnum > ELF_MAX_PHDRS ||
        eh->e_phoff > size || (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > size - eh->e_phoff)
        return linux_err(err, err_size, VERR_BAD_EXE_FORMAT,
                         "ELF kernel has a corrupt program header table (%u entries of %u bytes at 0x%llx)",
                         eh->e_phnum, eh->e_phentsize, (unsigned long long)eh->e_phoff);
    return VINF_SUCCESS;
}

static void phdr_get(const uint8_t *elf, const Elf64_Ehdr *eh, unsigned i, Elf64_Phdr *ph)
{
    memcpy(ph, elf + eh->e_phoff + (size_t)i * sizeof(*ph), sizeof(*ph));
}

static int phdr_check(const Elf64_Phdr *ph, size_t size, unsigned i, char *err, size_t err_size)
{
    uint64_t pa = to_phys(ph->p_paddr, ph->p_vaddr);
    if (ph->p_filesz > ph->p_memsz || ph->p_offset > size || ph->p_filesz > size - ph->p_offset)
        return linux_err(err, err_size, VERR_BAD_EXE_FORMAT,
                         "ELF kernel segment %u is corrupt or truncated (offset 0x%llx, %llu bytes, file %zu)",
                         i, (unsigned long long)ph->p_offset, (unsigned long long)ph->p_filesz, size);
    if (pa < LOW_AREA_END || pa >= GUEST_4G || ph->p_memsz > GUEST_4G - pa)
        return linux_err(err, err_size, VERR_BAD_EXE_FORMAT,
                         "ELF kernel segment %u at physical 0x%llx (+0x%llx) is not between 1 MiB and 4 GiB",
                         i, (unsigned long long)pa, (unsigned long long)ph->p_memsz);
    return VINF_SUCCESS;
}

int linux_elf_check(const uint8_t *elf, size_t size, struct linux_elf_info *info,
                    char *err, size_t err_size)
{
    Elf64_Ehdr eh;
    int rc = ehdr_check(elf, size, &eh, err, err_size);
    if (RT_FAILURE(rc))
        return rc;
    uint64_t entry = eh.e_entry >= LINUX_START_KERNEL_MAP ? eh.e_entry - LINUX_START_KERNEL_MAP : eh.e_entry;
    bool entry_ok = false;
    info->start = UINT64_MAX;
    info->end = 0;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        phdr_get(elf, &eh, i, &ph);
        if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
            continue;
        rc = phdr_check(&ph, size, i, err, err_size);
        if (RT_FAILURE(rc))
            return rc;
        uint64_t pa = to_phys(ph.p_paddr, ph.p_vaddr);
        info->start = pa < info->start ? pa : info->start;
        info->end = pa + ph.p_memsz > info->end ? pa + ph.p_memsz : info->end;
        entry_ok |= (ph.p_flags & PF_X) && entry >= pa && entry - pa < ph.p_filesz;
    }
    if (info->end == 0)
        return linux_err(err, err_size, VERR_BAD_EXE_FORMAT, "ELF kernel has no loadable segment");
    if (!entry_ok)
        return linux_err(err, err_size, VERR_BAD_EXE_FORMAT,
                         "ELF kernel entry point 0x%llx is not in an executable segment",
                         (unsigned long long)eh.e_entry);
    info->entry = entry;
    return VINF_SUCCESS;
}

/* Call after linux_elf_check succeeded on the same image. */
int linux_elf_load(struct guest_ram *ram, const uint8_t *elf, size_t size,
                   char *err, size_t err_size)
{
    Elf64_Ehdr eh;
    memcpy(&eh, elf, sizeof(eh));
    (void)size;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        phdr_get(elf, &eh, i, &ph);
        if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
            continue;
        uint64_t pa = to_phys(ph.p_paddr, ph.p_vaddr);
        uint8_t *dst = guest_ram_ptr(ram, pa, ph.p_memsz);
        if (!dst)
            return linux_err(err, err_size, VERR_OUT_OF_RANGE,
                             "too little guest RAM: the kernel needs [0x%llx, 0x%llx), RAM below 4 GiB ends "
                             "at 0x%llx; give the VM more memory", (unsigned long long)pa,
                             (unsigned long long)pa + ph.p_memsz, (unsigned long long)ram->low_size);
        memcpy(dst, elf + ph.p_offset, ph.p_filesz);
        memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);   /* .bss */
    }
    return VINF_SUCCESS;
}
