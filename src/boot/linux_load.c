/*
 * linux_load(): the steps of a direct Linux boot (see linux_boot.h and
 * docs/linux-boot.md): map and parse the kernel file, put the kernel into
 * RAM (decompressed on the host for the 64-bit and PVH entries), then the initrd,
 * zero page, command line, GDT and page tables, and the BSP's entry state.
 */
#include "linux_boot_internal.h"

#include <stdlib.h>
#include <string.h>

#include <vmm/err.h>

#define BZIMAGE64_ENTRY_OFFSET 0x200      /* startup_64 of the bzImage's decompressor */
#define OLD_INITRD_ADDR_MAX    0x37ffffffu

struct load_result {
    uint64_t kernel_start, kernel_end, entry;
    const char *compression;
    uint64_t decompressed_size;
};

static int ram_fits(const struct guest_ram *ram, uint64_t start, uint64_t end, char *err, size_t err_size)
{
    if (end <= ram->low_size)
        return VINF_SUCCESS;
    return linux_err(err, err_size, VERR_OUT_OF_RANGE,
                     "too little guest RAM for the kernel: it needs [0x%llx, 0x%llx) (%llu MiB), RAM below "
                     "4 GiB is %llu MiB; give the VM more memory", (unsigned long long)start,
                     (unsigned long long)end, (unsigned long long)((end + (1 << 20) - 1) >> 20),
                     (unsigned long long)(ram->low_size >> 20));
}

/* bzImage: payload -> vmlinux; a plain ELF is used as it is. */
static int vmlinux_get(const struct guest_ram *ram, const struct linux_image *img, uint8_t **buf,
                       const uint8_t **elf, size_t *elf_size, struct load_result *r, char *err, size_t err_size)
{
    *buf = NULL;
    if (!img->is_bzimage) {
        *elf = img->file;
        *elf_size = img->file_size;
        return VINF_SUCCESS;
    }
    const struct linux_setup_header *h = &img->hdr;
    if (h->version < 0x0208)
        return linux_err(err, err_size, VERR_NOT_SUPPORTED,
                         "kernel boot protocol %u.%02u does not describe its payload (2.08 needed for the "
                         "64-bit entry); use the 32-bit entry", h->version >> 8, h->version & 0xff);
    if (h->version >= 0x020c && !(h->xloadflags & LINUX_XLF_KERNEL_64))
        return linux_err(err, err_size, VERR_NOT_SUPPORTED,
                         "kernel is not a 64-bit kernel (XLF_KERNEL_64 not set); use the 32-bit entry");
    /* Cheap early answer for a too small VM, before decompressing anything. */
    if (h->version >= 0x020a) {
        int rc = ram_fits(ram, h->pref_address, h->pref_address + h->init_size, err, err_size);
        if (RT_FAILURE(rc))
            return rc;
    }
    /* A vmlinux larger than the guest's RAM cannot be loaded: never allocate more. */
    uint64_t limit = ram->size < LINUX_MAX_DECOMPRESSED ? ram->size : LINUX_MAX_DECOMPRESSED;
    size_t size;
    int rc = linux_decompress(img->payload, img->payload_size, (size_t)limit, buf, &size,
                              &r->compression, err, err_size);
    if (RT_SUCCESS(rc)) {
        *elf = *buf;
        *elf_size = size;
        r->decompressed_size = size;
    }
    return rc;
}

/* The PVH entry replaces startup_64; it must lie inside the kernel. */
static int pvh_entry_get(const uint8_t *elf, size_t elf_size, const struct linux_elf_info *ei,
                         struct load_result *r, char *err, size_t err_size)
{
    int rc = linux_pvh_entry_find(elf, elf_size, &r->entry, err, err_size);
    if (RT_SUCCESS(rc) && (r->entry < ei->start || r->entry >= ei->end))
        rc = linux_err(err, err_size, VERR_BAD_EXE_FORMAT, "kernel's PVH entry 0x%llx is outside the kernel",
                       (unsigned long long)r->entry);
    return rc;
}

static int load_vmlinux(struct guest_ram *ram, const struct linux_image *img, bool pvh,
                        struct load_result *r, char *err, size_t err_size)
{
    uint8_t *buf = NULL;
    const uint8_t *elf = NULL;
    size_t elf_size = 0;
    int rc = vmlinux_get(ram, img, &buf, &elf, &elf_size, r, err, err_size);
    struct linux_elf_info ei = { 0 };
    if (RT_SUCCESS(rc))
        rc = linux_elf_check(elf, elf_size, &ei, err, err_size);
    if (RT_SUCCESS(rc)) {
        /* The kernel uses init_size bytes from its start (bss, brk, early tables). */
        uint64_t end = ei.end;
        if (img->is_bzimage && img->hdr.version >= 0x020a && ei.start + img->hdr.init_size > end)
            end = ei.start + img->hdr.init_size;
        r->kernel_start = ei.start;
        r->kernel_end = end;
        r->entry = ei.entry;
        rc = ram_fits(ram, ei.start, end, err, err_size);
    }
    if (RT_SUCCESS(rc) && pvh)
        rc = pvh_entry_get(elf, elf_size, &ei, r, err, err_size);
    if (RT_SUCCESS(rc))
        rc = linux_elf_load(ram, elf, elf_size, err, err_size);
    free(buf);
    return rc;
}

/* The protected-mode bzImage code, entered at code32_start or at its startup_64. */
static int load_protected(struct guest_ram *ram, const struct linux_image *img, bool entry64,
                          struct load_result *r, char *err, size_t err_size)
{
    const struct linux_setup_header *h = &img->hdr;
    if (!img->is_bzimage)
        return linux_err(err, err_size, VERR_NOT_SUPPORTED,
                         "an ELF vmlinux has no bzImage entry: use the 64-bit entry");
    if (entry64 && (h->version < 0x020c || !(h->xloadflags & LINUX_XLF_KERNEL_64)))
        return linux_err(err, err_size, VERR_NOT_SUPPORTED,
                         "kernel has no 64-bit bzImage entry (boot protocol 2.12 with XLF_KERNEL_64 needed)");
    uint64_t load = entry64 ? h->pref_address : LINUX_PROT_LOAD_ADDR;
    if (entry64 && load < LINUX_PROT_LOAD_ADDR)
        load = LINUX_PROT_LOAD_ADDR;
    /* The decompressor writes init_size bytes at max(load, pref_address). */
    uint64_t out = h->version >= 0x020a && h->pref_address > load ? h->pref_address : load;
    uint64_t end = load + img->prot_size;
    if (h->version >= 0x020a && out + h->init_size > end)
        end = out + h->init_size;
    int rc = ram_fits(ram, load, end, err, err_size);
    if (RT_FAILURE(rc))
        return rc;
    memcpy(guest_ram_ptr(ram, load, img->prot_size), img->prot, img->prot_size);
    r->kernel_start = load;
    r->kernel_end = end;
    r->entry = entry64 ? load + BZIMAGE64_ENTRY_OFFSET : load;
    return VINF_SUCCESS;
}

static uint64_t initrd_addr_max(const struct linux_image *img)
{
    if (!img->is_bzimage)
        return 0x7fffffff;
    return img->hdr.version >= 0x0203 ? img->hdr.initrd_addr_max : OLD_INITRD_ADDR_MAX;
}

static int params_check(const struct guest_ram *ram, const struct linux_boot_params *p,
                        const struct cpu_state *bsp, char *err, size_t err_size)
{
    if (!ram || !p || !bsp)
        return linux_err(err, err_size, VERR_INVALID_PARAMETER, "linux_load: missing argument");
    if (p->entry != LINUX_ENTRY_64 && p->entry != LINUX_ENTRY_32 && p->entry != LINUX_ENTRY_64_BZIMAGE &&
        p->entry != LINUX_ENTRY_PVH)
        return linux_err(err, err_size, VERR_INVALID_PARAMETER, "unknown Linux entry mode %d", (int)p->entry);
    if (!ram->host || ram->low_size < LINUX_PROT_LOAD_ADDR)
        return linux_err(err, err_size, VERR_OUT_OF_RANGE,
                         "too little guest RAM to boot Linux (%llu KiB)", (unsigned long long)(ram->size >> 10));
    return VINF_SUCCESS;
}

/* Everything after the kernel is in RAM: initrd, zero page, tables, registers. */
static int boot_data_write(struct guest_ram *ram, const struct linux_boot_params *p,
                           const struct linux_image *img, const struct load_result *r,
                           struct cpu_state *bsp, struct linux_boot_info *info, char *err, size_t err_size)
{
    struct linux_zero_page_args za = { .img = img, .cmdline = p->cmdline, .acpi_rsdp = p->acpi_rsdp };
    int rc = VINF_SUCCESS;
    if (p->initrd_path && *p->initrd_path)
        rc = linux_initrd_load(ram, p->initrd_path, r->kernel_end, initrd_addr_max(img),
                               &za.initrd_addr, &za.initrd_size, err, err_size);
    if (RT_FAILURE(rc))
        return rc;
    if (p->entry == LINUX_ENTRY_32)
        za.code32_start = (uint32_t)r->entry;
    rc = linux_zero_page_write(ram, &za, err, err_size);
    if (RT_FAILURE(rc))
        return rc;
    bool long_mode = p->entry == LINUX_ENTRY_64 || p->entry == LINUX_ENTRY_64_BZIMAGE;
    rc = linux_boot_tables_write(ram, long_mode);
    if (RT_SUCCESS(rc) && p->entry == LINUX_ENTRY_PVH)
        rc = linux_pvh_start_info_write(ram, za.initrd_addr, za.initrd_size, p->acpi_rsdp);
    if (RT_FAILURE(rc))
        return linux_err(err, err_size, rc, "too little guest RAM for the boot tables");
    linux_entry_state(bsp, long_mode, r->entry);
    if (p->entry == LINUX_ENTRY_PVH)
        bsp->gpr[GPR_RBX] = LINUX_PVH_INFO_ADDR;
    if (info) {
        info->initrd_addr = za.initrd_addr;
        info->initrd_size = za.initrd_size;
    }
    return VINF_SUCCESS;
}

static void info_fill(struct linux_boot_info *info, const struct linux_image *img, const struct load_result *r)
{
    if (!info)
        return;
    info->kernel_start = r->kernel_start;
    info->kernel_end = r->kernel_end;
    info->entry = r->entry;
    info->protocol = img->is_bzimage ? img->hdr.version : 0;
    info->compression = r->compression;
    info->decompressed_size = r->decompressed_size;
}

int linux_load_buffer(struct guest_ram *ram, const struct linux_boot_params *p, const uint8_t *kernel,
                      size_t kernel_size, struct cpu_state *bsp, struct linux_boot_info *info,
                      char *err, size_t err_size)
{
    if (info)
        memset(info, 0, sizeof(*info));
    int rc = params_check(ram, p, bsp, err, err_size);
    if (RT_FAILURE(rc))
        return rc;
    struct linux_image img;
    struct load_result r = { 0 };
    rc = linux_image_parse(kernel, kernel_size, &img, err, err_size);
    if (RT_SUCCESS(rc))
        rc = p->entry == LINUX_ENTRY_64 || p->entry == LINUX_ENTRY_PVH
           ? load_vmlinux(ram, &img, p->entry == LINUX_ENTRY_PVH, &r, err, err_size)
           : load_protected(ram, &img, p->entry == LINUX_ENTRY_64_BZIMAGE, &r, err, err_size);
    if (RT_SUCCESS(rc)) {
        info_fill(info, &img, &r);
        rc = boot_data_write(ram, p, &img, &r, bsp, info, err, err_size);
    }
    return rc;
}

int linux_load(struct guest_ram *ram, const struct linux_boot_params *p, struct cpu_state *bsp,
               struct linux_boot_info *info, char *err, size_t err_size)
{
    if (!p || !p->kernel_path || !*p->kernel_path)
        return linux_err(err, err_size, VERR_INVALID_PARAMETER, "no kernel file given");
    const uint8_t *file;
    size_t size;
    int rc = linux_file_map(p->kernel_path, "kernel", &file, &size, err, err_size);
    if (RT_FAILURE(rc))
        return rc;
    rc = linux_load_buffer(ram, p, file, size, bsp, info, err, err_size);
    linux_file_unmap(file, size);
    return rc;
}

int linux_entry_from_name(const char *name)
{
    if (!name || !strcmp(name, "64") || !strcmp(name, "vmlinux64"))
        return LINUX_ENTRY_64;
    if (!strcmp(name, "32"))
        return LINUX_ENTRY_32;
    if (!strcmp(name, "bzimage64"))
        return LINUX_ENTRY_64_BZIMAGE;
    if (!strcmp(name, "pvh"))
        return LINUX_ENTRY_PVH;
    return -1;
}
